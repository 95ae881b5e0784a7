"""This book's measurements of a reported workload on machines that are not Macs (mpsbook.bench.sidebyside)."""

from pathlib import Path

import pandas as pd
import pytest

from mpsbook.bench import report, sidebyside
from mpsbook.bench.book import load_book

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _records() -> pd.DataFrame:
    rows = [  # machine, device, mode, dtype, batch, median_s, iqr_s, samples
        ("cpu-a", "cpu", "eager", "float32", 32, 0.5, 0.05, 5),
        ("gpu", "cuda", "compile", "float32", 128, 0.03, 0.003, 5),
        ("gpu", "cuda", "eager", "bfloat16", 32, 0.01, 0.0, 1),
        ("gpu", "cuda", "eager", "float32", 32, 0.02, 0.002, 5),
        ("gpu", "cuda", "eager", "float32", 128, 0.04, 0.004, 5),
    ]
    frame = pd.DataFrame(rows, columns=["machine", "device", "mode", "dtype", "batch", "median_s", "iqr_s", "samples"])
    return frame.assign(benchmark="train_resnet50_32", epoch_items=50_000)


def test_variant_names():
    assert sidebyside.variant_name("eager", "float32") == "float32"
    assert sidebyside.variant_name("eager", "bfloat16") == "autocast bfloat16"
    assert sidebyside.variant_name("compile", "float16") == "autocast float16, compiled"
    assert sidebyside.variant_name("reduce-overhead", "float32") == "float32, compiled (reduce-overhead)"


def test_measured_table_orders_variants_and_machines_and_keeps_the_spread():
    table = sidebyside.measured_table(_records(), "train_resnet50_32", "s/epoch")
    assert table.index.tolist() == ["gpu: float32", "gpu: autocast bfloat16", "gpu: float32, compiled",
                                    "cpu-a: float32"]  # the accelerator first, float32 eager first within it
    assert list(table.columns) == [32, 128, "IQR %"]
    assert table.loc["gpu: float32", 32] == "31.3"  # ⌈50,000 ÷ 32⌉ × 0.02 s
    assert table.loc["gpu: float32", "IQR %"] == "10"
    assert table.loc["gpu: autocast bfloat16", "IQR %"] == "–"  # one block: no spread
    assert table.loc["cpu-a: float32", 128] == "–"
    with pytest.raises(ValueError, match=r"no measured case of 'train_distilbert_512'.*train_resnet50_32"):
        sidebyside.measured_table(_records(), "train_distilbert_512", "samples/s")


def test_loop_ratios_bound_the_step_from_one_side():
    ours = report.book_training_rows(_records(), "train_resnet50_32", "s/epoch")  # gpu: 31.26 s, 15.64 s
    theirs = pd.DataFrame({"who": ["mac-a", "mac-b", "mac-a"], "x": [32.0, 32.0, 1024.0],
                           "value": [62.52, 125.04, 9.0]})
    ratios = sidebyside.loop_ratios(ours, theirs, "s/epoch")
    assert ratios.loc["gpu", 32] == "2.0–4.0×" and list(ratios.columns) == [32]  # only the batch both have
    rate = report.book_training_rows(_records(), "train_resnet50_32", "samples/s")  # gpu: 1,600 samples/s at 32
    one = sidebyside.loop_ratios(rate, pd.DataFrame({"who": ["mac"], "x": [32.0], "value": [3200.0]}), "samples/s")
    assert one.loc["gpu", 32] == "0.50×"  # the Mac's loop ran twice as many samples: its step is at least 2× faster
    assert sidebyside.loop_ratios(ours, theirs.assign(x=4.0), "s/epoch").empty
    with pytest.raises(ValueError, match="unit must be"):
        sidebyside.loop_ratios(ours, theirs, "TFLOP/s")


def test_steps_beside_loops_puts_every_workload_in_one_table():
    ours = report.book_training_rows(_records(), "train_resnet50_32", "s/epoch")  # gpu 31.26 s and cpu-a at 32
    theirs = pd.DataFrame({"who": ["mac-a", "mac-b"], "x": [32.0, 32.0], "value": [62.52, 125.04]})
    rate = report.book_training_rows(_records()[lambda r: r["machine"] == "gpu"], "train_resnet50_32", "samples/s")
    table = sidebyside.steps_beside_loops([("small", "s/epoch", ours, theirs), ("rate", "samples/s", rate,
                                                                               theirs.iloc[:0])])
    assert table.index.tolist() == [("small (s/epoch)", 32, "cpu-a"), ("small (s/epoch)", 32, "gpu"),
                                    ("small (s/epoch)", 128, "gpu"), ("rate (samples/s)", 32, "gpu"),
                                    ("rate (samples/s)", 128, "gpu")]  # only the steps measured: cpu-a ran batch 32
    assert list(table.columns) == ["Macs' loops", "step", "IQR %", "×"]
    gpu = table.loc[("small (s/epoch)", 32, "gpu")]
    assert gpu.tolist() == ["62.5–125", "31.3", "10", "2.0–4.0×"]  # ⌈50,000 ÷ 32⌉ × 0.02 s; 62.52 ÷ 31.26
    assert table.loc[("small (s/epoch)", 128, "gpu"), "Macs' loops"] == "–"  # no Mac ran batch 128
    assert table.loc[("rate (samples/s)", 32, "gpu"), "×"] == "–"  # no Mac: no ratio
    with pytest.raises(ValueError, match="no step of this book's for 'none'"):
        sidebyside.steps_beside_loops([("none", "s/epoch", ours.iloc[:0], theirs)])


def test_show_steps_and_variants_on_the_stored_results(capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    book = load_book(RESULTS)
    gpu = next(m for m, k in book.kinds.items() if k == "cuda")
    # the GPU and the CPU its own run timed; not a CPU file with no accelerator run of its own
    assert book.measured_here() == [gpu, book.runs[gpu]["cpu_baseline"]]
    book.show_steps_beside_loops([("train_resnet50_32", "mrdbourke-resnet50-cifar-train", "s/epoch", "32"),
                                  ("train_distilbert_512", "mrdbourke-distilbert-imdb-train", "samples/s", "bert")])
    out = capsys.readouterr().out
    assert out.startswith("float32 steps alone") and "the 4 Macs that ran it" in out
    assert f"{gpu} ran the convolutions of 32 in TF32" in out  # DistilBERT has none
    (table,) = shown
    assert table.index.get_level_values("machine").unique().tolist() == book.measured_here()  # the GPU first
    assert table.index.get_level_values("workload").unique().tolist() == ["32 (s/epoch)", "bert (samples/s)"]
    assert all(cell == "–" or cell.endswith("×") for cell in table["×"])
    shown.clear()
    book.show_variants("train_resnet50_32", "s/epoch")
    assert capsys.readouterr().out.startswith("train_resnet50_32: s/epoch of this book's step alone")
    (measured,) = shown
    assert {i.split(":")[0] for i in measured.index} == set(book.measured_here())
    assert measured.index[0] == f"{gpu}: float32 (TF32 conv.)"
