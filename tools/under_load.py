"""Re-validate every stored chapter with nbval while other processes keep every CPU core busy.

    python tools/under_load.py              # 3 rounds, one busy process per core
    python tools/under_load.py --rounds 1 book/01-unified-memory.ipynb

Compared cells must print facts that no clock, memory reading, thread count or race can change; a busy
machine is where such a fact flips. This is not part of `make test` (it takes several minutes a round).
It exits 0 only when every round passes, and writes a summary to _build/under-load.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "_build" / "under-load.json"


def _spin(stop: mp.synchronize.Event) -> None:
    """Keep one core busy with pure-Python arithmetic until told to stop."""
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x ^= i * i


def _outcome(stdout: str) -> dict[str, int]:
    """pytest's final counts, e.g. {'passed': 216, 'failed': 0}."""
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    tail = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    for number, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", tail):
        counts["error" if word.startswith("error") else word] += int(number)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="stored copies (default: every book/*.ipynb)")
    parser.add_argument("--rounds", type=int, default=3, help="re-validations in a row (default 3)")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="busy processes (default: one a core)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.busy < 0:
        parser.error("--rounds must be at least 1 and --busy at least 0")
    notebooks = [str(p) for p in args.notebooks] or sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("book/*.ipynb"))
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
        "--nbval-sanitize-with", "tests/sanitize.cfg", *notebooks,
    ]
    stop = mp.Event()
    spinners = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.busy)]
    for proc in spinners:
        proc.start()
    rounds = []
    try:
        for n in range(1, args.rounds + 1):
            start = time.perf_counter()
            result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            counts = _outcome(result.stdout)
            ok = result.returncode == 0
            rounds.append({"round": n, "ok": ok, "seconds": round(seconds, 1), "load_1min": load, **counts})
            print(f"round {n}: {'PASSED' if ok else 'FAILED'} {counts} in {seconds:.0f} s, load {load}", flush=True)
            if not ok:
                failures = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
                print("\n".join(failures[:20]), flush=True)
    finally:
        stop.set()
        for proc in spinners:
            proc.join(timeout=5)
            proc.kill()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "busy_processes": args.busy,
        "notebooks": len(notebooks),
        "rounds": rounds,
    }
    REPORT.write_text(json.dumps(summary, indent=1) + "\n")
    passed = sum(r["ok"] for r in rounds)
    print(f"{passed} of {len(rounds)} rounds passed with {args.busy} busy processes; summary in "
          f"{REPORT.relative_to(ROOT)}")
    return 0 if passed == len(rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
