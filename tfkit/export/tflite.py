"""TFLite conversion of a :class:`~tfkit.export.graph.ServingModule`, one quantization variant at a time.

Every variant keeps to TFLite builtin ops (LiteRT cannot run Select TF ops) and
takes ``[1, length]`` inputs (``[batch, length]`` with ``batch_size=None``) with a
dynamic length, so a caller resizes the inputs to each sentence's real length
instead of padding.

Calibration (``full_int8``, ``int16x8``) uses unpadded single sentences. The
additive attention mask (``-10000`` on padding) would otherwise stretch the int8
range of the attention scores until real scores round to a few levels; a model
calibrated this way is exact for unpadded inputs (batch 1, or a batch of equal
lengths), which is how it is verified and timed.

Examples:
    >>> module = ServingModule(clf)                                       # doctest: +SKIP
    >>> flatbuffer = convert(module, Quantization.DYNAMIC_INT8)           # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

import numpy as np

from tfkit._keras import tf
from tfkit.errors import TfkitError
from tfkit.export.config import Quantization

Sample = dict[str, np.ndarray]


class ConversionError(TfkitError, RuntimeError):
    """The TFLite converter could not produce a variant."""


def representative_samples(module: Any, texts: list[str], pairs: list[str] | None = None) -> list[Sample]:
    """Unpadded batch-1 token inputs for calibration, one per text."""
    return token_samples(module.classifier, texts, pairs, module.names)


def token_samples(classifier: Any, texts: list[str], pairs: list[str] | None = None,
                  names: Iterable[str] | None = None) -> list[Sample]:
    """Unpadded batch-1 token inputs of ``classifier`` (its tokenizer and max length), one per text."""
    from tfkit.export.graph import input_names

    names = tuple(names or input_names(classifier))
    tokenizer = classifier.tokenizer
    samples = []
    for i, text in enumerate(texts):
        enc = tokenizer(text, pairs[i] if pairs else None, truncation=True,
                        max_length=classifier.config.max_length, return_tensors="np")
        enc["attention_mask"] = np.ones_like(enc["input_ids"])
        samples.append({name: np.asarray(enc[name], np.int32) for name in names})
    return samples


def converter_for(module: Any, quantization: Quantization, samples: Iterable[Sample] | None = None,
                  function: Any = None, custom_ops: bool = False) -> Any:
    """A configured ``TFLiteConverter`` for one variant.

    Args:
        function: the concrete function to convert (default: the token-id logits); the raw-text and
            MediaPipe files convert their own (:mod:`tfkit.export.edge_graphs`).
        custom_ops: keep ops without a builtin kernel as custom ops (the in-graph tokenizer's
            ``FastBertNormalize``/``FastWordpieceTokenize``, which the app registers).
    """
    function = function if function is not None else module.concrete_logits()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = custom_ops
    if quantization is Quantization.FLOAT32:
        return converter
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization is Quantization.FLOAT16:
        converter.target_spec.supported_types = [tf.float16]
    elif quantization.calibrated:
        if samples is None:
            raise ConversionError(f"'{quantization.value}' needs representative data. Received: samples=None.")
        data = list(samples)
        converter.representative_dataset = _generator(data)
        if custom_ops:  # the calibrator runs the model: it needs the tokenizer's kernels
            from tfkit._compat import calibrate_with_custom_ops
            from tfkit.export.runtime import tokenizer_op_registerers

            calibrate_with_custom_ops(converter, tokenizer_op_registerers())
        if quantization in (Quantization.FULL_INT8, Quantization.QAT_INT8):
            # qat_int8: the fake-quant ranges learned in training, calibration only where training had none
            # (the attention-mask addition); every op must have an int8 kernel.
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        else:  # ops without an int16 kernel stay in float rather than failing the conversion
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
                tf.lite.OpsSet.TFLITE_BUILTINS,
            ]
    return converter


def convert(module: Any, quantization: Quantization, samples: Iterable[Sample] | None = None,
            function: Any = None, custom_ops: bool = False) -> bytes:
    """The TFLite flatbuffer of one variant (of ``function``, by default the token-id logits)."""
    try:
        return converter_for(module, quantization, samples, function, custom_ops).convert()
    except ConversionError:
        raise
    except Exception as error:  # the converter raises several unrelated types
        raise ConversionError(f"TFLite conversion of '{quantization.value}' failed: {error}") from error


def _generator(samples: list[Sample]) -> Callable[[], Iterator[Sample]]:
    def generate() -> Iterator[Sample]:
        yield from samples

    return generate
