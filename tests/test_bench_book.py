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
