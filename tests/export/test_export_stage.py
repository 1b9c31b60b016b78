"""The export stage of a run folder: latest model in, verified files and stage.json out, resumable."""

from __future__ import annotations

import json

import pytest

import tfkit
from tfkit.errors import CheckpointError, OutputExistsError
from tfkit.export import ExportConfig
from tfkit.pipeline.export import export_stage
from tfkit.pipeline.run import RunDirectory

from tests.conftest import toy_texts


def test_export_stage_writes_and_resumes(tiny_checkpoint, tmp_path):
    texts, labels = toy_texts(24)
    data = tfkit.data.from_lists(texts, labels)
    model = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=data.labels, max_length=16)
    model_dir = model.save_pretrained(tmp_path / "model")
    run = RunDirectory(tmp_path / "run")
    with pytest.raises(CheckpointError, match="no finished"):
        export_stage(data, data, ExportConfig(), run, log=lambda _: None)
    config = ExportConfig(quantization=("dynamic_int8",), raw_strings=False, raw_text=False, mediapipe=False)
    result = export_stage(data, data, config, run, model=model_dir, log=lambda _: None)
    stage = json.loads((result.path / "stage.json").read_text())
    assert stage["status"] == "complete" and stage["config"]["model"] == str(model_dir)
    assert stage["metrics"]["dynamic_int8"]["status"] == "accepted"
    assert (result.path / "tflite" / "model_dynamic_int8.tflite").is_file()
    with pytest.raises(OutputExistsError):
        export_stage(data, data, config, run, model=model_dir, log=lambda _: None)
    again = export_stage(data, data, config, run, model=model_dir, resume=True, log=lambda _: None)
    assert again.record == result.record
