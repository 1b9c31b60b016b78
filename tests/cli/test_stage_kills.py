"""SIGKILL `tfkit prune` and `tfkit export` while they work, then run the same command again.

A killed stage leaves nothing that looks finished (no complete ``stage.json``, no model, the previous
export byte for byte), and the re-run completes and leaves no temporary folder of the killed process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

import tfkit
from tests.conftest import toy_texts
from tfkit.integrity import verify_folder

pytestmark = pytest.mark.slow

TIMEOUT = 240.0
TEMPORARY = re.compile(r"^\..+\.(tmp|old)-\d+-[a-z0-9_]+$")  # tfkit._io's names: .<name>.tmp-<pid>-XXXX


@pytest.fixture(scope="module")
def tiny_model(tiny_checkpoint, tmp_path_factory) -> Path:
    """A tiny BERT classifier, fine-tuned for one epoch and saved."""
    texts, labels = toy_texts(64)
    data = tfkit.data.from_lists(texts, labels)
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=data.labels, max_length=16,
                                               precision="float32")
    clf.fit(data, epochs=1, verbose=0)
    return clf.save_pretrained(tmp_path_factory.mktemp("stage-kills") / "model")


def _csv(path: Path, n: int, seed: int) -> Path:
    texts, labels = toy_texts(n, seed=seed)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def _tfkit(*args: object) -> list[str]:
    return [sys.executable, "-m", "tfkit", *map(str, args)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}  # what was printed before the kill reaches the log


def _kill_when(command: list[str], log: Path, ready: Callable[[], bool], settle: float = 0.0) -> tuple[int, bool]:
    """Starts ``command``, SIGKILLs it ``settle`` s after ``ready()`` holds; its pid and whether it was running."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=_env())
    deadline = time.monotonic() + TIMEOUT
    while not ready() and process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{command[3]} did not get under way in {TIMEOUT} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)
    time.sleep(settle)
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return process.pid, running


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=_env())


def _tree(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _temporaries(root: Path) -> list[str]:
    """tfkit temporary files and folders anywhere under ``root``."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".*") if TEMPORARY.match(p.name))


def test_killed_prune_leaves_no_stage_and_resumes_from_its_backup(tiny_model, tmp_path):
    data = _csv(tmp_path / "train.csv", 1600, seed=1)
    run = tmp_path / "run"
    stage = run / "03_prune"
    command = _tfkit("prune", data, "--output", run, "--model", tiny_model, "--epochs", 3, "--batch-size", 8,
                     "--validation-split", 0.05, "--no-tflite", "--seed", 0,
                     "--end", 1.0)  # sparsity rises until the last step: a restarted schedule would fall short
    backup_written = stage / "backup" / "chief" / "checkpoint"  # written after the epoch's checkpoint files
    killed_log = tmp_path / "killed.log"

    def in_epoch_2() -> bool:
        """Epoch 1's backup is complete and epoch 2 has begun: on a loaded machine seconds can part the two."""
        return backup_written.is_file() and "Epoch 2/3" in killed_log.read_text()

    pid, running = _kill_when(command, killed_log, in_epoch_2, settle=0.2)
    log = killed_log.read_text()
    assert running and "Epoch 2/3" in log and "Epoch 3/3" not in log, f"not killed in epoch 2:\n{log[-3000:]}"
    assert not (stage / "stage.json").exists() and not (stage / "model").exists(), sorted(os.listdir(stage))
    # A kill inside the model's save (a window of milliseconds, too short to hit reliably) leaves this behind:
    leftover = stage / f".model.tmp-{pid}-killed1"
    leftover.mkdir()
    (leftover / "config.json").write_text("{")

    refused = _run(command)
    assert refused.returncode == 2 and "--resume" in refused.stderr and "Traceback" not in refused.stderr, \
        refused.stderr[-3000:]

    resumed = _run([*command, "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Epoch 1/3" not in resumed.stdout and "Epoch 3/3" in resumed.stdout, resumed.stdout
    record = json.loads((stage / "stage.json").read_text())
    assert record["status"] == "complete" and record["outputs"]["model"] == str(stage / "model")
    assert record["metrics"]["max_sparsity_error_points"] < 0.5, "the pruning step is restored from the backup"
    steps_per_epoch = int(re.search(r"^(\d+)/\1 - ", resumed.stdout, re.M).group(1))
    manifest = json.loads((stage / "model" / "tfkit.json").read_text())
    assert manifest["fit"]["optimizer_steps"] == 3 * steps_per_epoch, "the resumed run trained every step once"
    assert verify_folder(stage / "model").ok
    assert not any((stage / "backup").rglob("*")), "the backup is removed at the end"
    assert _temporaries(run) == []


def test_killed_export_keeps_the_previous_output_and_the_rerun_cleans_up(tiny_model, tmp_path):
    validation = _csv(tmp_path / "dev.csv", 200, seed=2)
    out = tmp_path / "run" / "05_export"
    (out / "tflite").mkdir(parents=True)  # a previous export (its content does not matter to the swap)
    (out / "export.json").write_text('{"previous": true}\n')
    (out / "tflite" / "model_float32.tflite").write_bytes(os.urandom(4096))
    before = _tree(out)
    command = _tfkit("export", tiny_model, "--output", out, "--validation", validation,
                     "--quantization", "float32", "dynamic_int8", "--no-raw-text", "--no-mediapipe", "--overwrite")

    def saved_model_verified() -> bool:  # the SavedModel is checked; the TFLite conversions are still to come
        return any((tmp / "saved_model.json").is_file() for tmp in out.parent.glob(".05_export.tmp-*"))

    pid, running = _kill_when(command, tmp_path / "killed.log", saved_model_verified)
    assert running, (tmp_path / "killed.log").read_text()[-3000:]
    assert _tree(out) == before, "the previous export is untouched"
    leftovers = _temporaries(out.parent)
    assert len(leftovers) == 1 and leftovers[0].startswith(f".05_export.tmp-{pid}-"), leftovers

    rerun = _run(command)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    record = json.loads((out / "export.json").read_text())
    assert [v["name"] for v in record["variants"]] == ["saved_model", "float32", "dynamic_int8"]  # no app files asked
    assert _tree(out)["tflite/model_float32.tflite"] != before["tflite/model_float32.tflite"]
    assert verify_folder(out).ok, verify_folder(out).summary()
    assert _temporaries(out.parent) == [], "the killed export's temporary folder is removed by the re-run"
