"""Execute chapter sources with papermill into book/ (the copies the site renders and nbval checks).

    python tools/execute.py notebooks/01-unified-memory.ipynb -p device cuda

A copy replaces the one in book/ only when every cell ran; a failed run stops here, names the
notebook and the cell, and leaves its partial output in _build/failed/ for inspection.

A stored copy must re-validate on any machine (nbval replays its cells there), so an explicit device
is recorded, not replayed: the copy's injected parameters say ``device = "auto"`` with a comment naming
the device that ran, papermill's metadata keeps the parameters as given, and the provenance banner
shows the device. Every other parameter is replayed as given.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
import papermill as pm
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
FAILED = ROOT / "_build" / "failed"

# papermill raises after the run for ANY error output, although nbclient let a cell tagged
# `raises-exception` fail on purpose (the chapters use it to show that an API does not exist).
# Expected errors are hidden from papermill's check only; every other error still stops the run.
_raise_for_execution_errors = pm.execute.raise_for_execution_errors


def _raise_for_unexpected_errors(nb, output_path):
    expected = [
        c for c in nb.cells if c.cell_type == "code" and "raises-exception" in c.get("metadata", {}).get("tags", [])
    ]
    kept = [c.get("outputs") for c in expected]
    for cell in expected:
        cell.outputs = [o for o in cell.outputs if o.output_type != "error"]
    try:
        _raise_for_execution_errors(nb, output_path)
    finally:
        for cell, outputs in zip(expected, kept, strict=True):
            cell.outputs = outputs


pm.execute.raise_for_execution_errors = _raise_for_unexpected_errors


def parse_value(text: str) -> object:
    """Read a parameter the way papermill's ``-p`` does: numbers and booleans typed, the rest text."""
    value = yaml.safe_load(text)
    return value if isinstance(value, int | float | bool) else text


def portable_parameters(nb: nbformat.NotebookNode) -> None:
    """Make the injected ``device`` parameter ``"auto"`` so that any machine can re-validate the copy."""
    for cell in nb.cells:
        if "injected-parameters" not in cell.metadata.get("tags", []):
            continue
        cell.source = re.sub(
            r'^device = (?P<value>"[^"\n]*"|\'[^\'\n]*\')$',
            lambda m: (
                m[0] if m["value"].strip("\"'") == "auto"
                else f'device = "auto"  # this copy ran with device={m["value"]}; "auto" re-validates it anywhere'
            ),
            cell.source,
            flags=re.M,
        )


def _relative(path: Path) -> str:
    return str(path.resolve().relative_to(ROOT))


def execute(source: Path, parameters: dict[str, object]) -> float:
    """Run one source into book/; return the seconds it took. Raises on a failing cell."""
    target = BOOK / source.name
    FAILED.mkdir(parents=True, exist_ok=True)
    scratch = FAILED / source.name
    start = time.perf_counter()
    pm.execute_notebook(
        str(source),
        str(scratch),
        parameters=parameters,
        cwd=str(BOOK),
        kernel_name="python3",
        progress_bar=True,
        report_mode=False,
    )
    nb = nbformat.read(scratch, as_version=4)
    portable_parameters(nb)
    # Record repository-relative paths, not this machine's.
    nb.metadata["papermill"]["input_path"] = _relative(source)
    nb.metadata["papermill"]["output_path"] = _relative(target)
    nbformat.write(nb, target)
    scratch.unlink()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path, help="sources under notebooks/")
    parser.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="a parameter for every notebook, e.g. -p device cuda",
    )
    args = parser.parse_args(argv)
    parameters = {name: parse_value(value) for name, value in args.parameter}
    for source in args.notebooks:
        if source.suffix != ".ipynb" or not source.is_file():
            parser.error(f"{source} is not a notebook file: pass sources such as notebooks/01-*.ipynb")
        print(f"==> {source} {parameters or ''}", flush=True)
        try:
            seconds = execute(source, parameters)
        except pm.PapermillExecutionError as err:
            print(
                f"\nFAILED: {source} stopped at cell {err.cell_index} (In [{err.exec_count}]): "
                f"{err.ename}: {err.evalue}\nThe partial run is in {_relative(FAILED / source.name)}; "
                f"book/{source.name} was left as it was.",
                file=sys.stderr,
            )
            return 1
        print(f"    wrote book/{source.name} in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
