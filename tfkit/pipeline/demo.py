"""The main job on the embedded default: BBC News + all-MiniLM-L6-v2.

Loads BBC News, holds out a stratified 20 % test split, fine-tunes the default
checkpoint (with 10 % of the rest as validation), evaluates on the test split,
saves the model, exports it (SavedModel and float32 / dynamic-range int8 /
full-integer int8 TFLite) and writes ``summary.json`` at the top of the run folder.

Choose on validation, report on test: the export checks every file and picks the
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
import time
from pathlib import Path
from typing import Any

from tfkit._io import atomic_write_json
from tfkit.data.builtin import bbc_news
from tfkit.export.bench import bench
from tfkit.export.config import ExportConfig
from tfkit.models.config import _JsonConfig
from tfkit.pipeline.export import export_stage
from tfkit.pipeline.finetune import FinetuneConfig, finetune
from tfkit.pipeline.run import RunDirectory
from tfkit.reporting.html import write_run_report
from tfkit.reporting.tensorboard import log_files


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
    """Runs the demo and returns (and writes) its summary."""
    start = time.perf_counter()
    data = bbc_news()
    rest, test = data.split(config.test_fraction, seed=config.seed)
    train, validation = rest.split(config.validation_fraction, seed=config.seed)
    run = RunDirectory(config.output)
    result = finetune(train, validation, config.finetune_config(), run, evaluation=test,
                      resume=resume, overwrite=overwrite, verbose=verbose)
    exported = export_stage(train, validation, config.export_config(), run, resume=resume, overwrite=overwrite)
    tested = {row["variant"]: row for row in bench(exported.path, result.model_dir, test,
                                                   output_dir=exported.path / "test_bench").rows}
    log_files(exported.path / "logs" / "bench", "bench", exported.path / "test_bench" / "bench.md",
              exported.path / "test_bench" / "bench.png")  # TensorBoard: the test-split bench
    summary = {
        "dataset": "bbc_news",
        "examples": {"train": len(train), "validation": len(validation), "test": len(test)},
        "labels": list(data.labels),
        "test_accuracy": result.report.metrics["accuracy"],
        "test_macro_f1": result.report.metrics["macro_f1"],
        "export": {v["name"]: {"status": v["status"], "size_mb": round(v["size_bytes"] / 1e6, 1),
                               "validation_accuracy": v["verification"]["score"],
                               "accuracy": tested[v["name"]]["score"] if v["name"] in tested else None,
                               "latency_ms_p50": round(tested[v["name"]]["latency_ms_p50"], 2)
                               if v["name"] in tested else None}
                   for v in exported.record["variants"]},
        "export_chosen_on": "validation", "export_reported_on": "test",
        "seconds": time.perf_counter() - start,
        "config": config.to_dict(),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "outputs": {
            "run": str(Path(config.output)),
            "model": str(result.model_dir),
            "report": str(result.stage_dir / "report" / "report.json"),
            "confusion_matrix": str(result.stage_dir / "report" / "confusion_matrix.png"),
            "tensorboard_logs": str(result.stage_dir / "logs"),
            "run_report": str(Path(config.output) / "report.html"),
            "export": str(exported.path),
        },
    }
    atomic_write_json(Path(config.output) / "summary.json", summary)
    write_run_report(run.path)  # <run>/report.html: curves, confusion matrix, variants, all stages
    return summary
