"""The built site in a real browser: every page loads cleanly, offline, with its figures, links and search; it fits
a phone's width; the fact-check appendix filters its claims and links to each one.

Headless Chromium or Chrome, found by ``tools/browser.py`` (the one ``make setup`` provides: $CHROMIUM, the
system's browser, or Playwright's own), driven by Playwright; the test never downloads a browser. The site is
served from 127.0.0.1 and every request to anywhere else is blocked and reported. A screenshot of a chapter goes
to $TEST_ARTIFACTS (or pytest's temporary directory).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import nbformat
import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import browser as finder  # tools/ is no package: imported from its folder

LOCAL_SCHEMES = {"data", "blob", "about"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
SETTLE_IMAGES = """async () => {
  const imgs = [...document.images];
  imgs.forEach((img) => { img.loading = "eager"; });
  await Promise.all(imgs.map((img) => img.complete ? null
    : new Promise((done) => { img.addEventListener("load", done); img.addEventListener("error", done); })));
  return imgs.filter((img) => img.naturalWidth === 0).map((img) => img.getAttribute("src"));
}"""


def chromium_path() -> str:
    path = finder.find_browser()
    if path is None:  # the browser test must run: it fails, never skips, without a browser
        pytest.fail(f"{finder.HOW_TO} The browser test is not skipped.", pytrace=False)
    return path


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(built_site: Path) -> Iterator[str]:
    handler = functools.partial(Quiet, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site, relative to its root, except Sphinx's sources and static files."""
    return sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if not any(part.startswith("_") for part in p.relative_to(site).parts)  # both editions' _static, _sources
    )


