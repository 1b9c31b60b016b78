"""Reliability benchmark: bounded-memory predict, seeded determinism, kill/resume, bad inputs, tampering.

Writes ``benchmarks/results/reliability.json`` (with the issue's ``"acceptance"`` keys) and
``reliability.md``. Every figure comes from running the code:

* ``predict_rss_growth_ratio_100k_vs_10k``: ``tfkit predict --input --output`` on 10k and 100k
  sentences with a fine-tuned default MiniLM; peak RSS growth over the model-loaded baseline.
* ``seeded_runs_identical``: two ``tfkit train`` processes, default MiniLM, default settings,
  200 SST-2 sentences (BBC News without ../shared/data), 1 epoch: are all saved weights bit-identical?
* ``resume_steps_match``: ``tfkit train`` SIGKILLed mid-epoch and re-run with ``--resume`` ends with the
  optimiser steps of an uninterrupted run.
* ``bad_inputs_clear_errors``: distinct bad inputs that raise a ``TfkitError`` whose message names
  what is wrong (file, row, column or argument); each case and its message is listed.
* ``verify_detects_tampering``: ``tfkit verify`` names a changed, a missing and an extra file.

Usage: ``python benchmarks/reliability.py [--quick]`` (``--quick``: 2k/20k sentences for predict).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import RESULTS, SST2_DIR, machine  # noqa: E402
from bad_inputs import run_cases  # noqa: E402
from predict_memory import rss_growth_ratio  # noqa: E402

from tfkit._io import atomic_write_json, atomic_write_text  # noqa: E402


def _train_data(folder: Path, n: int) -> tuple[Path, str]:
    import pandas as pd

    import tfkit

    if (SST2_DIR / "train.tsv").is_file():
        data, source = tfkit.data.sst2("train", SST2_DIR).take(n, seed=0), f"SST-2 train (first seeded {n})"
    else:
        data, source = tfkit.data.bbc_news().take(n, seed=0), f"BBC News ({n} seeded articles)"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "train.csv"
    pd.DataFrame({"text": list(data.texts), "label": [data.labels[i] for i in data.targets]}).to_csv(path, index=False)
    return path, source


def seeded_runs(folder: Path, n: int = 200) -> dict:
    """Two default ``tfkit train`` processes on the same data and seed; compares every saved weight."""
    import subprocess

    import h5py
    import numpy as np

    import os

    data, source = _train_data(folder, n)
    seconds, weights = [], []
    # a, b: tfkit's defaults; c: the same with TensorFlow's op determinism switched on, to price it
    for run, env in (("a", {}), ("b", {}), ("c", {"TF_DETERMINISTIC_OPS": "1"})):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tfkit", "train", str(data), "--epochs", "1",
                               "--output", str(folder / run)], capture_output=True, text=True,
                              env={**os.environ, **env})
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        seconds.append(time.perf_counter() - start)
        values: dict[str, np.ndarray] = {}
        with h5py.File(folder / run / "01_finetune" / "model" / "tf_model.h5", "r") as f:
            f.visititems(lambda name, obj: values.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        weights.append(values)

    def same(x: dict, y: dict) -> bool:
        return x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)

    a, b, c = weights
    different = [k for k in a if k not in b or not np.array_equal(a[k], b[k])]
    return {"data": source, "epochs": 1, "settings": "tfkit train defaults (default MiniLM)",
            "weights_compared": len(a), "weights_different": different[:10], "identical": not different and same(a, b),
            "identical_with_op_determinism": same(a, c),
            "seconds": {"run_a": seconds[0], "run_b": seconds[1], "with_TF_DETERMINISTIC_OPS": seconds[2]},
            "op_determinism_cost": "not needed on CPU: runs a and b are bit-identical without it; run c prices it",
            "model_dir": str(folder / "a" / "01_finetune" / "model")}


def resume(folder: Path) -> dict:
    import pandas as pd

    from tfkit.testing import write_tiny_checkpoint
    from tfkit.testing.faults import kill_and_resume

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import toy_texts

    texts, labels = toy_texts(1200)
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "train.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(data, index=False)
    checkpoint = write_tiny_checkpoint(folder / "tiny", "bert", seed=0)
    args = [str(data), "--checkpoint", str(checkpoint), "--epochs", "3", "--batch-size", "4", "--max-length", "16",
            "--validation-split", "0.05", "--seed", "0"]
    outcome = kill_and_resume(args, folder / "killed", folder / "whole")
    return {"model": "tiny random BERT (hidden 32, 2 layers)", "examples": 1200, "epochs": 3, "batch_size": 4,
            "killed_while_running": outcome.killed_while_running, "half_written_after_kill": outcome.half_written,
            "refused_without_resume": outcome.refused_without_resume, "refusal_message": outcome.refusal_message,
            "resumed_steps": outcome.resumed_steps, "uninterrupted_steps": outcome.uninterrupted_steps,
            "match": outcome.killed_while_running and outcome.resumed_steps == outcome.uninterrupted_steps
            and not outcome.half_written}


def tampering(model_dir: Path, folder: Path) -> dict:
    import shutil
    import subprocess

    copy = folder / "tampered"
    shutil.copytree(model_dir, copy)
    clean = subprocess.run([sys.executable, "-m", "tfkit", "verify", str(copy)], capture_output=True, text=True)
    weights = copy / "tf_model.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit in the middle of the weights
    weights.write_bytes(bytes(data))
    (copy / "vocab.txt").unlink()
    (copy / "extra.bin").write_bytes(b"not ours")
    dirty = subprocess.run([sys.executable, "-m", "tfkit", "verify", str(copy)], capture_output=True, text=True)
    text = dirty.stdout + dirty.stderr
    named = all(name in text for name in ("tf_model.h5", "vocab.txt", "extra.bin"))
    return {"clean_exit_code": clean.returncode, "tampered_exit_code": dirty.returncode, "report": text.strip()[-1500:],
            "detected": clean.returncode == 0 and dirty.returncode != 0 and named}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k/20k sentences for the predict memory check")
    args = parser.parse_args()
    start = time.perf_counter()
    record: dict = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="tfkit-reliability-") as tmp:
        tmp_path = Path(tmp)
        print("bad inputs ...", flush=True)
        cases = run_cases(tmp_path / "bad")
        record["bad_inputs"] = cases
        print("seeded runs ...", flush=True)
        record["seeded_runs"] = seeded_runs(tmp_path / "seeded")
        model_dir = Path(record["seeded_runs"]["model_dir"])
        print("predict memory ...", flush=True)
        small, large = (2_000, 20_000) if args.quick else (10_000, 100_000)
        record["predict_memory"] = rss_growth_ratio(model_dir, n_small=small, n_large=large, workdir=tmp_path / "mem")
        record["predict_memory"]["model"] = "default MiniLM fine-tuned 1 epoch on 200 sentences"
        print("tampering ...", flush=True)
        record["tampering"] = tampering(model_dir, tmp_path)
        print("kill and resume ...", flush=True)
        record["resume"] = resume(tmp_path / "resume")
    clear = [c for c in cases if c["clear"]]
    record["acceptance"] = {
        "predict_rss_growth_ratio_100k_vs_10k": {"value": round(record["predict_memory"]["ratio"], 3),
                                                 "target": "<= 1.5"},
        "seeded_runs_identical": {"value": int(record["seeded_runs"]["identical"]), "target": ">= 1"},
        "resume_steps_match": {"value": int(record["resume"]["match"]), "target": ">= 1"},
        "bad_inputs_clear_errors": {"value": len(clear), "target": ">= 30"},
        "verify_detects_tampering": {"value": int(record["tampering"]["detected"]), "target": ">= 1"},
    }
    record["seconds"] = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_json(RESULTS / "reliability.json", record)
    lines = ["# Reliability benchmark", "", "| key | value | target |", "|---|---|---|"]
    lines += [f"| {k} | {v['value']} | {v['target']} |" for k, v in record["acceptance"].items()]
    lines += ["", "## Bad inputs", "", "| case | error | message |", "|---|---|---|"]
    lines += [f"| {c['case']} | {c['error']} | {c['message'][:160].replace('|', '/')} |" for c in cases]
    atomic_write_text(RESULTS / "reliability.md", "\n".join(lines) + "\n")
    print("\n".join(lines[:9]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
