"""Render the fact-check data file (src/mpsbook/data/factcheck.csv) into the appendix at build time.

The appendix page, book/factcheck.md, holds the prose; the claims live in one CSV row each, so a
correction is a one-line edit. Three directives read it:

- ``{factcheck-counts}``: a table of how many claims got each verdict;
- ``{factcheck-top}``: the rows ranked 1-10 in the ``top`` column (the corrections that matter most);
- ``{factcheck-table} 2``: every claim of guide section 2 (2, 2.1, 2.2, ...), in file order.

- ``{factcheck-filter}``: the search form (verdict, chapter, free text) that ``static/factcheck.js`` drives.

Claims and reasons are inserted as plain text (no Markdown parsing), so the guide's code and URLs
can't turn into markup or live links; only the evidence column is parsed, as Markdown links.
Evidence is a ``" ; "``-separated list of https URLs and chapter targets such as
``01-unified-memory#3-how-long-a-copy-takes`` (a book page, optionally with a heading anchor).

Every row of the section tables carries its ID as its HTML id (``factcheck.html#F041``), and every claim row
carries ``data-id``, ``data-verdict`` and ``data-chapter`` (the chapters its evidence links to, space-separated,
or ``none``), so the script only shows and hides rows. Without JavaScript the form stays hidden and every row
shows. The IDs are link targets for Markdown links from other pages too: ``[F041](factcheck.md#F041)``.
"""

from __future__ import annotations

import csv
import html
import posixpath
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

DATA = Path(__file__).resolve().parent.parent / "src" / "mpsbook" / "data" / "factcheck.csv"
COLUMNS = [
    "id", "guide_section", "claim", "verdict", "reason", "evidence", "top", "guide_quote", "claim_ja", "reason_ja",
]
VERDICTS = ("correct", "wrong", "misleading", "outdated", "unverifiable")
VERDICT_MEANING = {
    "correct": "the claim holds",
    "wrong": "the claim is false, or the code does not do what the guide says; a figure far outside published "
    "measurements of the same hardware is wrong, and the reason gives those measurements",
    "misleading": "partly true, but a reader would draw the wrong conclusion",
    "outdated": "was true, or was the usual way, and no longer is",
    "unverifiable": "no source, code or setup is given that would let anyone check it, and nothing published "
    "rules it out",
}
#: The Japanese edition shows the guide's own words (``guide_quote``, verbatim from the article; ``claim_ja`` where
#: no single excerpt carries the claim) and ``reason_ja``; the data stay in the CSV row, beside the English, so a
#: row is corrected in one place. Everything else the directives write is labelled here.
LABELS = {
    "en": {
        "verdicts": {v: v for v in VERDICTS}, "meaning": VERDICT_MEANING, "all": "all", "claims": "Claims",
        "verdict": "Verdict", "meaning_header": "Meaning", "checked": "claims checked", "says": "The guide says",
        "why": "Why, and the evidence", "evidence": "Evidence: ", "chapter": "ch. {n}", "guide": " · guide § {s}",
        "every_chapter": "every chapter", "no_chapter": "no chapter: sources only", "chapter_field": "Chapter",
        "search": "Search", "placeholder": "claim, reason or ID", "clear": "Clear", "filter": "Filter the claims",
        "shown": "{shown} of {total} claims shown", "link": "Link to claim {id}",
        "ranked": "Claim {id} in its guide section",
    },
    "ja": {
        "verdicts": {"correct": "正しい", "wrong": "誤り", "misleading": "誤解を招く", "outdated": "古い",
                     "unverifiable": "検証不能"},
        "meaning": {
            "correct": "主張は成り立つ",
            "wrong": "主張が誤っている、またはコードがガイドの言う動作をしない。同じハードウェアの公表された計測値から"
            "大きく外れた数値も誤りとし、理由欄にその計測値を示す",
            "misleading": "一部は正しいが、読者が誤った結論を導く",
            "outdated": "かつては正しかった、または普通のやり方だったが、今はそうではない",
            "unverifiable": "確かめるための出典・コード・条件が示されておらず、公表された情報でも否定できない",
        },
        "all": "すべて", "claims": "件数", "verdict": "判定", "meaning_header": "意味", "checked": "検証した主張",
        "says": "ガイドの記述", "why": "理由と根拠", "evidence": "根拠: ", "chapter": "第{n}章",
        "guide": " · ガイド §{s}",
        "every_chapter": "すべての章", "no_chapter": "章なし（出典のみ）", "chapter_field": "章", "search": "検索",
        "placeholder": "主張・理由・ID", "clear": "クリア", "filter": "主張を絞り込む",
        "shown": "{total} 件中 {shown} 件を表示", "link": "主張 {id} へのリンク", "ranked": "ガイドの節の中の主張 {id}",
    },
}
INTERNAL = re.compile(
    r"^(?P<page>\d\d-[a-z0-9-]+|benchmark-method|intro|glossary|references)(?:#(?P<anchor>[a-z0-9_-]+))?$"
)
#: Appendix pages that are notebooks, with the label their evidence links show in each edition.
NOTEBOOK_APPENDICES = {"benchmark-method": {"en": "benchmark appendix", "ja": "ベンチマークの付録"}}
NO_CHAPTER = "none"  # data-chapter of a row whose evidence links to no chapter
SCRIPT = "factcheck.js"


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


