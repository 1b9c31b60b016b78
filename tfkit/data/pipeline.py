"""Tokenisation and the ``tf.data`` input pipeline.

Texts are tokenised once with the checkpoint's fast tokenizer, without
padding, and held in memory as ragged tensors. Training batches are drawn by
length bucketing and padded only to their longest member (dynamic padding):
SST-2 sentences average 13 tokens, so padding everything to 64 or 128 would
spend most of the compute on padding. Evaluation batches are built from
length-sorted examples and put back in the original order afterwards.

Examples:
    >>> import tfkit
    >>> from tfkit.testing import tiny_tokenizer
    >>> data = tfkit.data.from_lists(["good film", "bad"], ["pos", "neg"])
    >>> enc = encode(data, tiny_tokenizer(), max_length=16)
    >>> enc.lengths.tolist()
    [4, 3]
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Any

import numpy as np

from tfkit._keras import tf
from tfkit.data.dataset import TextDataset
from tfkit.errors import ConfigError

_BOUNDARIES = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384)
# Fixed parallelism and prefetch depth instead of tf.data's autotuning. With autotuning on, freeing a long
# fit's data iterator waited for tf.data's autotune thread (``Model::OptimizeLoop``, whose timed wait grows to
# 60 s) and stalled the end of ``fit`` by 48-57 s in 4 of 7 measured 8,000-sentence fits, while the whole input
# pipeline costs 0.2 s of a 236 s fit (benchmarks/findings.md, "Where a fit's wall time goes").
_MAP_THREADS = 2
_PREFETCH = 2


def _finish(ds: tf.data.Dataset) -> tf.data.Dataset:
    """``ds`` prefetched ``_PREFETCH`` batches deep, with tf.data's autotune thread off."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(_PREFETCH).with_options(options)


@dataclasses.dataclass(frozen=True)
class Encoded:
    """Token ids of every example, flat, with per-example lengths."""

    input_ids: np.ndarray
    lengths: np.ndarray
    token_type_ids: np.ndarray | None
    pad_token_id: int

    def __len__(self) -> int:
        return len(self.lengths)

    def features(self, order: np.ndarray | None = None) -> dict[str, tf.RaggedTensor]:
        """Ragged feature tensors, optionally reordered."""
        starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        lengths = self.lengths
        ids, types = self.input_ids, self.token_type_ids
        if order is not None:
            pieces = [np.arange(starts[i], starts[i] + lengths[i]) for i in order]
            gather = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
            ids = ids[gather]
            types = None if types is None else types[gather]
            lengths = lengths[order]
        out = {"input_ids": tf.RaggedTensor.from_row_lengths(ids, lengths)}
        if types is not None:
            out["token_type_ids"] = tf.RaggedTensor.from_row_lengths(types, lengths)
        return out


def encode(dataset: TextDataset, tokenizer: Any, max_length: int) -> Encoded:
    """Tokenises every example once (truncating to ``max_length``), without padding."""
    if max_length < 4:
        raise ConfigError(f"Expected max_length >= 4. Received: max_length={max_length}.")
    wants_types = "token_type_ids" in getattr(tokenizer, "model_input_names", ())
    batch = tokenizer(
        list(dataset.texts),
        list(dataset.text_pairs) if dataset.text_pairs is not None else None,
        truncation=True,
        max_length=max_length,
        padding=False,
        return_attention_mask=False,
        return_token_type_ids=wants_types,
    )
    lengths = np.fromiter((len(x) for x in batch["input_ids"]), dtype=np.int64, count=len(dataset))
    total = int(lengths.sum())
    ids = np.fromiter(itertools.chain.from_iterable(batch["input_ids"]), dtype=np.int32, count=total)
    types = None
    if wants_types:
        types = np.fromiter(itertools.chain.from_iterable(batch["token_type_ids"]), dtype=np.int32, count=total)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return Encoded(input_ids=ids, lengths=lengths, token_type_ids=types, pad_token_id=int(pad))


def bucket_boundaries(max_length: int) -> tuple[int, ...]:
    """Default length-bucket edges below ``max_length``."""
    return tuple(b for b in _BOUNDARIES if b < max_length)


