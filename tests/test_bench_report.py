"""The benchmark chapter's presentation plumbing (mpsbook.bench.report): spread, narrow tables, side-by-side figures."""

from __future__ import annotations

import math
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mpsbook.bench import plots, report
from mpsbook.bench.cases import TRAIN_IMAGES
from mpsbook.reported import load_reported

matplotlib.use("Agg")


@pytest.mark.parametrize(
    ("x", "digits", "text"),
    [(1234.5, 3, "1,234"), (0.012345, 3, "0.0123"), (51.96, 3, "52.0"), (3.7, 2, "3.7"), (183.4, 2, "183"),
     (0.0, 3, "0"), (float("nan"), 3, "nan")],
)
def test_sig(x, digits, text):
    assert report.sig(x, digits) == text


def test_spread_text_and_iqr_percent():
    assert report.spread_text(0.0005, 0.0149, 5) == "IQR 3 %, 5 blocks"
    assert report.spread_text(0.00001, 0.0149, 4) == "IQR <1 %, 4 blocks"
    assert report.spread_text(0.0, 0.0149, 1) == "1 block"  # one block: no spread to show, not zero spread
    assert report.iqr_percent(0.0005, 0.0149, 5) == "3"
    assert report.iqr_percent(0.0005, 0.0149, 1) == "–"
    assert report.iqr_percent(0.0005, 0.0149, pd.NA) == "–"
    # two or three blocks: a rough figure, and it says so
    assert report.iqr_percent(0.0005, 0.0149, 2) == "3 (2 blocks)"
    assert report.spread_text(0.0005, 0.0149, 3) == "IQR 3 % of only 3 blocks"
    assert report.with_spread(0.0048, 0.00024, 5) == "4.80 (IQR 5 %, 5 blocks)"
    assert report.with_spread(2.96e-6, 2e-7, 5, scale=1e6) == "2.96 (IQR 7 %, 5 blocks)"


def test_band_iqr_and_edges():
    frame = pd.DataFrame({"iqr_s": [0.2, 0.4], "samples": [5, 1], "median_s": [1.0, 2.0]})
    band = report.band_iqr(frame)
    assert band.iloc[0] == 0.2 and math.isnan(band.iloc[1])
    fast, slow = report.edges(frame["median_s"], band)
    assert fast.iloc[0] == pytest.approx(0.9) and slow.iloc[0] == pytest.approx(1.1)
    fast, _ = report.edges(1.0, 4.0)  # a spread wider than the median stays drawable on a log axis
    assert fast == pytest.approx(1e-3)


def test_float32_label():
    cuda = {"device": {"type": "cuda"}, "software": {}}
    assert report.float32_label(cuda, "resnet50") == "float32, TF32 convolutions"
    assert report.float32_label(cuda, "lstm") == "float32, TF32 RNN"
    assert report.float32_label(cuda, "bert") == "float32"
    off = {"device": {"type": "cuda"}, "software": {"cudnn_allow_tf32": False}}
    assert report.float32_label(off, "resnet50") == "float32"
    assert report.float32_label({"device": {"type": "mps"}, "software": {}}, "resnet50") == "float32"


def _reported() -> pd.DataFrame:
    return pd.DataFrame({
        "source": ["mrdbourke-mac-ml-speed-test"] * 3, "workload": ["w"] * 3, "dtype": [None] * 3,
        "chip": ["Apple M1 Pro", "Apple M3", "NVIDIA TITAN RTX"], "vendor": ["Apple", "Apple", "NVIDIA"],
        "gpu_cores": [16, np.nan, np.nan], "device": ["mps", "mps", "cuda"], "batch_size": [32, 32, 32],
        "value": [249.0, 184.0, 27.8],
    })


def test_reported_rows_and_names():
    rows = report.reported_rows(_reported(), "w")
    assert list(rows.columns) == list(report.SIDE_COLUMNS)
    assert rows["who"].tolist() == ["Apple M1 Pro (16-core GPU)", "Apple M3 GPU", "NVIDIA TITAN RTX"]
    assert set(rows["by"]) == {"Daniel Bourke (mac-ml-speed-test)"}
    assert rows["value"].tolist() == [249.0, 184.0, 27.8] and rows["x"].tolist() == [32.0] * 3
    assert report.reported_rows(_reported(), "another workload").empty


