"""What to export, declared as data: formats, quantization variants, tolerances and budgets.

Examples:
    >>> config = ExportConfig(quantization=("float32", "dynamic_int8"))
    >>> [q.value for q in config.quantization]
    ['float32', 'dynamic_int8']
    >>> ExportConfig.from_dict(config.to_dict()) == config
    True
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from tfkit.errors import ConfigError
from tfkit.models.config import _enum, _JsonConfig


class Format(str, enum.Enum):
    """Exported file formats."""

    SAVED_MODEL = "saved_model"
    TFLITE = "tflite"


class Quantization(str, enum.Enum):
    """TFLite variants: how weights and activations are stored and computed."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"            # float16 weights, float compute
    DYNAMIC_INT8 = "dynamic_int8"  # int8 weights, activations quantised on the fly
    FULL_INT8 = "full_int8"        # int8 weights and activations, calibrated on representative data
    INT16X8 = "int16x8"            # int16 activations, int8 weights
    QAT_INT8 = "qat_int8"          # integer-only int8 of a quantization-aware classifier (tfkit.quantize_aware)

    @property
    def calibrated(self) -> bool:
        """Whether the variant needs representative data."""
        return self in (Quantization.FULL_INT8, Quantization.INT16X8, Quantization.QAT_INT8)

    @property
    def padding_safe(self) -> bool:
        """Whether padded inputs give the unpadded result. Calibrated variants saw only unpadded
        sentences, so the -10000 of the attention mask is outside their quantized range."""
        return not self.calibrated


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """How far a variant may stray from the Keras model on the validation samples."""

    max_abs_logit: float
    min_agreement: float


# Float variants must match the Keras model almost exactly; a quantized one may move logits but must
# agree on (nearly) every label. Accuracy against the labels is judged separately by the budget.
DEFAULT_TOLERANCES: dict[Quantization, Tolerance] = {
    Quantization.FLOAT32: Tolerance(max_abs_logit=1e-3, min_agreement=1.0),
    Quantization.FLOAT16: Tolerance(max_abs_logit=0.05, min_agreement=0.99),
    Quantization.DYNAMIC_INT8: Tolerance(max_abs_logit=float("inf"), min_agreement=0.9),
    Quantization.FULL_INT8: Tolerance(max_abs_logit=float("inf"), min_agreement=0.9),
    Quantization.INT16X8: Tolerance(max_abs_logit=float("inf"), min_agreement=0.9),
    Quantization.QAT_INT8: Tolerance(max_abs_logit=float("inf"), min_agreement=0.9),
}


@dataclasses.dataclass(frozen=True)
class ExportConfig(_JsonConfig):
    """How :func:`tfkit.export` writes and checks a classifier.

    Args:
        formats: ``saved_model`` and/or ``tflite``.
        quantization: TFLite variants to write (see :class:`Quantization`).
        raw_strings: add the in-graph tokenizer signature (``classify_text``) to the SavedModel.
        raw_text: beside each TFLite variant, a raw-text file (``model_<q>_text.tflite``: one string in,
            WordPiece inside, scores and label out; :mod:`tfkit.export.edge`).
        mediapipe: beside each TFLite variant, a MediaPipe Tasks ``TextClassifier`` model
            (``mediapipe/model_<q>.tflite`` with MediaPipe's metadata: vocabulary, label names).
        web: also write ``web/``, a static page that runs the MediaPipe file in the browser with
            MediaPipe Tasks for Web (needs npm once, to fetch ``@mediapipe/tasks-text``).
        representative_samples: training examples used to calibrate ``full_int8``/``int16x8``.
        validation_samples: validation examples every file is run on (``None``: all of them).
        accuracy_budget: largest accuracy drop (in points) a variant may show against the Keras
            model on the validation data; a variant beyond it is rejected unless ``force``. For
            regression the score is the MSE, an error: the budget then bounds its increase in
            percent of the Keras model's MSE.
        force: keep variants outside the accuracy budget (they are flagged in the report).
        num_threads: LiteRT interpreter threads for verification and latency.
        bucket: if set, padding-safe variants (float and dynamic-range) are checked and timed
            with inputs padded to a multiple of this many tokens (fewer prepared shapes, some
            wasted compute); by default (None) every variant gets each sentence's exact length.
            The calibrated ones (full_int8, int16x8) always get the exact length.
        batch_size: the TFLite files' input batch: 1 (default) fixes it, so the graph has no
            shape arithmetic left and runs fastest one sentence at a time, as on a phone; ``None``
            accepts any batch. The SavedModel always takes any batch.
        op_costs: for integer-only variants (``qat_int8``), also measure what keeping each op family
            (LayerNorm, softmax, attention matmuls, activations, residual adds) in float would recover,
            so the manifest shows where the last points go (a few extra conversions).
        seed: sampling seed of the representative and validation examples.
    """

    formats: tuple[Format, ...] = (Format.SAVED_MODEL, Format.TFLITE)
    quantization: tuple[Quantization, ...] = (Quantization.FLOAT32, Quantization.DYNAMIC_INT8)
    raw_strings: bool = True
    raw_text: bool = True
    mediapipe: bool = True
    web: bool = False
    representative_samples: int = 300
    validation_samples: int | None = None
    accuracy_budget: float = 1.0
    force: bool = False
    num_threads: int = 2
    bucket: int | None = None
    batch_size: int | None = 1
    op_costs: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "formats", tuple(_enum(Format, f, "formats") for f in _as_tuple(self.formats)))
        object.__setattr__(self, "quantization",
                           tuple(_enum(Quantization, q, "quantization") for q in _as_tuple(self.quantization)))
        if not self.formats:
            raise ConfigError("Expected at least one export format. Received: formats=().")
        if Format.TFLITE in self.formats and not self.quantization:
            raise ConfigError("Expected at least one quantization variant for TFLite. Received: quantization=().")
        if self.representative_samples < 1:
            raise ConfigError(f"Expected representative_samples >= 1. Received: {self.representative_samples}.")
        if self.validation_samples is not None and self.validation_samples < 1:
            raise ConfigError(f"Expected validation_samples >= 1 or None. Received: {self.validation_samples}.")
        if self.accuracy_budget < 0:
            raise ConfigError(f"Expected accuracy_budget >= 0 (points). Received: {self.accuracy_budget}.")
        if self.bucket is not None and self.bucket < 1:
            raise ConfigError(f"Expected bucket >= 1. Received: bucket={self.bucket}.")
        if self.batch_size not in (1, None):
            raise ConfigError(f"Expected batch_size 1 or None (any batch). Received: batch_size={self.batch_size!r}.")
        if self.num_threads < 1:
            raise ConfigError(f"Expected num_threads >= 1. Received: {self.num_threads}.")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["formats"] = [f.value for f in self.formats]
        out["quantization"] = [q.value for q in self.quantization]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExportConfig":
        data = dict(data)
        for key in ("formats", "quantization"):
            if key in data:
                data[key] = tuple(data[key])
        return super().from_dict(data)


def _as_tuple(value: Any) -> tuple:
    return (value,) if isinstance(value, (str, enum.Enum)) else tuple(value)

