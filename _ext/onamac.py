"""The "On a Mac" notes get a look of their own, so that a reader tells them from the page's own outputs.

A chapter writes them as MyST admonitions (the test suite checks where they must be and that each has a source):

    ```{admonition} On a Mac
    :class: on-a-mac

    What a Mac prints or measures here, with a link to where that comes from.
    ```

The stylesheet (``static/boxes.css``) gives ``on-a-mac`` an Apple icon and a neutral grey, so a reader can tell
at a glance which text describes the device that produced the page and which describes a Mac.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx


def _add_static_path(app: Sphinx, config: object) -> None:
    static = str(Path(__file__).resolve().parent / "static")
    if static not in config.html_static_path:
        config.html_static_path.append(static)


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", _add_static_path)
    app.add_css_file("boxes.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
