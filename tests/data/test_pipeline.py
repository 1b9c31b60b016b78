"""Tokenisation once, length bucketing, dynamic padding and order restoration."""

from __future__ import annotations

import numpy as np
import pytest

import tfkit
from tfkit.data import pipeline
from tfkit.errors import ConfigError
from tfkit.testing import tiny_tokenizer


@pytest.fixture
def varied() -> tfkit.TextDataset:
    rng = np.random.default_rng(0)
    words = "good bad film movie plot the a very not".split()
    texts = [" ".join(rng.choice(words, size=int(n))) for n in rng.integers(1, 40, size=97)]
    return tfkit.data.from_lists(texts, ["pos", "neg"] * 48 + ["pos"])


def test_encode_truncates_and_keeps_lengths(varied):
    enc = pipeline.encode(varied, tiny_tokenizer(), max_length=20)
    assert enc.lengths.max() == 20
    assert enc.lengths.min() >= 3  # [CLS] word [SEP]
    assert len(enc.input_ids) == enc.lengths.sum()
    assert enc.token_type_ids is not None and not enc.token_type_ids.any()


def test_encode_pairs_sets_token_types():
    data = tfkit.data.from_lists(["good film"], ["a"], text_pairs=["bad plot"], task="single_label",
                                 label_names=("a", "b"))
    enc = pipeline.encode(data, tiny_tokenizer(), max_length=16)
    assert enc.token_type_ids.tolist() == [0, 0, 0, 0, 1, 1, 1]


def test_encode_rejects_tiny_max_length(varied):
    with pytest.raises(ConfigError, match="max_length"):
        pipeline.encode(varied, tiny_tokenizer(), max_length=2)


def test_training_batches_are_bucketed_dynamically_padded_and_complete(varied):
    enc = pipeline.encode(varied, tiny_tokenizer(), max_length=64)
    ds = pipeline.training_dataset(enc, varied.targets, batch_size=8, seed=0)
    seen, widths, steps = [], [], 0
    for features, targets in ds:
        ids, mask = features["input_ids"].numpy(), features["attention_mask"].numpy()
        lengths = mask.sum(axis=1)
        assert ids.shape[1] == lengths.max(), "each batch is padded to its own longest example"
        assert (ids[mask == 0] == enc.pad_token_id).all()
        assert features["token_type_ids"].shape == ids.shape
        buckets = np.digitize(lengths, pipeline.bucket_boundaries(65))
        assert len(set(buckets)) == 1, "a batch holds one length bucket"
        widths.append(ids.shape[1])
        seen.extend(tuple(row[row != enc.pad_token_id]) for row in ids)
        steps += 1
    assert steps == pipeline.train_steps(enc, [8] * 12, pipeline.bucket_boundaries(65))
    expected = sorted(tuple(enc.input_ids[s:s + n]) for s, n in zip(np.r_[0, np.cumsum(enc.lengths)[:-1]], enc.lengths))
    assert sorted(seen) == expected, "every example appears exactly once per epoch"
    assert np.mean(widths) < 0.8 * 64


def test_training_epochs_reshuffle(varied):
    enc = pipeline.encode(varied, tiny_tokenizer(), max_length=64)
    ds = pipeline.training_dataset(enc, varied.targets, batch_size=8, seed=0)
    first = [f["input_ids"].numpy().tobytes() for f, _ in ds]
    second = [f["input_ids"].numpy().tobytes() for f, _ in ds]
    assert first != second


def test_pad_to_bucket_boundary_bounds_shapes(varied):
    enc = pipeline.encode(varied, tiny_tokenizer(), max_length=64)
    ds = pipeline.training_dataset(enc, varied.targets, batch_size=8, seed=0, pad_to_bucket_boundary=True)
    widths = {f["input_ids"].shape[1] for f, _ in ds}
    assert widths <= {b - 1 for b in pipeline.bucket_boundaries(64)} | {int(enc.lengths.max())}


def test_inference_order_is_restored(varied):
    enc = pipeline.encode(varied, tiny_tokenizer(), max_length=64)
    ds, order = pipeline.inference_dataset(enc, batch_size=16)
    lengths = np.concatenate([f["attention_mask"].numpy().sum(axis=1) for f in ds])
    assert (np.diff(lengths) >= 0).all(), "inference batches are length-sorted"
    np.testing.assert_array_equal(pipeline.restore_order(lengths, order), enc.lengths)


def test_token_budget_batches(varied):
    enc = pipeline.encode(varied, tiny_tokenizer(), max_length=64)
    ds = pipeline.training_dataset(enc, varied.targets, batch_size=8, seed=0, batch_tokens=128)
    sizes, total = {}, 0
    for features, _ in ds:
        width, count = features["input_ids"].shape[1], features["input_ids"].shape[0]
        assert count * width <= 128 + width, "a batch holds about batch_tokens padded tokens"
        sizes.setdefault(width, []).append(count)
        total += count
    assert total == len(varied)
    short, long = min(sizes), max(sizes)
    assert max(sizes[short]) > max(sizes[long]), "short sentences come in bigger batches"


def test_training_and_inference_pipelines_run_without_the_autotune_thread(varied):
    # Freeing an autotuned iterator after a long fit waited up to 60 s for tf.data's autotune thread
    # (benchmarks/findings.md); the pipelines use fixed parallelism instead, under a strategy's options too.
    from tfkit.models.distribution import distribute_options

    enc = pipeline.encode(varied, tiny_tokenizer(), max_length=64)
    train = pipeline.training_dataset(enc, varied.targets, batch_size=8, seed=0)
    infer, _ = pipeline.inference_dataset(enc, batch_size=16)
    for ds in (train, infer, distribute_options(train)):
        assert ds.options().autotune.enabled is False
    assert sum(int(t.shape[0]) for _, t in train) == len(varied)  # and it still yields every example
