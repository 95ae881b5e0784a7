"""Chapter 10's live sweeps: time one call at several sizes on the page's device, in a few seconds.

The chapter shows *what* it times (a product, an add); this module holds the loop and the checks of the
chapter's parameters, so that the two sweeps share one loop and a bad parameter stops with one sentence.

    from mpsbook.bench import live
    live.check_parameters(guide_size=1024, sweep_sizes=[64, 128], sweep_sizes_accelerator=[2048],
                          sweep_min_run_time=0.1, sweep_half=["float16"])
    table = live.time_sizes(device, [64, 128], lambda n: make_the_call(n), "n", min_run_time=0.1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import torch

from mpsbook.timing import time_callable

HALF_DTYPES = ("float16", "bfloat16")
#: The sizes a live matrix-product sweep accepts: big enough to time, small enough for a laptop's memory.
SIZE_RANGE = (16, 8192)


def _sizes_ok(sizes: object) -> bool:
    low, high = SIZE_RANGE
    return isinstance(sizes, list | tuple) and all(
        isinstance(n, int) and not isinstance(n, bool) and low <= n <= high for n in sizes)


def check_parameters(guide_size: object, sweep_sizes: object, sweep_sizes_accelerator: object,
                     sweep_min_run_time: object, sweep_half: object) -> None:
    """Raise ``ValueError`` with one sentence naming what is accepted, for the first of chapter 10's parameters
    that is out of range; return quietly when all are fine."""
    low, high = SIZE_RANGE
    if not (isinstance(guide_size, int) and not isinstance(guide_size, bool) and 64 <= guide_size <= high):
        raise ValueError(f"guide_size must be a whole number from 64 to {high}; got {guide_size!r}.")
    if not (sweep_sizes and _sizes_ok(sweep_sizes) and _sizes_ok(sweep_sizes_accelerator)):
        raise ValueError(f"sweep_sizes (at least one) and sweep_sizes_accelerator must be lists of whole numbers from"
                         f" {low} to {high}; got {sweep_sizes!r} and {sweep_sizes_accelerator!r}.")
    if not (isinstance(sweep_min_run_time, int | float) and not isinstance(sweep_min_run_time, bool)
            and 0.01 <= sweep_min_run_time <= 5):
        raise ValueError(f"sweep_min_run_time must be a number of seconds from 0.01 to 5; got {sweep_min_run_time!r}.")
    if not (isinstance(sweep_half, list | tuple) and set(sweep_half) <= set(HALF_DTYPES)):
        raise ValueError(f"sweep_half must be a list of 'float16' and/or 'bfloat16'; got {sweep_half!r}.")


def time_sizes(dev: torch.device, sizes: Sequence[int], make_call: Callable[[int], Callable[[], object]],
               index: str, min_run_time: float, min_blocks: int = 5) -> pd.DataFrame:
    """Median, IQR and number of timed blocks of the call ``make_call(n)`` returns, per size n, timed on ``dev``
    with :func:`mpsbook.time_callable` (one warm-up call, a clock that synchronises the device, at least
    ``min_run_time`` seconds and ``min_blocks`` blocks). Indexed by n, named ``index``."""
    rows = {}
    for n in sizes:
        m = time_callable(make_call(n), dev, min_run_time=min_run_time, min_blocks=min_blocks)
        rows[n] = {"median_s": m.median, "iqr_s": m.iqr, "samples": len(m.times)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(index)
