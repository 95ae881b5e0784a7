"""The benchmark suite behind ``make bench``: one results file per machine, with full provenance.

    PYTHONPATH=src python -m mpsbook.bench --device auto --out results     # the device, then the CPU
    PYTHONPATH=src python -m mpsbook.bench --device cpu --quick            # a small sweep, a few seconds
    PYTHONPATH=src python -m mpsbook.bench --check-matmul --device cuda    # harness vs a bare event-timed loop

The suite times matrix multiplication over a size sweep (float32, float16, bfloat16 where the device
supports them), an elementwise add over sizes (tiny sizes show the fixed cost of dispatching an op),
ResNet-50, an LSTM and BERT-base inference with random weights. Each case is warmed up, then timed
in blocks by ``torch.utils.benchmark.Timer`` with a clock that synchronises the device, so queued
kernels are counted (:func:`measure`). A case that does not fit in memory is skipped with a note, not
a crash.

Results go to ``<out>/<machine>.json`` (see :func:`machine_slug`); the benchmark chapter plots every
such file it finds. The schema is described by :data:`SCHEMA_VERSION` and checked by
:func:`validate_results`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import torch

from mpsbook.batchsize import is_out_of_memory, release_memory
from mpsbook.device import check_torch_version, resolve_device, synchronize
from mpsbook.provenance import _cpu_model, _os_name
from mpsbook.specs import fp32_tflops, gpu_configs, load_chips

# Through timing.py, which silences the "No CUDA runtime is found" log line before torch.utils.benchmark loads.
from mpsbook.timing import Measurement, Timer

SCHEMA = "mpsbook-bench"
#: Bumped whenever a field changes meaning; the chapter refuses files of another version.
SCHEMA_VERSION = 1

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
BENCHMARKS = ("matmul", "elementwise", "resnet50", "lstm", "bert")

#: The guide (section 5.2) gives only ``seq_len=512`` and ``hidden_size=512`` for its LSTM row. The rest
#: is this book's choice: one layer, input size 512 (equal to the hidden size), batch-first inputs.
LSTM_SHAPE = {"input_size": 512, "hidden_size": 512, "num_layers": 1, "seq_len": 512}
#: BERT-base as ``transformers.BertConfig()`` defines it, at the guide's sequence length.
BERT_SEQ_LEN = 128
#: ResNet-50's ImageNet input.
RESNET_IMAGE = (3, 224, 224)

#: Keys every result record carries (``None`` where a figure does not apply).
RECORD_KEYS = (
    "benchmark", "dtype", "size", "batch", "shape", "status", "note",
    "median_s", "iqr_s", "samples", "calls_per_sample", "flop", "bytes",
    "gflop_per_s", "gb_per_s", "items_per_s",
)
TOP_KEYS = ("schema", "schema_version", "machine", "sweep", "provenance", "results", "duration_s")
STATUSES = ("ok", "skipped", "failed")


@dataclass(frozen=True)
class Sweep:
    """What one run measures: sizes per benchmark, batch sizes per model, and the timing budget."""

    name: str
    matmul_sizes: dict[str, tuple[int, ...]]  # dtype name -> square sizes n (n x n @ n x n)
    elementwise_sizes: tuple[int, ...]  # numbers of float32 elements
    model_batches: dict[str, tuple[int, ...]]  # "resnet50" / "lstm" / "bert" -> batch sizes
    min_run_time: float = 0.2  # seconds of timed blocks before the spread may stop a case
    max_run_time: float = 2.0  # a case stops after this many seconds of timed blocks, stable or not
    warmup: int = 1  # untimed calls before timing
    block_time: float = 0.05  # seconds a timed block of calls should last

    def __post_init__(self) -> None:
        unknown = set(self.matmul_sizes) - set(DTYPES)
        if unknown:
            raise ValueError(f"Unknown dtype(s) {sorted(unknown)}: use {', '.join(DTYPES)}.")
        unknown = set(self.model_batches) - {"resnet50", "lstm", "bert"}
        if unknown:
            raise ValueError(f"Unknown model(s) {sorted(unknown)}: use resnet50, lstm, bert.")
        if not 0 < self.min_run_time <= self.max_run_time:
            raise ValueError("Need 0 < min_run_time <= max_run_time (seconds).")


def _powers(lo: int, hi: int, step: int = 1) -> tuple[int, ...]:
    return tuple(2**p for p in range(lo, hi + 1, step))


_MODELS_1_32 = {"resnet50": (1, 32), "lstm": (1, 32), "bert": (1, 32)}

#: ``full`` runs on accelerators; ``cpu`` is the reduced sweep for the CPU part of a run (a float16
#: matmul on a CPU without half-precision arithmetic instructions can take over a minute at 2048);
#: ``quick`` is for tests and small machines.
SWEEPS: dict[str, Sweep] = {
    "full": Sweep(
        "full",
        matmul_sizes={d: _powers(6, 13) for d in DTYPES},  # 64 … 8192
        elementwise_sizes=_powers(10, 28, 2),  # 1 Ki … 256 Mi elements (1 GiB a tensor)
        model_batches=_MODELS_1_32,
    ),
    "cpu": Sweep(
        "cpu",
        matmul_sizes={"float32": _powers(6, 12), "bfloat16": _powers(6, 11), "float16": _powers(6, 9)},
        elementwise_sizes=_powers(10, 26, 2),  # 1 Ki … 64 Mi elements
        model_batches=_MODELS_1_32,
        max_run_time=1.5,
    ),
    "quick": Sweep(
        "quick",
        matmul_sizes={d: _powers(6, 8) for d in DTYPES},  # 64, 128, 256
        elementwise_sizes=_powers(10, 16, 2),
        model_batches={"resnet50": (1,), "lstm": (1,), "bert": (1,)},
        min_run_time=0.05,
        max_run_time=0.5,
    ),
}


# --------------------------------------------------------------------------------------------------
# Machines: names, slugs, provenance


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
    get_name = getattr(torch.backends.mps, "get_name", None)  # torch 2.8+
    get_cores = getattr(torch.backends.mps, "get_core_count", None)  # torch 2.9+ (pytorch/pytorch#160414)
    return (get_name() if get_name else _cpu_model()), (get_cores() if get_cores else None)


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


def _load_average() -> float | None:
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
        "name": _cpu_model(),
        "cores": _physical_cores() or os.cpu_count(),
        "cores_unit": "physical cores (psutil.cpu_count(logical=False))",
        "memory_bytes": _host_memory(),
        "memory_source": "psutil.virtual_memory().total",
    }


def provenance(device: torch.device) -> dict[str, object]:
    """Everything a reader needs to know about what produced a results file."""
    info = describe_device(device)
    return {
        "device": info,
        "host": {
            "cpu": _cpu_model(),
            "logical_cores": os.cpu_count(),
            "physical_cores": _physical_cores(),
            "torch_threads": torch.get_num_threads(),
            "memory_bytes": _host_memory(),
            "memory_source": "psutil.virtual_memory().total",
            "os": _os_name(),
            "machine": platform.machine(),
            "load_average_1min": _load_average(),
        },
        "software": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            **_versions(),
        },
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def slug_for(device: torch.device) -> str:
    """:func:`machine_slug` for a ``torch.device`` of this machine."""
    info = describe_device(device)
    return machine_slug(device.type, str(info["name"]), info["cores"] if device.type != "cuda" else None)


# --------------------------------------------------------------------------------------------------
# Timing, memory and failures


def measure(
    fn: Callable[[], object],
    device: torch.device,
    *,
    min_run_time: float,
    max_run_time: float,
    warmup: int = 1,
    min_samples: int = 3,
    block_time: float = 0.05,
) -> Measurement:
    """Time ``fn()`` on ``device`` with ``torch.utils.benchmark.Timer``; return per-call times.

    ``warmup`` untimed calls come first (allocation, kernel selection, graph compilation). The clock
    synchronises ``device`` before each reading, so a block of calls ends only when its kernels have
    finished. Blocks hold enough calls to last about ``block_time`` seconds, which makes the one
    synchronisation per block negligible (fast kernels are queued back to back, as in a real model).
    Blocks repeat until there are ``min_samples`` of them and ``min_run_time`` seconds have passed, or
    until ``max_run_time`` seconds: a call that takes longer than that is timed once. The CPU keeps all
    of torch's threads (``Timer`` would use one). (:func:`mpsbook.time_callable` uses
    ``blocked_autorange``, which has neither a cap nor a minimum number of samples.)
    """
    if not 0 < min_run_time <= max_run_time:
        raise ValueError("Need 0 < min_run_time <= max_run_time (seconds).")
    for _ in range(warmup):
        fn()
    synchronize(device)

    def clock() -> float:
        synchronize(device)
        return time.perf_counter()

    timer = Timer(stmt="fn()", globals={"fn": fn}, timer=clock, num_threads=torch.get_num_threads())
    number, first = 1, timer.timeit(1)
    spent = first.raw_times[0]
    while first.raw_times[0] < block_time / 10:  # size the blocks on a block of at least block_time / 10
        number *= 10
        first = timer.timeit(number)
        spent += first.raw_times[0]
    per_call = first.raw_times[0] / number
    number = max(1, math.ceil(block_time / per_call)) if per_call < block_time else 1
    blocks = [first.raw_times[0]] if first.number_per_run == number else []
    while not ((len(blocks) >= min_samples and spent >= min_run_time) or (blocks and spent >= max_run_time)):
        blocks.append(timer.timeit(number).raw_times[0])
        spent += blocks[-1]
    return Measurement(number_per_run=number, raw_times=blocks, task_spec=first.task_spec)


def free_memory(device: torch.device) -> int | None:
    """Bytes the device can still allocate, as its own API reports (``None`` if it cannot tell)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "mps":
        limit = getattr(torch.mps, "recommended_max_memory", None)
        used = getattr(torch.mps, "current_allocated_memory", None)
        return int(limit() - used()) if limit and used else None
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return None
    return int(psutil.virtual_memory().available)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


