"""The Functional twin reproduces each supported family's Hugging Face logits and round-trips its weights."""

from __future__ import annotations

import numpy as np
import pytest

from tfkit._keras import keras
from tfkit.errors import UnsupportedModelError
from tfkit.models import ClassifierConfig, TextClassifier
from tfkit.models import twin as twin_module
from tfkit.models import twin_layers
from tfkit.testing.tiny import tiny_hf_config, tiny_tokenizer

FAMILIES = ("bert", "distilbert", "roberta", "electra")


def _classifier(model_type: str) -> TextClassifier:
    clf = TextClassifier.from_hf_config(tiny_hf_config(model_type), tiny_tokenizer(),
                                        ClassifierConfig(labels=("a", "b", "c"), precision="float32"))
    clf.predict_logits(["the film"])  # builds the weights
    return clf


@pytest.mark.parametrize("model_type", FAMILIES)
def test_twin_matches_hf_logits_with_padding(model_type):
    clf = _classifier(model_type)
    twin = twin_module.functional_twin(clf)
    inputs = twin_module.probe_inputs(clf, batch=4, length=10, seed=3)
    assert inputs["attention_mask"].min() == 0  # padded rows are part of the check
    assert twin_module.logit_difference(twin, clf, inputs) < 1e-4
    assert not isinstance(twin, TextClassifier) and twin.__class__.__name__ == "Functional"


@pytest.mark.parametrize("model_type", FAMILIES)
def test_twin_is_plain_keras_layers_named_after_hf_weights(model_type):
    clf = _classifier(model_type)
    twin = twin_module.functional_twin(clf)
    kinds = {type(layer) for layer in twin.layers}
    allowed = {keras.layers.InputLayer, keras.layers.Embedding, keras.layers.Dense, keras.layers.LayerNormalization,
               keras.layers.Activation, keras.layers.Add, keras.layers.Dropout, *twin_layers.CUSTOM_OBJECTS.values()}
    assert kinds <= allowed
    assert set(twin_module.twin_variables(twin)) == set(twin_module.hf_variables(clf))  # every HF weight, by name


def test_roundtrip_hf_twin_hf_is_exact():
    clf = _classifier("bert")
    back = twin_module.write_back(twin_module.functional_twin(clf), clf)
    inputs = twin_module.probe_inputs(clf)
    assert np.max(np.abs(np.asarray(back(inputs)) - np.asarray(clf(inputs)))) < 1e-5
    assert back is not clf


def test_write_back_carries_changed_twin_weights():
    clf = _classifier("bert")
    twin = twin_module.functional_twin(clf)
    query = twin.get_layer("bert.encoder.layer.0.attention.self.query")
    query.kernel.assign(np.random.default_rng(0).normal(0, 1, query.kernel.shape))
    head = twin.get_layer("classifier")
    head.kernel.assign(head.kernel * 3.0)
    back = twin_module.write_back(twin, clf)
    inputs = twin_module.probe_inputs(clf)
    assert twin_module.logit_difference(twin, back, inputs) < 1e-5
    assert twin_module.logit_difference(twin, clf, inputs) > 1e-4  # the change is visible: the test can fail


def test_first_token_last_layer_gives_the_full_layers_logits():
    clf = _classifier("bert")
    short = twin_module.functional_twin(clf, first_token_last_layer=True)
    full = twin_module.functional_twin(clf, first_token_last_layer=False)
    inputs = twin_module.probe_inputs(clf)
    assert np.max(np.abs(np.asarray(short(inputs)) - np.asarray(full(inputs)))) < 1e-5
    names = {layer.name for layer in short.layers}
    assert "bert.encoder.layer.1.first_token" in names and "bert.encoder.layer.0.first_token" not in names
    assert "bert.encoder.layer.1.first_token" not in {layer.name for layer in full.layers}


def test_family_without_a_twin_is_refused():
    with pytest.raises(UnsupportedModelError, match="albert"):
        twin_module.functional_twin(_classifier("albert"))


def test_twin_that_does_not_match_is_refused(monkeypatch):
    clf = _classifier("bert")
    # A twin that reads the last token's hidden state instead of the first one's.
    monkeypatch.setattr(twin_layers.FirstToken, "call", lambda self, inputs: inputs[:, -1:] if self.keepdims
                        else inputs[:, -1])
    with pytest.raises(twin_module.TwinMismatchError, match="within"):
        twin_module.functional_twin(clf)


def test_mean_pooling_reads_the_mean_of_the_unpadded_last_layer_without_the_pooler():
    clf = _classifier("bert")
    twin = twin_module.functional_twin(clf, pooling="mean")
    inputs = twin_module.probe_inputs(clf, batch=4, length=10, seed=3)
    assert inputs["attention_mask"].min() == 0  # padding must not count in the mean
    hidden = np.asarray(clf.backbone.bert(inputs, training=False).last_hidden_state, np.float64)
    mask = inputs["attention_mask"][:, :, None].astype(np.float64)
    mean = (hidden * mask).sum(1) / mask.sum(1)
    head = clf.backbone.classifier
    expected = mean @ head.kernel.numpy() + head.bias.numpy()
    np.testing.assert_allclose(np.asarray(twin(inputs, training=False)), expected, atol=1e-4)
    names = {layer.name for layer in twin.layers}
    assert "bert.pooler.dense" not in names and "bert.encoder.layer.1.first_token" not in names


def test_mean_pooling_is_refused_for_heads_with_their_own_hidden_layer():
    from tfkit.errors import ConfigError

    with pytest.raises(ConfigError, match="BERT-layout model .* pooling='mean'.*distilbert"):
        twin_module.functional_twin(_classifier("distilbert"), pooling="mean")
    with pytest.raises(ConfigError, match="pooling in"):
        twin_module.functional_twin(_classifier("bert"), pooling="max")
