"""What to prune, how far and on which schedule: :class:`PruningConfig`.

The config is data; :func:`tfmot_schedule` turns it into one of TF-MOT's own
schedule objects (``ConstantSparsity``, ``PolynomialDecay``) once the number of
training steps is known.

Examples:
    >>> cfg = PruningConfig(target_sparsity=0.8, schedule="polynomial")
    >>> PruningConfig.from_dict(cfg.to_dict()) == cfg
    True
    >>> PruningConfig(pattern="2:4").m_by_n
    (2, 4)
    >>> schedule = tfmot_schedule(PruningConfig(target_sparsity=0.8, end_fraction=0.5, frequency=10), 100)
    >>> type(schedule).__name__, schedule.end_step
    ('PolynomialDecay', 50)
"""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import Any

from tfkit.errors import ConfigError
from tfkit.models.config import TrainingConfig, _enum, _JsonConfig


class Schedule(str, enum.Enum):
    """How the target sparsity is reached (TF-MOT schedule classes)."""

    CONSTANT = "constant"  # ConstantSparsity: the full target from begin_step on
    POLYNOMIAL = "polynomial"  # PolynomialDecay: 0 -> target, fast at first, flat at end_step


class LayerKind(str, enum.Enum):
    """Dense layers of a BERT-family classifier that can be pruned."""

    ATTENTION = "attention"  # query, key and value projections
    ATTENTION_OUTPUT = "attention_output"  # projection after attention
    INTERMEDIATE = "intermediate"  # feed-forward up-projection
    OUTPUT = "output"  # feed-forward down-projection
    POOLER = "pooler"  # [CLS] pooler (where the family has one)
    CLASSIFIER = "classifier"  # classification head


ENCODER_KINDS = (LayerKind.ATTENTION, LayerKind.ATTENTION_OUTPUT, LayerKind.INTERMEDIATE, LayerKind.OUTPUT)
_PATTERN = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")


def parse_pattern(pattern: str) -> tuple[int, int]:
    """``"2:4"`` -> ``(2, 4)``: m zeros in every n consecutive weights (TF-MOT's ``sparsity_m_by_n``).

    Examples:
        >>> parse_pattern("2:4")
        (2, 4)
    """
    match = _PATTERN.match(str(pattern))
    if not match:
        raise ConfigError(f"Expected an m:n sparsity pattern such as '2:4'. Received: pattern={pattern!r}.")
    m, n = int(match.group(1)), int(match.group(2))
    if not 0 < m < n:
        raise ConfigError(f"Expected 0 < m < n in the m:n pattern. Received: pattern={pattern!r}.")
    return m, n