def edition(language: str | None) -> str:
    """``"ja"`` for the Japanese edition, ``"en"`` for everything else."""
    return "ja" if language == "ja" else "en"


def claim_text(row: dict[str, str], language: str = "en") -> str:
    """What the claim cell says: the English paraphrase, or in Japanese the guide's own words (English if unset)."""
    if edition(language) == "ja":
        return row["guide_quote"] or row["claim_ja"] or row["claim"]
    return row["claim"]


def reason_text(row: dict[str, str], language: str = "en") -> str:
    """The reason cell, in the edition's language (English where no translation is set)."""
    return (row["reason_ja"] or row["reason"]) if edition(language) == "ja" else row["reason"]


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


def chapter_pages(row: dict[str, str]) -> dict[int, str]:
    """The book chapters a row's evidence links to: chapter number -> page (``01-unified-memory``), by number.

    Only numbered chapters count; links to the introduction, glossary or references, and https sources, do not.
    """
    pages = {}
    for target in evidence_targets(row):
        match = INTERNAL.match(target)
        if match and match["page"][:2].isdigit():
            pages[int(match["page"][:2])] = match["page"]
    return dict(sorted(pages.items()))


def row_chapters(row: dict[str, str]) -> list[int]:
    """The numbers of the chapters a row's evidence links to, ascending; ``[]`` when it cites sources only."""
    return list(chapter_pages(row))


def chapter_attribute(row: dict[str, str]) -> str:
    """The row's ``data-chapter``: its chapter numbers, space-separated (``"3 4"``), or ``"none"``."""
    return " ".join(str(n) for n in row_chapters(row)) or NO_CHAPTER


def row_data(row: dict[str, str]) -> dict[str, str]:
    """The ``data-*`` attributes of one claim row (names without the ``data-`` prefix)."""
    return {"id": row["id"], "verdict": row["verdict"], "chapter": chapter_attribute(row)}


def data_attributes(data: dict[str, str]) -> str:
    """``{"verdict": "wrong"}`` -> ``data-verdict="wrong"``, escaped, in the given order."""
    for name in data:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
            raise ValueError(f"not a data attribute name: {name!r}")
    return " ".join(f'data-{name}="{html.escape(value, quote=True)}"' for name, value in data.items())


