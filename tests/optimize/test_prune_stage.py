"""The prune stage and ``tfkit prune``, end to end on a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfkit
from tfkit.cli.main import main
from tfkit.errors import CheckpointError
from tfkit.pipeline import RunDirectory
from tfkit.pipeline.prune import resolve_source

from tests.conftest import toy_texts


@pytest.fixture
def finetuned_run(tmp_path, tiny_classifier):
    """A run folder whose fine-tune stage is complete (a tiny saved model) and a CSV of its labels."""
    run = RunDirectory(tmp_path / "run")
    model_dir = tiny_classifier.save_pretrained(run.stage("finetune") / "model")
    run.write_stage("finetune", config={}, metrics={}, outputs={"model": str(model_dir)}, parent=None)
    texts, labels = toy_texts(48)
    csv = tmp_path / "train.csv"
    csv.write_text("text,label\n" + "".join(f"{t},{l}\n" for t, l in zip(texts, labels)))
    return run, model_dir, csv


def test_resolve_source(finetuned_run, tmp_path):
    run, model_dir, _ = finetuned_run
    assert resolve_source(run) == (model_dir, "finetune")
    assert resolve_source(run, "elsewhere")[1] is None
    with pytest.raises(CheckpointError, match="no finished fine-tune or tune stage"):
        resolve_source(RunDirectory(tmp_path / "empty"))


def test_prune_command(finetuned_run, capsys):
    run, model_dir, csv = finetuned_run
    code = main(["prune", str(csv), "--output", str(run.path), "--sparsity", "0.6", "--frequency", "1",
                 "--epochs", "1", "--batch-size", "8", "--learning-rate", "1e-3", "--no-tflite"])
    assert code == 0
    out = capsys.readouterr().out
    stage_dir = run.stage("prune")
    assert stage_dir.name == "03_prune" and str(stage_dir / "model") in out and "Overall sparsity" in out
    stage = json.loads((stage_dir / "stage.json").read_text())
    assert stage["status"] == "complete" and stage["parent"] == "finetune"
    assert stage["config"]["target_sparsity"] == 0.6 and stage["config"]["model"] == str(model_dir)
    metrics = stage["metrics"]
    assert metrics["overall_sparsity"] == pytest.approx(0.6, abs=0.01) and metrics["max_sparsity_error_points"] <= 1
    assert {"accuracy", "dense_accuracy", "accuracy_drop_points", "gzip_ratio_pruned_kernels"} <= metrics.keys()
    sparsity = json.loads((stage_dir / "report" / "sparsity.json").read_text())
    assert len(sparsity["layers"]) == 12
    assert (stage_dir / "report" / "report.json").is_file() and (stage_dir / "report" / "sparsity.md").is_file()
    assert list((stage_dir / "logs" / "pruning").glob("events.*"))
    pruned = tfkit.TextClassifier.load(stage_dir / "model")  # a normal tfkit model directory
    kernel = pruned.backbone.bert.encoder.layer[0].intermediate.dense.kernel.numpy()
    assert np.mean(kernel == 0) == pytest.approx(0.6, abs=0.01)

    # a finished stage is not silently redone; bad input is a clear error
    assert main(["prune", str(csv), "--output", str(run.path), "--no-tflite"]) == 2
    assert "already complete" in capsys.readouterr().err
    assert main(["prune", str(csv), "--output", str(run.path), "--sparsity", "1.0", "--overwrite"]) == 2
    assert "target_sparsity" in capsys.readouterr().err
    assert main(["prune", str(csv), "--output", str(run.path), "--sparsity", "half", "--overwrite"]) == 2
    assert "--sparsity" in capsys.readouterr().err
