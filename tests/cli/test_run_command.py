"""`tfkit run` on a user CSV produces the same stage folders and files as the separate commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import toy_texts
from tfkit.cli.main import main

pytestmark = pytest.mark.slow

_VOLATILE = re.compile(r"events\.out\.tfevents\..*|\.lock")


def _listing(run: Path) -> list[str]:
    """Relative paths of the stage folders' files, event-file names normalised (they carry time and host)."""
    files = set()
    for path in run.rglob("*"):
        relative = path.relative_to(run)
        if path.is_file() and relative.parts[0].startswith("0"):
            files.add(str(relative.parent / _VOLATILE.sub("<volatile>", path.name)))
    return sorted(files)


def test_run_equals_train_prune_export(tiny_checkpoint, tmp_path):
    texts, labels = toy_texts(96)
    data = tmp_path / "reviews.csv"
    pd.DataFrame({"review": texts, "sentiment": labels}).to_csv(data, index=False)
    common = ["--text-column", "review", "--label-column", "sentiment", "--seed", "0"]
    train = ["--checkpoint", str(tiny_checkpoint), "--epochs", "1", "--max-length", "16"]
    together = tmp_path / "together"
    no_app_files = ["--no-raw-text", "--no-mediapipe"]  # their own tests: tests/export/test_raw_text.py and others
    assert main(["run", str(data), *common, *train, "--prune", "0.5", "--quantization", "float32", "dynamic_int8",
                 *no_app_files, "--output", str(together)]) == 0

    apart = tmp_path / "apart"
    assert main(["train", str(data), *common, *train, "--output", str(apart)]) == 0
    assert main(["prune", str(data), *common, "--sparsity", "0.5", "--output", str(apart)]) == 0
    assert main(["export", str(apart), "--validation", str(data), "--text-column", "review", "--label-column",
                 "sentiment", "--quantization", "float32", "dynamic_int8", *no_app_files]) == 0  # a run folder

    assert _listing(together) == _listing(apart)
    assert {"01_finetune", "03_prune", "05_export"} <= {p.name for p in together.iterdir()}
    summary = json.loads((together / "summary.json").read_text())
    assert summary["stages"] == ["finetune", "prune", "export"]
    assert set(summary["export"]) == {"saved_model", "float32", "dynamic_int8"}
    for stage in ("01_finetune", "03_prune", "05_export"):
        assert json.loads((together / stage / "stage.json").read_text())["status"] == "complete"
    # resumable: a second run with --resume reuses every finished stage
    assert main(["run", str(data), *common, *train, "--prune", "0.5", "--quantization", "float32", "dynamic_int8",
                 *no_app_files, "--output", str(together), "--resume"]) == 0


def test_run_config_file(tmp_path):
    from tfkit.pipeline.pipeline import PipelineConfig

    config_file = tmp_path / "run.yaml"
    config_file.write_text("finetune: {epochs: 2, max_length: 32}\nprune: {target_sparsity: 0.8}\n"
                           "export: {quantization: [float32]}\n")
    config = PipelineConfig.read(config_file)
    assert config.finetune.epochs == 2 and config.prune.target_sparsity == 0.8 and config.tune is None
    assert [q.value for q in config.export.quantization] == ["float32"]
    (tmp_path / "bad.yaml").write_text("finetune: {epoch: 2}\n")
    from tfkit.errors import ConfigError

    with pytest.raises(ConfigError, match="epoch"):
        PipelineConfig.read(tmp_path / "bad.yaml")