def chapter_options(rows: list[dict[str, str]]) -> list[tuple[str, str, int]]:
    """The chapter filter's choices: (value, page, claims) per chapter cited, then ("none", "", claims) if any."""
    pages: dict[int, str] = {}
    counts: Counter[str] = Counter()
    for row in rows:
        found = chapter_pages(row)
        pages.update(found)
        counts.update([str(n) for n in found] or [NO_CHAPTER])
    options = [(str(n), pages[n], counts[str(n)]) for n in sorted(pages)]
    if counts[NO_CHAPTER]:
        options.append((NO_CHAPTER, "", counts[NO_CHAPTER]))
    return options


def filter_form_html(counts: dict[str, int], chapters: list[tuple[str, str, int]], total: int,
                     language: str = "en") -> str:
    """The filter form: verdict buttons with their counts, a chapter menu, a text box and the "N of M" line.

    ``chapters`` holds (value, label, claims) triples. The form is ``hidden`` until the script shows it, so a
    reader without JavaScript sees the full tables and no controls that do nothing.
    """
    esc = html.escape
    say = LABELS[edition(language)]
    buttons = [
        '<button type="button" class="fc-verdict-button" data-verdict="" aria-pressed="true">'
        f'{esc(say["all"])} <span class="fc-n">{total}</span></button>'
    ]
    buttons += [
        f'<button type="button" class="fc-verdict-button fc-v-{esc(v)}" data-verdict="{esc(v)}" aria-pressed="false"'
        f' title="{esc(say["meaning"].get(v, v))}">{esc(say["verdicts"].get(v, v))} <span class="fc-n">{n}</span>'
        "</button>"
        for v, n in counts.items()
    ]
    options = [f'<option value="">{esc(say["every_chapter"])}</option>']
    for value, label, n in chapters:
        text = f"{value} · {label}" if value != NO_CHAPTER else say["no_chapter"]
        options.append(f'<option value="{esc(value)}" data-label="{esc(text)}">{esc(text)} ({n})</option>')
    status = esc(say["shown"]).format(shown=f'<span class="fc-shown">{total}</span>',
                                      total=f'<span class="fc-total">{total}</span>')
    return "\n".join([
        f'<form class="fc-filter" id="fc-filter" role="search" aria-label="{esc(say["filter"])}" hidden>',
        f'<div class="fc-verdicts" role="group" aria-label="{esc(say["verdict"])}">',
        *buttons,
        "</div>",
        '<div class="fc-fields">',
        f'<label class="fc-field">{esc(say["chapter_field"])} <select id="fc-chapter" name="chapter">',
        *options,
        "</select></label>",
        f'<label class="fc-field">{esc(say["search"])} <input type="search" id="fc-text" name="q" '
        f'placeholder="{esc(say["placeholder"])}" autocomplete="off" spellcheck="false"></label>',
        f'<button type="reset" class="fc-clear">{esc(say["clear"])}</button>',
        "</div>",
        f'<p class="fc-status" role="status" aria-live="polite">{status}</p>',
        "</form>",
    ])


def evidence_markdown(target: str, language: str = "en") -> str:
    """One evidence item as a Markdown link: chapters by number and section, sources by host."""
    match = INTERNAL.match(target)
    if match:
        page, anchor = match["page"], match["anchor"]
        suffix = ".ipynb" if page[:2].isdigit() or page in NOTEBOOK_APPENDICES else ".md"
        chapter = LABELS[edition(language)]["chapter"]
        label = chapter.format(n=int(page[:2])) if page[:2].isdigit() else page
        if page in NOTEBOOK_APPENDICES:
            label = NOTEBOOK_APPENDICES[page][edition(language)]
        if anchor:
            number = re.match(r"(\d+)-", anchor)
            label += f" § {number[1]}" if number else " (section)"
            return f"[{label}]({page}{suffix}#{anchor})"
        return f"[{label}]({page}{suffix})"
    host = urlparse(target).netloc.removeprefix("www.")
    return f"[{host}]({target})"


class fact_row(nodes.row):  # docutils names node classes in lower case
    """A table row whose ``data`` attribute (a dict) becomes ``data-*`` attributes of its ``<tr>``."""