# --------------------------------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    """One measurement: ``build(device)`` allocates and returns the zero-argument callable to time."""

    benchmark: str
    build: Callable[[torch.device], Callable[[], object]]
    dtype: str = "float32"
    size: int | None = None
    batch: int | None = None
    shape: str = ""
    flop: float | None = None  # floating-point operations per call
    bytes: int | None = None  # bytes one call must read and write at least
    needs_bytes: int | None = None  # memory to check before allocating
    skip_note: str | None = None  # set when the case is known not to run here
    extra: dict[str, object] = field(default_factory=dict)

    def label(self) -> str:
        what = f"{self.benchmark} {self.dtype}"
        if self.size is not None:
            what += f" {self.size}"
        if self.batch is not None:
            what += f" batch {self.batch}"
        return what


def _matmul_case(n: int, dtype: str) -> Case:
    torch_dtype = DTYPES[dtype]
    itemsize = torch.empty((), dtype=torch_dtype).element_size()

    def build(device: torch.device) -> Callable[[], object]:
        a = torch.randn(n, n, device=device, dtype=torch_dtype)
        b = torch.randn(n, n, device=device, dtype=torch_dtype)
        out = torch.empty(n, n, device=device, dtype=torch_dtype)
        return lambda: torch.mm(a, b, out=out)

    return Case(
        "matmul", build, dtype=dtype, size=n, shape=f"({n}, {n}) @ ({n}, {n})",
        flop=2.0 * n**3, bytes=3 * n * n * itemsize, needs_bytes=3 * n * n * itemsize,
    )


