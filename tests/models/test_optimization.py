"""tfkit's fused AdamW takes the same steps as Keras' AdamW (written for tf-keras 2.21, whose AdamW slots it uses)."""

from __future__ import annotations

import numpy as np
import pytest

from tfkit._keras import keras, tf
from tfkit.models.optimization import NO_DECAY, FusedAdamW, WarmupLinearDecay


def _train(optimizer_class, epochs=2, sparse=False, mixed=False):
    """Weights and optimizer slots after ``epochs`` of 4 steps on a small Functional model (0: the start)."""
    keras.utils.set_random_seed(0)
    policy = keras.mixed_precision.global_policy()
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        inputs = keras.Input((4,), dtype="int32")
        x = keras.layers.Embedding(20, 8, name="embeddings")(inputs)
        x = keras.layers.LayerNormalization(name="LayerNorm")(keras.layers.Flatten()(x))
        outputs = keras.layers.Dense(3, name="classifier", dtype="float32")(keras.layers.Dense(16, activation="gelu")(x))
        model = keras.Model(inputs, outputs)
        if not sparse:
            model.get_layer("embeddings").trainable = False
        schedule = WarmupLinearDecay(1e-2, 2, 4 * max(epochs, 1))
        optimizer = optimizer_class(learning_rate=schedule, weight_decay=0.05, epsilon=1e-6, global_clipnorm=1.0)
        optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
        model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        rng = np.random.default_rng(0)
        x, y = rng.integers(0, 20, (32, 4)), rng.integers(0, 3, 32)
        if epochs:
            model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
        return [w.numpy().astype(np.float64) for w in model.weights], [v.numpy() for v in optimizer.variables]
    finally:
        keras.mixed_precision.set_global_policy(policy)


@pytest.mark.parametrize("sparse", [False, True], ids=["frozen_embeddings", "trained_embeddings"])
def test_fused_adamw_takes_keras_adamw_steps(sparse):
    keras_weights, keras_slots = _train(keras.optimizers.AdamW, sparse=sparse)
    fused_weights, fused_slots = _train(FusedAdamW, sparse=sparse)
    start, _ = _train(keras.optimizers.AdamW, epochs=0, sparse=sparse)
    assert any(not np.allclose(a, b) for a, b in zip(start, keras_weights))  # training moved the weights
    for a, b in zip(keras_weights, fused_weights):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert len(keras_slots) == len(fused_slots)  # the same slots: checkpoints and backups see one optimizer
    for a, b in zip(keras_slots, fused_slots):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)


def test_fused_adamw_under_mixed_precision_matches_keras():
    keras_weights, _ = _train(keras.optimizers.AdamW, mixed=True)
    fused_weights, _ = _train(FusedAdamW, mixed=True)
    for a, b in zip(keras_weights, fused_weights):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_the_auto_optimizer_is_the_fused_one(tiny_classifier):
    tiny_classifier.compile()
    assert isinstance(tiny_classifier.optimizer, FusedAdamW)
    assert tf.raw_ops.ResourceApplyAdam is not None
