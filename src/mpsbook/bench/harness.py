"""How a case is timed and run: warm-up, blocks of calls timed with a device-synchronising clock, spread-driven
sampling, memory checks, and a record per case that says why when a case is skipped or fails.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict

import torch

from mpsbook.batchsize import is_out_of_memory, release_memory
from mpsbook.bench.cases import (
    BENCHMARKS,
    BERT_SEQ_LEN,
    LSTM_SHAPE,
    SDPA_SHAPE,
    SWEEPS,
    Case,
    Sweep,
    build_cases,
    first_line,
)
from mpsbook.bench.machine import load_average, mac_power_state, provenance, run_flags, slug_for
from mpsbook.bench.results import RECORD_KEYS, SCHEMA, SCHEMA_VERSION
from mpsbook.device import synchronize

# Through timing.py, which silences the "No CUDA runtime is found" log line before torch.utils.benchmark loads.
from mpsbook.timing import Measurement, Timer


def measure(
    fn: Callable[[], object],
    device: torch.device,
    *,
    min_run_time: float,
    max_run_time: float,
    warmup: int = 1,
    min_samples: int = 3,
    block_time: float = 0.05,
    max_spread: float = 0.10,
) -> Measurement:
    """Time ``fn()`` on ``device`` with ``torch.utils.benchmark.Timer``; return per-call times.

    ``warmup`` untimed calls come first (allocation, kernel selection, graph compilation). The clock
    synchronises ``device`` before each reading, so a block of calls ends only when its kernels have
    finished. Blocks hold enough calls to last about ``block_time`` seconds, which makes the one
    synchronisation per block negligible (fast kernels are queued back to back, as in a real model).
    Blocks repeat until there are ``min_samples`` of them, ``min_run_time`` seconds have passed and the spread
    (IQR / median) is at most ``max_spread`` — or until ``max_run_time`` seconds: a call that takes longer than
    that is timed once. A noisy case thus gets more blocks, and its spread is recorded either way. Blocks are
    sized on one sizing block; if the first ``min_samples`` blocks come out under a quarter of ``block_time`` (that
    block stalled), they are sized again, once, on their median. The CPU keeps all
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
    resized = False

    def settled() -> bool:
        if len(blocks) < min_samples or spent < min_run_time:
            return False
        m = Measurement(number_per_run=number, raw_times=blocks, task_spec=first.task_spec)
        return m.iqr <= max_spread * m.median

    while not (settled() or (blocks and spent >= max_run_time)):
        blocks.append(timer.timeit(number).raw_times[0])
        spent += blocks[-1]
        if not resized and len(blocks) == min_samples:
            # One stalled sizing block makes every block short (and the spread large): size again, once, on the
            # median of the blocks timed so far, and start the blocks anew.
            typical = sorted(blocks)[len(blocks) // 2]
            if typical < block_time / 4:
                resized = True
                number = max(1, math.ceil(block_time / (typical / number)))
                blocks = []
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


def record(case: Case, status: str, note: str = "", m: Measurement | None = None) -> dict[str, object]:
    rec: dict[str, object] = {key: None for key in RECORD_KEYS}
    rec.update(
        benchmark=case.benchmark, dtype=case.dtype, size=case.size, batch=case.batch, shape=case.shape,
        mode=case.mode, status=status, note=note, flop=case.flop, bytes=case.bytes,
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
        return record(case, "skipped", case.skip_note)
    free = free_memory(device)
    if case.needs_bytes and free is not None and case.needs_bytes > 0.9 * free:
        return record(
            case, "skipped", f"needs {case.needs_bytes / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free on {device.type}"
        )
    fn, failed = None, False
    try:
        fn = case.build(device)
        compile_s = None
        if case.mode == "compile":  # the first call compiles: timed apart from the steady state
            start = time.perf_counter()
            fn()
            synchronize(device)
            compile_s = time.perf_counter() - start
        m = measure(
            fn, device, min_run_time=sweep.min_run_time, max_run_time=sweep.max_run_time, warmup=sweep.warmup,
            block_time=sweep.block_time, min_samples=sweep.min_samples, max_spread=sweep.max_spread,
        )
        rec = record(case, "ok", m=m)
        rec["compile_s"] = compile_s
        return rec
    except Exception as err:  # one failing case must not stop a half-hour suite
        failed = True
        if is_out_of_memory(err):
            return record(case, "skipped", f"out of memory: {first_line(err)}")
        return record(case, "failed", first_line(err))
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
    too_slow: dict[str, tuple[int, float]] = {}  # dtype -> the product size that took over sweep.max_call_s
    for case in bar:
        if hasattr(bar, "set_postfix_str"):
            bar.set_postfix_str(case.label(), refresh=True)
        slow = too_slow.get(str(case.dtype)) if case.benchmark == "matmul" else None
        if slow is not None and case.size is not None and case.size > slow[0]:
            results.append(record(case, "skipped", f"time cap: n = {slow[0]} took {slow[1]:.2f} s a call, over"
                                                    f" max_call_s = {sweep.max_call_s} s"))
            continue
        rec = run_case(case, device, sweep)
        results.append(rec)
        if (case.benchmark == "matmul" and sweep.max_call_s is not None and rec["status"] == "ok"
                and float(rec["median_s"]) > sweep.max_call_s):  # type: ignore[arg-type]
            too_slow[str(case.dtype)] = (int(case.size), float(rec["median_s"]))  # type: ignore[arg-type]
    prov["host"]["load_average_1min_end"] = load_average()  # type: ignore[index]
    prov["host"]["mac_power_end"] = mac_power_state()  # type: ignore[index]  # a Mac may throttle during the run
    prov["flags"] = run_flags(prov)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "machine": slug_for(device),
        "sweep": {
            **asdict(sweep),
            "benchmarks": sorted(set(only or BENCHMARKS)),
            "lstm_shape": LSTM_SHAPE,
            "bert_seq_len": BERT_SEQ_LEN,
            "sdpa_shape": SDPA_SHAPE,
            "model_dtype": "float32",
            "timing": "mpsbook.bench.harness.measure: Timer blocks of about 50 ms, device-synchronising clock, "
            "more blocks while IQR/median is above max_spread",
        },
        "provenance": prov,
        "results": results,
        "duration_s": round(time.perf_counter() - start, 1),
    }
