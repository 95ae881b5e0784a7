"""Re-execute the whole book on a Mac's GPU, re-validate it, benchmark the Mac, and say what changed.

    make mac                                  # on an Apple Silicon Mac: every chapter on mps, then the rest
    python tools/on_a_mac.py --device cpu     # the same steps on another device (to try the command anywhere)

Steps: (1) every chapter executed into book/ with ``device=mps`` (tools/execute.py); (2) nbval re-validates the new
copies, as `make test` would; (3) ``python -m mpsbook.bench`` writes results/<this Mac>.json; (4) a summary of
what changed against the last commit: which chapters' outputs differ, how many compared outputs changed, the
results files written, and the git commands that turn it into a pull request.
A step that fails stops the run and says which.
``--summary-file PATH`` also writes the summary's table alone (no git commands), as Markdown, to PATH: the Mac
workflow makes it the pull request's text.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
IGNORE_TAG = "nbval-ignore-output"


def _texts(cell: nbformat.NotebookNode) -> list[str]:
    """The text of a code cell's outputs, the way nbval compares them (images left out)."""
    texts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            texts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            data = out.get("data", {})
            texts.append(data.get("text/markdown") or data.get("text/plain", ""))
        elif out.output_type == "error":
            texts.append(f"{out.ename}: {out.evalue}")
    return texts


def changed_outputs(before: nbformat.NotebookNode, after: nbformat.NotebookNode) -> dict[str, int]:
    """How many compared and ignored code cells print something else in ``after`` than in ``before``.

    Cells are paired in order, the injected parameters left out; a cell count that differs means the code
    itself changed, which :func:`summarise` reports separately.
    """

    def code(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
        injected = "injected-parameters"
        return [c for c in nb.cells if c.cell_type == "code" and injected not in c.metadata.get("tags", [])]

    counts = {"compared": 0, "ignored": 0}
    for old, new in zip(code(before), code(after), strict=False):
        if _texts(old) != _texts(new):
            counts["ignored" if IGNORE_TAG in new.metadata.get("tags", []) else "compared"] += 1
    return counts


def committed(path: Path) -> nbformat.NotebookNode | None:
    """The last committed version of a file in the repository, or ``None`` if it is new."""
    rel = path.resolve().relative_to(ROOT).as_posix()
    shown = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=ROOT, capture_output=True, text=True)
    return nbformat.reads(shown.stdout, as_version=4) if shown.returncode == 0 else None


def summarise(book: Path = ROOT / "book", results: Path = ROOT / "results", advice: bool = True) -> str:
    """What the run changed against the last commit, as lines a person reads before opening a pull request.

    ``advice=False`` leaves out the closing lines (what to read first, the git commands): the table alone.
    """
    lines = ["chapter                          compared outputs changed   measurements changed"]
    for path in sorted(book.glob("*.ipynb")):
        before, after = committed(path), nbformat.read(path, as_version=4)
        if before is None:
            lines.append(f"{path.name:<32} new")
            continue
        counts = changed_outputs(before, after)
        lines.append(f"{path.name:<32} {counts['compared']:>24}   {counts['ignored']:>20}")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", str(results.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True,
    ).stdout.split("\n")
    written = [line[3:] for line in status if line.strip()]
    lines.append("results files written or changed: " + (", ".join(written) if written else "none"))
    if not advice:
        return "\n".join(lines)
    lines.append("")
    lines.append("A compared output that changed is what nbval checks: read `git diff book/` for those first.")
    lines.append("To publish this Mac's outputs:")
    lines.append("  git switch -c outputs-from-my-mac")
    lines.append("  git add book/*.ipynb results/*.json && git commit -m 'Outputs and benchmarks from <your Mac>'")
    lines.append("  git push -u origin outputs-from-my-mac   # then open a pull request (e.g. gh pr create --fill)")
    return "\n".join(lines)


def write_summary(path: Path, **where: Path) -> None:
    """The summary's table alone, in a Markdown code block (its columns are aligned with spaces), to ``path``."""
    path.write_text("```\n" + summarise(advice=False, **where) + "\n```\n")


def _run(step: str, command: list[str]) -> None:
    print(f"\n==> {step}: {' '.join(command)}", flush=True)
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        raise SystemExit(f"stopped: {step} failed (see above); book/ and results/ keep what the earlier steps wrote")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="mps", help="mps (default), or cuda/cpu to try the command elsewhere")
    parser.add_argument("--skip-bench", action="store_true", help="leave results/ alone")
    parser.add_argument("--summary-file", type=Path, metavar="PATH",
                        help="also write the summary's table alone, as Markdown (a pull request's text), to PATH")
    args = parser.parse_args(argv)
    if args.device not in ("mps", "cuda", "cpu"):
        parser.error(f"--device must be mps, cuda or cpu, not {args.device!r}")
    if args.device == "mps" and not (platform.system() == "Darwin" and platform.machine() == "arm64"):
        parser.error(
            f"this is {platform.system()} on {platform.machine()}: `make mac` needs an Apple Silicon Mac "
            "(try it elsewhere with --device cpu)"
        )
    py = sys.executable
    chapters = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb"))
    _run("execute every chapter", [py, "tools/execute.py", *chapters, "-p", "device", args.device])
    _run("re-validate", [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "book", "--nbval",
                         "--nbval-current-env", "--nbval-sanitize-with", "tests/sanitize.cfg"])
    if not args.skip_bench:
        _run("benchmark", [py, "-m", "mpsbook.bench", "--device", args.device, "--out", "results"])
    print("\n" + summarise())
    if args.summary_file is not None:
        write_summary(args.summary_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