def _elementwise_case(n: int) -> Case:
    def build(device: torch.device) -> Callable[[], object]:
        a = torch.rand(n, device=device)
        b = torch.rand(n, device=device)
        out = torch.empty(n, device=device)
        return lambda: torch.add(a, b, out=out)

    return Case(
        "elementwise", build, size=n, shape=f"add of two ({n},) float32 tensors",
        flop=float(n), bytes=3 * n * 4, needs_bytes=3 * n * 4,
    )


def model_flop(benchmark: str, batch: int) -> float:
    """Floating-point operations of one forward pass: matmuls and convolutions, not elementwise ops.

    ResNet-50 and BERT are counted by ``torch.utils.flop_counter.FlopCounterMode`` on the ``meta``
    device (no memory, under a second). The LSTM's count is its gate matmuls, 2 × 4 gates × hidden ×
    (input + hidden) per token and layer: what the counter finds too, but it needs seconds to trace
    512 time steps.
    """
    from torch.utils.flop_counter import FlopCounterMode

    if benchmark == "lstm":
        s = LSTM_SHAPE
        return 2.0 * 4 * s["hidden_size"] * (s["input_size"] + s["hidden_size"]) * s["seq_len"] * batch * s[
            "num_layers"]

    model, inputs = _make_model(benchmark, torch.device("meta"), batch)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(**inputs) if isinstance(inputs, dict) else model(inputs)
    return float(counter.get_total_flops())