def figure_count(page: str) -> int:
    """Image outputs stored in the executed chapter behind ``book/NN-topic.html`` (0 for prose pages)."""
    source = ROOT / page.replace(".html", ".ipynb")
    if not source.is_file():
        return 0
    nb = nbformat.read(source, as_version=4)
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if any(mime in out.get("data", {}) for mime in IMAGE_MIMES)
    )


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("TEST_ARTIFACTS") or tmp_path_factory.mktemp("browser-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(server: str):
    """One headless Chromium for the whole module; each test opens its own context (viewport, JavaScript)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


def local_only(context, server: str, remote: list[str] | None = None) -> None:
    """Let ``context`` reach the local site only: requests to anywhere else are aborted (and listed in ``remote``)."""
    local = urlparse(server).netloc

    def route(route_obj, request) -> None:
        url = urlparse(request.url)
        if url.scheme in LOCAL_SCHEMES or url.netloc == local:
            route_obj.continue_()
        else:
            if remote is not None:
                remote.append(request.url)
            route_obj.abort()

    context.route("**/*", route)


@pytest.fixture(scope="module")
def browser_report(built_site: Path, server: str, browser, artifacts: Path) -> dict[str, object]:
    """Load every page once in headless Chromium and record what went wrong on each."""
    report: dict[str, object] = {
        "remote": [], "console": {}, "broken_images": {}, "chapter_images": {}, "wider_than_phone": {},
    }
    context = browser.new_context(viewport=DESKTOP)
    local_only(context, server, report["remote"])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    for path in site_pages(built_site):
        errors.clear()
        page.goto(server + path, wait_until="load")
        if path in ("index.html", "ja/index.html"):  # a meta-refresh redirect to the edition's first page
            page.wait_for_url(re.compile(r".*/book/intro\.html$"), timeout=10_000)
            page.wait_for_load_state("load")
        broken = page.evaluate(SETTLE_IMAGES)
        if errors:
            report["console"][path] = list(errors)
        if broken:
            report["broken_images"][path] = broken
        if re.fullmatch(r"book/\d\d-.+\.html", path):
            report["chapter_images"][path] = page.locator("div.cell_output img").count()
        page.set_viewport_size(PHONE)  # the same page on a phone: does the page itself scroll sideways?
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if widths[0] > widths[1]:
            report["wider_than_phone"][path] = widths
        page.set_viewport_size(DESKTOP)
    chapter = "book/01-unified-memory.html"
    page.goto(server + chapter, wait_until="load")
    shot = artifacts / "chapter-01.png"
    page.screenshot(path=str(shot), full_page=False)
    report["screenshot"] = shot
    page.goto(server + "search.html?q=MPS", wait_until="load")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=20_000)
    report["search_hits"] = results.count()
    context.close()
    return report


def test_no_request_leaves_the_machine(browser_report):
    assert not browser_report["remote"], f"requests to other hosts: {sorted(set(browser_report['remote']))[:10]}"


def test_no_console_errors(browser_report):
    assert not browser_report["console"], browser_report["console"]


def test_no_broken_images(browser_report):
    assert not browser_report["broken_images"], browser_report["broken_images"]


def test_every_chapter_shows_its_figures(browser_report, built_site):
    chapters = {p for p in site_pages(built_site) if re.fullmatch(r"book/\d\d-.+\.html", p)}
    assert chapters, "no chapter pages built"
    missing = {
        page: (browser_report["chapter_images"].get(page, 0), figure_count(page))
        for page in chapters
        if browser_report["chapter_images"].get(page, 0) < figure_count(page)
    }
    assert not missing, f"page: (images shown, figures stored) {missing}"


def test_no_page_scrolls_sideways_on_a_phone(browser_report):
    """At 390 px wide, code blocks and wide tables may scroll inside their own boxes; the page itself may not."""
    assert not browser_report["wider_than_phone"], f"(scrollWidth, innerWidth): {browser_report['wider_than_phone']}"


def test_search_finds_mps(browser_report):
    assert browser_report["search_hits"] > 0


def test_screenshot_is_saved(browser_report, capsys):
    shot = browser_report["screenshot"]
    assert shot.is_file() and shot.stat().st_size > 10_000, "a screenshot with something on it"
    assert ROOT not in shot.parents, "artifacts stay outside the git tree"
    with capsys.disabled():
        print(f"\nscreenshot of a chapter page: {shot}")


class Links(HTMLParser):
    """Collects every link target and every id (anchor) of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name") if tag in {"a", "span"} else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])


def test_internal_links_and_anchors_resolve(built_site):
    parsed: dict[str, Links] = {}

    def page(rel: str) -> Links:
        if rel not in parsed:
            parser = Links()
            parser.feed((built_site / rel).read_text(encoding="utf-8"))
            parsed[rel] = parser
        return parsed[rel]

    broken = []
    for rel in site_pages(built_site):
        for href in page(rel).hrefs:
            url = urlparse(href)
            if url.scheme or href.startswith("//") or href == "#":
                continue  # external (checked as data, never fetched) or a bare "#"
            target = urlparse(urljoin(f"http://site/{rel}", href))
            path = unquote(target.path).lstrip("/") or "index.html"
            if path.endswith("/"):
                path += "index.html"
            if not (built_site / path).is_file():
                broken.append(f"{rel}: {href} (no file {path})")
            elif target.fragment and path.endswith(".html") and unquote(target.fragment) not in page(path).ids:
                broken.append(f"{rel}: {href} (no anchor #{target.fragment} in {path})")
    assert not broken, broken[:20]


# The fact-check appendix: rows carry their ID as anchor and their verdict and chapters as data; a script filters.

FACTCHECK = "book/factcheck.html"
SHOWN_ROWS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((row) => row.getClientRects().length > 0)
  .map((row) => ({id: row.dataset.id, verdict: row.dataset.verdict, chapter: row.dataset.chapter,
                  text: [...row.querySelectorAll('.fc-claim, .fc-reason')].map((p) => p.textContent).join(' ')}))"""
CLAIMS = "tr.fc-row[id]"  # the section tables: every claim once
TOP = "table.fc-top tr.fc-row"


class Rows(HTMLParser):
    """The ``<tr>`` attributes of one page, by id, and the attributes of every claim row (``data-id``)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.claim_rows: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("id"):
            self.by_id[a["id"]] = a
        if tag == "tr" and a.get("data-id"):
            self.claim_rows.append(a)


def test_every_claim_row_is_an_anchor_with_its_verdict_and_chapters(built_site):
    """``factcheck.html#F041`` reaches the row; its data attributes are what the data file says."""
    spec = importlib.util.spec_from_file_location("factcheck_ext_for_browser", ROOT / "_ext" / "factcheck.py")
    factcheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(factcheck)
    parser = Rows()
    parser.feed((built_site / FACTCHECK).read_text(encoding="utf-8"))
    claims = factcheck.load_claims()
    for row in claims:
        tr = parser.by_id.get(row["id"])
        assert tr is not None, f"no <tr id={row['id']!r}> in {FACTCHECK}"
        assert tr["data-verdict"] == row["verdict"] and tr["data-id"] == row["id"]
        assert tr["data-chapter"] == factcheck.chapter_attribute(row), row["id"]
    ranked = sum(1 for row in claims if row["top"])
    assert len(parser.claim_rows) == len(claims) + ranked, "each claim once by section, and the ten once more"


def shown(page, selector: str = CLAIMS) -> list[dict[str, str]]:
    return page.evaluate(SHOWN_ROWS, selector)


def status(page) -> str:
    return page.locator("#fc-filter .fc-status").inner_text().strip()


@pytest.fixture(scope="module")
def desktop(browser, server: str):
    """A desktop-sized context shared by the fact-check tests (its cache keeps page loads short)."""
    context = browser.new_context(viewport=DESKTOP)
    local_only(context, server)
    yield context
    context.close()


@pytest.fixture
def factcheck_page(desktop, server: str):
    page = desktop.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + FACTCHECK, wait_until="load")
    page.locator("#fc-filter").wait_for(state="visible", timeout=10_000)
    yield page
    page.close()
    assert not errors, f"uncaught script errors: {errors}"


