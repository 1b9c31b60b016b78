"""The kinds of supervised text task tfkit trains for.

Examples:
    >>> from tfkit.data.task import TaskType
    >>> TaskType("multi_label").is_classification
    True
"""

from __future__ import annotations

import enum


class TaskType(str, enum.Enum):
    """What a label is: one class, a set of classes, or a real number."""

    SINGLE_LABEL = "single_label"
    MULTI_LABEL = "multi_label"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not TaskType.REGRESSION

    @property
    def hf_problem_type(self) -> str:
        """The ``problem_type`` transformers uses for this task."""
        return {
            TaskType.SINGLE_LABEL: "single_label_classification",
            TaskType.MULTI_LABEL: "multi_label_classification",
            TaskType.REGRESSION: "regression",
        }[self]
