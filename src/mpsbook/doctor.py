"""An environment doctor: is this Python, this OS and this PyTorch what the book needs?

``python -m mpsbook doctor`` prints what it found and exits with status 0 when nothing is wrong, or 1 with a
one-line reason on stderr. Chapter 2 builds it up section by section; :data:`CHECKS` lists each check with what
it reads and what it cannot see. In short:

- a native Python: on an Apple Silicon Mac an x86_64 Python runs translated by Rosetta 2
  (``sysctl.proc_translated`` is 1), its CPU code runs translated, and PyPI has no torch newer than 2.2.2 for it
  (conda-forge still builds ``osx-64`` PyTorch, whose tests assert MPS under Rosetta), so the book's pinned
  environment cannot be installed there;
- macOS 14 or newer, which MPS needs in the torch the book pins: PyPI's torch 2.14.1 wheel is tagged
  ``macosx_14_0_arm64``, its ``libtorch_cpu.dylib`` has minimum OS 14.0, and the MPS backend refuses older
  systems ("The MPS backend is supported on macOS 14.0+", ``aten/src/ATen/mps/EmptyTensor.cpp``). The doctor
  reads the version with :func:`macos_version` (``sw_vers``: ``platform.mac_ver()`` can get a compatibility
  version, python/cpython#135675) and compares it with 14.0; ``torch.backends.mps.is_macos_or_newer(14, 0)`` is
  no OS probe (in 2.14.1 ``MPSHooks::isOnMacOSorNewer`` returns true for 13.x and 14.0 without asking macOS);
- torch built with MPS, MPS available in this process (with the GPU's name and core count), and a small tensor
  that survives a round trip on it;
- a Python the book's pins install on: 3.11 to 3.13 pass; 3.14 warns (torch 2.14.1 has a cp314 wheel,
  coremltools 9.0 has none); older or newer fails (PyPI has no torch 2.14.1 wheel for 3.15 or newer);
- a torch at least as new as the book needs; with no torch at all, that is the verdict (this module
  imports torch only if it is there, for a doctor run from a clone where ``pip install`` failed);
- one environment manager at a time, and a ``pip`` on ``PATH`` that installs into this Python.

The guide's ``diagnose_mps_environment`` (its section 8.1) asks similar questions but crashes on
``torch.version.blas``, which torch does not have: the BLAS library is read here from torch's own build
configuration, ``torch.__config__.show()``.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

try:
    import torch
except ImportError:  # the doctor still reports: "torch is not installed" is then its verdict
    torch = None

#: macOS that the MPS backend of the pinned torch (2.14.1) needs; PyPI's wheels need it from torch 2.12 on.
MIN_MACOS = (14, 0)
#: Python that the book's package needs (pyproject.toml: requires-python >= 3.11).
MIN_PYTHON = (3, 11)
#: Newest Python that the pinned torch 2.14.1 has wheels for on PyPI (cp310 to cp314): on a newer one,
#: ``pip install -r requirements.txt`` stops with "No matching distribution found for torch==2.14.1".
MAX_PYTHON = (3, 14)
#: Newest Python that every pinned package has a wheel for: coremltools 9.0 (chapter 8) stops at cp313.
MAX_PYTHON_ALL_WHEELS = (3, 13)
#: Environment variables that replace torch's default number of CPU threads, in the order
#: ``intraop_default_num_threads`` reads them (aten/src/ATen/ParallelCommon.cpp): the last one set wins.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Check:
    """One thing the doctor checks: what it reads, and what it cannot see from where it runs."""

    name: str
    reads: str
    cannot_see: str


#: The doctor's checks, in the order of its report (chapter 2, section 6, prints them as a table).
CHECKS = (
    Check(
        "Python version",
        "`platform.python_version()` of the interpreter that runs the doctor: 3.11 to 3.13 pass, 3.14 warns "
        "(no coremltools 9.0 wheel), older or newer fails (no torch 2.14.1 wheel for 3.15 or newer)",
        "other Pythons on your PATH, or the one your editor or Jupyter kernel uses: run the doctor with that one",
    ),
    Check(
        "PyTorch version and build",
        "`torch.__version__` (at least 2.11) and `BLAS_INFO` from `torch.__config__.show()`",
        "whether torchvision and other packages match this torch (`python -m pip check` does)",
    ),
    Check(
        "Native or Rosetta",
        "`platform.machine()` and `sysctl.proc_translated` of this process",
        "whether your shell, Homebrew or other tools run translated: only this process",
    ),
    Check(
        "macOS version",
        "`sw_vers -productVersion` (`platform.mac_ver()` can get a compatibility version: 10.16 or 16.x), "
        "compared with 14.0",
        "problems of one particular macOS release; it compares version numbers only",
    ),
    Check(
        "MPS built and available",
        "`torch.backends.mps.is_built()` and `is_available()` (asked once per process, then cached); where MPS "
        "is available, the GPU's name and core count (`torch.backends.mps.get_name()`, `get_core_count()`)",
        "why MPS is unavailable when macOS is new enough (a virtual machine, a sandbox): chapter 5 lists causes",
    ),
    Check(
        "A tensor on MPS",
        "four float32 numbers created on `mps`, doubled there and copied back",
        "whether the operators your model uses have MPS kernels (chapter 4), memory limits (chapter 5), speed",
    ),
    Check(
        "CPU threads",
        "`torch.get_num_threads()`, OMP_NUM_THREADS and MKL_NUM_THREADS (MKL_NUM_THREADS wins when both are set), "
        "and macOS's `hw.perflevelN` core counts",
        "whether another thread count is faster for your work (only a measurement says), or the threads of "
        "Accelerate's matrix products, which VECLIB_MAXIMUM_THREADS limits",
    ),
    Check(
        "Environment managers",
        "the CONDA_PREFIX variable, whether a venv is active, and where the `pip` first on PATH installs",
        "your shell's aliases and functions, or which `python` your shell starts: it knows only its own",
    ),
)


def sysctl(name: str) -> str | None:
    """``sysctl -n name`` on macOS; ``None`` elsewhere, or where the key does not exist.

    A universal program (arm64 and x86_64 code in one file, as ``/usr/sbin/sysctl`` is) started by a process that
    Rosetta translates runs translated too, so ``sysctl`` answers for this process (``sysctl -n
    sysctl.proc_translated`` prints 1 under ``arch -x86_64``, volta-cli/volta#1545).
    """
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


def real_macos_version(reported: str) -> str:
    """Undo the compatibility version that macOS 26 gives programs built with an older SDK: ``"16.1"`` → ``"26.1"``.

    macOS went from 15 to 26; a program linked against an SDK older than 26 is told 16.x instead
    (python/cpython#135675), as one linked against an SDK older than 11 is told 10.16 on macOS 11 and newer (that
    one cannot be undone: it stands for any version from 11 on).
    """
    major, dot, rest = reported.partition(".")
    return f"26{dot}{rest}" if major == "16" else reported


def macos_version() -> str:
    """The macOS version, e.g. ``"26.1"``; ``""`` off macOS.

    ``platform.mac_ver()`` reports what macOS tells this Python, which can be a compatibility version (see
    :func:`real_macos_version`). ``sw_vers`` is a system tool built with the current SDK, so it is asked first, with
    ``SYSTEM_VERSION_COMPAT=0``; ``platform.mac_ver()`` is the fallback, with 16.x read as 26.x.
    """
    if sys.platform != "darwin":
        return ""
    try:
        out = subprocess.run(["sw_vers", "-productVersion"], capture_output=True, text=True, timeout=5,
                             env={**os.environ, "SYSTEM_VERSION_COMPAT": "0"})
        version = out.stdout.strip()
        if out.returncode == 0 and re.fullmatch(r"\d+(\.\d+)*", version):
            return version
    except (OSError, subprocess.TimeoutExpired):
        pass
    return real_macos_version(platform.mac_ver()[0])


def build_setting(name: str, config: str | None = None) -> str | None:
    """One ``NAME=value`` entry of torch's build settings, e.g. ``BLAS_INFO`` → ``"accelerate"`` or ``"mkl"``.

    torch has no ``torch.version.blas``; its build configuration (``torch.__config__.show()``) lists the
    settings it was compiled with.
    """
    if config is None:
        config = torch.__config__.show() if torch is not None else ""
    match = re.search(rf"\b{re.escape(name)}=([^,\s]*)", config)
    return match.group(1) if match and match.group(1) else None


@dataclass(frozen=True)
class CpuLayout:
    """The CPUs the OS reports and the threads torch uses.

    ``levels`` lists macOS's performance levels, fastest first, as (``hw.perflevelN.name``,
    ``hw.perflevelN.physicalcpu``): ``(("Performance", 8), ("Efficiency", 2))`` on an M1 Pro. It is empty
    off macOS, where ``usable`` counts the CPUs this process may run on (Linux: ``os.sched_getaffinity``).
    """

    logical: int | None
    usable: int | None
    torch_threads: int
    levels: tuple[tuple[str, int], ...] = ()
    thread_env: tuple[tuple[str, str], ...] = ()  # OMP_NUM_THREADS / MKL_NUM_THREADS where set

    @property
    def cores(self) -> int | None:
        """Cores over all performance levels (macOS), else ``None``."""
        return sum(n for _, n in self.levels) if self.levels else None

    @property
    def performance_cores(self) -> int | None:
        """Cores of the fastest level (macOS), the thread count torch picks there by default; else ``None``."""
        return self.levels[0][1] if self.levels else None


def cpu_layout() -> CpuLayout:
    """Read :class:`CpuLayout` from this OS and the installed torch."""
    levels = []
    count = sysctl("hw.nperflevels")
    for level in range(int(count) if count and count.isdigit() else 0):
        cores = sysctl(f"hw.perflevel{level}.physicalcpu")
        if cores and cores.isdigit():
            levels.append((sysctl(f"hw.perflevel{level}.name") or f"level {level}", int(cores)))
    return CpuLayout(
        logical=os.cpu_count(),
        usable=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        torch_threads=torch.get_num_threads(),
        levels=tuple(levels),
        thread_env=tuple((v, os.environ[v]) for v in THREAD_VARIABLES if os.environ.get(v)),
    )


def pip_elsewhere() -> str | None:
    """What the ``pip`` first on ``PATH`` is, when it installs into another Python than this one; else ``None``.

    ``pip --version`` names the folder it runs from and its Python (``pip 25.1 from …/site-packages/pip
    (python 3.12)``). A ``pip`` of another Python version, or one that this interpreter could not import
    (its folder is not on ``sys.path``), belongs to another environment: what it installs, this Python never
    imports.
    """
    exe = shutil.which("pip")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"^pip (\S+) from (.+) \(python ([\d.]+)\)\s*$", out.stdout, re.M)
    if not match:
        return None
    here = {Path(entry).resolve() for entry in sys.path if entry}
    same_version = match[3] == f"{sys.version_info.major}.{sys.version_info.minor}"
    if same_version and Path(match[2]).resolve().parent in here:
        return None
    return f"pip {match[1]} of a Python {match[3]}"


def _mps_usable() -> bool:
    return torch is not None and torch.backends.mps.is_built() and torch.backends.mps.is_available()


def mps_gpu() -> str | None:
    """The GPU that MPS found, e.g. ``"Apple M1 Pro, 16 GPU cores"``; ``None`` without MPS.

    ``torch.backends.mps.get_name()`` is Metal's device name and ``get_core_count()`` the ``gpu-core-count``
    that macOS reports (pytorch/pytorch#160414); builds without MPS do not have them.
    """
    if not _mps_usable():
        return None
    try:
        return f"{torch.backends.mps.get_name()}, {torch.backends.mps.get_core_count()} GPU cores"
    except (AttributeError, RuntimeError):
        return None


def mps_round_trip() -> str | None:
    """``"ok"`` when a small tensor survives a round trip on ``mps``, else the error; ``None`` without MPS."""
    if not _mps_usable():
        return None
    try:
        doubled = (torch.arange(4, dtype=torch.float32, device="mps") * 2).cpu().tolist()
    except Exception as error:  # any failure is the finding
        return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
    return "ok" if doubled == [0.0, 2.0, 4.0, 6.0] else f"wrong result {doubled}"


@dataclass(frozen=True)
class Facts:
    """What the doctor looks at. :func:`gather_facts` reads them from this machine; tests build their own."""

    system: str  # platform.system(): "Darwin", "Linux", "Windows"
    machine: str  # platform.machine() of this Python: "arm64", "x86_64", ...
    translated: bool | None  # under Rosetta 2 (macOS only)
    os_version: str  # "14.5" on macOS (macos_version()), the kernel release elsewhere
    python_version: str
    torch_version: str | None  # None: torch is not installed in this Python
    mps_built: bool
    mps_available: bool
    cuda_version: str | None  # torch.version.cuda: None for a build without CUDA
    cuda_available: bool
    blas: str | None  # BLAS_INFO from torch's build settings
    conda_prefix: str | None = None  # $CONDA_PREFIX: a conda environment is active
    in_venv: bool = False  # sys.prefix != sys.base_prefix
    cpu: CpuLayout | None = None
    mps_tensor: str | None = None  # mps_round_trip(): "ok", an error, or None when not tried
    pip_elsewhere: str | None = None  # pip_elsewhere(): the other Python's pip, or None
    gpu: str | None = None  # mps_gpu(): "Apple M1 Pro, 16 GPU cores", or None without MPS


def gather_facts() -> Facts:
    """Read :class:`Facts` from this process, this OS and the installed torch (if any)."""
    system = platform.system()
    facts = Facts(
        system=system,
        machine=platform.machine(),
        translated=is_translated(),
        os_version=macos_version() if system == "Darwin" else platform.release(),
        python_version=platform.python_version(),
        torch_version=None,
        mps_built=False,
        mps_available=False,
        cuda_version=None,
        cuda_available=False,
        blas=None,
        conda_prefix=os.environ.get("CONDA_PREFIX"),
        in_venv=sys.prefix != sys.base_prefix,
        pip_elsewhere=pip_elsewhere(),
    )
    if torch is None:
        return facts
    return replace(
        facts,
        torch_version=torch.__version__,
        mps_built=torch.backends.mps.is_built(),
        mps_available=torch.backends.mps.is_available(),
        cuda_version=torch.version.cuda,
        cuda_available=torch.cuda.is_available(),
        blas=build_setting("BLAS_INFO"),
        cpu=cpu_layout(),
        mps_tensor=mps_round_trip(),
        gpu=mps_gpu(),
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


def _thread_finding(cpu: CpuLayout) -> Finding:
    limit = cpu.usable or cpu.logical
    if limit and cpu.torch_threads > limit:
        return Finding("warn", f"torch uses {cpu.torch_threads} threads but this process may use {limit} CPUs: "
                               "threads wait for each other; lower OMP_NUM_THREADS or torch.set_num_threads")
    if cpu.thread_env:
        name, value = cpu.thread_env[-1]  # THREAD_VARIABLES order: the last one set wins
        others = ", ".join(f"{k}={v}" for k, v in cpu.thread_env[:-1])
        overrides = f" (it overrides {others})" if others else ""
        return Finding("ok", f"torch uses {cpu.torch_threads} CPU threads, as {name}={value} asks{overrides}")
    if cpu.performance_cores == cpu.torch_threads:
        return Finding("ok", f"torch uses {cpu.torch_threads} CPU threads, one per {cpu.levels[0][0]} core")
    return Finding("ok", f"torch uses {cpu.torch_threads} CPU threads")


def check(facts: Facts) -> list[Finding]:
    """Judge :class:`Facts`: every ``"fail"`` is something that stops the book from working here."""
    found: list[Finding] = []

    def ok(message: str) -> None:
        found.append(Finding("ok", message))

    def warn(message: str) -> None:
        found.append(Finding("warn", message))

    def fail(message: str) -> None:
        found.append(Finding("fail", message))

    python = _version_tuple(facts.python_version)
    if python < MIN_PYTHON:
        fail(f"Python {facts.python_version} is older than {_dotted(MIN_PYTHON)}, which the book needs")
    elif python > MAX_PYTHON:
        fail(
            f"Python {facts.python_version} is newer than {_dotted(MAX_PYTHON)}, the newest that the pinned "
            f"torch 2.14.1 has wheels for: use Python {_dotted(MIN_PYTHON)} to {_dotted(MAX_PYTHON_ALL_WHEELS)}"
        )
    elif python > MAX_PYTHON_ALL_WHEELS:
        warn(
            f"Python {facts.python_version}: torch 2.14.1 has wheels for it, but coremltools 9.0 (chapter 8) has none "
            f"newer than {_dotted(MAX_PYTHON_ALL_WHEELS)}; Python {_dotted(MIN_PYTHON)} to "
            f"{_dotted(MAX_PYTHON_ALL_WHEELS)} installs every pin"
        )
    else:
        ok(f"Python {facts.python_version}")

    if facts.torch_version is None:
        fail("torch is not installed in this Python: install the book's stack into a native Python 3.11 to 3.13 "
             "(python -m pip install -r requirements.txt -e .)")
    else:
        from mpsbook.device import MIN_TORCH, _torch_version  # device imports torch: only where a version was read

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
                f"this Python is an {facts.machine} build running under Rosetta 2 on an Apple Silicon Mac: its CPU "
                "code runs translated and PyPI has no torch newer than 2.2.2 for it; install a native arm64 Python "
                "(Miniforge3-MacOSX-arm64, python.org, Homebrew or uv) and recreate the environment"
            )
        elif facts.machine != "arm64":
            fail(f"this Mac has an {facts.machine} CPU: PyPI has no torch newer than 2.2.2 for it, and the book's "
                 "pinned environment needs Apple Silicon")
        else:
            ok("native arm64 Python")
        judge_mps = facts.torch_version is not None and facts.machine == "arm64" and not facts.translated
        compat = _version_tuple(facts.os_version) == (10, 16)  # a compatibility version: macOS 11 or newer
        old_os = not compat and _version_tuple(facts.os_version) < MIN_MACOS
        if compat:
            warn(
                "macOS reported 10.16, the compatibility version it gives programs built for macOS 10: "
                "the real version is 11 or newer; `sw_vers -productVersion` prints it"
            )
        if old_os:
            fail(
                f"macOS {facts.os_version} is older than {_dotted(MIN_MACOS)}, which MPS needs in current torch "
                "(and PyPI's current torch wheels install only on macOS 14 or newer)"
            )
        # The MPS verdicts below only make sense once torch, the architecture and the OS are right.
        if judge_mps and not facts.mps_built:
            fail(
                "this torch was built without MPS (torch.backends.mps.is_built() is False): "
                "install the arm64 wheel from PyPI or the conda-forge build"
            )
        elif judge_mps and not old_os and not facts.mps_available:
            fail(
                "MPS is built but not available: macOS is new enough, so this process cannot reach a Metal "
                "GPU (a virtual machine or a sandbox can hide it)"
            )
        elif judge_mps and not old_os and facts.mps_tensor not in (None, "ok"):
            fail(f"MPS is available but a tensor round trip on it failed: {facts.mps_tensor}")
        elif judge_mps and not old_os:
            ok(f"MPS available on macOS {facts.os_version}" + (", a tensor round trip works"
                                                              if facts.mps_tensor == "ok" else ""))
    else:
        accelerator = f"cuda (CUDA {facts.cuda_version})" if facts.cuda_available else "none: tensors run on the CPU"
        ok(f"not macOS ({facts.system} {facts.machine}): the MPS checks do not apply"
           + (f"; accelerator: {accelerator}" if facts.torch_version else ""))

    if facts.cpu is not None:
        found.append(_thread_finding(facts.cpu))

    if facts.conda_prefix and facts.in_venv:
        warn(
            "a venv is active inside a conda environment: two environment managers decide which packages load; "
            "use one of them"
        )
    if facts.pip_elsewhere:
        warn(
            f"the `pip` first on PATH ({facts.pip_elsewhere}) installs into another environment than this Python's: "
            "install with `python -m pip`, or activate this environment"
        )
    return found


def problems(findings: list[Finding]) -> list[str]:
    """The messages of the ``"fail"`` findings."""
    return [f.message for f in findings if f.level == "fail"]


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(findings: list[Finding]) -> str:
    """The report's last line: ``"No failures, no warnings."``, ``"No failures (1 warning)."``, ``"2 failures."``."""
    fails = len(problems(findings))
    warns = sum(f.level == "warn" for f in findings)
    if not fails and not warns:
        return "No failures, no warnings."
    head = _count(fails, "failure") if fails else "No failures"
    return head + (f" ({_count(warns, 'warning')})." if warns else ".")


def _cpu_line(cpu: CpuLayout | None) -> str:
    if cpu is None:
        return "not read"
    if cpu.levels:
        tiers = " + ".join(f"{n} {name}" for name, n in cpu.levels)
        return f"{cpu.cores} cores ({tiers}); torch uses {cpu.torch_threads} threads"
    usable = f", {cpu.usable} usable by this process" if cpu.usable is not None else ""
    return f"{cpu.logical} logical CPUs{usable}; torch uses {cpu.torch_threads} threads"


def render(facts: Facts, findings: list[Finding]) -> str:
    """The report ``python -m mpsbook doctor`` prints above its :func:`summary` line."""
    arch = facts.machine + (", translated by Rosetta 2" if facts.translated else "")
    lines = [
        "mpsbook doctor",
        f"  Python  : {facts.python_version} ({arch})",
        f"  OS      : {facts.system} {facts.os_version}",
        f"  PyTorch : {facts.torch_version}; MPS built {facts.mps_built}, available {facts.mps_available}; "
        f"CUDA {facts.cuda_version or 'not built'}, available {facts.cuda_available}"
        if facts.torch_version else "  PyTorch : not installed",
        f"  CPU     : {_cpu_line(facts.cpu)}",
    ]
    if facts.gpu:
        lines.append(f"  GPU     : {facts.gpu} (MPS)")
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    lines += [f"  [{marks[f.level]}] {f.message}" for f in findings]
    return "\n".join(lines)


def run_doctor(facts: Facts | None = None, *, out=None, err=None) -> int:
    """Print the report and its :func:`summary`; return 0 when nothing fails (warnings do not count), else 1
    after one line naming the first problem on ``err``."""
    out = out or sys.stdout
    err = err or sys.stderr
    facts = facts or gather_facts()
    findings = check(facts)
    print(render(facts, findings), file=out)
    print(summary(findings), file=out)
    bad = problems(findings)
    if not bad:
        return 0
    more = f" (and {len(bad) - 1} more above)" if len(bad) > 1 else ""
    print(f"mpsbook doctor: {bad[0]}{more}", file=err)
    return 1
