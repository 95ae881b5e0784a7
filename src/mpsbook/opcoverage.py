"""Which ATen operators have kernels for which device, read from the installed torch itself.

Every torch wheel ships ``torchgen/packaged/ATen/native/native_functions.yaml``, the file PyTorch's code
generator reads to register its native operators. Each entry's ``dispatch:`` table names the backends with
a kernel (keys may be comma-joined, as in ``"CPU, CUDA"``); a *structured* operator's functional and in-place
variants have no table of their own and point at their ``out=`` variant with ``structured_delegate``; an entry
with neither is ``CompositeImplicitAutograd`` (written in terms of other operators, so it runs wherever they
do). An entry with ``ufunc_inner_loop`` gets generated CPU and CUDA kernels. This module turns that file into
one :class:`Operator` per overload, and groups the functional, in-place and ``out=`` overloads of one function
with the code generator's own schema parser (``torchgen.model.FunctionSchema``).

It is an **upper bound** on what is missing for a backend: a few kernels are registered outside this file,
with ``TORCH_LIBRARY_IMPL`` in C++ (the MPS backend does so in ``aten/src/ATen/native/mps`` and
``aten/src/ATen/mps/MPSFallback.mm``); and a kernel that exists may still refuse some inputs or dtypes.
:func:`category` sorts each overload into one of :data:`CATEGORIES`, and :func:`expected_failures` reads the
lists of operators PyTorch's own MPS tests expect to fail (``torch/testing/_internal/common_mps.py``, shipped
in every wheel; :func:`conditional_expected_failures` lists the entries that depend on the Mac's macOS
version), whose keys :func:`split_variant` splits into operator and test variant. :func:`private_twin` names the
private operator that a composite functional form hands its work to, where the file shows one.
"""

from __future__ import annotations

import ast
import importlib.resources
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from torchgen.model import FunctionSchema

#: Dispatch keys whose kernel works for every backend (written in terms of other operators).
COMPOSITE_KEYS = frozenset(
    {"CompositeImplicitAutograd", "CompositeExplicitAutograd", "CompositeExplicitAutogradNonFunctional"}
)
#: The key an entry gets when it has neither a ``dispatch`` table nor a ``structured_delegate``.
IMPLICIT = "CompositeImplicitAutograd"
#: Kernels torchgen generates for an entry with ``ufunc_inner_loop`` (its ``UFUNC_DISPATCH_KEYS``).
UFUNC_KEYS = frozenset({"CPU", "CUDA"})
#: Where the file sits inside the ``torchgen`` package of a torch wheel.
YAML_IN_TORCHGEN = "packaged/ATen/native/native_functions.yaml"
#: Overloads that ``aten/src/ATen/mps/MPSFallback.mm`` registers on the MPS key with the CPU fallback itself,
#: whatever PYTORCH_ENABLE_MPS_FALLBACK says (torch 2.14.1; older releases listed more, e.g. ``col2im``).
FALLBACK_REGISTERED = frozenset({"embedding_renorm_"})
#: The categories of :func:`category`, in the order a plot stacks them.
CATEGORIES = (
    "MPS kernel",
    "composite",
    "CPU fallback (registered)",
    "out=/in-place only",
    "CPU and CUDA only",
    "other backends only",
)
#: The dicts of common_mps.py whose entries are expected failures of the MPS consistency test.
XFAIL_LISTS = ("UNIMPLEMENTED_XFAILLIST", "UNDEFINED_XFAILLIST", "ON_MPS_XFAILLIST")

__all__ = [
    "CATEGORIES",
    "COMPOSITE_KEYS",
    "FALLBACK_REGISTERED",
    "XFAIL_LISTS",
    "Operator",
    "all_expected_failures",
    "category",
    "common_mps_path",
    "conditional_expected_failures",
    "count_kernels",
    "expected_failures",
    "load_entries",
    "missing_for",
    "native_functions_path",
    "operators",
    "private_twin",
    "split_variant",
    "torch_name_exists",
]


