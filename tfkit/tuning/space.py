"""The hyperparameter search space of a tfkit classifier.

Each hyperparameter is a range ``(low, high)``, a list of choices, or a single
fixed value. Defaults are sensible for BERT fine-tuning; narrow or widen them
by name, and unknown names or empty ranges are rejected before any trial runs.

Examples:
    >>> space = SearchSpace.default().with_overrides(learning_rate=(2e-5, 2e-4), epochs=2)
    >>> space.learning_rate, space.epochs
    ((2e-05, 0.0002), 2)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Union

from tfkit.errors import ConfigError

Range = Union[tuple, list, int, float]

_KINDS = {
    # name: (kind, log-scale)
    "learning_rate": (float, True),
    "batch_size": (int, False),
    "epochs": (int, False),
    "warmup_ratio": (float, False),
    "weight_decay": (float, False),
    "dropout": (float, False),
    "max_length": (int, False),
    "freeze_layers": (int, False),
    "lora_rank": (int, False),  # 0: full fine-tuning; > 0: LoRA adapters of that rank (tfkit.models.lora)
}


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """Ranges, choices or fixed values for each tunable hyperparameter.

    A tuple ``(low, high)`` is a range (log-uniform for ``learning_rate``), a
    list is a set of choices, a bare number is fixed.
    """

    learning_rate: Range = (1e-5, 2e-4)
    batch_size: Range = dataclasses.field(default_factory=lambda: [16, 32])
    epochs: Range = (1, 3)
    warmup_ratio: Range = (0.0, 0.2)
    weight_decay: Range = (0.0, 0.1)
    dropout: Range = (0.0, 0.2)
    max_length: Range = 128
    freeze_layers: Range = 0
    lora_rank: Range = 0

    @classmethod
    def default(cls) -> "SearchSpace":
        return cls()

    def __post_init__(self) -> None:
        for name in _KINDS:
            _check(name, getattr(self, name))

    def with_overrides(self, **overrides: Range) -> "SearchSpace":
        """A copy with some hyperparameters narrowed, widened or fixed."""
        unknown = set(overrides) - set(_KINDS)
        if unknown:
            raise ConfigError(
                f"Unknown hyperparameter(s) {sorted(unknown)}. Expected some of {sorted(_KINDS)}."
            )
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _KINDS}

    def declare(self, hp: Any) -> dict[str, Any]:
        """Registers every hyperparameter on a ``keras_tuner.HyperParameters`` and returns the values."""
        values = {}
        for name, (kind, log) in _KINDS.items():
            spec = getattr(self, name)
            if isinstance(spec, tuple):
                low, high = spec
                if kind is int:
                    values[name] = hp.Int(name, int(low), int(high))
                else:
                    values[name] = hp.Float(name, float(low), float(high), sampling="log" if log else "linear")
            elif isinstance(spec, list):
                values[name] = hp.Choice(name, [kind(v) for v in spec])
            else:
                values[name] = hp.Fixed(name, kind(spec))
        return values


def _check(name: str, spec: Range) -> None:
    kind, log = _KINDS[name]
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ConfigError(f"{name}: a range is (low, high). Received: {name}={spec!r}.")
        low, high = spec
        if not low < high:
            raise ConfigError(f"{name}: empty range, low must be below high. Received: {name}={spec!r}.")
        if log and low <= 0:
            raise ConfigError(f"{name}: a log-scale range must be positive. Received: {name}={spec!r}.")
        values = [low, high]
    elif isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{name}: empty list of choices. Received: {name}=[].")
        values = spec
    elif isinstance(spec, (int, float)) and not isinstance(spec, bool):
        values = [spec]
    else:
        raise ConfigError(f"{name}: expected (low, high), [choices] or a value. Received: {name}={spec!r}.")
    for value in values:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{name}: expected non-negative numbers. Received: {name}={spec!r}.")
        if kind is int and float(value) != int(value):
            raise ConfigError(f"{name}: expected whole numbers. Received: {name}={spec!r}.")
