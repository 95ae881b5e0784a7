"""The provenance banner: what produced the outputs on a page."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

#: Field names, in banner order. tests/sanitize.cfg masks their values when outputs are compared.
FIELDS = ("Device", "CPU", "OS", "Python", "PyTorch", "Executed")


def cpu_model() -> str:
    """The CPU's marketing name (``Apple M2 Pro``, ``AMD EPYC 9654 96-Core Processor``), from the OS."""
    if sys.platform == "darwin":
        try:  # "Apple M1 Pro" on Apple Silicon
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except OSError:
            pass
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def os_name() -> str:
    """``macOS 15.3 (arm64)`` or ``Linux 6.8.0 (x86_64)``."""
    if sys.platform == "darwin":
        return f"macOS {platform.mac_ver()[0]} ({platform.machine()})"
    return f"{platform.system()} {platform.release()} ({platform.machine()})"


def device_name(device: torch.device) -> str:
    """The name a device reports: the GPU's for cuda, the chip's for mps, the CPU's for cpu."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        get_name = getattr(torch.backends.mps, "get_name", None)  # added in torch 2.8
        return get_name() if get_name else cpu_model()
    return cpu_model()


def _load() -> str:
    """``", load average 0.4"``: a busy machine measures slow, so the banner says how busy it was."""
    try:
        return f", load average {os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):  # Windows has no load average
        return ""


def machine_info(device: torch.device | str) -> dict[str, str]:
    """The facts the banner prints, as a dict keyed by :data:`FIELDS`."""
    device = torch.device(device)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return {
        "Device": f"{device} · {device_name(device)}",
        "CPU": f"{cpu_model()} · {os.cpu_count()} logical cores, torch uses {torch.get_num_threads()}{_load()}",
        "OS": os_name(),
        "Python": platform.python_version(),
        "PyTorch": torch.__version__,
        "Executed": now,
    }


def provenance_banner(device: torch.device | str) -> str:
    """A short block of text naming the device, chip, OS, versions and date of a run."""
    info = machine_info(device)
    width = max(map(len, FIELDS))
    lines = ["Provenance: the outputs on this page were produced by"]
    lines += [f"  {key:<{width}} : {info[key]}" for key in FIELDS]
    return "\n".join(lines)


def show_provenance(device: torch.device | str) -> None:
    """Print :func:`provenance_banner` (the cell every chapter runs after its parameters)."""
    print(provenance_banner(device))
