"""Each sanitising pattern masks what differs between machines and nothing a chapter asserts."""

import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

from mpsbook.provenance import provenance_banner

PATTERNS = get_sanitize_patterns((Path(__file__).parent / "sanitize.cfg").read_text())


def sanitize(text: str) -> str:
    for regex, replace in PATTERNS:
        text = re.sub(regex, replace, text)
    return text


def test_patterns_are_read():
    assert len(PATTERNS) == 8


def test_banners_from_different_machines_compare_equal():
    here = provenance_banner("cpu")
    elsewhere = "\n".join(
        [here.splitlines()[0]]
        + [f"  {key:<8} : something else entirely" for key in ("Device", "CPU", "OS", "Python", "PyTorch", "Executed")]
    )
    assert sanitize(here) == sanitize(elsewhere)
    assert sanitize(here) != sanitize(here.replace("Provenance", "Nothing"))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("<Foo at 0x7f3a2b1c4d50>", "<Foo at 0x10a8cd110>"),
        ("run at 2026-11-25 11:20 UTC", "run at 2025-01-02T03:04:05Z"),
        ("torch 2.14.1+cu130", "torch 2.11.0"),
        ("on NVIDIA H100 80GB HBM3\n", "on Apple M1 Pro\n"),
        ("took 12.5 ms", "took 830 µs"),
        ("peak 1.25 GiB", "peak 310.0 MiB"),
        ("copies at 12.3 GB/s", "copies at 98 GB/s"),
    ],
)
def test_machine_dependent_values_are_masked(a, b):
    assert sanitize(a) == sanitize(b)


@pytest.mark.parametrize(
    "text",
    [
        "t.to('cpu') is t           : True",
        "9 sizes from 4 KiB to 256 MiB",
        "small copies are dominated by a fixed cost : False",
        "allclose: True",
        "shape: torch.Size([32, 384])",
        "the M1's published figure           : 11.0",
    ],
)
def test_robust_facts_stay_compared(text):
    assert sanitize(text) == text