def _make_model(benchmark: str, device: torch.device, batch: int) -> tuple[torch.nn.Module, object]:
    """Model with random weights in eval mode, and its input, on ``device``."""
    with torch.device(device):
        if benchmark == "resnet50":
            import torchvision

            return torchvision.models.resnet50(weights=None).eval(), torch.randn(batch, *RESNET_IMAGE)
        if benchmark == "lstm":
            lstm = torch.nn.LSTM(
                LSTM_SHAPE["input_size"], LSTM_SHAPE["hidden_size"], num_layers=LSTM_SHAPE["num_layers"],
                batch_first=True,
            ).eval()
            return lstm, torch.randn(batch, LSTM_SHAPE["seq_len"], LSTM_SHAPE["input_size"])
        if benchmark == "bert":
            from transformers import BertConfig, BertModel

            config = BertConfig()
            model = BertModel(config).eval()
            ids = torch.randint(0, config.vocab_size, (batch, BERT_SEQ_LEN))
            return model, {"input_ids": ids}
    raise ValueError(f"Unknown model {benchmark!r}: use resnet50, lstm or bert.")


_SHAPES = {
    "resnet50": lambda b: f"torchvision resnet50(weights=None), input ({b}, 3, 224, 224)",
    "lstm": lambda b: (
        f"nn.LSTM({LSTM_SHAPE['input_size']}, {LSTM_SHAPE['hidden_size']}, num_layers={LSTM_SHAPE['num_layers']},"
        f" batch_first=True), input ({b}, {LSTM_SHAPE['seq_len']}, {LSTM_SHAPE['input_size']})"
    ),
    "bert": lambda b: f"transformers BertModel(BertConfig()), input_ids ({b}, {BERT_SEQ_LEN})",
}


def _model_case(benchmark: str, batch: int) -> Case:
    def build(device: torch.device) -> Callable[[], object]:
        model, inputs = _make_model(benchmark, device, batch)

        def run() -> object:
            with torch.inference_mode():
                return model(**inputs) if isinstance(inputs, dict) else model(inputs)

        return run

    note = None
    try:
        flop = model_flop(benchmark, batch)
    except ImportError as err:  # transformers or torchvision missing
        flop, note = None, f"not installed: {err.name}"
    return Case(benchmark, build, batch=batch, shape=_SHAPES[benchmark](batch), flop=flop, skip_note=note)


def dtype_supported(device: torch.device, dtype: str) -> tuple[bool, str]:
    """Try a small matmul in ``dtype`` on ``device``: (works, why not)."""
    try:
        a = torch.ones(16, 16, device=device, dtype=DTYPES[dtype])
        float((a @ a).sum())
    except (RuntimeError, TypeError, NotImplementedError) as err:
        return False, f"{dtype} matmul not supported on {device.type}: {_first_line(err)}"
    return True, ""


def build_cases(sweep: Sweep, device: torch.device, only: Iterable[str] | None = None) -> list[Case]:
    """The cases of ``sweep`` in run order, limited to the benchmarks in ``only``."""
    wanted = set(only or BENCHMARKS)
    unknown = wanted - set(BENCHMARKS)
    if unknown:
        raise ValueError(f"Unknown benchmark(s) {sorted(unknown)}: use {', '.join(BENCHMARKS)}.")
    cases: list[Case] = []
    if "matmul" in wanted:
        for dtype, sizes in sweep.matmul_sizes.items():
            ok, why = dtype_supported(device, dtype)
            for n in sizes:
                case = _matmul_case(n, dtype)
                case.skip_note = None if ok else why
                cases.append(case)
    if "elementwise" in wanted:
        cases += [_elementwise_case(n) for n in sweep.elementwise_sizes]
    for benchmark in ("resnet50", "lstm", "bert"):
        if benchmark in wanted:
            cases += [_model_case(benchmark, b) for b in sweep.model_batches.get(benchmark, ())]
    return cases


def _record(case: Case, status: str, note: str = "", m: Measurement | None = None) -> dict[str, object]:
    rec: dict[str, object] = {key: None for key in RECORD_KEYS}
    rec.update(
        benchmark=case.benchmark, dtype=case.dtype, size=case.size, batch=case.batch, shape=case.shape,
        status=status, note=note, flop=case.flop, bytes=case.bytes,
    )
    if m is not None:
        median = m.median
        rec.update(median_s=median, iqr_s=m.iqr, samples=len(m.times), calls_per_sample=m.number_per_run)
        if case.flop:
            rec["gflop_per_s"] = case.flop / median / 1e9
        if case.bytes:
            rec["gb_per_s"] = case.bytes / median / 1e9
        if case.batch:
            rec["items_per_s"] = case.batch / median
    rec.update(case.extra)
    return rec


