"""fit takes raw strings and labels (as keras-hub classifiers do), a DataFrame and a tf.data.Dataset of strings,
and gives the same training as the equivalent TextDataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tfkit
from tfkit._keras import keras, tf
from tfkit.errors import DataError


def _train(tiny_checkpoint, x, y=None, validation=None):
    keras.utils.set_random_seed(0)
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=("neg", "pos"), max_length=16,
                                               precision="float32")
    clf.compile(learning_rate=3e-3, batch_size=8)
    history = clf.fit(x, y, validation_data=validation, epochs=2, verbose=0)
    return clf, history.history


def test_every_raw_input_kind_trains_like_the_dataset(tiny_checkpoint, toy_data):
    texts, labels = list(toy_data.texts), [toy_data.labels[i] for i in toy_data.targets]
    reference, ref_history = _train(tiny_checkpoint, toy_data, validation=toy_data)
    kinds = {
        "lists": (texts, labels, (texts, labels)),
        "class ids": (texts, [int(i) for i in toy_data.targets], None),
        "DataFrame": (pd.DataFrame({"text": texts, "label": labels}), None, pd.DataFrame({"text": texts, "label": labels})),
        "tf.data": (tf.data.Dataset.from_tensor_slices((texts, labels)), None, None),
    }
    for kind, (x, y, validation) in kinds.items():
        clf, history = _train(tiny_checkpoint, x, y, validation)
        assert history["loss"] == pytest.approx(ref_history["loss"], rel=1e-5), kind
        if validation is not None:
            assert history["val_loss"] == pytest.approx(ref_history["val_loss"], rel=1e-5), kind
        for a, b in zip(clf.backbone.weights, reference.backbone.weights):  # model weights, not metric state
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, err_msg=kind)


def test_raw_texts_without_labels_are_a_clear_error(tiny_checkpoint):
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=("neg", "pos"), max_length=16)
    with pytest.raises(DataError, match="y=None"):
        clf.fit(["good film"], epochs=1, verbose=0)
    with pytest.raises(DataError, match="unknown label 'meh'|meh"):
        clf.fit(["good film"], ["meh"], epochs=1, verbose=0)


def test_get_config_round_trips(tiny_classifier):
    config = tiny_classifier.get_config()
    again = tfkit.TextClassifier.from_config(config)
    assert again.get_config() == config
    assert again.config == tiny_classifier.config
    assert [w.shape for w in again.weights] == [w.shape for w in tiny_classifier.weights]


def test_keras_style_validation_tuple_keeps_its_labels(tiny_checkpoint, toy_data):
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=("neg", "pos"), max_length=16,
                                               precision="float32")
    clf.compile(optimizer=keras.optimizers.Adam(1e-3))
    enc = dict(clf.tokenizer(list(toy_data.texts), padding=True, return_tensors="np"))
    y = np.asarray(toy_data.targets)
    history = clf.fit(enc, y, validation_data=(enc, y), epochs=1, batch_size=16, verbose=0).history
    assert history["val_loss"][0] > 0 and "val_accuracy" in history
    with pytest.raises(DataError, match=r"class ids in \[0, 2\)"):
        clf.fit(["good film"], [5], epochs=1, verbose=0)
