"""The built site in a real browser: every page loads cleanly, offline, with its figures, links and search.

Headless Chromium from the system (Debian's ``chromium`` package at /usr/bin/chromium, or $CHROMIUM) driven by
Playwright; no browser is downloaded. The site is served from 127.0.0.1 and every request to anywhere else is
blocked and reported. A screenshot of a chapter goes to $TEST_ARTIFACTS (or pytest's temporary directory).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import nbformat
import pytest
from conftest import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LOCAL_SCHEMES = {"data", "blob", "about"}
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
SETTLE_IMAGES = """async () => {
  const imgs = [...document.images];
  imgs.forEach((img) => { img.loading = "eager"; });
  await Promise.all(imgs.map((img) => img.complete ? null
    : new Promise((done) => { img.addEventListener("load", done); img.addEventListener("error", done); })));
  return imgs.filter((img) => img.naturalWidth === 0).map((img) => img.getAttribute("src"));
}"""


def chromium_path() -> str:
    path = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).is_file() else None)
    if path is None:
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(or set CHROMIUM=/path/to/chromium). The browser test must run; it is not skipped.",
            pytrace=False,
        )
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
        if not p.relative_to(site).parts[0].startswith("_")
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
def browser_report(built_site: Path, server: str, tmp_path_factory) -> dict[str, object]:
    """Load every page once in headless Chromium and record what went wrong on each."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    artifacts = Path(os.environ.get("TEST_ARTIFACTS") or tmp_path_factory.mktemp("browser-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    local = urlparse(server).netloc
    report: dict[str, object] = {"remote": [], "console": {}, "broken_images": {}, "chapter_images": {}}

    def route(route_obj, request) -> None:
        url = urlparse(request.url)
        if url.scheme in LOCAL_SCHEMES or url.netloc == local:
            route_obj.continue_()
        else:
            report["remote"].append(request.url)
            route_obj.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", route)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        for path in site_pages(built_site):
            errors.clear()
            page.goto(server + path, wait_until="load")
            if path == "index.html":  # a meta-refresh redirect to the first real page
                page.wait_for_url(re.compile(r".*/book/intro\.html$"), timeout=10_000)
                page.wait_for_load_state("load")
            broken = page.evaluate(SETTLE_IMAGES)
            if errors:
                report["console"][path] = list(errors)
            if broken:
                report["broken_images"][path] = broken
            if re.fullmatch(r"book/\d\d-.+\.html", path):
                report["chapter_images"][path] = page.locator("div.cell_output img").count()
        chapter = "book/01-unified-memory.html"
        page.goto(server + chapter, wait_until="load")
        shot = artifacts / "chapter-01.png"
        page.screenshot(path=str(shot), full_page=False)
        report["screenshot"] = shot
        page.goto(server + "search.html?q=MPS", wait_until="load")
        results = page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=20_000)
        report["search_hits"] = results.count()
        browser.close()
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
