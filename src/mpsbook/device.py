"""Choosing the device a chapter runs on, and keeping torch's asynchronous devices honest."""

from __future__ import annotations

import torch

#: Oldest torch the chapters are tested with (the lent H100 runs 2.11; the book pins 2.14.1).
MIN_TORCH = (2, 11)

#: The order ``device="auto"`` tries: Apple's GPU first, then NVIDIA's, then the CPU.
AUTO_ORDER = ("mps", "cuda", "cpu")


class DeviceError(ValueError):
    """A ``device`` parameter that names no device this machine can use."""


def _torch_version(version: str) -> tuple[int, int]:
    major, minor = version.split("+")[0].split(".")[:2]
    return int(major), int(minor)


def check_torch_version(version: str | None = None) -> str:
    """Return the torch version, or raise ``RuntimeError`` if it is older than :data:`MIN_TORCH`."""
    version = version or torch.__version__
    if _torch_version(version) < MIN_TORCH:
        wanted = ".".join(map(str, MIN_TORCH))
        raise RuntimeError(
            f"This book needs torch >= {wanted}, but torch {version} is installed: "
            "run `make setup` or `pip install -r requirements.txt`."
        )
    return version


def available_devices() -> list[str]:
    """Device types usable here, in ``auto`` order.

    Asks each backend's ``is_available()``: ``torch.accelerator.current_accelerator()`` without
    ``check_available=True`` reports ``cuda`` on a CUDA build even when the machine has no GPU.
    """
    found = []
    if torch.backends.mps.is_available():
        found.append("mps")
    if torch.cuda.is_available():
        found.append("cuda")
    found.append("cpu")
    return found


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Turn a chapter's ``device`` parameter into a ``torch.device``.

    ``"auto"`` picks mps, then cuda, then cpu. An explicit name must be available here;
    anything else raises :class:`DeviceError` with one sentence naming what is available.
    """
    available = available_devices()
    text = str(name).strip().lower()
    if text == "auto":
        return torch.device(next(d for d in AUTO_ORDER if d in available))
    try:
        device = torch.device(text)
    except RuntimeError:
        device = None
    choices = ", ".join(["auto", *available])
    if device is None or device.type not in AUTO_ORDER:
        raise DeviceError(f"Unknown device {name!r}: use one of {choices}.")
    if device.type not in available:
        raise DeviceError(f"Device {name!r} is not available on this machine: use one of {choices}.")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceError(
            f"Device {name!r} is not available: this machine has {torch.cuda.device_count()} CUDA "
            f"device(s); use one of {choices}."
        )
    return device


def synchronize(device: torch.device | str) -> None:
    """Wait until every kernel queued on ``device`` has finished (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
