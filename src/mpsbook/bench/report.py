"""How the benchmark chapter shows results: a number with its spread, tables narrow enough for a page, and this
book's runs beside figures other people reported.

Plumbing for chapter 10's tables; its plots are in :mod:`mpsbook.bench.plots`, and the rule that decides
"faster" and the crossover size in :mod:`mpsbook.bench.verdict`.

    from mpsbook.bench import report
    report.with_spread(0.0149, 0.0004, 5)   # '14.9 (IQR 3 %, 5 blocks)'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from mpsbook.bench.cases import TRAIN_IMAGES, epoch_steps
from mpsbook.bench.peaks import peak_for, published_peaks
from mpsbook.bench.verdict import at_floor, compare, noise
from mpsbook.specs import gpu_configs
from mpsbook.timing import MIN_BLOCKS_FOR_IQR

BOOK = "this book"
#: How tables and plots name the public source of a reported figure (``results/reported/*.yaml`` ids).
SOURCE_NAMES = {
    "mrdbourke-mac-ml-speed-test": "Daniel Bourke (mac-ml-speed-test)",
    "chsasank-device-benchmarks": "device-benchmarks contributors",
    "zzc0721-torch-performance-test-data": "torch-performance-test-data contributors",
}
#: The float32 benchmarks that cuDNN runs on an NVIDIA GPU, where PyTorch allows TF32 by default.
CUDNN_OPS = {"resnet50": "convolutions", "train_resnet50_32": "convolutions", "train_resnet50_224": "convolutions",
             "lstm": "RNN"}
#: Columns of the frames :func:`book_training_rows` and :func:`reported_rows` return (the side-by-side layout).
SIDE_COLUMNS = ("who", "by", "machine", "x", "value", "low", "high", "median_s", "iqr_s", "samples")


def sig(x: float, digits: int = 3) -> str:
    """``x`` with about ``digits`` significant digits and thousands separators, never in exponent notation."""
    if not np.isfinite(x) or x == 0:
        return f"{x:g}"
    return f"{x:,.{max(0, digits - 1 - math.floor(math.log10(abs(x))))}f}"


def has_spread(samples: object) -> bool:
    """Whether a timing of ``samples`` blocks has a spread to show: two blocks or more."""
    return not pd.isna(samples) and int(samples) >= 2  # type: ignore[call-overload]


def iqr_percent(iqr: float, median: float, samples: object) -> str:
    """The IQR as a whole percentage of the median ('3', '<1'), or '–' for a single block, which has none. From
    fewer than :data:`~mpsbook.timing.MIN_BLOCKS_FOR_IQR` blocks the figure is rough and says so: '3 (2 blocks)'."""
    if not has_spread(samples) or not np.isfinite(iqr):
        return "–"
    share = 100 * iqr / median
    text = "<1" if share < 1 else f"{share:.0f}"
    few = int(samples) < MIN_BLOCKS_FOR_IQR  # type: ignore[call-overload]
    return f"{text} ({int(samples)} blocks)" if few else text  # type: ignore[call-overload]


def _share_value(text: str) -> float:
    """The number in an :func:`iqr_percent` text, for sorting ('<1' counts as below 1)."""
    head = text.split(" ", 1)[0]
    return 0.5 if head == "<1" else float(head)


def spread_text(iqr: float, median: float, samples: object) -> str:
    """The book's one rule for spread: 'IQR 3 %, 5 blocks', or '1 block' for a single measurement; from fewer than
    four blocks 'IQR 3 % of only 2 blocks', since an IQR of two or three values says little."""
    if not has_spread(samples) or not np.isfinite(iqr):
        return "1 block"
    share = iqr_percent(iqr, median, samples).split(" ", 1)[0]
    if int(samples) < MIN_BLOCKS_FOR_IQR:  # type: ignore[call-overload]
        return f"IQR {share} % of only {int(samples)} blocks"  # type: ignore[call-overload]
    return f"IQR {share} %, {int(samples)} blocks"  # type: ignore[call-overload]


def with_spread(median: float, iqr: float, samples: object, scale: float = 1e3) -> str:
    """'4.80 (IQR 5 %, 5 blocks)': a median time (in ms by default) with its spread."""
    return f"{sig(median * scale)} ({spread_text(iqr, median, samples)})"


def band_iqr(frame: pd.DataFrame) -> pd.Series:
    """The ``iqr_s`` to draw as a band or error bar: NaN (none) for a case timed in a single block."""
    return frame["iqr_s"].where(frame["samples"].astype(float) >= 2)


def edges(median: Any, iqr: Any) -> tuple[Any, Any]:
    """Times at the median ∓ half the IQR (numbers, arrays or Series): the ends of the bands and error bars drawn.

    The fast end never drops below a thousandth of the median, so a log axis can draw it.
    """
    return np.maximum(median - iqr / 2, median * 1e-3), median + iqr / 2


def float32_label(provenance: Mapping[str, Any], benchmark: str) -> str:
    """What "float32" meant for one benchmark in one run: "float32", or on an NVIDIA GPU
    "float32, TF32 convolutions" (or RNN) where cuDNN was allowed TF32 — PyTorch's default, and what every results
    file that did not record ``cudnn_allow_tf32`` ran."""
    if provenance["device"]["type"] != "cuda" or benchmark not in CUDNN_OPS:
        return "float32"
    if provenance.get("software", {}).get("cudnn_allow_tf32") is False:
        return "float32"
    return f"float32, TF32 {CUDNN_OPS[benchmark]}"


def reported_name(row: Any) -> str:
    """A reported machine as its source describes it (a row with ``device``, ``chip`` and ``gpu_cores``): the chip,
    and the GPU's cores where the source states them."""
    if row.device == "cpu":
        return f"{row.chip} CPU"
    if row.device == "mps":
        return f"{row.chip} ({int(row.gpu_cores)}-core GPU)" if pd.notna(row.gpu_cores) else f"{row.chip} GPU"
    return str(row.chip)


