"""Bug: a second fit on the same classifier compiled a fresh AdamW: warm-up restarted and the Adam moments
were lost. Now it is refused with a clear message; compile() again starts a new schedule deliberately."""

from __future__ import annotations

import pytest

from tfkit.errors import ConfigError


def test_second_fit_is_refused_and_compile_starts_over(tiny_classifier, toy_data):
    tiny_classifier.compile(learning_rate=1e-3, batch_size=16)
    tiny_classifier.fit(toy_data, epochs=1, verbose=0)
    steps = int(tiny_classifier.optimizer.iterations.numpy())
    assert steps == tiny_classifier.fit_record["optimizer_steps"] > 0
    weights = [w.copy() for w in tiny_classifier.get_weights()]
    with pytest.raises(ConfigError, match=r"second fit\(\).*compile\(\)"):
        tiny_classifier.fit(toy_data, epochs=1, verbose=0)
    assert int(tiny_classifier.optimizer.iterations.numpy()) == steps, "the refused fit did not train"
    assert all((a == b).all() for a, b in zip(weights, tiny_classifier.get_weights()))

    tiny_classifier.compile(learning_rate=1e-3, batch_size=16)  # deliberate: a new schedule and optimizer
    tiny_classifier.fit(toy_data, epochs=1, verbose=0)
    assert int(tiny_classifier.optimizer.iterations.numpy()) == steps, "a fresh optimizer counted from 0 again"


def test_a_user_optimizer_keeps_its_state_across_fits(tiny_classifier, toy_data):
    from tfkit._keras import keras

    tiny_classifier.compile(optimizer=keras.optimizers.Adam(1e-3), batch_size=16)
    tiny_classifier.fit(toy_data, epochs=1, verbose=0)
    steps = int(tiny_classifier.optimizer.iterations.numpy())
    tiny_classifier.fit(toy_data, epochs=1, verbose=0)  # Keras semantics: the optimizer continues
    assert int(tiny_classifier.optimizer.iterations.numpy()) == 2 * steps
