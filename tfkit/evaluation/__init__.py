"""Evaluation reports and metrics.

Examples:
    >>> from tfkit.evaluation import regression_metrics
    >>> regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])["pearson"]
    1.0
"""

from tfkit.evaluation.metrics import classification_metrics, multilabel_metrics, regression_metrics
from tfkit.evaluation.report import EvaluationReport

__all__ = ["EvaluationReport", "classification_metrics", "multilabel_metrics", "regression_metrics"]
