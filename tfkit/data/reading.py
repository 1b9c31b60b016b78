"""Reading labelled text from files, DataFrames and Python lists.

Every problem found is reported with the file (or source), the 1-based data
row and the column, so a user can open the file and fix it.

Examples:
    >>> table = read_table({"text": ["good", "bad"], "label": ["pos", "neg"]})
    >>> table.columns
    ['text', 'label']
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from tfkit.errors import DataError

_DELIMITED = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_JSON_LINES = {".jsonl", ".ndjson", ".json"}


@dataclasses.dataclass(frozen=True)
class Table:
    """Rows read from one source, with a name to use in error messages."""

    frame: pd.DataFrame
    source: str

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def column(self, name: str, role: str) -> list[Any]:
        """Returns a column's values, or a DataError naming the available ones."""
        if name not in self.frame.columns:
            raise DataError(
                f"{self.source}: {role} column '{name}' not found. "
                f"Available columns: {self.columns}. Pass {role}='<column>' to choose one."
            )
        return self.frame[name].tolist()

    def where(self, row: int, column: str) -> str:
        """'file.csv, row 3, column 'text'' for error messages (row is 0-based)."""
        return f"{self.source}, row {row + 1}, column '{column}'"


def read_table(source: Any, delimiter: str | None = None) -> Table:
    """Reads a CSV/TSV/JSONL file, a DataFrame, a dict of lists or a list of dicts.

    Args:
        source: a path (``.csv``, ``.tsv``, ``.jsonl``/``.json`` lines), a
            ``pandas.DataFrame``, a mapping of column name to list, or a list of
            row dicts.
        delimiter: overrides the delimiter guessed from a file's extension.
    """
    if isinstance(source, pd.DataFrame):
        return _checked(Table(source.reset_index(drop=True), "DataFrame"))
    if isinstance(source, Mapping):
        lengths = {k: len(v) for k, v in source.items()}
        if len(set(lengths.values())) > 1:
            raise DataError(f"Columns must have equal lengths. Received: lengths={lengths}.")
        return _checked(Table(pd.DataFrame(dict(source)), "dict"))
    if isinstance(source, (str, os.PathLike)):
        return _checked(_read_file(Path(source), delimiter))
    if isinstance(source, Sequence) and source and all(isinstance(r, Mapping) for r in source):
        return _checked(Table(pd.DataFrame(list(source)), "list of rows"))
    raise DataError(
        "Expected a file path, a pandas DataFrame, a dict of lists or a list of row dicts. "
        f"Received: source of type {type(source).__name__}."
    )


def _checked(table: Table) -> Table:
    if len(table.frame) == 0:
        raise DataError(f"{table.source}: no data rows found. Provide at least one labelled example.")
    return table


def _read_file(path: Path, delimiter: str | None) -> Table:
    if not path.exists():
        raise DataError(f"File not found. Received: path='{path}'.")
    if path.is_dir():
        raise DataError(f"Expected a file, got a directory. Received: path='{path}'.")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: the file is empty.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line} is not valid UTF-8 (byte 0x{raw[err.start]:02x} at offset {err.start}). "
            "Re-save the file as UTF-8."
        ) from None
    suffix = path.suffix.lower()
    if suffix in _JSON_LINES:
        frame = _read_json_lines(text, path)
    else:
        sep = delimiter or _DELIMITED.get(suffix)
        if sep is None:
            raise DataError(
                f"Cannot tell the format of '{path}' from its extension. "
                "Expected .csv, .tsv or .jsonl, or pass delimiter=','."
            )
        try:
            frame = pd.read_csv(
                io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, quoting=3 if sep == "\t" else 0
            )
        except pd.errors.ParserError as err:
            raise DataError(f"{path}: cannot parse as delimited text: {err}") from None
    if len(frame) == 0:
        raise DataError(f"{path}: the file has a header but no data rows.")
    return Table(frame, str(path))


def _read_json_lines(text: str, path: Path) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: line {number} is not valid JSON ({err.msg}).") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}: line {number} must be a JSON object, got {type(row).__name__}.")
        rows.append(row)
    return pd.DataFrame(rows)