@dataclass(frozen=True)
class Operator:
    """One overload of an ATen operator and the dispatch keys that have a kernel for it."""

    name: str  # the overload, e.g. "add.Tensor" or "mm.out"
    keys: frozenset[str]
    delegate: str | None = None  # the out= overload a structured operator points at
    module: str | None = None  # python_module: "nn", "linalg", "fft", "special", ... (None: torch.*)
    kind: str = "functional"  # torchgen's SchemaKind: "functional", "inplace", "out", "mutable" or "scratch"
    functional_keys: frozenset[str] = frozenset()  # kernels of the functional overload of the same signature
    signature: str = ""  # torchgen's core signature, shared by the overloads of one function: "mm(Tensor self, ...)"

    @property
    def base(self) -> str:
        """The operator without its overload name: ``"add"`` for ``"add.Tensor"``."""
        return self.name.split(".", 1)[0]

    @property
    def composite(self) -> bool:
        """Whether a composite kernel covers every backend."""
        return bool(self.keys & COMPOSITE_KEYS)

    def has_kernel(self, key: str) -> bool:
        """Whether ``key`` (``"MPS"``, ``"CUDA"``, ``"CPU"``, ...) has a kernel of its own."""
        return key in self.keys

    def variant_covered(self, key: str) -> bool:
        """Whether this is an in-place or ``out=`` overload whose functional form has a ``key`` kernel.

        ``max.unary_out`` (``torch.max(x, out=y)``) has no MPS kernel, but ``max`` has one: only the
        ``out=`` spelling is missing, not the operation.
        """
        return self.kind != "functional" and key in self.functional_keys


def native_functions_path() -> Path:
    """The ``native_functions.yaml`` of the installed torch (it ships inside the ``torchgen`` package)."""
    path = Path(str(importlib.resources.files("torchgen") / YAML_IN_TORCHGEN))
    if not path.is_file():
        raise FileNotFoundError(f"torchgen/{YAML_IN_TORCHGEN} is missing: reinstall torch from a wheel.")
    return path


def load_entries(text: str | None = None) -> list[dict]:
    """Parse YAML text (by default the installed torch's file) into its list of entries."""
    if text is None:
        text = native_functions_path().read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~10× faster
    entries = yaml.load(text, Loader=loader)
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "func" in e for e in entries):
        raise ValueError("not a native_functions.yaml: expected a list of entries, each with a 'func' key.")
    return entries


def _overload(func: str) -> str:
    return func.split("(", 1)[0].strip()


def _own_keys(entry: Mapping) -> set[str]:
    keys: set[str] = set()
    for joined in entry.get("dispatch") or {}:
        keys.update(part.strip() for part in str(joined).split(",") if part.strip())
    return keys


def operators(entries: Iterable[Mapping]) -> dict[str, Operator]:
    """One :class:`Operator` per overload, with ``structured_delegate`` followed to the kernels it uses."""
    by_name = {_overload(e["func"]): e for e in entries}
    resolved: dict[str, frozenset[str]] = {}

    def keys_of(name: str, seen: tuple[str, ...] = ()) -> frozenset[str]:
        if name in resolved:
            return resolved[name]
        if name in seen:
            raise ValueError(f"structured_delegate cycle: {' → '.join((*seen, name))}.")
        entry = by_name[name]
        keys = _own_keys(entry)
        if entry.get("ufunc_inner_loop"):
            keys |= UFUNC_KEYS  # torchgen generates these kernels from the inner loop
        delegate = entry.get("structured_delegate")
        if delegate is not None:
            if delegate not in by_name:
                raise ValueError(f"{name} delegates to {delegate}, which the file does not define.")
            keys |= keys_of(delegate, (*seen, name))
        elif "dispatch" not in entry and not entry.get("structured"):
            keys.add(IMPLICIT)
        resolved[name] = frozenset(keys)
        return resolved[name]

    schemas = {name: FunctionSchema.parse(entry["func"]) for name, entry in by_name.items()}
    signature = {name: str(schema.signature()) for name, schema in schemas.items()}
    functional: dict[str, frozenset[str]] = {}  # signature -> kernels of its functional overload(s)
    for name, schema in schemas.items():
        if schema.kind().name == "functional":
            functional[signature[name]] = functional.get(signature[name], frozenset()) | keys_of(name)
    return {
        name: Operator(
            name,
            keys_of(name),
            entry.get("structured_delegate"),
            entry.get("python_module"),
            schemas[name].kind().name,
            functional.get(signature[name], frozenset()),
            signature[name],
        )
        for name, entry in by_name.items()
    }


