"""Execute chapter sources with papermill into book/ (the copies the site renders and nbval checks).

    python tools/execute.py notebooks/01-unified-memory.ipynb -p device cuda
    python tools/execute.py --prose notebooks/01-unified-memory.ipynb   # copy edited prose only

``--prose`` copies the Markdown cells of a source into its executed copy without running anything; it
refuses when any code cell differs, since then the outputs would no longer belong to the code.

A copy replaces the one in book/ only when every cell ran; a failed run stops here, names the
notebook and the cell, and leaves its partial output in _build/failed/ for inspection.

A stored copy must re-validate on any machine (nbval replays its cells there), so an explicit device
is recorded, not replayed: the copy's injected parameters say ``device = "auto"`` with a comment naming
the device that ran, papermill's metadata keeps the parameters as given, and the provenance banner
shows the device. Every other parameter is replayed as given.
"""

from __future__ import annotations

import argparse
import os
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
    # The kernel inherits PATH: put this Python's scripts first, as an activated environment would, so that a
    # chapter that runs `pip` or the doctor sees this environment's tools rather than another Python's.
    scripts = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != scripts:
        os.environ["PATH"] = os.pathsep.join([scripts, os.environ.get("PATH", "")])
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


class StaleCopyError(RuntimeError):
    """The executed copy's code differs from its source: only a new execution can bring it up to date."""


def sync_prose(source: Path) -> int:
    """Copy the Markdown cells and code cells' tags of ``source`` into ``book/``'s copy; return cells changed."""
    target = BOOK / source.name
    src = nbformat.read(source, as_version=4)
    copy = nbformat.read(target, as_version=4)
    injected = [c for c in copy.cells if "injected-parameters" in c.metadata.get("tags", [])]
    code = [c for c in copy.cells if c.cell_type == "code" and c not in injected]
    if [c.source for c in code] != [c.source for c in src.cells if c.cell_type == "code"]:
        raise StaleCopyError(f"book/{source.name}: its code differs from the source's: execute it instead")
    old_prose = [c.source for c in copy.cells if c.cell_type == "markdown"]
    stored = {c.get("id"): c for c in copy.cells if c.cell_type == "markdown"}
    cells, executed = [], iter(code)
    for cell in src.cells:
        if cell.cell_type == "code":
            cells.append(next(executed))
            # Tags decide what nbval compares and what the site folds; they change without a run
            if "tags" in cell.metadata or "tags" in cells[-1].metadata:
                cells[-1].metadata["tags"] = list(cell.metadata.get("tags", []))
            if "parameters" in cell.metadata.get("tags", []):
                cells.extend(injected)  # papermill puts them right after the parameters cell
        elif cell.get("id") in stored:  # keep papermill's metadata: the diff shows the prose alone
            stored[cell.id].source = cell.source
            cells.append(stored[cell.id])
        else:
            cells.append(cell)
    copy.cells = cells
    new_prose = [c.source for c in cells if c.cell_type == "markdown"]
    changed = sum(a != b for a, b in zip(old_prose, new_prose, strict=False)) + abs(len(old_prose) - len(new_prose))
    nbformat.write(copy, target)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path, help="sources under notebooks/")
    parser.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="a parameter for every notebook, e.g. -p device cuda",
    )
    parser.add_argument("--prose", action="store_true", help="copy Markdown cells only; run nothing")
    args = parser.parse_args(argv)
    parameters = {name: parse_value(value) for name, value in args.parameter}
    if args.prose and parameters:
        parser.error("--prose runs nothing, so it takes no -p parameters")
    for source in args.notebooks:
        if source.suffix != ".ipynb" or not source.is_file():
            parser.error(f"{source} is not a notebook file: pass sources such as notebooks/01-*.ipynb")
        if args.prose:
            try:
                print(f"book/{source.name}: {sync_prose(source)} prose cell(s) updated", flush=True)
            except StaleCopyError as err:
                print(f"FAILED: {err}", file=sys.stderr)
                return 1
            continue
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
