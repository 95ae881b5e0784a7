"""The harness checked against a bare loop: large matrix products timed by the suite and by device events.

If the suite's blocks, synchronising clock and sampling add overhead, the harness reads slower than the loop; if
its clock failed to wait for the device, it would read *faster*. So the verdict is two-sided: the ratio of the two
times must lie within ``tolerance`` of 1. The two are timed in ABBA order (harness, loop, loop, harness) and each
side averaged, so a clock that drifts steadily during the check (a GPU heating up and lowering its clock) weighs on
both alike. The check also reports the rate of a short burst after a rest and the percentage of the peak (published, or
derived from cores and clock where ``peaks.csv`` says so).
``python -m mpsbook.bench --check-matmul`` writes its report to ``results/checks/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch

from mpsbook.batchsize import release_memory
from mpsbook.bench.cases import _matmul_case, dtype_supported
from mpsbook.bench.harness import measure
from mpsbook.bench.machine import describe_device, provenance, slug_for
from mpsbook.bench.peaks import peak_for
from mpsbook.bench.results import SCHEMA_VERSION
from mpsbook.device import synchronize


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
    tolerance: float = 0.02,
) -> dict[str, object]:
    """Compare the harness with a bare event-timed loop on ``size``³ matmuls; add % of the peak.

    Each side runs twice, in ABBA order — harness, bare loop, bare loop, harness, each about ``seconds`` of
    back-to-back products — and is averaged: a linear drift of the device's speed during the check then cancels.
    ``harness_vs_bare`` is the ratio of the two averages; ``within_tolerance`` says whether it lies within
    ``tolerance`` of 1 on either side (slower: overhead; faster: a clock that did not wait for the device). A burst
    of ``burst_calls`` products, timed after the device rested ``rest_s`` seconds, shows the rate before a GPU
    lowers its clock to stay within its power limit; sustained and burst rates are both reported.
    """
    if not 0 < tolerance < 1:
        raise ValueError("tolerance is a fraction between 0 and 1, e.g. 0.02 for 2 %.")
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
        timing = {"min_run_time": seconds, "max_run_time": 5 * seconds}
        first = measure(fn, device, **timing).median  # A
        iterations = max(3, int(seconds / first))
        bare_runs = [bare_loop_seconds(fn, device, iterations) for _ in range(2)]  # B B
        harness_runs = [first, measure(fn, device, **timing).median]  # A
        harness, bare = sum(harness_runs) / 2, sum(bare_runs) / 2
        time.sleep(rest_s if device.type != "cpu" else 0.0)  # let the clock recover from the sustained runs
        burst = bare_loop_seconds(fn, device, burst_calls)
        flop = case.flop or 0.0
        row: dict[str, object] = {
            "dtype": dtype, "status": "ok", "size": size, "iterations": iterations,
            "order": "ABBA: harness, bare loop, bare loop, harness; each side averaged",
            "bare_loop_clock": _EVENT_CLOCKS.get(device.type, "time.perf_counter"),
            "harness_s": harness, "bare_loop_s": bare, "harness_runs_s": harness_runs, "bare_loop_runs_s": bare_runs,
            "harness_tflops": flop / harness / 1e12, "bare_loop_tflops": flop / bare / 1e12,
            "harness_vs_bare": harness / bare, "tolerance": tolerance,
            "within_tolerance": abs(harness / bare - 1) <= tolerance,
            "burst_calls": burst_calls, "burst_s": burst, "burst_tflops": flop / burst / 1e12,
        }
        key = f"{dtype}_tflops"
        if peak and peak.get(key):
            row["published_peak_tflops"] = peak[key]
            row["peak_basis"] = _basis(peak, dtype)
            row["percent_of_peak"] = 100 * flop / harness / 1e12 / float(peak[key])  # type: ignore[arg-type]
            row["burst_percent_of_peak"] = 100 * flop / burst / 1e12 / float(peak[key])  # type: ignore[arg-type]
        rows.append(row)
        del fn
        release_memory(device, collect=False)
    return {
        "schema": "mpsbook-bench-check", "schema_version": SCHEMA_VERSION, "machine": slug_for(device),
        "peak_source": (peak or {}).get("source_url"), "provenance": provenance(device), "checks": rows,
    }


def _basis(peak: dict[str, object], dtype: str) -> str:
    """How a peak row's figure for ``dtype`` was obtained: float32 peaks may be derived from cores × clock
    (``peaks.csv`` says which, 'derived: …'); 16-bit ones are stated."""
    return str(peak.get("float32_basis", "stated")) if dtype == "float32" else "stated"


def _peak_basis(report: dict[str, object], row: dict[str, object]) -> str:
    """A check row's :func:`_basis`; files written before rows recorded it are looked up in peaks.csv by device."""
    if "peak_basis" in row:
        return str(row["peak_basis"])
    return _basis(peak_for(report["provenance"]["device"]["name"]) or {}, str(row["dtype"]))  # type: ignore[index]


def print_check(report: dict[str, object]) -> None:
    """A check report (:func:`check_matmul`, or a file in ``results/checks/``) as lines of text, one per dtype."""
    print(f"matmul check on {report['provenance']['device']['name']} ({report['machine']})")  # type: ignore[index]
    for row in report["checks"]:  # type: ignore[union-attr]
        if row["status"] != "ok":
            print(f"  {row['dtype']:<9} skipped: {row['note']}")
            continue
        line = (
            f"  {row['dtype']:<9} {row['size']}³: harness {row['harness_tflops']:.4g} TFLOP/s, bare loop timed by "
            f"{row['bare_loop_clock']} {row['bare_loop_tflops']:.4g} TFLOP/s ({row['iterations']} calls); "
            f"harness/bare time {row['harness_vs_bare']:.3f} (ABBA), within ±{row['tolerance']:.0%} of 1:"
            f" {row['within_tolerance']}"
        )
        if "percent_of_peak" in row:
            line += (
                f"; {row['percent_of_peak']:.1f} % of the peak, {row['published_peak_tflops']:g} TFLOP/s"
                f" ({_peak_basis(report, row)}),"
                f" at least 75 %: {row['percent_of_peak'] >= 75}; a burst of {row['burst_calls']} after a rest:"
                f" {row['burst_tflops']:.4g} TFLOP/s, {row['burst_percent_of_peak']:.1f} %,"
                f" at least 75 %: {row['burst_percent_of_peak'] >= 75}"
            )
        print(line)
