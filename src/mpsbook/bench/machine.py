"""Which machine ran a benchmark: its slug (the results file's name) and the provenance stored in the file.

Besides names, core counts, memory and versions, the provenance records what makes a run comparable or not: the
load average at the start and the end, the threads torch used against the cores the machine has, the float32
precision switches (on NVIDIA GPUs cuDNN may run float32 convolutions in TF32 by default), and on a Mac what
``pmset`` reports at the start and the end of the run (its CPU speed limit, power source and Low Power Mode), and
the CPU's 16-bit and matrix instructions (:func:`cpu_features`), which decide what float16 and bfloat16 cost there.
:func:`run_flags` turns those into the warnings the benchmark chapter shows beside a run (and keeps such runs out
of its crossover and peak conclusions).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
import sys
import warnings

import torch

from mpsbook.doctor import cpu_layout, sysctl
from mpsbook.provenance import cpu_model, device_name, os_name


def _clean_name(name: str) -> str:
    name = re.sub(r"\((?:R|TM|C)\)", " ", name, flags=re.I)  # Intel(R) Xeon(R) → Intel Xeon
    name = re.sub(r"\bCPU @ [\d.]+ ?GHz\b", " ", name)
    name = re.sub(r"\b\d+-Core Processor\b|\bProcessor\b", " ", name)
    return " ".join(name.split())


def machine_slug(device_type: str, name: str, cores: int | None = None) -> str:
    """The results file's stem: a lowercase slug of the device's name.

    ``("cuda", "NVIDIA H100 80GB HBM3")`` → ``nvidia-h100-80gb-hbm3``; ``("mps", "Apple M2 Pro", 19)`` →
    ``apple-m2-pro-19-core-gpu`` (Apple sells each chip with several GPU sizes); ``("cpu", "AMD EPYC", 2)``
    → ``cpu-amd-epyc-2-cores`` (the same CPU model runs in machines and VMs of many sizes).
    """
    if device_type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"Unknown device type {device_type!r}: use cpu, cuda or mps.")
    slug = re.sub(r"[^a-z0-9]+", "-", _clean_name(name).lower()).strip("-") or "unknown"
    if device_type == "cpu":
        slug = f"cpu-{slug}" + (f"-{cores}-cores" if cores else "")
    elif device_type == "mps" and cores:
        slug += f"-{cores}-core-gpu"
    return slug


def _mps_name_and_cores() -> tuple[str, int | None]:
    get_cores = getattr(torch.backends.mps, "get_core_count", None)  # torch 2.9+ (pytorch/pytorch#160414)
    return device_name(torch.device("mps")), (get_cores() if get_cores else None)


def _host_memory() -> int | None:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is pinned with the book
        return None
    return int(psutil.virtual_memory().total)


def _physical_cores() -> int | None:
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return None
    return psutil.cpu_count(logical=False)


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # Windows
        return None


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    found: dict[str, str | None] = {}
    for name in ("torchvision", "transformers", "numpy"):
        try:
            found[name] = metadata.version(name)  # without importing the package
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def precision_settings() -> dict[str, object]:
    """The switches that decide what "float32" means on an NVIDIA GPU, read from the running torch.

    ``float32_matmul_precision`` ("highest": cuBLAS float32 products without TF32), ``cuda_matmul_allow_tf32``,
    ``cudnn_allow_tf32`` (True by default: cuDNN may run float32 convolutions and RNNs on TF32 tensor cores) and,
    where this torch has them (the ``fp32_precision`` API), ``cudnn_conv_fp32_precision`` and
    ``cudnn_rnn_fp32_precision`` ("tf32" by default), and oneDNN's ``mkldnn_matmul_fp32_precision`` for CPU products
    ("none" by default: full float32), and ``cudnn_benchmark`` (False by default: cuDNN picks each convolution's
    algorithm by heuristics instead of timing the candidates; the suite leaves it so). ``None`` where this torch
    lacks a switch. They are global
    settings: they read the same without a GPU, and they change nothing on ``mps`` or ``cpu``.
    """

    def read(get: object) -> object:
        try:
            with warnings.catch_warnings():  # some releases warn about the legacy allow_tf32 switches
                warnings.simplefilter("ignore")
                return get()  # type: ignore[operator]
        except (AttributeError, RuntimeError):
            return None

    cudnn = torch.backends.cudnn
    return {
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "cuda_matmul_allow_tf32": read(lambda: bool(torch.backends.cuda.matmul.allow_tf32)),
        "cudnn_allow_tf32": read(lambda: bool(cudnn.allow_tf32)),
        "cudnn_conv_fp32_precision": read(lambda: str(cudnn.conv.fp32_precision)),
        "cudnn_rnn_fp32_precision": read(lambda: str(cudnn.rnn.fp32_precision)),
        "cudnn_benchmark": read(lambda: bool(cudnn.benchmark)),
        # oneDNN's switch for CPU float32 products: "bf16" or "tf32" would let a CPU with AMX round them
        "mkldnn_matmul_fp32_precision": read(lambda: str(torch.backends.mkldnn.matmul.fp32_precision)),
    }


def describe_device(device: torch.device) -> dict[str, object]:
    """Name, core count and memory of ``device``, each with the API that reported it."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return {
            "type": "cuda",
            "name": props.name,
            "cores": props.multi_processor_count,
            "cores_unit": "streaming multiprocessors (torch.cuda.get_device_properties)",
            "memory_bytes": int(props.total_memory),
            "memory_source": "torch.cuda.get_device_properties(device).total_memory",
            "compute_capability": f"{props.major}.{props.minor}",
        }
    if device.type == "mps":
        name, cores = _mps_name_and_cores()
        recommended = getattr(torch.mps, "recommended_max_memory", None)
        return {
            "type": "mps",
            "name": name,
            "cores": cores,
            "cores_unit": "GPU cores (torch.backends.mps.get_core_count)" if cores else None,
            "memory_bytes": int(recommended()) if recommended else None,
            "memory_source": "torch.mps.recommended_max_memory() (Metal's recommended working set)",
        }
    return {
        "type": "cpu",
        "name": cpu_model(),
        "cores": _physical_cores() or os.cpu_count(),
        "cores_unit": "physical cores (psutil.cpu_count(logical=False))",
        "memory_bytes": _host_memory(),
        "memory_source": "psutil.virtual_memory().total",
    }


