"""``tfkit prune``: prune a fine-tuned classifier with TF-MOT and save the stripped model.

Examples:
    $ tfkit prune reviews.csv --output saved_models/reviews --sparsity 0.8
    $ tfkit prune reviews.csv --output saved_models/reviews --sparsity 2:4 --epochs 1
    $ tfkit prune train.tsv --model saved_models/reviews/01_finetune/model --validation dev.tsv --output runs/p
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Registers ``tfkit prune`` and its flags."""
    from tfkit.cli.main import _data_flags, _validation_flags
    from tfkit.optimize.config import LayerKind, PruningConfig

    d = PruningConfig()
    p = sub.add_parser("prune", help="prune a fine-tuned classifier (TF-MOT magnitude or m:n sparsity)",
                       description="Prune the Dense layers of a fine-tuned classifier with TF-MOT while fine-tuning "
                                   "it on DATA, then strip the pruning wrappers and save a normal model to "
                                   "OUTPUT/03_prune/{model,report,logs}. The report has per-layer sparsity and "
                                   "gzip sizes of the weights and of a float TFLite file, before and after.")
    p.add_argument("data", help="training data: a .csv, .tsv or .jsonl file with the model's labels")
    _data_flags(p)
    p.add_argument("--output", required=True, help="run folder (the stage goes to OUTPUT/03_prune)")
    p.add_argument("--model", default=None,
                   help="saved tfkit model to prune (default: the run's tune model, else its fine-tune model)")
    _validation_flags(p)
    p.add_argument("--sparsity", default=str(d.target_sparsity),
                   help=f"target fraction of zeros in [0, 1), e.g. 0.8, or an m:n pattern such as 2:4 "
                        f"(default {d.target_sparsity})")
    p.add_argument("--schedule", default=d.schedule.value, choices=["polynomial", "constant"],
                   help=f"how sparsity is reached: polynomial rises from 0, constant starts at the target "
                        f"(default {d.schedule.value})")
    p.add_argument("--begin", type=float, default=d.begin_fraction,
                   help=f"fraction of training steps before pruning starts (default {d.begin_fraction})")
    p.add_argument("--end", type=float, default=d.end_fraction,
                   help=f"fraction of training steps at which masks stop changing (default {d.end_fraction})")
    p.add_argument("--frequency", type=int, default=d.frequency,
                   help=f"recompute masks every N steps (default {d.frequency})")
    p.add_argument("--layers", default=",".join(k.value for k in d.layers),
                   help="comma-separated layer kinds to prune, from " + ", ".join(k.value for k in LayerKind)
                        + f" (default {','.join(k.value for k in d.layers)})")
    p.add_argument("--epochs", type=int, default=d.epochs,
                   help=f"fine-tuning epochs while pruning (default {d.epochs})")
    p.add_argument("--learning-rate", type=float, default=d.learning_rate,
                   help=f"peak learning rate (default {d.learning_rate})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"batch size (default {d.batch_size})")
    p.add_argument("--batch-tokens", type=int, default=None,
                   help="token-budget batching: batches hold about this many padded tokens (overrides --batch-size)")
    p.add_argument("--seed", type=int, default=d.seed, help=f"seed of the split and shuffling (default {d.seed})")
    p.add_argument("--no-tflite", action="store_true", help="skip the float TFLite size comparison (faster)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted prune stage in --output")
    p.add_argument("--overwrite", action="store_true", help="discard a finished or interrupted prune stage and redo it")


def run(args: argparse.Namespace) -> int:
    """Runs the prune stage for parsed ``args``."""
    from tfkit.cli.main import _load, _train_and_validation
    from tfkit.models.saving import read_manifest
    from tfkit.optimize.config import PruningConfig
    from tfkit.pipeline import RunDirectory
    from tfkit.pipeline.prune import prune_stage, resolve_source

    run_dir = RunDirectory(args.output)
    source, _ = resolve_source(run_dir, args.model)
    manifest = read_manifest(source)["classifier"]
    train, validation = _train_and_validation(
        args, _load(args, args.data, task=manifest["task"], labels=manifest["labels"] or None))
    sparsity = {"pattern": args.sparsity} if ":" in args.sparsity else {"target_sparsity": _number(args.sparsity)}
    layers = tuple(k.strip() for k in args.layers.split(",") if k.strip())
    config = PruningConfig(**sparsity, schedule=args.schedule, begin_fraction=args.begin, end_fraction=args.end,
                           frequency=args.frequency, layers=layers,
                           epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size,
                           batch_tokens=args.batch_tokens, seed=args.seed)
    result = prune_stage(train, validation, config, run_dir, model=args.model, measure_tflite=not args.no_tflite,
                         resume=args.resume, overwrite=args.overwrite)
    if result.report is not None:
        print(result.report.summary())
    if result.sparsity is not None:
        print(result.sparsity.to_markdown())
    print(f"model:       {result.model_dir}")
    print(f"report:      {result.stage_dir / 'report'}")
    print(f"tensorboard: tensorboard --logdir {result.stage_dir / 'logs'}")
    return 0


def _number(text: str) -> float:
    from tfkit.errors import ConfigError

    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"Expected --sparsity as a number in [0, 1) or an m:n pattern. Received: {text!r}.") from None
