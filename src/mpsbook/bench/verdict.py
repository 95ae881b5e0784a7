"""Which of two timings is faster, beyond noise, and from which size an accelerator beats its CPU.

A timing here is anything with ``median_s``, ``iqr_s`` and ``samples`` (a row of a results table, or a
``DataFrame`` row of a live sweep). Chapter 10 uses one rule everywhere, for its live sweep and for the
stored runs:

- the **noise margin** of a timing is its IQR, and at least 10 % of its median when fewer than four blocks
  were timed (an IQR of two or three values says little);
- a timing is **faster** than another only when its median plus its margin is still below the other's
  median minus the other's margin, and its median at least :data:`MIN_EFFECT` below the other's (a tight IQR
  must not turn a 2 % gap into a finding); anything else is "within noise";
- the **crossover** is the smallest size from which the accelerator is faster at every larger size compared;
- a size sits on a line's **per-call floor** when its median is within :data:`FLOOR_FACTOR` of the line's
  floor, the median of its times from the smallest size up to its fastest (one unusually fast size must not pull
  the floor below the flat part): there the time is the cost of issuing a call, not the work, and two such
  timings are not compared (a 16-bit "speed-up" there measures overhead and kernel choice, not arithmetic).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from mpsbook.timing import MIN_BLOCKS_FOR_IQR  # below it an IQR is not trusted alone, as in timing.spread

#: The smallest margin, as a share of the median, for a timing of fewer than :data:`MIN_BLOCKS_FOR_IQR` blocks.
FLOOR = 0.10
#: A size is on its line's per-call floor when its median is below this multiple of the line's floor.
FLOOR_FACTOR = 1.5
#: Past its fastest size, a line that grows by this factor or more from one size to the next has left its floor, even
#: within FLOOR_FACTOR: its time now follows the work (a 16-bit 2048³ product on an H200 takes 1.6 times the 1024³ one).
RISE_FACTOR = 1.5
#: The smallest gap between two medians, as a share of the slower, that can count as faster.
MIN_EFFECT = 0.05


def noise(t: Any) -> float:
    """The noise margin of one timing, in seconds."""
    iqr, median = float(t.iqr_s), float(t.median_s)
    if int(t.samples) >= MIN_BLOCKS_FOR_IQR:
        return iqr
    return max(iqr if iqr == iqr else 0.0, FLOOR * median)  # iqr == iqr: not NaN


def compare(a: Any, b: Any) -> str:
    """``'faster'``, ``'slower'`` or ``'within noise'``: timing ``a`` against timing ``b``."""
    if a.median_s + noise(a) < b.median_s - noise(b) and a.median_s < (1 - MIN_EFFECT) * b.median_s:
        return "faster"
    if b.median_s + noise(b) < a.median_s - noise(a) and b.median_s < (1 - MIN_EFFECT) * a.median_s:
        return "slower"
    return "within noise"


def crossover(accel: pd.DataFrame, cpu: pd.DataFrame) -> tuple[object, pd.Series]:
    """The smallest size from which ``accel`` is faster than ``cpu`` at every larger size both timed ("none" when
    it is not faster at the largest), and the verdict at every such size. Both frames are indexed by size."""
    common = accel.index.intersection(cpu.index).sort_values()
    if common.empty:
        raise ValueError("the two timings share no size to compare.")
    verdict = pd.Series([compare(accel.loc[n], cpu.loc[n]) for n in common], index=common, dtype=object)
    first = next((n for n in common if (verdict[verdict.index >= n] == "faster").all()), "none")
    return first, verdict


def crossover_text(first: object, sizes: list[Any], size: Callable[[Any], str] = str) -> str:
    """A crossover as chapter 10 states it: the size; ``"≤ n"`` when the accelerator was already faster at the
    smallest size compared, ``n``, so that the crossover lies at or below it; ``"none"``."""
    if first == "none":
        return "none"
    return f"≤ {size(first)}" if first == sizes[0] else size(first)


def crossover_sentence(first: object, sizes: list[Any], device: str) -> str:
    """A crossover over matrix sizes n as a reader's sentence: ``"n = 256"``, ``"n ≤ 64: mps is faster from the
    sweep's smallest size"``, or ``"none: mps is not faster by the margin at n = 4096"``."""
    found = crossover_text(first, sizes)
    if found == "none":
        return f"none: {device} is not faster by the margin at n = {sizes[-1]}"
    if found.startswith("≤"):
        return f"n {found}: {device} is faster from the sweep's smallest size"
    return f"n = {found}"


def at_floor(line: pd.DataFrame) -> pd.Series:
    """Per size of ``line`` (indexed by size, with ``median_s``): whether its median is within :data:`FLOOR_FACTOR` of
    the line's floor (the median of its times from the smallest size up to its fastest), so that the time is the
    per-call floor rather than the work. Only sizes up to the point where the line leaves the floor, after its
    fastest size, count: it leaves at the first size above the band or :data:`RISE_FACTOR` times the size before it,
    and a larger size that happens to be as fast again is not on the floor."""
    median = line["median_s"].sort_index().astype(float)
    floor = float(median.loc[:median.idxmin()].median())  # the flat part, not one unusually fast size
    within = median < FLOOR_FACTOR * floor
    after = median.index >= median.idxmin()
    rising = (median / median.shift(1)).fillna(1.0) >= RISE_FACTOR
    left = ((~within | rising) & after).cumsum() > 0  # from the first size past the fastest that leaves the floor
    return (within & ~left).reindex(line.index)


def crossing_row(accel: pd.DataFrame, cpu: pd.DataFrame, size: Callable[[Any], str] = str) -> dict[str, str]:
    """One row of a crossover table: the sizes compared, the crossover as :func:`crossover_text` states it, where
    the CPU was faster and where the two were within noise, the sizes where the accelerator sat on its per-call
    floor (:func:`at_floor`: there it measured its host's dispatch, not its arithmetic), and the speed-up at the
    largest size with the range the margins allow (:func:`mpsbook.bench.report.speedup_text`). ``size`` writes a
    size (e.g. ``2^16``)."""
    from mpsbook.bench.report import speedup_text  # report imports this module

    first, verdict = crossover(accel, cpu)

    def where(v: str) -> str:
        return ", ".join(size(n) for n in verdict.index[verdict == v]) or "–"

    n = verdict.index[-1]
    floor = at_floor(accel.loc[verdict.index])
    return {"sizes": f"{size(verdict.index[0])}–{size(n)} ({len(verdict)})",
            "crossover": crossover_text(first, list(verdict.index), size), "CPU faster": where("slower"),
            "within noise": where("within noise"),
            "accelerator at its floor": ", ".join(size(m) for m in floor.index[floor]) or "–",
            "speed-up at largest": speedup_text(cpu.loc[n], accel.loc[n])}