def bucket_batch_sizes(boundaries: tuple[int, ...], max_len: int, batch_size: int,
                       batch_tokens: int | None = None) -> list[int]:
    """Batch size of each length bucket.

    ``batch_size`` for every bucket, or, with ``batch_tokens``, as many examples
    as fit in ``batch_tokens`` padded tokens at the bucket's widest: short
    buckets get bigger batches, long ones smaller.
    """
    if batch_tokens is None:
        return [batch_size] * (len(boundaries) + 1)
    widths = [b - 1 for b in boundaries] + [max(max_len, boundaries[-1] if boundaries else max_len)]
    return [max(1, batch_tokens // w) for w in widths]


def train_steps(encoded: Encoded, batch_sizes: list[int], boundaries: tuple[int, ...]) -> int:
    """Exact number of batches one bucketed training epoch yields."""
    buckets = np.digitize(encoded.lengths, boundaries, right=False)
    counts = np.bincount(buckets, minlength=len(boundaries) + 1)
    return int(sum(-(-c // size) for c, size in zip(counts, batch_sizes)))


def _with_mask(features: dict[str, tf.Tensor], target: Any) -> tuple[dict[str, tf.Tensor], Any]:
    features = dict(features)
    features["attention_mask"] = tf.ones_like(features["input_ids"])
    return features, target


def _padding_values(encoded: Encoded, target_dtype: Any) -> tuple[dict[str, Any], Any]:
    values = {"input_ids": tf.constant(encoded.pad_token_id, tf.int32), "attention_mask": tf.constant(0, tf.int32)}
    if encoded.token_type_ids is not None:
        values["token_type_ids"] = tf.constant(0, tf.int32)
    return values, tf.constant(0, target_dtype)


def training_dataset(
    encoded: Encoded,
    targets: np.ndarray,
    batch_size: int,
    seed: int | None = None,
    boundaries: tuple[int, ...] | None = None,
    pad_to_bucket_boundary: bool = False,
    batch_tokens: int | None = None,
) -> tf.data.Dataset:
    """Shuffled, length-bucketed, dynamically padded batches of (features, target).

    With ``pad_to_bucket_boundary`` every batch of a bucket has the same width,
    which bounds the number of shapes an XLA-compiled step sees. With
    ``batch_tokens`` the batch size varies by bucket so that each batch holds
    about that many (padded) tokens: short sentences then share a step's fixed
    cost (optimizer update, op dispatch) with more neighbours.
    """
    if batch_size < 1:
        raise ConfigError(f"Expected batch_size >= 1. Received: batch_size={batch_size}.")
    if batch_tokens is not None and batch_tokens < 1:
        raise ConfigError(f"Expected batch_tokens >= 1 or None. Received: batch_tokens={batch_tokens}.")
    if len(targets) != len(encoded):
        raise ConfigError(
            f"Expected one target per example. Received: {len(targets)} targets, {len(encoded)} examples."
        )
    max_len = int(encoded.lengths.max())
    boundaries = tuple(boundaries if boundaries is not None else bucket_boundaries(max_len + 1))
    if any(b < 1 for b in boundaries) or any(a >= b for a, b in zip(boundaries, boundaries[1:])):
        raise ConfigError(f"Expected increasing positive bucket boundaries. Received: boundaries={boundaries}.")
    if pad_to_bucket_boundary:
        boundaries = tuple(b for b in boundaries if b <= max_len) + (max_len + 1,)
    sizes = bucket_batch_sizes(boundaries, max_len, batch_size, batch_tokens)
    target_tensor = tf.constant(targets)
    ds = tf.data.Dataset.from_tensor_slices((encoded.features(), target_tensor))
    ds = ds.shuffle(len(encoded), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(_with_mask, num_parallel_calls=_MAP_THREADS)
    ds = ds.bucket_by_sequence_length(
        element_length_func=lambda f, _: tf.shape(f["input_ids"])[0],
        bucket_boundaries=list(boundaries),
        bucket_batch_sizes=sizes,
        padding_values=_padding_values(encoded, target_tensor.dtype),
        pad_to_bucket_boundary=pad_to_bucket_boundary,
    )
    steps = train_steps(encoded, sizes, boundaries)
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
    return _finish(ds)


def inference_dataset(
    encoded: Encoded, batch_size: int, targets: np.ndarray | None = None, width_multiple: int | None = None,
    max_width: int | None = None,
) -> tuple[tf.data.Dataset, np.ndarray]:
    """Length-sorted padded batches and the order used.

    With ``width_multiple`` each batch is padded further, to a multiple of that many tokens (at most
    ``max_width``): the attention mask hides the padding, and the model sees a handful of shapes instead
    of one per length, so the memory TensorFlow's kernels cache per shape stops growing early in a long
    stream of batches (``tfkit predict`` on a file).

    Returns:
        ``(dataset, order)``: outputs for example ``order[k]`` come k-th; use
        :func:`restore_order` to put them back.
    """
    order = np.argsort(encoded.lengths, kind="stable")
    features = encoded.features(order)
    if targets is None:
        ds = tf.data.Dataset.from_tensor_slices(features).map(lambda f: _with_mask(f, None)[0])
        padding = _padding_values(encoded, tf.int32)[0]
    else:
        ds = tf.data.Dataset.from_tensor_slices((features, tf.constant(targets[order]))).map(_with_mask)
        padding = _padding_values(encoded, tf.constant(targets).dtype)
    ds = ds.padded_batch(batch_size, padding_values=padding)
    if width_multiple is not None and width_multiple > 1:
        pad_values = {name: int(value.numpy()) for name, value in (padding[0] if targets is not None else padding).items()}
        ds = ds.map(functools.partial(_round_width, multiple=width_multiple, max_width=max_width, pad_values=pad_values))
    return _finish(ds), order


def _round_width(features: Any, *target: Any, multiple: int, max_width: int | None,
                 pad_values: dict[str, int]) -> Any:
    width = tf.shape(features["input_ids"])[1]
    wanted = (width + multiple - 1) // multiple * multiple
    if max_width is not None:
        wanted = tf.maximum(width, tf.minimum(wanted, max_width))
    padded = {name: tf.pad(value, [[0, 0], [0, wanted - width]], constant_values=pad_values.get(name, 0))
              for name, value in features.items()}
    return (padded, *target) if target else padded


def restore_order(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Undoes the length sort of :func:`inference_dataset`."""
    out = np.empty_like(values)
    out[order] = values
    return out
