"""requirements.txt (pip) and environment.yml (miniforge) install the same pinned set."""

import re
from pathlib import Path

import yaml
from packaging.markers import Marker

ROOT = Path(__file__).resolve().parent.parent


def pins(lines: list[str]) -> dict[str, str]:
    """Package → "version" or "version; marker" (the marker as packaging normalises it), for every exact pin."""
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)\s*==\s*([^\s;]+)\s*(?:;\s*(.+))?", line)
        assert match, f"not an exact pin: {line!r}"
        version = match.group(2)
        if match.group(3):
            version += f"; {Marker(match.group(3))}"  # raises InvalidMarker for a marker pip would refuse
        found[match.group(1).lower().replace("_", "-")] = version
    return found


def test_requirements_are_exact_pins():
    reqs = pins((ROOT / "requirements.txt").read_text().splitlines())
    assert reqs["torch"] == "2.14.1"
    assert reqs["torchvision"] == "0.29.1"
    assert len(reqs) >= 15


def test_core_ai_is_skipped_where_it_has_no_wheel():
    """coreai-core 1.0.0b3 has wheels for Linux x86_64 and macOS 26 (Darwin 25) or newer; elsewhere both are skipped."""
    reqs = pins((ROOT / "requirements.txt").read_text().splitlines())
    for name in ("coreai-core", "coreai-torch"):
        marker = Marker(reqs[name].split(";", 1)[1])
        for system, machine, release, install in [
            ("darwin", "arm64", "23.6.0", False),  # macOS 14
            ("darwin", "arm64", "24.6.0", False),  # macOS 15
            ("darwin", "arm64", "25.1.0", True),  # macOS 26
            ("darwin", "arm64", "26.0.0", True),  # macOS 27
            ("darwin", "arm64", "9.8.0", False),  # compared as versions, not as strings
            ("linux", "x86_64", "6.8.0-45-generic", True),
            ("linux", "aarch64", "6.8.0-45-generic", False),  # e.g. a Linux container on an Apple Silicon Mac
            ("win32", "AMD64", "10", False),
        ]:
            env = {"sys_platform": system, "platform_machine": machine, "platform_release": release}
            assert marker.evaluate(env) is install, (name, system, machine, release)


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