def reported_rows(reported: pd.DataFrame, workload: str) -> pd.DataFrame:
    """One reported workload's float32 figures (rows of :func:`mpsbook.reported.load_reported`) in the
    side-by-side layout: no spread, since each source publishes one run."""
    part = reported[(reported["workload"] == workload) & (reported["dtype"].fillna("float32") == "float32")]
    return pd.DataFrame({
        "who": [reported_name(r) for r in part.itertuples()],
        "by": part["source"].map(lambda s: SOURCE_NAMES.get(s, s)).to_numpy(),
        "machine": None, "x": pd.to_numeric(part["batch_size"]).to_numpy(dtype=float),
        "value": part["value"].to_numpy(dtype=float), "low": np.nan, "high": np.nan,
        "median_s": np.nan, "iqr_s": np.nan, "samples": 0,
    }, columns=list(SIDE_COLUMNS))


def book_training_rows(records: pd.DataFrame, benchmark: str, unit: str,
                       names: Mapping[str, str] | None = None, mode: str = "eager",
                       dtype: str = "float32") -> pd.DataFrame:
    """This book's steps of one training workload (rows of :func:`records_frame`; float32 eager unless ``mode`` and
    ``dtype`` say otherwise) in a reported source's unit — ``"s/epoch"`` (⌈images ÷ batch⌉ × the median step, data
    loading left out) or ``"samples/s"`` — with error-bar ends from the IQR (none for a single block). ``names`` maps
    a machine to the name shown."""
    if unit not in ("s/epoch", "samples/s"):
        raise ValueError(f"unit must be 's/epoch' or 'samples/s'; got {unit!r}.")
    part = records[(records["benchmark"] == benchmark) & (records["mode"] == mode)
                   & (records["dtype"] == dtype)]
    median = part["median_s"].to_numpy(dtype=float)
    fast, slow = edges(median, band_iqr(part).to_numpy(dtype=float))
    if unit == "s/epoch":
        steps = np.array([epoch_steps(r) for r in part.to_dict("records")], dtype=float)
        value, low, high = steps * median, steps * fast, steps * slow
    else:
        batch = part["batch"].to_numpy(dtype=float)
        value, low, high = batch / median, batch / slow, batch / fast
    names = names or {}
    return pd.DataFrame({
        "who": [names.get(m, m) for m in part["machine"]], "by": BOOK, "machine": part["machine"].to_numpy(),
        "x": part["batch"].to_numpy(dtype=float), "value": value, "low": low, "high": high, "median_s": median,
        "iqr_s": part["iqr_s"].to_numpy(dtype=float), "samples": part["samples"].to_numpy(dtype=float),
    }, columns=list(SIDE_COLUMNS))


def not_a_mac(rows: pd.DataFrame, device_types: Mapping[str, str]) -> pd.Series:
    """Which side-by-side rows are this book's and come from a machine that is not ``mps`` (``device_types`` maps a
    machine to its device type): the table keeps them, the plot leaves them out, the caption names them."""
    return (rows["by"] == BOOK) & rows["machine"].map(lambda m: device_types.get(m) != "mps")


