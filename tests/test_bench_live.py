"""Chapter 10's live sweeps (mpsbook.bench.live) and the book's side-by-side helpers (mpsbook.bench.book)."""

from pathlib import Path

import pytest
import torch

from mpsbook.bench import live
from mpsbook.bench.book import load_book

RESULTS = Path(__file__).resolve().parents[1] / "results"
GOOD = {"guide_size": 1024, "sweep_sizes": [64, 128], "sweep_sizes_accelerator": [2048],
        "sweep_min_run_time": 0.1, "sweep_half": ["float16", "bfloat16"]}


def test_good_parameters_pass():
    live.check_parameters(**GOOD)
    live.check_parameters(**GOOD, mlp_widths=[32, 4096])
    live.check_parameters(**{**GOOD, "sweep_sizes_accelerator": [], "sweep_half": []})


def test_the_guides_size_is_its_own_on_an_accelerator_and_smaller_on_a_cpu():
    live.check_parameters(**{**GOOD, "guide_size": None})
    for accelerator in ("mps", "cuda"):
        assert live.guide_matrix_size(None, torch.device(accelerator)) == 4096  # the guide's own size
    assert live.guide_matrix_size(None, torch.device("cpu")) == 1024
    assert live.guide_matrix_size(512, torch.device("cuda")) == 512  # a size given is a size used


@pytest.mark.parametrize(("name", "value", "message"), [
    ("guide_size", 32, "guide_size must be None or a whole number from 64 to 8192; got 32."),
    ("guide_size", True, "guide_size must be None or a whole number"),
    ("sweep_sizes", [], "sweep_sizes (at least one)"),
    ("sweep_sizes", [64, 9000], "from 16 to 8192; got [64, 9000] and [2048]."),
    ("sweep_sizes_accelerator", "4096", "sweep_sizes_accelerator must be lists"),
    ("sweep_min_run_time", 0, "sweep_min_run_time must be a number of seconds from 0.01 to 5; got 0."),
    ("sweep_half", ["float8"], "sweep_half must be a list of 'float16' and/or 'bfloat16'; got ['float8']."),
    ("mlp_widths", [], "mlp_widths must be a list of whole numbers from 1 to 16384; got []."),
    ("mlp_widths", [32, 2**15], "mlp_widths must be a list of whole numbers from 1 to 16384; got [32, 32768]."),
])
def test_a_bad_parameter_gets_one_sentence_naming_what_is_accepted(name, value, message):
    with pytest.raises(ValueError) as info:
        live.check_parameters(**{**GOOD, name: value})
    assert message in str(info.value) and "\n" not in str(info.value)


def test_time_interleaved_times_the_lines_in_turn_size_by_size():
    order: list[tuple[str, int]] = []

    def maker(name: str):
        def make_call(n: int):
            a = torch.ones(n)
            order.append((name, n))  # make_call runs once per size, just before that size is timed
            return lambda: a.sum()
        return make_call

    cpu = torch.device("cpu")
    timed = live.time_interleaved({"a": (cpu, maker("a"), [8, 32, 64]), "b": (cpu, maker("b"), [8, 32])}, "n",
                                  min_run_time=0.01, min_blocks=5)
    # every line at 8, then at 32 (b first: the order rotates), then what remains at 64
    assert order == [("a", 8), ("b", 8), ("b", 32), ("a", 32), ("a", 64)]
    assert timed["a"].index.tolist() == [8, 32, 64] and timed["b"].index.tolist() == [8, 32]
    assert timed["a"].index.name == "n"
    assert list(timed["a"].columns) == ["median_s", "iqr_s", "samples"]
    assert (timed["a"]["median_s"] > 0).all() and (timed["a"]["samples"] >= 5).all()


