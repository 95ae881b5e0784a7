"""Published hardware figures (chips.csv), each row with the source that states it."""

from __future__ import annotations

import csv
from importlib import resources

NUMERIC = ("gpu_cores", "gpu_fp32_tflops", "memory_bandwidth_gbs", "neural_engine_cores", "neural_engine_tops")
COLUMNS = ("chip", "family", *NUMERIC, "source_url", "source_title", "notes")


def load_chips(family: str | None = None) -> list[dict[str, object]]:
    """Rows of ``data/chips.csv``; an empty cell (not stated by the source) becomes ``None``.

    ``family`` keeps one family, e.g. ``"Apple M1"``; an unknown family raises ``ValueError``.
    """
    text = resources.files("mpsbook").joinpath("data/chips.csv").read_text(encoding="utf-8")
    rows: list[dict[str, object]] = []
    for raw in csv.DictReader(text.splitlines()):
        row: dict[str, object] = dict(raw)
        for key in NUMERIC:
            row[key] = float(raw[key]) if raw[key] else None
        rows.append(row)
    if family is not None:
        families = sorted({str(r["family"]) for r in rows})
        if family not in families:
            raise ValueError(f"Unknown chip family {family!r}: use one of {', '.join(families)}.")
        rows = [r for r in rows if r["family"] == family]
    return rows


def _cell(value: object) -> str:
    if value is None:
        return "not stated"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sources_table(rows: list[dict[str, object]], columns: dict[str, str]) -> str:
    """A Markdown table of ``rows`` with the given ``{key: header}`` columns and a linked source.

    Empty figures read "not stated": the table never fills a gap the source leaves.
    """
    unknown = [key for key in columns if rows and key not in rows[0]]
    if unknown:
        raise KeyError(f"Unknown column(s) {', '.join(unknown)}: use any of {', '.join(COLUMNS)}.")
    lines = ["| " + " | ".join([*columns.values(), "Source"]) + " |", "|" + "---|" * (len(columns) + 1)]
    for row in rows:
        cells = [_cell(row[key]) for key in columns]
        cells.append(f"[{row['source_title']}]({row['source_url']})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
