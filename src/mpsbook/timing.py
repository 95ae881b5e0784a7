"""Timing work on any device with ``torch.utils.benchmark``.

Since torch 2.9 (pytorch/pytorch#157131) ``Timer``'s default clock calls
``torch.accelerator.synchronize()``, so queued MPS and CUDA kernels are counted; before that it
synchronised CUDA only. Two defaults still mislead in a book that compares devices: ``Timer``
runs the statement with **one** CPU thread, and it does not warm up. :func:`time_callable` fixes
both, and can insist on enough timed blocks for a spread. :func:`spread` reads a measurement as the
chapters print it; :func:`consistently_slower` compares variants timed in interleaved rounds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence

import torch

from mpsbook.device import synchronize

# With a CUDA toolkit but no GPU, importing torch.utils.benchmark logs "No CUDA runtime is found"
# to stderr; the line would differ between machines and says nothing about the device in use.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

from torch.utils.benchmark import Measurement, Timer  # noqa: E402  (after silencing the logger)

__all__ = ["MIN_BLOCKS_FOR_IQR", "Measurement", "consistently_slower", "spread", "time_callable"]

#: Fewer timed blocks than this give no interquartile range worth reading.
MIN_BLOCKS_FOR_IQR = 4


def time_callable(
    fn: Callable[[], object],
    device: torch.device | str,
    *,
    min_run_time: float = 0.2,
    label: str = "",
    sub_label: str = "",
    description: str = "",
    min_blocks: int = 1,
) -> Measurement:
    """Time ``fn()`` on ``device``: one warm-up call, then ``Timer.blocked_autorange``.

    The CPU keeps all the threads torch would use outside the timer. A call so slow that
    ``blocked_autorange`` timed fewer than ``min_blocks`` blocks is timed again in ``min_blocks``
    blocks of a fixed size, so that an interquartile range can be read (it needs at least :data:`MIN_BLOCKS_FOR_IQR`).
    """
    if not min_run_time > 0:
        raise ValueError(f"min_run_time must be a positive number of seconds, got {min_run_time!r}.")
    if isinstance(min_blocks, bool) or not isinstance(min_blocks, int) or min_blocks < 1:
        raise ValueError(f"min_blocks must be a whole number of at least 1, got {min_blocks!r}.")
    fn()  # warm-up: the first call pays for allocation, kernel selection and compilation
    synchronize(device)
    timer = Timer(
        stmt="fn()",
        globals={"fn": fn},
        num_threads=torch.get_num_threads(),
        label=label,
        sub_label=sub_label,
        description=description,
    )
    measured = timer.blocked_autorange(min_run_time=min_run_time)
    if len(measured.times) >= min_blocks:
        return measured
    number = max(1, round(min_run_time / min_blocks / measured.median))  # runs per block
    return Measurement.merge(timer.timeit(number) for _ in range(min_blocks))[0]


def spread(m: Measurement) -> dict[str, float]:
    """Median and interquartile range of ``m`` in milliseconds, and its number of timed blocks.

    ``Measurement.iqr`` of fewer than 4 blocks is not a spread, so it is NaN here.
    """
    blocks = len(m.times)
    iqr_ms = m.iqr * 1e3 if blocks >= MIN_BLOCKS_FOR_IQR else math.nan
    return {"median ms": m.median * 1e3, "IQR ms": iqr_ms, "timed blocks": blocks}


def consistently_slower(
    rounds: Mapping[str, Sequence[float]], *, margin: float = 0.10, share: float = 0.9
) -> list[str]:
    """Variants that took over ``margin`` longer than the fastest of the same round in ``share`` of the rounds.

    ``rounds`` maps each variant to its times, round by round (a DataFrame with a column per variant
    works). Comparing within a round, with the variants run in turn, lets a busy moment of the machine
    slow all of them alike instead of deciding the verdict.
    """
    columns = {name: [float(t) for t in times] for name, times in rounds.items()}
    if not columns:
        raise ValueError("rounds must name at least one variant.")
    lengths = {len(times) for times in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError("every variant needs the same number of rounds, at least one.")
    if not (margin >= 0 and 0 < share <= 1):
        raise ValueError(f"margin must be >= 0 and share in (0, 1]; got {margin!r} and {share!r}.")
    fastest = [min(times) for times in zip(*columns.values(), strict=True)]
    n_rounds = len(fastest)
    slower = []
    for name, times in columns.items():
        over = sum(t > (1 + margin) * best for t, best in zip(times, fastest, strict=True))
        if over >= share * n_rounds:
            slower.append(name)
    return slower
