"""Frozen, JSON-round-tripping configs of the classifier and its training.

Examples:
    >>> cfg = ClassifierConfig(labels=("neg", "pos"), max_length=64)
    >>> ClassifierConfig.from_dict(cfg.to_dict()) == cfg
    True
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from tfkit.data.task import TaskType
from tfkit.errors import ConfigError


class Precision(str, enum.Enum):
    """Compute precision; variables always stay float32."""

    FLOAT32 = "float32"
    MIXED_BFLOAT16 = "mixed_bfloat16"
    MIXED_FLOAT16 = "mixed_float16"


def resolve_precision(value: str | Precision) -> Precision:
    """``"auto"`` becomes ``mixed_bfloat16`` on CPUs with AMX and no GPU, ``float32`` elsewhere.

    Measured on SST-2 (1,536 sentences, 1 epoch): with AMX bf16 trained ~134/s against
    ~115/s in float32; on an AVX512-BF16 CPU without AMX bf16 was not reliably faster
    (94 vs 80/s, 88 vs 108/s with frozen embeddings), so it stays float32 there.

    Examples:
        >>> resolve_precision("float32").value
        'float32'
    """
    if value != "auto":
        return _enum(Precision, value, "precision")
    from tfkit._keras import tf

    if tf.config.list_physical_devices("GPU"):
        return Precision.FLOAT32
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        flags = []
    return Precision.MIXED_BFLOAT16 if "amx_bf16" in flags else Precision.FLOAT32


def _enum(kind: type[enum.Enum], value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"Expected {name} in {[m.value for m in kind]}. Received: {name}={value!r}.") from None


class _JsonConfig:
    def to_dict(self) -> dict[str, Any]:
        out = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            out[field.name] = value.value if isinstance(value, enum.Enum) else (
                list(value) if isinstance(value, tuple) else value
            )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"Unknown {cls.__name__} keys: {sorted(unknown)}. Expected some of {sorted(names)}.")
        try:
            return cls(**data)
        except (TypeError, ValueError) as err:
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(f"Expected values of the right type for {cls.__name__}. Received: {data} ({err}).") from None


@dataclasses.dataclass(frozen=True)
class ClassifierConfig(_JsonConfig):
    """How a :class:`~tfkit.TextClassifier` is built.

    Attributes:
        labels: class names in output order (empty for regression).
        task: single-label, multi-label or regression.
        max_length: tokens kept per example (longer inputs are truncated).
        dropout: overrides the checkpoint's hidden and classifier dropout.
        freeze_embeddings: keep the embedding layer fixed while training (default: on; on 16,000 SST-2
            sentences it trained 347 ms a step against 637 for trainable embeddings at 5e-5, at 0.15 points
            lower validation accuracy: ``benchmarks/results/defaults.md``). Turn it off for a randomly
            initialised checkpoint, whose embeddings must learn.
        freeze_layers: keep the lowest N transformer blocks fixed.
        precision: ``float32``, ``mixed_bfloat16`` (CPU/TPU), ``mixed_float16`` (GPU) or
            ``"auto"`` (see :func:`resolve_precision`).
        jit_compile: compile train/predict steps with XLA.
        threshold: multi-label decision threshold on probabilities.
        checkpoint: where the pretrained weights came from (informational).
    """

    labels: tuple[str, ...] = ()
    task: TaskType = TaskType.SINGLE_LABEL
    max_length: int = 128
    dropout: float | None = None
    freeze_embeddings: bool = True
    freeze_layers: int = 0
    precision: Precision | str = "auto"
    jit_compile: bool = False
    threshold: float = 0.5
    checkpoint: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(str(label) for label in self.labels))
        object.__setattr__(self, "task", _enum(TaskType, self.task, "task"))
        object.__setattr__(self, "precision", resolve_precision(self.precision))
        if self.task.is_classification and len(self.labels) < 2:
            raise ConfigError(f"A classifier needs at least 2 labels. Received: labels={list(self.labels)}.")
        if len(set(self.labels)) != len(self.labels):
            raise ConfigError(f"Labels must be unique. Received: labels={list(self.labels)}.")
        if not 4 <= self.max_length <= 8192:
            raise ConfigError(f"Expected 4 <= max_length <= 8192. Received: max_length={self.max_length}.")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"Expected 0 <= dropout < 1. Received: dropout={self.dropout}.")
        if self.freeze_layers < 0:
            raise ConfigError(f"Expected freeze_layers >= 0. Received: freeze_layers={self.freeze_layers}.")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"Expected 0 < threshold < 1. Received: threshold={self.threshold}.")

    @property
    def num_outputs(self) -> int:
        return len(self.labels) if self.task.is_classification else 1


@dataclasses.dataclass(frozen=True)
class TrainingConfig(_JsonConfig):
    """Optimiser settings used by ``compile()`` with ``optimizer="auto"``.

    Attributes:
        learning_rate: peak learning rate after warm-up.
        weight_decay: decoupled weight decay (not applied to LayerNorm or biases).
        warmup_ratio: fraction of all steps spent warming up linearly.
        clipnorm: global gradient-norm clip (None: no clipping).
        batch_size: examples per batch in ``fit``.
        batch_tokens: if set, batches vary in size to hold about this many padded tokens
            (token-budget batching: more short sentences per step); ``batch_size`` is then unused.
        seed: seed of the input shuffling.
    """

    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    clipnorm: float | None = 1.0
    batch_size: int = 32
    batch_tokens: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.batch_tokens is not None and self.batch_tokens < 8:
            raise ConfigError(f"Expected batch_tokens >= 8 or None. Received: batch_tokens={self.batch_tokens}.")
        if not 0.0 < self.learning_rate < 1.0:
            raise ConfigError(f"Expected 0 < learning_rate < 1. Received: learning_rate={self.learning_rate}.")
        if self.weight_decay < 0:
            raise ConfigError(f"Expected weight_decay >= 0. Received: weight_decay={self.weight_decay}.")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"Expected 0 <= warmup_ratio < 1. Received: warmup_ratio={self.warmup_ratio}.")
        if self.batch_size < 1:
            raise ConfigError(f"Expected batch_size >= 1. Received: batch_size={self.batch_size}.")
        if self.clipnorm is not None and self.clipnorm <= 0:
            raise ConfigError(f"Expected clipnorm > 0 or None. Received: clipnorm={self.clipnorm}.")
