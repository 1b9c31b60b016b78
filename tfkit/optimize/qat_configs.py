"""TF-MOT ``QuantizeConfig``s for the Functional twin's layers that the default 8-bit registry leaves out,
and the scheme that applies them.

The default registry quantizes ``Dense`` (kernel per tensor, output) and ``Add`` (output). The
twin also needs: ``Embedding`` and position tables (weights and output), ``LayerNormalization``,
the attention matmuls and ``Activation`` (output), and the softmax and ``tanh`` outputs at the fixed
ranges TFLite's int8 kernels use (softmax ``[0, 1)`` in steps of 1/256, tanh ``[-1, 1)`` in steps of
1/128). The additive attention mask is not quantized in training: the scores are fake-quantized
*before* it is added (by :class:`~tfkit.models.twin_layers.AttentionScores`' output quantizer), so the
``-10000`` of padded keys never enters a learned range.

:class:`TwinQuantizeScheme` is TF-MOT's default 8-bit scheme (or its prune-preserving variant) without
the layout transforms, which are Conv/BatchNorm fusions and would put a ``QuantizeLayer`` on the int32
token-id inputs.

Examples:
    >>> annotated = annotate(twin)                                       # doctest: +SKIP
    >>> qat = tfmot.quantization.keras.quantize_apply(annotated, TwinQuantizeScheme())  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfkit._keras import keras  # first: Keras 2 before TF-MOT loads TensorFlow
from tfkit.models import twin_layers as tl

import tensorflow_model_optimization as tfmot  # noqa: E402,I001


def _tfmot() -> Any:
    return tfmot


def _moving_average() -> Any:
    return tfmot.quantization.keras.quantizers.MovingAverageQuantizer(
        num_bits=8, per_axis=False, symmetric=False, narrow_range=False)


def _weights() -> Any:
    return tfmot.quantization.keras.quantizers.LastValueQuantizer(
        num_bits=8, per_axis=False, symmetric=True, narrow_range=True)


def _fixed(low: float, high: float) -> Any:
    return tfmot.quantization.keras.quantizers.FixedQuantizer(num_bits=8, init_min=low, init_max=high,
                                                               narrow_range=False)


# Module-level classes (not built in a function): autograph converts the methods of classes defined in a
# closure into functions that are then called with ``self`` twice inside ``fit``'s tf.function.
class OutputQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
    """Quantizes a layer's output only (LayerNorm, attention matmuls, GELU/ReLU activations)."""

    def get_weights_and_quantizers(self, layer: Any) -> list:
        return []

    def get_activations_and_quantizers(self, layer: Any) -> list:
        return []

    def set_quantize_weights(self, layer: Any, quantize_weights: list) -> None:
        pass

    def set_quantize_activations(self, layer: Any, quantize_activations: list) -> None:
        pass

    def get_output_quantizers(self, layer: Any) -> list:
        return [_moving_average()]

    def get_config(self) -> dict:
        return {}


class NoQuantizeConfig(OutputQuantizeConfig):
    """Leaves a layer in float (dropout, slicing, the mask, zero ids): said explicitly, because TF-MOT's
    prune-preserving registry claims every weightless layer and then finds no config for it."""

    def get_output_quantizers(self, layer: Any) -> list:
        return []


class FixedOutputQuantizeConfig(OutputQuantizeConfig):
    """Quantizes the output to a fixed range (softmax ``[0, 1)``, tanh ``[-1, 1)``: TFLite's int8 kernels)."""

    def __init__(self, low: float, high: float):
        self.low = low
        self.high = high

    def get_output_quantizers(self, layer: Any) -> list:
        return [_fixed(self.low, self.high)]

    def get_config(self) -> dict:
        return {"low": self.low, "high": self.high}


class TableQuantizeConfig(OutputQuantizeConfig):
    """Quantizes a lookup table (``embeddings``) per tensor and the looked-up output."""

    def get_weights_and_quantizers(self, layer: Any) -> list:
        return [(layer.embeddings, _weights())]

    def set_quantize_weights(self, layer: Any, quantize_weights: list) -> None:
        layer.embeddings = quantize_weights[0]


def configs() -> dict[str, type]:
    """The QuantizeConfig classes by name, for ``quantize_scope``."""
    return {cls.__name__: cls for cls in (OutputQuantizeConfig, NoQuantizeConfig, FixedOutputQuantizeConfig,
                                          TableQuantizeConfig)}


def config_for(layer: Any) -> Any | None:
    """The QuantizeConfig to annotate ``layer`` with; ``None``: let the registry choose (Dense, Add)."""
    c = configs()
    if isinstance(layer, (keras.layers.Dense, keras.layers.Add)):
        return None
    if isinstance(layer, (keras.layers.Embedding, tl.PositionEmbedding)):
        return c["TableQuantizeConfig"]()
    if isinstance(layer, tl.MaskedSoftmax):
        return c["FixedOutputQuantizeConfig"](0.0, 255.0 / 256.0)
    if isinstance(layer, keras.layers.Activation) and layer.get_config()["activation"] == "tanh":
        return c["FixedOutputQuantizeConfig"](-1.0, 127.0 / 128.0)
    if isinstance(layer, (keras.layers.LayerNormalization, keras.layers.Activation, tl.AttentionScores,
                          tl.AttentionContext)):
        return c["OutputQuantizeConfig"]()
    return c["NoQuantizeConfig"]()


