"""PruningConfig: validation, JSON round trip, and the TF-MOT schedules it builds."""

from __future__ import annotations

import json

import pytest

from tfkit.errors import ConfigError
from tfkit.optimize.config import LayerKind, PruningConfig, Schedule, parse_pattern, schedule_steps, tfmot_schedule


def test_round_trips_json():
    cfg = PruningConfig(target_sparsity=0.8, schedule="constant", layers=("attention", "classifier"), batch_tokens=512)
    again = PruningConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.schedule is Schedule.CONSTANT and again.layers == (LayerKind.ATTENTION, LayerKind.CLASSIFIER)


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5, "0.5", True])
def test_sparsity_outside_unit_interval_is_refused(bad):
    with pytest.raises(ConfigError, match="target_sparsity"):
        PruningConfig(target_sparsity=bad)


def test_zero_sparsity_is_allowed():
    assert PruningConfig(target_sparsity=0.0).final_sparsity == 0.0


@pytest.mark.parametrize("bad", ["4:2", "2:2", "0:4", "2-4", "two:four", ""])
def test_bad_patterns(bad):
    with pytest.raises(ConfigError, match="m:n|0 < m < n"):
        PruningConfig(pattern=bad)


def test_pattern_sets_final_sparsity():
    assert parse_pattern(" 2 : 4 ") == (2, 4)
    cfg = PruningConfig(pattern="1:4", target_sparsity=0.9)
    assert cfg.m_by_n == (1, 4) and cfg.final_sparsity == 0.25


@pytest.mark.parametrize("kwargs, match", [
    (dict(schedule="cubic"), "schedule"),
    (dict(layers=("embeddings",)), "layers"),
    (dict(layers=()), "at least one"),
    (dict(begin_fraction=0.6, end_fraction=0.5), "begin_fraction"),
    (dict(end_fraction=1.2), "end_fraction"),
    (dict(frequency=0), "frequency"),
    (dict(epochs=0), "epochs"),
    (dict(learning_rate=0.0), "learning_rate"),
])
def test_other_bad_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        PruningConfig(**kwargs)


def test_schedule_ends_on_a_mask_update():
    cfg = PruningConfig(target_sparsity=0.8, end_fraction=0.5, frequency=20)
    begin, end = schedule_steps(cfg, 510)
    assert begin == 0 and end == 240 and (end - begin) % 20 == 0
    schedule = tfmot_schedule(cfg, 510)
    assert type(schedule).__name__ == "PolynomialDecay"
    should_prune, sparsity = schedule(240)
    assert bool(should_prune) and float(sparsity) == pytest.approx(0.8)
    assert not bool(schedule(250)[0])  # masks are fixed after the end


def test_constant_and_m_by_n_use_constant_sparsity():
    assert type(tfmot_schedule(PruningConfig(schedule="constant"), 100)).__name__ == "ConstantSparsity"
    schedule = tfmot_schedule(PruningConfig(pattern="2:4"), 100)
    assert type(schedule).__name__ == "ConstantSparsity" and float(schedule(1)[1]) == 0.5


def test_short_training_still_prunes():
    begin, end = schedule_steps(PruningConfig(frequency=20, end_fraction=0.5), 6)
    assert (begin, end) == (0, 3)
    assert float(tfmot_schedule(PruningConfig(frequency=20, end_fraction=0.5), 6)(3)[1]) == pytest.approx(0.5)