def private_twin(
    ops: Mapping[str, Operator],
    op: Operator,
    backend: str = "MPS",
    reference: Iterable[str] = ("CPU", "CUDA"),
) -> Operator | None:
    """The private operator that ``op``'s composite functional form hands its work to, if it lacks a ``backend`` kernel.

    A public composite ``name`` beside a private ``_name`` of the same signature is how ATen splits an operator
    whose public form does some work of its own before the real kernel: ``adaptive_avg_pool3d``
    (CompositeImplicitAutograd) calls ``_adaptive_avg_pool3d``, not ``adaptive_avg_pool3d.out`` (and ``mean``
    for an output of 1 × 1 × 1), and ``linalg_eigvals`` calls ``_linalg_eigvals`` (``linalg_eig`` when gradients
    are needed). The YAML cannot say what the C++ calls, so this is that naming pattern, checked against the
    sources for the overloads it finds in torch 2.14.1. Returns the ``_name`` functional overload when ``op``'s
    functional form is composite and ``_name`` has every ``reference`` kernel and none for ``backend``; else None
    (a composite without such a twin, such as ``frexp``, calls its own ``out=`` form).
    """
    if not (op.functional_keys & COMPOSITE_KEYS) or not op.signature:
        return None
    reference = tuple(reference)
    wanted = "_" + op.signature
    for candidate in ops.values():
        if (
            candidate.kind == "functional"
            and candidate.signature == wanted
            and all(candidate.has_kernel(k) for k in reference)
            and not candidate.has_kernel(backend)
        ):
            return candidate
    return None


def count_kernels(ops: Mapping[str, Operator], keys: Iterable[str] = ("CPU", "CUDA", "MPS")) -> dict[str, int]:
    """How many overloads have a kernel for each key, plus ``"composite"`` and the ``"total"``."""
    counts = {key: sum(op.has_kernel(key) for op in ops.values()) for key in keys}
    counts["composite"] = sum(op.composite for op in ops.values())
    counts["total"] = len(ops)
    return counts


def missing_for(
    ops: Mapping[str, Operator],
    backend: str = "MPS",
    reference: Iterable[str] = ("CPU", "CUDA"),
    covered_variants: bool = False,
) -> list[Operator]:
    """Overloads with a kernel for every ``reference`` key but none for ``backend`` and no composite one.

    In-place and ``out=`` overloads whose functional form has a ``backend`` kernel are left out unless
    ``covered_variants`` is true (see :meth:`Operator.variant_covered`).
    """
    reference = tuple(reference)
    if backend in reference:
        raise ValueError(f"backend {backend!r} cannot also be a reference key.")
    return sorted(
        (
            op
            for op in ops.values()
            if all(op.has_kernel(k) for k in reference)
            and not op.has_kernel(backend)
            and not op.composite
            and (covered_variants or not op.variant_covered(backend))
        ),
        key=lambda op: op.name,
    )


def category(op: Operator, fallback: Iterable[str] = FALLBACK_REGISTERED) -> str:
    """Which of :data:`CATEGORIES` an overload falls in for the MPS backend."""
    if op.has_kernel("MPS"):
        return CATEGORIES[0]
    if op.composite:
        return CATEGORIES[1]
    if op.name in set(fallback):
        return CATEGORIES[2]
    if op.variant_covered("MPS"):
        return CATEGORIES[3]
    if op.has_kernel("CPU") and op.has_kernel("CUDA"):
        return CATEGORIES[4]
    return CATEGORIES[5]


def common_mps_path() -> Path:
    """``torch/testing/_internal/common_mps.py`` of the installed torch: PyTorch's MPS test expectations."""
    path = Path(str(importlib.resources.files("torch") / "testing" / "_internal" / "common_mps.py"))
    if not path.is_file():
        raise FileNotFoundError("torch/testing/_internal/common_mps.py is missing from this torch install.")
    return path


