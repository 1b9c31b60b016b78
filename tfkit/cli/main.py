"""``tfkit`` command line: ``train``, ``tune``, ``evaluate``, ``predict``, ``prune``, ``distill``, ``export``,
``bench``, ``demo``.

A thin layer: each command maps its flags to the Python API and prints where
its outputs went.

Examples:
    $ tfkit train reviews.csv --text-column review --label-column sentiment --output saved_models/reviews
    $ tfkit evaluate saved_models/reviews/01_finetune/model dev.csv --label-column sentiment
    $ tfkit predict saved_models/reviews/01_finetune/model "great film" "dull"
    $ tfkit demo
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from tfkit.cli import quiet
from tfkit.errors import TfkitError


def _data_flags(parser: argparse.ArgumentParser, with_labels: bool = True) -> None:
    parser.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    parser.add_argument("--text-pair-column", default=None, help="optional second text column for sentence pairs")
    if with_labels:
        parser.add_argument("--label-column", default="label", help="column holding the label (default: label)")
        parser.add_argument("--label-delimiter", default=None,
                            help="split string labels on this delimiter (makes the task multi-label)")
    parser.add_argument("--delimiter", default=None, help="file delimiter if the extension does not tell it")
    parser.add_argument("--encoding", default="utf-8",
                        help="text encoding of the file, e.g. cp1252 or latin-1 for Windows exports (default: utf-8)")
    parser.add_argument("--encoding-errors", default="strict", choices=["strict", "replace"],
                        help="strict: undecodable bytes are an error naming the line (default); replace: they become "
                             "U+FFFD and the affected rows are counted")


def _load(args: argparse.Namespace, path: str, **options):
    """Loads a labelled file with the column flags of ``args``."""
    import tfkit

    return tfkit.data.load(path, text=args.text_column, label=args.label_column, text_pair=args.text_pair_column,
                           label_delimiter=args.label_delimiter, delimiter=args.delimiter, encoding=args.encoding,
                           encoding_errors=args.encoding_errors, **options)


def _validation_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--validation", default=None, help="validation file; default: hold out --validation-split")
    parser.add_argument("--validation-split", type=float, default=0.1,
                        help="fraction of DATA held out for validation when --validation is not given (default 0.1)")


def _train_and_validation(args: argparse.Namespace, data):
    """``data`` and the ``--validation`` file, or a stratified ``--validation-split`` of ``data``."""
    if args.validation:
        return data, _load(args, args.validation, task=data.task, labels=data.labels or None)
    return data.split(args.validation_split, seed=args.seed)


def _train_parser(sub: argparse._SubParsersAction) -> None:
    from tfkit.pipeline.finetune import FinetuneConfig

    d = FinetuneConfig()
    p = sub.add_parser("train", help="fine-tune a classifier on a labelled file",
                       description="Fine-tune a BERT-family checkpoint on a CSV/TSV/JSONL file, evaluate it and "
                                   "save it to OUTPUT/01_finetune/{model,report,logs}.")
    p.add_argument("data", help="training data: a .csv, .tsv or .jsonl file")
    _data_flags(p)
    p.add_argument("--task", default="auto", choices=["auto", "single_label", "multi_label", "regression"],
                   help="task type (default: inferred from the labels)")
    _validation_flags(p)
    p.add_argument("--output", required=True, help="run folder to write (e.g. saved_models/reviews)")
    p.add_argument("--checkpoint", default="", help="local Hugging Face checkpoint dir (default: all-MiniLM-L6-v2)")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"training epochs (default {d.epochs})")
    p.add_argument("--batch-size", type=int, default=None,
                   help="batch size (default 32; 16 with --lora-rank, chosen on validation data)")
    p.add_argument("--batch-tokens", type=int, default=None,
                   help="token-budget batching: batches hold about this many padded tokens, so short texts come in "
                        "bigger batches (overrides --batch-size; on SST-2, 2048 trained 1.2x faster than batch 32 at "
                        "0.85 points lower validation accuracy: benchmarks/results/defaults.md)")
    p.add_argument("--learning-rate", type=float, default=None,
                   help="peak learning rate after warm-up (default 1e-4; with --lora-rank "
                        f"{lora_learning_rate()})")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay, help=f"AdamW weight decay (default {d.weight_decay})")
    p.add_argument("--warmup-ratio", type=float, default=d.warmup_ratio,
                   help=f"fraction of steps for linear warm-up (default {d.warmup_ratio})")
    p.add_argument("--max-length", type=int, default=d.max_length, help=f"max tokens per example (default {d.max_length})")
    p.add_argument("--dropout", type=float, default=None,
                   help="override the checkpoint's dropout (with --lora-rank the default is 0: the frozen base "
                        "trains without dropout)")
    p.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=d.freeze_embeddings,
                   help=f"do not train the embedding layer (default {'on' if d.freeze_embeddings else 'off'})")
    p.add_argument("--freeze-layers", type=int, default=0, help="do not train the lowest N transformer layers")
    p.add_argument("--precision", default=d.precision, choices=["auto", "float32", "mixed_bfloat16", "mixed_float16"],
                   help=f"compute precision (default {d.precision}; mixed_bfloat16 for CPUs with AMX, "
                        "mixed_float16 for GPUs)")
    p.add_argument("--xla", action="store_true", help="compile training steps with XLA (jit_compile)")
    p.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without validation improvement")
    p.add_argument("--class-weight", choices=["balanced"], default=None, help="weight classes inversely to frequency")
    p.add_argument("--seed", type=int, default=d.seed, help=f"seed for splits and shuffling (default {d.seed})")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --output")
    p.add_argument("--overwrite", action="store_true", help="discard what --output holds for this stage and redo it")
    p.add_argument("--lora-rank", type=int, default=0,
                   help="train LoRA adapters of this rank on the frozen checkpoint instead of every weight (e.g. 8); "
                        "the model is saved merged, its adapter in model/adapter/ (default 0: full fine-tuning)")
    p.add_argument("--lora-alpha", type=float, default=d.lora_alpha, help=f"LoRA scale numerator (default {d.lora_alpha})")
    p.add_argument("--lora-dropout", type=float, default=d.lora_dropout,
                   help=f"dropout on the adapters' input (default {d.lora_dropout})")
    p.add_argument("--lora-targets", default=",".join(d.lora_targets),
                   help="comma-separated Dense layers that get adapters: each block's query, key, value, "
                        "attention_output, intermediate, output, and the head's pooler "
                        f"(default {','.join(d.lora_targets)})")
    p.add_argument("--lora-b-lr-ratio", type=float, default=d.lora_b_lr_ratio,
                   help="LoRA+: the adapters' B matrices learn this many times faster than A "
                        f"(default {d.lora_b_lr_ratio:g}; 1: plain LoRA)")
    strategy_flag(p)


def lora_learning_rate() -> float:
    from tfkit.models.lora import DEFAULT_LEARNING_RATE

    return DEFAULT_LEARNING_RATE


def strategy_flag(parser: argparse.ArgumentParser) -> None:
    """``--strategy``: the tf.distribute strategy of fine-tuning (shared by ``tfkit train`` and ``tfkit run``)."""
    from tfkit.models.distribution import StrategyName

    parser.add_argument("--strategy", default=None, choices=[s.value for s in StrategyName],
                        help="tf.distribute strategy for fine-tuning: mirrored (every GPU of this host), multi_worker "
                             "(one process per host, cluster from TF_CONFIG; run the same command on every host), "
                             "tpu (TPU_NAME, default local); --batch-size is the global batch (docs/distributed.md)")


def _train(args: argparse.Namespace) -> int:
    from tfkit.models.distribution import is_chief, resolve_strategy

    strategy = resolve_strategy(args.strategy)  # first: MultiWorkerMirroredStrategy must precede other TF ops
    from tfkit.pipeline import FinetuneConfig, RunDirectory, finetune

    train, validation = _train_and_validation(args, _load(args, args.data, task=args.task))
    config = FinetuneConfig(
        checkpoint=args.checkpoint, max_length=args.max_length, epochs=args.epochs, batch_size=args.batch_size,
        batch_tokens=args.batch_tokens,
        learning_rate=args.learning_rate, weight_decay=args.weight_decay, warmup_ratio=args.warmup_ratio,
        dropout=args.dropout, freeze_embeddings=args.freeze_embeddings, freeze_layers=args.freeze_layers,
        precision=args.precision, jit_compile=args.xla, early_stopping_patience=args.early_stopping,
        class_weight=args.class_weight, seed=args.seed, strategy=args.strategy or "default",
        lora_rank=args.lora_rank, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
        lora_targets=tuple(t.strip() for t in args.lora_targets.split(",") if t.strip()),
        lora_b_lr_ratio=args.lora_b_lr_ratio,
    )
    result = finetune(train, validation, config, RunDirectory(args.output), resume=args.resume,
                      overwrite=args.overwrite, strategy=strategy)
    if not is_chief(strategy):
        print("worker done: the chief writes the model, report and logs")
        return 0
    if result.report is not None:
        print(result.report.summary())
    print(f"model:       {result.model_dir}")
    if args.lora_rank:
        print(f"adapter:     {result.model_dir / 'adapter'}")
    print(f"report:      {result.stage_dir / 'report'}")
    print(f"tensorboard: tensorboard --logdir {args.output}")
    return 0


def _tune_parser(sub: argparse._SubParsersAction) -> None:
    from tfkit.pipeline.tune import TuneConfig

    d = TuneConfig()
    p = sub.add_parser("tune", help="search hyperparameters with Keras Tuner",
                       description="Search hyperparameters (random, Bayesian or Hyperband). The search state lives "
                                   "in OUTPUT/02_tune/search: re-running the command resumes it. Distributed: start "
                                   "the same command with KERASTUNER_TUNER_ID=chief|tuner0|tuner1..., "
                                   "KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT set.")
    p.add_argument("data", help="training data: a .csv, .tsv or .jsonl file")
    _data_flags(p)
    _validation_flags(p)
    p.add_argument("--output", required=True, help="run folder (the search goes to OUTPUT/02_tune)")
    p.add_argument("--checkpoint", default="", help="local Hugging Face checkpoint dir (default: all-MiniLM-L6-v2)")
    p.add_argument("--tuner", default=d.tuner, choices=["random", "bayesian", "hyperband"],
                   help=f"search algorithm (default {d.tuner})")
    p.add_argument("--max-trials", type=int, default=d.max_trials, help=f"number of trials (default {d.max_trials})")
    p.add_argument("--objective", default=d.objective,
                   help=f"logged metric to optimise, e.g. val_accuracy, val_macro_f1, val_loss (default {d.objective})")
    p.add_argument("--space", action="append", default=[], metavar="NAME=SPEC",
                   help="narrow, widen or fix a hyperparameter: NAME=LOW:HIGH (range), NAME=A,B (choices) or "
                        "NAME=VALUE; names: learning_rate, batch_size, epochs, warmup_ratio, weight_decay, dropout, "
                        "max_length, freeze_layers (repeatable)")
    p.add_argument("--early-stopping", type=int, default=d.early_stopping_patience, metavar="PATIENCE",
                   help=f"early stopping inside each trial (default {d.early_stopping_patience})")
    p.add_argument("--precision", default=d.precision, choices=["auto", "float32", "mixed_bfloat16", "mixed_float16"],
                   help="compute precision of every trial (default auto)")
    p.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=d.freeze_embeddings,
                   help=f"keep embeddings fixed in every trial (default {'on' if d.freeze_embeddings else 'off'})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"seed of the split and the search (default {d.seed})")
    p.add_argument("--overwrite", action="store_true", help="discard an existing search instead of resuming it")


def _tune(args: argparse.Namespace) -> int:
    from tfkit.pipeline import RunDirectory
    from tfkit.pipeline.tune import TuneConfig, parse_space, tune

    train, validation = _train_and_validation(args, _load(args, args.data))
    config = TuneConfig(checkpoint=args.checkpoint, tuner=args.tuner, max_trials=args.max_trials,
                        objective=args.objective, space=parse_space(args.space),
                        early_stopping_patience=args.early_stopping, precision=args.precision,
                        freeze_embeddings=args.freeze_embeddings, seed=args.seed)
    result = tune(train, validation, config, RunDirectory(args.output), overwrite=args.overwrite, verbose=1)
    print((result.directory.parent / "report" / "trials.md").read_text())
    print(f"best model: {result.directory / 'best_model'}")
    print(f"trials:     {result.directory.parent / 'report'}")
    print(f"tensorboard: tensorboard --logdir {result.directory}")
    return 0


def _evaluate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a saved model on a labelled file",
                       description="Per-class precision/recall/F1, macro/micro F1 and confusion matrix.")
    p.add_argument("model", help="a saved tfkit model directory")
    p.add_argument("data", help="labelled .csv, .tsv or .jsonl file")
    _data_flags(p)
    p.add_argument("--output", default=None, help="folder for report.json and confusion_matrix.png")
    p.add_argument("--batch-size", type=int, default=64, help="examples per batch (default 64)")


def _evaluate(args: argparse.Namespace) -> int:
    import tfkit

    clf = tfkit.TextClassifier.load(args.model)
    data = _load(args, args.data, task=clf.config.task, labels=clf.config.labels or None)
    report = clf.evaluate_report(data, output_dir=args.output, batch_size=args.batch_size)
    print(report.summary())
    if args.output:
        print(f"report: {args.output}")
    return 0


def _predict_parser(sub: argparse._SubParsersAction) -> None:
    from tfkit.models.streaming import DEFAULT_CHUNK_SIZE

    p = sub.add_parser("predict", help="predict labels for texts or a file",
                       description="Prints one JSON object per input: label, score and probabilities. A --input "
                                   "file is streamed in chunks, so memory does not grow with its size.")
    p.add_argument("model", help="a saved tfkit model directory")
    p.add_argument("texts", nargs="*", help="texts to classify (or use --input)")
    p.add_argument("--input", default=None, help="a .csv, .tsv or .jsonl file of texts")
    _data_flags(p, with_labels=False)
    p.add_argument("--output", default=None,
                   help="write JSON lines here (atomically: whole or not at all) instead of standard output")
    p.add_argument("--batch-size", type=int, default=64, help="examples per batch (default 64)")
    p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                   help=f"rows of --input read, predicted and written at a time (default {DEFAULT_CHUNK_SIZE})")


def _predict(args: argparse.Namespace) -> int:
    import itertools

    import tfkit
    from tfkit._io import atomic_text_output
    from tfkit.models.streaming import read_text_chunks, write_predictions

    texts: list = list(args.texts)
    if not texts and not args.input:
        raise TfkitError("Nothing to predict: give texts as arguments or --input FILE.")
    rows = []
    if args.input:  # the file is checked before the model loads; its rows are read lazily, a chunk at a time
        rows = read_text_chunks(args.input, args.text_column, args.text_pair_column, delimiter=args.delimiter,
                                encoding=getattr(args, "encoding", None) or "utf-8",
                                encoding_errors=getattr(args, "encoding_errors", None) or "strict",
                                chunk_size=args.chunk_size)
    chunks = itertools.chain([texts] if texts else [], rows)
    clf = tfkit.TextClassifier.load(args.model)
    progress = bool(args.input) and sys.stderr.isatty()
    if args.output:
        with atomic_text_output(args.output) as stream:
            write_predictions(clf, chunks, stream, args.batch_size, progress)
        print(f"predictions: {args.output}")
    else:
        write_predictions(clf, chunks, sys.stdout, args.batch_size, progress)
    return 0


def _demo_parser(sub: argparse._SubParsersAction) -> None:
    from tfkit.pipeline.demo import DemoConfig

    d = DemoConfig()
    p = sub.add_parser("demo", help="the main job: fine-tune the default MiniLM on BBC News and report",
                       description="`tfkit run` on the embedded default: fine-tune all-MiniLM-L6-v2 on BBC News "
                                   "(80/20 stratified split), evaluate on the held-out 20 percent, export SavedModel "
                                   "and TFLite files (variants chosen on the validation split, measured on the test "
                                   "split), write report.html and print a summary.")
    p.add_argument("--output", default=d.output, help=f"run folder (default {d.output})")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"training epochs (default {d.epochs})")
    p.add_argument("--max-length", type=int, default=d.max_length, help=f"tokens per article (default {d.max_length})")
    p.add_argument("--learning-rate", type=float, default=d.learning_rate, help=f"peak learning rate (default {d.learning_rate})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"batch size (default {d.batch_size})")
    p.add_argument("--precision", default=d.precision, choices=["auto", "float32", "mixed_bfloat16", "mixed_float16"],
                   help=f"compute precision (default {d.precision})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"seed of the splits and shuffling (default {d.seed})")
    p.add_argument("--resume", action="store_true", help="continue an interrupted demo run")
    p.add_argument("--overwrite", action="store_true", help="redo a finished demo run")


def _demo(args: argparse.Namespace) -> int:
    from tfkit.pipeline.demo import DemoConfig, run_demo

    config = DemoConfig(output=args.output, epochs=args.epochs, max_length=args.max_length,
                        learning_rate=args.learning_rate, batch_size=args.batch_size, precision=args.precision,
                        seed=args.seed)
    summary = run_demo(config, resume=args.resume, overwrite=args.overwrite)
    print()
    print(f"BBC News test accuracy: {summary['test_accuracy']:.4f}  macro-F1: {summary['test_macro_f1']:.4f}  "
          f"({summary['examples']['test']} held-out articles, {summary['seconds']:.0f} s)")
    for name, row in summary["export"].items():
        accuracy = "-" if row["accuracy"] is None else f"{row['accuracy']:.4f}"
        latency = "-" if row["latency_ms_p50"] is None else f"{row['latency_ms_p50']:.2f}"
        print(f"  export {name:13s} {row['size_mb']:6.1f} MB  test accuracy {accuracy}  "
              f"p50 {latency} ms  ({row['status']}; chosen on validation)")
    for name, path in summary["outputs"].items():
        print(f"  {name:17s} {path}")
    print(f"  {'summary':17s} {summary['outputs']['run']}/summary.json")
    return 0


COMMANDS = {"train": (_train_parser, _train), "tune": (_tune_parser, _tune), "evaluate": (_evaluate_parser, _evaluate),
            "predict": (_predict_parser, _predict), "demo": (_demo_parser, _demo)}

from tfkit.cli import prune as _prune_cli  # noqa: E402  (`tfkit prune`: parser and handler in tfkit/cli/prune.py)

COMMANDS["prune"] = (_prune_cli.add_parser, _prune_cli.run)

from tfkit.cli import distill as _distill_cli  # noqa: E402  (`tfkit distill`: tfkit/cli/distill.py)

COMMANDS["distill"] = (_distill_cli.add_parser, _distill_cli.run)

from tfkit.cli import export as _export_cli  # noqa: E402  (`tfkit export` and `tfkit bench`)

COMMANDS["export"] = (_export_cli.add_export_parser, _export_cli.run_export)
COMMANDS["bench"] = (_export_cli.add_bench_parser, _export_cli.run_bench)

from tfkit.cli import run as _run_cli  # noqa: E402  (`tfkit run`: the whole path in one command)

COMMANDS["run"] = (_run_cli.add_parser, _run_cli.run)

from tfkit.cli import verify as _verify_cli  # noqa: E402  (`tfkit verify`: checksums of model/export/run folders)

COMMANDS["verify"] = (_verify_cli.add_parser, _verify_cli.run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfkit", description="Fine-tune, evaluate and run BERT-family text "
                                                               "classifiers (TensorFlow / Keras 2).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # -v/--verbose before or after the command; the `tfkit` process was quieted before TensorFlow loaded
    # (tfkit/cli/quiet.py), and --verbose undoes that there. Called in-process, main() changes no logging.
    args = quiet.parse_args(build_parser(), argv)
    quiet.configure(args.verbose)
    try:
        return COMMANDS[args.command][1](args)
    except TfkitError as err:
        print(f"tfkit {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