class fact_filter(nodes.General, nodes.Element):
    """Placeholder for the filter form; rendered at write time, when every chapter's title is known."""


def visit_fact_row_html(self, node: fact_row) -> None:
    self.visit_row(node)
    tag = self.body[-1]
    if not tag.startswith("<tr") or not node.get("data"):
        return
    self.body[-1] = f"<tr {data_attributes(node['data'])}{tag[3:]}"


def depart_fact_row(self, node: fact_row) -> None:
    self.depart_row(node)


def visit_fact_row(self, node: fact_row) -> None:
    self.visit_row(node)


def visit_fact_filter_html(self, node: fact_filter) -> None:
    env = self.builder.env
    chapters = []
    for value, page, count in node["chapters"]:
        docname = posixpath.join(posixpath.dirname(node["docname"]), page) if page else ""
        title = env.titles[docname].astext() if docname in env.titles else page
        chapters.append((value, title, count))
    self.body.append(filter_form_html(node["counts"], chapters, node["total"], self.builder.config.language))
    raise nodes.SkipNode


def skip_node(self, node: nodes.Node) -> None:
    raise nodes.SkipNode


def _text_entry(text: str, strong: bool = False, classes: list[str] | None = None) -> nodes.entry:
    # Not a gettext message: the Japanese edition takes its text from the CSV's _ja columns.
    para = nodes.paragraph(classes=classes or [], translatable=False)
    para += nodes.strong(text=text) if strong else nodes.Text(text)
    return nodes.entry("", para)


def _table(headers: list[str], widths: list[int], classes: tuple[str, ...] = ()) -> tuple[nodes.table, nodes.tbody]:
    # No smart quotes: claims quote the guide's code, where 'cpu' must stay 'cpu'.
    table = nodes.table(classes=["factcheck", "colwidths-given", *classes], support_smartquotes=False)
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

    @property
    def language(self) -> str:
        return edition(self.config.language)

    @property
    def say(self) -> dict:
        return LABELS[self.language]

    def evidence_entry(self, row: dict[str, str]) -> nodes.entry:
        entry = nodes.entry()
        links = self.say["evidence"] + " · ".join(evidence_markdown(t, self.language) for t in evidence_targets(row))
        self.state.nested_parse(StringList([links]), 0, entry)
        for paragraph in entry.findall(nodes.paragraph):  # generated per language, never a gettext message
            paragraph["translatable"] = False
        return entry

    def claim_rows(self, rows: list[dict[str, str]], body: nodes.tbody, rank: bool = False) -> None:
        """One table row per claim: [rank,] claim (with its ID and guide section), verdict, reason and evidence.

        The rows of the section tables (``rank=False``) hold the IDs as anchors; a ranked row links to its
        claim's row there.
        """
        for row in rows:
            tr = fact_row(classes=["fc-row"], data=row_data(row))
            if rank:
                tr += _text_entry(row["top"])
            else:
                tr["ids"].append(row["id"])
                tr["names"].append(row["id"].lower())  # a label: {ref}`F041 <f041>` from other pages
                self.state.document.note_explicit_target(tr, tr)
            claim = _text_entry(claim_text(row, self.language), classes=["fc-claim"])
            title = self.say["ranked" if rank else "link"].format(id=row["id"])
            link = nodes.reference("", row["id"], refid=row["id"], internal=True, classes=["fc-id"], reftitle=title)
            where = nodes.Text(self.say["guide"].format(s=row["guide_section"]))
            claim += nodes.paragraph("", "", nodes.emphasis("", "", link, where), translatable=False)
            tr += claim
            verdict = self.say["verdicts"][row["verdict"]]
            tr += _text_entry(verdict, strong=True, classes=["fc-verdict", f"fc-v-{row['verdict']}"])
            why = self.evidence_entry(row)
            why.insert(0, nodes.paragraph("", reason_text(row, self.language), classes=["fc-reason"],
                                          translatable=False))
            tr += why
            body += tr


