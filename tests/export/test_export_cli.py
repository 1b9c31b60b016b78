"""`tfkit export` and `tfkit bench` on a tiny saved model."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import tfkit
from tfkit.cli.main import main
from tfkit.export.mediapipe_runtime import mediapipe_python

from tests.conftest import require, toy_texts


@pytest.fixture
def saved(tiny_checkpoint, tmp_path):
    texts, labels = toy_texts(32)
    data = tfkit.data.from_lists(texts, labels)
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=data.labels, max_length=16)
    model = clf.save_pretrained(tmp_path / "model")
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "data.csv", index=False)
    return model, tmp_path / "data.csv"


def test_export_then_bench(saved, tmp_path, capsys):
    model, data = saved
    out = tmp_path / "export"
    assert main(["export", str(model), "--output", str(out), "--quantization", "float32", "dynamic_int8",
                 "--validation", str(data), "--validation-samples", "12"]) == 0
    assert "| float32 | tflite |" in capsys.readouterr().out
    record = json.loads((out / "export.json").read_text())
    assert [v["name"] for v in record["variants"]] == [
        "saved_model", "float32", "float32_text", "float32_mediapipe",
        "dynamic_int8", "dynamic_int8_text", "dynamic_int8_mediapipe"]  # the app files come by default
    assert main(["bench", str(out), "--model", str(model), "--data", str(data), "--limit", "12"]) == 0
    assert "keras_fp32" in capsys.readouterr().out
    assert (out / "bench.md").is_file() and (out / "bench.png").is_file()
    rows = {row["variant"]: row for row in json.loads((out / "bench.json").read_text())["rows"]}
    assert rows["float32_text"]["agreement"] == 1.0  # raw text in, tokenised inside, same labels as Keras
    assert rows["float32_text"]["latency_ms_p50"] > 0 and rows["float32_text"]["batch32_examples_per_second"] > 0
    assert rows["float32_mediapipe"]["agreement"] == 1.0
    require(mediapipe_python() is not None, "no MediaPipe side environment (scripts/test.sh builds it; or "
            "tfkit.export.mediapipe_runtime.mediapipe_python(create=True)): bench's MediaPipe Tasks rows not checked")
    tasks = rows["float32_mediapipe_tasks"]  # MediaPipe's own tokenizer and runtime on the file
    assert tasks["agreement"] == 1.0 and tasks["latency_ms_p50"] > 0
    assert tasks["max_abs_logit_diff"] < 1e-3  # log-scores: the toy texts are ASCII, tokenised alike


def test_export_refuses_an_existing_folder(saved, tmp_path, capsys):
    model, data = saved
    (tmp_path / "export").mkdir()
    assert main(["export", str(model), "--output", str(tmp_path / "export"), "--validation", str(data)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_export_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = capsys.readouterr().out
    for flag in ("--quantization", "--representative-data", "--validation", "--accuracy-budget", "--force",
                 "--no-raw-strings", "--threads", "--overwrite"):
        assert flag in text
