"""Build the site: the English edition into _build/html, the Japanese one into _build/html/ja; or refresh catalogs.

    python tools/build_site.py            # both editions (make book)
    python tools/build_site.py en         # one edition
    python tools/build_site.py --i18n     # extract the English messages, update locale/ja (make i18n)

Both editions come from the same executed notebooks in book/: Sphinx's gettext machinery swaps the prose for
its translation in ``locale/ja/LC_MESSAGES/book/<page>.po`` (code and outputs are shared). Each build keeps its
own doctree folder: one shared between languages is refused by Sphinx ("environment is incompatible").
Warnings are errors, as in ``jupyter-book build --warningiserror --nitpick``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
LOCALE = ROOT / "locale"
LANGUAGES = ("en", "ja")
#: Settings that differ in the Japanese edition (the rest comes from _config.yml).
OVERRIDES = {"ja": {"language": "ja", "html_title": "Appleシリコン上のPyTorch"}}


def sphinx_build(builder: str, outdir: Path, doctrees: Path, overrides: dict[str, object]) -> None:
    """One Sphinx build of the book through Jupyter Book's configuration; exits on any warning."""
    # jsonschema (Jupyter Book validates its config with it) imports rfc3987_syntax when installed, which builds a
    # Lark grammar at import: 2.5 s of a 24 s build. No schema here uses its "iri" formats; None makes the
    # import fail, and jsonschema then leaves those formats unchecked, as when the package is absent.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from jupyter_book.sphinx import build_sphinx

    result = build_sphinx(
        ROOT,
        outdir,
        noconfig=True,
        path_config=str(ROOT / "_config.yml"),
        confoverrides={"external_toc_path": "_toc.yml", "nitpicky": True, "latex_individualpages": False, **overrides},
        doctreedir=doctrees,
        builder=builder,
        warningiserror=True,
        keep_going=True,
        quiet=True,
    )
    if result != 0:
        sys.exit(f"{builder} build failed ({outdir}): see the warnings above")


def build(language: str, out: Path = BUILD) -> Path:
    """Build one edition into ``out``/html; the Japanese one is built beside, then placed under html/ja."""
    if language == "en":
        sphinx_build("html", out / "html", out / ".doctrees", {})
        return out / "html"
    staging = out / language
    sphinx_build("html", staging / "html", staging / ".doctrees", OVERRIDES[language])
    target = out / "html" / language
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(staging / "html", target)
    return target


def refresh_catalogs() -> None:
    """Extract every translatable message into .pot files, then merge them into locale/ja's .po catalogs."""
    from sphinx_intl.basic import update

    pot = BUILD / "gettext"
    shutil.rmtree(pot, ignore_errors=True)
    sphinx_build("gettext", pot, BUILD / "gettext-doctrees", {})
    update(str(LOCALE), str(pot), ("ja",), line_width=-1, ignore_obsolete=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("languages", nargs="*", metavar="{en,ja}", help="editions to build (default: both)")
    parser.add_argument("--i18n", action="store_true", help="refresh the translation catalogs; build nothing")
    parser.add_argument("--out", type=Path, default=BUILD, help="build folder (default: _build)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.languages) - set(LANGUAGES))
    if unknown:
        parser.error(f"unknown edition {', '.join(unknown)}: choose from {', '.join(LANGUAGES)}")
    if args.i18n:
        refresh_catalogs()
        return
    languages = args.languages or list(LANGUAGES)
    if len(languages) == 1:
        built = build(languages[0], args.out.resolve())
        print(f"{languages[0]}: {built}/book/intro.html")
        return
    # One process per edition, side by side: each build is single-threaded, and the two share nothing but the
    # sources (the Japanese one writes _build/ja, then html/ja, which the English build never touches).
    runs = [subprocess.Popen([sys.executable, __file__, lang, "--out", str(args.out.resolve())]) for lang in languages]
    if any(run.wait() != 0 for run in runs):
        sys.exit("the site build failed: see the warnings above")


if __name__ == "__main__":
    main()
