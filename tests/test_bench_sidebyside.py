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
    assert ratios.loc["gpu", 32] == "2.00–4.00×" and list(ratios.columns) == [32]  # only the batch both have
    rate = report.book_training_rows(_records(), "train_resnet50_32", "samples/s")  # gpu: 1,600 samples/s at 32
    one = sidebyside.loop_ratios(rate, pd.DataFrame({"who": ["mac"], "x": [32.0], "value": [3200.0]}), "samples/s")
    assert one.loc["gpu", 32] == "0.500×"  # the Mac's loop ran twice as many samples: its step is at least 2× faster
    assert sidebyside.loop_ratios(ours, theirs.assign(x=4.0), "s/epoch").empty
    with pytest.raises(ValueError, match="unit must be"):
        sidebyside.loop_ratios(ours, theirs, "TFLOP/s")


def test_show_measured_here_on_the_stored_results(capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    book = load_book(RESULTS)
    book.show_measured_here("train_resnet50_32", "mrdbourke-resnet50-cifar-train", "s/epoch")
    out = capsys.readouterr().out
    assert out.startswith("s/epoch of this book's step alone") and "how many times faster each float32 step" in out
    measured, ratios = shown
    gpu = next(m for m, k in book.kinds.items() if k == "cuda")
    # the GPU and the CPU its own run timed; not a CPU file with no accelerator run of its own
    assert book.measured_here() == [gpu, book.runs[gpu]["cpu_baseline"]]
    assert {i.split(":")[0] for i in measured.index} == set(book.measured_here())
    assert measured.index[0] == f"{gpu}: float32 (TF32 conv.)" and ratios.index[0] == f"{gpu} (TF32 conv.)"
    assert all(cell == "–" or cell.endswith("×") for cell in ratios.to_numpy().ravel())
    book.show_measured_here("train_resnet50_32", "no-such-workload", "s/epoch")
    assert "no batch size in common" in capsys.readouterr().out
