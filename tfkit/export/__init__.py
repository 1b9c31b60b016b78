"""Export: SavedModel (token ids and raw strings), TFLite variants and app-ready files (raw-text TFLite,
MediaPipe Tasks models, a web page), each run and checked.

Examples:
    >>> import tfkit
    >>> arts = tfkit.export(clf, "saved_models/reviews/export", quantization=["float32", "dynamic_int8"],
    ...                     train=train, validation=val)                     # doctest: +SKIP
"""

from tfkit.export.artifacts import ExportedArtifacts, Variant
from tfkit.export.bench import BenchResult, bench
from tfkit.export.config import ExportConfig, Format, Quantization, Tolerance
from tfkit.export.exporter import export
from tfkit.export.runtime import LiteRTModel, RawTextLiteRTModel, SavedModelRunner
from tfkit.export.verify import ExportValidationError, ValidationSet, verify

__all__ = ["BenchResult", "ExportConfig", "ExportValidationError", "ExportedArtifacts", "Format", "LiteRTModel", "Quantization",
           "RawTextLiteRTModel", "SavedModelRunner", "Tolerance", "ValidationSet", "Variant", "bench", "export", "verify"]

