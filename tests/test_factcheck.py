"""The fact-check appendix: its data file is well formed and every piece of evidence points somewhere real."""

from __future__ import annotations

import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
import yaml
from conftest import ROOT
from myst_parser.mdit_to_docutils.base import default_slugify

spec = importlib.util.spec_from_file_location("factcheck_ext", ROOT / "_ext" / "factcheck.py")
factcheck = importlib.util.module_from_spec(spec)
spec.loader.exec_module(factcheck)

PAGE = ROOT / "book" / "factcheck.md"
ROWS = factcheck.load_claims()
HEADING_LEVELS = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]["myst_heading_anchors"]


def toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {toc["root"]}
    for part in toc.get("parts", []):
        files |= {chapter["file"] for chapter in part.get("chapters", [])}
    return files


def markdown_of(page: str) -> str:
    """The Markdown of a book page: a prose page, or the markdown cells of an executed chapter."""
    md = ROOT / "book" / f"{page}.md"
    if md.is_file():
        return md.read_text()
    nb = nbformat.read(ROOT / "book" / f"{page}.ipynb", as_version=4)
    return "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


def heading_slugs(markdown: str, max_level: int) -> set[str]:
    """The anchors MyST gives headings up to ``max_level`` (myst_heading_anchors), skipping code fences."""
    slugs, fenced = set(), False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = re.match(r"^(#{1,6}) (.+?)\s*#*\s*$", line)
        if match and not fenced and len(match[1]) <= max_level:
            slugs.add(default_slugify(match[2]))
    return slugs


def evidence_items() -> list[tuple[str, str]]:
    return [(row["id"], target) for row in ROWS for target in factcheck.evidence_targets(row)]


def test_there_are_over_a_hundred_claims_with_unique_ids():
    ids = [row["id"] for row in ROWS]
    assert len(ids) > 100
    assert len(set(ids)) == len(ids), "IDs are unique"
    assert all(re.fullmatch(r"F\d{3}", i) for i in ids), "IDs look like F001"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["id"])
def test_row_is_complete(row):
    assert row["verdict"] in factcheck.VERDICTS
    assert row["claim"].strip() and row["reason"].strip(), "a claim and a one-line reason"
    assert "\n" not in row["reason"], "the reason is one line"
    assert factcheck.evidence_targets(row), "evidence"
    assert re.fullmatch(r"\d{1,2}(\.\d)?", row["guide_section"]), "a guide section such as 2 or 2.1"


def test_every_verdict_is_counted():
    counts = factcheck.verdict_counts(ROWS)
    assert list(counts) == list(factcheck.VERDICTS)
    assert sum(counts.values()) == len(ROWS)


def test_ten_ranked_corrections():
    ranks = sorted(int(row["top"]) for row in ROWS if row["top"])
    assert ranks == list(range(1, 11)), "ranks 1 to 10, once each"
    assert all(row["verdict"] != "correct" for row in ROWS if row["top"]), "only corrections are ranked"


@pytest.mark.parametrize(("row_id", "target"), evidence_items(), ids=lambda x: x if isinstance(x, str) else "")
def test_evidence_target_exists(row_id, target):
    internal = factcheck.INTERNAL.match(target)
    if internal:
        page = f"book/{internal['page']}"
        assert page in toc_files(), f"{row_id}: {page} is not in _toc.yml"
        if internal["anchor"]:
            slugs = heading_slugs(markdown_of(internal["page"]), HEADING_LEVELS)
            assert internal["anchor"] in slugs, f"{row_id}: no heading #{internal['anchor']} in {page}"
    else:
        url = urlparse(target)
        assert url.scheme == "https", f"{row_id}: {target!r} is neither a book page nor an https URL"
        assert re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", url.netloc), f"{row_id}: bad host in {target!r}"
        assert not re.search(r"\s", target), f"{row_id}: whitespace in {target!r}"


def test_page_renders_every_guide_section():
    tables = re.findall(r"^```\{factcheck-table\} (\S+)$", PAGE.read_text(), re.M)
    assert len(tables) == len(set(tables)), "each guide section once"
    assert set(tables) == {factcheck.top_section(row["guide_section"]) for row in ROWS}
    assert "```{factcheck-counts}" in PAGE.read_text() and "```{factcheck-top}" in PAGE.read_text()


