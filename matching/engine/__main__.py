"""Command line: ``python -m matching.engine solve PROBLEM.json [--out RESULT.json]``.

Writes the result as JSON (to stdout without ``--out``). Invalid input prints one message naming
the record and field to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from . import ProblemError, problem_from_json, result_to_json, solve
from .jsonio import dumps

EXIT_INVALID = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matching.engine", description="Matching engine")
    commands = parser.add_subparsers(dest="command", required=True)
    solve_command = commands.add_parser("solve", help="solve a problem given as JSON")
    solve_command.add_argument("problem", type=Path, help="problem JSON file (see matching/README.md)")
    solve_command.add_argument("--out", type=Path, help="write the result here instead of stdout")
    args = parser.parse_args(argv)
    try:
        text = args.problem.read_bytes()  # decoded (as UTF-8 only) by problem_from_json
    except OSError as error:
        print(f"error: cannot read {args.problem}: {error.strerror}", file=sys.stderr)
        return EXIT_INVALID
    try:
        problem = problem_from_json(text)
    except ProblemError as error:
        print(f"error: {args.problem}: {error}", file=sys.stderr)
        return EXIT_INVALID
    with _stdout_to_stderr():
        result = solve(problem)
    document = dumps(result_to_json(result))
    if args.out:
        args.out.write_text(document, encoding="utf-8")
    else:
        sys.stdout.write(document)
    return 0


@contextlib.contextmanager
def _stdout_to_stderr():
    """HiGHS prints a banner on file descriptor 1; keep stdout clean for the JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


if __name__ == "__main__":
    raise SystemExit(main())
