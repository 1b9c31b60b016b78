"""Every private entry point tfkit uses still exists in the installed versions, and a moved one fails clearly."""

from __future__ import annotations

import pytest

from tfkit import _compat


@pytest.mark.parametrize("name", _compat.PRIVATE_NAMES)
def test_private_entry_point_exists(name):
    entry = _compat.PRIVATE.get(name)
    value = getattr(_compat, name)
    assert value is not None, f"{name} ({entry.package} {entry.written_for if entry else ''}) moved"
    if name == "PruneLowMagnitude":
        assert hasattr(value, "prunable_weights") or hasattr(value, "build")
    if name == "ResizingQuantizationDebugger":
        assert "_set_input_tensors" in vars(value)
    if name == "AdamW._var_key":  # the slots FusedAdamW reads next to it exist once AdamW has built
        from tfkit._keras import keras, tf

        weight = tf.Variable([1.0, 2.0])
        optimizer = keras.optimizers.AdamW()
        optimizer.build([weight])
        index = optimizer._index_dict[optimizer._var_key(weight)]
        assert optimizer._momentums[index].shape == weight.shape == optimizer._velocities[index].shape


def test_a_moved_entry_point_names_the_version_it_needs(monkeypatch):
    moved = _compat.PrivateEntry("tensorflow_model_optimization.python.core.sparsity.keras.nowhere",
                                 "PruneLowMagnitude", "tensorflow-model-optimization", "0.8.1", "pruning")
    monkeypatch.setitem(_compat.PRIVATE, "PruneLowMagnitude", moved)
    with pytest.raises(_compat.CompatibilityError, match=r"tensorflow-model-optimization==0\.8\.1"):
        _compat.private("PruneLowMagnitude")


def test_old_stage_spellings_still_work_with_a_deprecation_warning(toy_data, tiny_classifier):
    import warnings

    import tfkit
    from tfkit.errors import ConfigError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConfigError, match="Unknown tuner"):
            tfkit.tune.search(toy_data, toy_data, tuner="grid", directory="unused")
        with pytest.raises(ConfigError, match="validation="):
            tfkit.export(tiny_classifier, "unused", validate_on=None, representative_data=None)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any("tfkit.tune.search(...) is deprecated" in m for m in messages), messages
    assert any("tfkit.tune(directory=...)" in m for m in messages), messages
    assert any("tfkit.export(validate_on=...)" in m for m in messages), messages
    import tfkit.export.config as config_module  # the package stays importable behind the function

    assert config_module.ExportConfig is tfkit.export.ExportConfig


def test_save_is_the_deprecated_spelling_of_save_pretrained(tiny_classifier, tmp_path):
    import warnings

    import tfkit

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = tiny_classifier.save(tmp_path / "model")
    assert any("TextClassifier.save(path) is deprecated" in str(w.message) for w in caught)
    assert tfkit.TextClassifier.load(path).config == tiny_classifier.config
