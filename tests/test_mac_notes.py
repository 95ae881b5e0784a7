"""Where the device that ran shows something a Mac would show differently, an "On a Mac" note says what a Mac does.

A code cell needs a note when it is tagged ``device-dependent`` or when its stored output says that a step was
skipped for lack of a Mac (``needs mps: skipped on cuda``, ``needs macOS``). The note is the very next cell, opens
with the admonition below, and links to its source (PyTorch's code at the pinned tag, an issue with real MPS
output, Apple's documentation, or a reported measurement).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb"))
OPENING = re.compile(r"^(?P<fence>`{3,})\{admonition\} On a Mac\n:class: on-a-mac\n", re.M)
SKIPPED = re.compile(r"\bskipped on (?:cpu|cuda|linux)\b|\bneeds (?:mps|macOS)\b", re.I)
LINK = re.compile(r"\]\(https://[^)\s]+\)")


def notes(markdown: str) -> list[str]:
    """The bodies of the "On a Mac" admonitions in one Markdown cell."""
    bodies = []
    for match in OPENING.finditer(markdown):
        end = re.compile(rf"^{match['fence']}\s*$", re.M).search(markdown, match.end())
        assert end, f"an On a Mac note is not closed: {markdown[match.start():match.start() + 80]!r}"
        bodies.append(markdown[match.end() : end.start()])
    return bodies


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", "") or "")
        parts += [out.get("data", {}).get(m, "") for m in ("text/plain", "text/markdown")]
        parts.append(out.get("evalue", "") or "")
    return "\n".join(parts)


def cells_needing_a_note(path: Path) -> list[tuple[int, str]]:
    """(index in the source, why) of every code cell that needs an On a Mac note after it."""
    source = nbformat.read(path, as_version=4)
    copy = nbformat.read(ROOT / "book" / path.name, as_version=4)
    executed = [c for c in copy.cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.tags]
    executed_iter = iter(executed)
    needed = []
    for i, cell in enumerate(source.cells):
        if cell.cell_type != "code":
            continue
        stored = next(executed_iter)
        if "device-dependent" in cell.metadata.get("tags", []):
            needed.append((i, "tagged device-dependent"))
        elif SKIPPED.search(output_text(stored)):
            needed.append((i, "its stored output skips a Mac-only step"))
    return needed


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_device_dependent_outputs_have_an_on_a_mac_note(path):
    cells = nbformat.read(path, as_version=4).cells
    missing = []
    for i, why in cells_needing_a_note(path):
        following = cells[i + 1] if i + 1 < len(cells) else None
        if following is None or following.cell_type != "markdown" or not OPENING.match(following.source):
            missing.append(f"cell {i} ({cells[i].get('id')}, {why}): {cells[i].source.splitlines()[0][:60]!r}")
    assert not missing, "these cells need an On a Mac note as the very next cell:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_every_on_a_mac_note_links_its_source(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for body in notes(cell.source):
                assert LINK.search(body), f"an On a Mac note without an https link: {body[:100]!r}"


def test_the_note_format_is_recognised():
    md = "```{admonition} On a Mac\n:class: on-a-mac\n\nA Mac prints `mps` ([source](https://example.org/x)).\n```\n"
    assert OPENING.match(md) and notes(md) == ["\nA Mac prints `mps` ([source](https://example.org/x)).\n"]
    assert SKIPPED.search("needs mps: skipped on cuda") and not SKIPPED.search("nothing was skipped here")
