"""The private entry points of TF-MOT, transformers and TFLite that tfkit needs, fenced in one place.

Each is used only where no public API does the job; every one is listed in
:data:`PRIVATE` with the version it was written against, and
``tests/test_compat.py`` imports each, so an upgrade that moves one fails with a
message naming it instead of deep inside a pipeline. Lookups are lazy: TF-MOT
(slow to import) is loaded only when pruning asks for its wrapper.

Examples:
    >>> from tfkit import _compat
    >>> sorted(_compat.PRIVATE)[:2]
    ['PruneLowMagnitude', 'QuantizationDebugger._set_input_tensors']
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from typing import Any

from tfkit.errors import TfkitError


class CompatibilityError(TfkitError, ImportError):
    """An installed library no longer has a private entry point tfkit relies on."""


@dataclasses.dataclass(frozen=True)
class PrivateEntry:
    """Where a private object lives and which package version it was written against."""

    module: str
    attribute: str
    package: str
    written_for: str
    why: str


PRIVATE: dict[str, PrivateEntry] = {
    "PruneLowMagnitude": PrivateEntry(
        "tensorflow_model_optimization.python.core.sparsity.keras.pruning_wrapper", "PruneLowMagnitude",
        "tensorflow-model-optimization", "0.8.1",
        "wrapping Dense layers nested inside HF's subclassed encoder (prune_low_magnitude refuses subclassed "
        "models) and finding the wrappers again; TF-MOT exports no public class for isinstance checks"),
    "load_pytorch_state_dict_in_tf2_model": PrivateEntry(
        "transformers.modeling_tf_pytorch_utils", "load_pytorch_state_dict_in_tf2_model", "transformers", "4.57",
        "reading model.safetensors into TF models (transformers' own safetensors path fails for TF classes)"),
    "convert_tf_weight_name_to_pt_weight_name": PrivateEntry(
        "transformers.modeling_tf_pytorch_utils", "convert_tf_weight_name_to_pt_weight_name", "transformers",
        "4.57", "writing PyTorch-named safetensors of tiny test checkpoints and naming the Functional twin's "
        "weights after the Hugging Face modules they come from"),
    "Interpreter._get_ops_details": PrivateEntry(
        "ai_edge_litert.interpreter", "Interpreter._get_ops_details", "ai-edge-litert", "2.3",
        "listing a TFLite file's ops with their tensor types (the integer-only check); LiteRT has no public "
        "op listing"),
    "QuantizationDebugger._set_input_tensors": PrivateEntry(
        "tensorflow", "lite.experimental.QuantizationDebugger._set_input_tensors", "tensorflow", "2.21",
        "feeding the quantization debugger samples of varying length (it resizes its interpreter only once)"),
    "AdamW._var_key": PrivateEntry(
        "tf_keras.optimizers", "AdamW._var_key", "tf-keras", "2.21",
        "FusedAdamW (tfkit.models.optimization) finding a weight's Keras slots: _var_key, and the _index_dict, "
        "_momentums and _velocities that AdamW.build sets; Keras has no public slot lookup by weight"),
}


def private(name: str) -> Any:
    """The private object ``name`` of :data:`PRIVATE`, or a CompatibilityError naming the version it needs."""
    import tfkit._keras  # noqa: F401  (Keras 2 before any of these libraries loads TensorFlow)

    entry = PRIVATE[name]
    try:
        value: Any = importlib.import_module(entry.module)
        for part in entry.attribute.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as err:
        raise CompatibilityError(
            f"Expected {entry.module}.{entry.attribute} ({entry.package} {entry.written_for}; used for "
            f"{entry.why}). Received: {type(err).__name__}: {err}. Install {entry.package}=={entry.written_for}.*, "
            "the version tfkit supports."
        ) from None
    return value


def __getattr__(name: str) -> Any:
    if name in PRIVATE:
        return private(name)
    if name == "ResizingQuantizationDebugger":
        return _resizing_debugger()
    if name == "calibrate_with_custom_ops":
        return _calibrate_with_custom_ops()
    raise AttributeError(f"module 'tfkit._compat' has no attribute {name!r}")


@functools.lru_cache(maxsize=None)
def _resizing_debugger() -> type:
    """``QuantizationDebugger`` that accepts dict samples of varying length (it resizes only once)."""
    from tfkit._keras import tf
    from tfkit.export.runtime import input_name

    private("QuantizationDebugger._set_input_tensors")

    class ResizingQuantizationDebugger(tf.lite.experimental.QuantizationDebugger):
        def _set_input_tensors(self, interpreter: Any, tensor_data: Any, initialize: bool) -> None:
            if isinstance(tensor_data, dict):
                tensor_data = [tensor_data[input_name(d["name"])] for d in interpreter.get_input_details()]
            super()._set_input_tensors(interpreter, tensor_data, True)

    return ResizingQuantizationDebugger


@functools.lru_cache(maxsize=None)
def _calibrate_with_custom_ops() -> Any:
    """``calibrate_with_custom_ops(converter, registerers)``: lets the converter's calibrator run custom ops.

    The calibrator of ``full_int8``/``int16x8``/``qat_int8`` runs the model, and a raw-text model holds
    the tokenizer's custom ops; TensorFlow 2.21 takes their registrars only through the private
    ``TargetSpec._experimental_custom_op_registerers``."""
    from tfkit._keras import tf

    if not hasattr(tf.lite.TargetSpec(), "_experimental_custom_op_registerers"):
        raise CompatibilityError(
            "Expected tf.lite.TargetSpec()._experimental_custom_op_registerers (tensorflow 2.21; used for "
            "calibrating raw-text TFLite files, whose tokenizer ops are custom). Received: no such attribute. "
            "Install tensorflow-cpu==2.21.*, the version tfkit supports.")

    def calibrate_with_custom_ops(converter: Any, registerers: list[Any]) -> None:
        converter.target_spec._experimental_custom_op_registerers = list(registerers)

    return calibrate_with_custom_ops


PRIVATE_NAMES = (*PRIVATE, "ResizingQuantizationDebugger", "calibrate_with_custom_ops")
