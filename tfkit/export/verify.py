"""Verification: run an exported file and compare it with the Keras model, failing loudly.

Examples:
    >>> samples = ValidationSet.from_dataset(module, val, limit=200)        # doctest: +SKIP
    >>> check = verify(LiteRTModel("model_float32.tflite"), samples,
    ...                Tolerance(max_abs_logit=1e-3, min_agreement=1.0), "model_float32.tflite")  # doctest: +SKIP
    >>> check.agreement                                                      # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

import numpy as np

from tfkit.data.dataset import TextDataset
from tfkit.data.task import TaskType
from tfkit.errors import TfkitError
from tfkit.export.config import Tolerance

Features = dict[str, np.ndarray]


class ExportValidationError(TfkitError, AssertionError):
    """An exported file disagrees with the Keras model beyond its tolerance."""


@dataclasses.dataclass(frozen=True)
class ValidationSet:
    """Unpadded batch-1 token inputs of validation examples, their targets and the Keras logits."""

    samples: tuple[Features, ...]
    targets: np.ndarray | None
    task: TaskType
    threshold: float
    reference: np.ndarray  # Keras fp32 logits, one row per sample
    texts: tuple[str, ...] = ()  # the raw texts (single-text data), for files that tokenise inside

    @classmethod
    def from_dataset(cls, module: Any, data: TextDataset, limit: int | None = None, seed: int = 0,
                     labelled: bool = True) -> "ValidationSet":
        """Tokenises (a seeded sample of) ``data`` and runs the Keras model on each example."""
        if limit is not None and limit < len(data):
            data = data.take(limit, seed=seed)
        from tfkit.export.tflite import representative_samples

        samples = tuple(representative_samples(module, list(data.texts),
                                               list(data.text_pairs) if data.text_pairs else None))
        reference = np.concatenate([module.keras_logits(*(_tensors(s)[n] for n in module.names)).numpy() for s in samples])
        config = module.classifier.config
        return cls(samples, np.asarray(data.targets) if labelled else None, config.task, config.threshold, reference,
                   tuple(data.texts) if data.text_pairs is None else ())

    def __len__(self) -> int:
        return len(self.samples)

    def predictions(self, logits: np.ndarray) -> np.ndarray:
        if self.task is TaskType.SINGLE_LABEL:
            return logits.argmax(axis=1)
        if self.task is TaskType.MULTI_LABEL:
            return (1.0 / (1.0 + np.exp(-logits)) >= self.threshold).astype(np.float32)
        return logits[:, 0]

    def score(self, logits: np.ndarray) -> float | None:
        """Accuracy (single-label), exact-match accuracy (multi-label) or MSE (regression) on the targets."""
        if self.targets is None:
            return None
        predicted = self.predictions(logits)
        if self.task is TaskType.SINGLE_LABEL:
            return float(np.mean(predicted == self.targets))
        if self.task is TaskType.MULTI_LABEL:
            return float(np.mean(np.all(predicted == self.targets, axis=1)))
        return float(np.mean((predicted - self.targets) ** 2))

    @property
    def higher_is_better(self) -> bool:
        """Accuracy (classification) rises with quality; MSE (regression) is an error and falls."""
        return self.task is not TaskType.REGRESSION

    def keras_score(self) -> float | None:
        """The Keras fp32 model's own score on the targets."""
        return self.score(self.reference)

    def agreement(self, logits: np.ndarray) -> float:
        """Fraction of samples where the file predicts what the Keras model predicts."""
        ours, reference = self.predictions(logits), self.predictions(self.reference)
        if self.task is TaskType.REGRESSION:
            scale = max(float(np.std(reference)), 1e-6)
            return float(np.mean(np.abs(ours - reference) <= 0.1 * scale))
        same = ours == reference
        return float(np.mean(same if same.ndim == 1 else np.all(same, axis=1)))