def _records() -> pd.DataFrame:
    return pd.DataFrame({
        "machine": ["gpu", "gpu", "gpu"], "benchmark": ["train_resnet50_32"] * 3, "mode": ["eager", "eager", "compile"],
        "dtype": ["float32"] * 3, "batch": [32, 128, 128], "median_s": [0.02, 0.04, 0.03], "iqr_s": [0.002, 0.0, 0.0],
        "samples": [5, 1, 5], "epoch_items": [50_000] * 3,
    })


def test_book_training_rows_in_seconds_per_epoch_and_samples_per_second():
    epoch = report.book_training_rows(_records(), "train_resnet50_32", "s/epoch", {"gpu": "the GPU"})
    assert len(epoch) == 2  # the compiled step is not the eager float32 one
    assert epoch["who"].tolist() == ["the GPU", "the GPU"]
    assert epoch["value"].tolist() == pytest.approx([1563 * 0.02, 391 * 0.04])  # ⌈50,000 ÷ batch⌉ × median
    assert epoch["low"].iloc[0] == pytest.approx(1563 * 0.019) and epoch["high"].iloc[0] == pytest.approx(1563 * 0.021)
    assert math.isnan(epoch["low"].iloc[1])  # one block: no error bar
    rate = report.book_training_rows(_records(), "train_resnet50_32", "samples/s")
    assert rate["value"].tolist() == pytest.approx([1600.0, 3200.0])
    with pytest.raises(ValueError, match="unit must be"):
        report.book_training_rows(_records(), "train_resnet50_32", "TFLOP/s")


def test_side_by_side_table_is_narrow_and_keeps_the_spread():
    book = report.book_training_rows(_records(), "train_resnet50_32", "s/epoch")
    rows = pd.concat([book, report.reported_rows(_reported(), "w")], ignore_index=True)
    table = report.side_by_side_table(rows, "s/epoch")
    assert list(table.columns) == [32, 128, "IQR %"]
    assert table.loc[("this book", "gpu"), 32] == "31.3" and table.loc[("this book", "gpu"), "IQR %"] == "10"
    assert table.loc[("reported", "Apple M3 GPU"), 128] == "–"
    assert table.loc[("reported", "Apple M3 GPU"), "IQR %"] == "–"
    without_batch = report.side_by_side_table(rows.assign(x=np.nan).drop_duplicates("who"), "TFLOP/s")
    assert list(without_batch.columns) == ["TFLOP/s", "IQR %"]
    reported_only = report.side_by_side_table(report.reported_rows(_reported(), "w"), "s/epoch")
    assert "IQR %" not in reported_only.columns  # no row of this book's: no spread column of dashes




def test_implied_rates_and_their_summary():
    rates = report.implied_rates(_reported(), "w", flop_per_item=0.5e9, benchmark="train_resnet50_32")
    images = TRAIN_IMAGES["train_resnet50_32"][2]
    assert rates["TFLOP/s"].tolist() == pytest.approx([0.5e9 * images / v / 1e12 for v in (249.0, 184.0, 27.8)])
    m1_pro = rates.iloc[0]
    assert m1_pro["% of peak"] == pytest.approx(100 * m1_pro["TFLOP/s"] / 5.308, rel=1e-3)  # derived 16-core peak
    assert m1_pro["peak TFLOP/s"] == pytest.approx(5.308, rel=1e-3)
    assert math.isnan(rates.iloc[1]["% of peak"])  # the source states no GPU cores: no peak, no percentage
    lines = report.rate_lines(rates)
    assert lines[0].startswith("the whole loop's implied rate as a share of the GPU's float32 peak (derived for")
    titan = rates.iloc[2]  # an NVIDIA card in peaks.csv: its stated peak, and a share; the Macs' range leaves it out
    assert titan["% of peak"] == pytest.approx(100 * titan["TFLOP/s"] / 16.3, rel=1e-3)
    share = f"{m1_pro['% of peak']:.0f}"  # the one Mac with a share here
    assert "NVIDIA TITAN RTX" in lines[0] and lines[0].endswith(f"(the Macs at the largest batch: {share}–{share} %)")
    assert "Apple M1 Pro (16-core GPU)" in lines[0]
    assert lines[1].endswith("32: 6.6×")  # 184 s ÷ 27.8 s


