"""The tune stage and its command line."""

from __future__ import annotations

import json

import pytest

from tfkit.cli.main import main
from tfkit.errors import ConfigError
from tfkit.pipeline.tune import parse_space
from tests.conftest import toy_texts


def test_parse_space():
    assert parse_space(["learning_rate=1e-5:1e-4", "batch_size=16,32", "epochs=2", "dropout=0.1"]) == {
        "learning_rate": (1e-5, 1e-4), "batch_size": [16, 32], "epochs": 2, "dropout": 0.1}
    assert parse_space(["epochs=1:3"]) == {"epochs": (1, 3)}
    with pytest.raises(ConfigError, match="NAME=LOW:HIGH"):
        parse_space(["epochs"])
    with pytest.raises(ConfigError, match="Cannot read numbers"):
        parse_space(["epochs=a:b"])


def test_tune_command(tmp_path, tiny_checkpoint, capsys):
    texts, labels = toy_texts(48)
    data = tmp_path / "train.csv"
    data.write_text("text,label\n" + "".join(f"{t},{l}\n" for t, l in zip(texts, labels)))
    run = tmp_path / "run"
    code = main(["tune", str(data), "--checkpoint", str(tiny_checkpoint), "--output", str(run), "--tuner", "random",
                 "--max-trials", "2", "--objective", "val_accuracy", "--space", "learning_rate=1e-3:5e-3",
                 "--space", "batch_size=16", "--space", "epochs=1", "--space", "max_length=16"])
    assert code == 0
    out = capsys.readouterr().out
    assert "best model" in out and "| trial_id |" in out
    stage = json.loads((run / "02_tune" / "stage.json").read_text())
    assert stage["metrics"]["trials_completed"] == 2
    assert (run / "02_tune" / "search" / "best_model" / "tfkit.json").is_file()
    assert (run / "02_tune" / "report" / "trials.png").is_file()
    # an objective the task never logs is refused before any trial
    assert main(["tune", str(data), "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "r2"),
                 "--objective", "val_auc"]) == 2
    assert "never logged" in capsys.readouterr().err
