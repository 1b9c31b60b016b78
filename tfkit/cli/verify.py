"""``tfkit verify``: re-check a model, export or run folder against its recorded checksums.

Exit status: 0 when every file matches, 1 when a file changed, went missing or was
added (each one is listed), 2 on an error (not a tfkit folder, a tampered manifest).

Examples:
    $ tfkit verify saved_models/reviews                     # every model and export folder of the run
    $ tfkit verify saved_models/reviews/05_export --json
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Registers ``tfkit verify`` and its flags."""
    p = sub.add_parser("verify", help="check a model, export or run folder against its checksums",
                       description="Re-hash every file of a model folder, an export folder or every such folder of "
                                   "a run, compare with their checksums.json and list each changed, missing or "
                                   "unexpected file. Exit 0 when clean, 1 when something differs.")
    p.add_argument("path", help="a model, export or run folder")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    """Verifies ``args.path`` and prints the report; 0 if clean, else 1."""
    from tfkit.integrity import verify_folder

    report = verify_folder(args.path)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())
    return 0 if report.ok else 1