def side_by_side_table(rows: pd.DataFrame, unit: str) -> pd.DataFrame:
    """This book's and the reported figures in one narrow table: a row per machine (first this book's, then the
    reported ones), a column per batch size — or one column of ``unit`` where the figures have none — and an
    ``IQR %`` column where the table holds any of this book's rows: the range of this book's spreads over the row,
    '–' where there is none (a reported figure, or single blocks)."""
    by_x = rows["x"].notna().any()
    frame = rows.assign(source=np.where(rows["by"] == BOOK, BOOK, "reported"),
                        column=rows["x"].map(lambda v: int(v) if pd.notna(v) else unit),
                        figure=rows["value"].map(sig))
    table = frame.pivot_table(index=["source", "who"], columns="column", values="figure", aggfunc="first",
                              sort=False)
    if by_x:
        table = table[sorted(table.columns)]
        table.columns.name = "batch"
    else:
        table.columns.name = None
    table.index.names = [None, None]

    def spread(group: pd.DataFrame) -> str:
        shares = [iqr_percent(r.iqr_s, r.median_s, r.samples) for r in group.itertuples()]
        known = sorted({s for s in shares if s != "–"}, key=_share_value)
        return "–" if not known else known[0] if len(known) == 1 else f"{known[0]}–{known[-1]}"

    if (frame["source"] == BOOK).any():  # reported figures carry no spread: a column of dashes says nothing
        spreads = {(source, who): spread(g) for (source, who), g in frame.groupby(["source", "who"], sort=False)}
        table["IQR %"] = [spreads[key] for key in table.index]
    return table.fillna("–")


def implied_rates(reported: pd.DataFrame, workload: str, flop_per_item: float, benchmark: str) -> pd.DataFrame:
    """What each reported epoch of a ResNet-50 training workload implies: ``flop_per_item`` × the images of one
    epoch of ``benchmark``'s data set ÷ the reported seconds, in TFLOP/s, and as a percentage of the GPU's float32
    peak (:func:`peak_for`, in ``peak TFLOP/s``: derived for an Apple GPU whose source states its cores, the stated
    or derived figure of ``peaks.csv`` for an NVIDIA card it lists; NaN elsewhere)."""
    images = TRAIN_IMAGES[benchmark][2]
    rows = []
    for r in reported[reported["workload"] == workload].itertuples():
        rate = flop_per_item * images / r.value / 1e12
        cores = None if pd.isna(r.gpu_cores) else int(r.gpu_cores)
        peak = (peak_for(r.chip, gpu_cores=cores) or {}).get("float32_tflops")  # an Apple GPU needs its cores
        rows.append({"reported": reported_name(r), "vendor": r.vendor, "batch": int(r.batch_size),
                     "s/epoch": float(r.value), "TFLOP/s": rate, "peak TFLOP/s": float(peak) if peak else np.nan,
                     "% of peak": 100 * rate / float(peak) if peak else np.nan})  # type: ignore[arg-type]
    return pd.DataFrame(rows, columns=["reported", "vendor", "batch", "s/epoch", "TFLOP/s", "peak TFLOP/s",
                                       "% of peak"])


def rate_lines(rates: pd.DataFrame) -> list[str]:
    """What a table of :func:`implied_rates` says in two lines: each reported GPU's percentage of its peak from the
    smallest to the largest batch (where it has one), and the fastest reported Mac's seconds per epoch divided by
    the fastest reported NVIDIA card's, batch by batch (where both vendors are reported)."""
    lines = []
    shares = rates.dropna(subset=["% of peak"]).sort_values("batch", kind="stable").groupby("reported", sort=False)
    first, last = shares["% of peak"].first(), shares["% of peak"].last()
    if len(last):
        macs = last[last.index.isin(rates.loc[rates["vendor"] == "Apple", "reported"])]
        lines.append("the whole loop's implied rate as a share of the GPU's float32 peak (derived for the Macs),"
                     " smallest → largest batch: "
                     + "; ".join(f"{who} {a:.0f} → {b:.0f} %" for who, a, b in zip(first.index, first, last,
                                                                                    strict=True))
                     + (f" (the Macs at the largest batch: {macs.min():.0f}–{macs.max():.0f} %)" if len(macs) else ""))
    fastest = rates.pivot_table(index="vendor", columns="batch", values="s/epoch", aggfunc="min")
    if {"Apple", "NVIDIA"} <= set(fastest.index):
        ratio = (fastest.loc["Apple"] / fastest.loc["NVIDIA"]).dropna()
        lines.append("the fastest reported Mac's epoch time ÷ the fastest reported NVIDIA card's, by batch: "
                     + ", ".join(f"{int(b)}: {sig(v, 2)}×" for b, v in ratio.items()))
    return lines