def test_epoch_costs_split_an_epoch_into_its_steps_and_the_rest():
    batches = [16, 64, 256, 1024]
    exact = [np.ceil(1000 / b) * 0.05 + 2.0 for b in batches]  # 50 ms a step, 2 s an epoch whatever the batch
    rates = pd.DataFrame({"reported": ["mac"] * 4 + ["two sizes"] * 2, "batch": [*batches, 16, 64],
                          "s/epoch": [*exact, 1.0, 2.0]})
    fit = report.epoch_costs(rates, items=1000)
    assert fit["reported"].tolist() == ["mac"]  # fewer than four batch sizes: no fit
    assert fit.iloc[0]["ms per step"] == pytest.approx(50) and fit.iloc[0]["s per epoch"] == pytest.approx(2)
    assert fit.iloc[0]["worst residual %"] == pytest.approx(0, abs=1e-9)


def test_plots_draw_what_they_are_given():
    book = report.book_training_rows(_records(), "train_resnet50_32", "s/epoch")
    rows = pd.concat([book, report.reported_rows(_reported(), "w")], ignore_index=True)
    fig = plots.plot_side_by_side(rows, "s/epoch", "title", {"gpu": "cuda"})
    assert len(fig.axes[0].get_lines()) == 3 and not fig.axes[0].containers  # the reported lines; no cuda line
    assert "gpu" not in fig.axes[0].get_title()  # the table's caption names it; the plot shows no trace of it
    assert "filled" not in fig.axes[0].get_title()  # nothing of this book's is drawn, so no legend for it
    on_a_mac = plots.plot_side_by_side(rows, "s/epoch", "title", {"gpu": "mps"})
    assert [c.get_label() for c in on_a_mac.axes[0].containers] == ["gpu (this book, steps only)"]
    assert "not a Mac" not in on_a_mac.axes[0].get_title()
    on_a_mac.canvas.draw()  # tick labels are plain numbers (no "3×10²"), minor ones empty
    labels = [t.get_text() for t in on_a_mac.axes[0].get_yticklabels() if t.get_text()]
    assert labels and not any("10^" in t or "times" in t for t in labels)
    assert not [t.get_text() for t in on_a_mac.axes[0].get_yminorticklabels() if t.get_text()]
    with pytest.raises(ValueError, match="by batch size"):
        plots.plot_side_by_side(rows.assign(x=np.nan), "s/epoch", "title", {"gpu": "cuda"})
    train = _records().assign(who="gpu", workload="ResNet-50, 32×32", compile_s=[np.nan, np.nan, 12.0])
    panels = plots.plot_training_variants(train)
    assert panels is not None and len(panels.axes) == 3
    assert plots.plot_training_variants(train.iloc[:0]) is None


def _live() -> dict[str, pd.DataFrame]:
    index = pd.Index([64, 1024], name="n")
    return {"mps": pd.DataFrame({"median_s": [1e-4, 1e-3], "iqr_s": [2e-5, 1e-5], "samples": [5, 5]}, index=index),
            "cpu": pd.DataFrame({"median_s": [1e-5, 1e-2], "iqr_s": [1e-6, 5e-4], "samples": [5, 1]}, index=index)}


def test_sweep_table():
    live = _live()
    verdict = pd.Series(["slower", "faster"], index=live["mps"].index)
    table = report.sweep_table(live, verdict, accelerator="mps")
    assert list(table.columns) == ["mps ms", "mps IQR %", "cpu ms", "cpu IQR %", "speed-up", "mps is"]
    assert table.loc[64, "mps ms"] == "0.100" and table.loc[64, "mps IQR %"] == "20"
    assert table.loc[1024, "cpu IQR %"] == "–"  # one block
    assert table.loc[64, "speed-up"] == "0.10" and table.loc[1024, "speed-up"] == "10"
    assert table.loc[1024, "mps is"] == "faster"
    only_cpu = report.sweep_table({"cpu": live["cpu"]})
    assert list(only_cpu.columns) == ["cpu ms", "cpu IQR %"]


def test_plot_sweep():
    fig = plots.plot_sweep(_live(), crossover=1024, title="t")
    ax = fig.axes[0]
    assert "crossover: mps faster from n = 1024 up" in [t.get_text() for t in ax.get_legend().get_texts()]
    x, y = ax.get_lines()[0].get_data()
    assert list(x) == [64, 1024]
    assert y[1] == pytest.approx(2 * 1024**3 / 1e-3 / 1e12)  # TFLOP/s at the median
    assert ax.get_ylabel() == "TFLOP/s"
    assert ax.get_title() == "t" and ax.get_xscale() == "log"


