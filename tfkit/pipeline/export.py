"""The export stage: the run's latest model -> verified SavedModel/TFLite files in ``05_export``.

Reads the run's prune, tune or fine-tune model (the latest that finished) or a
given model directory, and writes ``<run>/05_export`` with :func:`tfkit.export`
(``export.json``, ``report.md``, ``saved_model/``, ``tflite/``) plus ``stage.json``.

Examples:
    >>> from tfkit.export import ExportConfig
    >>> from tfkit.pipeline import RunDirectory
    >>> from tfkit.pipeline.export import export_stage
    >>> result = export_stage(train, val, ExportConfig(quantization=("dynamic_int8",)),
    ...                       RunDirectory("saved_models/run"))              # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Callable

from tfkit.data.dataset import TextDataset
from tfkit.export.bench import plot_tradeoffs
from tfkit.export.config import ExportConfig
from tfkit.export.exporter import export
from tfkit.pipeline.run import RunDirectory
from tfkit.reporting.tensorboard import log_files

STAGE = "export"


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """The export folder and its record (``export.json``)."""

    path: Path
    record: dict[str, Any]

    def variant(self, name: str) -> dict[str, Any]:
        return next(v for v in self.record["variants"] if v["name"] == name)


def latest_model(run: RunDirectory, model: str | os.PathLike | None = None) -> tuple[Path, str | None]:
    """``model`` if given, else the model of the run's latest finished quantize, prune, tune or fine-tune stage."""
    return run.latest_model(("quantize", "prune", "tune", "finetune"), model, "export")


def export_stage(
    representative: TextDataset | None,
    validation: TextDataset,
    config: ExportConfig,
    run: RunDirectory,
    model: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
) -> ExportResult:
    """Exports and verifies the run's latest model; a finished stage is reused with ``resume``."""
    stage_dir = run.stage(STAGE)
    if run.begin(STAGE, resume, overwrite, clear=False):  # export() replaces its folder atomically
        return ExportResult(stage_dir, json.loads((stage_dir / "export.json").read_text(encoding="utf-8")))
    source, parent = latest_model(run, model)
    # An interrupted export left nothing behind (it writes to a temporary folder), so it simply starts again.
    artifacts = export(str(source), stage_dir, train=representative, validation=validation,
                       config=config, overwrite=True, log=log)
    record = artifacts.to_dict()
    plot = plot_tradeoffs([{"variant": v["name"], "size_bytes": v["size_bytes"], **v["verification"]}
                           for v in record["variants"]], stage_dir / "variants.png")
    log_files(stage_dir / "logs" / "export", "export", stage_dir / "report.md", plot)  # TensorBoard
    metrics = {}
    for variant in record["variants"]:
        check = variant["verification"]
        metrics[variant["name"]] = {"status": variant["status"], "size_bytes": variant["size_bytes"],
                                    "score": check["score"], "drop_points": check["drop_points"],
                                    "latency_ms_p50": check["latency_ms_p50"]}
    run.write_stage(STAGE, config={**config.to_dict(), "model": str(source)}, metrics=metrics,
                    outputs={"export": str(stage_dir), "report": str(stage_dir / "report.md"),
                             "plot": str(plot), "logs": str(stage_dir / "logs")}, parent=parent)
    return ExportResult(stage_dir, record)