def test_factcheck_filters_by_verdict(factcheck_page):
    page = factcheck_page
    total = page.locator(CLAIMS).count()
    assert total > 100 and len(shown(page)) == total
    assert status(page) == f"{total} of {total} claims shown"
    squeezed = page.evaluate(
        "[...document.querySelectorAll('p.fc-verdict')].filter((p) => p.scrollWidth > p.clientWidth).map((p) => p.id)"
    )
    assert not squeezed, f"{len(squeezed)} verdicts are wider than their column"
    for verdict in ("wrong", "outdated"):
        page.click(f"#fc-filter button[data-verdict='{verdict}']")
        rows = shown(page)
        expected = page.locator(f"{CLAIMS}[data-verdict='{verdict}']").count()
        assert expected > 0 and len(rows) == expected
        assert {row["verdict"] for row in rows} == {verdict}
        assert status(page) == f"{expected} of {total} claims shown"
        top = shown(page, TOP)
        assert len(top) == page.locator(f"{TOP}[data-verdict='{verdict}']").count()
        assert all(row["verdict"] == verdict for row in top), "the ten that matter most follow the filter too"
        assert page.get_attribute(f"#fc-filter button[data-verdict='{verdict}']", "aria-pressed") == "true"
        assert f"verdict={verdict}" in page.url, "the filter is in the address, to share"
    page.click("#fc-filter button[data-verdict='']")
    assert len(shown(page)) == total
    page.click("table.fc-counts tr[data-verdict='misleading'] button")  # the counts double as filters
    assert {row["verdict"] for row in shown(page)} == {"misleading"}


