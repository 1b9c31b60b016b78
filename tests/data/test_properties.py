"""Property-based tests (hypothesis) of the loaders and the tokenise/bucket/pad pipeline.

Properties:
    * loading anything raises nothing but a ``TfkitError``, and what loads is a
      consistent dataset that tokenises;
    * CSV/TSV/JSONL files written by the standard tools, in several encodings,
      load back to exactly the texts and labels written;
    * ``encoding_errors="replace"`` counts exactly the rows that held bad bytes;
    * a training epoch yields every example exactly once, with its own tokens;
    * padding never changes a prediction.

Every test is derandomized (a fixed example sequence) and keeps no example
database, so a CI run is the same as a local one.
"""

from __future__ import annotations

import csv
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tfkit
from tfkit._keras import keras
from tfkit.data import pipeline
from tfkit.errors import TfkitError
from tfkit.testing import tiny_tokenizer
from tfkit.testing.tiny import WORDS

FAST = settings(derandomize=True, database=None, deadline=None, max_examples=60,
                suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(FAST, max_examples=15)

TOKENIZER = tiny_tokenizer()

# --- strategies ----------------------------------------------------------------------------------

# Arbitrary Unicode (emoji, CJK, controls, combining marks, line and paragraph separators), plus the
# characters that break naive CSV handling.
tricky = st.sampled_from([",", '"', "'", "\n", "\r", "\r\n", "\t", " ", "\x00", "\x0b", "\x85", "\u2028", "\ufeff",
                          "😀", "日本", "é", "\\", "#", ";", "|"])
any_text = st.lists(st.one_of(st.text(max_size=6), tricky), max_size=6).map("".join)
real_text = any_text.filter(lambda t: t.strip())  # what the loader accepts as a text
cell = st.one_of(
    any_text, st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.one_of(st.text(max_size=4), st.none(), st.integers(), st.floats()), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
column_name = st.one_of(st.sampled_from(["text", "label", "text_pair", "tags"]), st.text(max_size=4))
text_cell = st.one_of(real_text, real_text, real_text, cell)
label_cell = st.one_of(
    st.sampled_from(["a", "b", " a", "1", "01", "2.5", "-1", "nan", "inf", "1e400", "²", "١", "x,y", "x|y", "", " "]),
    st.integers(-3, 3), st.floats(), st.booleans(),
    st.lists(st.one_of(st.sampled_from(["a", "b", "", "nan"]), st.none(), st.integers(0, 2), st.floats()), max_size=3),
    cell,
)
options = st.fixed_dictionaries({
    "task": st.sampled_from(["auto", "auto", "single_label", "multi_label", "regression", "bogus"]),
    "label_delimiter": st.sampled_from([None, None, ",", "|", ""]),
    "labels": st.one_of(st.none(), st.none(), st.lists(st.sampled_from(["a", "b", "1", "x", "y", 1, 2.0]), max_size=4),
                        st.sampled_from(["ab", 5])),
    "text_pair": st.sampled_from([None, None, "text_pair"]),
})


@st.composite
def columns_of(draw):
    """Mostly well-formed {"text": [...], "label": [...]} sources, with odd columns, names and values."""
    n = draw(st.integers(0, 6))
    columns = {"text": draw(st.lists(text_cell, min_size=n, max_size=n)),
               "label": draw(st.lists(label_cell, min_size=n, max_size=n))}
    if draw(st.booleans()):
        columns["text_pair"] = draw(st.lists(text_cell, min_size=n, max_size=n))
    for name in draw(st.lists(column_name, max_size=2)):  # extra, missing, ragged or scalar columns
        columns[name] = draw(st.one_of(st.lists(cell, max_size=6), cell, st.just(None)))
    for name in draw(st.lists(st.sampled_from(["text", "label"]), max_size=1)):
        del columns[name]
    return columns


def load_or_tfkit_error(source, **kwargs):
    """``tfkit.data.load``; None for a TfkitError. Any other exception fails the test with its traceback."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tfkit.data.load(source, **kwargs)
    except TfkitError:
        return None


def check_consistent(data: tfkit.TextDataset) -> None:
    assert len(data.texts) == len(data.targets) > 0
    assert all(isinstance(t, str) and t.strip() for t in data.texts)
    if data.task is tfkit.TaskType.SINGLE_LABEL:
        assert data.targets.dtype == np.int64 and ((0 <= data.targets) & (data.targets < len(data.labels))).all()
    elif data.task is tfkit.TaskType.MULTI_LABEL:
        assert data.targets.shape == (len(data), len(data.labels))
    else:
        assert np.isfinite(data.targets).all()
    assert len(set(data.labels)) == len(data.labels)
    enc = pipeline.encode(data, TOKENIZER, max_length=16)  # whatever loads, tokenises
    assert len(enc) == len(data) and (enc.lengths >= 2).all()


# --- (a) loading raises nothing but TfkitError --------------------------------------------------


@FAST
@given(columns=columns_of(), kwargs=options)
def test_loading_columns_raises_only_tfkit_errors(columns, kwargs):
    data = load_or_tfkit_error(columns, **kwargs)
    if data is not None:
        check_consistent(data)


@FAST
@given(columns=columns_of(), kwargs=options, as_frame=st.booleans(), duplicate=st.sampled_from([None, "text", "label"]))
def test_loading_rows_and_frames_raises_only_tfkit_errors(columns, kwargs, as_frame, duplicate):
    columns = {k: v for k, v in columns.items() if isinstance(v, list)}
    n = min((len(v) for v in columns.values()), default=0)
    rows = [{k: v[i] for k, v in columns.items()} for i in range(n)]
    source = pd.DataFrame(rows) if as_frame else rows
    if as_frame and duplicate in source.columns:
        source = pd.concat([source, source[[duplicate]]], axis=1)  # two columns of one name
    data = load_or_tfkit_error(source, **kwargs)
    if data is not None:
        check_consistent(data)


NASTY_LINES = ["", "\ufeff", "text,label", "text\tlabel", "[" * 3000, "9" * 5000, "NaN", '"unterminated,a',
               '{"text": "a", "label": 1e999}', '{"text": "\\ud800", "label": "a"}', '{"text": ["a"], "label": {}}']


@st.composite
def file_lines(draw):
    """Header and rows joined with a drawn delimiter, JSON lines of drawn cells, and lines known to be nasty."""
    sep = draw(st.sampled_from([",", "\t", ";"]))
    line = st.one_of(
        st.sampled_from(NASTY_LINES),
        st.tuples(text_cell.map(str), label_cell.map(str)).map(sep.join),
        st.fixed_dictionaries({"text": text_cell, "label": label_cell}).map(
            lambda row: json.dumps(row, ensure_ascii=False)),
    )
    return "\n".join(draw(st.lists(line, max_size=6)))


file_text = file_lines()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("properties")


@FAST
@given(
    content=st.one_of(st.binary(max_size=80), file_text.map(lambda t: t.encode("utf-8", errors="surrogatepass"))),
    suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".txt"]),
    encoding=st.sampled_from(["utf-8", "cp1252", "latin-1", "utf-16", "shift_jis", "no-such-codec"]),
    encoding_errors=st.sampled_from(["strict", "replace", "ignore"]),
    delimiter=st.sampled_from([None, ",", ";", "\t", "", ";;", "\n"]),
    kwargs=options,
)
def test_loading_arbitrary_files_raises_only_tfkit_errors(folder, content, suffix, encoding, encoding_errors,
                                                            delimiter, kwargs):
    path = folder / f"arbitrary{suffix}"
    path.write_bytes(content)
    data = load_or_tfkit_error(path, encoding=encoding, encoding_errors=encoding_errors, delimiter=delimiter, **kwargs)
    if data is not None:
        check_consistent(data)


@FAST
@given(text=st.text(min_size=1).filter(str.strip), position=st.integers(min_value=0, max_value=10))
def test_lone_surrogates_are_data_errors_naming_the_row(text, position):
    bad = text[:position] + "\ud800" + text[position:]
    with pytest.raises(tfkit.errors.DataError, match=r"row 2, column 'text': expected valid Unicode"):
        tfkit.data.load({"text": [text, bad], "label": ["a", "b"]})


# --- round trips ---------------------------------------------------------------------------------

labels_of = st.lists(st.text(alphabet="abcxyz 01", min_size=1, max_size=3).filter(str.strip), min_size=2,
                     max_size=4, unique_by=str.strip)


@st.composite
def labelled(draw, text=real_text, min_size=2):
    names = draw(labels_of)
    texts = draw(st.lists(text, min_size=min_size, max_size=8))
    labels = [draw(st.sampled_from(names)) for _ in texts]
    assume(len({n.strip() for n in labels}) >= 2)
    return texts, labels


def check_round_trip(data, texts, labels):
    assert data.texts == tuple(texts)
    assert [data.labels[i] for i in data.targets] == [n.strip() for n in labels]


@FAST
@given(example=labelled(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
def test_csv_written_by_the_csv_module_round_trips(folder, example, encoding, quoting):
    texts, labels = example
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=quoting)  # the default "\r\n" terminator: "\n" would leave a lone "\r" unquoted
    writer.writerow(["text", "label"])
    writer.writerows(zip(texts, labels))
    try:
        raw = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    path = folder / "round.csv"
    path.write_bytes(raw)
    data = tfkit.data.load(path, task="single_label", encoding=encoding)
    check_round_trip(data, texts, labels)


@FAST
@given(example=labelled(text=real_text.filter(lambda t: not set(t) & set("\t\r\n"))))
def test_tsv_written_by_pandas_round_trips(folder, example):
    texts, labels = example
    path = folder / "round.tsv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, sep="\t", index=False, quoting=csv.QUOTE_NONE,
                                                          escapechar=None)
    check_round_trip(tfkit.data.load(path, task="single_label"), texts, labels)


@FAST
@given(example=labelled(), ensure_ascii=st.booleans())
def test_jsonl_round_trips(folder, example, ensure_ascii):
    texts, labels = example
    path = folder / "round.jsonl"
    lines = [json.dumps({"text": t, "label": n}, ensure_ascii=ensure_ascii) for t, n in zip(texts, labels)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    check_round_trip(tfkit.data.load(path, task="single_label"), texts, labels)


@FAST
@given(rows=st.lists(st.tuples(real_text.filter(lambda t: "\ufffd" not in t), st.integers(0, 3), st.integers(0, 9)),
                    min_size=2, max_size=8))
def test_replace_counts_exactly_the_rows_with_bad_bytes(folder, rows):
    # A lone "\udcff" written with surrogateescape becomes the byte 0xff: never valid UTF-8, one U+FFFD each.
    texts = [t[:at] + "\udcff" * bad + t[at:] for t, bad, at in rows]
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([("text", "label")] + [(t, f"l{i % 2}") for i, t in enumerate(texts)])
    path = folder / "mixed.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8", errors="surrogateescape"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = tfkit.data.load(path, encoding_errors="replace", task="single_label")
    assert data.replaced_rows == sum(bad > 0 for _, bad, _ in rows)
    assert data.texts == tuple(t.replace("\udcff", "\ufffd") for t in texts)


# --- (b) every example exactly once per epoch ----------------------------------------------------

word = st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=3),
                 st.sampled_from(["😀", "日本語", "\x01", "é"]))
sentence = st.lists(word, min_size=1, max_size=70).map(" ".join).filter(str.strip)


@FAST
@given(texts=st.lists(sentence, min_size=1, max_size=40), batch_size=st.integers(1, 16),
       batch_tokens=st.one_of(st.none(), st.integers(1, 300)), max_length=st.integers(4, 80),
       pad_to_bucket_boundary=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_training_epochs_yield_every_example_once_with_its_tokens(texts, batch_size, batch_tokens, max_length,
                                                                  pad_to_bucket_boundary, seed):
    data = tfkit.data.from_lists(texts, [i + 0.5 for i in range(len(texts))])  # regression target = id + 0.5
    enc = pipeline.encode(data, TOKENIZER, max_length=max_length)
    starts = np.concatenate([[0], np.cumsum(enc.lengths)[:-1]])
    ds = pipeline.training_dataset(enc, data.targets, batch_size=batch_size, seed=seed,
                                   pad_to_bucket_boundary=pad_to_bucket_boundary, batch_tokens=batch_tokens)
    steps = int(ds.cardinality())
    for _ in range(2):
        seen, batches = [], 0
        for features, targets in ds:
            ids, mask = features["input_ids"].numpy(), features["attention_mask"].numpy()
            width = ids.shape[1]
            assert batch_tokens is not None or len(ids) <= batch_size
            assert batch_tokens is None or len(ids) * width <= max(batch_tokens, width)
            for row, target in zip(range(len(ids)), targets.numpy()):
                index = int(target - 0.5)
                n = int(enc.lengths[index])
                assert mask[row].tolist() == [1] * n + [0] * (width - n)
                np.testing.assert_array_equal(ids[row, :n], enc.input_ids[starts[index]:starts[index] + n])
                assert (ids[row, n:] == enc.pad_token_id).all()
                seen.append(index)
            batches += 1
        assert sorted(seen) == list(range(len(texts))), "every example exactly once per epoch"
        assert batches == steps


# --- (c) padding never changes a prediction ------------------------------------------------------


@pytest.fixture(scope="module")
def classifier(tiny_checkpoint):
    """The tiny classifier with its kernels and embeddings scaled by 5.

    At the checkpoint's 0.02 initialisation the logits hardly depend on the input (a spread of 4e-5 across texts),
    so a 1e-5 test would pass even with padding attended to. Scaled, texts differ by ~0.02 and attending to padding
    moves logits by ~0.07, while exact padding stays below 1e-7.
    """
    keras.utils.set_random_seed(0)
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=("neg", "pos"), max_length=32)
    for weight in clf.backbone.weights:
        if weight.name.endswith("kernel:0") or ("embeddings" in weight.name and "LayerNorm" not in weight.name):
            weight.assign(weight * 5.0)
    logits = clf.predict_logits(["good", "the film was bad and the plot was boring"])
    assert np.abs(logits[0] - logits[1]).max() > 1e-3, "the logits must depend on the input for the test to mean much"
    return clf


@SLOW
@given(short=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
       longer=st.lists(st.lists(word, min_size=5, max_size=40).map(" ".join).filter(str.strip), min_size=1,
                       max_size=4))
def test_padding_never_changes_a_prediction(classifier, short, longer):
    texts = [short] + longer
    alone = classifier.predict_logits(texts, batch_size=1)  # each example in a batch of its own: no padding
    batched = classifier.predict_logits(texts, batch_size=len(texts))  # one batch padded to the longest
    assert alone.dtype == np.float32 and np.isfinite(alone).all()
    np.testing.assert_allclose(batched, alone, rtol=0, atol=1e-5)
