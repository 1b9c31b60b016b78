"""``tfkit train --lora-rank`` and ``tfkit distill`` on a tiny model: what they write and what it loads as."""

from __future__ import annotations

import json

import numpy as np

import tfkit
from tfkit.cli.main import main
from tfkit.models.lora import DEFAULT_LEARNING_RATE, load_lora

from tests.conftest import toy_texts


def _csv(tmp_path):
    texts, labels = toy_texts(48)
    path = tmp_path / "train.csv"
    path.write_text("review,sentiment\n" + "".join(f"{t},{l}\n" for t, l in zip(texts, labels)))
    return path, texts


def test_train_with_lora_saves_the_merged_model_and_its_adapter(tmp_path, tiny_checkpoint, capsys):
    data, texts = _csv(tmp_path)
    run = tmp_path / "run"
    assert main(["train", str(data), "--text-column", "review", "--label-column", "sentiment", "--checkpoint",
                 str(tiny_checkpoint), "--output", str(run), "--epochs", "2", "--max-length", "16",
                 "--batch-size", "8", "--lora-rank", "4", "--lora-targets", "query,key,value",
                 "--lora-b-lr-ratio", "4"]) == 0
    out = capsys.readouterr().out
    model = run / "01_finetune" / "model"
    assert f"adapter:     {model / 'adapter'}" in out
    stage = json.loads((run / "01_finetune" / "stage.json").read_text())
    assert stage["config"]["lora_rank"] == 4 and stage["config"]["learning_rate"] == DEFAULT_LEARNING_RATE
    assert stage["config"]["lora_b_lr_ratio"] == 4.0
    assert json.loads((model / "adapter" / "adapter_config.json").read_text())["lora"]["b_lr_ratio"] == 4.0
    assert 0 < stage["metrics"]["trainable_fraction"] < 0.5 and stage["outputs"]["adapter"] == str(model / "adapter")
    merged = tfkit.TextClassifier.load(model)
    unmerged = load_lora(tiny_checkpoint, model / "adapter")
    assert len(unmerged.lora_layers()) == 3 * merged.hf_config.num_hidden_layers
    np.testing.assert_allclose(unmerged.predict_logits(texts), merged.predict_logits(texts), atol=1e-5)


def test_distill_writes_a_smaller_student(tmp_path, tiny_checkpoint, capsys):
    data, texts = _csv(tmp_path)
    run = tmp_path / "run"
    assert main(["train", str(data), "--text-column", "review", "--label-column", "sentiment", "--checkpoint",
                 str(tiny_checkpoint), "--output", str(run), "--epochs", "1", "--max-length", "16",
                 "--batch-size", "8"]) == 0
    teacher = run / "01_finetune" / "model"
    out = tmp_path / "student"
    assert main(["distill", str(teacher), str(data), "--text-column", "review", "--label-column", "sentiment",
                 "--output", str(out), "--layers", "1", "--epochs", "1", "--batch-size", "8"]) == 0
    printed = capsys.readouterr().out
    assert f"student:     {out / 'model'} (1 layers, teacher 2)" in printed
    student = tfkit.TextClassifier.load(out / "model")
    assert student.hf_config.num_hidden_layers == 1 and student.fit_record["distillation"]["temperature"] == 2.0
    assert list((out / "logs").rglob("events.out.tfevents.*"))
    other = tmp_path / "from-checkpoint"  # a Hugging Face checkpoint as the student: a fresh head on it
    assert main(["distill", str(teacher), str(data), "--text-column", "review", "--label-column", "sentiment",
                 "--output", str(other), "--student", str(tiny_checkpoint), "--epochs", "1", "--batch-size", "8"]) == 0
    assert "(2 layers, teacher 2)" in capsys.readouterr().out
    assert main(["distill", str(teacher), str(data), "--output", str(out), "--layers", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["distill", str(teacher), str(data), "--text-column", "review", "--label-column", "sentiment",
                 "--output", str(tmp_path / "s2"), "--layers", "x"]) == 2
    assert "--layers" in capsys.readouterr().err