#: CPU features that decide the cost of 16-bit and matrix arithmetic on the CPU. Linux: flag names of
#: ``/proc/cpuinfo`` (x86: AVX-512 BF16/FP16 and AMX; Arm: half-precision SIMD, BF16, SME). macOS: ``sysctl`` names
#: (Apple's CPUs: FEAT_FP16 from the M1, FEAT_BF16 from the M2, SME/SME2 from the M4).
LINUX_CPU_FLAGS = ("avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_fp16", "asimdhp", "bf16", "sme", "sme2")
MAC_CPU_SYSCTLS = ("hw.optional.arm.FEAT_FP16", "hw.optional.arm.FEAT_BF16", "hw.optional.arm.FEAT_SME",
                   "hw.optional.arm.FEAT_SME2")


def _sysctl_flag(name: str) -> bool | None:
    value = sysctl(name)  # None where macOS lacks the name: not known
    return None if value is None else value == "1"


def cpu_features() -> dict[str, object]:
    """The CPU's 16-bit and matrix features: ``torch_cpu_capability`` (the vector kernels torch picked, e.g.
    "AVX512"), ``features`` (each of :data:`LINUX_CPU_FLAGS` or :data:`MAC_CPU_SYSCTLS` → present, or ``None`` where
    the OS cannot say) and ``source``."""
    capability = torch.backends.cpu.get_cpu_capability()
    if sys.platform == "darwin":
        return {"torch_cpu_capability": capability, "features": {n: _sysctl_flag(n) for n in MAC_CPU_SYSCTLS},
                "source": "sysctl -n hw.optional.arm.*"}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((set(line.split(":", 1)[1].split()) for line in f
                          if line.startswith(("flags", "Features"))), None)
    except OSError:
        flags = None
    return {"torch_cpu_capability": capability,
            "features": {n: (None if flags is None else n in flags) for n in LINUX_CPU_FLAGS},
            "source": "/proc/cpuinfo"}


#: Environment variables that, set to "1", move an ``mps`` run off its defaults (PyTorch's MPS environment variables
#: page): recorded by :func:`provenance` under ``software.<key>`` and flagged by :func:`run_flags`, in this order.
MPS_ENV_FLAGS = (
    ("mps_fallback_env", "PYTORCH_ENABLE_MPS_FALLBACK",
     "an operation without an MPS kernel ran on the CPU, timed as the GPU's"),
    ("mps_prefer_metal_env", "PYTORCH_MPS_PREFER_METAL",
     "matrix products ran on PyTorch's own Metal kernels, not MPSGraph's (slower: pytorch/pytorch#198182)"),
    ("mps_fast_math_env", "PYTORCH_MPS_FAST_MATH", "MPS kernels ran with Metal's fast math, not the default"),
)


def provenance(device: torch.device) -> dict[str, object]:
    """Everything a reader needs to know about what produced a results file."""
    info = describe_device(device)
    return {
        "device": info,
        "host": {
            "cpu": cpu_model(),
            "logical_cores": os.cpu_count(),
            "physical_cores": _physical_cores(),
            "performance_cores": cpu_layout().performance_cores,  # macOS only: what torch's default uses
            "torch_threads": torch.get_num_threads(),
            "memory_bytes": _host_memory(),
            "memory_source": "psutil.virtual_memory().total",
            "os": os_name(),
            "machine": platform.machine(),
            "load_average_1min": load_average(),
            "mac_power": mac_power_state(),
            "cpu_features": cpu_features(),
        },
        "software": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
            **{key: os.environ.get(name) for key, name, _ in MPS_ENV_FLAGS},  # what moves mps off its defaults
            **precision_settings(),
            **_versions(),
        },
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def slug_for(device: torch.device) -> str:
    """:func:`machine_slug` for a ``torch.device`` of this machine."""
    info = describe_device(device)
    return machine_slug(device.type, str(info["name"]), info["cores"] if device.type != "cuda" else None)


