"""``EvaluationReport``: metrics of a model on a labelled dataset, saved as JSON and PNG.

Examples:
    >>> import numpy as np
    >>> from tfkit.data.task import TaskType
    >>> r = EvaluationReport.from_predictions(TaskType.SINGLE_LABEL, ("a", "b"),
    ...                                       np.array([0, 1]), np.array([0, 1]))
    >>> r.metrics["accuracy"]
    1.0
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tfkit._io import atomic_save_figure, atomic_write_json, pyplot
from tfkit.data.task import TaskType
from tfkit.evaluation.metrics import classification_metrics, multilabel_metrics, regression_metrics


@dataclasses.dataclass(frozen=True)
class EvaluationReport:
    """Metrics of one evaluation. ``metrics`` is plain JSON-ready data."""

    task: TaskType
    labels: tuple[str, ...]
    metrics: dict[str, Any]
    num_examples: int

    @classmethod
    def from_predictions(
        cls, task: TaskType, labels: Sequence[str], y_true: np.ndarray, y_pred: np.ndarray
    ) -> "EvaluationReport":
        """Builds the report from true and predicted targets (class ids, multi-hot rows or values)."""
        if task is TaskType.SINGLE_LABEL:
            metrics = classification_metrics(np.asarray(y_true, int), np.asarray(y_pred, int), labels)
        elif task is TaskType.MULTI_LABEL:
            metrics = multilabel_metrics(np.asarray(y_true), np.asarray(y_pred), labels)
        else:
            metrics = regression_metrics(y_true, y_pred)
        return cls(task=task, labels=tuple(labels), metrics=metrics, num_examples=int(len(y_true)))

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task.value, "labels": list(self.labels), "num_examples": self.num_examples, **self.metrics}

    def summary(self) -> str:
        """A short plain-text table of the headline numbers and the per-class rows."""
        keys = ("accuracy", "subset_accuracy", "macro_f1", "micro_f1", "pearson", "spearman", "mse", "mae")
        lines = [f"{k:>16}: {self.metrics[k]:.4f}" for k in keys if k in self.metrics]
        if "per_class" in self.metrics:
            lines.append(f"{'label':>16}  precision  recall     f1  support")
            for row in self.metrics["per_class"]:
                lines.append(
                    f"{row['label'][:16]:>16}  {row['precision']:9.3f}  {row['recall']:6.3f}  "
                    f"{row['f1']:5.3f}  {row['support']:7d}"
                )
        return "\n".join(lines)

    def save(self, directory: str | os.PathLike) -> Path:
        """Writes ``report.json`` and, for classification, ``confusion_matrix.png``."""
        directory = Path(directory)
        atomic_write_json(directory / "report.json", self.to_dict())
        if self.task is TaskType.SINGLE_LABEL:
            _plot_confusion(np.asarray(self.metrics["confusion_matrix"]), self.labels, directory / "confusion_matrix.png")
        return directory


def _plot_confusion(cm: np.ndarray, labels: Sequence[str], path: Path) -> None:
    plt = pyplot()
    size = max(4.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > threshold else "black")
    ax.set_title("Confusion matrix")
    fig.tight_layout()
    atomic_save_figure(fig, path)
