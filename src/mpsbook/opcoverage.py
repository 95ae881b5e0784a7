"""Which ATen operators have kernels for which device, read from the installed torch itself.

Every torch wheel ships ``torchgen/packaged/ATen/native/native_functions.yaml``, the file PyTorch's code
generator reads to register its native operators. Each entry's ``dispatch:`` table names the backends with
a kernel (keys may be comma-joined, as in ``"CPU, CUDA"``); a *structured* operator's functional and in-place
variants have no table of their own and point at their ``out=`` variant with ``structured_delegate``; an entry
with neither is ``CompositeImplicitAutograd`` (written in terms of other operators, so it runs wherever they
do). An entry with ``ufunc_inner_loop`` gets generated CPU and CUDA kernels. This module turns that file into
one :class:`Operator` per overload.

It is an **upper bound** on what is missing for a backend: a few kernels are registered outside this file,
with ``TORCH_LIBRARY_IMPL`` in C++ (the MPS backend does so in ``aten/src/ATen/native/mps`` and
``aten/src/ATen/mps/MPSFallback.mm``).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

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

__all__ = [
    "COMPOSITE_KEYS",
    "Operator",
    "count_kernels",
    "load_entries",
    "missing_for",
    "native_functions_path",
    "operators",
]


@dataclass(frozen=True)
class Operator:
    """One overload of an ATen operator and the dispatch keys that have a kernel for it."""

    name: str  # the overload, e.g. "add.Tensor" or "mm.out"
    keys: frozenset[str]
    delegate: str | None = None  # the out= overload a structured operator points at

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

    return {
        name: Operator(name, keys_of(name), entry.get("structured_delegate")) for name, entry in by_name.items()
    }


def count_kernels(ops: Mapping[str, Operator], keys: Iterable[str] = ("CPU", "CUDA", "MPS")) -> dict[str, int]:
    """How many overloads have a kernel for each key, plus ``"composite"`` and the ``"total"``."""
    counts = {key: sum(op.has_kernel(key) for op in ops.values()) for key in keys}
    counts["composite"] = sum(op.composite for op in ops.values())
    counts["total"] = len(ops)
    return counts


def missing_for(
    ops: Mapping[str, Operator], backend: str = "MPS", reference: Iterable[str] = ("CPU", "CUDA")
) -> list[Operator]:
    """Overloads with a kernel for every ``reference`` key but none for ``backend`` and no composite one."""
    reference = tuple(reference)
    if backend in reference:
        raise ValueError(f"backend {backend!r} cannot also be a reference key.")
    return sorted(
        (
            op
            for op in ops.values()
            if all(op.has_kernel(k) for k in reference) and not op.has_kernel(backend) and not op.composite
        ),
        key=lambda op: op.name,
    )
