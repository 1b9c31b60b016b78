"""Streaming prediction: a file of texts in, JSON lines out, in bounded memory.

The input is read one chunk of rows at a time (pandas' chunked CSV reader for
``.csv``/``.tsv``, one line at a time for JSON lines), each chunk is predicted
and written out before the next is read, so memory does not grow with the
file. An output file is written to a temporary sibling and renamed into place
at the end: after a crash it is either absent or, if it existed, untouched.

Every bad input is a :class:`~tfkit.errors.DataError` naming the file, the row
(or line) and the column.

Examples:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "texts.csv"
    >>> _ = path.write_text("text\\ngood film\\ndull plot\\nfine\\n")
    >>> [chunk for chunk in read_text_chunks(path, chunk_size=2)]
    [['good film', 'dull plot'], ['fine']]
"""

from __future__ import annotations

import codecs
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, TextIO, Union

import pandas as pd

from tfkit._io import atomic_text_output
from tfkit.data.reading import DELIMITERS, JSON_LINES, checked_codec, checked_errors
from tfkit.errors import ConfigError, DataError

Text = Union[str, tuple[str, str]]
"""One input: a text, or a ``(text, text_pair)`` tuple."""

DEFAULT_CHUNK_SIZE = 2048
"""Rows read, predicted and written per step."""



def read_text_chunks(
    path: str | os.PathLike,
    text_column: str = "text",
    text_pair_column: str | None = None,
    *,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[list[Text]]:
    """The texts of a ``.csv``/``.tsv``/``.jsonl`` file, as lists of ``chunk_size`` rows.

    The file, format and encoding are checked at once; rows are read lazily,
    as the returned iterator is consumed, one chunk at a time. The file is
    parsed with the same options as :func:`tfkit.data.reading.read_table`
    (strings only, no NA guessing, no quoting in TSV).

    Args:
        path: the input file; the format comes from its extension.
        text_column: column (or JSON key) holding the text.
        text_pair_column: optional second text column; chunks then hold
            ``(text, text_pair)`` tuples.
        delimiter: overrides the delimiter guessed from the extension.
        encoding: the file's text encoding (a UTF-8 byte-order mark is skipped).
        encoding_errors: ``"strict"`` (default: undecodable bytes are an
            error naming the line) or ``"replace"`` (they become U+FFFD).
        chunk_size: rows per yielded list.

    Raises:
        ConfigError: a bad ``chunk_size``, ``encoding``, ``encoding_errors``
            or ``delimiter``.
        DataError: a missing/empty/unknown-format file, a missing column, an
            empty or missing text (naming the row), a bad JSON line or an
            undecodable line (naming the line).

    Examples:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.jsonl"
        >>> _ = path.write_text('{"text": "a b"}\\n{"text": "c"}\\n')
        >>> list(read_text_chunks(path, chunk_size=1))
        [['a b'], ['c']]
    """
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ConfigError(f"Expected chunk_size to be a positive integer. Received: chunk_size={chunk_size!r}.")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"'):
        raise ConfigError(
            "Expected delimiter to be one character other than a quote or line break, e.g. ',' or '\\t' or ';'. "
            f"Received: delimiter={delimiter!r}."
        )
    path = Path(path)
    encoding = checked_codec(encoding)
    checked_errors(encoding_errors)  # the same choices as tfkit.data.load
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in JSON_LINES:
        rows = _json_rows(path, encoding, encoding_errors)
    else:
        sep = delimiter or DELIMITERS.get(suffix)
        if sep is None:
            raise DataError(
                f"Cannot tell the format of '{path}' from its extension. "
                "Expected .csv, .tsv or .jsonl, or pass delimiter=',' (CLI: --delimiter ,)."
            )
        rows = _delimited_rows(path, sep, encoding, encoding_errors, chunk_size)
    return _chunks(path, rows, text_column, text_pair_column, chunk_size)


def write_predictions(
    classifier: Any, chunks: Iterable[Sequence[Text]], stream: TextIO, batch_size: int = 64, progress: bool = False
) -> int:
    """Predicts each chunk and writes one JSON object per input to ``stream``, in order.

    Each line is ``{"text": ..., **classifier.predict(...)[i]}``. Only one chunk
    of texts and predictions is held at a time.

    Args:
        classifier: a :class:`~tfkit.TextClassifier` (anything whose
            ``predict(texts, batch_size=)`` returns one dict per text).
        chunks: lists of texts or ``(text, pair)`` tuples, e.g. from
            :func:`read_text_chunks`.
        stream: a text stream; flushed after every chunk.
        batch_size: examples per model batch.
        progress: report rows done on standard error.

    Returns:
        The number of predictions written.

    Examples:
        >>> import io
        >>> class Echo:
        ...     def predict(self, texts, batch_size=None):
        ...         return [{"length": len(t)} for t in texts]
        >>> out = io.StringIO()
        >>> write_predictions(Echo(), [["ab"], ["c"]], out)
        2
        >>> out.getvalue()
        '{"text": "ab", "length": 2}\\n{"text": "c", "length": 1}\\n'
    """
    done = 0
    for chunk in chunks:
        if not chunk:
            continue
        predictions = classifier.predict(list(chunk), batch_size=batch_size)
        stream.write("".join(json.dumps({"text": t, **p}) + "\n" for t, p in zip(chunk, predictions)))
        stream.flush()
        done += len(chunk)
        if progress:
            print(f"\rpredicted {done} rows", end="", file=sys.stderr, flush=True)
    if progress and done:
        print(file=sys.stderr)
    return done


def predict_file(
    classifier: Any,
    path: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    text_column: str = "text",
    text_pair_column: str | None = None,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    batch_size: int = 64,
    progress: bool = False,
) -> int:
    """Predicts every text of a file, streaming JSON lines to ``output`` (atomically) or standard output.

    Args:
        classifier: a :class:`~tfkit.TextClassifier`.
        path: a ``.csv``, ``.tsv`` or ``.jsonl`` file of texts.
        output: the JSON-lines file to write (replaced only on success);
            ``None`` writes to standard output, line by line.
        text_column, text_pair_column, delimiter, encoding, encoding_errors,
            chunk_size: as in :func:`read_text_chunks`.
        batch_size: examples per model batch.
        progress: report rows done on standard error.

    Returns:
        The number of predictions written.

    Examples:
        >>> clf = tfkit.TextClassifier.load("saved_models/reviews/01_finetune/model")  # doctest: +SKIP
        >>> predict_file(clf, "reviews.csv", "predictions.jsonl", text_column="review")  # doctest: +SKIP
        25000
    """
    chunks = read_text_chunks(path, text_column, text_pair_column, delimiter=delimiter, encoding=encoding,
                              encoding_errors=encoding_errors, chunk_size=chunk_size)
    if output is None:
        return write_predictions(classifier, chunks, sys.stdout, batch_size, progress)
    with atomic_text_output(output) as stream:
        return write_predictions(classifier, chunks, stream, batch_size, progress)


# ------------------------------------------------------------------ reading
def _chunks(
    path: Path, rows: Iterator[dict[str, Any]], text_column: str, text_pair_column: str | None, chunk_size: int
) -> Iterator[list[Text]]:
    chunk: list[Text] = []
    count = 0
    for count, row in enumerate(rows, start=1):
        text = _text(path, count, row, text_column, "text")
        if text_pair_column is None:
            chunk.append(text)
        else:
            chunk.append((text, _text(path, count, row, text_pair_column, "text_pair")))
        if len(chunk) == chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
    if count == 0:
        raise DataError(f"{path}: the file has no data rows. Expected at least one row of text.")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"File not found. Received: path='{path}'.")
    if path.is_dir():
        raise DataError(f"Expected a file, got a directory. Received: path='{path}'.")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty.")


