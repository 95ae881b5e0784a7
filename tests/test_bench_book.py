"""The results folder as chapter 10 reads it (mpsbook.bench.book)."""

from pathlib import Path

import pytest

from mpsbook.bench.book import load_book

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_load_book_reads_the_repositorys_results():
    book = load_book(RESULTS)
    assert book.runs and set(book.ok["machine"]) <= set(book.runs)
    assert (book.ok["status"] == "ok").all()
    assert set(book.kinds.values()) <= {"cpu", "cuda", "mps"}
    assert not book.reported.empty
    name = next(iter(book.runs))
    assert book.label(name) == (f"{name} [flagged]" if name in book.flagged else name)
    assert book.labels()[name] == book.label(name)


def test_float32_means_tf32_for_cudnn_cases_on_nvidia_only():
    book = load_book(RESULTS)
    for machine, kind in book.kinds.items():
        if kind == "cpu":
            assert book.float32_means(machine, "resnet50") == "float32"
    assert all(book.float32_means(m, "matmul") == "float32" for m in book.runs)


def test_load_book_names_what_it_needs(tmp_path):
    with pytest.raises(ValueError, match="reported/"):
        load_book(tmp_path)


def test_timings_and_the_runs_table():
    book = load_book(RESULTS)
    machine = next(m for m, k in book.kinds.items() if k == "cuda")
    t = book.timings(machine, "matmul", "float32")
    assert list(t.columns) == ["median_s", "iqr_s", "samples"] and t.index.is_monotonic_increasing and len(t) > 3
    table = book.runs_table()
    assert list(table.index) == [book.label(m) for m in book.runs]
    assert list(table.columns) == ["torch", "date", "sweep", "load avg", "CPU 16-bit/matrix", "CPU baseline", "flags"]
    for machine, doc in book.runs.items():  # files written before host.cpu_features existed say so, not "none"
        recorded = "cpu_features" in doc["provenance"]["host"]
        assert (table.loc[book.label(machine), "CPU 16-bit/matrix"] == "not recorded") == (not recorded)
