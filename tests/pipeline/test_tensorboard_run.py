"""One TensorBoard per run: ``tensorboard --logdir <run>`` finds every stage's scalars, HParams, texts and images."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from tfkit._keras import tf
from tfkit.errors import ReportError
from tfkit.reporting.tensorboard import evaluation_markdown, log_image, log_text


def _summaries(run: Path) -> dict[tuple[str, str], set[str]]:
    """(log folder relative to the run, plugin name) -> tags, over every event file of the run."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for events in run.rglob("events.out.tfevents.*"):
        folder = events.parent.relative_to(run).as_posix()
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                found[folder, value.metadata.plugin_data.plugin_name].add(value.tag)
    return found


def _tags(found, folder: str, plugin: str) -> set[str]:
    return found.get((folder, plugin), set())


def test_every_stage_lands_in_one_tensorboard(short_run):
    found = _summaries(short_run.path)
    plugins = {plugin for _, plugin in found}
    assert {"scalars", "hparams", "text", "images"} <= plugins

    # training scalars of the fine-tune stage: loss, metrics, learning rate (Keras' TensorBoard callback)
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= _tags(found, "01_finetune/logs/train", "scalars")
    assert {"epoch_loss", "epoch_accuracy"} <= _tags(found, "01_finetune/logs/validation", "scalars")
    # its evaluation: the confusion matrix as an image, the metrics and per-class table as text; the model card
    assert _tags(found, "01_finetune/logs/evaluation", "images") == {"evaluation/confusion_matrix"}
    assert _tags(found, "01_finetune/logs/evaluation", "text") == {"evaluation/metrics"}
    assert _tags(found, "01_finetune/logs/model_card", "text") == {"model_card"}

    # the tuner: each trial's HParams and scalars, the trials table and plot
    trial_hparams = [folder for folder, plugin in found if plugin == "hparams"]
    assert trial_hparams and all(f.startswith("02_tune/search/trial_") for f in trial_hparams)
    assert _tags(found, "02_tune/logs/tuning", "text") == {"tuning/table"}
    assert _tags(found, "02_tune/logs/tuning", "images") == {"tuning/plot"}

    # pruning: per-layer sparsity scalars, the sparsity table, the pruned model's evaluation
    pruning = _tags(found, "03_prune/logs/pruning", "scalars")
    assert any(tag.endswith("/sparsity") for tag in pruning) and any(t.endswith("/target_sparsity") for t in pruning)
    assert "epoch_loss" in _tags(found, "03_prune/logs/train", "scalars")
    assert _tags(found, "03_prune/logs/sparsity", "text") == {"sparsity/table"}
    assert _tags(found, "03_prune/logs/evaluation", "images") == {"evaluation/confusion_matrix"}

    # export: the variant table and its score-vs-size/latency plot; the bench likewise
    assert _tags(found, "05_export/logs/export", "text") == {"export/table"}
    assert _tags(found, "05_export/logs/export", "images") == {"export/plot"}
    assert _tags(found, "05_export/logs/bench", "text") == {"bench/table"}
    assert _tags(found, "05_export/logs/bench", "images") == {"bench/plot"}


def test_text_is_markdown_and_image_is_the_png(short_run, tmp_path):
    png = short_run.path / "01_finetune" / "report" / "confusion_matrix.png"
    log_image(tmp_path / "img", "cm", png)
    log_text(tmp_path / "img", "note", "| a |\n|---|\n| 1 |")  # a folder written again shows its latest report once
    events = list((tmp_path / "img").glob("events.out.tfevents.*"))
    assert len(events) == 1
    values = [v for e in tf.compat.v1.train.summary_iterator(str(events[0])) for v in e.summary.value]
    assert [(v.tag, v.metadata.plugin_data.plugin_name) for v in values] == [("note", "text")]
    log_image(tmp_path / "img2", "cm", png)
    (image,) = [v for e in tf.compat.v1.train.summary_iterator(str(next((tmp_path / "img2").glob("events.*"))))
                for v in e.summary.value]
    width, height, encoded = tf.make_ndarray(image.tensor)
    assert encoded == png.read_bytes() or encoded.startswith(b"\x89PNG")
    assert int(width) > 100 and int(height) > 100
    assert "| label | precision | recall | f1 | support |" in evaluation_markdown(
        {"num_examples": 1, "accuracy": 1.0, "per_class": [{"label": "a", "precision": 1.0, "recall": 1.0,
                                                            "f1": 1.0, "support": 1}]})
    with pytest.raises(ReportError, match="Expected a PNG"):
        log_image(tmp_path / "bad", "x", short_run.path / "01_finetune" / "report" / "report.json")
    with pytest.raises(ReportError, match="no such file"):
        log_image(tmp_path / "bad", "x", tmp_path / "missing.png")
