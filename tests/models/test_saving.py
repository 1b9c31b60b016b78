"""The saved model directory: contents, identical reloads, atomic writes, overwrite rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfkit
from tfkit.errors import CheckpointError, OutputExistsError


def test_round_trip_gives_identical_predictions(tiny_classifier, toy_data, tmp_path):
    tiny_classifier.compile(learning_rate=1e-3, batch_size=16)
    tiny_classifier.fit(toy_data, epochs=1, verbose=0)
    path = tiny_classifier.save_pretrained(tmp_path / "model", metrics={"accuracy": 0.5})
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "tf_model.h5", "vocab.txt", "tokenizer_config.json", "labels.txt", "tfkit.json",
            "README.md"} <= names
    assert (path / "labels.txt").read_text().split() == list(toy_data.labels)
    manifest = json.loads((path / "tfkit.json").read_text())
    assert manifest["classifier"]["labels"] == list(toy_data.labels)
    assert manifest["training"]["batch_size"] == 16
    assert manifest["metrics"] == {"accuracy": 0.5}
    assert manifest["fit"]["epochs"] == 1

    loaded = tfkit.TextClassifier.load(path)
    assert loaded.config == tiny_classifier.config
    assert loaded.training_config == tiny_classifier.training_config
    np.testing.assert_array_equal(loaded.predict_logits(toy_data), tiny_classifier.predict_logits(toy_data))


def test_backbone_is_plain_transformers_format(tiny_classifier, tmp_path):
    from transformers import TFAutoModelForSequenceClassification

    path = tiny_classifier.save_pretrained(tmp_path / "model")
    hf = TFAutoModelForSequenceClassification.from_pretrained(str(path), use_safetensors=False)
    assert hf.config.id2label == {0: "neg", 1: "pos"}


def test_pytorch_weights_hold_the_same_model_under_pytorch_names(tiny_classifier, toy_data, tmp_path):
    import shutil

    from safetensors import safe_open

    tiny_classifier.compile(learning_rate=1e-3, batch_size=16)
    tiny_classifier.fit(toy_data, epochs=1, verbose=0)  # a trained head, not the checkpoint's fresh one
    path = tiny_classifier.save_pretrained(tmp_path / "model", pytorch_weights=True)
    with safe_open(str(path / "model.safetensors"), "np") as file:
        assert file.metadata() == {"format": "pt"}  # PyTorch transformers refuses other formats without TF
        names = set(file.keys())
        hidden = tiny_classifier.hf_config.hidden_size
        assert file.get_tensor("classifier.weight").shape == (2, hidden)  # Linear's [out, in], not Keras' [in, out]
    assert "bert.embeddings.word_embeddings.weight" in names
    assert "bert.encoder.layer.0.attention.self.query.weight" in names
    assert json.loads((path / "checksums.json").read_text())["files"].get("model.safetensors")
    # The PyTorch-named file alone rebuilds the same model (tfkit reads it with transformers' PyTorch naming).
    alone = tmp_path / "pytorch_only"
    shutil.copytree(path, alone, ignore=shutil.ignore_patterns("tf_model.h5", "checksums.json"))
    again = tfkit.TextClassifier.from_pretrained(alone, labels=toy_data.labels, max_length=16, precision="float32")
    assert again.new_weights == ()
    np.testing.assert_allclose(again.predict_logits(toy_data), tiny_classifier.predict_logits(toy_data), atol=1e-5)
    assert tfkit.TextClassifier.load(path).config == tiny_classifier.config  # the tfkit folder still loads


def test_existing_directory_needs_overwrite(tiny_classifier, tmp_path):
    path = tiny_classifier.save_pretrained(tmp_path / "model")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        tiny_classifier.save_pretrained(path)
    tiny_classifier.save_pretrained(path, overwrite=True)
    assert (path / "tfkit.json").is_file()


def test_failed_save_leaves_nothing_behind(tiny_classifier, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tiny_classifier.tokenizer, "save_pretrained", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        tiny_classifier.save_pretrained(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_model(tiny_classifier, tmp_path, monkeypatch):
    path = tiny_classifier.save_pretrained(tmp_path / "model")
    before = (path / "tf_model.h5").read_bytes()
    monkeypatch.setattr(tiny_classifier.tokenizer, "save_pretrained", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        tiny_classifier.save_pretrained(path, overwrite=True)
    assert (path / "tf_model.h5").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_load_errors(tmp_path, tiny_checkpoint):
    with pytest.raises(CheckpointError, match="not a tfkit model directory"):
        tfkit.TextClassifier.load(tiny_checkpoint)


def test_load_with_precision_override(tiny_classifier, toy_data, tmp_path):
    tiny_classifier.compile(learning_rate=3e-3, batch_size=8)
    tiny_classifier.fit(toy_data, epochs=10, verbose=0)  # logits of a trained model, well away from 0
    path = tiny_classifier.save_pretrained(tmp_path / "model")
    loaded = tfkit.TextClassifier.load(path, precision="mixed_bfloat16")
    assert loaded.config.precision.value == "mixed_bfloat16"
    assert loaded.backbone.bert.encoder.layer[0].compute_dtype == "bfloat16"
    texts = list(toy_data.texts[:16])
    ours, reference = loaded.predict_logits(texts), tiny_classifier.predict_logits(texts)
    scale = float(np.abs(reference).max())
    assert scale > 1.0, "trained logits"
    assert not np.array_equal(ours, reference), "computed in bfloat16, not float32"
    np.testing.assert_allclose(ours, reference, atol=0.05 * scale)  # bfloat16 keeps ~3 significant digits
    assert (ours.argmax(1) == reference.argmax(1)).all()
