"""A run folder with one subfolder per stage, each described by ``stage.json``.

Layout: ``saved_models/<run>/01_finetune/{stage.json, model/, report/, logs/}``;
later stages (tune, prune, quantize, export) add ``02_...`` folders that name
their parent stage. ``tensorboard --logdir saved_models/<run>`` shows all logs.

Examples:
    >>> import tempfile
    >>> run = RunDirectory(tempfile.mkdtemp())
    >>> run.stage("finetune").name
    '01_finetune'
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from tfkit._io import atomic_write_json

STAGES = ("finetune", "tune", "prune", "quantize", "export")


@dataclasses.dataclass(frozen=True)
class RunDirectory:
    """The folder of one pipeline run."""

    path: Path

    def __init__(self, path: str | os.PathLike):
        object.__setattr__(self, "path", Path(path))

    def stage(self, name: str) -> Path:
        """The folder of stage ``name`` (e.g. ``01_finetune``)."""
        return self.path / f"{STAGES.index(name) + 1:02d}_{name}"

    def finished(self, name: str) -> dict[str, Any] | None:
        """The stage's ``stage.json`` if the stage completed, else None."""
        record = self.stage(name) / "stage.json"
        if not record.is_file():
            return None
        data = json.loads(record.read_text(encoding="utf-8"))
        return data if data.get("status") == "complete" else None

    def write_stage(self, name: str, config: dict[str, Any], metrics: dict[str, Any],
                    outputs: dict[str, str], parent: str | None) -> Path:
        """Marks stage ``name`` complete, recording its config, metrics, outputs and parent."""
        record = {
            "stage": name,
            "status": "complete",
            "parent": parent,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": config,
            "metrics": metrics,
            "outputs": outputs,
        }
        return atomic_write_json(self.stage(name) / "stage.json", record)
