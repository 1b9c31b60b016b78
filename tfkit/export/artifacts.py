"""What :func:`tfkit.export` produced: one :class:`Variant` per file and its measured checks.

Examples:
    >>> arts = tfkit.export(clf, "out", validation=val)          # doctest: +SKIP
    >>> print(arts.report())                                      # doctest: +SKIP
    | variant | format | size MB | accuracy | drop (points) | agreement | p50 ms | p90 ms | status |
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tfkit.errors import ConfigError, VariantNotWrittenError
from tfkit.export.config import ExportConfig
from tfkit.export.verify import Check


@dataclasses.dataclass(frozen=True)
class Variant:
    """One exported file (or a rejected one) and its verification."""

    name: str
    format: str
    path: str | None  # relative to the export folder; None when rejected
    size_bytes: int
    check: Check
    status: str  # accepted | forced | rejected
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format, "path": self.path, "size_bytes": self.size_bytes,
                "status": self.status, "verification": self.check.to_dict(), **self.extra}


@dataclasses.dataclass(frozen=True)
class ExportedArtifacts:
    """The export folder and every variant's size, accuracy, agreement and latency."""

    path: Path
    config: ExportConfig
    variants: tuple[Variant, ...]
    keras_score: float | None

    def __getitem__(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise ConfigError(f"Expected one of the exported variants {[v.name for v in self.variants]}. Received: {name!r}.")

    def file(self, name: str) -> Path:
        """Absolute path of an exported variant's file."""
        variant = self[name]
        if variant.path is None:
            raise VariantNotWrittenError(f"Variant {name!r} was rejected and not written ({variant.check.drop_points} "
                                    "points accuracy drop); export with force=True to keep it.")
        return self.path / variant.path

    @property
    def rejected(self) -> list[str]:
        return [v.name for v in self.variants if v.status == "rejected"]

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "keras_fp32_score": self.keras_score,
                "variants": [v.to_dict() for v in self.variants]}

    @classmethod
    def read(cls, path: str | Path) -> dict[str, Any]:
        import json

        return json.loads((Path(path) / "export.json").read_text(encoding="utf-8"))

    def report(self) -> str:
        """A markdown table: per variant size, accuracy on LiteRT, drop, agreement with Keras, latency."""
        rows = ["| variant | format | size MB | score | drop (points) | agreement | max abs logit diff "
                "| p50 ms | p90 ms | status | integer-only |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for v in self.variants:
            c = v.check
            score = "-" if c.score is None else f"{c.score:.4f}"
            rows.append(f"| {v.name} | {v.format} | {v.size_bytes / 1e6:.1f} | {score} | "
                        f"{'-' if c.drop_points is None else c.drop_points} | {c.agreement:.4f} | "
                        f"{c.max_abs_logit_diff:.3g} | {c.latency_ms_p50:.2f} | {c.latency_ms_p90:.2f} | {v.status} | "
                        f"{_integer_only(v.extra)} |")
        keras = "-" if self.keras_score is None else f"{self.keras_score:.4f}"
        rows += ["", f"Keras fp32 score on the same {self.variants[0].check.samples if self.variants else 0} "
                 f"examples: {keras}. Latency: batch 1, unpadded, {self.config.num_threads} threads."]
        return "\n".join(rows) + "\n"


def _integer_only(extra: dict) -> str:
    """``yes``/``no`` from a TFLite variant's op check (``ops.op_table``), ``-`` for a SavedModel."""
    check = (extra or {}).get("integer_only")
    return "-" if check is None else ("yes" if check["integer_only"] else "no")
