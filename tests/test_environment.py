"""requirements.txt (pip) and environment.yml (miniforge) install the same pinned set."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)\s*==\s*([^\s;]+)", line)
        assert match, f"not an exact pin: {line!r}"
        found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def test_requirements_are_exact_pins():
    reqs = pins((ROOT / "requirements.txt").read_text().splitlines())
    assert reqs["torch"] == "2.14.1"
    assert reqs["torchvision"] == "0.29.1"
    assert len(reqs) >= 15


def test_environment_yml_installs_the_same_set():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    assert "defaults" not in env["channels"]
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(re.fullmatch(r"python\s*=\s*3\.11(\.\*)?", d) for d in conda_deps)
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1
    from_yml = pins(pip_lists[0])
    from_txt = pins((ROOT / "requirements.txt").read_text().splitlines())
    assert from_yml == from_txt, {
        "only in environment.yml": sorted(from_yml.items() - from_txt.items()),
        "only in requirements.txt": sorted(from_txt.items() - from_yml.items()),
    }
