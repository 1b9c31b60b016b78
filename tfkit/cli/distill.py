"""``tfkit distill``: train a smaller student from a fine-tuned teacher's logits and save it.

Examples:
    $ tfkit distill saved_models/reviews/01_finetune/model reviews.csv --output saved_models/reviews-student
    $ tfkit distill teacher/ train.tsv --validation dev.tsv --layers 3 --unlabeled more_texts.txt --output runs/s
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Registers ``tfkit distill`` and its flags."""
    from tfkit.cli.main import _data_flags, _validation_flags
    from tfkit.optimize import distillation as d

    p = sub.add_parser("distill", help="distill a fine-tuned classifier into a smaller student",
                       description="Train a student (by default every other encoder block of the teacher, with its "
                                   "embeddings and head) on DATA from the teacher's softened logits and the labels, "
                                   "then evaluate it and save it to OUTPUT/model (logs, checkpoints and backup in "
                                   "OUTPUT). The student exports like any model: tfkit export OUTPUT/model.")
    p.add_argument("teacher", help="the fine-tuned tfkit model folder to learn from")
    p.add_argument("data", help="training data: a .csv, .tsv or .jsonl file with the teacher's labels")
    _data_flags(p)
    _validation_flags(p)
    p.add_argument("--output", required=True, help="folder to write the student and its logs to")
    p.add_argument("--layers", default="3",
                   help="student size: a number of the teacher's blocks (evenly spaced) or comma-separated block "
                        "indices, e.g. 0,2,4 (default 3)")
    p.add_argument("--student", default=None,
                   help="the student instead of teacher blocks (overrides --layers): a saved tfkit model with the "
                        "teacher's labels, or a local Hugging Face checkpoint folder (a fresh head is added)")
    p.add_argument("--temperature", type=float, default=d.DEFAULT_TEMPERATURE,
                   help=f"softens teacher and student distributions (default {d.DEFAULT_TEMPERATURE})")
    p.add_argument("--alpha", type=float, default=d.DEFAULT_ALPHA,
                   help=f"weight of the hard-label loss; 1 - alpha goes to the teacher's (default {d.DEFAULT_ALPHA})")
    p.add_argument("--unlabeled", default=None,
                   help="a text file of extra unlabelled texts, one per line: the teacher labels them")
    p.add_argument("--epochs", type=int, default=3, help="training epochs (default 3)")
    p.add_argument("--learning-rate", type=float, default=d.DEFAULT_LEARNING_RATE,
                   help=f"peak learning rate (default {d.DEFAULT_LEARNING_RATE})")
    p.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and shuffling (default 0)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --output")
    p.add_argument("--overwrite", action="store_true", help="discard what --output holds and redo it")


def _layers(value: str) -> int | list[int]:
    from tfkit.errors import ConfigError

    try:
        parts = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"Expected --layers as a number or comma-separated block indices. Received: {value!r}.") \
            from None
    if not parts:
        raise ConfigError(f"Expected --layers as a number or comma-separated block indices. Received: {value!r}.")
    return parts[0] if "," not in value else parts


def _texts(path: str) -> list[str]:
    from tfkit.errors import DataError

    file = Path(path)
    if not file.is_file():
        raise DataError(f"File not found. Received: --unlabeled='{path}'.")
    try:
        return [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text at byte {error.start}.") from None


def _student(path: str, teacher):  # noqa: ANN001, ANN202  (TextClassifier in, out)
    import tfkit
    from tfkit.models.saving import MANIFEST

    if (Path(path) / MANIFEST).is_file():
        return tfkit.TextClassifier.load(path)
    return tfkit.TextClassifier.from_pretrained(path, labels=teacher.config.labels, task=teacher.config.task,
                                                max_length=teacher.config.max_length)


def run(args: argparse.Namespace) -> int:
    """Runs ``tfkit distill`` for parsed ``args``."""
    import tfkit
    from tfkit._keras import keras
    from tfkit.cli.main import _load, _train_and_validation
    from tfkit.errors import OutputExistsError

    output = Path(args.output)
    model_dir = output / "model"
    if model_dir.exists() and not args.overwrite:
        raise OutputExistsError(f"'{model_dir}' exists. Pass --overwrite to redo the student.")
    keras.utils.set_random_seed(args.seed)
    teacher = tfkit.TextClassifier.load(args.teacher, precision="float32")
    data = _load(args, args.data, task=teacher.config.task, labels=teacher.config.labels)
    train, validation = _train_and_validation(args, data)
    student = _student(args.student, teacher) if args.student else _layers(args.layers)
    result = tfkit.distill(teacher, train, student=student, validation=validation, temperature=args.temperature,
                           alpha=args.alpha, unlabeled=_texts(args.unlabeled) if args.unlabeled else None,
                           epochs=args.epochs, learning_rate=args.learning_rate, batch_size=args.batch_size,
                           output_dir=output, resume=args.resume, overwrite=args.overwrite,
                           verbose=2)
    metrics = {}
    if validation is not None:
        report = result.evaluate_report(validation)
        metrics = {k: float(v) for k, v in report.metrics.items() if k in ("accuracy", "macro_f1")}
        print(report.summary())
    result.save_pretrained(model_dir, overwrite=True, metrics=metrics)
    print(f"student:     {model_dir} ({result.fit_record['distillation']['student_layers']} layers, teacher "
          f"{result.fit_record['distillation']['teacher_layers']})")
    print(f"tensorboard: tensorboard --logdir {output}")
    return 0