def test_a_bad_verdict_is_named(tmp_path):
    bad = tmp_path / "claims.csv"
    bad.write_text(f"{','.join(factcheck.COLUMNS)}\nF001,1,x,dubious,y,https://example.org,,,,\n")
    with pytest.raises(ValueError, match=r"F001: verdict 'dubious' is not one of correct, wrong"):
        factcheck.load_claims(bad)


def test_missing_evidence_is_named(tmp_path):
    bad = tmp_path / "claims.csv"
    bad.write_text(f"{','.join(factcheck.COLUMNS)}\nF002,1,x,wrong,y,,,,,\n")
    with pytest.raises(ValueError, match="F002: no evidence"):
        factcheck.load_claims(bad)


def test_evidence_links_are_labelled():
    assert factcheck.evidence_markdown("01-unified-memory#3-how-long-a-copy-takes") == (
        "[ch. 1 § 3](01-unified-memory.ipynb#3-how-long-a-copy-takes)"
    )
    assert factcheck.evidence_markdown("glossary") == "[glossary](glossary.md)"
    assert factcheck.evidence_markdown("https://www.apple.com/newsroom/x/") == "[apple.com](https://www.apple.com/newsroom/x/)"


def test_data_file_is_where_the_page_says():
    assert factcheck.DATA == ROOT / "src" / "mpsbook" / "data" / "factcheck.csv"
    assert Path("src/mpsbook/data/factcheck.csv").as_posix() in PAGE.read_text()


# The filterable page: which chapters a row's evidence points at, the rows' data attributes, the filter form.


def claim(evidence: str, verdict: str = "wrong", row_id: str = "F999") -> dict[str, str]:
    return {"id": row_id, "guide_section": "5.2", "claim": "c", "verdict": verdict, "reason": "r",
            "evidence": evidence, "top": ""}


def test_chapters_of_a_row_come_from_its_evidence():
    row = claim("10-benchmarks#1-x ; https://example.org/a ; 02-installing ; 10-benchmarks#5-y ; glossary")
    assert factcheck.row_chapters(row) == [2, 10], "numbered chapters only, once each, ascending"
    assert factcheck.chapter_pages(row) == {2: "02-installing", 10: "10-benchmarks"}
    assert factcheck.chapter_attribute(row) == "2 10"
    sources_only = claim("https://docs.pytorch.org/docs/stable/notes/mps.html ; intro ; references")
    assert factcheck.row_chapters(sources_only) == []
    assert factcheck.chapter_attribute(sources_only) == "none"


def test_row_data_and_its_html():
    data = factcheck.row_data(claim("01-unified-memory#3-how-long-a-copy-takes ; 03-mps-basics", "outdated", "F041"))
    assert data == {"id": "F041", "verdict": "outdated", "chapter": "1 3"}
    assert factcheck.data_attributes(data) == 'data-id="F041" data-verdict="outdated" data-chapter="1 3"'
    assert factcheck.data_attributes({"label": 'a "b" <c> & d'}) == 'data-label="a &quot;b&quot; &lt;c&gt; &amp; d"'
    with pytest.raises(ValueError, match="not a data attribute name"):
        factcheck.data_attributes({"Bad Name": "x"})


def test_chapter_options_count_rows_per_chapter():
    rows = [claim("01-unified-memory ; 03-mps-basics"), claim("03-mps-basics#2-x"), claim("https://example.org")]
    assert factcheck.chapter_options(rows) == [
        ("1", "01-unified-memory", 1), ("3", "03-mps-basics", 2), ("none", "", 1),
    ]
    assert factcheck.chapter_options(rows[:2])[-1][0] == "3", "no 'none' choice when every row cites a chapter"


def test_every_row_maps_to_chapters_of_the_book():
    chapters = {int(page.split("/")[1][:2]) for page in toc_files() if re.fullmatch(r"book/\d\d-.+", page)}
    for row in ROWS:
        attribute = factcheck.chapter_attribute(row)
        assert re.fullmatch(r"\d+( \d+)*|none", attribute), row["id"]
        assert set(factcheck.row_chapters(row)) <= chapters, row["id"]
    options = factcheck.chapter_options(ROWS)
    assert [value for value, _, _ in options if value != "none"] == sorted(
        {str(n) for row in ROWS for n in factcheck.row_chapters(row)}, key=int
    )


