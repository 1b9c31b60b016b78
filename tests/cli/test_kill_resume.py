"""SIGKILL `tfkit train` mid-epoch, re-run it with --resume: it continues from the last backup and ends
with as many optimiser steps as a run that was never interrupted; nothing half-written is left."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import toy_texts
from tfkit.testing.faults import kill_and_resume

pytestmark = pytest.mark.slow


def test_killed_train_resumes_to_the_same_number_of_steps(tiny_checkpoint, tmp_path):
    texts, labels = toy_texts(1200)
    data = tmp_path / "train.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(data, index=False)
    args = [str(data), "--checkpoint", str(tiny_checkpoint), "--epochs", "3", "--batch-size", "4",
            "--max-length", "16", "--validation-split", "0.05", "--seed", "0"]
    outcome = kill_and_resume(args, tmp_path / "killed", tmp_path / "whole")
    assert outcome.killed_while_running, "training finished before the kill: make the epochs longer"
    assert outcome.half_written == [], "a killed run leaves no stage.json or model"
    assert outcome.refused_without_resume and "--resume" in outcome.refusal_message, outcome.refusal_message
    assert "Epoch 1/3" not in outcome.resumed_output and "Epoch 3/3" in outcome.resumed_output, \
        f"epoch 1 is not redone:\n{outcome.resumed_output}"
    assert outcome.resumed_steps == outcome.uninterrupted_steps > 0
    stage = tmp_path / "killed" / "01_finetune"
    assert json.loads((stage / "stage.json").read_text())["status"] == "complete"
    assert not (stage / "backup").exists() or not any((stage / "backup").iterdir()), "backup removed at the end"
