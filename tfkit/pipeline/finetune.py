"""The fine-tune stage: checkpoint + data -> trained, evaluated, saved classifier.

Examples:
    >>> import tfkit
    >>> from tfkit.pipeline import FinetuneConfig, RunDirectory, finetune
    >>> data = tfkit.data.bbc_news()                                  # doctest: +SKIP
    >>> train, test = data.split(0.2, seed=0)                         # doctest: +SKIP
    >>> result = finetune(train, test, FinetuneConfig(epochs=2),
    ...                   RunDirectory("saved_models/bbc"))           # doctest: +SKIP
    >>> result.report.metrics["accuracy"]                             # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from tfkit._keras import keras
from tfkit.data.dataset import TextDataset
from tfkit.data.task import TaskType
from tfkit.errors import ConfigError, OutputExistsError
from tfkit.evaluation.report import EvaluationReport
from tfkit.models.checkpoint import default_checkpoint
from tfkit.models.config import ClassifierConfig, TrainingConfig, _JsonConfig, _enum
from tfkit.models.distribution import StrategyName, barrier, is_chief, resolve_strategy, write_dir
from tfkit.models.text_classifier import TextClassifier
from tfkit.pipeline.run import RunDirectory
from tfkit.reporting.tensorboard import log_evaluation, log_model_card

STAGE = "finetune"
FULL_LEARNING_RATE = TrainingConfig.learning_rate  # peak learning rate of full fine-tuning (benchmarks/defaults.py)
FULL_BATCH_SIZE = 32  # batch size of full fine-tuning


@dataclasses.dataclass(frozen=True)
class FinetuneConfig(_JsonConfig):
    """Everything the fine-tune stage needs; an empty ``checkpoint`` means the default MiniLM.

    Attributes mirror :class:`ClassifierConfig` (model) and
    :class:`TrainingConfig` (optimiser), plus ``epochs``,
    ``early_stopping_patience``, ``class_weight`` (None or ``"balanced"``) and ``strategy``
    (``default``, ``mirrored``, ``multi_worker`` or ``tpu``; see docs/distributed.md). ``batch_size``
    and ``batch_tokens`` are global: under a strategy each batch is split across the replicas.

    ``lora_rank`` > 0 trains LoRA adapters (:mod:`tfkit.models.lora`: ``lora_alpha``, ``lora_dropout``,
    ``lora_targets``, ``lora_b_lr_ratio`` for LoRA+) on the frozen checkpoint instead of every weight; the saved
    model is the merged one,
    with the adapter in ``model/adapter/``. ``learning_rate`` None: 1e-4, or
    :data:`tfkit.models.lora.DEFAULT_LEARNING_RATE` with LoRA; ``batch_size`` None: 32, or
    :data:`~tfkit.models.lora.DEFAULT_BATCH_SIZE` with LoRA; ``dropout`` None with LoRA: the frozen base
    trains without dropout (:data:`~tfkit.models.lora.DEFAULT_BASE_DROPOUT`).
    """

    checkpoint: str = ""
    max_length: int = 128
    epochs: int = 3
    batch_size: int | None = None
    batch_tokens: int | None = None
    learning_rate: float | None = None
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    dropout: float | None = None
    freeze_embeddings: bool = ClassifierConfig.freeze_embeddings
    freeze_layers: int = 0
    precision: str = "auto"
    jit_compile: bool = False
    early_stopping_patience: int | None = None
    class_weight: str | None = None
    seed: int = 0
    strategy: str = "default"
    lora_rank: int = 0
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_targets: tuple[str, ...] = ("query", "value")
    lora_b_lr_ratio: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "strategy", _enum(StrategyName, self.strategy, "strategy").value)
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        if self.lora_rank < 0:
            raise ConfigError(f"Expected lora_rank >= 0 (0: full fine-tuning). Received: lora_rank={self.lora_rank}.")
        if self.lora_rank:
            self.lora_config()  # validates the adapter fields
        if self.epochs < 1:
            raise ConfigError(f"Expected epochs >= 1. Received: epochs={self.epochs}.")
        if self.class_weight not in (None, "balanced"):
            raise ConfigError(f"Expected class_weight None or 'balanced'. Received: class_weight={self.class_weight!r}.")
        self.training_config()  # validates the optimiser fields

    @property
    def resolved_learning_rate(self) -> float:
        """``learning_rate``, or the measured default of full fine-tuning (1e-4) or LoRA."""
        from tfkit.models.lora import DEFAULT_LEARNING_RATE

        if self.learning_rate is not None:
            return self.learning_rate
        return DEFAULT_LEARNING_RATE if self.lora_rank else FULL_LEARNING_RATE

    @property
    def resolved_batch_size(self) -> int:
        """``batch_size``, or the measured default of full fine-tuning (32) or LoRA."""
        from tfkit.models.lora import DEFAULT_BATCH_SIZE

        if self.batch_size is not None:
            return self.batch_size
        return DEFAULT_BATCH_SIZE if self.lora_rank else FULL_BATCH_SIZE

    def lora_config(self) -> Any:
        from tfkit.models.lora import LoraConfig, base_dropout_for

        return LoraConfig(rank=self.lora_rank, alpha=self.lora_alpha, dropout=self.lora_dropout,
                          targets=self.lora_targets, b_lr_ratio=self.lora_b_lr_ratio,
                          base_dropout=base_dropout_for(self.dropout))

    def training_config(self) -> TrainingConfig:
        return TrainingConfig(learning_rate=self.resolved_learning_rate, weight_decay=self.weight_decay,
                              warmup_ratio=self.warmup_ratio, batch_size=self.resolved_batch_size,
                              batch_tokens=self.batch_tokens, seed=self.seed)

    def model_options(self) -> dict[str, Any]:
        names = {f.name for f in dataclasses.fields(ClassifierConfig)} - {"labels", "task", "checkpoint"}
        options = {name: getattr(self, name) for name in names if hasattr(self, name)}
        if self.lora_rank and options.get("precision") == "auto":
            options["precision"] = "float32"  # LoRA's Functional twin computes in float32
        return options


@dataclasses.dataclass(frozen=True)
class FinetuneResult:
    """What the stage produced."""

    classifier: TextClassifier
    model_dir: Path
    report: EvaluationReport | None
    stage_dir: Path


def finetune(
    train: TextDataset,
    validation: TextDataset | None,
    config: FinetuneConfig,
    run: RunDirectory,
    evaluation: TextDataset | None = None,
    resume: bool = False,
    overwrite: bool = False,
    verbose: Any = "auto",
    strategy: Any = None,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
) -> FinetuneResult:
    """Fine-tunes, evaluates (on ``evaluation`` or else ``validation``) and saves a classifier.

    A stage that already completed is an error unless ``resume`` (reuse it) or
    ``overwrite`` (redo it); an interrupted one continues from its per-epoch
    backup with ``resume``. The stage seeds Python, NumPy and TensorFlow with
    ``config.seed`` before it builds the model, so a run is reproducible bit for bit on CPU.

    Under a ``strategy`` (an object, else ``config.strategy`` resolved here; a multi-worker
    strategy must be created at program start, so pass it in) every worker runs this function with
    the same arguments and the same ``run`` folder; the chief alone writes the stage's files, the
    others write to temporary folders that are removed, and only the chief takes the run's lock.
    """
    strategy = resolve_strategy(strategy if strategy is not None else config.strategy)
    chief = is_chief(strategy)
    stage_dir = run.stage(STAGE)
    model_dir, report_dir = stage_dir / "model", stage_dir / "report"
    reuse = run.begin(STAGE, resume, overwrite) if chief else _worker_begin(run, resume, overwrite)
    barrier(strategy)  # workers look at the backup only once the chief has cleared (or kept) the stage
    if reuse:
        report_file = report_dir / "report.json"
        return FinetuneResult(TextClassifier.load(model_dir), model_dir, _read_report(report_file), stage_dir)
    if verbose == "auto":  # a live progress bar on a terminal, one line per epoch in logs
        verbose = 1 if sys.stdout.isatty() else 2
    checkpoint = config.checkpoint or str(default_checkpoint())
    # Same seed, same run: the head's initial weights, dropout and shuffling are drawn from it, so two
    # CPU runs give bit-identical weights (tests/pipeline/test_determinism.py).
    keras.utils.set_random_seed(config.seed)
    classifier = TextClassifier.from_pretrained(checkpoint, labels=train.labels, task=train.task,
                                                strategy=strategy, **config.model_options())
    classifier.training_config = config.training_config()
    if config.lora_rank:
        from tfkit.models.lora import LoraClassifier

        with strategy.scope():
            classifier = LoraClassifier.wrap(classifier, config.lora_config())
        classifier.training_config = config.training_config()  # the run's resolved settings, not wrap's defaults
    classifier.compile()
    classifier.fit(train, validation_data=validation, epochs=config.epochs, output_dir=stage_dir,
                   resume=resume, early_stopping_patience=config.early_stopping_patience,
                   class_weight=config.class_weight, verbose=verbose,
                   callbacks=list(callbacks or []))
    held_out = evaluation if evaluation is not None else validation
    with write_dir(report_dir, strategy) as target:  # every worker predicts (collective ops); the chief writes
        report = classifier.evaluate_report(held_out, output_dir=target) if held_out is not None else None
    metrics = _headline(report)
    with write_dir(model_dir, strategy) as target:
        classifier.save_pretrained(target, overwrite=True, metrics=metrics)
    if not chief:
        return FinetuneResult(classifier, model_dir, report, stage_dir)
    if report is not None:  # TensorBoard beside the training scalars: confusion matrix, per-class table, card
        log_evaluation(stage_dir / "logs" / "evaluation", report_dir)
    log_model_card(stage_dir / "logs" / "model_card", model_dir)
    outputs = {"model": str(model_dir), "report": str(report_dir), "logs": str(stage_dir / "logs")}
    extra_metrics = {}
    if config.lora_rank:
        outputs["adapter"] = str(model_dir / "adapter")
        extra_metrics["trainable_fraction"] = classifier.trainable_fraction
    run.write_stage(
        STAGE,
        config=dataclasses.replace(config, checkpoint=checkpoint, learning_rate=config.resolved_learning_rate).to_dict(),
        metrics={**metrics, "train_examples": len(train), "replicas": strategy.num_replicas_in_sync,
                 "train_examples_per_second": classifier.fit_record.get("examples_per_second"),
                 "train_seconds": classifier.fit_record.get("seconds"), **extra_metrics},
        outputs=outputs,
        parent=None,
    )
    return FinetuneResult(classifier, model_dir, report, stage_dir)


def _worker_begin(run: RunDirectory, resume: bool, overwrite: bool) -> bool:
    """:meth:`RunDirectory.begin` for a non-chief worker: the same decision, without the lock or any change."""
    done = run.finished(STAGE)
    if done and resume and not overwrite:
        return True
    if done and not overwrite:
        raise OutputExistsError(f"Stage '{run.stage(STAGE)}' is already complete. Pass resume=True to reuse it or "
                                "overwrite=True to redo it.")
    return False


def _headline(report: EvaluationReport | None) -> dict[str, float]:
    if report is None:
        return {}
    keys = ("accuracy", "macro_f1", "micro_f1", "subset_accuracy", "pearson", "spearman", "mse")
    return {k: float(report.metrics[k]) for k in keys if k in report.metrics}


def _read_report(path: Path) -> EvaluationReport | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    task, labels, n = TaskType(data.pop("task")), tuple(data.pop("labels")), data.pop("num_examples")
    return EvaluationReport(task=task, labels=labels, metrics=data, num_examples=n)
