"""Hyperparameter-search benchmark (issue: Keras Tuner).

On a 2,000-sentence SST-2 train subset with the 872 dev sentences as
validation, in one run: tfkit's default hyperparameters trained as a single
fixed trial, then a 6-trial search. Both are scored the same way (the
objective's best epoch, early stopping inside trials).

Run:  python benchmarks/tune_sst2.py [--tuner bayesian] [--trials 6]
Writes benchmarks/results/tune_sst2.{json,md}.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

import tfkit
from tfkit._keras import keras
from tfkit.models.config import TrainingConfig
from tfkit.pipeline.finetune import FinetuneConfig

from _common import acceptance, machine, require_sst2, write_results


def default_space() -> dict:
    """tfkit's defaults as a search space with one point."""
    fine, train = FinetuneConfig(), TrainingConfig()
    return {"learning_rate": train.learning_rate, "batch_size": train.batch_size, "epochs": fine.epochs,
            "warmup_ratio": train.warmup_ratio, "weight_decay": train.weight_decay, "dropout": 0.1,
            "max_length": fine.max_length, "freeze_layers": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tuner", default="bayesian")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--subset", type=int, default=2000)
    args = parser.parse_args()
    sst2 = require_sst2()
    keras.utils.set_random_seed(0)
    train = tfkit.data.sst2("train", sst2).take(args.subset, seed=0)
    dev = tfkit.data.sst2("dev", sst2)
    work = tempfile.mkdtemp(prefix="tfkit-tune-bench-")
    try:
        start = time.perf_counter()
        default = tfkit.tune(train, dev, tuner="random", max_trials=1, objective="val_accuracy",
                                    output_dir=f"{work}/default", space=default_space(), verbose=2)
        default_seconds = time.perf_counter() - start
        start = time.perf_counter()
        searched = tfkit.tune(train, dev, tuner=args.tuner, max_trials=args.trials, objective="val_accuracy",
                                     output_dir=f"{work}/search", verbose=2)
        search_seconds = time.perf_counter() - start
        trials = searched.trials()
        default_score = default.best_trial().score
        best = searched.best_trial()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    completed = [t for t in trials if t["status"] == "COMPLETED"]
    result = {
        "benchmark": "tune_sst2",
        "command": f"python benchmarks/tune_sst2.py --tuner {args.tuner} --trials {args.trials}",
        "machine": machine(),
        "train_subset": len(train), "validation": "SST-2 dev (872)", "objective": "val_accuracy (best epoch)",
        "default_hyperparameters": default_space(), "default_seconds": default_seconds,
        "search_seconds": search_seconds, "best_hyperparameters": dict(best.hyperparameters.values),
        "trials": trials,
        "acceptance": {
            "best_val_accuracy": acceptance(best.score, "reported"),
            "default_val_accuracy": acceptance(default_score, "reported"),
            "best_minus_default": acceptance(best.score - default_score, ">=", 0.0),
            "trials_completed": acceptance(len(completed), ">=", args.trials),
        },
    }
    rows = [("trial", "learning rate", "batch", "epochs", "warmup", "weight decay", "dropout", "val accuracy", "s")]
    rows.append(("tfkit defaults", *(str(default_space()[k]) for k in ("learning_rate", "batch_size", "epochs",
                 "warmup_ratio", "weight_decay", "dropout")), f"{default_score:.4f}", f"{default_seconds:.0f}"))
    for t in trials:
        rows.append((t["trial_id"], f"{t['learning_rate']:.2e}", str(t["batch_size"]), str(t["epochs"]),
                     f"{t['warmup_ratio']:.3f}", f"{t['weight_decay']:.3f}", f"{t['dropout']:.3f}",
                     f"{t['score']:.4f}" if t["score"] is not None else "-", f"{t['seconds'] or 0:.0f}"))
    write_results("tune_sst2", result, rows, f"Keras Tuner ({args.tuner}, {args.trials} trials) on 2,000 SST-2 sentences")


if __name__ == "__main__":
    main()
