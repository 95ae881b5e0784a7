"""The libraries around PyTorch on Apple Silicon (data/ecosystem.csv), each row with the source that states it."""

from __future__ import annotations

import csv
from importlib import resources

COLUMNS = (
    "library",  # the library, or library and backend
    "packages",  # the pip packages that provide it, comma-separated
    "guide_says",  # the source guide's claim (its section 11.3 table), or where it appears instead
    "on_apple_silicon",  # what it runs on and how, on an Apple Silicon Mac
    "gpu",  # whether it can use the Mac's GPU: "yes, ...", "no (...)" or "removed"
    "neural_engine",  # whether it can use the Neural Engine
    "status",  # stable, experimental, deprecated ...
    "notes",  # the sentence quoted from the source, and anything the table cell leaves out
    "source_url",
    "source_title",
)


def load_ecosystem() -> list[dict[str, str]]:
    """Rows of ``data/ecosystem.csv`` in file order; every cell is text (the file has no empty cells)."""
    text = resources.files("mpsbook").joinpath("data/ecosystem.csv").read_text(encoding="utf-8")
    rows = [dict(row) for row in csv.DictReader(text.splitlines())]
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        if tuple(row) != COLUMNS:
            raise ValueError(f"data/ecosystem.csv line {number}: columns must be {', '.join(COLUMNS)}")
        empty = [key for key, value in row.items() if not value or not value.strip()]
        if empty:
            raise ValueError(f"data/ecosystem.csv line {number} ({row['library']}): empty {', '.join(empty)}")
    return rows
