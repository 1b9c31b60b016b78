"""Export: SavedModel (token ids and raw strings) and TFLite variants, each run and checked.

Examples:
    >>> import tfkit
    >>> arts = tfkit.export(clf, "saved_models/reviews/export", quantization=["float32", "dynamic_int8"],
    ...                     representative_data=train, validate_on=val)      # doctest: +SKIP
"""

import sys as _sys
import types as _types

from tfkit.export.artifacts import ExportedArtifacts, Variant
from tfkit.export.bench import BenchResult, bench
from tfkit.export.config import ExportConfig, Format, Quantization, Tolerance
from tfkit.export.exporter import export
from tfkit.export.runtime import LiteRTModel, SavedModelRunner
from tfkit.export.verify import ExportValidationError, ValidationSet, verify

__all__ = ["BenchResult", "ExportConfig", "ExportValidationError", "ExportedArtifacts", "Format", "LiteRTModel", "Quantization",
           "SavedModelRunner", "Tolerance", "ValidationSet", "Variant", "bench", "export", "verify"]


class _CallableModule(_types.ModuleType):
    """Lets ``tfkit.export(...)`` call :func:`export` while ``tfkit.export.ExportConfig`` stays reachable."""

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return export(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
