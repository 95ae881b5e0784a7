"""tools/execute.py: papermill runs into book/, and a failing chapter stops with notebook and cell named."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import execute

from mpsbook import available_devices

CHAPTER = ROOT / "notebooks" / "01-unified-memory.ipynb"


@pytest.mark.parametrize(
    ("text", "value"),
    [("cuda", "cuda"), ("64", 64), ("0.5", 0.5), ("true", True), ("auto", "auto"), ("1e-3", "1e-3")],
)
def test_parameters_are_typed_like_papermill(text, value):
    assert execute.parse_value(text) == value
    assert type(execute.parse_value(text)) is type(value)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "execute.py"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )


def test_a_path_that_is_not_a_notebook_is_refused():
    result = run("README.md")
    assert result.returncode == 2
    assert "is not a notebook file" in result.stderr


def test_unknown_device_stops_with_one_sentence_and_leaves_book_alone():
    published = ROOT / "book" / CHAPTER.name
    before = published.read_bytes()
    result = run(str(CHAPTER), "-p", "device", "tpu")
    assert result.returncode == 1, result.stderr
    allowed = ", ".join(["auto", *available_devices()])
    expected = f"DeviceError: Unknown device 'tpu': use one of {allowed}."
    failure = [line for line in result.stderr.splitlines() if line.startswith("FAILED:")]
    assert len(failure) == 1 and failure[0].endswith(expected), result.stderr
    assert "01-unified-memory.ipynb stopped at cell" in failure[0]
    assert published.read_bytes() == before, "a failed run must not touch book/"


def tiny_notebook(path, *cells: tuple[str, list[str]]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("device = 'auto'", metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(src, metadata={"tags": tags}) for src, tags in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def scratch_book(tmp_path, monkeypatch):
    monkeypatch.setattr(execute, "ROOT", tmp_path)
    monkeypatch.setattr(execute, "BOOK", tmp_path / "book")
    monkeypatch.setattr(execute, "FAILED", tmp_path / "failed")
    (tmp_path / "book").mkdir()
    (tmp_path / "notebooks").mkdir()
    return tmp_path


def test_a_cell_tagged_raises_exception_may_fail_but_no_other(scratch_book):
    source = scratch_book / "notebooks" / "demo.ipynb"
    tiny_notebook(source, ("import torch\ntorch.version.blas", ["raises-exception"]), ("print('after')", []))
    execute.execute(source, {})
    import nbformat

    stored = nbformat.read(scratch_book / "book" / "demo.ipynb", as_version=4)
    assert stored.cells[-2].outputs[0].ename == "AttributeError", "the expected error is stored"
    assert stored.cells[-1].outputs[0].text == "after\n", "execution went on after it"

    tiny_notebook(source, ("1 / 0", []), ("print('after')", []))
    with pytest.raises(execute.pm.PapermillExecutionError, match="ZeroDivisionError"):
        execute.execute(source, {})
    assert (scratch_book / "failed" / "demo.ipynb").is_file(), "the partial run is kept for inspection"
