"""What pruning achieved: per-layer sparsity, and what it does to compressed sizes.

Zeros do not make a float file smaller by themselves; they make it compress.
Sizes are therefore compared gzip-compressed (level 9): the pruned layers'
kernels (float32 bytes), the saved weights file (``tf_model.h5``) and a float32
TFLite conversion (builtin ops, batch 1, the classifier's ``max_length``).

Examples:
    >>> import numpy as np
    >>> layer = LayerSparsity.measure("encoder.0.query", "attention", np.array([[0.0, 1.0], [0.0, 2.0]]), 0.5)
    >>> layer.measured
    0.5
    >>> SparsityReport(layers=(layer,)).overall_sparsity
    0.5
"""

from __future__ import annotations

import dataclasses
import gzip
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from tfkit._io import atomic_write_json, atomic_write_text


def gzip_size(data: bytes) -> int:
    """Bytes of ``data`` after gzip at level 9.

    Examples:
        >>> gzip_size(bytes(4000)) < 100
        True
    """
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def m_by_n_holds(kernel: np.ndarray, m_by_n: tuple[int, int]) -> bool:
    """Whether every run of n consecutive weights along a Dense kernel's input axis has >= m zeros.

    This is TF-MOT's layout (``[out, in]``, groups along ``in``), checked vectorised.

    Examples:
        >>> m_by_n_holds(np.array([[0.0], [0.0], [1.0], [2.0]]), (2, 4))
        True
    """
    m, n = m_by_n
    fan_in, fan_out = kernel.shape
    if fan_in % n:
        return False
    groups = kernel.T.reshape(fan_out, fan_in // n, n)
    return bool(np.all(np.sum(groups == 0, axis=-1) >= m))


@dataclasses.dataclass(frozen=True)
class LayerSparsity:
    """One pruned kernel: where it is, its shape, target and measured sparsity.

    Examples:
        >>> LayerSparsity.measure("q", "attention", np.zeros((4, 2)), 0.5).error_points
        50.0
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    target: float
    measured: float
    pattern_holds: bool | None = None

    @classmethod
    def measure(cls, name: str, kind: str, kernel: np.ndarray, target: float,
                m_by_n: tuple[int, int] | None = None) -> "LayerSparsity":
        """Measures the zero fraction of ``kernel`` (and its m:n conformance)."""
        kernel = np.asarray(kernel)
        return cls(name=name, kind=kind, shape=tuple(int(d) for d in kernel.shape), target=float(target),
                   measured=float(np.mean(kernel == 0)),
                   pattern_holds=m_by_n_holds(kernel, m_by_n) if m_by_n else None)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def error_points(self) -> float:
        """|measured - target| in percentage points."""
        return abs(self.measured - self.target) * 100.0


@dataclasses.dataclass(frozen=True)
class SizeComparison:
    """Raw and gzip-compressed bytes of the same thing, dense and pruned.

    Examples:
        >>> SizeComparison.of(bytes(range(256)) * 64, bytes(16384)).gzip_ratio < 0.2
        True
    """

    dense_bytes: int
    dense_gzip: int
    pruned_bytes: int
    pruned_gzip: int

    @classmethod
    def of(cls, dense: bytes, pruned: bytes) -> "SizeComparison":
        return cls(len(dense), gzip_size(dense), len(pruned), gzip_size(pruned))

    @property
    def gzip_ratio(self) -> float:
        """Pruned gzip size over dense gzip size."""
        return self.pruned_gzip / self.dense_gzip

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "gzip_ratio": self.gzip_ratio}


@dataclasses.dataclass(frozen=True)
class SparsityReport:
    """Per-layer table, overall sparsity of the pruned weights and, when measured, sizes.

    Attributes:
        layers: one :class:`LayerSparsity` per pruned kernel.
        pattern: the m:n pattern, if any.
        schedule: the schedule used (informational).
        sizes: ``{"pruned_kernels" | "saved_weights" | "tflite": SizeComparison}``.

    Examples:
        >>> print(pruned.sparsity_report().to_markdown())   # doctest: +SKIP
    """

    layers: tuple[LayerSparsity, ...]
    pattern: str | None = None
    schedule: str | None = None
    sizes: dict[str, SizeComparison] = dataclasses.field(default_factory=dict)

    @property
    def overall_sparsity(self) -> float:
        """Zeros over all weights of the pruned kernels."""
        total = sum(layer.size for layer in self.layers)
        return sum(layer.measured * layer.size for layer in self.layers) / total if total else 0.0

    @property
    def max_error_points(self) -> float:
        """The largest |measured - target| of any layer, in percentage points."""
        return max((layer.error_points for layer in self.layers), default=0.0)

    @property
    def pattern_holds(self) -> bool | None:
        """For an m:n pattern, whether every layer conforms; None otherwise."""
        return all(layer.pattern_holds for layer in self.layers) if self.pattern else None

    def with_sizes(self, **sizes: SizeComparison) -> "SparsityReport":
        """A copy with size comparisons added (or replaced)."""
        return dataclasses.replace(self, sizes={**self.sizes, **sizes})

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "schedule": self.schedule,
            "overall_sparsity": self.overall_sparsity,
            "max_error_points": self.max_error_points,
            "pattern_holds": self.pattern_holds,
            "pruned_parameters": sum(layer.size for layer in self.layers),
            "layers": [{**dataclasses.asdict(layer), "shape": list(layer.shape)} for layer in self.layers],
            "sizes": {name: size.to_dict() for name, size in self.sizes.items()},
        }

    def to_markdown(self) -> str:
        """The per-layer table, the overall line and the size table, in Markdown."""
        lines = ["| layer | kind | shape | target | measured |" + (" m:n holds |" if self.pattern else ""),
                 "|---|---|---|---|---|" + ("---|" if self.pattern else "")]
        for layer in self.layers:
            row = (f"| {layer.name} | {layer.kind} | {' x '.join(map(str, layer.shape))} | "
                   f"{layer.target:.1%} | {layer.measured:.2%} |")
            lines.append(row + (f" {'yes' if layer.pattern_holds else 'NO'} |" if self.pattern else ""))
        lines += ["", f"Overall sparsity of the {sum(layer.size for layer in self.layers):,} pruned weights: "
                      f"{self.overall_sparsity:.2%} (max deviation from target {self.max_error_points:.2f} points)."]
        if self.sizes:
            lines += ["", "| what | dense bytes | dense gzip | pruned gzip | gzip ratio |", "|---|---|---|---|---|"]
            for name, size in self.sizes.items():
                lines.append(f"| {name} | {size.dense_bytes:,} | {size.dense_gzip:,} | {size.pruned_gzip:,} | "
                             f"{size.gzip_ratio:.3f} |")
        return "\n".join(lines) + "\n"

    def save(self, directory: str | os.PathLike) -> Path:
        """Writes ``sparsity.json`` and ``sparsity.md`` to ``directory``, atomically each."""
        directory = Path(directory)
        atomic_write_json(directory / "sparsity.json", self.to_dict())
        atomic_write_text(directory / "sparsity.md", "# Sparsity report\n\n" + self.to_markdown())
        return directory


def kernel_bytes(classifier: Any, weight_keys: Iterable[str]) -> bytes:
    """The float32 bytes of the named weights (keys without the model scope), concatenated in order.

    Examples:
        >>> len(kernel_bytes(clf, ["classifier/kernel:0"]))   # doctest: +SKIP
        3072
    """
    weights = {w.name.split("/", 1)[-1]: w for w in classifier.backbone.weights}
    return b"".join(np.ascontiguousarray(weights[key].numpy(), np.float32).tobytes() for key in weight_keys)


def float_tflite(classifier: Any) -> bytes:
    """The float32 TFLite file :func:`tfkit.export` writes for ``classifier`` (without verifying it).

    Examples:
        >>> gzip_size(float_tflite(clf))   # doctest: +SKIP
    """
    from tfkit.export.config import Quantization
    from tfkit.export.exporter import float32_copy
    from tfkit.export.graph import ServingModule
    from tfkit.export.tflite import convert

    # A mixed-precision model (precision "auto" on AMX CPUs) converts in float32, as tfkit.export does.
    return convert(ServingModule(float32_copy(classifier), raw_strings=False), Quantization.FLOAT32)


def tflite_zero_count(model: bytes) -> int:
    """Exact zeros among the float32 constant tensors of a TFLite model (do the pruned zeros survive?).

    Examples:
        >>> tflite_zero_count(float_tflite(plain)) >= 0.8 * pruned_weights   # doctest: +SKIP
        True
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    interpreter.allocate_tensors()
    zeros = 0
    for detail in interpreter.get_tensor_details():
        if detail["dtype"] != np.float32 or len(detail["shape"]) != 2:
            continue
        try:
            value = interpreter.get_tensor(detail["index"])
        except ValueError:  # not a constant (activations)
            continue
        zeros += int(np.count_nonzero(value == 0))
    return zeros


def measure_sizes(dense: Any, pruned: Any, report: SparsityReport, weight_keys: Iterable[str],
                  saved: tuple[str | os.PathLike, str | os.PathLike] | None = None,
                  tflite: bool = True) -> SparsityReport:
    """Adds gzip size comparisons of ``dense`` against ``pruned`` (a stripped classifier) to ``report``.

    Args:
        weight_keys: the pruned kernels' weight names without the model scope.
        saved: model directories ``(dense, pruned)`` written by ``save``; their ``tf_model.h5``
            are compared.
        tflite: also convert both to float32 TFLite and compare (about a minute for MiniLM).

    Examples:
        >>> report = measure_sizes(clf, pruned.strip(), pruned.sparsity_report(),
        ...                        pruned.kernel_keys())   # doctest: +SKIP
    """
    keys = list(weight_keys)
    sizes = {"pruned_kernels": SizeComparison.of(kernel_bytes(dense, keys), kernel_bytes(pruned, keys))}
    if saved is not None:
        sizes["saved_weights"] = SizeComparison.of(*(Path(p, "tf_model.h5").read_bytes() for p in saved))
    if tflite:
        sizes["tflite"] = SizeComparison.of(float_tflite(dense), float_tflite(pruned))
    return report.with_sizes(**sizes)
