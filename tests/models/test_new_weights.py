"""Bug: a checkpoint without a pooler silently got a random pooler. Only the head may be new, and the load
says which weights were."""

from __future__ import annotations

import pytest
from safetensors.numpy import load_file, save_file

import tfkit
from tfkit.errors import CheckpointError
from tfkit.testing import tiny_hf_config, tiny_tokenizer, write_tiny_checkpoint


def _without_pooler_safetensors(path):
    folder = write_tiny_checkpoint(path, "bert", weights="safetensors")
    state = {k: v for k, v in load_file(str(folder / "model.safetensors")).items() if not k.startswith("pooler.")}
    save_file(state, str(folder / "model.safetensors"))
    return folder


def _without_pooler_h5(path):
    from transformers import TFBertModel

    path.mkdir(parents=True)
    model = TFBertModel(tiny_hf_config("bert"), add_pooling_layer=False)
    model.build_in_name_scope()
    model.save_pretrained(str(path), safe_serialization=False)
    tiny_tokenizer().save_pretrained(str(path))
    return path


@pytest.mark.parametrize("make", [_without_pooler_safetensors, _without_pooler_h5], ids=["safetensors", "h5"])
def test_a_checkpoint_without_pooler_is_refused_unless_asked(make, tmp_path):
    folder = make(tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match=r"pooler.*allow_new_weights=True"):
        tfkit.TextClassifier.from_pretrained(folder, labels=("neg", "pos"))
    clf = tfkit.TextClassifier.from_pretrained(folder, labels=("neg", "pos"), allow_new_weights=True)
    assert any("pooler" in name for name in clf.new_weights)
    assert any("classifier" in name for name in clf.new_weights)


@pytest.mark.parametrize("weights", ["h5", "safetensors"])
def test_a_complete_checkpoint_says_only_the_head_was_new(weights, tmp_path, caplog):
    folder = write_tiny_checkpoint(tmp_path / "ckpt", "bert", weights=weights)
    with caplog.at_level("INFO", logger="tfkit"):
        clf = tfkit.TextClassifier.from_pretrained(folder, labels=("neg", "pos"))
    assert clf.new_weights and all("classifier" in name for name in clf.new_weights), clf.new_weights
    assert "Newly initialised weights" in caplog.text and "classifier" in caplog.text
