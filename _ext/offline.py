"""Keep the built site offline: drop every script or stylesheet that points off the machine.

Jupyter Book 1 adds sphinx-thebe to every page even with thebe disabled: an inline script holding
a CDN URL and a loader that would fetch it. Neither is needed without live code cells.
"""

from __future__ import annotations

from sphinx.application import Sphinx

REMOTE = ("http://", "https://", "//")


def _is_remote(asset: object) -> bool:
    name = str(getattr(asset, "filename", "") or "")
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return name.startswith(REMOTE) or "sphinx-thebe" in name or any(p in body for p in REMOTE)


def _strip_remote_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object) -> None:
    for key in ("script_files", "css_files"):
        if key in context:
            context[key][:] = [asset for asset in context[key] if not _is_remote(asset)]


def setup(app: Sphinx) -> dict[str, object]:
    # Early: a later handler may return a template name, which ends the event (emit_firstresult).
    app.connect("html-page-context", _strip_remote_assets, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