def test_factcheck_text_search_narrows_rows(factcheck_page):
    page = factcheck_page
    total = page.locator(CLAIMS).count()
    page.fill("#fc-text", "F041")
    assert [row["id"] for row in shown(page)] == ["F041"]
    assert status(page) == f"1 of {total} claims shown"
    page.fill("#fc-text", "Synchronize")
    rows = shown(page)
    assert 0 < len(rows) < total
    assert all("synchronize" in row["text"].lower() for row in rows)
    other = next(w for w in re.findall(r"[a-z]{5,}", rows[0]["text"].lower()) if w != "synchronize")
    page.fill("#fc-text", f"synchronize {other.upper()}")  # every word must occur, in any case
    both = shown(page)
    assert 0 < len(both) <= len(rows)
    assert all("synchronize" in row["text"].lower() and other in row["text"].lower() for row in both)
    page.fill("#fc-text", "no claim says zqxjv")
    assert shown(page) == [] and shown(page, TOP) == []
    assert status(page) == f"0 of {total} claims shown"
    tables = page.locator("table.fc-section, table.fc-top").count()
    assert page.locator("p.fc-empty").filter(visible=True).count() == tables, "each empty table says so"
    page.locator("#fc-text").press("Escape")
    assert len(shown(page)) == total


def test_factcheck_filters_by_chapter(factcheck_page):
    page = factcheck_page
    total = page.locator(CLAIMS).count()
    page.select_option("#fc-chapter", "3")
    rows = shown(page)
    assert rows and all("3" in row["chapter"].split() for row in rows)
    assert len(rows) == page.locator(f"{CLAIMS}[data-chapter~='3']").count()
    assert status(page) == f"{len(rows)} of {total} claims shown"
    page.click("#fc-filter button[data-verdict='correct']")  # filters combine
    both = shown(page)
    assert all(row["verdict"] == "correct" and "3" in row["chapter"].split() for row in both)
    assert len(both) == page.locator(f"{CLAIMS}[data-chapter~='3'][data-verdict='correct']").count()
    page.click("#fc-filter button.fc-clear")
    page.select_option("#fc-chapter", "none")
    rows = shown(page)
    assert rows and {row["chapter"] for row in rows} == {"none"}, "claims whose evidence is in no chapter"
    page.click("#fc-filter button.fc-clear")
    assert len(shown(page)) == total and "chapter=" not in page.url


def test_claim_link_targets_its_row(desktop, server: str, artifacts: Path):
    page = desktop.new_page()
    on_screen = """(id) => { const row = document.getElementById(id); const box = row.getBoundingClientRect();
      const hit = document.elementFromPoint(box.left + 10, box.top + 10);  // not under the sticky header or form
      return [document.querySelector(':target')?.id, box.top >= 0 && box.top < window.innerHeight,
              hit?.closest('tr')?.id]; }"""
    page.goto(server + FACTCHECK + "#F041", wait_until="load")
    assert page.evaluate(on_screen, "F041") == ["F041", True, "F041"]
    page.screenshot(path=str(artifacts / "factcheck-F041.png"))
    # A filter that would hide the claim gives way to the link.
    verdict = page.get_attribute("#F041", "data-verdict")
    other = next(v for v in ("correct", "wrong", "misleading") if v != verdict)
    page.goto(server + f"{FACTCHECK}?verdict={other}#F041", wait_until="load")
    assert page.evaluate(on_screen, "F041") == ["F041", True, "F041"]
    # The ID in a row is the row's permalink; in the ten that matter most it leads to the claim's row.
    page.click("#F042 a.fc-id")
    assert page.url.endswith("#F042") and page.evaluate(on_screen, "F042") == ["F042", True, "F042"]
    ranked = page.locator(f"{TOP} a.fc-id").first
    target = ranked.inner_text().strip()
    ranked.click()
    assert page.evaluate(on_screen, target) == [target, True, target]
    page.close()


def test_factcheck_reads_without_javascript(browser, server: str):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    local_only(context, server)
    page = context.new_page()
    page.goto(server + FACTCHECK, wait_until="load")
    assert not page.locator("#fc-filter").is_visible(), "no controls that would do nothing"
    assert len(shown(page)) == page.locator(CLAIMS).count() > 100
    context.close()