@dataclasses.dataclass(frozen=True)
class Check:
    """What verification measured for one file."""

    samples: int
    agreement: float
    max_abs_logit_diff: float
    score: float | None            # accuracy (or MSE for regression) on the validation targets
    reference_score: float | None  # the same for the Keras fp32 model
    latency_ms_p50: float
    latency_ms_p90: float
    higher_is_better: bool = True  # False when ``score`` is an error (regression MSE)

    @property
    def drop_points(self) -> float | None:
        """How much worse than Keras fp32 the file scores: positive is worse, whatever the metric.

        Accuracy: the drop in percentage points. An error metric (regression MSE): its increase in
        percent of the Keras model's error, so the same ``accuracy_budget`` bounds both. None
        without targets.
        """
        if self.score is None or self.reference_score is None:
            return None
        if self.higher_is_better:
            return round(100.0 * (self.reference_score - self.score), 4)
        return round(100.0 * (self.score - self.reference_score) / max(abs(self.reference_score), 1e-12), 4)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "drop_points": self.drop_points}


def measure(model: Callable[[Any], np.ndarray], validation: ValidationSet) -> tuple[np.ndarray, np.ndarray]:
    """Logits of every validation sample and each call's latency in ms (after a short warm-up).

    A model with ``takes_text = True`` (a raw-text file) is fed each raw text instead of its token
    ids, so its latency includes tokenisation."""
    inputs: tuple[Any, ...] = validation.texts if getattr(model, "takes_text", False) else validation.samples
    if not inputs:
        raise ExportValidationError("A raw-text model needs the validation texts (single-text data). Received: none.")
    for sample in inputs[:5]:
        model(sample)
    outputs, times = [], []
    for sample in inputs:
        start = time.perf_counter()
        outputs.append(model(sample))
        times.append((time.perf_counter() - start) * 1000.0)
    return np.concatenate(outputs, axis=0), np.asarray(times)


def evaluate_model(model: Callable[[Features], np.ndarray], validation: ValidationSet, name: str) -> Check:
    """Runs ``model`` on every validation sample and compares it with the Keras logits."""
    logits, times = measure(model, validation)
    if logits.shape != validation.reference.shape:
        raise ExportValidationError(
            f"'{name}' returned logits of shape {logits.shape}; the Keras model gives {validation.reference.shape}."
        )
    if not np.all(np.isfinite(logits)):
        raise ExportValidationError(f"'{name}' returned non-finite logits on the validation samples.")
    reference = validation.reference
    if getattr(model, "log_probabilities", False):  # a file that outputs softmax scores: compare log-softmax values
        reference = log_softmax(reference)
    return Check(
        samples=len(validation), agreement=validation.agreement(logits),
        max_abs_logit_diff=float(np.max(np.abs(logits - reference))),
        score=validation.score(logits), reference_score=validation.score(validation.reference),
        latency_ms_p50=float(np.percentile(times, 50)), latency_ms_p90=float(np.percentile(times, 90)),
        higher_is_better=validation.higher_is_better,
    )


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax: what logits become in a file whose outputs are softmax scores."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def verify(model: Callable[[Features], np.ndarray], validation: ValidationSet, tolerance: Tolerance,
           name: str) -> Check:
    """Runs ``model`` on the validation samples and raises ExportValidationError beyond ``tolerance``."""
    check = evaluate_model(model, validation, name)
    problems = []
    if check.max_abs_logit_diff > tolerance.max_abs_logit:
        problems.append(f"max |logit difference| {check.max_abs_logit_diff:.4g} > {tolerance.max_abs_logit:g}")
    if check.agreement < tolerance.min_agreement:
        problems.append(f"label agreement {check.agreement:.4f} < {tolerance.min_agreement}")
    if problems:
        raise ExportValidationError(
            f"'{name}' does not match the Keras model on {check.samples} validation samples: "
            + "; ".join(problems) + ". The file may be corrupted or the conversion lossy."
        )
    return check


def _tensors(sample: Features) -> dict[str, Any]:
    from tfkit._keras import tf

    return {name: tf.constant(value) for name, value in sample.items()}

