"""Search-space validation happens before any trial runs."""

from __future__ import annotations

import keras_tuner
import pytest

from tfkit.errors import ConfigError
from tfkit.tuning import SearchSpace


def test_default_space_declares_every_hyperparameter():
    hp = keras_tuner.HyperParameters()
    values = SearchSpace.default().declare(hp)
    assert set(values) == {"learning_rate", "batch_size", "epochs", "warmup_ratio", "weight_decay", "dropout",
                           "max_length", "freeze_layers", "lora_rank"}
    assert 1e-5 <= values["learning_rate"] <= 2e-4
    assert hp._hps["learning_rate"][0].sampling == "log"


def test_overrides_narrow_widen_and_fix():
    space = SearchSpace.default().with_overrides(learning_rate=(1e-6, 1e-3), batch_size=[8], epochs=2)
    hp = keras_tuner.HyperParameters()
    values = space.declare(hp)
    assert values["batch_size"] == 8 and values["epochs"] == 2


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"learnig_rate": (1e-5, 1e-4)}, "Unknown hyperparameter"),
        ({"learning_rate": (1e-4, 1e-5)}, "empty range"),
        ({"learning_rate": (0.0, 1e-4)}, "log-scale"),
        ({"batch_size": []}, "empty list"),
        ({"epochs": (1.5, 3)}, "whole numbers"),
        ({"dropout": "high"}, "expected"),
    ],
)
def test_bad_spaces_are_rejected(overrides, message):
    with pytest.raises(ConfigError, match=message):
        SearchSpace.default().with_overrides(**overrides)
