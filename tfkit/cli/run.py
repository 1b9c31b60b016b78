"""``tfkit run``: one command from a labelled file to edge files (fine-tune -> tune -> prune -> export -> report).

Examples:
    $ tfkit run reviews.csv --text-column review --label-column sentiment --output saved_models/reviews
    $ tfkit run reviews.csv --output saved_models/reviews --prune 0.5 --quantization float32 dynamic_int8 full_int8
    $ tfkit run reviews.csv --output saved_models/reviews --config run.yaml --resume
"""

from __future__ import annotations

import argparse
import dataclasses


def add_parser(sub: argparse._SubParsersAction) -> None:
    from tfkit.cli.main import _data_flags, _validation_flags, strategy_flag
    from tfkit.export.config import Quantization

    p = sub.add_parser("run", help="the whole path: fine-tune -> (tune) -> (prune) -> export -> report",
                       description="Fine-tune on DATA, optionally search hyperparameters and prune, export SavedModel "
                                   "and TFLite files (variants chosen on the validation split) and write "
                                   "OUTPUT/report.html and OUTPUT/summary.json. The same stage folders as "
                                   "tfkit train / tune / prune / export; --resume continues an interrupted run. "
                                   "Flags override the --config file.")
    p.add_argument("data", help="training data: a .csv, .tsv or .jsonl file")
    _data_flags(p)
    _validation_flags(p)
    p.add_argument("--test", default=None, help="labelled test file: the exported files are measured on it too")
    p.add_argument("--output", required=True, help="run folder to write (e.g. saved_models/reviews)")
    p.add_argument("--config", default=None, help="a JSON or YAML run config (sections finetune, tune, prune, quantize, export)")
    p.add_argument("--checkpoint", default=None, help="local Hugging Face checkpoint dir (default: all-MiniLM-L6-v2)")
    p.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs (default: the config's, else 3)")
    p.add_argument("--max-length", type=int, default=None, help="max tokens per example (default 128)")
    p.add_argument("--learning-rate", type=float, default=None, help="peak fine-tuning learning rate")
    p.add_argument("--batch-size", type=int, default=None, help="fine-tuning batch size")
    p.add_argument("--tune", action="store_true", help="run a hyperparameter search after fine-tuning")
    p.add_argument("--max-trials", type=int, default=None, help="trials of the search (implies --tune)")
    p.add_argument("--prune", default=None, metavar="SPARSITY",
                   help="prune to this sparsity (e.g. 0.5) or m:n pattern (e.g. 2:4) before export")
    p.add_argument("--qat", action="store_true",
                   help="quantization-aware training (TF-MOT) before export; exports the integer-only qat_int8 file")
    p.add_argument("--quantization", nargs="+", default=None, choices=[q.value for q in Quantization],
                   help="TFLite variants (default: float32 dynamic_int8)")
    p.add_argument("--no-raw-text", action="store_true",
                   help="the export leaves out the raw-text TFLite files (model_<variant>_text.tflite)")
    p.add_argument("--no-mediapipe", action="store_true",
                   help="the export leaves out the MediaPipe Tasks files (mediapipe/model_<variant>.tflite)")
    p.add_argument("--web", action="store_true",
                   help="the export also writes web/, a static page running the MediaPipe file in the browser "
                        "(fetches @mediapipe/tasks-text with npm once)")
    p.add_argument("--seed", type=int, default=None, help="seed of splits, initialisation and shuffling (default 0)")
    p.add_argument("--resume", action="store_true", help="reuse finished stages and continue an interrupted one")
    p.add_argument("--overwrite", action="store_true", help="redo every stage")
    strategy_flag(p)


def run(args: argparse.Namespace) -> int:
    from tfkit.models.distribution import resolve_strategy

    config = None
    if args.strategy is None and args.config:  # the config file may name the strategy; read it first
        from tfkit.pipeline.pipeline import PipelineConfig

        config = PipelineConfig.read(args.config)
        args.strategy = config.finetune.strategy
    strategy = resolve_strategy(args.strategy)  # first TF op: MultiWorkerMirroredStrategy must precede the others
    from tfkit.cli.main import _load, _train_and_validation
    from tfkit.pipeline.pipeline import PipelineConfig, run_pipeline
    from tfkit.pipeline.run import RunDirectory

    if config is None:
        config = PipelineConfig.read(args.config) if args.config else PipelineConfig()
    config = _with_flags(config, args)
    args.seed = config.finetune.seed  # the validation split uses the same seed
    data = _load(args, args.data)
    train, validation = _train_and_validation(args, data)
    test = _load(args, args.test, task=data.task, labels=data.labels or None) if args.test else None
    summary = run_pipeline(train, validation, config, RunDirectory(args.output), test=test, resume=args.resume,
                           overwrite=args.overwrite, strategy=strategy)
    if not summary.get("chief", True):
        print("worker done: the chief fine-tuned with this worker and runs the later stages")
        return 0
    print()
    print(f"stages: {', '.join(summary['stages'])}")
    for name, row in summary["export"].items():
        accuracy = row["test_accuracy"] if row["test_accuracy"] is not None else row["validation_accuracy"]
        shown = "-" if accuracy is None else f"{accuracy:.4f}"
        print(f"  export {name:13s} {row['size_mb']:6.1f} MB  accuracy {shown} ({summary['export_reported_on']})  "
              f"p50 {row['latency_ms_p50']:.2f} ms  ({row['status']})")
    for name, path in summary["outputs"].items():
        print(f"  {name:8s} {path}")
    print(f"  summary  {args.output}/summary.json")
    print(f"  tensorboard --logdir {args.output}")
    return 0


def _with_flags(config, args: argparse.Namespace):  # noqa: ANN001, ANN201  (PipelineConfig in, out)
    finetune = {name: value for name, value in dict(
        checkpoint=args.checkpoint, epochs=args.epochs, max_length=args.max_length, learning_rate=args.learning_rate,
        batch_size=args.batch_size, seed=args.seed, strategy=args.strategy).items() if value is not None}
    config = dataclasses.replace(config, finetune=dataclasses.replace(config.finetune, **finetune))
    if args.tune or args.max_trials is not None:
        from tfkit.pipeline.tune import TuneConfig

        tune = config.tune or TuneConfig()
        config = dataclasses.replace(config, tune=dataclasses.replace(
            tune, **({"max_trials": args.max_trials} if args.max_trials is not None else {})))
    if args.prune is not None:
        from tfkit.cli.prune import _number
        from tfkit.optimize.config import PruningConfig

        sparsity = {"pattern": args.prune} if ":" in args.prune else {"target_sparsity": _number(args.prune),
                                                                      "pattern": None}
        config = dataclasses.replace(config, prune=dataclasses.replace(config.prune or PruningConfig(), **sparsity))
    if args.qat and config.quantize is None:
        from tfkit.pipeline.quantize import QATConfig

        config = dataclasses.replace(config, quantize=QATConfig())
    if args.quantization is not None:
        config = dataclasses.replace(config, export=dataclasses.replace(config.export, quantization=args.quantization))
    app_files = {key: value for key, value in (("raw_text", False if args.no_raw_text else None),
                                               ("mediapipe", False if args.no_mediapipe else None),
                                               ("web", True if args.web else None)) if value is not None}
    if app_files:
        config = dataclasses.replace(config, export=dataclasses.replace(config.export, **app_files))
    return config
