"""The benchmark chapter's presentation plumbing (mpsbook.bench.report): spread, narrow tables, side-by-side figures."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mpsbook.bench import report
from mpsbook.bench.cases import TRAIN_IMAGES

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


def test_ratio_table():
    book = report.book_training_rows(_records(), "train_resnet50_32", "s/epoch")
    theirs = report.reported_rows(_reported(), "w")
    table = report.ratio_table(book, theirs, higher_is_better=False)
    assert table.loc["Apple M1 Pro (16-core GPU)", ("gpu", 32)] == "8.0"  # 249 s ÷ 31.26 s
    assert table.loc["NVIDIA TITAN RTX", ("gpu", 32)] == "0.89"
    assert ("gpu", 128) not in table.columns  # no reported figure at batch 128
    assert report.ratio_table(book.iloc[:0], theirs, higher_is_better=False).empty


def test_implied_rates_and_their_summary():
    rates = report.implied_rates(_reported(), "w", flop_per_item=0.5e9, benchmark="train_resnet50_32")
    images = TRAIN_IMAGES["train_resnet50_32"][2]
    assert rates["TFLOP/s"].tolist() == pytest.approx([0.5e9 * images / v / 1e12 for v in (249.0, 184.0, 27.8)])
    m1_pro = rates.iloc[0]
    assert m1_pro["% of peak"] == pytest.approx(100 * m1_pro["TFLOP/s"] / 5.308, rel=1e-3)  # derived 16-core peak
    assert math.isnan(rates.iloc[1]["% of peak"])  # the source states no GPU cores: no peak, no percentage
    lines = report.rate_lines(rates)
    assert lines[0].startswith("as a share of the GPU's derived float32 peak")
    assert "Apple M1 Pro (16-core GPU)" in lines[0]
    assert lines[1].endswith("32: 6.6×")  # 184 s ÷ 27.8 s


def test_plots_draw_what_they_are_given():
    book = report.book_training_rows(_records(), "train_resnet50_32", "s/epoch")
    rows = pd.concat([book, report.reported_rows(_reported(), "w")], ignore_index=True)
    fig = report.plot_side_by_side(rows, "s/epoch", "title", {"gpu": "cuda"})
    assert len(fig.axes[0].get_lines()) >= 3  # this book's line and the three reported ones
    bars = report.plot_side_by_side(rows.assign(x=np.nan), "s/epoch", "title", {"gpu": "cuda"})
    assert len(bars.axes[0].patches) == len(rows)
    train = _records().assign(who="gpu", workload="ResNet-50, 32×32", compile_s=[np.nan, np.nan, 12.0])
    panels = report.plot_training_variants(train)
    assert panels is not None and len(panels.axes) == 3
    assert report.plot_training_variants(train.iloc[:0]) is None


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
    fig = report.plot_sweep(_live(), crossover=1024, title="t")
    ax = fig.axes[0]
    assert "crossover, n = 1024" in [t.get_text() for t in ax.get_legend().get_texts()]
    x, y = ax.get_lines()[0].get_data()
    assert list(x) == [64, 1024]
    assert y[1] == pytest.approx(2 * 1024**3 / 1e-3 / 1e9)  # GFLOP/s at the median
    assert ax.get_title() == "t" and ax.get_xscale() == "log"
