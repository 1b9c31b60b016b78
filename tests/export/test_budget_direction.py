"""Bug: for regression the verification score is an MSE, so a worse file had a negative "drop": the budget
accepted anything and the selective step choice preferred the highest error."""

from __future__ import annotations

import numpy as np
import pytest

from tfkit.data.task import TaskType
from tfkit.export.config import ExportConfig
from tfkit.export.exporter import _within_budget
from tfkit.export.selective import choose_step
from tfkit.export.verify import Check, ValidationSet, evaluate_model


def _regression_validation(n: int = 20) -> ValidationSet:
    rng = np.random.default_rng(0)
    targets = rng.normal(size=n).astype(np.float32)
    reference = (targets + rng.normal(scale=0.1, size=n)).astype(np.float32)[:, None]  # Keras: MSE ~0.01
    samples = tuple({"input_ids": np.full((1, 3), i, np.int32)} for i in range(n))  # the id names the row
    return ValidationSet(samples, targets, TaskType.REGRESSION, 0.5, reference)


def _file_with_noise(validation: ValidationSet, scale: float):
    rng = np.random.default_rng(1)
    rows = validation.reference + rng.normal(scale=scale, size=validation.reference.shape).astype(np.float32)
    return lambda sample: rows[int(sample["input_ids"][0, 0])][None, :]


def test_a_worse_regression_file_has_a_positive_drop_and_breaks_the_budget():
    validation = _regression_validation()
    worse = evaluate_model(_file_with_noise(validation, scale=0.5), validation, "worse.tflite")
    assert worse.score > worse.reference_score, "the noisy file has the larger MSE"
    assert worse.drop_points > 0
    assert not _within_budget(worse, ExportConfig(accuracy_budget=1.0))
    same = evaluate_model(_file_with_noise(validation, scale=0.0), validation, "same.tflite")
    assert same.drop_points == pytest.approx(0.0, abs=1e-6)
    assert _within_budget(same, ExportConfig(accuracy_budget=1.0))


def test_step_choice_prefers_the_lowest_error_when_nothing_is_within_budget():
    validation = _regression_validation()
    checks = [evaluate_model(_file_with_noise(validation, scale), validation, f"step{i}")
              for i, scale in enumerate((0.3, 1.0, 0.6))]
    assert choose_step(checks, budget_points=0.0) == 0, [c.score for c in checks]


def _check(score: float, latency: float, reference: float = 0.9, higher_is_better: bool = True) -> Check:
    return Check(samples=100, agreement=1.0, max_abs_logit_diff=0.1, score=score, reference_score=reference,
                 latency_ms_p50=latency, latency_ms_p90=latency, higher_is_better=higher_is_better)


def test_step_choice_takes_the_fastest_within_budget_else_the_least_degraded():
    checks = [_check(0.85, 1.0), _check(0.895, 3.0), _check(0.89, 2.0)]  # drops 5, 0.5, 1.0 points
    assert choose_step(checks, budget_points=1.0) == 2
    assert choose_step(checks, budget_points=0.6) == 1
    assert choose_step(checks, budget_points=10.0) == 0
    assert choose_step(checks[:1] + checks[2:], budget_points=0.1) == 1  # none within: least degraded
    errors = [_check(0.5, 1.0, 0.25, False), _check(0.26, 2.0, 0.25, False)]  # MSE +100 %, +4 %
    assert choose_step(errors, budget_points=5.0) == 1
    assert choose_step(errors, budget_points=0.1) == 1