def run_case(case: Case, device: torch.device, sweep: Sweep) -> dict[str, object]:
    """Measure one case; a case that does not fit, or fails, becomes a record that says why."""
    if case.skip_note:
        return _record(case, "skipped", case.skip_note)
    free = free_memory(device)
    if case.needs_bytes and free is not None and case.needs_bytes > 0.9 * free:
        return _record(
            case, "skipped", f"needs {case.needs_bytes / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free on {device.type}"
        )
    fn, failed = None, False
    try:
        fn = case.build(device)
        m = measure(
            fn, device, min_run_time=sweep.min_run_time, max_run_time=sweep.max_run_time, warmup=sweep.warmup,
            block_time=sweep.block_time,
        )
        return _record(case, "ok", m=m)
    except Exception as err:  # one failing case must not stop a half-hour suite
        failed = True
        if is_out_of_memory(err):
            return _record(case, "skipped", f"out of memory: {_first_line(err)}")
        return _record(case, "failed", _first_line(err))
    finally:
        del fn
        release_memory(device, collect=failed)  # collect after an exception: its traceback holds tensors


def _progress(cases: Sequence[Case], desc: str, enabled: bool):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with transformers and huggingface_hub
        return cases
    return tqdm(cases, desc=desc, unit="case", disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def run_suite(
    device: torch.device | str,
    sweep: Sweep | str = "full",
    *,
    only: Iterable[str] | None = None,
    progress: bool = True,
) -> dict[str, object]:
    """Run ``sweep`` on ``device``; return the results document (see :data:`TOP_KEYS`)."""
    device = torch.device(device)
    sweep = SWEEPS[sweep] if isinstance(sweep, str) else sweep
    start = time.perf_counter()
    prov = provenance(device)
    cases = build_cases(sweep, device, only)
    bar = _progress(cases, f"{slug_for(device)} ({sweep.name} sweep)", progress)
    results = []
    for case in bar:
        if hasattr(bar, "set_postfix_str"):
            bar.set_postfix_str(case.label(), refresh=True)
        results.append(run_case(case, device, sweep))
    prov["host"]["load_average_1min_end"] = _load_average()  # type: ignore[index]
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "machine": slug_for(device),
        "sweep": {
            **asdict(sweep),
            "benchmarks": sorted(set(only or BENCHMARKS)),
            "lstm_shape": LSTM_SHAPE,
            "bert_seq_len": BERT_SEQ_LEN,
            "model_dtype": "float32",
            "timing": "mpsbook.bench.measure: Timer blocks of about 50 ms, device-synchronising clock",
        },
        "provenance": prov,
        "results": results,
        "duration_s": round(time.perf_counter() - start, 1),
    }


# --------------------------------------------------------------------------------------------------
# Files


def validate_results(doc: object) -> list[str]:
    """Problems with a results document; an empty list means it follows the schema."""
    if not isinstance(doc, dict):
        return ["not a JSON object"]
    problems = [f"missing key {key!r}" for key in TOP_KEYS if key not in doc]
    if problems:
        return problems
    if doc["schema"] != SCHEMA:
        problems.append(f"schema is {doc['schema']!r}, expected {SCHEMA!r}")
    if doc["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version is {doc['schema_version']!r}, this code reads {SCHEMA_VERSION}")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", str(doc["machine"])):
        problems.append(f"machine {doc['machine']!r} is not a slug")
    prov = doc["provenance"]
    for path in ("device.type", "device.name", "device.memory_bytes", "host.cpu", "host.os", "software.python",
                 "software.torch", "date_utc"):
        node = prov
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None and path != "device.memory_bytes":
            problems.append(f"provenance.{path} missing")
    if not isinstance(doc["results"], list) or not doc["results"]:
        return [*problems, "results is not a non-empty list"]
    for i, rec in enumerate(doc["results"]):
        missing = [key for key in RECORD_KEYS if key not in rec]
        if missing:
            problems.append(f"results[{i}] lacks {missing}")
            continue
        if rec["benchmark"] not in BENCHMARKS or rec["status"] not in STATUSES:
            problems.append(f"results[{i}] has benchmark {rec['benchmark']!r}, status {rec['status']!r}")
        if rec["status"] == "ok" and not (isinstance(rec["median_s"], float) and rec["median_s"] > 0):
            problems.append(f"results[{i}] is ok but has no positive median_s")
        if rec["status"] != "ok" and not rec["note"]:
            problems.append(f"results[{i}] is {rec['status']} without a note")
    return problems


