"""An environment doctor: is this Python, this OS and this PyTorch what the book needs?

``python -m mpsbook doctor`` prints what it found and exits with status 0 when nothing is wrong, or 1 with a
one-line reason on stderr. Chapter 2 builds it up step by step; the checks are:

- a native Python: on an Apple Silicon Mac, an x86_64 Python runs translated by Rosetta 2
  (``sysctl.proc_translated`` is 1), cannot load arm64 wheels, and never sees the GPU;
- macOS 14 or newer, which MPS needs in torch 2.10 and later ("The MPS backend is supported on MacOS 14.0+",
  ``aten/src/ATen/mps/EmptyTensor.cpp``; Apple lists macOS 14.0 for PyTorch 2.11);
- torch built with MPS on macOS, and MPS then available;
- Python and torch at least as new as the book needs.

The guide's ``diagnose_mps_environment`` (section 8.1) asks similar questions but crashes on
``torch.version.blas``, which torch never had: the BLAS library is read here from torch's own build
configuration, ``torch.__config__.show()``.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass, field

import torch

from mpsbook.device import MIN_TORCH, _torch_version

#: macOS that torch's MPS backend needs (torch >= 2.10; Apple's PyTorch page lists macOS 14.0 for 2.11).
MIN_MACOS = (14, 0)
#: Python that the book's package needs (pyproject.toml: requires-python >= 3.11).
MIN_PYTHON = (3, 11)


def sysctl(name: str) -> str | None:
    """``sysctl -n name`` on macOS; ``None`` elsewhere, or where the key does not exist."""
    if sys.platform != "darwin":
        return None
    try:
        out = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def is_translated() -> bool | None:
    """Whether this process runs under Rosetta 2: ``True``/``False`` on macOS, ``None`` elsewhere.

    Apple documents ``sysctl.proc_translated``: 1 for a translated process, 0 for a native one; the key is
    missing on Macs without Rosetta (Intel Macs), which are native by definition.
    """
    if sys.platform != "darwin":
        return None
    return sysctl("sysctl.proc_translated") == "1"


def build_setting(name: str, config: str | None = None) -> str | None:
    """One ``NAME=value`` entry of torch's build settings, e.g. ``BLAS_INFO`` → ``"accelerate"`` or ``"mkl"``.

    torch has no ``torch.version.blas``; its build configuration (``torch.__config__.show()``) lists the
    settings it was compiled with.
    """
    config = torch.__config__.show() if config is None else config
    match = re.search(rf"\b{re.escape(name)}=([^,\s]*)", config)
    return match.group(1) if match and match.group(1) else None


def cpu_layout() -> dict[str, int | None]:
    """CPU counts that the OS exposes: performance and efficiency cores on Apple Silicon, usable CPUs elsewhere."""
    def count(key: str) -> int | None:
        value = sysctl(key)
        return int(value) if value and value.isdigit() else None

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "logical": os.cpu_count(),
        "usable": usable,  # Linux: CPUs this process may run on (containers and taskset restrict it)
        "performance": count("hw.perflevel0.physicalcpu"),  # macOS on Apple Silicon only
        "efficiency": count("hw.perflevel1.physicalcpu"),
        "torch_threads": torch.get_num_threads(),
    }


@dataclass(frozen=True)
class Facts:
    """What the doctor looks at. :func:`gather_facts` reads them from this machine; tests build their own."""

    system: str  # platform.system(): "Darwin", "Linux", "Windows"
    machine: str  # platform.machine() of this Python: "arm64", "x86_64", ...
    translated: bool | None  # under Rosetta 2 (macOS only)
    os_version: str  # "14.5" on macOS (platform.mac_ver), the kernel release elsewhere
    python_version: str
    torch_version: str
    mps_built: bool
    mps_available: bool
    cuda_version: str | None  # torch.version.cuda: None for a build without CUDA
    cuda_available: bool
    blas: str | None  # BLAS_INFO from torch's build settings
    conda_prefix: str | None = None  # $CONDA_PREFIX: a conda environment is active
    in_venv: bool = False  # sys.prefix != sys.base_prefix
    cores: dict[str, int | None] = field(default_factory=dict)


def gather_facts() -> Facts:
    """Read :class:`Facts` from this process, this OS and the installed torch."""
    system = platform.system()
    return Facts(
        system=system,
        machine=platform.machine(),
        translated=is_translated(),
        os_version=platform.mac_ver()[0] if system == "Darwin" else platform.release(),
        python_version=platform.python_version(),
        torch_version=torch.__version__,
        mps_built=torch.backends.mps.is_built(),
        mps_available=torch.backends.mps.is_available(),
        cuda_version=torch.version.cuda,
        cuda_available=torch.cuda.is_available(),
        blas=build_setting("BLAS_INFO"),
        conda_prefix=os.environ.get("CONDA_PREFIX"),
        in_venv=sys.prefix != sys.base_prefix,
        cores=cpu_layout(),
    )


@dataclass(frozen=True)
class Finding:
    """One verdict: ``level`` is ``"ok"``, ``"warn"`` (worth knowing) or ``"fail"`` (the book will not work)."""

    level: str
    message: str


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:2]) or (0,)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def check(facts: Facts) -> list[Finding]:
    """Judge :class:`Facts`: every ``"fail"`` is something that stops the book from working here."""
    found: list[Finding] = []

    def ok(message: str) -> None:
        found.append(Finding("ok", message))

    def warn(message: str) -> None:
        found.append(Finding("warn", message))

    def fail(message: str) -> None:
        found.append(Finding("fail", message))

    if _version_tuple(facts.python_version) < MIN_PYTHON:
        fail(f"Python {facts.python_version} is older than {_dotted(MIN_PYTHON)}, which the book needs")
    else:
        ok(f"Python {facts.python_version}")

    if _torch_version(facts.torch_version) < MIN_TORCH:
        fail(
            f"torch {facts.torch_version} is older than {_dotted(MIN_TORCH)}, which the book needs: "
            "pip install -r requirements.txt"
        )
    else:
        ok(f"torch {facts.torch_version} (BLAS: {facts.blas or 'not stated in its build settings'})")

    if facts.system == "Darwin":
        if facts.translated:
            fail(
                f"this Python is an {facts.machine} build running under Rosetta 2 on an Apple Silicon Mac: "
                "install a native arm64 Python (Miniforge3-MacOSX-arm64) and recreate the environment"
            )
        elif facts.machine != "arm64":
            fail(f"this Mac has an {facts.machine} CPU: PyTorch's MPS backend and current wheels need Apple Silicon")
        else:
            ok("native arm64 Python")
        native = facts.machine == "arm64" and not facts.translated
        old_os = _version_tuple(facts.os_version) < MIN_MACOS
        if old_os:
            fail(f"macOS {facts.os_version} is older than {_dotted(MIN_MACOS)}, which MPS needs in current torch")
        # The MPS verdicts below only make sense once the architecture and the OS are right.
        if native and not facts.mps_built:
            fail(
                "this torch was built without MPS (torch.backends.mps.is_built() is False): "
                "install the arm64 wheel from PyPI or the conda-forge build"
            )
        elif native and not old_os and not facts.mps_available:
            fail(
                "MPS is built but not available: this process cannot reach a Metal GPU "
                "(a virtual machine, a sandbox or a remote session can hide it)"
            )
        elif native and not old_os:
            ok(f"MPS available on macOS {facts.os_version}")
    else:
        accelerator = f"cuda (CUDA {facts.cuda_version})" if facts.cuda_available else "none: tensors run on the CPU"
        ok(f"not macOS ({facts.system} {facts.machine}): the MPS checks do not apply; accelerator: {accelerator}")

    if facts.conda_prefix and facts.in_venv:
        warn(
            "a venv is active inside a conda environment: two environment managers decide which packages load; "
            "use one of them"
        )
    return found


def problems(findings: list[Finding]) -> list[str]:
    """The messages of the ``"fail"`` findings."""
    return [f.message for f in findings if f.level == "fail"]


def render(facts: Facts, findings: list[Finding]) -> str:
    """The report ``python -m mpsbook doctor`` prints."""
    arch = facts.machine + (", translated by Rosetta 2" if facts.translated else "")
    cores = facts.cores
    core_text = f"{cores.get('logical')} logical, torch uses {cores.get('torch_threads')} threads"
    if cores.get("performance") is not None:
        core_text += f"; {cores['performance']} performance + {cores.get('efficiency') or 0} efficiency cores"
    lines = [
        "mpsbook doctor",
        f"  Python  : {facts.python_version} ({arch})",
        f"  OS      : {facts.system} {facts.os_version}",
        f"  PyTorch : {facts.torch_version}; MPS built {facts.mps_built}, available {facts.mps_available}; "
        f"CUDA {facts.cuda_version or 'not built'}, available {facts.cuda_available}",
        f"  CPU     : {core_text}",
    ]
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    lines += [f"  [{marks[f.level]}] {f.message}" for f in findings]
    return "\n".join(lines)


def run_doctor(facts: Facts | None = None, *, out=None, err=None) -> int:
    """Print the report; return 0 when nothing fails, else 1 after one line naming the first problem on ``err``."""
    out = out or sys.stdout
    err = err or sys.stderr
    facts = facts or gather_facts()
    findings = check(facts)
    print(render(facts, findings), file=out)
    bad = problems(findings)
    if not bad:
        print("Nothing wrong found.", file=out)
        return 0
    more = f" (and {len(bad) - 1} more above)" if len(bad) > 1 else ""
    print(f"mpsbook doctor: {bad[0]}{more}", file=err)
    return 1
