"""Plumbing shared by the chapters of "PyTorch on Apple Silicon".

Teaching code stays in the chapters; this package holds only what several chapters need:
turning the ``device`` parameter into a ``torch.device``, a timer that synchronises the right
device, the provenance banner, and tables of published hardware figures.
"""

from mpsbook.device import (
    MIN_TORCH,
    DeviceError,
    available_devices,
    check_torch_version,
    resolve_device,
    synchronize,
)
from mpsbook.provenance import machine_info, provenance_banner, show_provenance
from mpsbook.timing import Measurement, time_callable

__all__ = [
    "MIN_TORCH",
    "DeviceError",
    "Measurement",
    "available_devices",
    "check_torch_version",
    "machine_info",
    "provenance_banner",
    "resolve_device",
    "show_provenance",
    "synchronize",
    "time_callable",
]
