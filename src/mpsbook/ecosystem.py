"""What Mac users run around PyTorch (data/ecosystem.csv), and published MLX-vs-MPS timings (data/mlx_vs_mps.csv).

Both files are data with sources: every ecosystem row links the page that states it, and every timing row links the
figure as its author published it (a GitHub file at a commit with a line anchor, or an issue thread).
"""

from __future__ import annotations

import csv
import re
from importlib import resources

COLUMNS = (
    "library",  # the library, framework or runtime
    "what_it_is",  # one sentence
    "mac_gpu",  # whether and how it uses the Mac's GPU: "yes, ...", "no ..." or "not stated ..."
    "neural_engine",  # the same for the Neural Engine
    "status",  # one of STATUSES
    "latest_version",  # package and version of the newest release
    "latest_month",  # YYYY-MM of that release (or the earliest it can be, see version_source)
    "version_source",  # where version and month were read
    "checked",  # YYYY-MM-DD on which they were read there (newer releases may have followed)
    "guide_says",  # the source guide's claim (its section 11.3 table), or "not in the guide"
    "notes",  # the sentence quoted from the source, and what the table cells leave out
    "source_url",
    "source_title",
)
STATUSES = ("active", "beta", "experimental", "stale")
ANSWER = re.compile(r"(yes|no|not stated)\b")

MLX_VS_MPS_COLUMNS = (
    "source", "chip", "gpu_cores", "memory_gb", "mlx_version", "torch_version", "workload", "kind", "dtype", "unit",
    "mlx", "mps", "measured_by", "date", "url", "note",
)
OPTIONAL = {"gpu_cores", "memory_gb", "mlx_version", "torch_version"}  # empty where the source does not state it


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("mpsbook").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return [dict(row) for row in csv.DictReader(text.splitlines())]


def load_ecosystem() -> list[dict[str, str]]:
    """Rows of ``data/ecosystem.csv`` in file order; every cell is non-empty text, checked on load."""
    rows = _read("ecosystem.csv")
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        where = f"data/ecosystem.csv line {number}"
        if tuple(row) != COLUMNS:
            raise ValueError(f"{where}: columns must be {', '.join(COLUMNS)}")
        empty = [key for key, value in row.items() if not value or not value.strip()]
        if empty:
            raise ValueError(f"{where} ({row['library']}): empty {', '.join(empty)}")
        if row["status"] not in STATUSES:
            raise ValueError(f"{where} ({row['library']}): status must be one of {', '.join(STATUSES)}")
        if not re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", row["latest_month"]):
            raise ValueError(f"{where} ({row['library']}): latest_month must look like 2026-10")
        if not re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", row["checked"]):
            raise ValueError(f"{where} ({row['library']}): checked must look like 2026-12-01")
        if row["latest_month"] > row["checked"][:7]:
            raise ValueError(f"{where} ({row['library']}): released after it was checked")
        for key in ("mac_gpu", "neural_engine"):
            if not ANSWER.match(row[key]):
                raise ValueError(f"{where} ({row['library']}): {key} must start with yes, no or not stated")
        if not row["source_url"].startswith("https://"):
            raise ValueError(f"{where} ({row['library']}): source_url must be an https URL")
    return rows


def months_between(earlier: str, later: str) -> int:
    """Whole calendar months from ``earlier`` to ``later``, both ``YYYY-MM`` (or longer ISO dates)."""
    (y0, m0), (y1, m1) = ((int(s[:4]), int(s[5:7])) for s in (earlier, later))
    return (y1 - y0) * 12 + (m1 - m0)


def load_mlx_vs_mps() -> list[dict[str, object]]:
    """Rows of ``data/mlx_vs_mps.csv``: the same workload timed in MLX (GPU) and PyTorch (mps) by the same person.

    ``mlx`` and ``mps`` become floats in ``unit`` (lower is better); unstated optional fields stay empty strings.
    """
    rows: list[dict[str, object]] = []
    for number, row in enumerate(_read("mlx_vs_mps.csv"), start=2):
        where = f"data/mlx_vs_mps.csv line {number}"
        if tuple(row) != MLX_VS_MPS_COLUMNS:
            raise ValueError(f"{where}: columns must be {', '.join(MLX_VS_MPS_COLUMNS)}")
        empty = [key for key, value in row.items() if key not in OPTIONAL and not value.strip()]
        if empty:
            raise ValueError(f"{where}: empty {', '.join(empty)}")
        if not row["url"].startswith("https://github.com/"):
            raise ValueError(f"{where}: url must link the figure on GitHub")
        if "/blob/" in row["url"] and not re.search(r"/blob/[0-9a-f]{40}/.+#L\d+$", row["url"]):
            raise ValueError(f"{where}: a file link names a 40-hex commit and a line (#L12)")
        parsed: dict[str, object] = dict(row)
        for key in ("mlx", "mps"):
            value = float(row[key])
            if not value > 0:
                raise ValueError(f"{where}: {key} must be a positive number")
            parsed[key] = value
        rows.append(parsed)
    return rows
