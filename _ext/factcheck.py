"""Render the fact-check data file (src/mpsbook/data/factcheck.csv) into the appendix at build time.

The appendix page, book/factcheck.md, holds the prose; the claims live in one CSV row each, so a
correction is a one-line edit. Three directives read it:

- ``{factcheck-counts}``: a table of how many claims got each verdict;
- ``{factcheck-top}``: the rows ranked 1-10 in the ``top`` column (the corrections that matter most);
- ``{factcheck-table} 2``: every claim of guide section 2 (2, 2.1, 2.2, ...), in file order.

Claims and reasons are inserted as plain text (no Markdown parsing), so the guide's code and URLs
can't turn into markup or live links; only the evidence column is parsed, as Markdown links.
Evidence is a ``" ; "``-separated list of https URLs and chapter targets such as
``01-unified-memory#3-how-long-a-copy-takes`` (a book page, optionally with a heading anchor).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

DATA = Path(__file__).resolve().parent.parent / "src" / "mpsbook" / "data" / "factcheck.csv"
COLUMNS = ["id", "guide_section", "claim", "verdict", "reason", "evidence", "top"]
VERDICTS = ("correct", "wrong", "misleading", "outdated", "unverifiable")
VERDICT_MEANING = {
    "correct": "the claim holds",
    "wrong": "the claim is false, or the code does not do what the guide says",
    "misleading": "partly true, but a reader would draw the wrong conclusion",
    "outdated": "was true, or was the usual way, and no longer is",
    "unverifiable": "no source, code or setup is given that would let anyone check it",
}
INTERNAL = re.compile(r"^(?P<page>\d\d-[a-z0-9-]+|intro|glossary|references)(?:#(?P<anchor>[a-z0-9-]+))?$")


def load_claims(path: Path = DATA) -> list[dict[str, str]]:
    """Read the fact-check rows; raise ``ValueError`` naming the row and field that is malformed."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{path.name}: columns must be {COLUMNS}, found {reader.fieldnames}")
        rows = list(reader)
    for row in rows:
        if row["verdict"] not in VERDICTS:
            raise ValueError(f"{row['id']}: verdict {row['verdict']!r} is not one of {', '.join(VERDICTS)}")
        if not evidence_targets(row):
            raise ValueError(f"{row['id']}: no evidence given")
    return rows


def evidence_targets(row: dict[str, str]) -> list[str]:
    """The evidence items of one row, in order."""
    return [item.strip() for item in row["evidence"].split(" ; ") if item.strip()]


def verdict_counts(rows: list[dict[str, str]]) -> dict[str, int]:
    """Claims per verdict, in the order of :data:`VERDICTS` (zeros included)."""
    counts = Counter(row["verdict"] for row in rows)
    return {verdict: counts.get(verdict, 0) for verdict in VERDICTS}


def top_section(section: str) -> str:
    """``"2.1"`` -> ``"2"``: the guide's top-level section a claim belongs to."""
    return section.split(".")[0]


def evidence_markdown(target: str) -> str:
    """One evidence item as a Markdown link: chapters by number and section, sources by host."""
    match = INTERNAL.match(target)
    if match:
        page, anchor = match["page"], match["anchor"]
        suffix = ".ipynb" if page[:2].isdigit() else ".md"
        label = f"ch. {int(page[:2])}" if page[:2].isdigit() else page
        if anchor:
            number = re.match(r"(\d+)-", anchor)
            label += f" § {number[1]}" if number else " (section)"
            return f"[{label}]({page}{suffix}#{anchor})"
        return f"[{label}]({page}{suffix})"
    host = urlparse(target).netloc.removeprefix("www.")
    return f"[{host}]({target})"


def _text_entry(text: str, strong: bool = False) -> nodes.entry:
    para = nodes.paragraph()
    para += nodes.strong(text=text) if strong else nodes.Text(text)
    return nodes.entry("", para)


def _table(headers: list[str], widths: list[int]) -> tuple[nodes.table, nodes.tbody]:
    # No smart quotes: claims quote the guide's code, where 'cpu' must stay 'cpu'.
    table = nodes.table(classes=["factcheck", "colwidths-given"], support_smartquotes=False)
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    row = nodes.row()
    for header in headers:
        row += _text_entry(header)
    head += row
    group += head
    body = nodes.tbody()
    group += body
    return table, body


class _FactCheckDirective(SphinxDirective):
    def rows(self) -> list[dict[str, str]]:
        self.env.note_dependency(str(DATA))
        return load_claims()

    def evidence_entry(self, row: dict[str, str]) -> nodes.entry:
        entry = nodes.entry()
        links = "Evidence: " + " · ".join(evidence_markdown(t) for t in evidence_targets(row))
        self.state.nested_parse(StringList([links]), 0, entry)
        return entry

    def claim_rows(self, rows: list[dict[str, str]], body: nodes.tbody, rank: bool = False) -> None:
        """One table row per claim: [rank,] claim (with its ID and guide section), verdict, reason and evidence."""
        for row in rows:
            tr = nodes.row()
            if rank:
                tr += _text_entry(row["top"])
            claim = _text_entry(row["claim"])
            claim += nodes.paragraph("", "", nodes.emphasis(text=f"{row['id']} · guide § {row['guide_section']}"))
            tr += claim
            tr += _text_entry(row["verdict"], strong=True)
            why = self.evidence_entry(row)
            why.insert(0, nodes.paragraph("", row["reason"]))
            tr += why
            body += tr


class FactCheckCounts(_FactCheckDirective):
    """A table of verdict counts, computed from the data file."""

    def run(self) -> list[nodes.Node]:
        rows = self.rows()
        table, body = _table(["Verdict", "Claims", "Meaning"], [2, 1, 6])
        for verdict, count in verdict_counts(rows).items():
            tr = nodes.row()
            tr += _text_entry(verdict, strong=True)
            tr += _text_entry(str(count))
            tr += _text_entry(VERDICT_MEANING[verdict])
            body += tr
        tr = nodes.row()
        tr += _text_entry("all", strong=True)
        tr += _text_entry(str(len(rows)))
        tr += _text_entry("claims checked")
        body += tr
        return [table]


class FactCheckTop(_FactCheckDirective):
    """The rows ranked in the ``top`` column, by rank."""

    def run(self) -> list[nodes.Node]:
        ranked = sorted((r for r in self.rows() if r["top"]), key=lambda r: int(r["top"]))
        table, body = _table(["#", "The guide says", "Verdict", "Why, and the evidence"], [1, 6, 2, 9])
        self.claim_rows(ranked, body, rank=True)
        return [table]


class FactCheckTable(_FactCheckDirective):
    """Every claim of one top-level guide section (the directive's argument), in file order."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        section = self.arguments[0]
        rows = [r for r in self.rows() if top_section(r["guide_section"]) == section]
        if not rows:
            raise self.error(f"no fact-check rows for guide section {section!r}")
        table, body = _table(["The guide says", "Verdict", "Why, and the evidence"], [6, 2, 9])
        self.claim_rows(rows, body)
        return [table]


def _add_static_path(app: Sphinx, config: object) -> None:
    config.html_static_path.append(str(Path(__file__).resolve().parent / "static"))


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", _add_static_path)
    app.add_css_file("factcheck.css")
    app.add_directive("factcheck-counts", FactCheckCounts)
    app.add_directive("factcheck-top", FactCheckTop)
    app.add_directive("factcheck-table", FactCheckTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
