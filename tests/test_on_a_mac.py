"""tools/on_a_mac.py: the one command a Mac owner runs, and the summary it prints."""

from __future__ import annotations

import platform
import sys

import nbformat
import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import on_a_mac


def notebook(*outputs: tuple[str, list[str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for text, tags in outputs:
        cell = nbformat.v4.new_code_cell("print()", metadata={"tags": tags})
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells.append(cell)
    return nb


def test_changed_outputs_are_counted_as_compared_or_ignored():
    before = notebook(("shape (2, 3)\n", []), ("12.5 ms\n", ["nbval-ignore-output", "measurement"]), ("ok\n", []))
    after = notebook(("shape (2, 3)\n", []), ("3.1 ms\n", ["nbval-ignore-output", "measurement"]), ("no\n", []))
    assert on_a_mac.changed_outputs(before, after) == {"compared": 1, "ignored": 1}
    assert on_a_mac.changed_outputs(before, before) == {"compared": 0, "ignored": 0}


def test_the_summary_of_an_unchanged_book_names_every_chapter_and_the_next_steps():
    text = on_a_mac.summarise()
    for path in (ROOT / "book").glob("*.ipynb"):
        assert path.name in text
    assert "git push" in text and "pull request" in text


def test_the_summary_file_holds_the_table_alone(tmp_path):
    path = tmp_path / "summary.md"
    on_a_mac.write_summary(path)
    text = path.read_text()
    assert text.startswith("```\n") and text.endswith("\n```\n")
    assert "compared outputs changed" in text and "results files written or changed" in text
    assert "git " not in text and "To publish" not in text
    for name in (p.name for p in (ROOT / "book").glob("*.ipynb")):
        assert name in text


def test_the_summary_file_option_is_parsed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(on_a_mac, "_run", lambda step, command: calls.append(step))
    monkeypatch.setattr(on_a_mac, "summarise", lambda advice=True, **where: "table" if not advice else "table+git")
    path = tmp_path / "summary.md"
    assert on_a_mac.main(["--device", "cpu", "--skip-bench", "--summary-file", str(path)]) == 0
    assert calls == ["execute every chapter", "re-validate"]
    assert path.read_text() == "```\ntable\n```\n"


@pytest.mark.skipif(platform.system() == "Darwin", reason="on a Mac mps is the point")
def test_mps_off_a_mac_is_refused_with_one_sentence(capsys):
    with pytest.raises(SystemExit) as stop:
        on_a_mac.main([])
    assert stop.value.code == 2
    assert "needs an Apple Silicon Mac" in capsys.readouterr().err


def test_an_unknown_device_is_refused(capsys):
    with pytest.raises(SystemExit):
        on_a_mac.main(["--device", "tpu"])
    assert "--device must be mps, cuda or cpu" in capsys.readouterr().err
