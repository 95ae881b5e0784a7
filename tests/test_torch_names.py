"""Every torch name the book uses as code exists in the installed torch (see torch_names.py)."""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT
from torch_names import resolves, torch_uses

SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb"))


def stored_error(notebook: str, cell_id: str) -> str | None:
    copy = ROOT / "book" / notebook
    if not copy.exists():
        return None
    for cell in nbformat.read(copy, as_version=4).cells:
        if cell.get("id") == cell_id:
            return next((o.ename for o in cell.get("outputs", []) if o.output_type == "error"), None)
    return None


def unresolved_real_uses(source: str, raises: str | None = None) -> list[str]:
    """Names that do not exist and are not inside a demonstration that they do not exist."""
    bad = []
    for use in torch_uses(source):
        if resolves(use.name) or use.guarded:
            continue
        if raises in {"AttributeError", "ImportError", "ModuleNotFoundError"}:
            continue
        bad.append(f"line {use.line}: {use.name}")
    return bad


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_every_torch_name_in_the_book_exists(path):
    problems = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        raises = None
        if "raises-exception" in cell.metadata.get("tags", []):
            raises = stored_error(path.name, cell.id)
        problems += [f"cell {cell.id}, {p}" for p in unresolved_real_uses(cell.source, raises)]
    assert not problems, "torch names that do not exist:\n" + "\n".join(problems)


# The checker itself: real use fails, demonstrations pass.
@pytest.mark.parametrize(
    "code",
    [
        "torch.version.blas",
        "print(torch.version.blas)",
        "torch.backends.mps.allow_tf32 = True",
        "torch.backends.mps.allow_fallback_to_cpu = True",
        "stats = torch.mps.memory_stats()",
        "from torch.mps import memory_stats",
        "import torch.nonexistent_module",
        "try:\n    torch.mps.memory_stats()\nexcept RuntimeError:\n    pass",
        "try:\n    pass\nexcept AttributeError:\n    torch.version.blas",
    ],
)
def test_checker_rejects_real_use_of_invented_names(code):
    assert unresolved_real_uses(code)


@pytest.mark.parametrize(
    "code",
    [
        "torch.mps.recommended_max_memory()",
        "x = torch.randn(3).to(torch.float16)",
        "import torch.utils.benchmark\nfrom torch.utils.benchmark import Timer",
        "hasattr(torch.backends.mps, 'allow_tf32')",
        "try:\n    torch.version.blas\nexcept AttributeError as err:\n    print(err)",
        "try:\n    torch.mps.memory_stats()\nexcept (AttributeError, RuntimeError):\n    pass",
        "try:\n    from torch.mps import memory_stats\nexcept ImportError:\n    pass",
        "%time torch.ones(2)",
    ],
)
def test_checker_accepts_real_names_and_demonstrations(code):
    assert unresolved_real_uses(code) == []


def test_a_raises_exception_cell_passes_only_with_the_matching_error():
    assert unresolved_real_uses("torch.version.blas", raises="AttributeError") == []
    assert unresolved_real_uses("torch.version.blas", raises="RuntimeError")
    assert unresolved_real_uses("torch.version.blas", raises=None)
