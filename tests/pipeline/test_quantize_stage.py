"""`tfkit export RUN --qat`: a 04_quantize stage (QAT with TensorBoard logs), then the integer-only export."""

from __future__ import annotations

import json

import pandas as pd

import tfkit
from tfkit.cli.main import main
from tfkit.optimize.qat import QuantizedClassifier
from tfkit.pipeline import FinetuneConfig, RunDirectory, finetune
from tfkit.pipeline.pipeline import PipelineConfig

from tests.conftest import toy_texts


def test_export_qat_of_a_run_folder_writes_quantize_and_export_stages(tiny_checkpoint, tmp_path, capsys):
    texts, labels = toy_texts(48, seed=2)
    train, validation = tfkit.data.from_lists(texts, labels).split(0.25, seed=0)
    run = RunDirectory(tmp_path / "run")
    finetune(train, validation, FinetuneConfig(checkpoint=str(tiny_checkpoint), epochs=3, max_length=16, batch_size=8,
                                               learning_rate=3e-3, precision="float32"), run, verbose=0)
    run.release()
    for name, data in (("train", train), ("validation", validation)):
        pd.DataFrame({"text": list(data.texts), "label": [data.labels[t] for t in data.targets]}).to_csv(
            tmp_path / f"{name}.csv", index=False)
    assert main(["export", str(run.path), "--qat", "--qat-learning-rate", "1e-4", "--train",
                 str(tmp_path / "train.csv"), "--validation", str(tmp_path / "validation.csv"),
                 "--no-raw-text", "--no-mediapipe"]) == 0  # the qat_int8 app files: tests/optimize/test_qat.py
    quantize = json.loads((run.path / "04_quantize" / "stage.json").read_text())
    assert quantize["parent"] == "finetune" and quantize["config"]["learning_rate"] == 1e-4
    assert list((run.path / "04_quantize" / "logs").rglob("events.out.tfevents.*"))
    assert isinstance(tfkit.TextClassifier.load(run.path / "04_quantize" / "model"), QuantizedClassifier)
    export = json.loads((run.path / "05_export" / "stage.json").read_text())
    assert export["parent"] == "quantize" and set(export["metrics"]) == {"saved_model", "qat_int8"}
    manifest = json.loads((run.path / "05_export" / "tflite" / "model_qat_int8.json").read_text())
    assert manifest["integer_only"]["integer_only"] is True
    assert "qat_int8" in capsys.readouterr().out


def test_run_config_quantize_section_round_trips():
    config = PipelineConfig.from_dict({"quantize": {"epochs": 2, "learning_rate": 2e-5}})
    assert config.quantize.epochs == 2 and PipelineConfig.from_dict(config.to_dict()) == config
