"""Plumbing shared by the chapters of "PyTorch on Apple Silicon".

Teaching code stays in the chapters; this package holds only what several chapters need:
turning the ``device`` parameter into a ``torch.device``, a timer that synchronises the right
device, the provenance banner, and tables of published hardware figures.

The names below load on first use (PEP 562), so ``python -m mpsbook doctor`` runs, and says so, where torch is
not installed.
"""

from importlib import import_module

_HOMES = {
    "MIN_TORCH": "mpsbook.device",
    "DeviceError": "mpsbook.device",
    "available_devices": "mpsbook.device",
    "check_torch_version": "mpsbook.device",
    "resolve_device": "mpsbook.device",
    "synchronize": "mpsbook.device",
    "machine_info": "mpsbook.provenance",
    "provenance_banner": "mpsbook.provenance",
    "show_provenance": "mpsbook.provenance",
    "Measurement": "mpsbook.timing",
    "time_callable": "mpsbook.timing",
    "spread": "mpsbook.timing",
    "consistently_slower": "mpsbook.timing",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module 'mpsbook' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
