"""Defaults chosen by measurement (issue 13): a grid of ``tfkit train`` settings on SST-2, checked on BBC News, and
the chosen defaults confirmed on SST-2's full train split.

- **Grid**: ``tfkit train`` as users run it (output folder, checkpoints, backups, TensorBoard, per-epoch
  validation) on the seeded 16,000-sentence subset of train.tsv that ``peers_sst2.py`` trains on, 2 epochs,
  the seeded 2,000-sentence validation split as ``--validation``. Every setting a grid point names is passed
  explicitly, so a point means the same whatever the defaults are. Rule: the fastest point (examples/s of fit)
  whose final *validation* accuracy is within 0.3 points of the best point's. Dev accuracy is reported, never
  used to choose.
- **BBC News**: the old defaults and the SST-2 choice (and any ``--bbc`` points) as ``tfkit train`` on the main
  job's split of BBC News (20 % test, 10 % of the rest as validation, seed 0), 3 epochs: the choice must also be
  within 0.3 points of the best BBC point on validation (178 articles: one article is 0.56 points). Test
  accuracy is reported.
- **Full runs**: ``tfkit train`` with **no settings flags** (only the data, columns, output and ``--seed``) on
  train.tsv without the validation split (65,349 sentences), that split as validation, one run per seed; dev.tsv
  accuracy of each saved model. ``sst2_default_dev_accuracy`` is their mean (target >= 0.91), and
  ``defaults_are_chosen`` says whether the code's defaults are the grid's choice (a full run of other
  defaults would not confirm anything).

Run:  python benchmarks/defaults.py [--only grid bbc full] [--seeds 0 1] [--bbc NAME ...]
Writes benchmarks/results/defaults.{json,md}; each part's record is kept in defaults.parts/ and reused.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import (RESULTS, ROOT, acceptance, machine, require_sst2, run_parts, save_part, write_results,
                     write_sst2_split_files)

PARTS = RESULTS / "defaults.parts"
BBC_DATA = Path(tempfile.gettempdir()) / "tfkit_defaults_bbc"
DATA = Path(tempfile.gettempdir()) / "tfkit_peers_sst2"  # the same TSV files peers_sst2.py writes
GRID_RUNS = Path(tempfile.gettempdir()) / "tfkit_defaults_grid"
FULL_RUNS = ROOT / "saved_models" / "sst2_defaults"  # full-train runs, kept (git-ignored) for reuse
SUBSET, GRID_EPOCHS, TOLERANCE_POINTS = 16000, 2, 0.3
COLUMNS = ["--text-column", "sentence", "--label-column", "label"]

OLD_DEFAULTS = "trainable_b32_lr5e-5"  # tfkit's defaults before this benchmark chose new ones
# name -> the settings a point fixes (FinetuneConfig field names). batch_size is ignored under batch_tokens.
GRID: dict[str, dict] = {
    "trainable_b32_lr5e-5": {"freeze_embeddings": False, "batch_size": 32, "batch_tokens": None, "learning_rate": 5e-5},
    "frozen_b32_lr5e-5": {"freeze_embeddings": True, "batch_size": 32, "batch_tokens": None, "learning_rate": 5e-5},
    "frozen_b32_lr1e-4": {"freeze_embeddings": True, "batch_size": 32, "batch_tokens": None, "learning_rate": 1e-4},
    "frozen_t2048_lr1e-4": {"freeze_embeddings": True, "batch_size": 32, "batch_tokens": 2048, "learning_rate": 1e-4},
    "frozen_t2048_lr2e-4": {"freeze_embeddings": True, "batch_size": 32, "batch_tokens": 2048, "learning_rate": 2e-4},
}


def flags(settings: dict) -> list[str]:
    out = ["--freeze-embeddings" if settings["freeze_embeddings"] else "--no-freeze-embeddings",
           "--learning-rate", repr(settings["learning_rate"]), "--batch-size", str(settings["batch_size"])]
    if settings["batch_tokens"]:
        out += ["--batch-tokens", str(settings["batch_tokens"])]
    return out


def code_defaults() -> dict:
    """The settings ``tfkit train`` uses without flags, in the grid's terms."""
    from tfkit.pipeline.finetune import FinetuneConfig

    d = FinetuneConfig()
    return {"freeze_embeddings": d.freeze_embeddings, "batch_size": d.resolved_batch_size,
            "batch_tokens": d.batch_tokens, "learning_rate": d.resolved_learning_rate}


def epoch_accuracies(stage: Path) -> list[float]:
    """Validation accuracy after each epoch, read back from the run's TensorBoard logs (what a user sees there)."""
    import tensorflow as tf

    values = {}
    for events in sorted((stage / "logs" / "validation").glob("events.out.tfevents*")):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                if value.tag == "epoch_accuracy":
                    values[event.step] = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") \
                        else value.simple_value
    return [values[k] for k in sorted(values)]