def epoch_costs(rates: pd.DataFrame, items: int) -> pd.DataFrame:
    """Each reported machine's epochs (a table of :func:`implied_rates`) fitted by least squares as
    ⌈items ÷ batch⌉ steps × a cost per step + a cost per epoch: what grows with the number of steps (a wait, a
    launch) and what does not depend on the batch size at all. Every epoch holds the same ``items``, so a cost per
    item cannot be told from a cost per epoch: the second number is either (``items`` × a cost per item, or a start
    paid once an epoch). Machines with fewer than four batch sizes (two more than the fit has parameters) are left
    out. Columns: reported, ms per step, s per epoch, the largest residual as a percentage of its epoch."""
    rows = []
    for who, part in rates.groupby("reported", sort=False):
        if len(part) < 4:
            continue
        steps = np.ceil(items / part["batch"].to_numpy(dtype=float))
        design = np.column_stack([steps, np.ones_like(steps)])
        seconds = part["s/epoch"].to_numpy(dtype=float)
        (per_step, per_epoch), *_ = np.linalg.lstsq(design, seconds, rcond=None)
        worst = float(np.max(np.abs(design @ [per_step, per_epoch] - seconds) / seconds))
        rows.append({"reported": who, "ms per step": 1e3 * per_step, "s per epoch": per_epoch,
                     "worst residual %": 100 * worst})
    return pd.DataFrame(rows, columns=["reported", "ms per step", "s per epoch", "worst residual %"])


def sweep_table(live: Mapping[str, pd.DataFrame], verdict: pd.Series | None = None,
                accelerator: str | None = None, unit: str = "ms",
                bytes_per_call: Callable[[int], float] | None = None) -> pd.DataFrame:
    """A live matmul sweep as a narrow table: per device (``live`` maps a device type to a frame indexed by n with
    ``median_s``, ``iqr_s`` and ``samples``) the median in ms and the IQR %, and the GB/s where ``bytes_per_call``
    gives the bytes one call moves at size n; then, where ``accelerator`` names the device compared with ``"cpu"``,
    the CPU's time ÷ the accelerator's and the ``verdict`` at each size. Times are in ``unit``: "ms" or "µs"."""
    scales = {"ms": 1e3, "µs": 1e6}
    if unit not in scales:
        raise ValueError(f"unit must be one of {sorted(scales)}; got {unit!r}.")
    columns: dict[str, object] = {}
    for name, t in live.items():
        columns[f"{name} {unit}"] = (t["median_s"] * scales[unit]).map(sig)
        columns[f"{name} IQR %"] = pd.Series([iqr_percent(r.iqr_s, r.median_s, r.samples) for r in t.itertuples()],
                                             index=t.index)
        if bytes_per_call is not None:
            moved = pd.Series([float(bytes_per_call(int(n))) for n in t.index], index=t.index)
            columns[f"{name} GB/s"] = (moved / t["median_s"] / 1e9).map(sig)
    table = pd.DataFrame(columns)
    if accelerator is not None and verdict is not None:
        table["speed-up"] = (live["cpu"]["median_s"] / live[accelerator]["median_s"]).map(lambda r: sig(r, 2))
        table[f"{accelerator} is"] = verdict
    return table


def dtype_table(timings: Mapping[str, pd.DataFrame], reference: str = "float32") -> pd.DataFrame:
    """A live sweep of one product in several dtypes as a narrow table: per dtype (``timings`` maps a dtype name to a
    frame indexed by n with ``median_s``, ``iqr_s`` and ``samples``) the median in ms, then for every other dtype one
    column, "<dtype> ×": its speed-up over ``reference`` (the reference's time ÷ its time) and, in brackets, the
    verdict of :func:`mpsbook.bench.verdict.compare` at each size, or "both at floor" where both lines sit on their
    per-call floor (:func:`mpsbook.bench.verdict.at_floor`) and the ratio says nothing about arithmetic, or
    "faster, at floor" where only that dtype's line does, so the speed-up is a lower bound."""
    if reference not in timings:
        raise ValueError(f"timings must include the reference dtype {reference!r}; got {sorted(timings)}.")
    ref = timings[reference]
    table = pd.DataFrame({f"{name} ms": (t["median_s"] * 1e3).map(sig) for name, t in timings.items()})
    for name, t in timings.items():
        if name == reference:
            continue
        common = ref.index.intersection(t.index)
        mine, theirs = at_floor(t.loc[common]), at_floor(ref.loc[common])
        table[f"{name} ×"] = pd.Series(
            [f"{sig(ref.loc[n, 'median_s'] / t.loc[n, 'median_s'], 2)} "
             f"({_dtype_verdict(t.loc[n], ref.loc[n], mine[n], theirs[n])})" for n in common], index=common)
    return table.fillna("–")


def _dtype_verdict(t: Any, ref: Any, t_floor: bool, ref_floor: bool) -> str:
    if t_floor and ref_floor:
        return "both at floor"
    verdict = compare(t, ref)
    if t_floor and verdict == "faster":  # its time is the per-call cost: the ratio only bounds the arithmetic's
        return "faster, at floor"
    return verdict


