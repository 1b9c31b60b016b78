"""The quantize stage: a trained classifier + data -> quantization-aware (TF-MOT) classifier, evaluated, saved.

Reads the run's prune (else tune, else fine-tune) stage model, or a given model directory, and writes
``<run>/04_quantize/{model, report, logs, stage.json}``: ``model`` is the fake-quantized Functional
twin (``TextClassifier.load`` gives a :class:`~tfkit.optimize.qat.QuantizedClassifier`), ``logs`` its
TensorBoard training logs. The export stage then writes its integer-only ``qat_int8`` file.

Examples:
    >>> from tfkit.pipeline import RunDirectory
    >>> from tfkit.pipeline.quantize import QATConfig, quantize_stage
    >>> result = quantize_stage(train, val, QATConfig(epochs=1), RunDirectory("saved_models/run"))  # doctest: +SKIP
    >>> result.model_dir                                                                          # doctest: +SKIP
    PosixPath('saved_models/run/04_quantize/model')
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from tfkit._keras import keras
from tfkit.data.dataset import TextDataset
from tfkit.errors import ConfigError
from tfkit.evaluation.report import EvaluationReport
from tfkit.models.config import _JsonConfig
from tfkit.models.text_classifier import TextClassifier
from tfkit.pipeline.finetune import _headline, _read_report
from tfkit.pipeline.run import RunDirectory
from tfkit.reporting.tensorboard import log_evaluation, log_model_card

STAGE = "quantize"


@dataclasses.dataclass(frozen=True)
class QATConfig(_JsonConfig):
    """Quantization-aware fine-tuning (:func:`tfkit.quantize_aware`).

    Examples:
        >>> QATConfig.from_dict(QATConfig(epochs=2).to_dict()).epochs
        2
    """

    epochs: int = 1
    learning_rate: float = 1e-5
    batch_size: int | None = None
    prune_preserve: bool | None = None  # None: when the model is at least 20 % zeros (a pruned model)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"Expected epochs >= 1. Received: epochs={self.epochs}.")
        if not self.learning_rate > 0:
            raise ConfigError(f"Expected learning_rate > 0. Received: learning_rate={self.learning_rate}.")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"Expected batch_size >= 1. Received: batch_size={self.batch_size}.")


@dataclasses.dataclass(frozen=True)
class QuantizeResult:
    """What the stage produced."""

    classifier: TextClassifier
    model_dir: Path
    report: EvaluationReport | None
    stage_dir: Path


def quantize_stage(
    train: TextDataset,
    validation: TextDataset | None,
    config: QATConfig,
    run: RunDirectory,
    model: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    verbose: Any = "auto",
) -> QuantizeResult:
    """Quantization-aware fine-tuning of the run's latest model; evaluates and saves the QAT classifier.

    A finished stage is an error unless ``resume`` (reuse it) or ``overwrite`` (redo it); an interrupted
    one continues from its per-epoch backup with ``resume``.
    """
    import sys

    from tfkit.optimize.qat import quantize_aware

    stage_dir = run.stage(STAGE)
    model_dir, report_dir = stage_dir / "model", stage_dir / "report"
    if run.begin(STAGE, resume, overwrite):
        return QuantizeResult(TextClassifier.load(model_dir), model_dir, _read_report(report_dir / "report.json"),
                              stage_dir)
    source, parent = run.latest_model(("prune", "tune", "finetune"), model, "quantize")
    float_model = TextClassifier.load(source, precision="float32")
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    keras.utils.set_random_seed(config.seed)
    float_model.training_config = dataclasses.replace(float_model.training_config, seed=config.seed)
    qat = quantize_aware(float_model, train, validation, epochs=config.epochs, learning_rate=config.learning_rate,
                         batch_size=config.batch_size, prune_preserve=config.prune_preserve, output_dir=stage_dir,
                         resume=resume, verbose=verbose)
    report = qat.evaluate_report(validation, output_dir=report_dir) if validation is not None else None
    metrics = _headline(report)
    qat.save_pretrained(model_dir, overwrite=True, metrics=metrics)
    if report is not None:
        log_evaluation(stage_dir / "logs" / "evaluation", report_dir)
    log_model_card(stage_dir / "logs" / "model_card", model_dir)
    metrics.update({"train_examples": len(train), "train_seconds": qat.fit_record.get("seconds"),
                    "prune_preserve": qat.prune_preserve})
    run.write_stage(STAGE, config={**config.to_dict(), "model": str(source)}, metrics=metrics,
                    outputs={"model": str(model_dir), "report": str(report_dir), "logs": str(stage_dir / "logs")},
                    parent=parent)
    return QuantizeResult(qat, model_dir, report, stage_dir)
