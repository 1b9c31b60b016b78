"""Searches on a tiny random BERT: every algorithm, results, best model, TensorBoard hparams."""

from __future__ import annotations

import json

import pytest

import tfkit
from tfkit._keras import tf
from tfkit.errors import ConfigError

TINY_SPACE = {"learning_rate": (1e-3, 5e-3), "batch_size": [16], "epochs": (1, 2), "max_length": 16}


def test_objective_never_logged_fails_before_any_trial(toy_data, tiny_checkpoint, tmp_path):
    with pytest.raises(ConfigError, match="never logged.*val_macro_f1"):
        tfkit.tune(toy_data, toy_data, checkpoint=tiny_checkpoint, objective="val_f1",
                          output_dir=tmp_path / "t")
    with pytest.raises(ConfigError, match="Unknown tuner"):
        tfkit.tune(toy_data, toy_data, checkpoint=tiny_checkpoint, tuner="grid", output_dir=tmp_path / "t")
    with pytest.raises(ConfigError, match="Unknown hyperparameter"):
        tfkit.tune(toy_data, toy_data, checkpoint=tiny_checkpoint, space={"lr": (1, 2)},
                          output_dir=tmp_path / "t")
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("algorithm", ["random", "bayesian", "hyperband"])
def test_each_algorithm_completes_trials(algorithm, toy_data, tiny_checkpoint, tmp_path):
    train, val = toy_data.split(0.25)
    result = tfkit.tune(train, val, checkpoint=tiny_checkpoint, tuner=algorithm, max_trials=2,
                               objective="val_accuracy", output_dir=tmp_path / "search", space=TINY_SPACE)
    done = result.completed_trials()
    assert len(done) >= 2
    assert all(0.0 <= row["score"] <= 1.0 for row in done)


def test_results_best_model_and_tensorboard_hparams(toy_data, tiny_checkpoint, tmp_path):
    train, val = toy_data.split(0.25)
    result = tfkit.tune(train, val, checkpoint=tiny_checkpoint, tuner="random", max_trials=3,
                               objective="val_loss", output_dir=tmp_path / "search", space=TINY_SPACE)
    assert result.objective.direction == "min"
    rows = result.completed_trials()
    assert len(rows) == 3 and all(row["seconds"] > 0 for row in rows)

    best = result.best_classifier()
    assert best.fit_record["score"] == min(row["score"] for row in rows)
    reloaded = tfkit.TextClassifier.load(result.directory / "best_model")
    assert reloaded.predict(["good film"])[0]["label"] == best.predict(["good film"])[0]["label"]
    best_loss = best.evaluate(val, verbose=0)["loss"]
    assert best_loss == pytest.approx(best.fit_record["score"], rel=1e-3), "restored weights are the trial's"

    out = result.report()
    assert json.loads((out / "trials.json").read_text())["objective"] == "val_loss"
    assert (out / "trials.csv").read_text().startswith("trial_id,")
    assert (out / "trials.md").read_text().count("\n") == 5
    assert (out / "trials.png").read_bytes()[:4] == b"\x89PNG"

    # every trial's TensorBoard folder carries hparams plugin data, and its scalars
    for row in rows:
        log_dir = result.directory / f"trial_{row['trial_id']}" / "logs"
        plugins, tags = set(), set()
        for event_file in log_dir.rglob("events.out.tfevents.*"):
            for event in tf.compat.v1.train.summary_iterator(str(event_file)):
                for value in event.summary.value:
                    tags.add(value.tag)
                    plugins.add(value.metadata.plugin_data.plugin_name)
        assert "hparams" in plugins, f"trial {row['trial_id']} has no hparams record"
        assert "epoch_loss" in tags
