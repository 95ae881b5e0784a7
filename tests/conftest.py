"""Project-wide checks that wrap the whole pytest run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
IGNORE_TAG = "nbval-ignore-output"


def git_status() -> str | None:
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None  # not a git checkout (e.g. an unpacked release): nothing to compare
    return out.stdout


def output_cell_counts(path: Path) -> tuple[int, int]:
    """(compared, ignored) code cells with outputs in one executed notebook."""
    nb = nbformat.read(path, as_version=4)
    compared = ignored = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("outputs"):
            if IGNORE_TAG in cell.metadata.get("tags", []):
                ignored += 1
            else:
                compared += 1
    return compared, ignored


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config._git_status_before = git_status()  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = getattr(session.config, "_git_status_before", None)
    after = git_status()
    if before is not None and after != before:
        changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
        session.config._git_changes = changed  # type: ignore[attr-defined]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if config.getoption("nbval", default=False):
        total_compared = total_ignored = 0
        terminalreporter.section("nbval: output cells compared vs ignored")
        for path in sorted((ROOT / "book").glob("*.ipynb")):
            compared, ignored = output_cell_counts(path)
            total_compared += compared
            total_ignored += ignored
            terminalreporter.write_line(f"{path.name:<40} compared {compared:>3}   ignored {ignored:>3}")
        terminalreporter.write_line(f"{'all chapters':<40} compared {total_compared:>3}   ignored {total_ignored:>3}")
    changes = getattr(config, "_git_changes", None)
    if changes:
        terminalreporter.section("the test run changed the git tree", red=True)
        for line in changes:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The site, both editions, built once per session from the stored outputs into a temporary directory, as
    ``make book`` builds it (warnings are errors); the Japanese edition is under ``ja/``."""
    out = tmp_path_factory.mktemp("built-site")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    html = out / "html"
    built = (html / "index.html").is_file() and (html / "ja" / "book" / "intro.html").is_file()
    assert result.returncode == 0 and built, result.stdout[-3000:] + result.stderr[-3000:]
    return html
