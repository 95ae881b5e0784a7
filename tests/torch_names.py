"""Find ``torch.``-rooted dotted names in notebook code and check that they exist.

A name the installed torch lacks is accepted in two places only, both of which demonstrate that it
does not exist: inside a ``try`` whose handler catches ``AttributeError`` (or ``ImportError`` for an
import), and in a cell tagged ``raises-exception`` whose stored error is that exception. Any other use —
reading it, calling it, assigning to it — is real use, and fails.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass

import torch
from IPython.core.inputtransformer2 import TransformerManager

_TO_PYTHON = TransformerManager()


@dataclass(frozen=True)
class Use:
    name: str
    line: int
    guarded: bool  # inside a try that catches the error this name would raise


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "torch" and parts:
        return ".".join(["torch", *reversed(parts)])
    return None


def _catches(handler: ast.ExceptHandler, errors: set[str]) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(k, ast.Name) and k.id in errors for k in kinds)


def torch_uses(source: str) -> list[Use]:
    """Every maximal ``torch.a.b`` chain and ``torch`` import in a cell's code."""
    tree = ast.parse(_TO_PYTHON.transform_cell(source))
    uses: list[Use] = []

    def visit(node: ast.AST, guarded_for: frozenset[str]) -> None:
        if isinstance(node, ast.Try):
            errors = frozenset(
                name
                for h in node.handlers
                for name in ("AttributeError", "ImportError", "ModuleNotFoundError")
                if _catches(h, {name})
            )
            for child in node.body:
                visit(child, guarded_for | errors)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, guarded_for)
            return
        if isinstance(node, ast.Attribute) and (name := _dotted(node)):
            uses.append(Use(name, node.lineno, "AttributeError" in guarded_for))
            return  # the chain's inner attributes are prefixes of this one
        import_guarded = bool(guarded_for & {"ImportError", "ModuleNotFoundError"})
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "torch":
                    uses.append(Use(alias.name, node.lineno, import_guarded))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "torch":
            for alias in node.names:
                uses.append(Use(f"{node.module}.{alias.name}", node.lineno, import_guarded))
        for child in ast.iter_child_nodes(node):
            visit(child, guarded_for)

    visit(tree, frozenset())
    return uses


def resolves(name: str) -> bool:
    """Whether ``name`` (``torch.x.y``) is an attribute or submodule of the installed torch."""
    obj: object = torch
    parts = name.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module(".".join(parts[: i + 1]))
        except ImportError:
            return False
    return True