def test_reported_sweeps_and_their_hollow_lines():
    reported = load_reported()
    by_device = report.reported_sweeps(reported)
    series, key = by_device["M4 Max GPU, D #13 (single calls)"]
    assert key == "mps" and series.index[0] == 256 and series.loc[1024] == pytest.approx(4.273)  # TFLOP/s
    assert by_device["M1 Pro CPU, D #4 (single calls)"][1] == "cpu"
    assert all(s.index.is_monotonic_increasing for s, _ in by_device.values())
    by_dtype = report.reported_sweeps(reported, ["float16", "bfloat16"], by="dtype")
    assert {key for _, key in by_dtype.values()} == {"float16", "bfloat16"}
    assert "M1 Pro GPU bfloat16, Z #191" in by_dtype
    with pytest.raises(ValueError, match="by must be 'device' or 'dtype'"):
        report.reported_sweeps(reported, by="chip")
    fig = plots.plot_sweep(_live(), title="t", reported=by_device)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    hollow = lines["M4 Max GPU, D #13 (single calls) (reported)"]
    assert hollow.get_markerfacecolor() == "none" and hollow.get_linestyle() == "--"
    assert hollow.get_color() == lines["M3 Max GPU, D #7 (single calls) (reported)"].get_color() == "C0"  # mps
    assert lines["M1 Pro CPU, D #4 (single calls) (reported)"].get_color() == "C1"  # the live cpu line's


