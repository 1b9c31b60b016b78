"""The few layers of the Functional twin that Keras lacks: position embeddings, attention matmuls,
the masked softmax and the first-token slice.

Each is a small ``tf_keras`` layer with ``get_config``, so ``clone_model`` (which TF-MOT's
``quantize_apply`` runs) rebuilds it. Everything else in the twin is a plain Keras layer
(``Embedding``, ``Dense``, ``LayerNormalization``, ``Activation``, ``Add``, ``Dropout``).

Examples:
    >>> scores = AttentionScores(num_heads=2, head_size=4)([query, key])      # doctest: +SKIP
    >>> probs = MaskedSoftmax()([scores, MaskBias()(attention_mask)])         # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any

from tfkit._keras import keras, tf

# The additive mask: 0 on real tokens, this on padding. A table lookup (GATHER on the int32 mask), so
# an integer-only file needs no float cast; in int8 the value saturates at the bottom of the range the
# scores were calibrated to, which still sends padded keys to (nearly) zero probability.
MASKED = -10000.0


class PositionEmbedding(keras.layers.Layer):
    """Learned absolute positions ``offset .. offset + length - 1``, as ``[1, length, width]`` to broadcast over
    the batch. RoBERTa counts from its padding id + 1: Hugging Face derives the positions from the ids (a
    cumulative sum over non-padding tokens), which for right-padded text without the padding id inside it
    is this slice; only padded positions differ, and those are masked out of attention. (A cumulative sum
    in the graph also breaks TFLite's calibration when the input length changes.)"""

    def __init__(self, max_positions: int, width: int, offset: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_positions = max_positions
        self.width = width
        self.offset = offset

    def build(self, input_shape: Any) -> None:
        self.embeddings = self.add_weight("embeddings", shape=(self.max_positions, self.width),
                                          initializer=keras.initializers.TruncatedNormal(stddev=0.02))
        super().build(input_shape)

    def call(self, input_ids: tf.Tensor) -> tf.Tensor:
        return self.embeddings[None, self.offset:self.offset + tf.shape(input_ids)[1]]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_positions": self.max_positions, "width": self.width,
                "offset": self.offset}


class ZeroIds(keras.layers.Layer):
    """Token-type ids of a model fed without them: zeros shaped like ``input_ids`` (as Hugging Face fills)."""

    def call(self, input_ids: tf.Tensor) -> tf.Tensor:
        return tf.zeros_like(input_ids)


class MaskBias(keras.layers.Layer):
    """``[batch, length]`` int attention mask -> ``[batch, 1, 1, length]`` additive bias (0 or MASKED)."""

    def call(self, attention_mask: tf.Tensor) -> tf.Tensor:
        table = tf.constant([MASKED, 0.0], dtype=self.compute_dtype)
        index = tf.clip_by_value(tf.cast(attention_mask, tf.int32), 0, 1)
        return tf.gather(table, index)[:, None, None, :]


def _split(tensor: tf.Tensor, num_heads: int, head_size: int) -> tf.Tensor:
    """``[batch, length, heads * size]`` -> ``[batch, heads, length, size]``."""
    shape = tf.shape(tensor)
    return tf.transpose(tf.reshape(tensor, [shape[0], shape[1], num_heads, head_size]), [0, 2, 1, 3])


class _Heads(keras.layers.Layer):
    def __init__(self, num_heads: int, head_size: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_size = head_size

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_heads": self.num_heads, "head_size": self.head_size}


class AttentionScores(_Heads):
    """``[query, key]`` (``[batch, length, width]`` each) -> scaled dot products ``[batch, heads, q_len, k_len]``."""

    def call(self, inputs: list[tf.Tensor]) -> tf.Tensor:
        query, key = inputs
        query = _split(query, self.num_heads, self.head_size)
        key = _split(key, self.num_heads, self.head_size)
        scores = tf.matmul(query, key, transpose_b=True)
        return scores * tf.cast(1.0 / math.sqrt(self.head_size), scores.dtype)


class MaskedSoftmax(keras.layers.Layer):
    """``[scores, bias]`` -> ``softmax(scores + bias)`` over the keys."""

    def call(self, inputs: list[tf.Tensor]) -> tf.Tensor:
        scores, bias = inputs
        return tf.nn.softmax(scores + tf.cast(bias, scores.dtype), axis=-1)


class AttentionContext(_Heads):
    """``[probabilities, value]`` -> the attended values, heads merged: ``[batch, q_len, width]``."""

    def call(self, inputs: list[tf.Tensor]) -> tf.Tensor:
        probabilities, value = inputs
        context = tf.matmul(probabilities, _split(value, self.num_heads, self.head_size))
        context = tf.transpose(context, [0, 2, 1, 3])
        shape = tf.shape(context)
        return tf.reshape(context, [shape[0], shape[1], self.num_heads * self.head_size])


class FirstToken(keras.layers.Layer):
    """``[batch, length, width]`` -> ``[batch, 1, width]`` (``keepdims``) or ``[batch, width]``."""

    def __init__(self, keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.keepdims = keepdims

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return inputs[:, :1] if self.keepdims else inputs[:, 0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "keepdims": self.keepdims}


class MaskedMean(keras.layers.Layer):
    """``[hidden [batch, length, width], attention_mask [batch, length]]`` -> ``[batch, width]``: the mean of
    the unpadded positions (sentence-transformers' mean pooling)."""

    def call(self, inputs: list[tf.Tensor]) -> tf.Tensor:
        hidden, mask = inputs
        mask = tf.cast(mask, hidden.dtype)[:, :, None]
        count = tf.maximum(tf.reduce_sum(mask, axis=1), tf.constant(1.0, hidden.dtype))
        return tf.reduce_sum(hidden * mask, axis=1) / count


CUSTOM_OBJECTS: dict[str, type] = {
    cls.__name__: cls for cls in (PositionEmbedding, ZeroIds, MaskBias, AttentionScores, MaskedSoftmax, AttentionContext,
                                  FirstToken, MaskedMean)
}