def expected_failures(
    text: str | None = None, name: str = "UNIMPLEMENTED_XFAILLIST"
) -> dict[str, tuple[str, ...] | None]:
    """The dict ``name`` of common_mps.py: OpInfo name → dtypes expected to fail on MPS (None: every dtype).

    Read with :mod:`ast`, never imported (the module only defines it on a Mac). Returns ``{}`` if the
    assignment is absent (its name has changed between releases). Entries whose dtypes depend on a condition
    are left out; :func:`conditional_expected_failures` lists them.
    """
    if text is None:
        text = common_mps_path().read_text(encoding="utf-8")
    node = _xfail_dict(text, name)
    if node is not None:
        result: dict[str, tuple[str, ...] | None] = {}
        for key, value in _entries(node):
            if isinstance(value, ast.List):
                result[key] = tuple(ast.unparse(v).removeprefix("torch.") for v in value.elts)
            elif isinstance(value, ast.Constant) and value.value is None:
                result[key] = None
            # anything else (``[...] if MACOS_VERSION < 15.0 else [...]``) is left to conditional_expected_failures
        return result
    return {}


def _entries(node: ast.Dict) -> list[tuple[str, ast.expr]]:
    return [(k.value, v) for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)]


def _xfail_dict(text: str, name: str) -> ast.Dict | None:
    for node in ast.walk(ast.parse(text)):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or not isinstance(node.value, ast.Dict):
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.value
    return None


def conditional_expected_failures(text: str | None = None, names: Iterable[str] = XFAIL_LISTS) -> dict[str, str]:
    """Entries of the xfail dicts whose dtypes are an expression, not a list or None: key → its source text.

    Such an entry (``[torch.int32, torch.int64] if MACOS_VERSION < 15.0 else [torch.int64]``) depends on the
    Mac that runs the tests, so :func:`expected_failures` leaves it out rather than guess.
    """
    if text is None:
        text = common_mps_path().read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for name in names:
        node = _xfail_dict(text, name)
        for key, value in _entries(node) if node is not None else []:
            if not isinstance(value, ast.List) and not (isinstance(value, ast.Constant) and value.value is None):
                found[key] = ast.unparse(value).replace("torch.", "")
    return found


def all_expected_failures(
    text: str | None = None, names: Iterable[str] = XFAIL_LISTS
) -> dict[str, tuple[str, ...] | None]:
    """The dicts ``names`` of common_mps.py merged: key → dtypes expected to fail (None: every dtype)."""
    if text is None:
        text = common_mps_path().read_text(encoding="utf-8")
    merged: dict[str, tuple[str, ...] | None] = {}
    for name in names:
        for key, dtypes in expected_failures(text, name).items():
            if dtypes is None or (key in merged and merged[key] is None):
                merged[key] = None
            else:
                merged[key] = tuple(dict.fromkeys((*(merged.get(key) or ()), *dtypes)))
    return merged


def torch_name_exists(name: str) -> bool:
    """Whether ``name`` (``"sum"``, ``"nn.functional.conv2d"``, ``"double"``) is a function of torch.

    Dotted names are looked up under ``torch``; a plain name may also be a ``Tensor`` method or an ATen
    operator (``torch.ops.aten``).
    """
    import torch

    obj = torch
    for part in name.split("."):
        if not hasattr(obj, part):
            break
        obj = getattr(obj, part)
    else:
        return True
    return "." not in name and (hasattr(torch.Tensor, name) or hasattr(torch.ops.aten, name))


def split_variant(key: str, exists: Callable[[str], bool] = torch_name_exists) -> tuple[str, str]:
    """Split a common_mps.py key into (operator, test variant).

    A key is an OpInfo's name with its ``variant_test_name`` appended without a separator
    (``"scatter_reduceprod"`` is ``scatter_reduce`` tested with ``reduce="prod"``). The operator is the whole
    key if ``exists`` knows it, else its longest prefix that ``exists`` knows and that leaves a variant
    starting with a letter or digit (``"nn.functional.norm"`` is not ``nn.functional`` + ``".norm"``);
    ``(key, "")`` if none, a key that names no operator (``exists`` tells the caller so).
    """
    if exists(key):
        return key, ""
    for end in range(len(key) - 1, 0, -1):
        name, variant = key[:end], key[end:]
        if variant[0].isalnum() and not name.endswith(("_", ".")) and exists(name):
            return name, variant
    return key, ""
