"""Published hardware figures (chips.csv), each row with the source that states it.

Apple states a GPU float32 peak for few chips. Where it states none, ``chips.csv`` carries a *derived* peak,
``gpu_fp32_tflops_derived`` = GPU cores × 128 FP32 ALUs per core × 2 FLOP per fused multiply-add × the GPU's top
clock (``gpu_clock_mhz``), with the page each clock was read from (``gpu_clock_source_url``). The ALU count per core
comes from :data:`FP32_ALUS_SOURCE_URL`. ``data/chips_NOTES.md`` quotes every source.
"""

from __future__ import annotations

import csv
from importlib import resources

NUMERIC = (
    "gpu_cores", "gpu_fp32_tflops", "memory_bandwidth_gbs", "neural_engine_cores", "neural_engine_tops",
    "gpu_clock_mhz", "gpu_fp32_tflops_derived",
)
COLUMNS = (
    "chip", "family", "gpu_cores", "gpu_fp32_tflops", "memory_bandwidth_gbs", "neural_engine_cores",
    "neural_engine_tops", "gpu_clock_mhz", "gpu_fp32_tflops_derived", "other_gpu_configs", "gpu_clock_source_url",
    "gpu_clock_note", "source_url", "source_title", "notes",
)

#: FP32 ALUs in one Apple GPU core, and 2 FLOP per fused multiply-add: the two constant factors of the derivation.
FP32_ALUS_PER_CORE = 128
FLOP_PER_FMA = 2
#: "Apple described each GPU core as having 128 ALUs" (metal-benchmarks, at a fixed commit); applegpuinfo uses the
#: same 128 FP32 ALUs per core and 2 FLOP per FMA for every Apple M chip (AppleGPUInfo.swift, lines 485-505).
FP32_ALUS_SOURCE_URL = (
    "https://github.com/philipturner/metal-benchmarks/blob/dc2adc640a1588246f4471d415aa6873cb6e3499/README.md#L214"
)
FP32_FORMULA_SOURCE_URL = (
    "https://github.com/philipturner/applegpuinfo/blob/120384981fc8bce84d5aa28f5f2221f9165c2bde/"
    "Sources/AppleGPUInfo/AppleGPUInfo.swift#L485-L505"
)


def fp32_tflops(gpu_cores: float, clock_mhz: float) -> float:
    """Float32 peak of an Apple GPU in TFLOPS: cores × 128 FP32 ALUs × 2 FLOP per FMA × clock."""
    return gpu_cores * FP32_ALUS_PER_CORE * FLOP_PER_FMA * clock_mhz / 1e6


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


def gpu_configs(row: dict[str, object]) -> dict[int, float | None]:
    """The GPU-core counts a chip is sold with, each with its memory bandwidth in GB/s (``None`` where no source
    states it for that configuration): the row's own (top) configuration first, then ``other_gpu_configs``
    (``"30:300"`` = 30 cores at 300 GB/s, ``"7"`` = 7 cores, bandwidth not stated; several joined by ``|``)."""
    if row.get("gpu_cores") is None:
        return {}
    configs: dict[int, float | None] = {int(row["gpu_cores"]): row.get("memory_bandwidth_gbs")}  # type: ignore[arg-type]
    for entry in filter(None, str(row.get("other_gpu_configs") or "").split("|")):
        cores, _, bandwidth = entry.partition(":")
        configs[int(cores)] = float(bandwidth) if bandwidth else None
    return configs


def _cell(value: object) -> str:
    if value is None:
        return "not stated"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sources_table(
    rows: list[dict[str, object]], columns: dict[str, str], links: dict[str, str] | None = None
) -> str:
    """A Markdown table of ``rows`` with the given ``{key: header}`` columns and a linked source.

    Empty figures read "not stated": the table never fills a gap the source leaves. ``links`` maps a column to
    the field holding its own source, e.g. ``{"gpu_clock_mhz": "gpu_clock_source_url"}``: each figure of that
    column then links to the page it was read from (a gap stays unlinked).
    """
    links = links or {}
    unknown = [key for key in [*columns, *links.values()] if rows and key not in rows[0]]
    unknown += [key for key in links if key not in columns]
    if unknown:
        raise KeyError(f"Unknown column(s) {', '.join(unknown)}: use any of {', '.join(COLUMNS)}.")
    lines = ["| " + " | ".join([*columns.values(), "Source"]) + " |", "|" + "---|" * (len(columns) + 1)]
    for row in rows:
        cells = []
        for key in columns:
            cell, url = _cell(row[key]), row.get(links[key]) if key in links else None
            cells.append(f"[{cell}]({url})" if url and row[key] is not None else cell)
        cells.append(f"[{row['source_title']}]({row['source_url']})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
