"""The site builds from the stored outputs with warnings as errors, and asks nothing of the network."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

REMOTE = re.compile(r"^(https?:)?//", re.IGNORECASE)


class Assets(HTMLParser):
    """Collects every URL a browser would fetch on its own when it loads a page."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in {"script", "img", "iframe", "source", "audio", "video"} and a.get("src"):
            self.fetched.append(a["src"])
        navigation = {None, "canonical", "next", "prev", "index", "search"}  # links a browser does not fetch
        if tag == "link" and a.get("href") and a.get("rel") not in navigation:
            self.fetched.append(a["href"])
        self._in_script = tag == "script" and not a.get("src")

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


@pytest.fixture(scope="module")
def site(built_site: Path) -> Path:
    return built_site


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_toc_page_is_built(site):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    for file in files:
        assert (site / f"{file}.html").is_file(), f"{file} missing from the site"


def test_no_page_fetches_anything_remote(site):
    offenders = []
    for page in pages(site):
        parser = Assets()
        parser.feed(page.read_text())
        offenders += [f"{page.name}: {url}" for url in parser.fetched if REMOTE.match(url)]
        offenders += [f"{page.name}: inline script with a URL" for s in parser.inline_scripts if "http" in s]
    assert not offenders, offenders[:10]


def test_mathjax_is_served_by_the_site(site):
    assert (site / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    assert (site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_chapters_are_numbered_and_downloadable(site):
    page = (site / "book" / "01-unified-memory.html").read_text()
    assert '<h1><span class="section-number">1. </span>Apple Silicon' in page, "chapter numbering is on"
    assert 'href="../_sources/book/01-unified-memory.ipynb"' in page, "the download button offers the notebook"
    assert (site / "_sources" / "book" / "01-unified-memory.ipynb").is_file()
    assert "Memory bandwidth (GB/s)</p></th>" in page, "Markdown outputs (the chip table) render as tables"


def test_landing_page_maps_chapters_to_the_guide(site):
    page = (site / "book" / "intro.html").read_text()
    assert "Guide sections" in page
    assert 'href="01-unified-memory.html"' in page


def test_chapters_cite_into_the_references_page(site):
    page = (site / "book" / "01-unified-memory.html").read_text()
    citation = r'<span class="bibtex-citation"[^>]*>\[<a class="reference internal" href="references\.html#([^"]+)"'
    targets = re.findall(citation, page)
    assert targets, "chapter 1 cites the bibliography with numbered links into references.html"
    references = (site / "book" / "references.html").read_text()
    assert all(f'id="{t}"' in references for t in targets), "every citation lands on an entry of the references page"
