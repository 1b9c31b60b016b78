"""Malformed input that used to escape as pandas/json/Python errors: now a TfkitError naming where.

Each case is one the property tests in ``test_properties.py`` found or could find, pinned here so a
regression fails by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tfkit
from tfkit.data import pipeline
from tfkit.errors import ConfigError, DataError
from tfkit.testing import tiny_tokenizer


def write(path, content: str | bytes):
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bom.csv", b"\xef\xbb\xbf\n", r"bom\.csv: the file is empty"),  # was pandas' EmptyDataError
        ("deep.jsonl", '{"text": ' + "[" * 3000, r"deep\.jsonl: line 1 cannot be read as JSON \(RecursionError"),
        ("int.jsonl", '{"text": "a", "label": ' + "9" * 5000 + "}", r"int\.jsonl: line 1 cannot be read as JSON"),
        ("dict.jsonl", '{"text": "a", "label": {"k": 1}}\n{"text": "b", "label": "x"}',
         r"dict\.jsonl, row 1, column 'label': expected a label .* Received: dict"),
        ("nested.jsonl", '{"text": "a", "label": [["x"]]}\n{"text": "b", "label": ["y"]}',
         r"nested\.jsonl, row 1, column 'label': expected a label .* Received: list \['x'\]"),
    ],
)
def test_malformed_files_are_data_errors(tmp_path, name, content, message):
    with pytest.raises(DataError, match=message):
        tfkit.data.load(write(tmp_path / name, content))


def test_json_lines_split_on_newlines_only(tmp_path):
    # str.splitlines() also splits on U+2028, U+2029 and U+0085, which json.dumps(ensure_ascii=False) writes raw.
    path = write(tmp_path / "d.jsonl", '{"text": "a\u2028b\x85c\u2029d", "label": "x"}\n{"text": "e", "label": "y"}\n')
    assert tfkit.data.load(path).texts == ("a\u2028b\x85c\u2029d", "e")


@pytest.mark.parametrize(
    "source, message",
    [
        ({"text": "abc", "label": "xyz"}, r"dict: expected a list of values for column 'text'\. Received: str"),
        ({"text": 5, "label": 3}, r"dict: expected a list of values for column 'text'\. Received: int"),
        (pd.DataFrame([["a", "x", "b"], ["c", "y", "d"]], columns=["text", "label", "text"]),
         r"DataFrame: expected one column named 'text'\. Received: 2 columns"),
        ({"text": ["a", "b"], "label": ["x", ["y"]]}, r"row 2, column 'label'.*Received: a list"),
    ],
)
def test_malformed_in_memory_sources_are_data_errors(source, message):
    with pytest.raises(DataError, match=message):
        tfkit.data.load(source, task="single_label")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(labels=5), r"Expected labels to be a list of label names\. Received: labels=5"),
        (dict(labels=["x", "y", "x"]), r"Expected distinct label names.*repeats \['x'\]"),
        (dict(label=["label"]), r"Expected a column name\. Received: label=\['label'\]"),
        (dict(label_delimiter=""), r"Expected label_delimiter to be a non-empty string"),
        (dict(delimiter="\n"), r"Expected delimiter to be one character.*Received: delimiter='\\n'"),
        (dict(delimiter=";;"), r"Received: delimiter=';;'"),
        (dict(delimiter=""), r"Received: delimiter=''"),
    ],
)
def test_bad_arguments_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        tfkit.data.load({"text": ["a", "b"], "label": ["x", "y"]}, **kwargs)


def test_non_finite_number_labels_are_class_names_not_crashes():
    # float(n) != int(n) raised OverflowError for 'inf'/'1e400' and ValueError for 'nan'.
    for odd in ("nan", "inf", "-inf", "1e400"):
        data = tfkit.data.from_lists(["a", "b"], [odd, "1.5"])
        assert data.task is tfkit.TaskType.SINGLE_LABEL and set(data.labels) == {odd, "1.5"}
        with pytest.raises(DataError, match=r"row 1, column 'label': expected a number .*NaN and infinity"):
            tfkit.data.from_lists(["a", "b"], [odd, "1.5"], task="regression")
    with pytest.raises(DataError, match=r"row 2, column 'label': expected a number"):
        tfkit.data.from_lists(["a", "b"], [0.5, float("inf")], task="regression")


def test_label_order_is_deterministic():
    # int('²') raised ValueError ('²'.isdigit() is True); '1' and '01' tied and kept the set's (hash-seeded) order.
    assert tfkit.data.from_lists(["a", "b"], ["²", "1"]).labels == ("1", "²")
    assert tfkit.data.from_lists(["a", "b", "c"], ["1", "01", "10"]).labels == ("01", "1", "10")


def test_missing_items_in_label_lists_are_skipped():
    data = tfkit.data.from_lists(["a", "b"], [["x", None, ""], ["y", float("nan")]])
    assert data.labels == ("x", "y") and data.targets.tolist() == [[1, 0], [0, 1]]


def test_a_single_string_is_not_a_list_of_texts():
    with pytest.raises(DataError, match=r"Expected texts to be a list\. Received: str 'ab'"):
        tfkit.data.from_lists("ab", ["x", "y"])


def test_pipeline_rejects_bad_batching_arguments():
    data = tfkit.data.from_lists(["good film", "bad"], ["pos", "neg"])
    enc = pipeline.encode(data, tiny_tokenizer(), max_length=16)
    with pytest.raises(ConfigError, match=r"batch_tokens >= 1.*Received: batch_tokens=0"):
        pipeline.training_dataset(enc, data.targets, batch_size=2, batch_tokens=0)
    with pytest.raises(ConfigError, match=r"increasing positive bucket boundaries.*\(8, 4\)"):
        pipeline.training_dataset(enc, data.targets, batch_size=2, boundaries=(8, 4))
    with pytest.raises(ConfigError, match=r"one target per example.*3 targets, 2 examples"):
        pipeline.training_dataset(enc, np.zeros(3, np.int64), batch_size=2)