class FormParts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_filter_form_html():
    counts = {"correct": 2, "wrong": 1, "misleading": 0, "outdated": 0, "unverifiable": 0}
    html = factcheck.filter_form_html(counts, [("1", "Apple <Silicon>", 2), ("none", "", 1)], 3)
    parts = FormParts()
    parts.feed(html)
    form = dict(parts.tags)["form"]
    assert form["id"] == "fc-filter" and "hidden" in form, "hidden until the script shows it"
    buttons = [a["data-verdict"] for tag, a in parts.tags if tag == "button" and "data-verdict" in a]
    assert buttons == ["", *factcheck.VERDICTS], "'all', then every verdict in order"
    assert [a["value"] for tag, a in parts.tags if tag == "option"] == ["", "1", "none"]
    text = " ".join("".join(parts.text).split())
    assert "all 3" in text and "correct 2" in text and "1 · Apple <Silicon> (2)" in text
    assert "&lt;Silicon&gt;" in html, "titles are escaped"
    assert "3 of 3 claims shown" in text


def test_page_puts_counts_and_filter_above_the_tables():
    page = PAGE.read_text()
    first_heading = re.search(r"^## ", page, re.M).start()
    assert page.index("```{factcheck-counts}") < first_heading, "the counts open the page"
    assert page.index("```{factcheck-filter}") < page.index("```{factcheck-top}") < page.index("```{factcheck-table}")


def test_every_correction_box_links_the_rows_it_settles():
    """Each chapter's "Correcting the guide" box ends with the fact-check rows it settles, and those rows exist."""
    known = {row["id"] for row in factcheck.load_claims()}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            for box in re.finditer(r"^(`{3,})\{admonition\} Correcting the guide.*?^\1\s*$", cell.source, re.M | re.S):
                line = re.search(r"^Fact-check rows: (.+)$", box[0], re.M)
                assert line, f"{path.name}: a correction box without its 'Fact-check rows:' line"
                ids = re.findall(r"\[(F\d{3})\]\(factcheck\.md#(F\d{3})\)", line[1])
                assert ids and all(a == b for a, b in ids), f"{path.name}: malformed fact-check links {line[1][:80]}"
                assert {a for a, _ in ids} <= known, f"{path.name}: unknown rows {sorted({a for a, _ in ids} - known)}"


def test_japanese_edition_shows_the_guides_words_and_falls_back_to_english():
    row = dict.fromkeys(factcheck.COLUMNS, "")
    row.update(claim="English paraphrase", reason="English reason")
    assert factcheck.claim_text(row, "ja") == "English paraphrase"  # nothing translated yet: English, not blank
    row.update(guide_quote="ガイドの原文", claim_ja="主張", reason_ja="理由")
    assert (factcheck.claim_text(row, "ja"), factcheck.reason_text(row, "ja")) == ("ガイドの原文", "理由")
    in_english = (factcheck.claim_text(row, "en"), factcheck.reason_text(row, "en"))
    assert in_english == ("English paraphrase", "English reason")
    assert factcheck.evidence_markdown("01-unified-memory#3-how-long-a-copy-takes", "ja") == (
        "[第1章 § 3](01-unified-memory.ipynb#3-how-long-a-copy-takes)")


def test_every_label_exists_in_both_editions():
    en, ja = factcheck.LABELS["en"], factcheck.LABELS["ja"]
    assert en.keys() == ja.keys()
    assert set(ja["verdicts"]) == set(ja["meaning"]) == set(factcheck.VERDICTS)


GUIDE = ROOT.parent / "shared" / "guide" / "000_eee5774269ba9fe9.txt"  # beside the checkout where it exists


def test_japanese_columns_are_consistent():
    """A row shows the guide's words (guide_quote) or, where no excerpt carries the claim, claim_ja; not both;
    and a translated row has its reason in Japanese."""
    for row in ROWS:
        assert not (row["guide_quote"] and row["claim_ja"]), f"{row['id']}: guide_quote and claim_ja both set"
        if row["guide_quote"] or row["claim_ja"]:
            assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", row["reason_ja"]), f"{row['id']}: no Japanese reason"


@pytest.mark.skipif(not GUIDE.exists(), reason="the source guide is not beside this checkout")
def test_guide_quotes_are_verbatim():
    """Every guide_quote occurs in the guide word for word (runs of whitespace count as one space)."""
    guide = " ".join(GUIDE.read_text(encoding="utf-8").split())
    wrong = [row["id"] for row in ROWS if row["guide_quote"] and " ".join(row["guide_quote"].split()) not in guide]
    assert not wrong, f"not in the guide verbatim: {wrong}"