def annotate(model: keras.Model) -> keras.Model:
    """``model`` with every quantizable layer wrapped in TF-MOT's ``QuantizeAnnotate``."""
    tfmot = _tfmot()

    def clone(layer: Any) -> Any:
        config = config_for(layer)
        copy = layer.__class__.from_config(layer.get_config())
        return tfmot.quantization.keras.quantize_annotate_layer(copy, quantize_config=config)

    with scope():
        return keras.models.clone_model(model, clone_function=clone)


def scope() -> Any:
    """TF-MOT's ``quantize_scope`` with the twin's layers and these configs (for cloning and loading)."""
    return _tfmot().quantization.keras.quantize_scope({**tl.CUSTOM_OBJECTS, **configs()})


def scheme(prune_preserve: bool = False) -> Any:
    """TF-MOT's default 8-bit scheme (or ``Default8BitPrunePreserveQuantizeScheme``) without layout transforms."""
    tfmot = _tfmot()
    base = (tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme if prune_preserve
            else tfmot.quantization.keras.default_8bit.Default8BitQuantizeScheme)

    class NoTransforms(tfmot.quantization.keras.QuantizeLayoutTransform):
        def apply(self, model: Any, layer_quantize_map: dict) -> tuple:
            return model, layer_quantize_map

    class TwinQuantizeScheme(base):
        def get_layout_transformer(self) -> Any:
            return NoTransforms()

    return TwinQuantizeScheme()


def quantize_twin(model: keras.Model, prune_preserve: bool = False) -> keras.Model:
    """The quantization-aware (fake-quantized) copy of a Functional twin; ``model`` is unchanged."""
    tfmot = _tfmot()
    annotated = annotate(model)
    annotated.set_weights(model.get_weights())
    with scope():
        return tfmot.quantization.keras.quantize_apply(annotated, scheme(prune_preserve))


# Range variables TF-MOT's quantizers add to a wrapper: the layer output ("output_*") and, for Dense, the output
# of its (linear) activation ("post_activation_*").
_RANGE_PREFIXES = ("output", "post_activation")


def range_variables(model: keras.Model) -> dict[str, tuple[Any, Any]]:
    """The learned (moving-average) output ranges of a quantize-applied model: ``{layer name: (min, max)}``,
    by the wrapped layer's name. Fixed-range outputs (softmax, tanh) have no variables and are left out."""
    out: dict[str, tuple[Any, Any]] = {}
    for layer in model.layers:
        inner = getattr(layer, "layer", None)
        if inner is None:
            continue
        found = {v.name.split("/")[-1].split(":")[0]: v for v in layer.weights}
        for prefix in _RANGE_PREFIXES:
            if f"{prefix}_min" in found and f"{prefix}_max" in found:
                out[inner.name] = (found[f"{prefix}_min"], found[f"{prefix}_max"])
                break
    return out


def initialise_ranges(model: keras.Model, float_twin: keras.Model, samples: list[dict],
                      clip: float | None = None) -> int:
    """Sets every learned output range of ``model`` to what ``float_twin`` produces on ``samples``.

    TF-MOT starts each range at [-6, 6] and moves it by an exponential average with decay 0.999 and no
    bias correction: after the ~500 steps of a short QAT fine-tune the ranges still weigh 60 % of those
    initial values, so a GELU output (never below -0.17) keeps about [-3.7, 7.6] and a word-embedding
    lookup (within [-0.5, 1.1]) about [-3.8, 4.0]: a grid five times coarser than it needs. Starting from
    the observed min/max instead was measured on SST-2 and lost 3.1 points (the min/max spans BERT's
    outlier activations, up to 220 in the residual stream, which the [-6, 6] start clips). With ``clip``
    each range starts at the observed min/max cut to ``[-clip, clip]``: the observed range where it is
    narrow, TF-MOT's start where outliers make it wide. Returns how many ranges were set.

    Examples:
        >>> initialise_ranges(qat_twin, float_twin, samples, clip=6.0)      # doctest: +SKIP
        61
    """
    if clip is not None and not clip > 0:
        raise ValueError(f"Expected clip > 0 or None. Received: clip={clip}.")
    variables = range_variables(model)
    names = [name for name in variables if name in {layer.name for layer in float_twin.layers}]
    probe = keras.Model(float_twin.inputs, [float_twin.get_layer(name).output for name in names])
    low = {name: 0.0 for name in names}  # TFLite needs 0 inside every range
    high = {name: 0.0 for name in names}
    for sample in samples:
        outputs = probe(sample, training=False)
        for name, value in zip(names, outputs if len(names) > 1 else [outputs]):
            low[name] = min(low[name], float(np.min(value)))
            high[name] = max(high[name], float(np.max(value)))
    for name in names:
        lo, hi = (low[name], high[name]) if clip is None else (max(low[name], -clip), min(high[name], clip))
        variables[name][0].assign(lo)
        variables[name][1].assign(hi)
    return len(names)
