"""``python -m mpsbook.bench`` (``make bench``): run the suite on a device and the CPU, or the harness check.

    python -m mpsbook.bench --device auto --out results     # the accelerator, then the CPU
    python -m mpsbook.bench --device cpu --quick            # a small sweep, a minute or so
    python -m mpsbook.bench --check-matmul --device cuda    # harness vs a bare event-timed loop
    python -m mpsbook.bench --profile-steps --device cuda   # how busy the device is in a training step
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from mpsbook.bench.cases import BENCHMARKS
from mpsbook.bench.check import check_matmul, print_check
from mpsbook.bench.harness import run_suite
from mpsbook.bench.machine import slug_for
from mpsbook.bench.results import write_results
from mpsbook.bench.steps import profile_steps, steps_table
from mpsbook.device import check_torch_version, resolve_device


def _write_check(out: Path, report: dict[str, object], kind: str) -> None:
    """Write a check's report to ``out/checks/<machine>-<kind>.json`` and say where."""
    path = out / "checks" / f"{report['machine']}-{kind}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mpsbook.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto", help="auto (mps, then cuda, then cpu), mps, cuda or cpu")
    parser.add_argument("--out", default="results", type=Path, help="directory for <machine>.json (default results)")
    parser.add_argument("--quick", action="store_true", help="the small sweep (about a minute)")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU baseline after an accelerator")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch.set_num_threads(N) for the whole run (default: torch's choice)")
    parser.add_argument("--check-matmul", action="store_true",
                        help="compare the harness with a bare event-timed loop on large matmuls, then stop")
    parser.add_argument("--check-size", type=int, default=8192, help="matrix size for --check-matmul (8192)")
    parser.add_argument("--profile-steps", action="store_true",
                        help="profile a few training steps (the device's kernels against the wall time), then stop")
    args = parser.parse_args(argv)
    check_torch_version()
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        parser.error(str(err))
    if args.check_matmul:
        report = check_matmul(device, size=args.check_size)
        print_check(report)
        _write_check(args.out, report, "matmul")
        return 0
    if args.profile_steps:
        report = profile_steps(device)
        print("\n".join(steps_table(report)))
        _write_check(args.out, report, "steps")
        return 0
    if args.threads < 0:
        parser.error(f"--threads must be a positive number of threads, got {args.threads}")
    if args.threads:
        torch.set_num_threads(args.threads)  # recorded as provenance.host.torch_threads
    only = [b.strip() for b in args.only.split(",") if b.strip()] or None
    runs = [device] if device.type == "cpu" or args.no_cpu else [device, torch.device("cpu")]
    cpu_slug = slug_for(torch.device("cpu")) if torch.device("cpu") in runs else None
    for target in runs:
        sweep = "quick" if args.quick else ("cpu" if target.type == "cpu" else "full")
        doc = run_suite(target, sweep, only=only, progress=not args.no_progress)
        if target.type != "cpu":
            doc["cpu_baseline"] = cpu_slug  # the CPU file written by the same run, for crossover plots
        path = write_results(doc, args.out)
        skipped = sum(r["status"] != "ok" for r in doc["results"])  # type: ignore[union-attr]
        print(f"wrote {path}: {len(doc['results'])} cases, {skipped} skipped or failed, {doc['duration_s']} s")  # type: ignore[arg-type]
    return 0
