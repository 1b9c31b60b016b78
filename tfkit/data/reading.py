"""Reading labelled text from files, DataFrames and Python lists.

Every problem found is reported with the file (or source), the 1-based data
row and the column, so a user can open the file and fix it. Files are decoded
as UTF-8 (a byte-order mark is skipped) unless ``encoding`` says otherwise;
undecodable bytes are an error naming the line and byte offset, or, with
``encoding_errors="replace"``, become U+FFFD and are counted in
:attr:`Table.replaced_rows`.

Examples:
    >>> table = read_table({"text": ["good", "bad"], "label": ["pos", "neg"]})
    >>> table.columns
    ['text', 'label']
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from tfkit.errors import ConfigError, DataError

DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
JSON_LINES = {".jsonl", ".ndjson", ".json"}
ENCODING_ERRORS = ("strict", "replace")
"""Accepted values of ``encoding_errors``."""
_REPLACEMENT = "\ufffd"
_FALLBACKS = ("utf-8", "cp1252", "latin-1")  # suggested, in this order, when a file does not decode


@dataclasses.dataclass(frozen=True)
class Table:
    """Rows read from one source, with a name to use in error messages.

    Attributes:
        frame: the rows, one column per field.
        source: the file path, or ``"DataFrame"``, ``"dict"``, ``"list of rows"``.
        replaced_rows: data rows holding U+FFFD after decoding a file with
            ``encoding_errors="replace"`` (0 when every byte decoded).

    Examples:
        >>> Table(pd.DataFrame({"text": ["a"]}), "dict").where(0, "text")
        "dict, row 1, column 'text'"
    """

    frame: pd.DataFrame
    source: str
    replaced_rows: int = 0

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def column(self, name: Any, role: str) -> list[Any]:
        """Returns a column's values, or a DataError naming the available ones."""
        try:
            present = name in self.frame.columns
        except TypeError:
            raise ConfigError(f"Expected a column name. Received: {role}={name!r}. Pass {role}='<column>'.") from None
        if not present:
            raise DataError(
                f"{self.source}: {role} column '{name}' not found. "
                f"Available columns: {self.columns}. Pass {role}='<column>' to choose one."
            )
        values = self.frame[name]
        if isinstance(values, pd.DataFrame):
            raise DataError(
                f"{self.source}: expected one column named '{name}'. Received: {values.shape[1]} columns with that "
                "name. Rename the duplicates."
            )
        return values.tolist()

    def where(self, row: int, column: str) -> str:
        """'file.csv, row 3, column 'text'' for error messages (row is 0-based)."""
        return f"{self.source}, row {row + 1}, column '{column}'"


def read_table(
    source: Any,
    delimiter: str | None = None,
    *,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
) -> Table:
    """Reads a CSV/TSV/JSONL file, a DataFrame, a dict of lists or a list of dicts.

    Args:
        source: a path (``.csv``, ``.tsv``, ``.jsonl``/``.json`` lines), a
            ``pandas.DataFrame``, a mapping of column name to list, or a list of
            row dicts.
        delimiter: one character overriding the delimiter guessed from a
            file's extension.
        encoding: a file's text encoding, e.g. ``"cp1252"`` or ``"latin-1"``
            for Windows exports. A UTF-8 byte-order mark is skipped.
        encoding_errors: ``"strict"`` (undecodable bytes are a DataError
            naming the line) or ``"replace"`` (they become U+FFFD, a
            ``UnicodeWarning`` says how many rows, and
            :attr:`Table.replaced_rows` holds the count).

    Raises:
        ConfigError: an unknown ``encoding``, ``encoding_errors`` or bad ``delimiter``.
        DataError: the source is missing, empty, undecodable or malformed.

    Examples:
        >>> read_table([{"text": "hi", "label": "x"}]).source
        'list of rows'
    """
    codec = checked_codec(encoding)
    checked_errors(encoding_errors)
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"'):
        raise ConfigError(
            "Expected delimiter to be one character other than a quote or line break, e.g. ',' or '\\t' or ';'. "
            f"Received: delimiter={delimiter!r}."
        )
    if isinstance(source, pd.DataFrame):
        return _checked(Table(source.reset_index(drop=True), "DataFrame"))
    if isinstance(source, Mapping):
        return _checked(Table(_frame_from_columns(source), "dict"))
    if isinstance(source, (str, os.PathLike)):
        return _checked(_read_file(Path(source), delimiter, codec, encoding, encoding_errors))
    if isinstance(source, Sequence) and source and all(isinstance(r, Mapping) for r in source):
        return _checked(Table(_frame("list of rows", list(source)), "list of rows"))
    raise DataError(
        "Expected a file path, a pandas DataFrame, a dict of lists or a list of row dicts. "
        f"Received: source of type {type(source).__name__}."
    )