def write_results(doc: dict[str, object], out: Path | str) -> Path:
    """Write ``doc`` to ``<out>/<machine>.json`` (after checking it) and return the path."""
    problems = validate_results(doc)
    if problems:
        raise ValueError(f"Refusing to write an invalid results file: {problems[0]}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{doc['machine']}.json"
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return path


def load_results(directory: Path | str) -> dict[str, dict[str, object]]:
    """Every ``*.json`` results file in ``directory``, by machine slug; raises on an invalid one."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"No results directory {directory}: run `make bench` first.")
    docs = {}
    for path in sorted(directory.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        problems = validate_results(doc)
        if problems:
            raise ValueError(f"{path.name}: {problems[0]}")
        docs[str(doc["machine"])] = doc
    return docs


# --------------------------------------------------------------------------------------------------
# Published peaks


def published_peaks() -> list[dict[str, object]]:
    """Published peak figures per chip: ``float32_tflops``, ``float16_tflops``, ``bfloat16_tflops``,
    ``memory_bandwidth_gbs`` (``None`` where no source states one), with a source for each row.

    Apple's chips and the H100's float32 and bandwidth come from ``chips.csv`` (``mpsbook.specs``); for an Apple chip
    the row is its top GPU configuration and also carries ``gpu_cores``, ``gpu_clock_mhz``, ``other_gpu_configs`` and
    ``float32_tflops_derived`` (cores × 128 × 2 × clock; :func:`peak_for` uses it where Apple states no figure).
    ``peaks.csv`` adds the H100's dense tensor-core figures, the H100 PCIe and the guide's RTX 3080.
    """
    rows: dict[str, dict[str, object]] = {}
    for chip in load_chips():
        rows[str(chip["chip"])] = {
            "chip": chip["chip"], "match": str(chip["chip"]), "float32_tflops": chip["gpu_fp32_tflops"],
            "float16_tflops": None, "bfloat16_tflops": None, "memory_bandwidth_gbs": chip["memory_bandwidth_gbs"],
            "source_url": chip["source_url"], "source_title": chip["source_title"],
        }
        if chip["gpu_cores"] is not None:
            rows[str(chip["chip"])].update({
                key: chip[key] for key in ("gpu_cores", "gpu_clock_mhz", "other_gpu_configs", "gpu_clock_source_url")
            }, float32_tflops_derived=chip["gpu_fp32_tflops_derived"])
    text = resources.files("mpsbook").joinpath("data/peaks.csv").read_text(encoding="utf-8")
    for raw in csv.DictReader(text.splitlines()):
        row = rows.setdefault(raw["chip"], {"chip": raw["chip"]})
        for key in ("float32_tflops", "float16_tflops", "bfloat16_tflops", "memory_bandwidth_gbs"):
            if raw[key]:
                value = float(raw[key])
                if row.get(key) not in (None, value):
                    raise ValueError(f"peaks.csv and chips.csv disagree on {raw['chip']} {key}")
                row[key] = value
            row.setdefault(key, None)
        row["match"] = raw["match"]
        for key in ("source_url", "source_title"):
            row.setdefault(key, raw[key])
        if row["source_url"] != raw["source_url"]:
            row["source_url_2"], row["source_title_2"] = raw["source_url"], raw["source_title"]
    return list(rows.values())


def _apple_configuration(row: dict[str, object], gpu_cores: int | None) -> dict[str, object] | None:
    configs = gpu_configs(row)
    if gpu_cores is None:
        if len(configs) != 1:
            return None  # sold with several GPU-core counts: the peak would be a guess
        gpu_cores = next(iter(configs))
    cores = int(gpu_cores)
    if cores < 1:
        raise ValueError(f"gpu_cores must be a positive whole number; got {gpu_cores!r}.")
    clock = row.get("gpu_clock_mhz")
    derived = round(fp32_tflops(cores, float(clock)), 3) if clock else None  # type: ignore[arg-type]
    stated = row["float32_tflops"] if cores == row["gpu_cores"] else None  # Apple's figure is for the top config
    basis = "stated" if stated is not None else f"derived: {cores} cores x 128 x 2 x {clock:g} MHz" if derived else None
    return {
        **row, "configuration": f"{row['chip']} ({cores}-core GPU)", "gpu_cores": cores,
        "gpu_config_listed": cores in configs, "float32_tflops": stated if stated is not None else derived,
        "float32_basis": basis, "float32_tflops_derived": derived, "memory_bandwidth_gbs": configs.get(cores),
    }


def peak_for(device_name: str, gpu_cores: int | None = None) -> dict[str, object] | None:
    """The :func:`published_peaks` row for a device name (``torch.cuda.get_device_name`` or Apple's chip
    name), or ``None`` when no row matches (a CPU, or a GPU the table does not list).

    An Apple chip matches on its exact name *and* its GPU-core count (``torch.backends.mps.get_core_count()``): a
    7-core M1 is not an 8-core M1. Its ``float32_tflops`` is Apple's figure where Apple states one for that core
    count, else derived (cores × 128 × 2 × clock; ``float32_basis`` says which), and ``memory_bandwidth_gbs`` is the
    figure stated for that configuration. Without ``gpu_cores`` an Apple chip sold with several GPU-core counts
    matches nothing. NVIDIA names match as substrings (``"NVIDIA H100 80GB HBM3"``); ``gpu_cores`` is ignored.
    """
    for row in published_peaks():
        patterns = str(row["match"]).split("|")
        if row.get("gpu_cores") is not None:  # an Apple chip
            if device_name in patterns:
                return _apple_configuration(row, gpu_cores)
        elif any(p == device_name or (p in device_name and not p.startswith("Apple")) for p in patterns):
            return row
    return None


# --------------------------------------------------------------------------------------------------
# Harness check: the suite's timing against a bare loop timed by device events


def bare_loop_seconds(fn: Callable[[], object], device: torch.device, iterations: int, warmup: int = 3) -> float:
    """Seconds per call of ``fn`` over ``iterations`` back-to-back calls, timed by CUDA or MPS events
    (``time.perf_counter`` on the CPU), after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    if device.type in ("cuda", "mps"):
        events = torch.cuda.Event if device.type == "cuda" else torch.mps.Event
        start, end = events(enable_timing=True), events(enable_timing=True)
        start.record()
        for _ in range(iterations):
            fn()
        end.record()
        # Wait on the device, not the event: on MPS, event.synchronize() then elapsed_time() can hang
        # (pytorch/pytorch#162872).
        synchronize(device)
        return start.elapsed_time(end) / 1e3 / iterations
    t0 = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - t0) / iterations