@dataclasses.dataclass(frozen=True)
class PruningConfig(_JsonConfig):
    """Magnitude pruning with TF-MOT, and the fine-tuning that recovers from it.

    Attributes:
        target_sparsity: fraction of zeros in every pruned kernel at the end, in [0, 1).
        pattern: ``"m:n"`` structured sparsity (e.g. ``"2:4"``: 2 zeros in every 4
            consecutive weights along a kernel's input dimension, what sparse tensor cores
            and TFLite expect). Overrides ``target_sparsity``; TF-MOT sets an m:n mask once,
            at the first training step, and keeps it.
        schedule: ``constant`` (full target from ``begin_fraction``) or ``polynomial``
            (0 rising to the target at ``end_fraction``, cubic).
        begin_fraction: fraction of the training steps before pruning starts.
        end_fraction: fraction of the training steps at which the schedule stops
            changing masks; the steps after it fine-tune with fixed masks.
        frequency: masks are recomputed every this many steps (TF-MOT ``frequency``).
        power: exponent of the polynomial schedule.
        layers: which Dense layers to prune (:class:`LayerKind` values); the encoder's by
            default, embeddings, pooler and classifier stay dense.
        epochs: fine-tuning epochs during pruning.
        learning_rate, weight_decay, warmup_ratio, batch_size, batch_tokens, seed:
            the optimiser and batching of that fine-tuning (see :class:`TrainingConfig`).
    """

    target_sparsity: float = 0.5
    pattern: str | None = None
    schedule: Schedule | str = Schedule.POLYNOMIAL
    begin_fraction: float = 0.0
    end_fraction: float = 0.5
    frequency: int = 20
    power: int = 3
    layers: tuple[LayerKind, ...] = ENCODER_KINDS
    epochs: int = 2
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    batch_size: int = 32
    batch_tokens: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.target_sparsity, bool) or not isinstance(self.target_sparsity, (int, float)):
            raise ConfigError(f"Expected target_sparsity as a number. Received: {self.target_sparsity!r}.")
        if not 0.0 <= self.target_sparsity < 1.0:
            raise ConfigError(
                f"Expected 0 <= target_sparsity < 1 (the fraction of weights set to zero). "
                f"Received: target_sparsity={self.target_sparsity}. Use e.g. 0.5 or 0.8."
            )
        if self.pattern is not None:
            m, n = parse_pattern(self.pattern)
            object.__setattr__(self, "pattern", f"{m}:{n}")
        object.__setattr__(self, "schedule", _enum(Schedule, self.schedule, "schedule"))
        layers = (self.layers,) if isinstance(self.layers, str) else tuple(self.layers)
        object.__setattr__(self, "layers", tuple(dict.fromkeys(_enum(LayerKind, k, "layers") for k in layers)))
        if not self.layers:
            raise ConfigError(f"Expected at least one layer kind to prune from {[k.value for k in LayerKind]}.")
        if not 0.0 <= self.begin_fraction < self.end_fraction <= 1.0:
            raise ConfigError(
                "Expected 0 <= begin_fraction < end_fraction <= 1. "
                f"Received: begin_fraction={self.begin_fraction}, end_fraction={self.end_fraction}."
            )
        if self.frequency < 1:
            raise ConfigError(f"Expected frequency >= 1 (steps). Received: frequency={self.frequency}.")
        if self.power < 1:
            raise ConfigError(f"Expected power >= 1. Received: power={self.power}.")
        if self.epochs < 1:
            raise ConfigError(f"Expected epochs >= 1. Received: epochs={self.epochs}.")
        self.training_config()  # validates the optimiser fields

    @property
    def m_by_n(self) -> tuple[int, int] | None:
        """The m:n pattern as TF-MOT's ``sparsity_m_by_n`` tuple, or None."""
        return parse_pattern(self.pattern) if self.pattern else None

    @property
    def final_sparsity(self) -> float:
        """The sparsity every pruned kernel should end with."""
        m_by_n = self.m_by_n
        return m_by_n[0] / m_by_n[1] if m_by_n else float(self.target_sparsity)

    def training_config(self) -> TrainingConfig:
        """The optimiser settings of the pruning fine-tuning."""
        return TrainingConfig(learning_rate=self.learning_rate, weight_decay=self.weight_decay,
                              warmup_ratio=self.warmup_ratio, batch_size=self.batch_size,
                              batch_tokens=self.batch_tokens, seed=self.seed)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PruningConfig":
        data = dict(data)
        if "layers" in data and not isinstance(data["layers"], str):
            data["layers"] = tuple(data["layers"])
        return super().from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["layers"] = [k.value for k in self.layers]
        return out


def schedule_steps(config: PruningConfig, total_steps: int) -> tuple[int, int]:
    """``(begin_step, end_step)`` of ``config`` over ``total_steps`` training steps.

    The end is moved back onto the last mask update (``begin + k * frequency``), so
    the final target is applied exactly rather than one update short of it. TF-MOT
    counts steps from 1 (the first batch), so updates land on ``begin + frequency``,
    ``begin + 2 * frequency``, ...

    Examples:
        >>> schedule_steps(PruningConfig(end_fraction=0.5, frequency=20), 510)
        (0, 240)
    """
    if total_steps < 1:
        raise ConfigError(f"Expected at least one training step. Received: total_steps={total_steps}.")
    begin = int(round(config.begin_fraction * total_steps))
    end = max(int(round(config.end_fraction * total_steps)), begin + 1)
    span = end - begin
    if span >= config.frequency:
        end = begin + (span // config.frequency) * config.frequency
    else:  # fewer steps than one update interval: one update, at the end
        end = begin + span
    return begin, min(end, max(total_steps, begin + 1))


def tfmot_schedule(config: PruningConfig, total_steps: int) -> Any:
    """TF-MOT's ``ConstantSparsity`` or ``PolynomialDecay`` for ``config`` over ``total_steps`` steps.

    For an m:n pattern TF-MOT ignores the schedule's sparsity (the mask is set at step 1),
    so a constant schedule at the pattern's sparsity is returned.

    Examples:
        >>> type(tfmot_schedule(PruningConfig(schedule="constant"), 100)).__name__
        'ConstantSparsity'
    """
    from tensorflow_model_optimization.sparsity import keras as sparsity

    begin, end = schedule_steps(config, total_steps)
    frequency = min(config.frequency, max(end - begin, 1))
    if config.m_by_n or config.schedule is Schedule.CONSTANT:
        return sparsity.ConstantSparsity(config.final_sparsity, begin_step=begin, end_step=end, frequency=frequency)
    return sparsity.PolynomialDecay(initial_sparsity=0.0, final_sparsity=config.target_sparsity, begin_step=begin,
                                    end_step=end, power=config.power, frequency=frequency)