def sst2_dev():
    import tfkit

    sst2 = require_sst2()
    train_labels = tfkit.data.load(sst2 / "train.tsv", text="sentence", label="label").labels
    return tfkit.data.load(sst2 / "dev.tsv", text="sentence", label="label", labels=train_labels)


def accuracy(model_dir: Path, data, weights: Path | None = None) -> float:
    """Accuracy of the saved model on ``data``; with ``weights``, of those weights (e.g. the best epoch's file)."""
    import tfkit

    clf = tfkit.TextClassifier.load(model_dir)
    if weights is not None:
        clf.load_weights(str(weights))
    return float(np.mean(clf.predict_logits(data).argmax(1) == np.asarray(data.targets)))


def with_best_epoch(model_dir: Path, data, key: str) -> dict:
    """``key`` accuracy of the saved (last-epoch) model and, when ``fit`` kept an earlier best epoch's weights
    (``checkpoints/best.h5``, left only when they differ), ``best_epoch_<key>`` of those: what restoring the best
    epoch by default would have given."""
    out = {key: accuracy(model_dir, data)}
    best = model_dir.parent / "checkpoints" / "best.h5"
    record = best.with_suffix(".json")
    if best.is_file():
        out[f"best_epoch_{key}"] = accuracy(model_dir, data, best)
        out["best_epoch"] = json.loads(record.read_text())["epoch"] + 1 if record.is_file() else None
    return out


def bbc_files() -> tuple[dict[str, Path], object]:
    """The main job's BBC News split (``tfkit demo``'s fractions and seed) as JSONL files; and the test split."""
    from tfkit.data.builtin import bbc_news
    from tfkit.pipeline.demo import DemoConfig

    config = DemoConfig()
    rest, test = bbc_news().split(config.test_fraction, seed=config.seed)
    train, validation = rest.split(config.validation_fraction, seed=config.seed)
    BBC_DATA.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, data in (("train", train), ("validation", validation)):
        files[name] = BBC_DATA / f"{name}.jsonl"
        files[name].write_text("".join(json.dumps({"text": t, "label": data.labels[y]}) + "\n"
                                       for t, y in zip(data.texts, data.targets)), encoding="utf-8")
    return files, test


def train_run(command: list[str], out: Path, report) -> dict:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    stage_dir = out / "01_finetune"
    stage = json.loads((stage_dir / "stage.json").read_text())
    sizes = {p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in stage_dir.iterdir() if p.is_dir()}
    from tfkit.models.config import resolve_precision

    return {"command": " ".join(command), "wall_seconds": wall, "seconds": stage["metrics"]["train_seconds"],
            "examples_per_second": stage["metrics"]["train_examples_per_second"],
            "validation_accuracy": stage["metrics"]["accuracy"], "epoch_validation_accuracy": epoch_accuracies(stage_dir),
            **report(stage_dir / "model"), "stage_config": stage["config"],
            "precision": resolve_precision(stage["config"]["precision"]).value, "folder_bytes": sizes}


def part_grid(name: str) -> dict:
    files = write_sst2_split_files(DATA, SUBSET)
    out = GRID_RUNS / name
    command = ["tfkit", "train", str(files["subset"]), "--validation", str(files["validation"]), *COLUMNS,
               "--output", str(out), "--epochs", str(GRID_EPOCHS), "--seed", "0", "--overwrite", *flags(GRID[name])]
    return {"settings": GRID[name], **train_run(command, out, lambda m: with_best_epoch(m, sst2_dev(), "dev_accuracy"))}


def part_bbc(name: str) -> dict:
    files, test = bbc_files()
    out = GRID_RUNS / f"bbc_{name}"
    command = ["tfkit", "train", str(files["train"]), "--validation", str(files["validation"]), "--output", str(out),
               "--seed", "0", "--overwrite", *flags(GRID[name])]
    return {"settings": GRID[name], **train_run(command, out, lambda m: with_best_epoch(m, test, "test_accuracy"))}


def part_full(seed: int) -> dict:
    files = write_sst2_split_files(DATA, SUBSET)
    out = FULL_RUNS / f"seed{seed}"
    command = ["tfkit", "train", str(files["rest"]), "--validation", str(files["validation"]), *COLUMNS,
               "--output", str(out), "--seed", str(seed)]
    if (out / "01_finetune").exists():
        command.append("--resume")  # an interrupted run continues from its per-epoch backup
    return {"defaults": code_defaults(), **train_run(command, out, lambda m: with_best_epoch(m, sst2_dev(), "dev_accuracy"))}


def choose(grid: dict) -> tuple[str, list[str]]:
    best = max(r["validation_accuracy"] for r in grid.values())
    eligible = [n for n, r in grid.items() if 100 * (best - r["validation_accuracy"]) <= TOLERANCE_POINTS]
    return max(eligible, key=lambda n: grid[n]["examples_per_second"]), eligible