def _checked(table: Table) -> Table:
    if len(table.frame) == 0:
        raise DataError(f"{table.source}: no data rows found. Provide at least one labelled example.")
    return table


def _frame(source: str, data: Any) -> pd.DataFrame:
    try:
        return pd.DataFrame(data)
    except (TypeError, ValueError) as err:
        raise DataError(f"{source}: cannot build a table from the values ({err}).") from None


def _frame_from_columns(source: Mapping) -> pd.DataFrame:
    columns = {}
    for name, values in source.items():
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
            raise DataError(
                f"dict: expected a list of values for column '{name}'. Received: {type(values).__name__}. "
                "Pass {'text': [...], 'label': [...]}."
            )
        try:
            columns[name] = list(values)
        except TypeError:
            raise DataError(f"dict: expected a list of values for column '{name}'. Received: a 0-d array.") from None
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(f"Columns must have equal lengths. Received: lengths={lengths}.")
    return _frame("dict", columns)


def checked_errors(encoding_errors: str) -> str:
    """``encoding_errors`` if it is one of :data:`ENCODING_ERRORS`, else a ConfigError naming it."""
    if encoding_errors not in ENCODING_ERRORS:
        raise ConfigError(
            f"Expected encoding_errors to be one of {list(ENCODING_ERRORS)}. Received: "
            f"encoding_errors={encoding_errors!r}."
        )
    return encoding_errors


def checked_codec(encoding: str) -> str:
    """The codec to decode with (``utf-8-sig`` for UTF-8), or a ConfigError naming ``encoding``."""
    try:
        name = codecs.lookup(encoding).name
        text_codec = isinstance(codecs.decode(b"", name), str)  # not bytes-to-bytes codecs such as 'base64'
    except (LookupError, TypeError, ValueError):
        text_codec = False
    if not text_codec:
        raise ConfigError(
            "Expected a text encoding Python knows, e.g. 'utf-8', 'cp1252' or 'latin-1'. "
            f"Received: encoding={encoding!r}."
        )
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else name


def _read_file(path: Path, delimiter: str | None, codec: str, encoding: str, errors: str) -> Table:
    if not path.exists():
        raise DataError(f"File not found. Received: path='{path}'.")
    if path.is_dir():
        raise DataError(f"Expected a file, got a directory. Received: path='{path}'.")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read the file ({err.strerror or err}).") from None
    suffix = path.suffix.lower()
    sep = delimiter or DELIMITERS.get(suffix)
    if suffix not in JSON_LINES and sep is None:
        raise DataError(
            f"Cannot tell the format of '{path}' from its extension. "
            "Expected .csv, .tsv or .jsonl, or pass delimiter=','."
        )
    text, first_bad = _decode(raw, path, codec, encoding, errors)
    if not text.strip():
        raise DataError(f"{path}: the file is empty.")
    if suffix in JSON_LINES:
        frame = _read_json_lines(text, path)
    else:
        try:
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, engine="c",
                                quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL)
        except (ValueError, csv.Error) as err:  # pandas' ParserError and EmptyDataError are ValueErrors
            raise DataError(f"{path}: cannot parse as delimited text: {err}") from None
    if len(frame) == 0:
        raise DataError(f"{path}: the file has a header but no data rows.")
    replaced = 0
    if first_bad is not None:
        replaced = sum(any(_has_replacement(v) for v in row) for row in frame.itertuples(index=False, name=None))
        line = _line_of(raw, first_bad, codec)
        warnings.warn(
            f"{path}: {replaced} data row(s) held bytes that are not valid {_display(codec, encoding)}; they were "
            f"replaced with U+FFFD (the first at line {line}, byte offset {first_bad}). "
            f"Pass encoding='{_guess(raw, codec)}' if the file was saved in that encoding.",
            UnicodeWarning,
            stacklevel=3,
        )
    return Table(frame, str(path), replaced)