#: A timing is called noisy when its IQR is above this share of its median (the benchmark appendix's tables).
NOISY = 0.20


def is_noisy(t: Any) -> bool:
    """Whether a timing (anything with ``median_s``, ``iqr_s`` and ``samples``) spreads by more than :data:`NOISY`
    of its median; a single block has no spread to judge, so it is not called noisy."""
    return has_spread(t.samples) and float(t.iqr_s) > NOISY * float(t.median_s)


def speedup_range(slow: Any, fast: Any) -> tuple[float, float, float]:
    """``slow``'s median time ÷ ``fast``'s (each with ``median_s``, ``iqr_s``, ``samples``), and the lowest and
    highest ratio the two spreads allow: each median moved by half its noise margin towards and away from the other.
    The margin is :func:`mpsbook.bench.verdict.noise`'s, the IQR and, from fewer than four blocks (one included), at
    least a tenth of the median, so a rough or missing IQR does not make a narrow range — the rule
    :func:`mpsbook.bench.verdict.compare` applies."""
    ia, ib = (noise(t) for t in (slow, fast))
    ratio = float(slow.median_s) / float(fast.median_s)
    low = (float(slow.median_s) - ia / 2) / (float(fast.median_s) + ib / 2)
    high = (float(slow.median_s) + ia / 2) / max(float(fast.median_s) - ib / 2, 1e-12)
    return ratio, low, high


def speedup_text(slow: Any, fast: Any) -> str:
    """'8.2 (6.0–13)': :func:`speedup_range` with two significant digits, the range left out where there is none."""
    ratio, low, high = speedup_range(slow, fast)
    return sig(ratio, 2) + ("" if math.isnan(low) else f" ({sig(low, 2)}–{sig(high, 2)})")