def summarise() -> None:
    parts = {p.stem: json.loads(p.read_text()) for p in sorted(PARTS.glob("*.json"))}
    grid = {n.removeprefix("grid_"): r for n, r in parts.items() if n.startswith("grid_")}
    full = {n: r for n, r in parts.items() if n.startswith("full_")}
    bbc = {n.removeprefix("bbc_"): r for n, r in parts.items() if n.startswith("bbc_")}
    chosen, eligible = choose(grid) if grid else (None, [])
    defaults = code_defaults()
    matches = chosen is not None and all(
        defaults[k] == v for k, v in GRID[chosen].items() if not (k == "batch_size" and GRID[chosen]["batch_tokens"]))
    record = {"machine": machine(), "grid": grid, "bbc": bbc, "full_runs": full, "code_defaults": defaults,
              "choice": {"chosen": chosen, "eligible": eligible,
                         "rule": f"fastest grid point whose validation accuracy is within {TOLERANCE_POINTS} points "
                                 "of the best point's (dev accuracy not used)"},
              "acceptance": {"defaults_are_chosen": acceptance(float(matches), "==", 1.0)}}
    if chosen in bbc:
        best_bbc = max(r["validation_accuracy"] for r in bbc.values())
        record["acceptance"]["bbc_choice_points_below_best"] = acceptance(
            100 * (best_bbc - bbc[chosen]["validation_accuracy"]), "<=", TOLERANCE_POINTS)
    runs_of_defaults = [r for r in full.values() if r["defaults"] == defaults]
    if runs_of_defaults:
        record["acceptance"]["sst2_default_dev_accuracy"] = acceptance(
            float(np.mean([r["dev_accuracy"] for r in runs_of_defaults])), ">=", 0.91)
        record["acceptance"]["sst2_default_runs"] = acceptance(len(runs_of_defaults), ">=", 2)
    table = [("run", "settings", "precision", "examples/s", "fit s", "validation acc by epoch", "validation acc",
              "dev acc (SST-2) / test acc (BBC)")]
    for name, r in grid.items():
        table.append((f"grid {name}" + (" (chosen)" if name == chosen else ""), " ".join(flags(r["settings"])),
                      r["precision"], f"{r['examples_per_second']:.1f}", f"{r['seconds']:.0f}",
                      ", ".join(f"{a:.4f}" for a in r["epoch_validation_accuracy"]), f"{r['validation_accuracy']:.4f}",
                      f"{r['dev_accuracy']:.4f}"))
    for name, r in bbc.items():
        table.append((f"BBC News {name}" + (" (chosen on SST-2)" if name == chosen else ""), " ".join(flags(r["settings"])),
                      r["precision"], f"{r['examples_per_second']:.1f}", f"{r['seconds']:.0f}",
                      ", ".join(f"{a:.4f}" for a in r["epoch_validation_accuracy"]), f"{r['validation_accuracy']:.4f}",
                      f"{r['test_accuracy']:.4f}"))
    for name, r in full.items():
        table.append((f"full train {name}", "defaults: " + json.dumps(r["defaults"]), r["precision"],
                      f"{r['examples_per_second']:.1f}", f"{r['seconds']:.0f}",
                      ", ".join(f"{a:.4f}" for a in r["epoch_validation_accuracy"]), f"{r['validation_accuracy']:.4f}",
                      f"{r['dev_accuracy']:.4f}"))
    write_results("defaults", record, table, "Defaults chosen by measurement: tfkit train on SST-2 and BBC News")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None, choices=["grid", "bbc", "full"], help="which parts to run")
    parser.add_argument("--bbc", nargs="*", default=[], choices=list(GRID),
                        help="grid points to run on BBC News besides the old defaults and the SST-2 choice")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="seeds of the full-train runs")
    parser.add_argument("--redo", action="store_true", help="rerun parts that already have a record")
    parser.add_argument("--summarise-only", action="store_true", help="rebuild the results from the recorded parts")
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:  # one part per process: each run starts TensorFlow fresh
        kind, _, key = args.part.partition("_")
        run = {"grid": part_grid, "bbc": part_bbc, "full": lambda seed: part_full(int(seed.removeprefix("s")))}[kind]
        save_part(PARTS, args.part, run(key))
        return
    wanted = [] if args.summarise_only else args.only or ["grid", "bbc", "full"]
    if "grid" in wanted:
        run_parts(__file__, PARTS, [f"grid_{n}" for n in GRID], redo=args.redo)
    if "bbc" in wanted:
        grid = {p.stem.removeprefix("grid_"): json.loads(p.read_text()) for p in PARTS.glob("grid_*.json")}
        points = dict.fromkeys([OLD_DEFAULTS, *([choose(grid)[0]] if grid else []), *args.bbc])
        run_parts(__file__, PARTS, [f"bbc_{n}" for n in points], redo=args.redo)
    if "full" in wanted:
        run_parts(__file__, PARTS, [f"full_s{s}" for s in args.seeds], redo=args.redo)
    summarise()


if __name__ == "__main__":
    main()
