"""Classification and regression metrics in NumPy (no scikit-learn needed).

Examples:
    >>> import numpy as np
    >>> m = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), ("a", "b"))
    >>> round(m["accuracy"], 3), m["confusion_matrix"]
    (0.667, [[1, 0], [1, 1]])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    return precision, recall, f1


def _per_class(labels: Sequence[str], tp, fp, fn, support) -> tuple[list[dict[str, Any]], dict[str, float]]:
    precision, recall, f1 = _prf(tp.astype(float), fp.astype(float), fn.astype(float))
    rows = [
        {"label": label, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support)
    ]
    micro_p, micro_r, micro_f = _prf(np.array([tp.sum()], float), np.array([fp.sum()], float), np.array([fn.sum()], float))
    weights = support / max(support.sum(), 1)
    summary = {
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "micro_precision": float(micro_p[0]),
        "micro_recall": float(micro_r[0]),
        "micro_f1": float(micro_f[0]),
        "weighted_f1": float((f1 * weights).sum()),
    }
    return rows, summary


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1, macro/micro/weighted F1 and the confusion matrix.

    ``confusion_matrix[i][j]`` counts examples of true class i predicted as j.
    """
    k = len(labels)
    cm = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    tp = np.diag(cm)
    rows, summary = _per_class(labels, tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp, cm.sum(axis=1))
    return {"accuracy": float((y_true == y_pred).mean()), **summary, "per_class": rows, "confusion_matrix": cm.tolist()}


def multilabel_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Per-label precision/recall/F1, micro/macro F1, subset accuracy, and one 2x2 matrix per label."""
    t, p = y_true.astype(bool), y_pred.astype(bool)
    tp, fp, fn = (t & p).sum(0), (~t & p).sum(0), (t & ~p).sum(0)
    tn = (~t & ~p).sum(0)
    rows, summary = _per_class(labels, tp, fp, fn, t.sum(0))
    matrices = {label: [[int(tn[i]), int(fp[i])], [int(fn[i]), int(tp[i])]] for i, label in enumerate(labels)}
    return {
        "subset_accuracy": float((t == p).all(axis=1).mean()),
        "hamming_accuracy": float((t == p).mean()),
        **summary,
        "per_class": rows,
        "confusion_matrices": matrices,
    }


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), float)
    ranks[order] = np.arange(len(x), dtype=float)
    sorted_x = x[order]
    # average ranks of ties
    _, first, counts = np.unique(sorted_x, return_index=True, return_counts=True)
    for start, count in zip(first, counts):
        if count > 1:
            ranks[order[start : start + count]] = start + (count - 1) / 2.0
    return ranks


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Pearson and Spearman correlation, MSE, RMSE and MAE."""
    y_true, y_pred = np.asarray(y_true, float).ravel(), np.asarray(y_pred, float).ravel()
    err = y_pred - y_true
    return {
        "pearson": _pearson(y_true, y_pred),
        "spearman": _pearson(_ranks(y_true), _ranks(y_pred)),
        "mse": float((err**2).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "mae": float(np.abs(err).mean()),
    }
