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


def test_compile_twice_before_fit_trains_and_lists_each_metric_once(tiny_classifier, toy_data):
    """Bug: compile() kept its loss/metrics in a Keras-tracked attribute, so the model tracked every compile's
    metric objects as its own: ``metrics`` listed accuracy twice, and a second compile before fit crashed in
    fit (``'SparseMacroF1' object has no attribute 'true_positives'``) on the first compile's unbuilt metrics."""
    tiny_classifier.compile(learning_rate=1e-3, batch_size=16)
    tiny_classifier.compile(learning_rate=1e-3, batch_size=16)
    history = tiny_classifier.fit(toy_data, epochs=1, verbose=0)
    assert {"accuracy", "macro_f1"} <= set(history.history)
    names = [m.name for m in tiny_classifier.metrics]
    assert len(names) == len(set(names)), names
    tracked = [m for m in tiny_classifier._flatten_layers(include_self=False) if m.name in {"accuracy", "macro_f1"}]
    assert not tracked, "compile's metrics are tracked as the model's own layers (and its checkpoint's)"
