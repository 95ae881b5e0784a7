"""The benchmark suite behind ``make bench``: one results file per machine, with full provenance.

The modules read as the pipeline:

- :mod:`~mpsbook.bench.cases` — what is measured: sweeps and cases, each with its FLOP or byte count;
- :mod:`~mpsbook.bench.harness` — how: warm-up, device-synchronised blocks of calls, spread-driven sampling;
- :mod:`~mpsbook.bench.machine` — on what: the machine's slug and provenance, and the flags of an unfair run;
- :mod:`~mpsbook.bench.results` — the results file: schema (versioned, documented there), writing, reading, and
  all records as one table;
- :mod:`~mpsbook.bench.peaks` — published peaks to compare with, each with its source;
- :mod:`~mpsbook.bench.check` — the harness checked against a bare event-timed loop;
- :mod:`~mpsbook.bench.steps` — where a training step's time goes: the device's kernels against its wall time;
- :mod:`~mpsbook.bench.verdict` — faster, slower or within noise, and the crossover size;
- :mod:`~mpsbook.bench.cli` — ``python -m mpsbook.bench``;
- :mod:`~mpsbook.bench.book` — the results folder as chapter 10 and its appendix read it (``load_book``), and
  the side-by-side tables and plots of chapter 10's section 4;
- :mod:`~mpsbook.bench.sidebyside` — this book's own steps of a reported workload on machines that are not Macs,
  every variant with its spread, and the ratio to the reported Macs' whole loops (a bound from one side);
- :mod:`~mpsbook.bench.live` — chapter 10's live sweeps on the reader's device, and the checks of its parameters;
- :mod:`~mpsbook.bench.report` and :mod:`~mpsbook.bench.plots` — how chapter 10 shows results: spread, narrow
  tables, side-by-side plots (``from mpsbook.bench import plots, report``; not re-exported, so ``make bench`` needs
  no matplotlib).

The names chapters use are re-exported here (``from mpsbook import bench; bench.load_results(...)``).
"""

from mpsbook.bench.cases import (
    BENCHMARKS,
    DTYPES,
    INFERENCE,
    MODES,
    SWEEPS,
    TRAINING,
    Case,
    Sweep,
    build_cases,
    devbench_sizes,
    epoch_seconds,
    epoch_steps,
    model_flop,
)
from mpsbook.bench.check import bare_loop_seconds, check_matmul, print_check
from mpsbook.bench.cli import main
from mpsbook.bench.harness import measure, run_case, run_suite
from mpsbook.bench.machine import describe_device, machine_slug, provenance, run_flags, slug_for
from mpsbook.bench.peaks import peak_for, published_peaks
from mpsbook.bench.results import (
    SCHEMA_VERSION,
    load_results,
    records_frame,
    upgrade,
    validate_results,
    write_results,
)
from mpsbook.bench.verdict import compare, crossover, crossover_text, noise

__all__ = [
    "BENCHMARKS", "DTYPES", "INFERENCE", "MODES", "SCHEMA_VERSION", "SWEEPS", "TRAINING", "Case", "Sweep",
    "bare_loop_seconds", "build_cases", "check_matmul", "compare", "crossover", "crossover_text",
    "describe_device", "devbench_sizes", "epoch_seconds",
    "epoch_steps", "load_results", "machine_slug", "main", "measure", "model_flop", "noise", "peak_for",
    "print_check", "provenance",
    "published_peaks", "records_frame", "run_case", "run_flags", "run_suite", "slug_for", "upgrade",
    "validate_results", "write_results",
]
