"""The rules every chapter follows: clean sources, executed copies in step, one shape for all."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import IGNORE_TAG, ROOT, output_cell_counts

SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb"))
REASON_TAGS = {"measurement", "device-dependent"}  # why an output may go uncompared
ALLOWED_METADATA = {"kernelspec", "language_info"}
ALLOWED_CELL_METADATA = {"tags"}


def toc_chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return [f for f in files if not (ROOT / f"{f}.md").is_file()]  # prose pages (appendices) are no notebooks


def code_sources(nb, skip_injected: bool = False) -> list[str]:
    return [
        c.source
        for c in nb.cells
        if c.cell_type == "code" and not (skip_injected and "injected-parameters" in c.metadata.get("tags", []))
    ]


def read(path: Path):
    return nbformat.read(path, as_version=4)


def test_there_are_chapters():
    assert SOURCES, "no chapter sources under notebooks/"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_source_is_clean(path):
    nb = read(path)
    nbformat.validate(nb)
    assert set(nb.metadata) <= ALLOWED_METADATA, f"stray notebook metadata: {set(nb.metadata) - ALLOWED_METADATA}"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        assert set(cell.metadata) <= ALLOWED_CELL_METADATA, f"stray cell metadata in {cell.get('id')}"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a source keeps no outputs (cell {cell.id})"
            assert cell.execution_count is None, f"{path.name}: a source keeps no execution counts"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_one_parameters_cell_with_auto_device(path):
    cells = [c for c in read(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged `parameters`"
    assert cells[0].cell_type == "code"
    assert re.search(r'^device = "auto"', cells[0].source, re.M), 'the parameters cell sets device = "auto"'


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_chapter_shape(path):
    cells = read(path).cells
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# "), "starts with a `#` title"
    assert len(re.findall(r"^# ", markdown, re.M)) == 1, "one `#` title"
    assert "**What you will learn**" in cells[0].source
    assert "**Prerequisites**" in cells[0].source
    assert re.search(r"\*\*Time to read:\*\*.*\*\*Time to run:\*\*", cells[0].source)
    params = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    banner = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "show_provenance(" in c.source)
    assert params < banner, "the provenance banner follows the parameters"
    numbers = [int(n) for n in re.findall(r"^## (\d+)\. ", markdown, re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 2, "numbered ## sections 1, 2, ..."
    assert re.search(r"^## Summary$", markdown, re.M)
    assert markdown.index("## Summary") > markdown.index(f"## {numbers[-1]}. ")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_guide_corrections_are_marked_boxes(path):
    markdown = "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")
    boxes = re.findall(r"```\{admonition\} Correcting the guide[^\n]*\n:class: ([^\n]*)\n", markdown)
    for classes in boxes:
        assert "guide-correction" in classes.split()
    if "the guide" in markdown.lower():
        assert boxes, "a chapter that discusses the guide corrects it in a marked box"


def test_every_toc_chapter_has_a_source_and_an_executed_copy():
    chapters = [f for f in toc_chapters()]
    assert chapters
    for chapter in chapters:
        name = Path(chapter).name + ".ipynb"
        assert (ROOT / "book" / name).exists(), f"book/{name} missing: run make execute NB=notebooks/{name}"
        assert (ROOT / "notebooks" / name).exists(), f"notebooks/{name} missing"
    assert {Path(c).name + ".ipynb" for c in chapters} == {p.name for p in SOURCES}, "every source is in _toc.yml"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_executed_copy_matches_its_source(path):
    copy = ROOT / "book" / path.name
    assert code_sources(read(path)) == code_sources(read(copy), skip_injected=True), (
        f"book/{path.name} is stale: run make execute NB=notebooks/{path.name}"
    )
    assert [c.source for c in read(path).cells if c.cell_type == "markdown"] == [
        c.source for c in read(copy).cells if c.cell_type == "markdown"
    ], f"book/{path.name} has other prose than its source: re-execute it"
    tags = [sorted(c.metadata.get("tags", [])) for c in read(path).cells if c.cell_type == "code"]
    stored = [
        sorted(c.metadata.get("tags", []))
        for c in read(copy).cells
        if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])
    ]
    assert tags == stored, f"book/{path.name}: its cells' tags differ from the source's: run tools/execute.py --prose"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_executed_copy_ran_completely(path):
    nb = read(ROOT / "book" / path.name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "every cell ran"
    errors = [c for c in code if any(o.output_type == "error" for o in c.outputs)]
    assert all("raises-exception" in c.metadata.get("tags", []) for c in errors), "only tagged cells raise"
    text = nbformat.writes(nb)
    local = [str(ROOT), str(Path.home()), sys.prefix]  # where this machine keeps the checkout and the venv
    assert not [p for p in local if p in text], "the executed copy stores paths of the machine that ran it"
    # A warning or traceback that names an installed file gives away the machine's layout (filter it instead).
    # A plain substring test: the regex /[^\s"']*site-packages/ took 24 s on a chapter with large embedded images.
    assert "site-packages/" not in text, "an output names a file under site-packages"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_executed_copy_replays_on_any_device(path):
    """A copy made with DEVICE=cuda or mps must re-validate where that device is missing (tools/execute.py)."""
    for cell in read(ROOT / "book" / path.name).cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            pinned = re.findall(r"^device = (.*)$", cell.source, re.M)
            assert all(v.startswith('"auto"') for v in pinned), (
                f"book/{path.name} replays device = {pinned}: execute it with `make execute`, not papermill directly"
            )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_ignored_outputs_say_why(path):
    for cell in read(path).cells:
        tags = set(cell.metadata.get("tags", []))
        if IGNORE_TAG in tags:
            assert tags & REASON_TAGS, f"cell {cell.id}: {IGNORE_TAG} needs a reason tag, one of {REASON_TAGS}"


def test_at_least_half_of_the_outputs_are_compared():
    counts = [output_cell_counts(ROOT / "book" / p.name) for p in SOURCES]
    compared = sum(c for c, _ in counts)
    ignored = sum(i for _, i in counts)
    assert compared >= ignored, f"only {compared} of {compared + ignored} output cells are compared"
    for path, (c, _) in zip(SOURCES, counts, strict=True):
        assert c >= 1, f"{path.name} compares no output at all"
