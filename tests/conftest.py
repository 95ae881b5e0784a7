"""Project-wide checks that wrap the whole pytest run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
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


class Build:
    """A build that takes minutes of one core, run in the background at low priority while other tests run."""

    def __init__(self, argv: list[str], out: Path) -> None:
        self.out = out
        self.log = out / "build.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=(lambda: os.nice(10)) if hasattr(os, "nice") else None,
            )

    def wait(self) -> None:
        """Wait for it; fail with the end of its log unless it succeeded."""
        code = self.proc.wait(timeout=900)
        assert code == 0, f"{self.proc.args[1:3]} exited {code}:\n{self.log.read_text(errors='replace')[-4000:]}"


#: The two builds, by the fixture that reads each: argv for an output folder.
BUILDS = {
    # both editions of the site, as `make book` builds them (warnings are errors)
    "built_site": lambda out: [sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out)],
    # the English messages extracted anew (Sphinx's gettext builder), as `make i18n` extracts them
    "fresh_extraction": lambda out: [
        sys.executable, "-c",
        "import sys; sys.path.insert(0, 'tools'); import build_site as b; from pathlib import Path; "
        f"b.sphinx_build('gettext', Path({str(out)!r}), Path({str(out / '.doctrees')!r}), {{}})",
    ],
}


def start_build(config: pytest.Config, name: str) -> Build:
    builds = config.__dict__.setdefault("_mpsbook_builds", {})
    if name not in builds:
        out = Path(tempfile.mkdtemp(prefix=f"mpsbook-{name}-"))
        builds[name] = Build(BUILDS[name](out), out)
    return builds[name]


@pytest.hookimpl(trylast=True)  # after -k/-m deselection, so a deselected test starts no build
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    # The builds overlap the notebooks' re-validation: the tests that read them run last, and they start now
    needs = [set(BUILDS) & set(getattr(item, "fixturenames", ())) for item in items]
    paired = list(zip(items, needs, strict=True))
    items[:] = [i for i, n in paired if not n] + [i for i, n in paired if n]
    for name in sorted(set().union(*needs)):
        start_build(config, name)


def pytest_unconfigure(config: pytest.Config) -> None:
    for build in config.__dict__.get("_mpsbook_builds", {}).values():
        if build.proc.poll() is None:  # an interrupted run leaves no build behind
            build.proc.kill()
            build.proc.wait()
        shutil.rmtree(build.out, ignore_errors=True)


@pytest.fixture(scope="session")
def built_site(request: pytest.FixtureRequest) -> Path:
    """The site, both editions, built once per session from the stored outputs, as ``make book`` builds it
    (warnings are errors); the Japanese edition is under ``ja/``."""
    build = start_build(request.config, "built_site")
    build.wait()
    html = build.out / "html"
    assert (html / "index.html").is_file() and (html / "ja" / "book" / "intro.html").is_file(), "an edition is missing"
    return html


@pytest.fixture(scope="session")
def fresh_extraction(request: pytest.FixtureRequest) -> Path:
    """Every page's English messages, extracted anew into ``.pot`` files."""
    build = start_build(request.config, "fresh_extraction")
    build.wait()
    return build.out / "book"