class FactCheckCounts(_FactCheckDirective):
    """A table of verdict counts, computed from the data file."""

    def run(self) -> list[nodes.Node]:
        rows = self.rows()
        say = self.say
        table, body = _table([say["verdict"], say["claims"], say["meaning_header"]], [2, 1, 6], ("fc-counts",))
        for verdict, count in verdict_counts(rows).items():
            tr = fact_row(classes=["fc-count"], data={"verdict": verdict})
            tr += _text_entry(say["verdicts"][verdict], strong=True, classes=["fc-verdict", f"fc-v-{verdict}"])
            tr += _text_entry(str(count))
            tr += _text_entry(say["meaning"][verdict])
            body += tr
        tr = fact_row(classes=["fc-count"], data={"verdict": ""})
        tr += _text_entry(say["all"], strong=True)
        tr += _text_entry(str(len(rows)))
        tr += _text_entry(say["checked"])
        body += tr
        return [table]


class FactCheckFilter(_FactCheckDirective):
    """The filter form for the tables of this page (HTML only; other formats get nothing)."""

    def run(self) -> list[nodes.Node]:
        rows = self.rows()
        return [fact_filter(docname=self.env.docname, counts=verdict_counts(rows), total=len(rows),
                            chapters=chapter_options(rows))]


class FactCheckTop(_FactCheckDirective):
    """The rows ranked in the ``top`` column, by rank."""

    def run(self) -> list[nodes.Node]:
        ranked = sorted((r for r in self.rows() if r["top"]), key=lambda r: int(r["top"]))
        say = self.say
        table, body = _table(["#", say["says"], say["verdict"], say["why"]], [1, 7, 5, 12], ("fc-top",))
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
        say = self.say
        table, body = _table([say["says"], say["verdict"], say["why"]], [7, 5, 12], ("fc-section",))
        self.claim_rows(rows, body)
        return [table]


def _add_static_path(app: Sphinx, config: object) -> None:
    config.html_static_path.append(str(Path(__file__).resolve().parent / "static"))


def _claim_anchors(app: Sphinx, doctree: nodes.document) -> None:
    """Let Markdown links from other pages reach a claim: ``[F041](factcheck.md#F041)`` under -W.

    MyST checks the ``#anchor`` of a link to another document against that document's heading slugs.
    """
    rows = [row for row in doctree.findall(fact_row) if row["ids"]]
    if rows:
        slugs = app.env.metadata[app.env.docname].setdefault("myst_slugs", {})
        for row in rows:
            slugs[row["ids"][0]] = (row.line, row["ids"][0], f"claim {row['ids'][0]}")


def _page_script(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object) -> None:
    """The filter script goes on the page that has the form, and nowhere else."""
    if doctree is not None and any(True for _ in doctree.findall(fact_filter)):
        app.add_js_file(SCRIPT, loading_method="defer")


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", _add_static_path)
    app.connect("doctree-read", _claim_anchors)
    app.connect("html-page-context", _page_script)
    app.add_css_file("factcheck.css")
    app.add_css_file("layout.css")  # site-wide: nothing widens the page on a phone
    app.add_js_file("toggles.js", loading_method="defer")  # site-wide: the visible sidebar buttons work
    passthrough = (visit_fact_row, depart_fact_row)
    app.add_node(fact_row, html=(visit_fact_row_html, depart_fact_row), latex=passthrough, text=passthrough,
                 man=passthrough, texinfo=passthrough)
    app.add_node(fact_filter, html=(visit_fact_filter_html, None), latex=(skip_node, None),
                 text=(skip_node, None), man=(skip_node, None), texinfo=(skip_node, None))
    app.add_directive("factcheck-counts", FactCheckCounts)
    app.add_directive("factcheck-filter", FactCheckFilter)
    app.add_directive("factcheck-top", FactCheckTop)
    app.add_directive("factcheck-table", FactCheckTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
