"""The main job, measured: runs `tfkit demo` exactly as the README does and records its accuracy.

Run:  python benchmarks/demo_bbc.py [--output saved_models/bbc_news]
Writes benchmarks/results/demo_bbc.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, acceptance, machine, write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=str(ROOT / "saved_models" / "bbc_news"))
    args = parser.parse_args()
    shutil.rmtree(args.output, ignore_errors=True)
    start = time.perf_counter()
    command = [sys.executable, "-m", "tfkit", "demo", "--output", args.output]
    subprocess.run(command, check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    summary = json.loads((Path(args.output) / "summary.json").read_text())
    stage = json.loads((Path(args.output) / "01_finetune" / "stage.json").read_text())
    result = {
        "benchmark": "demo_bbc",
        "command": "tfkit demo (via python benchmarks/demo_bbc.py)",
        "machine": machine(),
        "summary": summary,
        "stage_metrics": stage["metrics"],
        "wall_seconds": wall,
        "acceptance": {"bbc_accuracy": acceptance(summary["test_accuracy"], ">=", 0.95)},
    }
    rows = [("dataset", "train / val / test", "epochs", "max length", "test accuracy", "test macro-F1", "wall s"),
            ("BBC News", f"{summary['examples']['train']} / {summary['examples']['validation']} / "
                         f"{summary['examples']['test']}", str(summary["config"]["epochs"]),
             str(summary["config"]["max_length"]), f"{summary['test_accuracy']:.4f}",
             f"{summary['test_macro_f1']:.4f}", f"{wall:.0f}")]
    write_results("demo_bbc", result, rows, "Main job: all-MiniLM-L6-v2 fine-tuned on BBC News")


if __name__ == "__main__":
    main()
