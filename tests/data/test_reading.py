"""Loading every source format, and the bad-input errors that name file/row/column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import tfkit
from tfkit.errors import ConfigError, DataError


def write(path, text: str | bytes):
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "name, content",
    [
        ("d.csv", 'review,sentiment\n"great, really",pos\ndull,neg\n'),
        ("d.tsv", "review\tsentiment\ngreat, really\tpos\ndull\tneg\n"),
        ("d.jsonl", '{"review": "great, really", "sentiment": "pos"}\n\n{"review": "dull", "sentiment": "neg"}\n'),
    ],
)
def test_files_of_each_format_load_the_same(tmp_path, name, content):
    data = tfkit.data.load(write(tmp_path / name, content), text="review", label="sentiment")
    assert data.texts == ("great, really", "dull")
    assert data.labels == ("neg", "pos")
    assert data.targets.tolist() == [1, 0]
    assert data.source.endswith(name)


def test_dataframe_dict_rows_and_lists_load():
    frame = pd.DataFrame({"t": ["a b", "c d", "e"], "y": ["x", "y", "x"]})
    assert tfkit.data.load(frame, text="t", label="y").targets.tolist() == [0, 1, 0]
    assert tfkit.data.load({"t": ["a", "b"], "y": [1, 0]}, text="t", label="y").labels == ("0", "1")
    rows = [{"text": "a", "label": "p"}, {"text": "b", "label": "q"}]
    assert len(tfkit.data.load(rows)) == 2
    assert tfkit.data.from_lists(["a", "b"], ["p", "q"]).labels == ("p", "q")


def test_integer_labels_sort_numerically():
    data = tfkit.data.from_lists(["a"] * 3, [10, 2, 1])
    assert data.labels == ("1", "2", "10")
    assert data.targets.tolist() == [2, 1, 0]


def test_sentence_pairs(tmp_path):
    path = write(tmp_path / "p.csv", "a,b,label\nhi,there,yes\nlow,down,no\n")
    data = tfkit.data.load(path, text="a", text_pair="b")
    assert data.text_pairs == ("there", "down")


def test_multi_label_from_lists_and_delimited(tmp_path):
    listed = tfkit.data.from_lists(["a", "b", "c"], [["x", "y"], ["y"], []])
    assert listed.task is tfkit.TaskType.MULTI_LABEL
    assert listed.labels == ("x", "y")
    assert listed.targets.tolist() == [[1, 1], [0, 1], [0, 0]]
    path = write(tmp_path / "m.csv", "text,tags\na,x|y\nb,y\n")
    delimited = tfkit.data.load(path, label="tags", label_delimiter="|")
    np.testing.assert_array_equal(delimited.targets, [[1, 1], [0, 1]])
    jsonl = write(tmp_path / "m.jsonl", json.dumps({"text": "a", "label": ["x", "z"]}) + "\n"
                  + json.dumps({"text": "b", "label": ["z"]}) + "\n")
    assert tfkit.data.load(jsonl).labels == ("x", "z")


def test_regression_is_inferred_from_non_integer_numbers(tmp_path):
    data = tfkit.data.load(write(tmp_path / "r.csv", "text,label\na,0.5\nb,3\n"))
    assert data.task is tfkit.TaskType.REGRESSION
    assert data.targets.dtype == np.float32
    assert data.targets.tolist() == [0.5, 3.0]
    assert data.num_labels == 1


def test_fixed_label_order_is_kept():
    data = tfkit.data.from_lists(["a", "b"], ["neg", "pos"], label_names=("pos", "neg"))
    assert data.labels == ("pos", "neg")
    assert data.targets.tolist() == [1, 0]


# --- bad input: each error names where the problem is ------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"File not found.*nope\.csv"):
        tfkit.data.load(tmp_path / "nope.csv")


def test_missing_column_lists_available_columns(tmp_path):
    path = write(tmp_path / "d.csv", "review,label\nx,a\ny,b\n")
    with pytest.raises(DataError, match=r"d\.csv: text column 'text' not found.*\['review', 'label'\]"):
        tfkit.data.load(path)


@pytest.mark.parametrize("content, message", [("", "empty"), ("   \n", "empty"), ("text,label\n", "no data rows")])
def test_empty_files(tmp_path, content, message):
    with pytest.raises(DataError, match=message):
        tfkit.data.load(write(tmp_path / "e.csv", content))


@pytest.mark.parametrize("text", ['""', "   "])
def test_empty_or_whitespace_text_names_row_and_column(tmp_path, text):
    path = write(tmp_path / "d.csv", f"text,label\nfine,a\n{text},b\n")
    with pytest.raises(DataError, match=r"d\.csv, row 2, column 'text': text is empty or whitespace"):
        tfkit.data.load(path)


def test_non_utf8_bytes_name_the_line(tmp_path):
    path = write(tmp_path / "bad.csv", b"text,label\nfine,a\ncaf\xe9,b\n")
    with pytest.raises(DataError, match=r"bad\.csv: line 3 is not valid UTF-8 \(byte 0xe9"):
        tfkit.data.load(path)


def test_missing_label_names_row(tmp_path):
    path = write(tmp_path / "d.csv", "text,label\na,x\nb,\nc,y\n")
    with pytest.raises(DataError, match=r"row 2, column 'label': label is missing"):
        tfkit.data.load(path)


def test_nan_label_in_dataframe_names_row():
    frame = pd.DataFrame({"text": ["a", "b"], "label": [1.0, float("nan")]})
    with pytest.raises(DataError, match=r"DataFrame, row 2, column 'label': label is missing"):
        tfkit.data.load(frame)


def test_unknown_label_against_fixed_labels(tmp_path):
    path = write(tmp_path / "dev.csv", "text,label\na,pos\nb,meh\n")
    with pytest.raises(DataError, match=r"dev\.csv, row 2, column 'label': unknown label 'meh'"):
        tfkit.data.load(path, labels=("neg", "pos"))


def test_single_class_is_rejected(tmp_path):
    with pytest.raises(DataError, match="single class 'a'"):
        tfkit.data.load(write(tmp_path / "d.csv", "text,label\nx,a\ny,a\n"))


def test_invalid_json_line(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"text": "a", "label": "x"}\n{"text": \n')
    with pytest.raises(DataError, match=r"d\.jsonl: line 2 is not valid JSON"):
        tfkit.data.load(path)


def test_unknown_extension_and_task(tmp_path):
    with pytest.raises(DataError, match="Cannot tell the format"):
        tfkit.data.load(write(tmp_path / "d.xyz", "text,label\na,b\n"))
    with pytest.raises(ConfigError, match="Unknown task"):
        tfkit.data.from_lists(["a", "b"], ["x", "y"], task="ranking")


def test_non_numeric_regression_target_names_row():
    with pytest.raises(DataError, match=r"row 2, column 'label': expected a number"):
        tfkit.data.from_lists(["a", "b"], [0.5, "high"], task="regression")
