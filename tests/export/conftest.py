"""One trained toy classifier and one export of every variant (with the raw-text files), shared by the export
tests: the export is the slow part (a conversion per file), so it is made once per session."""

from __future__ import annotations

import pytest

import tfkit
from tfkit._keras import keras
from tfkit.export import Quantization

from tests.conftest import toy_texts

ALL = [q.value for q in Quantization if q is not Quantization.QAT_INT8]  # qat_int8: tests/optimize/test_qat.py


@pytest.fixture(scope="session")
def toy_export_data():
    texts, labels = toy_texts(48)
    return tfkit.data.from_lists(texts, labels)


@pytest.fixture(scope="session")
def toy_classifier(tiny_checkpoint, toy_export_data):
    keras.utils.set_random_seed(0)  # session-scoped: built before the per-test seed
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy_export_data.labels, max_length=16,
                                               precision="float32")
    clf.compile(learning_rate=3e-3, batch_size=8)
    clf.fit(toy_export_data, epochs=10, verbose=0)  # a model that has learnt the toy task: labels far from the boundary
    assert clf.evaluate(toy_export_data, verbose=0)["accuracy"] > 0.9
    return clf


@pytest.fixture(scope="session")
def toy_export(toy_classifier, toy_export_data, tmp_path_factory):
    """Every variant, each with its raw-text file (MediaPipe files: tests/export/test_mediapipe.py)."""
    out = tmp_path_factory.mktemp("export") / "export"
    return tfkit.export(toy_classifier, out, formats=["saved_model", "tflite"], quantization=ALL,
                        train=toy_export_data, validation=toy_export_data, representative_samples=24,
                        mediapipe=False, log=lambda _: None)
