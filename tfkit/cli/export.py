"""``tfkit export`` and ``tfkit bench``: write verified SavedModel/TFLite files and measure them side by side.

Examples:
    $ tfkit export saved_models/reviews/01_finetune/model --output saved_models/reviews/05_export \\
          --quantization float32 dynamic_int8 full_int8 --representative-data train.csv --validation dev.csv
    $ tfkit bench saved_models/reviews/05_export --model saved_models/reviews/01_finetune/model --data dev.csv
"""

from __future__ import annotations

import argparse


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    """Registers ``tfkit export`` and its flags."""
    from tfkit.cli.main import _data_flags
    from tfkit.export.config import ExportConfig, Format, Quantization

    d = ExportConfig()
    p = sub.add_parser("export", help="export SavedModel and TFLite files, each run and checked",
                       description="Write a SavedModel (token-id and raw-string signatures) and TFLite variants of "
                                   "a saved model to OUTPUT, run every file (LiteRT for TFLite) on the validation "
                                   "examples, compare it with the Keras model and write export.json and report.md. "
                                   "A variant whose accuracy drops more than --accuracy-budget points is rejected "
                                   "unless --force.")
    p.add_argument("model", help="a saved tfkit model directory, or a run folder (its latest model is exported "
                                 "into RUN/05_export as the run's export stage)")
    p.add_argument("--output", default=None,
                   help="export folder to write (e.g. saved_models/reviews/05_export); not used with a run folder")
    p.add_argument("--formats", nargs="+", default=[f.value for f in d.formats], choices=[f.value for f in Format],
                   help="formats to write (default: saved_model tflite)")
    p.add_argument("--quantization", nargs="+", default=[q.value for q in d.quantization],
                   choices=[q.value for q in Quantization],
                   help="TFLite variants (default: float32 dynamic_int8)")
    p.add_argument("--representative-data", "--train", dest="representative_data", default=None,
                   help="labelled training file: its texts calibrate full_int8, int16x8 and qat_int8; --qat trains on it")
    p.add_argument("--qat", action="store_true",
                   help="quantization-aware training (TF-MOT) on --train first, then export its integer-only "
                        "qat_int8 file (a run folder gets a 04_quantize stage with TensorBoard logs)")
    p.add_argument("--qat-epochs", type=int, default=1, help="QAT epochs (default 1)")
    p.add_argument("--qat-learning-rate", type=float, default=None, help="QAT peak learning rate (default 1e-5)")
    p.add_argument("--validation", required=True, help="labelled file every exported file is checked on")
    _data_flags(p)
    p.add_argument("--representative-samples", type=int, default=d.representative_samples,
                   help=f"calibration examples drawn from --representative-data (default {d.representative_samples})")
    p.add_argument("--validation-samples", type=int, default=None,
                   help="check on a seeded sample of this many validation examples (default: all)")
    p.add_argument("--accuracy-budget", type=float, default=d.accuracy_budget,
                   help=f"largest accuracy drop in points a variant may show (default {d.accuracy_budget})")
    p.add_argument("--force", action="store_true", help="keep variants outside the accuracy budget (flagged)")
    p.add_argument("--no-raw-strings", action="store_true",
                   help="leave out the SavedModel's raw-string (in-graph tokenizer) signature")
    p.add_argument("--no-raw-text", action="store_true",
                   help="leave out the raw-text TFLite files (model_<variant>_text.tflite: one string in, "
                        "WordPiece inside)")
    p.add_argument("--no-mediapipe", action="store_true",
                   help="leave out the MediaPipe Tasks TextClassifier files (mediapipe/model_<variant>.tflite)")
    p.add_argument("--web", action="store_true",
                   help="also write web/, a static page that classifies typed text with the MediaPipe file in the "
                        "browser (MediaPipe Tasks for Web; fetches @mediapipe/tasks-text with npm once)")
    p.add_argument("--threads", type=int, default=d.num_threads,
                   help=f"LiteRT threads for checks and latency (default {d.num_threads})")
    p.add_argument("--any-batch", action="store_true",
                   help="TFLite inputs take any batch size (default: batch fixed at 1, the fastest graph)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT folder")


