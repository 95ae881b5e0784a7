"""The results folder as chapter 10 and its appendix read it: every run, one table of its measured cases, the
figures other people reported, and how a machine is named in tables and plots.

    from mpsbook.bench.book import load_book
    book = load_book("../results")
    book.ok                      # one row per measured case of every results file
    book.label("nvidia-h200")    # "nvidia-h200", or "… [flagged]" for a run that may understate its machine
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mpsbook.bench.report import float32_label
from mpsbook.bench.results import load_results, records_frame
from mpsbook.reported import load_reported


@dataclass(frozen=True)
class Book:
    """What :func:`load_book` read: ``runs`` (results documents by machine slug), ``records`` (every case),
    ``ok`` (the measured ones), ``reported`` (other people's figures), ``flagged`` and ``kinds`` (each run's
    device type: cpu, cuda or mps)."""

    runs: dict[str, dict[str, Any]]
    records: pd.DataFrame
    ok: pd.DataFrame
    reported: pd.DataFrame
    flagged: frozenset[str] = field(default_factory=frozenset)
    kinds: dict[str, str] = field(default_factory=dict)

    def label(self, machine: str) -> str:
        """A results file's name as plots and tables show it; a flagged run says so."""
        return f"{machine} [flagged]" if machine in self.flagged else machine

    def labels(self) -> dict[str, str]:
        """:meth:`label` for every run."""
        return {machine: self.label(machine) for machine in self.runs}

    def float32_means(self, machine: str, benchmark: str) -> str:
        """'float32', or 'float32, TF32 convolutions' (or RNN) where an NVIDIA run let cuDNN use TF32."""
        return float32_label(self.runs[machine]["provenance"], benchmark)


def load_book(results_dir: Path | str) -> Book:
    """Read every results file in ``results_dir`` and the reported figures in its ``reported/`` folder.

    Raises ``ValueError`` naming what is accepted when the folder has no ``reported/`` inside it.
    """
    results = Path(results_dir)
    if not (results / "reported").is_dir():
        raise ValueError(f"results_dir must hold the results files and reported/ (make bench); got {results_dir!r}.")
    runs = load_results(results)
    records = records_frame(runs)
    return Book(
        runs=runs,
        records=records,
        ok=records[records["status"] == "ok"].copy(),
        reported=load_reported(results / "reported"),
        flagged=frozenset(name for name, doc in runs.items() if doc["provenance"]["flags"]),  # type: ignore[index]
        kinds={name: doc["provenance"]["device"]["type"] for name, doc in runs.items()},  # type: ignore[index]
    )
