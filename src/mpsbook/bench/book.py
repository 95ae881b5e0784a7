"""The results folder as chapter 10 and its appendix read it: every run, one table of its measured cases, the
figures other people reported, and how a machine is named in tables and plots.

    from mpsbook.bench.book import load_book
    book = load_book("../results")
    book.ok                      # one row per measured case of every results file
    book.label("nvidia-h200")    # "nvidia-h200", or "… [flagged]" for a run that may understate its machine
    book.show_side_by_side(book.training_rows("train_resnet50_32", "s/epoch"), ...)  # a table and a plot
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mpsbook.bench import report
from mpsbook.bench.cases import TRAIN_IMAGES
from mpsbook.bench.report import float32_label, sig
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

    def timings(self, machine: str, benchmark: str, dtype: str) -> pd.DataFrame:
        """One machine's measured sizes of one benchmark and dtype: ``median_s``, ``iqr_s``, ``samples`` by size."""
        ok = self.ok
        part = ok[(ok["machine"] == machine) & (ok["benchmark"] == benchmark) & (ok["dtype"] == dtype)]
        return part.set_index("size")[["median_s", "iqr_s", "samples"]].sort_index()

    def runs_table(self) -> pd.DataFrame:
        """One row per results file: torch version, date, sweep, load average at the start → the end, the CPU's
        16-bit and matrix features where the file records them (``host.cpu_features``), the CPU baseline, flags."""
        rows = {}
        for doc in self.runs.values():
            prov = doc["provenance"]
            host = prov["host"]
            found = (host.get("cpu_features") or {}).get("features")
            rows[self.label(doc["machine"])] = {
                "torch": prov["software"]["torch"].split("+")[0], "date": prov["date_utc"][:10],
                "sweep": doc["sweep"]["name"],
                "load avg": f"{host['load_average_1min']} → {host.get('load_average_1min_end', '?')}",
                "CPU 16-bit/matrix": "not recorded" if found is None else ", ".join(
                    n.rsplit(".", 1)[-1] for n, present in found.items() if present) or "none of those checked",
                "CPU baseline": doc.get("cpu_baseline") or "–", "flags": "; ".join(prov["flags"]) or "none",
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    def training_rows(self, benchmark: str, unit: str, macs_only: bool = True) -> pd.DataFrame:
        """This book's float32 eager steps of one training workload, in a reported source's unit
        (:func:`mpsbook.bench.report.book_training_rows`), each machine named by :meth:`label`, marked "TF32 conv."
        where cuDNN ran its convolutions in TF32, and "step only" (a lower bound beside whole loops). By default only
        Macs (``mps`` runs): another accelerator's step beside a Mac's whole loop invites a ratio that is not one;
        ``macs_only=False`` adds every accelerator."""
        names = {m: self.label(m) + ("" if self.float32_means(m, benchmark) == "float32" else ", TF32 conv.")
                 + ", step only" for m in self.runs}
        ok = self.ok
        return report.book_training_rows(ok[ok["device"] == "mps"] if macs_only else ok[ok["device"] != "cpu"],
                                         benchmark, unit, names)

    def show_side_by_side(self, ours: pd.DataFrame, theirs: pd.DataFrame, unit: str, higher_is_better: bool,
                          title: str) -> None:
        """Print which way is better and who reported, display one table
        (:func:`mpsbook.bench.report.side_by_side_table`) with a caption saying what this book's rows time and which
        are not Macs, and show one plot
        (:func:`mpsbook.bench.plots.plot_side_by_side`): this book's figures with their IQR beside the reported."""
        import matplotlib.pyplot as plt
        from IPython.display import display

        from mpsbook.bench import plots

        rows = pd.concat([ours, theirs], ignore_index=True)
        print(f"{unit} ({'higher' if higher_is_better else 'lower'} is better); reported by"
              f" {' and '.join(theirs['by'].unique())}, one run each")
        display(report.side_by_side_table(rows, unit))
        not_mac = ours.loc[report.not_a_mac(ours, self.kinds), "who"].unique()
        if len(ours):
            print("this book's rows time the training step alone (forward, backward, optimizer),"
                  " on data already on the device"
                  + (f"; not a Mac, so in the table only: {', '.join(not_mac)}" if len(not_mac) else ""))
        else:
            print("no Mac's results file here yet: `make bench` on a Mac adds its training step to this table and plot")
        plots.plot_side_by_side(rows, unit, title, self.kinds, self.flagged)
        plt.show()

    def measured_here(self) -> list[str]:
        """The machines :meth:`show_variants` and :meth:`show_steps_beside_loops` show: each accelerator that is not
        a Mac's GPU, then the CPU that the same run timed as its baseline (a Mac's CPU among them, where a Mac has run
        ``make bench``). A CPU file with no accelerator run of its own, such as a build machine's, is left out."""
        accelerators = [m for m, kind in self.kinds.items() if kind not in ("cpu", "mps")]
        baselines = [self.runs[m].get("cpu_baseline") for m, kind in self.kinds.items() if kind != "cpu"]
        return accelerators + sorted({b for b in baselines if b in self.runs})

    def show_variants(self, benchmark: str, unit: str) -> None:
        """This book's own steps of ``benchmark`` on :meth:`measured_here`'s machines, every variant (float32,
        autocast, compiled) with its IQR (:func:`mpsbook.bench.sidebyside.measured_table`)."""
        from IPython.display import display

        from mpsbook.bench.sidebyside import measured_table, variant_name

        machines = self.measured_here()
        print(f"{benchmark}: {unit} of this book's step alone (forward, backward, optimizer; data already on the"
              f" device), on {', '.join(machines)}:")
        display(measured_table(self.ok[self.ok["machine"].isin(machines)], benchmark, unit,
                               lambda m, mode, dtype: f"{self.label(m)}: {variant_name(mode, dtype)}"
                               + self._tf32(m, benchmark, dtype)))

    def _tf32(self, machine: str, benchmark: str, dtype: str = "float32") -> str:
        """' (TF32 conv.)' where ``machine``'s float32 ``benchmark`` ran its convolutions in TF32, else ''."""
        return "" if dtype != "float32" or self.float32_means(machine, benchmark) == "float32" else " (TF32 conv.)"

    def show_steps_beside_loops(self, workloads: Sequence[tuple[str, str, str, str]]) -> None:
        """One table (:func:`mpsbook.bench.sidebyside.steps_beside_loops`) for every ``(benchmark, workload, unit,
        name)``: this book's float32 steps on :meth:`measured_here`'s machines beside the reported Macs' whole loops
        of ``workload``, with how many times faster each step is; printed first, what the columns hold."""
        from IPython.display import display

        from mpsbook.bench.sidebyside import steps_beside_loops

        machines = self.measured_here()
        ok = self.ok[self.ok["machine"].isin(machines)]
        macs = self.reported[self.reported["device"] == "mps"]
        parts, tf32 = [], {m: [] for m in machines}
        for benchmark, workload, unit, name in workloads:
            ours = report.book_training_rows(ok, benchmark, unit, self.labels())
            ours = ours.sort_values("machine", key=lambda m: m.map(machines.index), kind="stable")
            parts.append((name, unit, ours, report.reported_rows(macs, workload)))
            for machine in machines:
                if self._tf32(machine, benchmark):
                    tf32[machine].append(name)
        reporting = {who for *_, theirs in parts for who in theirs["who"]}
        in_tf32 = "".join(f"; {self.label(m)} ran the convolutions of {' and '.join(names)} in TF32"
                          for m, names in tf32.items() if names)
        print("float32 steps alone (forward, backward, optimizer; data already on the device) on this book's machines,"
              " with their IQR, beside the reported Macs' whole loops (at each batch, the range over those of the"
              f" {len(reporting)} Macs that ran it){in_tf32}")
        print("× = how many times faster the step is than those loops: at most how much faster that machine runs the"
              " step; below 1, the Macs run it at least 1/× times faster")
        display(steps_beside_loops(parts))

    def show_implied_rates(self, benchmark: str, workload: str) -> None:
        """What each reported epoch of ``workload`` implies in TFLOP/s
        (:func:`mpsbook.bench.report.implied_rate_table`), displayed with its two summary lines."""
        from IPython.display import display

        per_image, rates, lines = report.implied_rate_table(self.ok, self.reported, benchmark, workload)
        print(f"{sig(per_image / 1e9)} GFLOP per image (counted by the suite) × {TRAIN_IMAGES[benchmark][2]:,}"
              " images per epoch ÷ the reported s/epoch = implied TFLOP/s, by batch:")
        display(rates)
        print("\n".join(lines))


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
