"""Chapter 10's live sweeps: time one call at several sizes on the page's device, in a few seconds.

The chapter shows *what* it times (a product, an add); this module holds the loop, which times the lines of a
sweep in turn size by size after warming the device up, and the checks of the chapter's parameters, so that a bad
parameter stops with one sentence.

    from mpsbook.bench import live
    live.check_parameters(guide_size=None, sweep_sizes=[64, 128], sweep_sizes_accelerator=[2048],
                          sweep_min_run_time=0.1, sweep_half=["float16"])
    n = live.guide_matrix_size(None, device)  # the guide's 4096 on an accelerator, 1024 on a CPU
    live.warm_up(device, the_call_at_the_largest_size, seconds=1.0)
    timed = live.time_interleaved({"mps": (device, make_call, [64, 128]), "cpu": (cpu, make_call_cpu, [64, 128])},
                                  "n", min_run_time=0.1)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import torch

from mpsbook.device import synchronize
from mpsbook.timing import time_callable

HALF_DTYPES = ("float16", "bfloat16")
#: The widest hidden layer the live training step accepts: a bound that stops a typo (163840) before it fills memory.
MAX_MLP_WIDTH = 16384
#: The sizes a live matrix-product sweep accepts: big enough to time, small enough for a laptop's memory.
SIZE_RANGE = (16, 8192)


def _sizes_ok(sizes: object) -> bool:
    low, high = SIZE_RANGE
    return isinstance(sizes, list | tuple) and all(
        isinstance(n, int) and not isinstance(n, bool) and low <= n <= high for n in sizes)


def check_parameters(guide_size: object, sweep_sizes: object, sweep_sizes_accelerator: object,
                     sweep_min_run_time: object, sweep_half: object, mlp_widths: object = (32, 256, 2048)) -> None:
    """Raise ``ValueError`` with one sentence naming what is accepted, for the first of chapter 10's parameters
    that is out of range; return quietly when all are fine."""
    low, high = SIZE_RANGE
    if not (guide_size is None
            or (isinstance(guide_size, int) and not isinstance(guide_size, bool) and 64 <= guide_size <= high)):
        raise ValueError(f"guide_size must be None or a whole number from 64 to {high}; got {guide_size!r}.")
    if not (sweep_sizes and _sizes_ok(sweep_sizes) and _sizes_ok(sweep_sizes_accelerator)):
        raise ValueError(f"sweep_sizes (at least one) and sweep_sizes_accelerator must be lists of whole numbers from"
                         f" {low} to {high}; got {sweep_sizes!r} and {sweep_sizes_accelerator!r}.")
    if not (isinstance(sweep_min_run_time, int | float) and not isinstance(sweep_min_run_time, bool)
            and 0.01 <= sweep_min_run_time <= 5):
        raise ValueError(f"sweep_min_run_time must be a number of seconds from 0.01 to 5; got {sweep_min_run_time!r}.")
    if not (isinstance(sweep_half, list | tuple) and set(sweep_half) <= set(HALF_DTYPES)):
        raise ValueError(f"sweep_half must be a list of 'float16' and/or 'bfloat16'; got {sweep_half!r}.")
    if not (mlp_widths and isinstance(mlp_widths, list | tuple) and all(
            isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= MAX_MLP_WIDTH for w in mlp_widths)):
        raise ValueError(f"mlp_widths must be a list of whole numbers from 1 to {MAX_MLP_WIDTH}; got {mlp_widths!r}.")


#: The guide's matrix size (its section 5.2), and the size used instead when the page's device is the CPU, where
#: the guide's code at 4096 would take tens of seconds on a small machine.
GUIDE_SIZE, GUIDE_SIZE_ON_A_CPU = 4096, 1024


def guide_matrix_size(guide_size: int | None, device: torch.device) -> int:
    """The matrix size for running the guide's benchmark code: ``guide_size`` when given, else the guide's own 4096
    on an accelerator (so that its times compare directly) and 1024 when ``device`` is the CPU."""
    if guide_size is not None:
        return guide_size
    return GUIDE_SIZE_ON_A_CPU if device.type == "cpu" else GUIDE_SIZE


def warm_up(dev: torch.device, fn: Callable[[], object], seconds: float = 1.0) -> int:
    """Call ``fn`` on ``dev`` again and again, waiting for each, for ``seconds``; return the number of calls. An idle
    Apple GPU runs at a low clock and takes a moment to rise (pytorch/pytorch#124056): timing starts after this."""
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        synchronize(dev)
        calls += 1
    return calls


Entry = tuple[torch.device, Callable[[int], Callable[[], object]], Sequence[int]]


def time_interleaved(entries: Mapping[str, Entry], index: str, min_run_time: float,
                     min_blocks: int = 5, rewarm_s: float = 0.0) -> dict[str, pd.DataFrame]:
    """Time several lines of a sweep in turn, size by size: for each size n (in increasing order), every entry
    ``name → (device, make_call, sizes)`` that includes n times the call ``make_call(n)`` returns (the order rotating
    from one size to the next, so that no line always follows the same one — on a Mac the CPU and GPU share power
    and heat), with
    :func:`mpsbook.time_callable` (one warm-up call, a clock that synchronises the device, at least
    ``min_run_time`` seconds and ``min_blocks`` blocks). Interleaving lets a drift of the machine (a clock rising or
    falling, heat) touch every line alike instead of the line timed last. With ``rewarm_s``, an accelerator line
    that follows a CPU line first runs its call for that many seconds (:func:`warm_up`): a GPU left idle while the
    CPU worked may have lowered its clock. Returns per name the median, IQR and number of blocks, indexed by n (named
    ``index``)."""
    rows: dict[str, dict[int, dict[str, float]]] = {name: {} for name in entries}
    names = list(entries)
    last = None  # the device type timed last
    for i, n in enumerate(sorted({n for _, _, sizes in entries.values() for n in sizes})):
        for name in names[i % len(names):] + names[:i % len(names)]:  # a different line goes first at each size
            dev, make_call, sizes = entries[name]
            if n in sizes:
                call = make_call(n)
                if rewarm_s and dev.type != "cpu" and last == "cpu":
                    warm_up(dev, call, rewarm_s)
                m = time_callable(call, dev, min_run_time=min_run_time, min_blocks=min_blocks)
                last = dev.type
                rows[name][n] = {"median_s": m.median, "iqr_s": m.iqr, "samples": len(m.times)}
    return {name: pd.DataFrame.from_dict(r, orient="index").rename_axis(index) for name, r in rows.items()}
