"""With a seed, two CPU training runs of a tiny model give bit-identical weights."""

from __future__ import annotations

import numpy as np

import tfkit
from tfkit.pipeline import FinetuneConfig, RunDirectory, finetune
from tests.conftest import toy_texts


def _weights(tiny_checkpoint, folder, seed: int):
    texts, labels = toy_texts(96, seed=1)
    train, validation = tfkit.data.from_lists(texts, labels).split(0.25, seed=0)
    config = FinetuneConfig(checkpoint=str(tiny_checkpoint), max_length=16, epochs=2, batch_size=8,
                            learning_rate=3e-3, precision="float32", seed=seed)
    result = finetune(train, validation, config, RunDirectory(folder), verbose=0)
    return [w.numpy() for w in result.classifier.weights]


def test_same_seed_same_weights_other_seed_other_weights(tiny_checkpoint, tmp_path):
    first = _weights(tiny_checkpoint, tmp_path / "a", seed=3)
    np.random.seed(123)  # disturb the global state between runs: the stage must seed itself
    second = _weights(tiny_checkpoint, tmp_path / "b", seed=3)
    other = _weights(tiny_checkpoint, tmp_path / "c", seed=4)
    assert len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, c) for a, c in zip(first, other)), "the seed matters"
