"""``TextDataset``: labelled texts with their task type and label map.

Examples:
    >>> import tfkit
    >>> data = tfkit.data.load({"text": ["good", "bad", "fine", "awful"],
    ...                         "label": ["pos", "neg", "pos", "neg"]})
    >>> data.labels, data.task.value, len(data)
    (('neg', 'pos'), 'single_label', 4)
    >>> train, val = data.split(0.5, seed=0)
    >>> len(train), len(val)
    (2, 2)
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from tfkit.data.reading import Table, read_table
from tfkit.data.task import TaskType
from tfkit.errors import ConfigError, DataError


@dataclasses.dataclass(frozen=True, eq=False)
class TextDataset:
    """Texts (optionally sentence pairs) with encoded targets.

    Attributes:
        texts: the first text of each example.
        text_pairs: the second text of each example, or None.
        targets: class ids (single-label, int64), multi-hot rows (multi-label,
            float32) or values (regression, float32).
        labels: class names, indexed by class id (empty for regression).
        task: the task type.
        source: where the examples came from, for messages.
        replaced_rows: rows of the source file whose undecodable bytes were
            replaced with U+FFFD (``encoding_errors="replace"``); 0 otherwise.
            Subsets keep their source's count.
    """

    texts: tuple[str, ...]
    targets: np.ndarray
    labels: tuple[str, ...]
    task: TaskType
    text_pairs: tuple[str, ...] | None = None
    source: str = "<memory>"
    replaced_rows: int = 0

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.targets):
            raise DataError(f"{self.source}: {len(self.texts)} texts but {len(self.targets)} targets.")
        if self.text_pairs is not None and len(self.text_pairs) != len(self.texts):
            raise DataError(f"{self.source}: {len(self.texts)} texts but {len(self.text_pairs)} text pairs.")

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return (
            f"TextDataset(n={len(self)}, task={self.task.value}, labels={list(self.labels)[:10]}, "
            f"pairs={self.text_pairs is not None}, source='{self.source}')"
        )

    @property
    def num_labels(self) -> int:
        """Width of the model's output: classes, or 1 for regression."""
        return len(self.labels) if self.task.is_classification else 1

    def subset(self, indices: Sequence[int] | np.ndarray) -> "TextDataset":
        """A new dataset with the examples at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        return dataclasses.replace(
            self,
            texts=tuple(self.texts[i] for i in idx),
            text_pairs=None if self.text_pairs is None else tuple(self.text_pairs[i] for i in idx),
            targets=self.targets[idx],
        )

    def take(self, n: int, seed: int | None = None) -> "TextDataset":
        """The first ``n`` examples, or a random ``n`` when ``seed`` is given."""
        n = min(n, len(self))
        if seed is None:
            return self.subset(np.arange(n))
        return self.subset(np.sort(np.random.default_rng(seed).permutation(len(self))[:n]))

    def class_counts(self) -> dict[str, int]:
        """Examples per class (per label for multi-label)."""
        if self.task is TaskType.SINGLE_LABEL:
            counts = np.bincount(self.targets, minlength=len(self.labels))
        elif self.task is TaskType.MULTI_LABEL:
            counts = self.targets.sum(axis=0).astype(int)
        else:
            return {}
        return {label: int(c) for label, c in zip(self.labels, counts)}

    def split(self, fraction: float, seed: int = 0, stratify: bool = True) -> tuple["TextDataset", "TextDataset"]:
        """Splits into (rest, held_out) with ``fraction`` of examples held out.

        Single-label data is stratified: every class keeps its share in both parts.
        """
        if not 0.0 < fraction < 1.0:
            raise ConfigError(f"Expected 0 < fraction < 1. Received: fraction={fraction}.")
        rng = np.random.default_rng(seed)
        if stratify and self.task is TaskType.SINGLE_LABEL:
            held: list[int] = []
            for cls in range(len(self.labels)):
                members = rng.permutation(np.flatnonzero(self.targets == cls))
                held.extend(members[: int(round(fraction * len(members)))].tolist())
            held_idx = np.sort(np.asarray(held, dtype=np.int64))
        else:
            held_idx = np.sort(rng.permutation(len(self))[: int(round(fraction * len(self)))])
        if len(held_idx) == 0 or len(held_idx) == len(self):
            raise DataError(f"{self.source}: fraction={fraction} leaves one side of the split empty ({len(self)} rows).")
        rest_idx = np.setdiff1d(np.arange(len(self)), held_idx)
        return self.subset(rest_idx), self.subset(held_idx)

    def to_frame(self) -> pd.DataFrame:
        """The examples as a DataFrame with decoded labels."""
        frame = pd.DataFrame({"text": list(self.texts)})
        if self.text_pairs is not None:
            frame["text_pair"] = list(self.text_pairs)
        if self.task is TaskType.SINGLE_LABEL:
            frame["label"] = [self.labels[i] for i in self.targets]
        elif self.task is TaskType.MULTI_LABEL:
            frame["label"] = [[self.labels[j] for j in np.flatnonzero(row)] for row in self.targets]
        else:
            frame["label"] = self.targets
        return frame


def load(
    source: Any,
    text: str = "text",
    label: str = "label",
    text_pair: str | None = None,
    task: str | TaskType = "auto",
    labels: Sequence[str] | None = None,
    label_delimiter: str | None = None,
    delimiter: str | None = None,
    *,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
) -> TextDataset:
    """Loads labelled text from a file, DataFrame, dict of lists or list of rows.

    Args:
        source: a ``.csv``/``.tsv``/``.jsonl`` path, a DataFrame, a dict of
            column lists, or a list of row dicts. For plain Python lists use
            :func:`from_lists`.
        text: the text column.
        label: the label column.
        text_pair: an optional second text column (sentence-pair tasks).
        task: ``"single_label"``, ``"multi_label"``, ``"regression"`` or
            ``"auto"`` (lists or ``label_delimiter`` mean multi-label;
            non-integer numbers mean regression; anything else single-label).
        labels: a fixed label order, e.g. the training set's ``labels`` when
            loading its dev set; labels outside it are an error.
        label_delimiter: splits string labels into several (multi-label).
        delimiter: overrides the file delimiter guessed from the extension.
        encoding: the file's text encoding, e.g. ``"cp1252"`` for Windows
            exports (default UTF-8; a byte-order mark is skipped).
        encoding_errors: ``"strict"`` (undecodable bytes are a DataError naming
            the line) or ``"replace"`` (they become U+FFFD; the count of such
            rows is warned about and kept in ``replaced_rows``).

    Examples:
        >>> data = load({"review": ["great", "dull"], "stars": ["5", "1"]},
        ...             text="review", label="stars")
        >>> data.labels
        ('1', '5')
    """
    table = read_table(source, delimiter=delimiter, encoding=encoding, encoding_errors=encoding_errors)
    fixed = _fixed_labels(labels)
    if label_delimiter is not None and (not isinstance(label_delimiter, str) or not label_delimiter):
        raise ConfigError(
            f"Expected label_delimiter to be a non-empty string. Received: label_delimiter={label_delimiter!r}."
        )
    texts = _texts(table, text, "text")
    pairs = _texts(table, text_pair, "text_pair") if text_pair else None
    raw_labels = table.column(label, "label")
    task_type = _infer_task(raw_labels, task, label_delimiter)
    targets, names = _encode_targets(table, label, raw_labels, task_type, fixed, label_delimiter)
    return TextDataset(texts=texts, text_pairs=pairs, targets=targets, labels=names, task=task_type,
                       source=table.source, replaced_rows=table.replaced_rows)


def from_lists(
    texts: Iterable[str],
    labels: Iterable[Any],
    text_pairs: Iterable[str] | None = None,
    task: str | TaskType = "auto",
    label_names: Sequence[str] | None = None,
) -> TextDataset:
    """Builds a dataset from Python lists (labels may be lists for multi-label).

    Examples:
        >>> from_lists(["a b", "c d"], [0.5, 1.5]).task.value
        'regression'
    """
    columns = {"text": _as_list(texts, "texts"), "label": _as_list(labels, "labels")}
    if text_pairs is not None:
        columns["text_pair"] = _as_list(text_pairs, "text_pairs")
    return load(columns, text_pair="text_pair" if text_pairs is not None else None, task=task, labels=label_names)


def _as_list(values: Any, name: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise DataError(f"Expected {name} to be a list. Received: {type(values).__name__} {_short(values)}. "
                        f"Wrap a single value in a list: [{name[:-1]}].")
    return list(values)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _texts(table: Table, column: str, role: str) -> tuple[str, ...]:
    values = table.column(column, role)
    for row, value in enumerate(values):
        if not isinstance(value, str):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise DataError(f"{table.where(row, column)}: text is missing. Remove the row or fill it in.")
            raise DataError(f"{table.where(row, column)}: expected text, got {type(value).__name__} {_short(value)}.")
        if not value.strip():
            raise DataError(f"{table.where(row, column)}: text is empty or whitespace only. Remove the row or fill it in.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:  # lone surrogates, e.g. from JSON "\ud800": no tokenizer accepts them
            raise DataError(
                f"{table.where(row, column)}: expected valid Unicode text. Received: a lone surrogate "
                f"{value[err.start]!r} at character {err.start}. Fix or remove the character."
            ) from None
    return tuple(values)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _fixed_labels(labels: Sequence[str] | None) -> tuple[str, ...] | None:
    """``labels=`` as label texts, or a ConfigError if it is not a list of distinct names."""
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
        raise ConfigError(f"Expected labels to be a list of label names. Received: labels={_short(labels)}.")
    names = tuple(_label_text(n) for n in labels)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"Expected distinct label names. Received: labels={list(names)} (repeats {duplicates}).")
    return names


def _infer_task(raw: list[Any], task: str | TaskType, label_delimiter: str | None) -> TaskType:
    if task != "auto":
        try:
            return TaskType(task)
        except ValueError:
            raise ConfigError(
                f"Unknown task. Expected one of {[t.value for t in TaskType] + ['auto']}. Received: task={task!r}."
            ) from None
    present = [v for v in raw if not _is_list(v) and not _is_missing(v)]
    if label_delimiter is not None or any(_is_list(v) for v in raw):
        return TaskType.MULTI_LABEL
    numbers = [_as_number(v) for v in present]
    # Only finite numbers make a regression target; 'nan' or 'inf' as labels are class names.
    finite = bool(present) and all(n is not None and math.isfinite(n) for n in numbers)
    if finite and any(not n.is_integer() for n in numbers):
        return TaskType.REGRESSION
    return TaskType.SINGLE_LABEL


def _as_number(value: Any) -> float | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        return float(value)
    except (OverflowError, ValueError):
        return None


def _label_text(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _checked_label(table: Table, row: int, column: str, value: Any) -> Any:
    """``value`` if it can name a class (text, number or bool), else a DataError naming the cell."""
    if _is_missing(value):
        raise DataError(f"{table.where(row, column)}: label is missing (empty or NaN). Fill it in or drop the row.")
    if not isinstance(value, (str, int, float, np.generic)):
        raise DataError(
            f"{table.where(row, column)}: expected a label (text or number, or a list of them for multi-label). "
            f"Received: {type(value).__name__} {_short(value)}."
        )
    return value


def _sorted_names(names: Iterable[str]) -> tuple[str, ...]:
    names = set(names)
    if all(_INTEGER.fullmatch(n) for n in names):
        return tuple(sorted(names, key=lambda n: (int(n), n)))  # '1' and '01': a fixed order, not the set's
    return tuple(sorted(names))


_INTEGER = re.compile(r"-?[0-9]+")


def _encode_targets(
    table: Table,
    column: str,
    raw: list[Any],
    task: TaskType,
    fixed: tuple[str, ...] | None,
    label_delimiter: str | None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    for row, value in enumerate(raw):
        if not _is_list(value):
            _checked_label(table, row, column, value)
    if task is TaskType.REGRESSION:
        values = []
        for row, value in enumerate(raw):
            number = None if _is_list(value) else _as_number(value)
            if number is None or not math.isfinite(number):
                raise DataError(
                    f"{table.where(row, column)}: expected a number for regression, got {_short(value)} "
                    "(NaN and infinity are not allowed)."
                )
            values.append(number)
        return np.asarray(values, dtype=np.float32), ()
    if task is TaskType.MULTI_LABEL:
        label_sets = []
        for row, value in enumerate(raw):
            if _is_list(value):
                items = [_label_text(_checked_label(table, row, column, v)) for v in value if not _is_missing(v)]
            else:
                items = [s.strip() for s in str(value).split(label_delimiter or ",")]
            label_sets.append([s for s in items if s])
        names = fixed if fixed is not None else _sorted_names(n for s in label_sets for n in s)
        index = {n: i for i, n in enumerate(names)}
        targets = np.zeros((len(raw), len(names)), dtype=np.float32)
        for row, items in enumerate(label_sets):
            for item in items:
                if item not in index:
                    raise DataError(f"{table.where(row, column)}: unknown label {item!r}. Expected one of {list(names)}.")
                targets[row, index[item]] = 1.0
        if len(names) < 2 and fixed is None:
            raise DataError(f"{table.source}: column '{column}' has only {len(names)} distinct label(s); need at least 2.")
        return targets, names
    texts = []
    for row, value in enumerate(raw):
        if _is_list(value):
            raise DataError(
                f"{table.where(row, column)}: expected one label for a single-label task. Received: a list "
                f"{_short(value)}. Pass task='multi_label' for several labels per row."
            )
        texts.append(_label_text(value))
    names = fixed if fixed is not None else _sorted_names(texts)
    index = {n: i for i, n in enumerate(names)}
    targets = np.empty(len(texts), dtype=np.int64)
    for row, value in enumerate(texts):
        if value not in index:
            raise DataError(f"{table.where(row, column)}: unknown label {value!r}. Expected one of {list(names)}.")
        targets[row] = index[value]
    if fixed is None and len(names) < 2:
        raise DataError(
            f"{table.source}: column '{column}' has a single class {names[0]!r}; a classifier needs at least 2 classes."
        )
    return targets, names
