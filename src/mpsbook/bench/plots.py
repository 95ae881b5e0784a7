"""How chapter 10 draws results: this book's runs filled, with IQR error bars, beside the figures other people
reported (hollow or hatched); a live sweep; the training variants; shares of the published peak.

matplotlib is imported inside each function, so ``make bench`` does not need it.

    from mpsbook.bench import plots
    plots.plot_sweep(live, crossover=256, title="...")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mpsbook.bench.report import BOOK, band_iqr, edges, has_spread, not_a_mac, speedup_range
from mpsbook.bench.verdict import at_floor, noise

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def margin_edges(t: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The median time ∓ the noise margin of :func:`mpsbook.bench.verdict.noise` per row of ``t``: error bars whose
    not overlapping is the verdict "faster" (a gap wider than the sum of the two margins)."""
    margin = np.array([noise(r) for r in t.itertuples()], dtype=float)
    return edges(t["median_s"].to_numpy(dtype=float), 2 * margin)  # edges moves by half its width either way


def _draw_reported(ax, reported: Mapping[str, tuple[pd.Series, str]] | None, colour_of: Callable[[str], str]) -> None:
    """Other people's per-size lines, hollow and dashed: one marker per reported machine (the label's last part,
    e.g. "Z #191"), whatever its dtype, and the colour ``colour_of`` gives the line's key."""
    markers: dict[str, str] = {}
    for label, (series, key) in (reported or {}).items():
        marker = markers.setdefault(label.rsplit(", ", 1)[-1], "s^Dvp<>h"[len(markers) % 8])
        ax.plot(series.index, series.to_numpy(), marker=marker, markerfacecolor="none", linestyle="--", linewidth=1,
                color=colour_of(key), label=f"{label} (reported)")


def _size_ticks(ax, sizes: set[int], reported: Mapping[str, tuple[pd.Series, str]] | None) -> None:
    """Label the x axis at ``sizes`` and at the powers of two the reported lines reach."""
    for series, _ in (reported or {}).values():
        low, high = int(series.index.min()), int(series.index.max())
        sizes = sizes | {2**k for k in range(low.bit_length() - 1, high.bit_length()) if low <= 2**k <= high}
    ax.set_xticks(sorted(sizes), labels=[str(n) for n in sorted(sizes)])