def _decode(raw: bytes, path: Path, codec: str, encoding: str, errors: str) -> tuple[str, int | None]:
    """The text, and the byte offset of the first undecodable byte (None when all decoded)."""
    try:
        return raw.decode(codec), None
    except UnicodeDecodeError as err:
        if errors == "strict":
            raise _undecodable(raw, path, codec, encoding, err) from None
        first = err.start
    except UnicodeError as err:  # codecs such as 'idna' raise plain UnicodeErrors
        raise DataError(f"{path}: cannot decode the file as {encoding!r} ({err}). Pass encoding='utf-8'.") from None
    try:
        return raw.decode(codec, errors="replace"), first
    except UnicodeError as err:
        raise ConfigError(
            f"Expected an encoding that supports encoding_errors='replace'. Received: encoding={encoding!r} ({err})."
        ) from None


def _undecodable(raw: bytes, path: Path, codec: str, encoding: str, err: UnicodeDecodeError) -> DataError:
    line = _line_of(raw, err.start, codec)
    start = raw.rfind(b"\n", 0, err.start) + 1
    end = raw.find(b"\n", err.end)
    snippet = raw[max(start, err.start - 30): min(err.end + 30, len(raw) if end < 0 else end)]
    guess = _guess(raw, codec)
    return DataError(
        f"{path}: line {line} is not valid {_display(codec, encoding)} (byte 0x{raw[err.start]:02x} at offset "
        f"{err.start}). Expected text in the encoding {encoding!r}. Received: {snippet!r} on that line. "
        f"If the file was saved in another encoding, pass encoding='{guess}' (CLI: --encoding {guess}); to replace "
        "undecodable bytes with U+FFFD instead, pass encoding_errors='replace' (CLI: --encoding-errors replace)."
    )


def _display(codec: str, encoding: str) -> str:
    return "UTF-8" if codec == "utf-8-sig" else encoding


def _line_of(raw: bytes, offset: int, codec: str) -> int:
    return raw[:offset].decode(codec, errors="replace").count("\n") + 1


def _guess(raw: bytes, codec: str) -> str:
    """The first of utf-8, cp1252, latin-1 (other than ``codec``) that decodes ``raw``."""
    for candidate in _FALLBACKS:
        if checked_codec(candidate) == codec:
            continue
        try:
            raw.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate
    return "latin-1"


def _has_replacement(value: Any) -> bool:
    if isinstance(value, str):
        return _REPLACEMENT in value
    if isinstance(value, (list, tuple)):
        return any(_has_replacement(v) for v in value)
    if isinstance(value, dict):
        return any(_has_replacement(k) or _has_replacement(v) for k, v in value.items())
    return False


def _read_json_lines(text: str, path: Path) -> pd.DataFrame:
    rows = []
    # Split on "\n" only: str.splitlines() also splits on U+2028, U+0085 and others, which JSON allows in strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: line {number} is not valid JSON ({err.msg}).") from None
        except (ValueError, RecursionError) as err:  # e.g. integers over 4,300 digits, very deep nesting
            raise DataError(f"{path}: line {number} cannot be read as JSON ({type(err).__name__}: {err}).") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}: line {number} must be a JSON object, got {type(row).__name__}.")
        rows.append(row)
    return _frame(str(path), rows)