def run_peak(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The published peaks (:func:`peak_for`) of the device a results file's provenance names: ``{}`` for a CPU,
    which has none in the tables, and for a GPU the tables do not list. An Apple GPU matches on its core count."""
    dev = provenance["device"]
    if dev["type"] == "cpu":
        return {}
    return peak_for(dev["name"], gpu_cores=dev["cores"] if dev["type"] == "mps" else None) or {}


#: Columns of the frames :func:`book_peak_rows` and :func:`reported_peak_rows` return.
PEAK_COLUMNS = ("who", "by", "vendor", "figure", "value", "unit", "spread", "iqr_share", "peak", "share")
_VENDOR = {"mps": "Apple", "cuda": "NVIDIA", "cpu": "CPU"}


def book_peak_rows(runs: Mapping[str, Mapping[str, Any]], records: pd.DataFrame,
                   names: Mapping[str, str] | None = None, flagged: Collection[str] = ()) -> pd.DataFrame:
    """This book's figures to set against a peak, per results file (``runs`` as :func:`load_results` returns them,
    ``records`` the ``ok`` rows of :func:`records_frame`): the best ``matmul`` of each dtype in TFLOP/s and the
    float32 add at the largest size in GB/s (12 bytes an element), each with its spread and, where the device has
    a published peak and the run is not ``flagged``, its share of that peak in per cent (``share``; else a string
    that says why there is none). ``names`` maps a results file to the name shown."""
    names = names or {}
    rows = []
    for machine, doc in runs.items():
        peak, mine = run_peak(doc["provenance"]), records[records["machine"] == machine]
        common = {"who": names.get(machine, machine), "by": BOOK,
                  "vendor": _VENDOR[doc["provenance"]["device"]["type"]]}

        def share(value: float, stated: object, machine: str = machine) -> object:
            if machine in flagged:
                return "flagged: not used"
            return 100 * value / float(stated) if stated else "no peak stated"  # type: ignore[arg-type]

        for dtype in ("float32", "float16", "bfloat16"):
            part = mine[(mine["benchmark"] == "matmul") & (mine["dtype"] == dtype)]
            if part.empty:
                continue
            best = part.loc[part["gflop_per_s"].idxmax()]
            value, stated = best["gflop_per_s"] / 1e3, peak.get(f"{dtype}_tflops")
            rows.append({**common, "figure": f"matmul {dtype}, best (n = {best['size']})", "value": value,
                         "unit": "TFLOP/s", "spread": spread_text(best["iqr_s"], best["median_s"], best["samples"]),
                         "iqr_share": best["iqr_s"] / best["median_s"] if has_spread(best["samples"]) else 0.0,
                         "peak": stated or "not stated", "share": share(value, stated)})
        adds = mine[mine["benchmark"] == "elementwise"]
        if not adds.empty:
            big = adds.loc[adds["size"].idxmax()]
            stated = peak.get("memory_bandwidth_gbs")
            rows.append({**common, "figure": f"add, 2^{int(np.log2(big['size']))} elements", "value": big["gb_per_s"],
                         "unit": "GB/s", "spread": spread_text(big["iqr_s"], big["median_s"], big["samples"]),
                         "iqr_share": big["iqr_s"] / big["median_s"] if has_spread(big["samples"]) else 0.0,
                         "peak": stated or "not stated", "share": share(big["gb_per_s"], stated)})
    return pd.DataFrame(rows, columns=list(PEAK_COLUMNS))


def reported_peak_rows(reported: pd.DataFrame) -> pd.DataFrame:
    """Reported figures to set against a peak (rows of :func:`mpsbook.reported.load_reported`): device-benchmarks'
    and torch-performance-test-data's matrix products against the float32 or 16-bit peak, and device-benchmarks'
    copies (bytes read plus written) against the memory bandwidth. An Apple chip needs the GPU-core count the source
    states (without it ``share`` says so); Apple states no 16-bit peaks and no CPU arithmetic peaks, so those rows
    are left out, as are NVIDIA cards without a row in ``peaks.csv``."""
    rows = []
    wanted = ["chsasank-matmul", "zzc0721-mm-max", "chsasank-copy-bandwidth"]
    for row in reported[reported["workload"].isin(wanted)].itertuples():
        copy = row.workload == "chsasank-copy-bandwidth"
        if not copy and (row.device == "cpu" or (row.vendor == "Apple" and row.dtype != "float32")):
            continue
        cores = None if pd.isna(row.gpu_cores) else int(row.gpu_cores)
        peak = peak_for(row.chip, gpu_cores=cores if row.vendor == "Apple" else None) or {}
        stated = peak.get("memory_bandwidth_gbs" if copy else f"{row.dtype}_tflops")
        if row.vendor == "NVIDIA" and not stated:
            continue
        rows.append({"who": reported_name(row), "by": SOURCE_NAMES.get(row.source, row.source), "vendor": row.vendor,
                     "figure": f"{'copy' if copy else 'matmul'} {row.dtype}", "value": float(row.value),
                     "unit": "GB/s" if copy else "TFLOP/s", "spread": "none reported", "iqr_share": 0.0,
                     "peak": stated or "not stated",
                     "share": 100 * float(row.value) / float(stated) if stated  # type: ignore[arg-type]
                     else "GPU cores not stated: no peak"})
    return pd.DataFrame(rows, columns=list(PEAK_COLUMNS))


def peak_table(rows: pd.DataFrame) -> str:
    """A Markdown table of the rows (:func:`book_peak_rows` and :func:`reported_peak_rows` together) that have a
    percentage and are not float32 matrix products (those are drawn by :func:`plot_peak_shares`): this book's
    runs, and of the reported ones the Apple chips."""
    keep = rows[~rows["figure"].str.startswith("matmul float32")
                & rows["share"].map(lambda p: isinstance(p, float))
                & (rows["by"].eq(BOOK) | rows["vendor"].eq("Apple"))]
    lines = ["| Who | Measured by | Figure | Value | % of peak |", "|---|---|---|---|---|"]
    for r in keep.itertuples():
        spread = f" ({r.spread})" if r.by == BOOK else ""
        lines.append(f"| {r.who} | {r.by} | {r.figure} | {sig(r.value)} {r.unit}{spread} | "
                     f"{r.share:.0f} % of {float(r.peak):g} |")
    return "\n".join(lines)


#: Short names of the training workloads in chapter 10's tables.
WORKLOADS = {"train_resnet50_32": "ResNet-50 32×32", "train_resnet50_224": "ResNet-50 224×224",
             "train_distilbert_512": "DistilBERT 512"}


def implied_rate_table(records: pd.DataFrame, reported: pd.DataFrame, benchmark: str,
                       workload: str) -> tuple[float, pd.DataFrame, list[str]]:
    """What each reported epoch of a ResNet-50 workload implies: the FLOP per image this book's suite counted for
    ``benchmark`` (the median over its records; :func:`mpsbook.bench.model_flop` when there are none), the implied
    TFLOP/s as a table (a row per reported machine, a column per batch, and the float32 peak the shares are taken of
    in the last) and :func:`rate_lines`' summary."""
    counted = records[records["benchmark"] == benchmark]
    if len(counted):
        per_image = float((counted["flop"].astype(float) / counted["batch"].astype(float)).median())
    else:
        from mpsbook.bench.cases import model_flop

        per_image = model_flop(benchmark, 1)
    rates = implied_rates(reported, workload, per_image, benchmark)
    table = (rates.pivot_table(index="reported", columns="batch", values="TFLOP/s", aggfunc="first", sort=False)
             .map(lambda v: "–" if pd.isna(v) else sig(v, 2)).rename_axis(index=None))
    peaks = rates.groupby("reported", sort=False)["peak TFLOP/s"].first()
    table["float32 peak"] = [("–" if pd.isna(peaks[who]) else sig(peaks[who], 3)) for who in table.index]
    lines = rate_lines(rates)
    fit = epoch_costs(rates[rates["vendor"] == "Apple"], TRAIN_IMAGES[benchmark][2])
    if len(fit):
        lines.append("each Mac's epochs fitted as steps × a + c, c the same at every batch size: "
                     + "; ".join(f"{who} a = {sig(a, 2)} ms, c = {sig(c, 2)} s" for who, a, c in
                                 zip(fit["reported"], fit["ms per step"], fit["s per epoch"], strict=True))
                     + f" (epochs within {sig(fit['worst residual %'].max(), 2)} % of the fit)")
    return per_image, table, lines