def _log_ticks(axis) -> None:
    """Plain-number labels on a log axis: at 1, 2 and 5 times each power of ten, and more (1.5, 3, 7) where the
    axis spans less than a decade and a half, so that a narrow range still carries three or more labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    low, high = axis.get_view_interval()
    subs = (1.0, 2.0, 5.0) if math.log10(high / low) >= 1.5 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    axis.set_major_locator(LogLocator(subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # 150, not 150.0; 0.5 stays 0.5
    axis.set_minor_formatter(NullFormatter())


def plot_side_by_side(rows: pd.DataFrame, unit: str, title: str, device_types: Mapping[str, str],
                      flagged: Collection[str] = ()) -> Figure:
    """This book's figures (filled, with IQR error bars; dashed when ``flagged``) beside the reported ones (hollow),
    as lines over batch size (``x``; ``ValueError`` when the rows have none). ``device_types`` maps each book machine
    to ``cpu``, ``cuda`` or ``mps``: the plot draws the reported machines and, of the book's, only Macs; a book
    machine that is not ``mps`` stays in the table beside it (a training step on an NVIDIA GPU is no line to set a
    Mac against; the table's caption says so)."""
    import matplotlib.pyplot as plt

    if not rows["x"].notna().any():
        raise ValueError("plot_side_by_side draws figures by batch size: rows need an 'x' (batch) column with values.")
    colours = {who: f"C{i % 10}" for i, who in enumerate(dict.fromkeys(rows["who"]))}
    rows = rows[~not_a_mac(rows, device_types)]  # the table beside the plot lists them, captioned as not Macs
    fig, ax = plt.subplots(figsize=(10, 5.2))
    for (who, by), line in rows.groupby(["who", "by"], sort=False):
        line = line.sort_values("x")
        if by == BOOK:
            yerr = [(line["value"] - line["low"]).fillna(0), (line["high"] - line["value"]).fillna(0)]
            ax.errorbar(line["x"], line["value"], yerr=yerr, marker="o", capsize=3, linewidth=2.2,
                        color=colours[who], linestyle="--" if line["machine"].iloc[0] in flagged else "-",
                        label=f"{who} (this book, steps only)")
        else:
            ax.plot(line["x"], line["value"], marker="s", color=colours[who], linestyle="--",
                    markerfacecolor="none", label=f"{who} (reported)")
    ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel=unit)
    ax.set_xticks(sorted(rows["x"].dropna().astype(int).unique()))
    ax.get_xaxis().set_major_formatter(plt.ScalarFormatter())
    ax.tick_params(axis="x", which="minor", labelbottom=False)
    _log_ticks(ax.yaxis)  # plain numbers, not "3×10²" on the minor ticks
    ax.legend(fontsize=7, ncol=2)
    by_whom = " and ".join(rows.loc[rows["by"] != BOOK, "by"].unique())
    filled = "filled, with error bars: this book; " if (rows["by"] == BOOK).any() else ""
    ax.set_title(f"{title}\n{filled}hollow: reported by {by_whom}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_sweep(live: Mapping[str, pd.DataFrame], crossover: int | None = None, title: str = "",
               xlabel: str = "n (n×n @ n×n, float32)",
               reported: Mapping[str, tuple[pd.Series, str]] | None = None,
               verdict: pd.Series | None = None) -> Figure:
    """Throughput in TFLOP/s of a live n×n matmul sweep (2n³ FLOP over the median time) per line of ``live`` (a
    device, or a dtype), with error bars of the noise margin (:func:`margin_edges`), on log axes; a dotted line marks
    the ``crossover`` size where there is one (from which the first line of ``live`` is faster at every larger
    size), grey bands the sizes that ``verdict`` calls "within noise".
    ``reported`` (:func:`mpsbook.bench.report.reported_sweeps`) adds other people's per-size figures as hollow,
    dashed lines, in the colour of the live line they belong beside where this page has one."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.6))
    sizes: set[int] = set()
    colours: dict[str, str] = {}
    for i, (name, t) in enumerate(live.items()):
        colours[name] = f"C{i}"
        flop = 2 * t.index.to_numpy(dtype=float) ** 3
        fast, slow = margin_edges(t)
        rate = flop / t["median_s"].to_numpy(dtype=float) / 1e12
        ax.errorbar(t.index, rate, yerr=[rate - flop / slow / 1e12, flop / fast / 1e12 - rate], marker="o", capsize=3,
                    color=colours[name], linewidth=2, label=f"{name}, this page (median ± IQR)")
        sizes |= {int(n) for n in t.index}
    others = iter(f"C{i}" for i in range(len(live), 10))
    _draw_reported(ax, reported, lambda key: colours.get(key) or next(others, "grey"))
    if crossover is not None:
        ax.axvline(crossover, color="grey", linestyle=":",
                   label=f"crossover: {next(iter(live))} faster from n = {crossover} up")
    _shade_within_noise(ax, verdict)
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="TFLOP/s", title=title)
    _log_ticks(ax.yaxis)  # plain numbers: 0.1, 1, 10
    _size_ticks(ax, sizes, reported)
    ax.tick_params(axis="x", which="minor", bottom=False)
    ax.legend(fontsize=7, ncol=2 if reported else 1)
    fig.tight_layout()
    return fig


def plot_training_variants(train: pd.DataFrame) -> Figure | None:
    """One row of panels per machine (``train``: training records with ``who``, ``workload``, ``batch``,
    ``mode``, ``dtype``, ``median_s``, ``iqr_s``, ``samples``, ``compile_s``): autocast's speed-up over the float32
    eager step with IQR error bars; eager against compiled steady-state steps; and the compiled first call.
    ``None`` when there is nothing to draw."""
    import matplotlib.pyplot as plt

    if train.empty:
        return None
    who_list = list(dict.fromkeys(train["who"]))
    fig, axes = plt.subplots(len(who_list), 3, figsize=(15, 4.2 * len(who_list)), squeeze=False,
                             gridspec_kw={"width_ratios": [3.2, 1.4, 1]})
    for (ax_amp, ax_steady, ax_compile), who in zip(axes, who_list, strict=True):
        mine = train[train["who"] == who]
        cases = list(dict.fromkeys(zip(mine["workload"], mine["batch"], strict=True)))
        eager = mine[mine["mode"] == "eager"]
        for k, dtype in enumerate(["bfloat16", "float16"]):
            ratios, lows, highs = [], [], []
            for workload, batch in cases:
                pick = eager[(eager["workload"] == workload) & (eager["batch"] == batch)]
                ref, var = pick[pick["dtype"] == "float32"], pick[pick["dtype"] == dtype]
                if ref.empty or var.empty:
                    ratios.append(np.nan), lows.append(0), highs.append(0)
                    continue
                rm, vm = ref["median_s"].iloc[0], var["median_s"].iloc[0]
                ri, vi = (band_iqr(x).fillna(0).iloc[0] for x in (ref, var))
                ratios.append(rm / vm)
                lows.append(rm / vm - (rm - ri / 2) / (vm + vi / 2))
                highs.append((rm + ri / 2) / max(vm - vi / 2, 1e-12) - rm / vm)
            ax_amp.bar(np.arange(len(cases)) + (k - 0.5) * 0.38, ratios, width=0.38, yerr=[lows, highs], capsize=3,
                       label=f"autocast {dtype}")
        ax_amp.axhline(1, color="black", linewidth=0.8)
        ax_amp.set_xticks(range(len(cases)), labels=[f"{w.replace(', ', chr(10))}\nbatch {b}" for w, b in cases],
                          fontsize=7)
        ax_amp.set(ylabel="float32 step time ÷ autocast step time",
                   title=f"{who} (this book): autocast against float32, eager; above 1: autocast is faster")
        ax_amp.legend(fontsize=7)
        labels = []
        for k, r in enumerate(mine[mine["mode"] == "compile"].itertuples()):
            ref = eager[(eager["dtype"] == r.dtype) & (eager["workload"] == r.workload)
                        & (eager["batch"] == r.batch)].iloc[0]
            for offset, (median, iqr, samples, colour) in enumerate(
                    [(ref["median_s"], ref["iqr_s"], ref["samples"], "tab:gray"),
                     (r.median_s, r.iqr_s, r.samples, "tab:purple")]):
                ax_steady.bar(k + offset * 0.4, median * 1e3, width=0.4, capsize=3, color=colour,
                              yerr=(iqr if has_spread(samples) else 0.0) / 2 * 1e3,
                              label=("eager", "compiled")[offset] if k == 0 else None)
            ax_compile.bar(k, r.compile_s, width=0.6, color="tab:purple")
            kind = "float32" if r.dtype == "float32" else f"autocast {r.dtype}"
            labels.append(f"{r.workload}\nbatch {r.batch}\n{kind}")
        if labels:
            ax_steady.set_xticks(np.arange(len(labels)) + 0.2, labels=labels, fontsize=7)
            ax_compile.set_xticks(range(len(labels)), labels=labels, fontsize=7)
            ax_steady.set(ylabel="ms per step (error bar: IQR)", title="eager and compiled: steady state")
            ax_compile.set(ylabel="seconds", title="first call (compilation)")
            ax_steady.legend(fontsize=7)
        else:
            for ax in (ax_steady, ax_compile):
                ax.text(0.5, 0.5, "no torch.compile case\nin this file", ha="center", va="center",
                        transform=ax.transAxes)
                ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_peak_shares(rows: pd.DataFrame) -> Figure:
    """The float32 matrix products of ``rows`` (:func:`book_peak_rows` and :func:`reported_peak_rows`) that have a
    percentage, as bars of their share of the chip's float32 peak: orange Apple, green NVIDIA; this book's filled
    with IQR error bars, the reported hatched."""
    import matplotlib.pyplot as plt

    fp32 = rows[rows["figure"].str.startswith("matmul float32") & rows["share"].map(lambda p: isinstance(p, float))]
    fp32 = fp32.assign(share=fp32["share"].astype(float)).sort_values("share")
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(fp32) + 1.2))
    ours = fp32["by"].eq(BOOK).to_numpy()
    colour = np.where(fp32["vendor"].eq("Apple"), "tab:orange", "tab:green")
    rows, shares = np.arange(len(fp32)), fp32["share"].to_numpy(dtype=float)
    half_iqr = fp32["iqr_share"].to_numpy(dtype=float) / 2
    ax.barh(rows[ours], shares[ours], color=colour[ours], edgecolor=colour[ours],
            xerr=shares[ours] * half_iqr[ours], capsize=3)  # this book's: error bars from the IQR
    ax.barh(rows[~ours], shares[~ours], color="white", edgecolor=colour[~ours], hatch="//")  # reported: no spread
    for i, p in enumerate(fp32["share"]):
        ax.text(p + 1, i, f"{p:.0f} %", va="center", fontsize=7)
    measured = [BOOK if b == BOOK else f"reported by {b}" for b in fp32["by"]]
    ax.set_yticks(range(len(fp32)), labels=[f"{w} — {m}" for w, m in zip(fp32["who"], measured, strict=True)],
                  fontsize=7)
    ax.axvline(100, color="grey", linewidth=0.8)
    ax.set(xlabel="% of the chip's published or derived float32 peak", xlim=(0, 110),
           title="float32 matrix products against the chip's peak\n"
           "(orange: Apple, green: NVIDIA; hatched: reported by others; error bars: IQR within the run)")
    fig.tight_layout()
    return fig


def _shade_within_noise(ax, verdict: pd.Series | None) -> None:
    """Grey bands over the sizes where ``verdict`` (:func:`mpsbook.bench.verdict.crossover`'s) says "within noise",
    so a reader sees on the plot where the two lines are not told apart."""
    if verdict is None:
        return
    for i, n in enumerate(verdict.index[verdict == "within noise"]):
        ax.axvspan(n / 1.3, n * 1.3, color="grey", alpha=0.2, linewidth=0,
                   label="within noise (margin of the two IQRs)" if i == 0 else None)


def plot_time_sweep(live: Mapping[str, pd.DataFrame], xlabel: str, title: str = "",
                    crossover: int | None = None, verdict: pd.Series | None = None) -> Figure:
    """Median time per call (µs) of a live sweep per line of ``live`` (a device), with error bars of the noise
    margin (:func:`margin_edges`), on log axes: the flat part is the fixed cost of one call, the rising part the
    work. A dotted line marks the ``crossover`` size where there is one (from which the first line of
    ``live`` is faster at every larger size), grey bands the sizes that ``verdict`` calls "within noise"."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name, t in live.items():
        median = t["median_s"].to_numpy(dtype=float)
        fast, slow = margin_edges(t)
        ax.errorbar(t.index, median * 1e6, yerr=[(median - fast) * 1e6, (slow - median) * 1e6], marker="o",
                    capsize=3, label=f"{name}, this page (median ± IQR)")
    if crossover is not None:
        ax.axvline(crossover, color="grey", linestyle=":",
                   label=f"crossover: {next(iter(live))} faster from {crossover:,} elements up")
    _shade_within_noise(ax, verdict)
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="µs per call", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_speedups(curves: Mapping[tuple[str, str], pd.DataFrame]) -> Figure:
    """The CPU's time ÷ the accelerator's per size, one line per (machine, case) of ``curves`` (frames indexed by
    size with ``median_s``, ``iqr_s`` and ``samples`` suffixed ``_acc`` and ``_cpu``), with the band that half of
    each noise margin allows (:func:`mpsbook.bench.report.speedup_range`), grey where the accelerator sat on its
    per-call floor (:func:`mpsbook.bench.verdict.at_floor`); matrix products left, elementwise adds right."""
    import matplotlib.pyplot as plt

    fig, (ax_mm, ax_add) = plt.subplots(1, 2, figsize=(12, 4.2))
    floor_named: set[object] = set()  # the grey points' legend entry, once per panel
    for (name, case), c in curves.items():
        ax = ax_add if case.startswith("elementwise") else ax_mm
        ranges = []
        for n in c.index:
            acc, cpu = (pd.Series({k: c.loc[n, f"{k}_{side}"] for k in ("median_s", "iqr_s", "samples")})
                        for side in ("acc", "cpu"))
            ranges.append(speedup_range(cpu, acc))
        ratio, low, high = (np.array(v, dtype=float) for v in zip(*ranges, strict=True))
        n = c.index.astype(float)
        (drawn,) = ax.plot(n, ratio, label=f"{name}: {case}")
        acc = c[["median_s_acc"]].rename(columns={"median_s_acc": "median_s"})
        floor = at_floor(acc).to_numpy()  # on its per-call floor: the ratio understates its advantage in the work
        ax.plot(n[~floor], ratio[~floor], "o", color=drawn.get_color())
        ax.plot(n[floor], ratio[floor], "o", color="grey", label=None if ax in floor_named or not floor.any()
                else "accelerator at its per-call floor (the ratio: a lower bound)")
        if floor.any():
            floor_named.add(ax)
        ax.fill_between(n, low, high, color=drawn.get_color(), alpha=0.25)
    for ax, what in ((ax_mm, "n (n×n @ n×n)"), (ax_add, "elements (float32 add)")):
        ax.axhline(1, color="black", linewidth=0.8)
        ax.set(xscale="log", yscale="log", xlabel=what, ylabel="CPU time ÷ accelerator time")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle("Speed-up over the CPU of the same run (above 1: the accelerator is faster; band: half of each noise "
                 "margin)")
    fig.tight_layout()
    return fig


def plot_dtype_speedups(timings: Mapping[str, pd.DataFrame], reference: str = "float32", title: str = "",
                        reported: Mapping[str, tuple[pd.Series, str]] | None = None) -> Figure:
    """Each dtype's speed-up over ``reference`` per size (the reference's median time ÷ the dtype's; ``timings`` maps a
    dtype to a frame indexed by n with ``median_s``, ``iqr_s``, ``samples``), with the range the two noise margins
    allow (:func:`mpsbook.bench.report.speedup_range`); points where both lines sit on their per-call floor
    (:func:`mpsbook.bench.verdict.at_floor`) are drawn grey, their ratio being overhead. ``reported``
    (:func:`mpsbook.bench.report.reported_dtype_speedups`) adds others' ratios, hollow and in the dtype's colour, in a
    first panel with its own scale, so that a device whose ratios run far from 1 does not flatten them."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 if reported else 1, figsize=(13, 4.4) if reported else (8, 4.4), squeeze=False)
    ax = axes[0][-1]  # the reported Macs, where there are any, come first: on a Mac page they are the reference
    colours = {name: f"C{i}" for i, name in enumerate(n for n in timings if n != reference)}
    ref = timings[reference]
    floor_named = False  # the grey points' legend entry, once
    for name, t in timings.items():
        if name == reference:
            continue
        common = ref.index.intersection(t.index)
        ratio, low, high = (np.array(v, dtype=float) for v in zip(
            *[speedup_range(ref.loc[n], t.loc[n]) for n in common], strict=True))
        ax.plot(common, ratio, linewidth=2, color=colours[name], label=f"{name}, this page")
        floor = (at_floor(t.loc[common]) & at_floor(ref.loc[common])).to_numpy()  # overhead, not arithmetic
        ax.plot(common[~floor], ratio[~floor], "o", color=colours[name])
        ax.plot(common[floor], ratio[floor], "o", color="grey",
                label=None if floor_named or not floor.any() else "both at the per-call floor (overhead)")
        floor_named = floor_named or bool(floor.any())
        ax.fill_between(common, low, high, color=colours[name], alpha=0.25)
    ax.set_title(title or f"Speed-up over {reference} (above 1: the 16-bit product is faster; band: noise margin)",
                 fontsize=9)
    _ratio_axes(ax, {int(n) for t in timings.values() for n in t.index}, reference)
    if reported:
        other = axes[0][0]
        _draw_reported(other, reported, lambda key: colours.get(key, "grey"))
        other.set_title("reported Macs (hollow: one run each), on a scale of their own", fontsize=9)
        _ratio_axes(other, set(), reference, reported)
    fig.tight_layout()
    return fig


def _ratio_axes(ax, sizes: set[int], reference: str,
                reported: Mapping[str, tuple[pd.Series, str]] | None = None) -> None:
    """Log axes for a speed-up panel: a line at 1, sizes labelled, the y range widened to whole powers of two, each
    labelled with a plain number, and a legend."""
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set(xscale="log", yscale="log", xlabel="n (n×n @ n×n)", ylabel=f"{reference} time ÷ 16-bit time")
    _size_ticks(ax, sizes, reported)
    low, high = ax.get_ylim()
    low, high = 2.0 ** math.floor(math.log2(min(low, 0.9))), 2.0 ** math.ceil(math.log2(max(high, 1.1)))
    ax.set_ylim(low, high)
    ticks = [2.0**k for k in range(-10, 11) if low <= 2.0**k <= high]
    ax.set_yticks(ticks, labels=[f"{t:g}" if t >= 1 else f"1/{round(1 / t)}" for t in ticks])  # 1/128, not 0.0078125
    ax.tick_params(which="minor", left=False, bottom=False, labelleft=False, labelbottom=False)
    ax.legend(fontsize=7)
