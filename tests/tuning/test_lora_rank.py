"""LoRA rank as a Keras Tuner hyperparameter: trials build LoRA classifiers and their weights restore."""

from __future__ import annotations

import keras_tuner
import numpy as np

from tfkit.models.lora import LoraClassifier
from tfkit.tuning.hypermodel import ClassifierHyperModel
from tfkit.tuning.space import SearchSpace
from tfkit.tuning.tuner import restore_weights

from tests.conftest import toy_texts


def test_a_trial_with_a_lora_rank_builds_a_lora_classifier_that_restores(tiny_checkpoint, tmp_path):
    space = SearchSpace.default().with_overrides(lora_rank=[0, 4], max_length=16, batch_size=[8])
    hypermodel = ClassifierHyperModel(tiny_checkpoint, labels=("neg", "pos"), space=space, precision="float32")
    hp = keras_tuner.HyperParameters()
    assert type(hypermodel.build(hp)).__name__ == "TextClassifier"  # the first choice: rank 0
    hp.values["lora_rank"] = 4
    model = hypermodel.build(hp)
    assert isinstance(model, LoraClassifier) and model.lora.rank == 4 and model.lora.scale == 2.0
    texts, _ = toy_texts(8)
    for layer in model.lora_layers():
        layer.lora_b.assign(np.full(layer.lora_b.shape, 0.01, np.float32))
    model.save_weights(str(tmp_path / "weights"))
    again = hypermodel.build(hp)
    restore_weights(again, tmp_path / "weights")
    np.testing.assert_allclose(again.predict_logits(texts), model.predict_logits(texts), atol=1e-6)
