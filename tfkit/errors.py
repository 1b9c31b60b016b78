"""tfkit's error hierarchy.

Every error tfkit raises on purpose derives from :class:`TfkitError`, and says
what was expected, what it received, and how to fix it.

Examples:
    >>> from tfkit.errors import DataError, TfkitError
    >>> issubclass(DataError, TfkitError)
    True
"""

from __future__ import annotations


class TfkitError(Exception):
    """Base class of every error raised by tfkit."""


class ConfigError(TfkitError, ValueError):
    """An argument or configuration value is invalid."""


class DataError(TfkitError, ValueError):
    """Input data is missing, malformed or unusable (names file/row/column)."""


class CheckpointError(TfkitError, ValueError):
    """A checkpoint or saved-model directory is missing or incomplete."""


class UnsupportedModelError(TfkitError, ValueError):
    """A checkpoint is not of a supported (BERT-family) architecture."""


class OutputExistsError(TfkitError, FileExistsError):
    """An output path already exists and neither overwrite nor resume was asked for."""