def _delimited_rows(path: Path, sep: str, encoding: str, errors: str, chunk_size: int) -> Iterator[dict[str, Any]]:
    try:
        with pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, quoting=3 if sep == "\t" else 0,
                         encoding=encoding, encoding_errors=errors, chunksize=chunk_size) as reader:
            for frame in reader:
                yield from frame.to_dict("records")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty.") from None
    except pd.errors.ParserError as err:
        raise DataError(f"{path}: cannot parse as delimited text: {err}") from None
    except UnicodeDecodeError as err:
        raise _decode_error(path, encoding, err) from None


def _json_rows(path: Path, encoding: str, errors: str) -> Iterator[dict[str, Any]]:
    try:
        with open(path, encoding=encoding, errors=errors) as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(
                        f"{path}: line {number} is not valid JSON ({err.msg}). "
                        'Expected one JSON object per line, e.g. {"text": "..."}.'
                    ) from None
                except (ValueError, RecursionError) as err:  # e.g. integers over 4,300 digits, very deep nesting
                    raise DataError(
                        f"{path}: line {number} cannot be read as JSON ({type(err).__name__}: {err})."
                    ) from None
                if not isinstance(row, dict):
                    raise DataError(
                        f"{path}: line {number} must be a JSON object. Received: {type(row).__name__}. "
                        'Write one object per line, e.g. {"text": "..."}.'
                    )
                yield row
    except UnicodeDecodeError as err:
        raise _decode_error(path, encoding, err) from None


def _decode_error(path: Path, encoding: str, err: UnicodeDecodeError) -> DataError:
    """Finds the first undecodable line by re-reading the file in binary (bounded memory)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with open(path, "rb") as f:
        for raw in f:
            try:
                line += decoder.decode(raw).count("\n")
            except UnicodeDecodeError as bad:
                line += raw[: max(bad.start, 0)].count(b"\n")
                return DataError(
                    f"{path}: line {line} is not valid {_display(encoding)} ({bad.reason}). Expected text in "
                    f"that encoding. Received: {raw.rstrip()[:80]!r}. If the file was saved in another encoding, "
                    "pass it (CLI: --encoding cp1252); to replace undecodable bytes with U+FFFD, pass "
                    "encoding_errors='replace' (CLI: --encoding-errors replace)."
                )
    return DataError(f"{path}: cannot decode the file as {_display(encoding)} ({err.reason}). Pass its encoding.")


def _display(codec: str) -> str:
    return "UTF-8" if codec == "utf-8-sig" else codec


def _text(path: Path, row: int, values: dict[str, Any], column: str, role: str) -> str:
    where = f"{path}, row {row}, column '{column}'"
    if column not in values:
        if row == 1:
            flag = role.replace("_", "-")
            raise DataError(
                f"{path}: {role} column '{column}' not found. Available columns: {[str(c) for c in values]}. "
                f"Pass {role}_column='<column>' (CLI: --{flag}-column) to choose one."
            )
        raise DataError(f"{where}: text is missing. Remove the row or fill it in.")
    value = values[column]
    if not isinstance(value, str):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise DataError(f"{where}: text is missing. Remove the row or fill it in.")
        raise DataError(f"{where}: expected text. Received: {type(value).__name__} {value!r}. Quote it as a string.")
    if not value.strip():
        raise DataError(f"{where}: expected non-empty text. Received: {value!r}. Remove the row or fill it in.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (e.g. JSON "\\ud800"): no tokenizer can take it
        raise DataError(f"{where}: the text holds an unpaired surrogate code point. Received: {value!r}. "
                        "Fix the escape sequence in the file.") from None
    return value
