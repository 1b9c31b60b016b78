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
import shutil
import time
from pathlib import Path
from typing import Any

from tfkit._io import atomic_write_json
from tfkit.errors import CheckpointError, OutputExistsError

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

    def begin(self, name: str, resume: bool, overwrite: bool, clear: bool = True) -> bool:
        """Whether stage ``name`` is finished and should be reused (``resume``); otherwise readies it.

        ``overwrite`` removes what the stage folder holds (unless ``clear=False``, for stages that
        replace their folder atomically themselves); a finished stage with neither flag is an error.
        """
        done = self.finished(name)
        if done and resume and not overwrite:
            return True
        stage_dir = self.stage(name)
        if overwrite:
            if clear and stage_dir.exists():
                shutil.rmtree(stage_dir)
        elif done:
            raise OutputExistsError(f"Stage '{stage_dir}' is already complete. Pass resume=True to reuse it or "
                                    "overwrite=True to redo it.")
        return False

    def latest_model(self, stages: tuple[str, ...], model: str | os.PathLike | None = None,
                     purpose: str = "use") -> tuple[Path, str | None]:
        """``model`` if given, else the model of the first finished stage in ``stages`` and that stage's name."""
        if model:
            return Path(model), None
        for parent in stages:
            done = self.finished(parent)
            if done and done.get("outputs", {}).get("model"):
                return Path(done["outputs"]["model"]), parent
        names = [name.replace("finetune", "fine-tune") for name in reversed(stages)]
        listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        raise CheckpointError(
            f"'{self.path}' has no finished {listed} stage to {purpose}. Received: model=None. "
            f"Run `tfkit train` into this run folder first, or pass the model directory to {purpose}.")

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
