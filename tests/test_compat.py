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


def test_a_moved_entry_point_names_the_version_it_needs(monkeypatch):
    moved = _compat.PrivateEntry("tensorflow_model_optimization.python.core.sparsity.keras.nowhere",
                                 "PruneLowMagnitude", "tensorflow-model-optimization", "0.8.1", "pruning")
    monkeypatch.setitem(_compat.PRIVATE, "PruneLowMagnitude", moved)
    with pytest.raises(_compat.CompatibilityError, match=r"tensorflow-model-optimization==0\.8\.1"):
        _compat.private("PruneLowMagnitude")
