"""The prune stage: a fine-tuned classifier + data -> pruned, stripped, evaluated, saved classifier.

Reads the run's tune (else fine-tune) stage model, or a given model directory,
and writes ``<run>/03_prune/{model, report, logs, stage.json}``: ``model`` is
the stripped classifier (a normal tfkit model directory), ``report`` holds the
evaluation (``report.json``, confusion matrix) and ``sparsity.{json,md}``,
``logs`` the TensorBoard training logs with ``logs/pruning`` (per-layer
sparsity and threshold).

Examples:
    >>> from tfkit.optimize import PruningConfig
    >>> from tfkit.pipeline import RunDirectory
    >>> from tfkit.pipeline.prune import prune_stage
    >>> result = prune_stage(train, val, PruningConfig(target_sparsity=0.8),
    ...                      RunDirectory("saved_models/run"))               # doctest: +SKIP
    >>> result.sparsity.overall_sparsity                                       # doctest: +SKIP
    0.8
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from tfkit.data.dataset import TextDataset
from tfkit.evaluation.report import EvaluationReport
from tfkit.models.text_classifier import TextClassifier
from tfkit.optimize.config import PruningConfig
from tfkit.optimize.pruning import PrunedClassifier, prune
from tfkit.optimize.report import SparsityReport, measure_sizes
from tfkit.pipeline.finetune import _headline, _read_report
from tfkit.pipeline.run import RunDirectory
from tfkit.reporting.tensorboard import log_evaluation, log_files, log_model_card

STAGE = "prune"


@dataclasses.dataclass(frozen=True)
class PruneResult:
    """What the stage produced; ``pruned`` is None when a finished stage was reused.

    Examples:
        >>> prune_stage(train, val, PruningConfig(), RunDirectory("runs/a")).model_dir   # doctest: +SKIP
        PosixPath('runs/a/03_prune/model')
    """

    classifier: TextClassifier
    model_dir: Path
    report: EvaluationReport | None
    sparsity: SparsityReport | None
    pruned: PrunedClassifier | None
    stage_dir: Path


def resolve_source(run: RunDirectory, model: str | os.PathLike | None = None) -> tuple[Path, str | None]:
    """The model to prune and its parent stage: ``model`` if given, else the run's tune or fine-tune model.

    Examples:
        >>> resolve_source(RunDirectory("saved_models/run"))   # doctest: +SKIP
        (PosixPath('saved_models/run/01_finetune/model'), 'finetune')
    """
    return run.latest_model(("tune", "finetune"), model, "prune")


def prune_stage(
    train: TextDataset,
    validation: TextDataset | None,
    config: PruningConfig,
    run: RunDirectory,
    model: str | os.PathLike | None = None,
    measure_tflite: bool = True,
    resume: bool = False,
    overwrite: bool = False,
    verbose: Any = "auto",
) -> PruneResult:
    """Prunes, strips, saves, reloads and evaluates; records sparsity and size figures.

    The zeros are measured on the reloaded model, so the figures are what a later
    stage (quantization, export) gets. A finished stage is an error unless
    ``resume`` (reuse it) or ``overwrite`` (redo it); an interrupted one continues
    from its per-epoch backup with ``resume``.
    """
    stage_dir = run.stage(STAGE)
    model_dir, report_dir = stage_dir / "model", stage_dir / "report"
    if run.begin(STAGE, resume, overwrite):
        return PruneResult(TextClassifier.load(model_dir), model_dir, _read_report(report_dir / "report.json"),
                           None, None, stage_dir)
    source, parent = resolve_source(run, model)
    dense = TextClassifier.load(source)
    dense_metrics = _headline(dense.evaluate_report(validation)) if validation is not None else {}
    pruned = prune(dense, train, validation, config, output_dir=stage_dir, resume=resume, verbose=verbose)
    stripped = pruned.strip()
    report = stripped.evaluate_report(validation, output_dir=report_dir) if validation is not None else None
    metrics = _headline(report)
    metrics.update({f"dense_{k}": v for k, v in dense_metrics.items()})
    if "accuracy" in metrics and "dense_accuracy" in metrics:
        metrics["accuracy_drop_points"] = (metrics["dense_accuracy"] - metrics["accuracy"]) * 100.0
    stripped.save_pretrained(model_dir, overwrite=True, metrics=metrics)
    reloaded = TextClassifier.load(model_dir)  # sparsity and sizes are measured on what later stages get
    sparsity = pruned.sparsity_report(stripped=reloaded)
    sparsity = measure_sizes(dense, reloaded, sparsity, pruned.kernel_keys(), saved=(source, model_dir),
                             tflite=measure_tflite)
    sparsity.save(report_dir)
    if report is not None:  # TensorBoard beside the sparsity scalars of logs/pruning
        log_evaluation(stage_dir / "logs" / "evaluation", report_dir)
    log_files(stage_dir / "logs" / "sparsity", "sparsity", report_dir / "sparsity.md")
    log_model_card(stage_dir / "logs" / "model_card", model_dir)
    metrics.update({
        "overall_sparsity": sparsity.overall_sparsity,
        "max_sparsity_error_points": sparsity.max_error_points,
        **{f"gzip_ratio_{name}": size.gzip_ratio for name, size in sparsity.sizes.items()},
        "train_examples": len(train),
        "train_seconds": pruned.classifier.fit_record.get("seconds"),
    })
    run.write_stage(
        STAGE,
        config={**config.to_dict(), "model": str(source), "measure_tflite": measure_tflite},
        metrics=metrics,
        outputs={"model": str(model_dir), "report": str(report_dir), "logs": str(stage_dir / "logs")},
        parent=parent,
    )
    return PruneResult(reloaded, model_dir, report, sparsity, pruned, stage_dir)

