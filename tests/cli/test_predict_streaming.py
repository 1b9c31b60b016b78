"""`tfkit predict --input FILE`: streamed in chunks, written atomically, errors naming file/row/line."""

from __future__ import annotations

import io
import json

import pytest

import tfkit
from tfkit.cli.main import main
from tfkit.errors import ConfigError, DataError, DiskFullError, TfkitError
from tfkit.models import streaming
from tfkit.models.streaming import predict_file, read_text_chunks, write_predictions
from tests.conftest import toy_texts

ROWS = 30
CHUNK = 7  # smaller than the file: 5 chunks (7, 7, 7, 7, 2)


@pytest.fixture(scope="module")
def clf(tiny_checkpoint) -> tfkit.TextClassifier:
    return tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=("neg", "pos"), max_length=16)


@pytest.fixture(scope="module")
def model_dir(clf, tmp_path_factory):
    return clf.save_pretrained(tmp_path_factory.mktemp("streaming") / "model")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return toy_texts(ROWS, seed=3)[0]


def _write(path, texts, column="text"):
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps({column: t, "id": i}) + "\n" for i, t in enumerate(texts)))
    else:
        sep = "\t" if path.suffix == ".tsv" else ","
        path.write_text(f"id{sep}{column}\n" + "".join(f"{i}{sep}{t}\n" for i, t in enumerate(texts)))
    return path


def _read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _assert_same(lines, texts, expected):
    assert [line["text"] for line in lines] == list(texts)  # every row, in file order
    assert [line["label"] for line in lines] == [p["label"] for p in expected]
    for line, p in zip(lines, expected):
        assert line["probabilities"] == pytest.approx(p["probabilities"], abs=1e-5)


class _Crash(RuntimeError):
    pass


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_streamed_output_equals_predict_in_order(tmp_path, clf, texts, suffix):
    path = _write(tmp_path / f"in{suffix}", texts, column="review")
    out = tmp_path / "out.jsonl"
    assert predict_file(clf, path, out, text_column="review", chunk_size=CHUNK) == ROWS
    _assert_same(_read_lines(out), texts, clf.predict(texts))


def test_text_pairs_stream_as_pairs(tmp_path, clf, texts):
    path = tmp_path / "pairs.csv"
    path.write_text("a,b\n" + "".join(f"{t},{t[::-1]}\n" for t in texts))
    pairs = [(t, t[::-1]) for t in texts]
    chunks = list(read_text_chunks(path, "a", "b", chunk_size=CHUNK))
    assert [len(c) for c in chunks] == [7, 7, 7, 7, 2]
    assert [p for c in chunks for p in c] == pairs
    out = io.StringIO()
    write_predictions(clf, chunks, out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [tuple(line["text"]) for line in lines] == pairs
    assert [line["label"] for line in lines] == [p["label"] for p in clf.predict(pairs)]


def test_cli_streams_file_to_output_and_to_stdout(tmp_path, model_dir, clf, texts, capsys):
    path = _write(tmp_path / "in.csv", texts, column="review")
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(model_dir), "--input", str(path), "--text-column", "review",
                 "--output", str(out), "--chunk-size", str(CHUNK)]) == 0
    assert f"predictions: {out}" in capsys.readouterr().out
    expected = clf.predict(texts)
    _assert_same(_read_lines(out), texts, expected)

    # positional texts still work, alone or before the file's rows; stdout gets only JSON lines
    assert main(["predict", str(model_dir), "good film", "--input", str(path), "--text-column", "review",
                 "--chunk-size", str(CHUNK)]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    _assert_same(lines, ["good film", *texts], clf.predict(["good film", *texts]))
    assert captured.err == ""  # no progress line when stderr is not a terminal


@pytest.mark.parametrize("existing", [False, True])
def test_crash_midway_leaves_no_partial_output(tmp_path, clf, texts, monkeypatch, existing):
    path = _write(tmp_path / "in.csv", texts)
    out = tmp_path / "out.jsonl"
    if existing:
        out.write_text("old predictions\n")
    calls = []
    real_predict = clf.predict

    def crash_on_second_chunk(chunk, batch_size=None):
        calls.append(len(chunk))
        if len(calls) == 2:
            raise _Crash("killed midway")
        return real_predict(chunk, batch_size=batch_size)

    monkeypatch.setattr(clf, "predict", crash_on_second_chunk)
    with pytest.raises(_Crash):
        predict_file(clf, path, out, chunk_size=CHUNK)
    assert calls == [CHUNK, CHUNK]
    assert sorted(p.name for p in tmp_path.iterdir()) == (["in.csv", "out.jsonl"] if existing else ["in.csv"])
    if existing:
        assert out.read_text() == "old predictions\n"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("no_column.csv", "review\ngood\n", "text column 'text' not found. Available columns: ['review']"),
        ("empty_row.csv", "text\n" + "fine\n" * 12 + '"  "\n', "row 13, column 'text': expected non-empty text"),
        ("short_row.tsv", "id\ttext\n1\tfine\n2\n", "row 2, column 'text': expected non-empty text"),
        ("bad_json.jsonl", '{"text": "fine"}\n\n{"text": oops}\n', "line 3 is not valid JSON"),
        ("not_object.jsonl", '{"text": "fine"}\n["fine"]\n', "line 2 must be a JSON object"),
        ("missing_key.jsonl", '{"text": "fine"}\n{"txt": "fine"}\n', "row 2, column 'text': text is missing"),
        ("number.jsonl", '{"text": "fine"}\n{"text": 7}\n', "row 2, column 'text': expected text. Received: int 7"),
        ("latin1.csv", "text\nfine\nfine\ncaf\xe9\n".encode("latin-1"), "line 4 is not valid UTF-8"),
        ("latin1.jsonl", '{"text": "fine"}\n{"text": "caf\xe9"}\n'.encode("latin-1"), "line 2 is not valid UTF-8"),
        ("header_only.csv", "text\n", "no data rows"),
        ("empty.csv", "", "the file is empty"),
        ("notes.txt", "text\nfine\n", "Cannot tell the format"),
    ],
)
def test_bad_input_names_file_and_row(tmp_path, clf, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "out.jsonl"
    with pytest.raises(DataError) as err:
        predict_file(clf, path, out, chunk_size=5)  # in empty_row.csv the bad row comes after 2 chunks were written
    assert isinstance(err.value, TfkitError)
    assert message in str(err.value) and str(path) in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing half-written


def test_encoding_is_honoured(tmp_path, clf):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text\ncaf\xe9 cr\xe8me\n".encode("latin-1"))
    assert list(read_text_chunks(path, encoding="latin-1")) == [["caf\xe9 cr\xe8me"]]
    assert list(read_text_chunks(path, encoding_errors="replace")) == [["caf\ufffd cr\ufffdme"]]
    for bad in ({"encoding": "klingon"}, {"encoding": "base64"}, {"encoding_errors": "shrug"},
                {"delimiter": ";;"}, {"chunk_size": 0}):
        with pytest.raises(ConfigError, match=f"Received: {next(iter(bad))}="):
            read_text_chunks(path, **bad)


def test_full_disk_keeps_the_old_output(tmp_path, texts, monkeypatch):
    path = _write(tmp_path / "in.csv", texts)
    out = tmp_path / "out.jsonl"
    out.write_text("old predictions\n")

    class FullDisk:
        def predict(self, chunk, batch_size=None):
            raise OSError(28, "No space left on device")

    with pytest.raises(DiskFullError, match="No space left on device while writing"):
        predict_file(FullDisk(), path, out, chunk_size=CHUNK)
    assert out.read_text() == "old predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.jsonl"]