_EVENT_CLOCKS = {"cuda": "torch.cuda.Event", "mps": "torch.mps.Event"}


def check_matmul(
    device: torch.device,
    size: int = 8192,
    dtypes: Sequence[str] = ("float32", "bfloat16"),
    seconds: float = 1.0,
    burst_calls: int = 10,
    rest_s: float = 5.0,
) -> dict[str, object]:
    """Compare the harness with a bare event-timed loop on ``size``³ matmuls; add % of published peak.

    The harness and the bare loop both time sustained runs (about a second of back-to-back products), during which
    a GPU may lower its clock to stay within its power limit. A burst of ``burst_calls`` products, timed after the
    device rested ``rest_s`` seconds, shows the rate before that happens; both are reported.
    """
    info = describe_device(device)
    name = str(info["name"])
    cores = info["cores"] if device.type == "mps" else None  # an Apple GPU's peak depends on its core count
    peak = peak_for(name, gpu_cores=cores) if device.type != "cpu" else None  # type: ignore[arg-type]
    rows = []
    for dtype in dtypes:
        ok, why = dtype_supported(device, dtype)
        if not ok:
            rows.append({"dtype": dtype, "status": "skipped", "note": why})
            continue
        case = _matmul_case(size, dtype)
        fn = case.build(device)
        harness = measure(fn, device, min_run_time=1.0, max_run_time=5.0).median
        iterations = max(3, int(seconds / harness))
        bare = bare_loop_seconds(fn, device, iterations)
        time.sleep(rest_s if device.type != "cpu" else 0.0)  # let the clock recover from the sustained runs
        burst = bare_loop_seconds(fn, device, burst_calls)
        flop = case.flop or 0.0
        row: dict[str, object] = {
            "dtype": dtype, "status": "ok", "size": size, "iterations": iterations,
            "bare_loop_clock": _EVENT_CLOCKS.get(device.type, "time.perf_counter"),
            "harness_s": harness, "bare_loop_s": bare,
            "harness_tflops": flop / harness / 1e12, "bare_loop_tflops": flop / bare / 1e12,
            "harness_vs_bare": harness / bare, "within_10_percent": abs(harness / bare - 1) <= 0.10,
            "burst_calls": burst_calls, "burst_s": burst, "burst_tflops": flop / burst / 1e12,
        }
        key = f"{dtype}_tflops"
        if peak and peak.get(key):
            row["published_peak_tflops"] = peak[key]
            row["percent_of_peak"] = 100 * flop / harness / 1e12 / float(peak[key])  # type: ignore[arg-type]
            row["burst_percent_of_peak"] = 100 * flop / burst / 1e12 / float(peak[key])  # type: ignore[arg-type]
        rows.append(row)
        del fn
        release_memory(device, collect=False)
    return {
        "schema": "mpsbook-bench-check", "schema_version": SCHEMA_VERSION, "machine": slug_for(device),
        "peak_source": (peak or {}).get("source_url"), "provenance": provenance(device), "checks": rows,
    }