def test_phone_reaches_the_chapters(browser, server: str, artifacts: Path):
    """On a phone the chapter page fits the screen and the visible menu button opens the chapter navigation."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    local_only(context, server)
    page = context.new_page()
    page.goto(server + "book/01-unified-memory.html", wait_until="load")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    chapters = page.locator("nav.bd-docs-nav a.reference.internal").filter(visible=True)
    assert chapters.count() == 0, "the navigation starts closed on a phone"
    toggle = page.locator(".primary-toggle").filter(visible=True)
    assert toggle.count() == 1, "one visible menu button"
    toggle.click()
    page.locator("nav.bd-docs-nav a[href='02-installing.html']").filter(visible=True).wait_for(timeout=5_000)
    hrefs = [chapters.nth(i).get_attribute("href") for i in range(chapters.count())]
    assert len([h for h in hrefs if re.fullmatch(r"\d\d-[a-z0-9-]+\.html", h or "")]) >= 11, hrefs
    page.screenshot(path=str(artifacts / "phone-navigation.png"))
    page.locator("nav.bd-docs-nav a[href='02-installing.html']").filter(visible=True).click()
    page.wait_for_url(re.compile(r".*/book/02-installing\.html$"))
    context.close()


# The Japanese edition (_build/html/ja): a link to the other edition on every page, to the same section; and a
# Japanese phrase typed into the search box finds the page that says it (the query is segmented like the index).

JA_PAGE = "ja/book/01-unified-memory.html"  # the chapter on unified memory
# From the page title: one unbroken run of Japanese, found only if the query is split into words.
JA_PHRASE = "シリコンとユニファイドメモリ"


def test_language_link_goes_both_ways_to_the_same_section(desktop, server: str, artifacts: Path):
    page = desktop.new_page()
    page.goto(server + "book/01-unified-memory.html", wait_until="load")
    section = page.evaluate("document.querySelectorAll('section[id]')[1].id")  # the first numbered section
    page.goto(server + f"book/01-unified-memory.html#{section}", wait_until="load")
    to_japanese = page.locator("a.mpsbook-edition")
    assert to_japanese.inner_text().strip() == "日本語" and to_japanese.get_attribute("hreflang") == "ja"
    to_japanese.click()
    page.wait_for_url(re.compile(rf".*/ja/book/01-unified-memory\.html#{re.escape(section)}$"))
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert page.evaluate(f"document.getElementById({section!r}) !== null"), "the section keeps its anchor in Japanese"
    page.screenshot(path=str(artifacts / "chapter-01-ja.png"))
    to_english = page.locator("a.mpsbook-edition")
    assert to_english.inner_text().strip() == "English"
    to_english.click()
    page.wait_for_url(re.compile(rf".*/book/01-unified-memory\.html#{re.escape(section)}$"))
    assert "/ja/" not in page.url and page.evaluate("document.documentElement.lang") == "en"
    page.close()


def test_japanese_search_finds_the_page(desktop, server: str, built_site: Path):
    page_text = (built_site / JA_PAGE).read_text(encoding="utf-8")
    assert JA_PHRASE in page_text, f"{JA_PHRASE} is no longer on {JA_PAGE}: pick a phrase the page says"
    page = desktop.new_page()
    page.goto(server + "ja/search.html?q=" + JA_PHRASE, wait_until="load")
    # Sphinx lists the hits one by one, fetching each page's text for its summary; wait for the expected page's hit,
    # not for the whole list (on a busy 2-core machine the later hits alone can take longer than the timeout).
    page.wait_for_function(
        "(wanted) => [...document.querySelectorAll('#search-results ul.search li a')]"
        ".some((a) => a.href.endsWith(wanted))",
        arg=JA_PAGE,
        timeout=20_000,
    )
    found = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map((a) => a.href)")
    assert any(found_href.endswith(JA_PAGE) for found_href in found), found
    page.close()
