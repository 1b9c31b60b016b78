"""Loading checkpoints of every BERT family, both weight formats, and the errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfkit
from tfkit.errors import CheckpointError, UnsupportedModelError
from tfkit.testing import FAMILY_NAMES, write_tiny_checkpoint


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_every_family_loads_and_trains(tmp_path, family, toy_data):
    path = write_tiny_checkpoint(tmp_path / family, family)
    clf = tfkit.TextClassifier.from_pretrained(path, labels=toy_data.labels, max_length=16)
    assert clf.backbone.config.model_type == family
    clf.compile(learning_rate=1e-3)
    before = [w.numpy().copy() for w in clf.trainable_weights]
    history = clf.fit(toy_data, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    changed = sum(not np.allclose(a, w.numpy()) for a, w in zip(before, clf.trainable_weights))
    assert changed > len(before) // 2, "training updates the encoder weights"


def test_safetensors_checkpoint_matches_h5(tmp_path, toy_data):
    h5 = write_tiny_checkpoint(tmp_path / "h5", "bert", weights="h5")
    st = tmp_path / "st"
    write_tiny_checkpoint(st, "bert", weights="safetensors")
    # Copy the h5 model's encoder weights into PyTorch-style safetensors and load both ways.
    from tfkit.testing.tiny import _save_pytorch_style_safetensors
    from transformers import TFAutoModel

    base = TFAutoModel.from_pretrained(str(h5))
    _save_pytorch_style_safetensors(base, st / "model.safetensors")
    a = tfkit.TextClassifier.from_pretrained(h5, labels=toy_data.labels, max_length=16)
    b = tfkit.TextClassifier.from_pretrained(st, labels=toy_data.labels, max_length=16)
    enc_a = {w.name.split("/", 1)[1]: w.numpy() for w in a.backbone.bert.weights}
    enc_b = {w.name.split("/", 1)[1]: w.numpy() for w in b.backbone.bert.weights}
    assert enc_a.keys() == enc_b.keys()
    for name in enc_a:
        np.testing.assert_array_equal(enc_a[name], enc_b[name], err_msg=name)


def test_default_minilm_checkpoint_loads_its_safetensors(default_checkpoint):
    path = default_checkpoint
    from safetensors.numpy import load_file

    clf = tfkit.TextClassifier.from_pretrained(path, labels=("a", "b"))
    state = load_file(str(path / "model.safetensors"))
    emb = clf.backbone.bert.embeddings.weight.numpy()
    np.testing.assert_array_equal(emb, state["embeddings.word_embeddings.weight"])
    q = clf.backbone.bert.encoder.layer[5].attention.self_attention.query.kernel.numpy()
    np.testing.assert_array_equal(q, state["encoder.layer.5.attention.self.query.weight"].T)
    assert clf.backbone.config.num_hidden_layers == 6 and clf.backbone.config.hidden_size == 384


def test_checkpoint_errors(tmp_path, tiny_checkpoint):
    with pytest.raises(CheckpointError, match="not found"):
        tfkit.TextClassifier.from_pretrained(tmp_path / "absent", labels=("a", "b"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="config.json is missing"):
        tfkit.TextClassifier.from_pretrained(tmp_path / "empty", labels=("a", "b"))
    gpt = tmp_path / "gpt"
    gpt.mkdir()
    (gpt / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(UnsupportedModelError, match=r"BERT-family.*model_type='gpt2'"):
        tfkit.TextClassifier.from_pretrained(gpt, labels=("a", "b"))
    no_weights = tmp_path / "noweights"
    no_weights.mkdir()
    for name in ("config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
        if (tiny_checkpoint / name).exists():
            (no_weights / name).write_bytes((tiny_checkpoint / name).read_bytes())
    with pytest.raises(CheckpointError, match="No weights found"):
        tfkit.TextClassifier.from_pretrained(no_weights, labels=("a", "b"))


def test_max_length_beyond_positions_is_rejected(tiny_checkpoint):
    with pytest.raises(tfkit.errors.ConfigError, match="max_position_embeddings"):
        tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=("a", "b"), max_length=4096)
