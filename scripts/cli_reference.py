"""Writes the ``--help`` of ``tfkit`` and of every command into README.md, between the cli-reference markers.

Rerun it after adding or changing a command or a flag; ``tests/cli/test_cli_reference.py`` fails until
README.md agrees with the parser.

Examples:
    $ python scripts/cli_reference.py            # rewrite the README section
    $ python scripts/cli_reference.py --check    # exit 1 if README.md is out of date
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator, Sequence

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START = "<!-- cli-reference:start -->"
END = "<!-- cli-reference:end -->"
WIDTH = 100  # argparse wraps help to the terminal width; the reference is the same on every terminal


@contextlib.contextmanager
def _columns(width: int) -> Iterator[None]:
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width + 2)  # argparse wraps to $COLUMNS - 2
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


def parser() -> argparse.ArgumentParser:
    """The parser ``tfkit`` runs: ``build_parser()`` plus the global ``-v``/``--verbose``."""
    from tfkit.cli.main import build_parser
    from tfkit.cli.quiet import add_verbose_flag

    result = build_parser()
    add_verbose_flag(result)
    return result


def reference(top: argparse.ArgumentParser | None = None) -> str:
    """The markdown of the reference: ``tfkit --help``, then each command's ``--help``, in registry order."""
    top = parser() if top is None else top
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction)).choices
    sections = [("tfkit", top)] + [(f"tfkit {name}", sub) for name, sub in commands.items()]
    with _columns(WIDTH):
        return "\n".join(f"### `{title}`\n\n```text\n{p.format_help().rstrip()}\n```\n" for title, p in sections)


def render(text: str, body: str) -> str:
    """``text`` (README.md) with ``body`` between the markers."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"Expected one '{START}' line and, after it, one '{END}' line in README.md. "
                         f"Received: {text.count(START)} start and {text.count(END)} end markers. "
                         "Put both under '## CLI reference'.")
    head, rest = text.split(START)
    tail = rest.split(END)[1]
    return f"{head}{START}\n{body}{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date; write nothing")
    args = options.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    new = render(text, reference())
    if args.check:
        if new != text:
            print("README.md's CLI reference is out of date: run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print(f"{README}: CLI reference updated")
    else:
        print(f"{README}: CLI reference already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
