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


# Stands in for a Mac inside the papermill kernel: torch.device("mps") needs no GPU until a tensor is made.
FAKE_MAC = "import torch\ntorch.backends.mps.is_available = lambda: True\n"


def test_a_copy_executed_with_an_explicit_device_revalidates_elsewhere(scratch_book, tmp_path, monkeypatch):
    """`make execute DEVICE=mps` on a Mac, then `make test` on a machine without mps: nbval must pass."""
    import nbformat

    fake = tmp_path / "fake-mac"
    fake.mkdir()
    (fake / "sitecustomize.py").write_text(FAKE_MAC)
    source = scratch_book / "notebooks" / "demo.ipynb"
    tiny_notebook(source, ("from mpsbook import resolve_device\nDEVICE = resolve_device(device)\nprint(2 + 2)", []))
    with monkeypatch.context() as mac:
        mac.setenv("PYTHONPATH", str(fake))
        execute.execute(source, {"device": "mps"})
    stored = scratch_book / "book" / "demo.ipynb"
    nb = nbformat.read(stored, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'device = "auto"  # this copy ran with device="mps"' in injected[0].source
    assert nb.metadata["papermill"]["parameters"] == {"device": "mps"}, "the metadata keeps what was asked for"
    assert nb.cells[-1].outputs[0].text == "4\n"

    # nbval on this machine, which has no mps: the copy must replay with the device it has.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "--nbval", "--nbval-current-env", str(stored)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "passed" in result.stdout and "failed" not in result.stdout


def test_other_parameters_are_replayed_and_auto_is_left_alone():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            '# Parameters\ndevice = "cuda"\nmax_mib = 64\n', metadata={"tags": ["injected-parameters"]}
        ),
        nbformat.v4.new_code_cell('device = "cuda"\n'),  # not injected: an author's cell is never rewritten
    ]
    execute.portable_parameters(nb)
    assert nb.cells[0].source.splitlines()[1:] == [
        'device = "auto"  # this copy ran with device="cuda"; "auto" re-validates it anywhere',
        "max_mib = 64",
    ]
    assert nb.cells[1].source == 'device = "cuda"\n'
    nb.cells[0].source = '# Parameters\ndevice = "auto"\n'
    execute.portable_parameters(nb)
    assert nb.cells[0].source == '# Parameters\ndevice = "auto"\n'


def test_prose_only_updates_markdown_and_refuses_when_code_changed(scratch_book):
    import nbformat

    source = scratch_book / "notebooks" / "demo.ipynb"
    tiny_notebook(source, ("print(6 * 7)", []))
    execute.execute(source, {"device": "cpu"})
    nb = nbformat.read(source, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("New prose."))
    nbformat.write(nb, source)
    assert execute.sync_prose(source) == 1
    copy = nbformat.read(scratch_book / "book" / "demo.ipynb", as_version=4)
    assert [c.cell_type for c in copy.cells] == ["code", "code", "markdown", "code"], "injected cell kept in place"
    assert copy.cells[2].source == "New prose." and copy.cells[-1].outputs[0].text == "42\n"

    nb.cells[-1].metadata["tags"] = ["hide-output"]  # a tag changes what the site shows, not what ran
    nbformat.write(nb, source)
    execute.sync_prose(source)
    copy = nbformat.read(scratch_book / "book" / "demo.ipynb", as_version=4)
    assert copy.cells[-1].metadata["tags"] == ["hide-output"] and copy.cells[-1].outputs[0].text == "42\n"

    nb.cells[-1].source = "print(6 * 9)"
    nbformat.write(nb, source)
    with pytest.raises(execute.StaleCopyError, match="execute it instead"):
        execute.sync_prose(source)