def _print_check(report: dict[str, object]) -> None:
    print(f"matmul check on {report['provenance']['device']['name']} ({report['machine']})")  # type: ignore[index]
    for row in report["checks"]:  # type: ignore[union-attr]
        if row["status"] != "ok":
            print(f"  {row['dtype']:<9} skipped: {row['note']}")
            continue
        line = (
            f"  {row['dtype']:<9} {row['size']}³: harness {row['harness_tflops']:.4g} TFLOP/s, bare loop timed by "
            f"{row['bare_loop_clock']} {row['bare_loop_tflops']:.4g} TFLOP/s ({row['iterations']} calls); "
            f"harness/bare time {row['harness_vs_bare']:.3f}, within 10 %: {row['within_10_percent']}"
        )
        if "percent_of_peak" in row:
            line += (
                f"; {row['percent_of_peak']:.1f} % of the published {row['published_peak_tflops']:g} TFLOP/s,"
                f" at least 75 %: {row['percent_of_peak'] >= 75}; a burst of {row['burst_calls']} after a rest:"
                f" {row['burst_tflops']:.4g} TFLOP/s, {row['burst_percent_of_peak']:.1f} %,"
                f" at least 75 %: {row['burst_percent_of_peak'] >= 75}"
            )
        print(line)


# --------------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mpsbook.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto", help="auto (mps, then cuda, then cpu), mps, cuda or cpu")
    parser.add_argument("--out", default="results", type=Path, help="directory for <machine>.json (default results)")
    parser.add_argument("--quick", action="store_true", help="the small sweep (about a minute)")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU baseline after an accelerator")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch.set_num_threads(N) for the whole run (default: torch's choice)")
    parser.add_argument("--check-matmul", action="store_true",
                        help="compare the harness with a bare event-timed loop on large matmuls, then stop")
    parser.add_argument("--check-size", type=int, default=8192, help="matrix size for --check-matmul (8192)")
    args = parser.parse_args(argv)
    check_torch_version()
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        parser.error(str(err))
    if args.check_matmul:
        report = check_matmul(device, size=args.check_size)
        _print_check(report)
        path = args.out / "checks" / f"{report['machine']}-matmul.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path}")
        return 0
    if args.threads < 0:
        parser.error(f"--threads must be a positive number of threads, got {args.threads}")
    if args.threads:
        torch.set_num_threads(args.threads)  # recorded as provenance.host.torch_threads
    only = [b.strip() for b in args.only.split(",") if b.strip()] or None
    runs = [device] if device.type == "cpu" or args.no_cpu else [device, torch.device("cpu")]
    cpu_slug = slug_for(torch.device("cpu")) if torch.device("cpu") in runs else None
    for target in runs:
        sweep = "quick" if args.quick else ("cpu" if target.type == "cpu" else "full")
        doc = run_suite(target, sweep, only=only, progress=not args.no_progress)
        if target.type != "cpu":
            doc["cpu_baseline"] = cpu_slug  # the CPU file written by the same run, for crossover plots
        path = write_results(doc, args.out)
        skipped = sum(r["status"] != "ok" for r in doc["results"])  # type: ignore[union-attr]
        print(f"wrote {path}: {len(doc['results'])} cases, {skipped} skipped or failed, {doc['duration_s']} s")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