def run_export(args: argparse.Namespace) -> int:
    import tfkit
    from tfkit.cli.main import _load

    from pathlib import Path

    from tfkit.errors import ConfigError
    from tfkit.export.config import ExportConfig
    from tfkit.models.saving import MANIFEST, read_manifest
    from tfkit.pipeline.export import export_stage, latest_model
    from tfkit.pipeline.run import RunDirectory

    as_run = not (Path(args.model) / MANIFEST).is_file() and any(Path(args.model).glob("0*_*/stage.json"))
    source = latest_model(RunDirectory(args.model))[0] if as_run else Path(args.model)
    manifest = read_manifest(source)["classifier"]
    labelled = dict(task=manifest["task"], labels=manifest["labels"] or None)
    validation = _load(args, args.validation, **labelled)
    representative = _load(args, args.representative_data, **labelled) if args.representative_data else None
    options = dict(formats=args.formats, quantization=args.quantization,
                   representative_samples=args.representative_samples, validation_samples=args.validation_samples,
                   accuracy_budget=args.accuracy_budget, force=args.force, raw_strings=not args.no_raw_strings,
                   raw_text=not args.no_raw_text, mediapipe=not args.no_mediapipe, web=args.web,
                   num_threads=args.threads, batch_size=None if args.any_batch else 1)
    if args.qat:
        if representative is None:
            raise ConfigError("Expected --train for --qat. Received: none. Pass the labelled training file "
                              "quantization-aware training fine-tunes on.")
        if args.quantization == [q.value for q in ExportConfig().quantization]:
            options["quantization"] = ["qat_int8"]
        source = _qat(args, source, representative, validation, as_run)
    if as_run:
        result = export_stage(representative, validation, ExportConfig(**options), RunDirectory(args.model),
                              overwrite=args.overwrite)
        print((result.path / "report.md").read_text(encoding="utf-8"))
        print(f"export: {result.path}  (export.json, report.md, saved_model/, tflite/, stage.json)")
        return 0
    if args.output is None:
        raise ConfigError("Expected --output for a model directory. Received: none. Pass --output FOLDER, or give "
                          "a run folder to export into its 05_export stage.")
    clf = source if isinstance(source, tfkit.TextClassifier) else tfkit.TextClassifier.load(source, precision="float32")
    arts = tfkit.export(clf, args.output, train=representative, validation=validation, overwrite=args.overwrite,
                        **options)
    print(arts.report())
    print(f"export: {arts.path}  (export.json, report.md, saved_model/, tflite/)")
    return 0


def _qat(args: argparse.Namespace, source, train, validation, as_run: bool):  # noqa: ANN001, ANN202
    """QAT of ``source``: a run's 04_quantize stage (exported next), or an in-memory classifier."""
    import tfkit
    from tfkit.pipeline.quantize import QATConfig, quantize_stage
    from tfkit.pipeline.run import RunDirectory

    config = QATConfig(epochs=args.qat_epochs, **({"learning_rate": args.qat_learning_rate}
                                                  if args.qat_learning_rate is not None else {}))
    if as_run:
        return quantize_stage(train, validation, config, RunDirectory(args.model),  # it finds the run's latest model
                              overwrite=args.overwrite).model_dir
    clf = tfkit.TextClassifier.load(source, precision="float32")
    return tfkit.quantize_aware(clf, train, validation, epochs=config.epochs, learning_rate=config.learning_rate)


def add_bench_parser(sub: argparse._SubParsersAction) -> None:
    """Registers ``tfkit bench`` and its flags."""
    from tfkit.cli.main import _data_flags

    p = sub.add_parser("bench", help="measure every exported variant against the Keras model",
                       description="Measure the Keras fp32 model and every file of an export folder side by side "
                                   "on labelled DATA: size, accuracy, batch-1 latency p50/p90 on real lengths and "
                                   "batch-32 throughput. Writes bench.json, bench.md and bench.png.")
    p.add_argument("export_dir", help="a folder written by tfkit export")
    p.add_argument("--model", required=True, help="the saved tfkit model that was exported (the baseline)")
    p.add_argument("--data", required=True, help="labelled .csv, .tsv or .jsonl file")
    _data_flags(p)
    p.add_argument("--limit", type=int, default=None, help="measure on a seeded sample of this many examples")
    p.add_argument("--threads", type=int, default=2, help="LiteRT threads (default 2)")
    p.add_argument("--batch-size", type=int, default=32, help="batch size of the throughput figure (default 32)")
    p.add_argument("--output", default=None, help="folder for bench.{json,md,png} (default: the export folder)")


def run_bench(args: argparse.Namespace) -> int:
    import tfkit
    from tfkit.cli.main import _load

    clf = tfkit.TextClassifier.load(args.model, precision="float32")
    data = _load(args, args.data, task=clf.config.task, labels=clf.config.labels or None)
    result = tfkit.bench(args.export_dir, clf, data, limit=args.limit, num_threads=args.threads,
                                batch_size=args.batch_size, output_dir=args.output)
    print(result.table())
    print(f"bench: {result.output_dir}/bench.json, bench.md, bench.png")
    return 0