def test_dtype_speedups_reported_and_plotted():
    reported = load_reported()
    ratios = report.reported_dtype_speedups(reported)
    series, dtype = ratios["M1 Pro GPU bfloat16, Z #191"]
    assert dtype == "bfloat16" and series.loc[4096] == pytest.approx(2.25 / 4.28)  # issue #191's per-size figures
    assert set(series.index) == {1024, 2048, 4096, 8192, 10240}
    m4_max = reported[reported["outlier"].notna()]  # Z's M4 Max: its first, cold float32 product at n = 1024
    assert m4_max[["chip", "size", "value"]].values.tolist() == [["Apple M4 Max", 1024, 5.33]]
    assert 1024 not in ratios["M4 Max GPU float16, Z #65"][0].index  # an outlier draws no line and no ratio
    timings = {"float32": _live()["cpu"], "float16": _live()["mps"]}
    fig = plots.plot_dtype_speedups(timings, reported=ratios)
    lines = {line.get_label(): line for ax in fig.axes for line in ax.get_lines()}
    assert len(fig.axes) == 2  # the reported Macs get their own panel and scale, the first
    assert {line.get_label() for line in fig.axes[0].get_lines()} >= {"M1 Pro GPU float16, Z #191 (reported)"}
    assert "this page" not in " ".join(line.get_label() for line in fig.axes[0].get_lines())
    x, y = lines["float16, this page"].get_data()
    assert list(x) == [64, 1024] and y == pytest.approx([0.1, 10.0])  # float32 time ÷ float16 time
    markers = [line for line in fig.axes[1].get_lines() if line.get_linestyle() == "None"]
    assert "grey" in {line.get_color() for line in markers}  # 64: both lines on their floor
    assert "both at the per-call floor (overhead)" in [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert lines["M1 Pro GPU float16, Z #191 (reported)"].get_color() == lines["float16, this page"].get_color()
    assert lines["M1 Pro GPU bfloat16, Z #191 (reported)"].get_markerfacecolor() == "none"


def test_sweep_table_gives_bandwidth_when_told_the_bytes():
    live = {"cpu": pd.DataFrame({"median_s": [2e-6, 1e-3], "iqr_s": [1e-7, 1e-5], "samples": [5, 5]},
                                index=[1024, 2**20])}
    table = report.sweep_table(live, unit="µs", bytes_per_call=lambda n: 12 * n)
    assert list(table["cpu GB/s"]) == ["6.14", "12.6"]  # 12 bytes an element ÷ the median


def test_error_bars_are_the_verdicts_noise_margin():
    t = pd.DataFrame({"median_s": [1e-3, 1e-3], "iqr_s": [1e-4, 1e-5], "samples": [5, 3]}, index=[64, 128])
    fast, slow = plots.margin_edges(t)
    assert list(fast) == pytest.approx([0.9e-3, 0.9e-3]) and list(slow) == pytest.approx([1.1e-3, 1.1e-3])
    fig = plots.plot_time_sweep({"cpu": t}, xlabel="n")
    labels = [x.get_text() for x in fig.axes[0].get_legend().get_texts()]
    assert "cpu, this page (median ± IQR)" in labels


def test_plot_speedups_draws_the_ratio_and_its_iqr_band():
    live = _live()
    curves = {("gpu", "matmul float32"): live["mps"].add_suffix("_acc").join(live["cpu"].add_suffix("_cpu"))}
    fig = plots.plot_speedups(curves)
    ax_mm = fig.axes[0]
    x, y = ax_mm.get_lines()[0].get_data()
    assert list(x) == [64, 1024] and y == pytest.approx([0.1, 10.0])  # CPU time ÷ accelerator time
    assert len(ax_mm.collections) == 1  # the band
    legend = [t.get_text() for t in ax_mm.get_legend().get_texts()]
    assert legend.count("accelerator at its per-call floor (the ratio: a lower bound)") == 1  # n = 64 sits on it


def _timing(median_s: float, iqr_s: float, samples: int) -> SimpleNamespace:
    return SimpleNamespace(median_s=median_s, iqr_s=iqr_s, samples=samples)


def test_speedup_range_and_noisy_timings():
    # the stored H100 run's ResNet-50 at batch 1, rounded: Xeon CPU 30.4 ms (IQR 2.0 ms), H100 3.7 ms (IQR 2.5 ms)
    cpu, gpu = _timing(0.0304, 0.0020, 3), _timing(0.0037, 0.0025, 3)
    ratio, low, high = report.speedup_range(cpu, gpu)
    assert ratio == pytest.approx(0.0304 / 0.0037)
    # three blocks: the CPU's margin is a tenth of its median (3.04 ms), more than its rough IQR (2.0 ms)
    assert low == pytest.approx((0.0304 - 0.00152) / (0.0037 + 0.00125))  # 5.83
    assert high == pytest.approx((0.0304 + 0.00152) / (0.0037 - 0.00125))  # 13.0
    assert report.speedup_text(cpu, gpu) == "8.2 (5.8–13)"
    five = report.speedup_range(_timing(0.0304, 0.0020, 5), _timing(0.0037, 0.0025, 5))  # from four blocks: the IQR
    assert five[1] == pytest.approx((0.0304 - 0.0010) / (0.0037 + 0.00125))
    assert report.is_noisy(gpu) and not report.is_noisy(cpu)  # 68 % and 7 % of the median
    assert not report.is_noisy(_timing(0.010, 0.002, 5))  # exactly 20 % is not above it
    assert not report.is_noisy(_timing(0.010, 0.009, 1))  # one block: no spread to judge
    ratio, low, high = report.speedup_range(_timing(0.0304, math.nan, 1), _timing(0.0037, math.nan, 1))
    # single blocks: no IQR, but the verdict's floor of a tenth of each median, not a false precision of zero
    assert low == pytest.approx((0.0304 * 0.95) / (0.0037 * 1.05))
    assert high == pytest.approx(0.0304 * 1.05 / 0.0037 / 0.95)
    assert report.speedup_text(_timing(0.0304, 0.0, 1), _timing(0.0037, 0.0, 1)) == "8.2 (7.4–9.1)"


def test_run_peak():
    assert report.run_peak({"device": {"type": "cpu", "name": "AMD EPYC", "cores": 2}}) == {}
    h200 = report.run_peak({"device": {"type": "cuda", "name": "NVIDIA H200", "cores": 132}})
    assert h200["float32_tflops"] == pytest.approx(66.91) and h200["bfloat16_tflops"] == pytest.approx(989)
    m1_pro = report.run_peak({"device": {"type": "mps", "name": "Apple M1 Pro", "cores": 16}})
    assert m1_pro["float32_tflops"] == pytest.approx(5.308) and m1_pro["memory_bandwidth_gbs"] == pytest.approx(200)
    assert report.run_peak({"device": {"type": "cuda", "name": "NVIDIA GeForce GTX 480", "cores": 15}}) == {}


def _peak_runs() -> dict:
    return {
        "gpu": {"provenance": {"device": {"type": "cuda", "name": "NVIDIA H200", "cores": 132}}},
        "busy": {"provenance": {"device": {"type": "cuda", "name": "NVIDIA H200", "cores": 132}}},
        "cpu": {"provenance": {"device": {"type": "cpu", "name": "AMD EPYC", "cores": 2}}},
    }


def _peak_records() -> pd.DataFrame:
    rows = []
    for machine in ("gpu", "busy", "cpu"):
        rows += [
            {"machine": machine, "benchmark": "matmul", "dtype": "float32", "size": 1024, "gflop_per_s": 40_000.0,
             "gb_per_s": np.nan, "median_s": 5.4e-5, "iqr_s": 1e-6, "samples": 5},
            {"machine": machine, "benchmark": "matmul", "dtype": "float32", "size": 4096, "gflop_per_s": 51_000.0,
             "gb_per_s": np.nan, "median_s": 2.7e-3, "iqr_s": 3e-5, "samples": 5},
            {"machine": machine, "benchmark": "elementwise", "dtype": "float32", "size": 2**28, "gflop_per_s": np.nan,
             "gb_per_s": 4379.0, "median_s": 7.4e-4, "iqr_s": 0.0, "samples": 1},
        ]
    return pd.DataFrame(rows)


def _reported_peaks() -> pd.DataFrame:
    def row(chip, vendor, cores, device, workload, dtype, value):
        return {"source": "chsasank-device-benchmarks", "chip": chip, "vendor": vendor, "gpu_cores": cores,
                "device": device, "workload": workload, "dtype": dtype, "value": value, "url": f"README#{chip}"}

    return pd.DataFrame([
        row("Apple M1 Pro", "Apple", 16, "mps", "chsasank-matmul", "float32", 3.7),
        row("Apple M1 Pro", "Apple", 16, "mps", "chsasank-matmul", "float16", 4.3),  # no Apple 16-bit peak
        row("Apple M1 Pro", "Apple", np.nan, "cpu", "chsasank-matmul", "float32", 0.3),  # no CPU arithmetic peak
        row("Apple M1 Pro", "Apple", np.nan, "cpu", "chsasank-copy-bandwidth", "float32", 96.0),
        row("Apple M1 Pro", "Apple", 16, "mps", "chsasank-copy-bandwidth", "float32", 176.0),
        row("Apple M2", "Apple", np.nan, "mps", "chsasank-matmul", "float32", 2.0),
        row("NVIDIA V100 32GB", "NVIDIA", np.nan, "cuda", "chsasank-matmul", "float32", 13.0),  # not in peaks.csv
    ])


def test_book_and_reported_peak_rows():
    book = report.book_peak_rows(_peak_runs(), _peak_records(), {"gpu": "the H200"}, flagged={"busy"})
    assert list(book.columns) == list(report.PEAK_COLUMNS)
    mine = book[book["who"] == "the H200"].set_index("figure")
    assert mine.loc["matmul float32, best (n = 4096)", "share"] == pytest.approx(100 * 51.0 / 66.91)  # 76 %
    assert mine.loc["matmul float32, best (n = 4096)", "spread"] == "IQR 1 %, 5 blocks"
    assert mine.loc["add, 2^28 elements", "share"] == pytest.approx(100 * 4379 / 4800)  # 91 %
    assert mine.loc["add, 2^28 elements", "spread"] == "1 block"
    assert set(book.loc[book["who"] == "busy", "share"]) == {"flagged: not used"}
    assert set(book.loc[book["who"] == "cpu", "share"]) == {"no peak stated"}
    theirs = report.reported_peak_rows(_reported_peaks())
    assert theirs["figure"].tolist() == ["matmul float32", "copy float32", "copy float32", "matmul float32"]
    shares = dict(zip(theirs["who"] + " " + theirs["figure"], theirs["share"], strict=True))
    assert shares["Apple M1 Pro (16-core GPU) matmul float32"] == pytest.approx(100 * 3.7 / 5.308)  # 70 %
    assert shares["Apple M1 Pro (16-core GPU) copy float32"] == pytest.approx(88.0)
    assert shares["Apple M1 Pro CPU copy float32"] == "GPU cores not stated: no peak"
    assert shares["Apple M2 GPU matmul float32"] == "GPU cores not stated: no peak"


def test_peak_table_and_plot():
    rows = pd.concat([report.book_peak_rows(_peak_runs(), _peak_records(), {"gpu": "the H200"}, flagged={"busy"}),
                      report.reported_peak_rows(_reported_peaks())], ignore_index=True)
    table = report.peak_table(rows).splitlines()
    assert table[0] == "| Who | Measured by | Figure | Value | % of peak |"
    assert "| the H200 | this book | add, 2^28 elements | 4,379 GB/s (1 block) | 91 % of 4800 |" in table
    assert ("| Apple M1 Pro (16-core GPU) | device-benchmarks contributors | copy float32 | 176 GB/s | 88 % of 200 |"
            in table)
    assert not [line for line in table if "matmul float32" in line]  # those are drawn, not tabled
    assert len(table) == 2 + 2  # the H200's add and the M1 Pro GPU's copy: the only other rows with a percentage
    fig = plots.plot_peak_shares(rows)
    assert len(fig.axes[0].patches) == 2  # the H200's and the M1 Pro GPU's float32 products
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["Apple M1 Pro (16-core GPU) — reported by device-benchmarks contributors",
                      "the H200 — this book"]  # sorted by share: 70 % below 76 %






def test_implied_rate_table():
    records = pd.DataFrame({"benchmark": ["train_resnet50_32"] * 2, "batch": [32, 128],
                            "flop": [32 * 0.497e9, 128 * 0.497e9]})
    per_image, table, lines = report.implied_rate_table(records, _reported(), "train_resnet50_32", "w")
    assert per_image == pytest.approx(0.497e9)
    assert table.loc["Apple M1 Pro (16-core GPU)", 32] == "0.100"  # 0.497 GFLOP × 50,000 ÷ 249 s = 0.0998
    assert table.loc["NVIDIA TITAN RTX", 32] == "0.89"
    assert table.loc["Apple M1 Pro (16-core GPU)", "float32 peak"] == "5.31"  # the derived 16-core peak, shown
    assert table.loc["NVIDIA TITAN RTX", "float32 peak"] == "16.3"  # peaks.csv's stated figure
    assert lines == report.rate_lines(report.implied_rates(_reported(), "w", 0.497e9, "train_resnet50_32"))


def test_mac_chip_tables():
    reported = _reported_peaks()
    zzc = {"source": "zzc0721-torch-performance-test-data", "chip": "Apple M1 Pro", "vendor": "Apple",
           "gpu_cores": 16, "device": "mps", "workload": "zzc0721-mm-max", "url": "database.md#L10"}
    air = {**zzc, "chip": "Apple M4", "gpu_cores": 10}
    reported = pd.concat([reported, pd.DataFrame([
        {**zzc, "dtype": "float32", "value": 4.28}, {**zzc, "dtype": "bfloat16", "value": 2.3},
        {**air, "url": "database.md#L43", "dtype": "float32", "value": 2.88},  # two Macs of one chip
        {**air, "url": "database.md#L43", "dtype": "float16", "value": 1.57},
        {**air, "url": "database.md#L42", "dtype": "float32", "value": 2.98},
        {**air, "url": "database.md#L42", "dtype": "float16", "value": 3.12}])], ignore_index=True)
    rates, specs = report.mac_chip_tables(reported, chips=["Apple M5"])
    assert rates.index.tolist() == ["M1 Pro", "M2", "M4", "M5"] == specs.index.tolist()  # Apple, chips.csv order
    m4 = rates.loc["M4"]  # each Mac keeps its place in every column (not sorted by value)
    assert m4["float32"] == "2.98 Z, 2.88 Z" and m4["float16"] == "3.12 Z, 1.57 Z"
    assert list(rates.columns) == ["float32", "float16", "bfloat16", "CPU float32", "GPU ÷ CPU"]
    pro = rates.loc["M1 Pro"]
    assert pro["float32"] == "3.7 D, 4.28 Z" and pro["float16"] == "4.3 D" and pro["bfloat16"] == "2.3 Z"
    assert pro["CPU float32"] == "0.3 D"
    assert pro["GPU ÷ CPU"] == "12 D"  # only a source that reports both devices of the chip gives a factor
    assert (rates.loc["M5"] == "–").all()  # nothing reported: no cell is filled in
    assert specs.loc["M1 Pro"].tolist() == ["16", "200", "176 D", "5.308 (derived)", "27", "81"]  # 4.28 / 5.308
    assert specs.loc["M2", "GPU copy GB/s"] == "–"  # the CPU's copy (none here) or nothing: never the CPU's
    assert specs.loc["M2", "GPU cores"] == "not stated" and specs.loc["M2", "FP32 peak"] == "–"
    assert specs.loc["M2", "bandwidth GB/s"] == "100"  # every M2 has it: no "(top)"
    assert specs.loc["M5"].tolist() == ["10 (top)", "153", "–", "4.147 (derived)", "27", "–"]  # 4147 / 153
    stored, _ = report.mac_chip_tables(load_reported())
    assert stored.loc["M1", "GPU ÷ CPU"] == "1.8 D"  # 1.4 / 0.8 = 1.75, not the 1.7 of 1.7499999999999998


def test_dtype_table_gives_speed_ups_and_verdicts_against_float32():
    sizes = [64, 128, 256, 512]
    f32 = pd.DataFrame({"median_s": [0.001, 0.0011, 0.003, 0.012], "iqr_s": 1e-5, "samples": 5}, index=sizes)
    f16 = pd.DataFrame({"median_s": [0.0008, 0.001, 0.001, 0.006], "iqr_s": 1e-5, "samples": 5}, index=sizes)
    table = report.dtype_table({"float32": f32, "float16": f16})
    assert list(table.columns) == ["float32 ms", "float16 ms", "float16 ×"]
    # 64 and 128: both lines within 1.5x of their fastest time, so the ratio is overhead, not arithmetic; at 256
    # float16 is still on its floor but float32 is not: faster, but the 3.0 is only a lower bound
    assert list(table["float16 ×"]) == ["1.2 (both at floor)", "1.1 (both at floor)", "3.0 (faster, at floor)",
                                        "2.0 (faster)"]
    with pytest.raises(ValueError, match="reference dtype 'float32'"):
        report.dtype_table({"float16": f16})


def test_sweep_table_in_microseconds_and_a_clear_error_for_other_units():
    live = {"cpu": pd.DataFrame({"median_s": [2e-6], "iqr_s": [1e-7], "samples": [5]}, index=[1024])}
    assert list(report.sweep_table(live, unit="µs")["cpu µs"]) == ["2.00"]
    with pytest.raises(ValueError, match="unit must be one of"):
        report.sweep_table(live, unit="s")


def test_plot_time_sweep_draws_one_line_per_device():
    live = {d: pd.DataFrame({"median_s": [2e-6, 4e-5], "iqr_s": [1e-7, 1e-6], "samples": [5, 5]}, index=[1024, 65536])
            for d in ("cuda", "cpu")}
    fig = plots.plot_time_sweep(live, xlabel="elements")
    assert len(fig.axes[0].get_legend().get_texts()) == 2


def test_sweep_plots_shade_the_sizes_within_noise_once_in_the_legend():
    sizes = [1024, 4096, 16384, 65536]
    live = {d: pd.DataFrame({"median_s": 1e-5, "iqr_s": 1e-7, "samples": 5}, index=sizes) for d in ("cuda", "cpu")}
    verdict = pd.Series(["slower", "within noise", "within noise", "faster"], index=sizes)
    for fig in (plots.plot_time_sweep(live, xlabel="elements", verdict=verdict),
                plots.plot_sweep(live, verdict=verdict)):
        ax = fig.axes[0]
        bands = [p for p in ax.patches if p.get_alpha() == 0.2]
        assert len(bands) == 2  # one band for each "within noise" size, none for the others
        lo, hi = bands[0].get_x(), bands[0].get_x() + bands[0].get_width()
        assert lo < 4096 < hi and not lo < 1024 < hi  # a band covers its size and stops short of the next
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert texts.count("within noise (margin of the two IQRs)") == 1


def test_log_ticks_label_a_narrow_range():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [290, 1450])
    ax.set_yscale("log")
    plots._log_ticks(ax.yaxis)  # under a decade and a half: 300, 500, 700 and 1000 are labelled
    fig.canvas.draw()
    labels = {t.get_text() for t in ax.get_yticklabels() if t.get_text()}
    assert {"300", "500", "1000"} <= labels
    fig2, ax2 = plt.subplots()
    ax2.plot([1, 2], [60, 160])
    ax2.set_yscale("log")
    plots._log_ticks(ax2.yaxis)
    fig2.canvas.draw()
    small = {t.get_text() for t in ax2.get_yticklabels() if t.get_text()}
    assert {"70", "100", "150"} <= small and not any(label.endswith(".0") for label in small)  # no "150.0"
    plt.close(fig)
    plt.close(fig2)
