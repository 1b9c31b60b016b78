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


class UnsupportedStrategyError(TfkitError, ValueError):
    """A stage or option cannot run under the tf.distribute strategy it was given (e.g. TF-MOT on several hosts)."""


class DataError(TfkitError, ValueError):
    """Input data is missing, malformed or unusable (names file/row/column)."""


class CheckpointError(TfkitError, ValueError):
    """A checkpoint or saved-model directory is missing or incomplete."""


class UnsupportedModelError(TfkitError, ValueError):
    """A checkpoint is not of a supported (BERT-family) architecture."""


class OutputExistsError(TfkitError, FileExistsError):
    """An output path already exists and neither overwrite nor resume was asked for."""


class IntegrityError(TfkitError, ValueError):
    """A saved folder does not match its checksums, or its manifest is malformed."""


class UnsafePathError(IntegrityError):
    """A path taken from input (a manifest, a stage record, a name) leaves the folder it must stay in."""


class RunLockedError(TfkitError, RuntimeError):
    """Another process is writing the same run folder."""


class DiskFullError(TfkitError, OSError):
    """The device filled up during a write; the previous outputs were kept."""

    def __str__(self) -> str:
        return str(self.strerror)


class NoCompletedTrialError(TfkitError, RuntimeError):
    """A hyperparameter search has no completed trial to report or restore."""


class VariantNotWrittenError(TfkitError, FileNotFoundError):
    """An export variant was rejected by its accuracy budget, so it has no file."""


class ReportError(TfkitError, ValueError):
    """A file a report needs (a stage's table, figure or record) is missing or not what it should be."""


class ExternalToolError(TfkitError, RuntimeError):
    """A program outside Python that tfkit runs (npm, Chromium) is missing or failed."""


class MetadataError(TfkitError, ValueError):
    """A TFLite file cannot take, or does not carry, the metadata asked for (e.g. MediaPipe's)."""


class SideEnvError(ExternalToolError):
    """A side virtual environment (for a peer such as MediaPipe) could not be built."""
