"""The main job on the embedded default: BBC News + all-MiniLM-L6-v2.

Loads BBC News, holds out a stratified 20 % test split, fine-tunes the default
checkpoint (with 10 % of the rest as validation), evaluates on the test split,
saves the model, exports it (SavedModel and float32 / dynamic-range int8 /
full-integer int8 TFLite) and writes ``summary.json`` at the top of the run folder.

It is :func:`tfkit.pipeline.pipeline.run_pipeline` (``tfkit run``) on the embedded default, with a
test split held out. Choose on validation, report on test: the export checks every file and picks the
full-int8 step on the validation split; the figures reported for each file then
come from a bench of the kept files on the test split.

Examples:
    >>> from tfkit.pipeline.demo import DemoConfig, run_demo
    >>> summary = run_demo(DemoConfig(output="saved_models/bbc_news"))   # doctest: +SKIP
    >>> summary["test_accuracy"]                                          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path
from typing import Any

from tfkit._io import atomic_write_json
from tfkit.data.builtin import bbc_news
from tfkit.export.config import ExportConfig
from tfkit.models.config import _JsonConfig
from tfkit.pipeline.finetune import FinetuneConfig
from tfkit.pipeline.pipeline import PipelineConfig, run_pipeline
from tfkit.pipeline.run import RunDirectory


@dataclasses.dataclass(frozen=True)
class DemoConfig(_JsonConfig):
    """Settings of the demo run; the fine-tuning defaults are the library's own."""

    output: str = "saved_models/bbc_news"
    test_fraction: float = 0.2
    validation_fraction: float = 0.1
    seed: int = 0
    epochs: int = 3
    max_length: int = 128
    learning_rate: float = 1e-4
    batch_size: int = 16
    precision: str = "auto"
    export_quantization: tuple[str, ...] = ("float32", "dynamic_int8", "full_int8")
    export_samples: int = 200

    def __post_init__(self) -> None:
        object.__setattr__(self, "export_quantization", tuple(self.export_quantization))

    def finetune_config(self) -> FinetuneConfig:
        return FinetuneConfig(epochs=self.epochs, max_length=self.max_length, learning_rate=self.learning_rate,
                              batch_size=self.batch_size, precision=self.precision, seed=self.seed)

    def export_config(self) -> ExportConfig:
        return ExportConfig(quantization=self.export_quantization, validation_samples=self.export_samples,
                            representative_samples=self.export_samples, force=True, seed=self.seed)


def run_demo(config: DemoConfig = DemoConfig(), resume: bool = False, overwrite: bool = False,
             verbose: Any = "auto") -> dict[str, Any]:
    """Runs the demo (:func:`run_pipeline` on BBC News) and returns (and writes) its summary."""
    data = bbc_news()
    rest, test = data.split(config.test_fraction, seed=config.seed)
    train, validation = rest.split(config.validation_fraction, seed=config.seed)
    pipeline = PipelineConfig(finetune=config.finetune_config(), export=config.export_config())
    run = RunDirectory(config.output)
    summary = run_pipeline(train, validation, pipeline, run, test=test, resume=resume, overwrite=overwrite,
                           verbose=verbose)
    metrics = summary["finetune_metrics"]
    summary.update({
        "dataset": "bbc_news",
        "test_accuracy": metrics["accuracy"],
        "test_macro_f1": metrics["macro_f1"],
        "export": {name: {**row, "accuracy": row["test_accuracy"]} for name, row in summary["export"].items()},
        "demo_config": config.to_dict(),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
    })
    stage = Path(summary["outputs"]["finetuned_model"]).parent
    summary["outputs"].update({"report": str(stage / "report" / "report.json"),
                               "confusion_matrix": str(stage / "report" / "confusion_matrix.png"),
                               "tensorboard_logs": str(Path(config.output))})
    atomic_write_json(Path(config.output) / "summary.json", summary)
    return summary