#: Short keys for the reported sources in :func:`mac_chip_tables` (a cell's value is followed by its key).
SOURCE_KEYS = {"chsasank-device-benchmarks": "D", "zzc0721-torch-performance-test-data": "Z"}
_MATMUL_WORKLOADS = {"chsasank-matmul", "zzc0721-mm-max"}


def _keyed(part: pd.DataFrame) -> str:
    """Reported figures as 'value key' pairs ('11.4 D, 11.5 Z'), or '–' where none is reported; ordered by source
    and then by the row each figure was read from, so that two Macs of one chip come in the same order in every
    column of a row."""
    if part.empty:
        return "–"
    rows = sorted(zip(part["source"], part["url"], part["value"], strict=True), key=lambda r: (r[0], r[1]))
    return ", ".join(f"{v:g} {SOURCE_KEYS.get(s, s)}" for s, _, v in rows)


def mac_chip_tables(reported: pd.DataFrame, chips: Collection[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chapter 10's "Your Mac, chip by chip": two narrow tables, one row per Apple chip.

    ``rates``: the reported best matrix-product rates in TFLOP/s (rows of :func:`mpsbook.reported.load_reported`,
    device-benchmarks' and torch-performance-test-data's tables) on the GPU in float32, float16 and bfloat16 and on
    the CPU in float32, each value followed by its source key (:data:`SOURCE_KEYS`), and the GPU ÷ CPU factor where
    one source reports both devices of the chip. ``specs``: the GPU-core counts the sources state, Apple's memory
    bandwidth for that configuration (``peak_for``; ``chips.csv`` says where it was read), the bandwidth of a tensor
    copy on the GPU that device-benchmarks measured (bytes read plus written), the float32 peak with its basis
    ("Apple" where Apple states it, "derived" otherwise), the float32 operations per byte of memory traffic at
    which the GPU turns from bandwidth-bound to arithmetic-bound (peak ÷ bandwidth, the ridge of a roofline), and the
    best reported GPU float32 rate as a share of the peak.
    ``chips`` adds chips with nothing reported (the M5 family): their cells say "–", never a guess.
    """
    apple = reported[(reported["vendor"] == "Apple") & reported["workload"].isin(_MATMUL_WORKLOADS)]
    copies = reported[(reported["vendor"] == "Apple") & (reported["workload"] == "chsasank-copy-bandwidth")]
    order = {str(p["chip"]): i for i, p in enumerate(published_peaks())}
    names = sorted(dict.fromkeys([*apple["chip"], *chips]), key=lambda c: (order.get(c, len(order)), c))
    rates, specs = {}, {}
    for chip in names:
        mine = apple[apple["chip"] == chip]
        gpu, cpu = mine[mine["device"] == "mps"], mine[(mine["device"] == "cpu") & (mine["dtype"] == "float32")]
        row = {dtype: _keyed(gpu[gpu["dtype"] == dtype]) for dtype in ("float32", "float16", "bfloat16")}
        row["CPU float32"] = _keyed(cpu)
        pairs = [(s, g, c) for s in sorted(set(cpu["source"])) for g in
                 gpu[(gpu["source"] == s) & (gpu["dtype"] == "float32")]["value"]
                 for c in cpu[cpu["source"] == s]["value"]]
        # rounded first, so that 1.4 / 0.8 reads 1.8 like the 1.75 it is, not 1.7 from 1.7499999999999998
        row["GPU ÷ CPU"] = ", ".join(f"{sig(round(g / c, 9), 2)} {SOURCE_KEYS.get(s, s)}" for s, g, c in pairs) or "–"
        key = chip.removeprefix("Apple ")
        rates[key] = row
        cores = sorted({int(c) for c in gpu["gpu_cores"].dropna()})
        top = next((p for p in published_peaks() if p["chip"] == chip), {})
        if len(cores) == 1:
            peak, cores_text = peak_for(chip, gpu_cores=cores[0]), str(cores[0])
        elif not len(gpu) and top.get("gpu_cores"):  # nothing reported (the M5s): the top configuration
            peak, cores_text = peak_for(chip, gpu_cores=int(top["gpu_cores"])), f"{int(top['gpu_cores'])} (top)"
        else:  # the source states no core count (or several): no peak to divide by
            peak, cores_text = None, "not stated"
        bandwidth = (peak or top).get("memory_bandwidth_gbs")
        same_bandwidth = len(set(gpu_configs(top).values())) == 1 if top else False  # e.g. every M2: 100 GB/s
        copy = copies[(copies["chip"] == chip) & (copies["device"] == "mps")]
        best = gpu[gpu["dtype"] == "float32"]["value"].max() if len(gpu) else float("nan")
        fp32 = peak.get("float32_tflops") if peak else None
        specs[key] = {
            "GPU cores": cores_text,
            "bandwidth GB/s": f"{float(bandwidth):g}{'' if peak or same_bandwidth else ' (top)'}" if bandwidth else "–",
            "GPU copy GB/s": _keyed(copy),
            "FP32 peak": f"{fp32:g} ({'Apple' if peak['float32_basis'] == 'stated' else 'derived'})" if fp32
            else "–",
            "FLOP per byte": f"{1000 * float(fp32) / float(bandwidth):.0f}" if fp32 and bandwidth else "–",
            "best fp32 % of peak": f"{100 * best / float(fp32):.0f}" if fp32 and np.isfinite(best) else "–",
        }
    frame = pd.DataFrame.from_dict(rates, orient="index").rename_axis(index=None)
    return frame, pd.DataFrame.from_dict(specs, orient="index").rename_axis(index=None)


def reported_dtype_speedups(reported: pd.DataFrame, dtypes: Collection[str] = ("float16", "bfloat16"),
                            reference: str = "float32") -> dict[str, tuple[pd.Series, str]]:
    """Other people's per-size 16-bit speed-ups on Apple GPUs: for each machine that reported a ``-sweep`` of
    ``reference`` and of a dtype in ``dtypes``, the dtype's rate ÷ the reference's at each size they share, as
    label → (ratio indexed by n, dtype); labels as :func:`reported_sweeps` gives them."""
    float32 = reported_sweeps(reported, (reference,), by="dtype")
    other = reported_sweeps(reported, dtypes, by="dtype")
    ratios: dict[str, tuple[pd.Series, str]] = {}
    for label, (series, dtype) in other.items():
        name, where = label.rsplit(", ", 1)
        base = f"{name.removesuffix(' ' + dtype)} {reference}, {where}"
        if base in float32:
            ratio = (series / float32[base][0]).dropna()
            if len(ratio):
                ratios[label] = (ratio, dtype)
    return ratios


def reported_sweeps(reported: pd.DataFrame, dtypes: Collection[str] = ("float32",),
                    by: str = "device") -> dict[str, tuple[pd.Series, str]]:
    """The per-size matrix-product figures other people reported for Apple chips (workloads ending in ``-sweep``),
    one line per machine, device and dtype in ``dtypes``: label → (TFLOP/s indexed by n, key). The key is the line
    of a live sweep the reported one belongs beside (``by="device"``: "mps" or "cpu"; ``by="dtype"``: the dtype),
    so a plot can draw both in one colour; the label names the chip, the device, the dtype where ``by="dtype"``, and
    the source key with the pull request or issue number (e.g. "M4 Max GPU, D #13"). A figure marked ``outlier`` in
    its source file is left out of the lines (and so of the ratios built from them)."""
    if by not in ("device", "dtype"):
        raise ValueError(f"by must be 'device' or 'dtype'; got {by!r}.")
    rows = reported[reported["workload"].str.endswith("-sweep") & reported["vendor"].eq("Apple")
                    & reported["dtype"].isin(list(dtypes)) & reported["size"].notna() & reported["outlier"].isna()]
    lines: dict[str, tuple[pd.Series, str]] = {}
    for (chip, device, dtype, source, url), part in rows.groupby(["chip", "device", "dtype", "source", "url"],
                                                                 sort=False):
        where = f"{SOURCE_KEYS.get(source, source)} #{str(url).rstrip('/').rsplit('/', 1)[-1]}"
        if source == "chsasank-device-benchmarks":  # each of its timings is one call and a wait: not comparable
            where += " (single calls)"
        name = f"{chip.removeprefix('Apple ')} {'GPU' if device == 'mps' else 'CPU'}"
        label = f"{name}, {where}" if by == "device" else f"{name} {dtype}, {where}"
        series = part.set_index(part["size"].astype(int))["value"].sort_index()
        lines[label] = (series, device if by == "device" else dtype)
    return lines
