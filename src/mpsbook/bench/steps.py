"""Where a training step's time goes: the device's kernels against the step's wall time, from ``torch.profiler``.

A step's wall time is the longer of two things that overlap: the host issuing its operations (Python, autograd,
PyTorch's dispatcher, the launch of each kernel) and the device running them. If the kernels fill only a small share
of the wall time, the device waited for the host and the step measures the host. ``torch.profiler`` records CUDA
kernels; it has no activity for an Apple GPU, so on ``mps`` and on the CPU only the host's side is counted (on a
Mac, Instruments' Metal System Trace shows the GPU's side). ``python -m mpsbook.bench --profile-steps`` writes a
report to ``results/checks/<machine>-steps.json``.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable, Sequence

import torch

from mpsbook.batchsize import release_memory
from mpsbook.bench.cases import COMPILE_MODES, TRAINING, _training_case
from mpsbook.bench.machine import provenance, slug_for
from mpsbook.bench.results import SCHEMA_VERSION
from mpsbook.device import synchronize

# Kineto, torch.profiler's engine, logs every start and stop to stderr (into a notebook's output) unless told not to;
# it reads this when the first profile starts
os.environ.setdefault("KINETO_LOG_LEVEL", "6")

#: The steps profiled by default: the 32×32 ResNet-50 step at a small and a large batch, eager and compiled (default
#: mode, and "reduce-overhead": CUDA graphs) at the batch ``make bench`` compiles, and the 224×224 step at batch 32
#: (49 times the work per image).
DEFAULT_STEPS: tuple[tuple[str, int, str], ...] = (
    ("train_resnet50_32", 32, "eager"), ("train_resnet50_32", 512, "eager"),
    ("train_resnet50_32", 128, "eager"), ("train_resnet50_32", 128, "compile"),
    ("train_resnet50_32", 128, "reduce-overhead"), ("train_resnet50_224", 32, "eager"),
)
MODES = ("eager", *COMPILE_MODES)


def profile_step(step: Callable[[], object], device: torch.device, steps: int = 5, repeats: int = 5,
                 warmup: int = 5) -> dict[str, float | int | None]:
    """Wall time of ``step`` (the median of ``repeats`` timings of ``steps`` steps, synchronised, profiler off); the
    host's time to issue one step from an idle device, without waiting for it (``host_s``, median of ``repeats``:
    close to the wall time, the host paces the step); then one profiled run of ``steps`` steps: operator calls
    (``aten::`` events, nested ones included) and, on CUDA, kernels and their summed time per step, and ``busy``,
    that time as a share of the wall time (None elsewhere)."""
    if steps < 1 or repeats < 1 or warmup < 0:
        raise ValueError(f"steps and repeats must be at least 1 and warmup at least 0; got {steps}, {repeats}, "
                         f"{warmup}.")
    for _ in range(warmup):  # compiles, picks kernels, fills the allocator's cache
        step()
    synchronize(device)
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        synchronize(device)
        walls.append((time.perf_counter() - start) / steps)
    hosts = []
    for _ in range(repeats):
        synchronize(device)  # the device idle: the step's calls return as soon as they are queued
        start = time.perf_counter()
        step()
        hosts.append(time.perf_counter() - start)
    synchronize(device)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with warnings.catch_warnings():
        # some releases warn that a profile keeps only its last cycle's events: this one has a single cycle
        warnings.filterwarnings("ignore", message=".*Profiler clears events")
        with torch.profiler.profile(activities=activities) as prof:
            for _ in range(steps):
                step()
            synchronize(device)
    events = prof.events()
    ops = sum(e.device_type == torch.autograd.DeviceType.CPU and e.name.startswith("aten::") for e in events)
    wall = statistics.median(walls)
    row: dict[str, float | int | None] = {
        "wall_s": wall, "wall_min_s": min(walls), "wall_max_s": max(walls), "repeats": repeats, "steps": steps,
        "host_s": statistics.median(hosts),
        "aten_calls": ops / steps, "kernels": None, "kernel_s": None, "busy": None,
    }
    if device.type == "cuda":
        kernels = [e for e in events if e.device_type == torch.autograd.DeviceType.CUDA]
        kernel_s = sum(e.device_time for e in kernels) / 1e6 / steps  # device_time is in microseconds
        row |= {"kernels": len(kernels) / steps, "kernel_s": kernel_s, "busy": kernel_s / wall}
    return row


def profile_steps(device: torch.device, which: Sequence[tuple[str, int, str]] = DEFAULT_STEPS,
                  **timing: int) -> dict[str, object]:
    """:func:`profile_step` for each (training benchmark, batch, mode) of ``which``, float32, on ``device``; a report
    with the run's provenance. A step that fails (out of memory, say) is recorded as skipped with its error."""
    rows = []
    for benchmark, batch, mode in which:
        if benchmark not in TRAINING or mode not in MODES:
            raise ValueError(f"profile a training benchmark ({', '.join(TRAINING)}) in mode {', '.join(MODES)}; "
                             f"got {benchmark!r}, {mode!r}.")
        row: dict[str, object] = {"benchmark": benchmark, "batch": batch, "mode": mode, "dtype": "float32"}
        try:
            row |= {"status": "ok", **profile_step(_training_case(benchmark, batch, "float32", mode).build(device),
                                                   device, **timing)}
        except (RuntimeError, torch.OutOfMemoryError) as err:
            row |= {"status": "skipped", "note": str(err).splitlines()[0]}
        rows.append(row)
        release_memory(device, collect=True)
    return {"schema": "mpsbook-bench-steps", "schema_version": SCHEMA_VERSION, "machine": slug_for(device),
            "provenance": provenance(device), "steps": rows}


def step_text(row: dict[str, object]) -> str:
    """One profiled step (:func:`profile_step`) in words: its wall time with the range of the timings, the host's
    time to issue it (where recorded), the operator calls, and, where the profiler saw the device's kernels, their
    time and share of the step."""
    text = (f"{1e3 * row['wall_s']:.3g} ms a step ({1e3 * row['wall_min_s']:.3g}–{1e3 * row['wall_max_s']:.3g} over"
            f" {row['repeats']} timings)")
    if row.get("host_s") is not None:  # reports written before host_s was recorded have none
        text += f", issued by the host in {1e3 * row['host_s']:.3g} ms"
    text += f", {row['aten_calls']:,.0f} aten calls"
    if row["busy"] is None:
        return text + " (torch.profiler records no kernels on this device)"
    return (text + f", {row['kernels']:,.0f} kernels taking {1e3 * row['kernel_s']:.3g} ms: the device busy"
            f" {100 * row['busy']:.0f} % of the step")


def steps_table(report: dict[str, object]) -> list[str]:
    """A steps report (:func:`profile_steps`) as lines of text, one per step (:func:`step_text`)."""
    lines = []
    for row in report["steps"]:  # type: ignore[union-attr]
        what = f"{row['benchmark']} batch {row['batch']}, {row['mode']}"
        lines.append(f"{what}: " + (step_text(row) if row["status"] == "ok" else f"skipped ({row['note']})"))
    return lines
