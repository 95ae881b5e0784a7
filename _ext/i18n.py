"""The Japanese edition: Sphinx's gettext translation, with four repairs this book's sources need.

The English pages are the source; ``locale/ja/LC_MESSAGES/book/<page>.po`` hold the Japanese prose (``make i18n``
refreshes them, ``tools/build_site.py`` builds both editions). Code and stream outputs are never translated.

Repairs, each for something Sphinx 7.4 + MyST-NB would otherwise get wrong:

1. Paragraphs inside tables inside directives (a table in an admonition) carry no ``source``, and Sphinx skips
   source-less text as "built-in": it was neither extracted nor translated. They inherit their ancestor's source.
2. A translated heading gets a new HTML id, and Locale's parse of the translated heading replaces the page's MyST
   slug table, so MyST's heading anchors (``04-limitations.ipynb#3-...``) broke in the Japanese pages (MyST-Parser
   issue #844). Every section keeps its English ids and the page its English slugs: deep links are the same in
   both editions.
3. ``_toc.yml`` part captions are extracted, but sphinx-external-toc inserts them after the translation step;
   they are translated here from the root page's catalog.
4. The search index segments Japanese text into words (TinySegmenter), but the search box does not segment the
   query, so a Japanese phrase found nothing. The query is segmented in the browser by the same algorithm
   (``vendor/tinysegmenter``, Taku Kudo's TinySegmenter, BSD licence).

Cell outputs are never messages either (``KeepOutputsUntranslated``): a table a cell printed is shared, like code.
Every page also gets a link to the same page in the other edition (``static/language.js``).
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.locale import init as init_locale
from sphinx.search import languages
from sphinx.search.ja import SearchJapanese
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain

#: Where each edition lives in the built site: English at the root, Japanese under ``ja/``.
EDITIONS = {"en": ("", "English"), "ja": ("ja/", "日本語")}
SEGMENTER = Path(__file__).resolve().parent.parent / "vendor" / "tinysegmenter" / "tiny_segmenter.js"


class GiveSourceToSourcelessText(SphinxTransform):
    """Repair 1: text elements without ``source`` (table cells in directives) take their ancestor's."""

    default_priority = 5  # before Locale (20) and before the gettext builder's extraction

    def apply(self, **kwargs: object) -> None:
        for node in self.document.findall(nodes.TextElement):
            if node.source:
                continue
            ancestor = node.parent
            while ancestor is not None and not ancestor.source:
                ancestor = ancestor.parent
            if ancestor is not None:
                node.source, node.line = ancestor.source, ancestor.line


class KeepOutputsUntranslated(SphinxTransform):
    """Cell outputs (a Markdown table a cell printed, say) are shared by both editions, like code: not messages.

    A measurement's table changes with every run; as a gettext message it would turn the catalog stale each time.
    """

    default_priority = 6  # after repair 1, before Locale (20) and before the gettext builder's extraction

    def apply(self, **kwargs: object) -> None:
        for output in self.document.findall(nodes.container):
            if "cell_output" in output["classes"]:
                for node in output.findall(nodes.TextElement):
                    node["translatable"] = False


class RememberSectionIds(SphinxTransform):
    """Repair 2, first half: note each section's English ids before Locale translates its title."""

    default_priority = 10

    def apply(self, **kwargs: object) -> None:
        for section in self.document.findall(nodes.section):
            section["mpsbook-ids"] = list(section["ids"])
        # MyST's slug table, from the English headings. Locale parses each translated heading as a small MyST
        # document, and that parse overwrites the page's table with the Japanese slug (MyST-Parser #844).
        metadata = self.env.metadata[self.env.docname]
        self.document["mpsbook-slugs"] = dict(metadata.get("myst_slugs", {}))


class RestoreSectionIds(SphinxTransform):
    """Repair 2, second half: put the English ids back first, so that the HTML id is the English one."""

    default_priority = 25  # after Locale

    def apply(self, **kwargs: object) -> None:
        slugs = self.document.attributes.pop("mpsbook-slugs", {})
        if slugs:
            self.env.metadata[self.env.docname]["myst_slugs"] = slugs
            self.document.myst_slugs = slugs
        for section in self.document.findall(nodes.section):
            english = section.attributes.pop("mpsbook-ids", [])
            for id_ in english:
                self.document.ids.setdefault(id_, section)
            section["ids"] = english + [i for i in section["ids"] if i not in english]


class TranslateTocCaptions(SphinxTransform):
    """Repair 3: translate the part captions that sphinx-external-toc inserted (priority 100)."""

    default_priority = 101

    def apply(self, **kwargs: object) -> None:
        if not self.config.language or self.config.language == "en":
            return
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        dirs = [str(Path(self.env.srcdir) / d) for d in self.config.locale_dirs]
        catalog, has_catalog = init_locale(dirs, self.config.language, domain)
        if not has_catalog:
            return
        for toctree in self.document.findall(addnodes.toctree):
            caption = toctree.get("caption")
            if caption:
                toctree["caption"] = toctree["rawcaption"] = catalog.gettext(caption)


class SearchJapaneseSegmentedQuery(SearchJapanese):
    """Repair 4: Sphinx's Japanese search, with the query segmented in the browser like the index."""

    js_splitter_code = (
        SEGMENTER.read_text(encoding="utf-8")
        + """
// The index holds TinySegmenter's words longer than one character (SearchJapanese.word_filter): so does the query.
var splitQuery = (query) => new TinySegmenter()
  .segment(query)
  .flatMap((word) => word.split(/[^\\p{Letter}\\p{Number}_]+/u))
  .filter((word) => word.length > 1);
"""
    )


def _other_edition(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object) -> None:
    """Tell language.js where the same page lives in the other edition (a relative link: the site is offline)."""
    here = app.config.language if app.config.language in EDITIONS else "en"
    other = "ja" if here == "en" else "en"
    depth = pagename.count("/") + (1 if here == "ja" else 0)  # folders between this page and the site's root
    site_root = "../" * depth
    url = posixpath.join(site_root + EDITIONS[other][0], pagename + ".html") if site_root else (
        EDITIONS[other][0] + pagename + ".html")
    context["metatags"] = context.get("metatags", "") + (
        f'\n<meta name="mpsbook-other-edition" content="{url}" data-lang="{other}" '
        f'data-label="{EDITIONS[other][1]}">'
    )


def setup(app: Sphinx) -> dict[str, object]:
    languages["ja"] = SearchJapaneseSegmentedQuery
    app.add_transform(GiveSourceToSourcelessText)
    app.add_transform(KeepOutputsUntranslated)
    app.add_transform(RememberSectionIds)
    app.add_transform(RestoreSectionIds)
    app.add_transform(TranslateTocCaptions)
    app.connect("html-page-context", _other_edition)
    app.add_js_file("language.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