def test_cli_error_is_clean_and_writes_nothing(tmp_path, model_dir, capsys):
    path = tmp_path / "in.csv"
    path.write_text("text\n" + "fine\n" * 9 + '\n""\n')  # the blank line is skipped; row 10 is empty
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(model_dir), "--input", str(path), "--output", str(out), "--chunk-size", "4"]) == 2
    assert f"{path}, row 10, column 'text'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_reads_lazily_and_holds_one_chunk(tmp_path, texts, monkeypatch, suffix):
    """Bounded memory without 100k rows: when chunk k is predicted, only k chunks were read and k-1 written."""
    path = _write(tmp_path / f"in{suffix}", texts)
    consumed = []  # rows (JSON lines) or frames (CSV) pulled from the file so far

    if suffix == ".csv":
        real_read_csv = streaming.pd.read_csv

        class Reader:
            def __init__(self, *args, **kwargs):
                self.reader = real_read_csv(*args, **kwargs)

            def __enter__(self):
                self.reader.__enter__()
                return self

            def __exit__(self, *exc):
                return self.reader.__exit__(*exc)

            def __iter__(self):
                for frame in self.reader:
                    consumed.append(len(frame))
                    yield frame

        monkeypatch.setattr(streaming.pd, "read_csv", Reader)
    else:
        real_open = open

        def counting_open(*args, **kwargs):
            f = real_open(*args, **kwargs)

            class Lines:
                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    f.close()

                def __iter__(self):
                    for line in f:
                        consumed.append(1)
                        yield line

            return Lines()

        monkeypatch.setattr(streaming, "open", counting_open, raising=False)

    out = io.StringIO()
    seen = []

    class Spy:
        def predict(self, chunk, batch_size=None):
            seen.append((len(chunk), sum(consumed) if suffix == ".jsonl" else len(consumed),
                         len(out.getvalue().splitlines())))
            return [{"label": "pos"} for _ in chunk]

    assert write_predictions(Spy(), read_text_chunks(path, chunk_size=CHUNK), out) == ROWS
    sizes = [n for n, _, _ in seen]
    assert sizes == [7, 7, 7, 7, 2] and max(sizes) <= CHUNK
    for k, (_, read, written) in enumerate(seen, start=1):
        assert written == CHUNK * (k - 1)  # earlier chunks are already out
        if suffix == ".csv":
            assert read == k  # one pandas chunk per predicted chunk, none read ahead
        else:
            assert read == min(CHUNK * k, ROWS)  # exactly the rows of this chunk, none read ahead
