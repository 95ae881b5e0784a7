"""The Japanese edition's catalogs (locale/ja/LC_MESSAGES/book/*.po): in step with the English, complete where
declared complete, and faithful to the markup of every message (roles, code, links, math, numbered headings)."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "locale" / "ja" / "LC_MESSAGES" / "book"
#: Pages whose catalog is complete: every message translated, none fuzzy. The rest fall back to English.
COMPLETE = ROOT / "locale" / "ja" / "complete.txt"

ROLE = re.compile(r"\{([a-z:-]+)\}`([^`]*)`")
CODE = re.compile(r"(?<![`}])(`+)([^`].*?)\1(?!`)")
LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")
MATH = re.compile(r"(?<!\\)\$[^$\s][^$]*\$")
NUMBERED = re.compile(r"^(\d+)\. ")


def catalog(page: str):
    with open(CATALOGS / f"{page}.po", "rb") as f:
        return read_po(f, locale="ja")


def pages() -> list[str]:
    return sorted(p.stem for p in CATALOGS.glob("*.po"))


def complete_pages() -> list[str]:
    if not COMPLETE.exists():
        return []
    lines = COMPLETE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def role_targets(text: str) -> set[tuple[str, str]]:
    """{role}`text <target>` and {role}`target` → (role, target): the part a translation must keep."""
    found = set()
    for role, body in ROLE.findall(text):
        m = re.search(r"<([^<>]+)>$", body)
        found.add((role, m.group(1) if m else body))
    return found


def markup_problems(msgid: str, msgstr: str) -> list[str]:
    """What a translation lost of its English message's markup (empty when faithful)."""
    problems = []
    missing_roles = role_targets(msgid) - role_targets(msgstr)
    problems += [f"role {{{r}}}`{t}` missing" for r, t in sorted(missing_roles)]
    plain_id, plain_str = ROLE.sub("", msgid), ROLE.sub("", msgstr)
    for ticks, code in CODE.findall(plain_id):
        if f"{ticks}{code}{ticks}" not in plain_str:
            problems.append(f"code {ticks}{code}{ticks} missing")
    for target in LINK_TARGET.findall(msgid):
        if f"]({target})" not in msgstr:
            problems.append(f"link target ({target}) missing")
    no_code_id, no_code_str = CODE.sub("", plain_id), CODE.sub("", plain_str)  # `$GITHUB_ENV` is no math
    for math in MATH.findall(no_code_id):
        if math not in no_code_str:
            problems.append(f"math {math} missing")
    numbered = NUMBERED.match(msgid)
    if numbered and not msgstr.startswith(f"{numbered.group(1)}\\. "):
        problems.append(f"a numbered heading must start with '{numbered.group(1)}\\. ' or it stays English")
    return problems


def test_markup_check_catches_what_it_should() -> None:
    english = "See {cite}`pytorch-mps` and {term}`unified memory <UMA>`, run `make test`, read [this](a.md#x), $2^{4}$."
    faithful = ("{cite}`pytorch-mps` と {term}`ユニファイドメモリ <UMA>` を参照し、`make test` を実行し、"
                "[これ](a.md#x) を読む。$2^{4}$。")
    assert markup_problems(english, faithful) == []
    broken = "{cite}`pytorch` を参照し、make test を実行し、[これ](a.md) を読む。"
    assert len(markup_problems(english, broken)) == 5
    assert markup_problems("3. How long a copy takes", "3. コピーにかかる時間") != []
    assert markup_problems("3. How long a copy takes", "3\\. コピーにかかる時間") == []


@pytest.mark.parametrize("page", pages())
def test_translations_keep_markup(page: str) -> None:
    bad = []
    for message in catalog(page):
        if message.id and message.string:
            bad += [f"{message.id[:60]!r}: {p}" for p in markup_problems(message.id, message.string)]
    assert not bad, f"{page}.po:\n" + "\n".join(bad)


@pytest.mark.parametrize("page", pages())
def test_catalog_compiles(page: str) -> None:
    write_mo(io.BytesIO(), catalog(page))
    # Not --check-format: babel flags any message with "11 % faster" as python-format, and prose is no format string.
    command = ["msgfmt", "--check-header", "--check-domain", "-o", "/dev/null", str(CATALOGS / f"{page}.po")]
    result = subprocess.run(command, capture_output=True, text=True) if _has_msgfmt() else None
    assert result is None or result.returncode == 0, result.stderr


def _has_msgfmt() -> bool:
    from shutil import which

    return which("msgfmt") is not None


@pytest.mark.parametrize("page", complete_pages())
def test_complete_pages_are_fully_translated(page: str) -> None:
    untranslated = [m.id for m in catalog(page) if m.id and (not m.string or m.fuzzy)]
    assert not untranslated, f"{page}.po: {len(untranslated)} untranslated or fuzzy, e.g. {untranslated[:3]}"


def test_complete_list_names_catalogs() -> None:
    assert set(complete_pages()) <= set(pages()), "locale/ja/complete.txt names a page without a catalog"


def test_catalogs_match_a_fresh_extraction(fresh_extraction: Path) -> None:
    """An English edit without `make i18n` fails here: every page has a catalog with exactly its messages."""
    stale = []
    for pot in sorted(fresh_extraction.glob("*.pot")):
        with open(pot, "rb") as f:
            wanted = {m.id for m in read_po(f) if m.id}
        if not (CATALOGS / f"{pot.stem}.po").exists():
            stale.append(f"{pot.stem}: no catalog")
            continue
        messages = [m for m in catalog(pot.stem) if m.id]  # read the catalog once
        have = {m.id for m in messages if not m.fuzzy}
        new, gone = wanted - {m.id for m in messages}, have - wanted
        if new or gone:
            stale.append(f"{pot.stem}: {len(new)} new, {len(gone)} no longer in the English (run make i18n)")
    assert not stale, "\n".join(stale)