def test_an_accelerator_line_after_a_cpu_line_is_warmed_again(monkeypatch):
    warmed: list[str] = []
    monkeypatch.setattr(live, "warm_up", lambda dev, fn, seconds: warmed.append(dev.type))
    monkeypatch.setattr(live, "time_callable", lambda fn, dev, **_: type(
        "M", (), {"median": 1.0, "iqr": 0.0, "times": [1.0] * 5})())
    gpu, cpu = torch.device("cuda"), torch.device("cpu")  # never run: the timer is replaced
    entries = {"gpu": (gpu, lambda n: (lambda: None), [1, 2]), "cpu": (cpu, lambda n: (lambda: None), [1, 2])}
    live.time_interleaved(entries, "n", min_run_time=0.01, rewarm_s=0.2)
    # size 1: gpu, cpu; size 2 (rotated): cpu, gpu -> the gpu after the cpu is warmed again, once
    assert warmed == ["cuda"]
    warmed.clear()
    live.time_interleaved(entries, "n", min_run_time=0.01)  # rewarm_s=0: never
    assert warmed == []


def test_warm_up_runs_for_the_time_asked():
    import time

    calls = []
    start = time.perf_counter()
    n = live.warm_up(torch.device("cpu"), lambda: calls.append(1), seconds=0.05)
    assert time.perf_counter() - start >= 0.05 and n == len(calls) > 0


def test_training_rows_name_each_accelerator_and_its_tf32():
    book = load_book(RESULTS)
    rows = book.training_rows("train_resnet50_32", "s/epoch", macs_only=False)
    assert not rows.empty and set(rows["machine"]) <= {m for m, k in book.kinds.items() if k != "cpu"}
    for machine, who in zip(rows["machine"], rows["who"], strict=True):
        tf32 = book.float32_means(machine, "train_resnet50_32") != "float32"
        assert who == book.label(machine) + (", TF32 conv." if tf32 else "") + ", step only"
    assert (rows["low"] <= rows["value"]).all() and (rows["value"] <= rows["high"]).all()


def test_show_side_by_side_prints_displays_and_plots(capsys, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from mpsbook.bench import report

    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    book = load_book(RESULTS)
    book.show_side_by_side(book.training_rows("train_distilbert_512", "samples/s", macs_only=False),
                           report.reported_rows(book.reported, "mrdbourke-distilbert-imdb-train"), "samples/s",
                           higher_is_better=True, title="t")
    out = capsys.readouterr().out
    assert out.startswith("samples/s (higher is better); reported by Daniel Bourke (mac-ml-speed-test)")
    assert len(shown) == 1 and "IQR %" in shown[0].columns
    assert "training step alone" in out and "not a Mac, so in the table only: nvidia-h200" in out
    # by default only Macs: with no Mac's file here, the table holds the reported rows and says how to add one
    macs = book.training_rows("train_distilbert_512", "samples/s")
    assert macs.empty == ("mps" not in book.kinds.values())
    book.show_side_by_side(macs, report.reported_rows(book.reported, "mrdbourke-distilbert-imdb-train"),
                           "samples/s", higher_is_better=True, title="t")
    out = capsys.readouterr().out
    assert "no Mac's results file here yet" in out and len(shown) == 2
    assert set(shown[1].index.get_level_values(0)) == {"reported"}
    book.show_implied_rates("train_resnet50_32", "mrdbourke-resnet50-cifar-train")
    assert "images per epoch ÷ the reported s/epoch" in capsys.readouterr().out and len(shown) == 3


def test_training_rows_keep_a_macs_steps_only_by_default():
    import dataclasses

    import pandas as pd

    book = load_book(RESULTS)
    gpu = next(m for m, k in book.kinds.items() if k == "cuda")
    ok = book.ok.copy()
    mac = ok[ok["machine"] == gpu].assign(machine="apple-m9", device="mps")  # the GPU's rows, as if from a Mac
    fake = dataclasses.replace(book, ok=pd.concat([ok, mac], ignore_index=True),
                               runs=book.runs | {"apple-m9": book.runs[gpu]}, kinds=book.kinds | {"apple-m9": "mps"})
    rows = fake.training_rows("train_resnet50_32", "s/epoch")
    assert set(rows["machine"]) == {"apple-m9"} and len(rows) == len(mac[mac["benchmark"] == "train_resnet50_32"]
                                                                      .query("mode == 'eager' and dtype == 'float32'"))
    assert gpu in set(fake.training_rows("train_resnet50_32", "s/epoch", macs_only=False)["machine"])