def _pmset(*args: str) -> str | None:
    """``pmset -g ...`` output on macOS, ``None`` elsewhere or when it cannot run."""
    if sys.platform != "darwin":
        return None
    try:
        out = subprocess.run(["pmset", "-g", *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def mac_power_state() -> dict[str, object] | None:
    """On a Mac: the CPU speed limit, power source and Low Power Mode, as ``pmset`` reports them at this moment.

    ``pmset -g therm`` prints ``CPU_Speed_Limit`` (a percentage below 100 when macOS limits the *CPU* for thermal
    or power reasons; it says nothing direct about the GPU); ``pmset -g batt`` names the power source ("Now drawing
    from 'AC Power'"); ``pmset -g`` lists ``lowpowermode 1`` when Low Power Mode is on. Elsewhere ``None``. A run
    reads it at its start and again at its end (``host.mac_power`` and ``host.mac_power_end``).
    """
    therm, batt, settings = _pmset("therm"), _pmset("batt"), _pmset()
    if therm is None and batt is None and settings is None:
        return None
    limit = re.search(r"CPU_Speed_Limit\s*=\s*(\d+)", therm or "")
    source = re.search(r"drawing from '([^']+)'", batt or "")
    low_power = re.search(r"^\s*lowpowermode\s+(\d)", settings or "", re.M)
    return {
        "cpu_speed_limit_percent": int(limit[1]) if limit else None,
        "power_source": source[1] if source else None,
        "low_power_mode": bool(int(low_power[1])) if low_power else None,
        "source": "pmset -g therm / pmset -g batt / pmset -g",
    }


def _mac_flags(start: object, end: object) -> list[str]:
    """Flags from the two ``pmset`` readings of a run (either may be ``None``), each saying when it was seen."""
    seen: dict[str, list[str]] = {}  # flag -> ["at the start", "at the end"]
    for when, mac in (("at the start", start), ("at the end", end)):
        mac = mac if isinstance(mac, dict) else {}
        found = []
        if mac.get("cpu_speed_limit_percent") not in (None, 100):
            found.append(f"pmset reported a CPU speed limit of {mac['cpu_speed_limit_percent']} %")
        if mac.get("power_source") not in (None, "AC Power"):
            found.append(f"on {mac['power_source']}")
        if mac.get("low_power_mode"):
            found.append("Low Power Mode on")
        for flag in found:
            seen.setdefault(flag, []).append(when)
    return [f"{flag} ({' and '.join(whens)} of the run)" for flag, whens in seen.items()]


def run_flags(prov: dict[str, object]) -> list[str]:
    """Why a run's figures may understate the machine: an empty list for a clean run.

    A load average above the cores, fewer torch threads than torch's own default (on the CPU: the physical cores,
    or on a Mac its performance cores, ``hw.perflevel0.physicalcpu``, which torch picks there), and on a Mac a CPU
    speed limit, battery power or Low Power Mode in ``pmset``'s reading at the start *or* the end of the run, and an
    ``mps`` run with ``PYTORCH_ENABLE_MPS_FALLBACK=1`` (an operation that ``mps`` lacks then runs on the CPU inside the
    GPU's timing), or with ``PYTORCH_MPS_PREFER_METAL=1`` or ``PYTORCH_MPS_FAST_MATH=1``, which change the kernels
    ``mps`` runs from its defaults. Works on files written before these fields existed (they give no flag).
    """
    host = prov.get("host", {}) if isinstance(prov, dict) else {}
    device = prov.get("device", {}) if isinstance(prov, dict) else {}
    flags = []
    cores = host.get("logical_cores")
    loads = [host.get("load_average_1min"), host.get("load_average_1min_end")]
    worst = max((x for x in loads if isinstance(x, int | float)), default=None)
    if cores and worst is not None and worst > cores:
        flags.append(f"load average {worst:g} above the {cores} logical cores")
    # torch's default: the performance cores on a Mac (recorded there), the physical cores elsewhere
    default, kind = host.get("performance_cores"), "performance"
    if not default:
        default, kind = host.get("physical_cores") or cores, "physical"
    threads = host.get("torch_threads")
    if device.get("type") == "cpu" and default and threads and threads < default:
        flags.append(f"torch used {threads} thread(s) on {default} {kind} cores")
    flags += _mac_flags(host.get("mac_power"), host.get("mac_power_end"))
    software = prov.get("software", {}) if isinstance(prov, dict) else {}
    if device.get("type") == "mps":
        flags += [f"{name}=1: {why}" for key, name, why in MPS_ENV_FLAGS if software.get(key) == "1"]
    return flags
