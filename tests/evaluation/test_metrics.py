"""NumPy metrics against hand-computed values; reports saved as JSON and PNG."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tfkit.data.task import TaskType
from tfkit.evaluation import EvaluationReport, classification_metrics, multilabel_metrics, regression_metrics


def test_classification_metrics_by_hand():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    m = classification_metrics(y_true, y_pred, ("a", "b", "c"))
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    a, b, c = m["per_class"]
    assert (a["precision"], a["recall"], a["support"]) == (1.0, pytest.approx(2 / 3), 3)
    assert (b["precision"], b["recall"]) == (0.5, 0.5)
    assert (c["precision"], c["recall"]) == (0.5, 1.0)
    f1s = [0.8, 0.5, 2 / 3]
    assert m["macro_f1"] == pytest.approx(np.mean(f1s))
    assert m["micro_f1"] == pytest.approx(4 / 6)
    assert m["weighted_f1"] == pytest.approx((3 * 0.8 + 2 * 0.5 + 1 * 2 / 3) / 6)


def test_class_never_predicted_has_zero_precision():
    m = classification_metrics(np.array([0, 1]), np.array([0, 0]), ("a", "b"))
    assert m["per_class"][1]["precision"] == 0.0 and m["per_class"][1]["f1"] == 0.0


def test_multilabel_metrics_by_hand():
    y_true = np.array([[1, 0], [1, 1], [0, 1]])
    y_pred = np.array([[1, 0], [1, 0], [1, 1]])
    m = multilabel_metrics(y_true, y_pred, ("x", "y"))
    assert m["subset_accuracy"] == pytest.approx(1 / 3)
    assert m["per_class"][0]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"][1]["recall"] == pytest.approx(0.5)
    assert m["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert m["confusion_matrices"]["x"] == [[0, 1], [0, 2]]


def test_regression_metrics_with_ties():
    y_true = np.array([1.0, 2.0, 2.0, 4.0])
    y_pred = np.array([1.5, 2.0, 3.0, 3.0])
    m = regression_metrics(y_true, y_pred)
    assert m["mse"] == pytest.approx((0.25 + 0 + 1 + 1) / 4)
    assert m["mae"] == pytest.approx((0.5 + 0 + 1 + 1) / 4)
    # ranks: true [0, 1.5, 1.5, 3], pred [0, 1, 2.5, 2.5]
    rt, rp = np.array([0, 1.5, 1.5, 3]), np.array([0, 1, 2.5, 2.5])
    assert m["spearman"] == pytest.approx(np.corrcoef(rt, rp)[0, 1])
    assert m["pearson"] == pytest.approx(np.corrcoef(y_true, y_pred)[0, 1])


def test_report_saves_json_and_png(tmp_path):
    report = EvaluationReport.from_predictions(TaskType.SINGLE_LABEL, ("a", "b"), np.array([0, 1, 1]),
                                               np.array([0, 1, 0]))
    report.save(tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["confusion_matrix"] == [[1, 0], [1, 1]] and data["num_examples"] == 3
    png = (tmp_path / "confusion_matrix.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "precision" in report.summary()
