"""Command line of the book's package: ``python -m mpsbook doctor``."""

from __future__ import annotations

import argparse
import sys

from mpsbook.doctor import run_doctor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mpsbook", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("doctor", help="check that this Python, OS and PyTorch can run the book; exit 1 if not")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return run_doctor()
    parser.print_usage(sys.stderr)
    print("python -m mpsbook: name a command: doctor", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
