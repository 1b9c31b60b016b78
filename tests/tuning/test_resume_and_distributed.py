"""A SIGKILLed search resumes without redoing finished trials; chief + two workers on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path


SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import tfkit
    from tfkit.tuning.tuner import ClassifierTuner
    from tests.conftest import toy_texts

    checkpoint, directory, max_trials = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    started = directory.parent / "started.log"
    original = ClassifierTuner.run_trial

    def run_trial(self, trial, *args, **kwargs):
        with open(started, "a") as f:
            f.write(f"{self.tuner_id} {trial.trial_id}\\n")
        return original(self, trial, *args, **kwargs)

    ClassifierTuner.run_trial = run_trial
    texts, labels = toy_texts(48)
    data = tfkit.data.from_lists(texts, labels)
    train, val = data.split(0.25)
    space = {"learning_rate": (1e-3, 5e-3), "batch_size": [16], "epochs": 1, "max_length": 16}
    result = tfkit.tune(train, val, checkpoint=checkpoint, tuner="random", max_trials=max_trials,
                               objective="val_accuracy", output_dir=directory, space=space)
    print("COMPLETED", len(result.completed_trials()), flush=True)
    """
)


def _env() -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    return {**{k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}, "PYTHONPATH": str(root)}


def _started(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]


def _oracle_trials(directory: Path) -> dict[str, dict]:
    trials = {}
    for trial_file in directory.glob("trial_*/trial.json"):
        record = json.loads(trial_file.read_text())
        trials[record["trial_id"]] = record
    return trials


def test_sigkilled_search_resumes_without_redoing_trials(tiny_checkpoint, tmp_path):
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    directory = tmp_path / "search"
    started = tmp_path / "started.log"
    command = [sys.executable, str(script), str(tiny_checkpoint), str(directory), "4"]
    proc = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while len(_started(started)) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert len(_started(started)) >= 3, "the search did not reach its third trial"
    proc.send_signal(signal.SIGKILL)  # during the third trial
    proc.wait()
    first_run = [trial for _, trial in _started(started)]
    finished_before = {t for t, rec in _oracle_trials(directory).items() if rec["status"] == "COMPLETED"}
    assert len(finished_before) >= 2

    resumed = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "COMPLETED 4" in resumed.stdout
    second_run = [trial for _, trial in _started(started)][len(first_run):]
    assert not finished_before & set(second_run), "finished trials were run again"
    assert first_run[-1] in second_run, "the interrupted trial is retried"
    statuses = [rec["status"] for rec in _oracle_trials(directory).values()]
    assert statuses.count("COMPLETED") == 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_two_workers_on_loopback(tiny_checkpoint, tmp_path):
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    directory = tmp_path / "search"
    port = str(_free_port())
    command = [sys.executable, str(script), str(tiny_checkpoint), str(directory), "4"]

    def launch(tuner_id: str) -> subprocess.Popen:
        env = {**_env(), "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": port}
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    chief = launch("chief")
    time.sleep(5)
    workers = [launch("tuner0"), launch("tuner1")]
    try:
        outputs = [w.communicate(timeout=600) for w in workers]
        chief_out = chief.communicate(timeout=120)
    finally:
        for proc in [chief, *workers]:
            if proc.poll() is None:
                proc.kill()
    for proc, (out, err) in zip(workers, outputs):
        assert proc.returncode == 0, err[-3000:]
    assert chief.returncode == 0, chief_out[1][-3000:]

    ran = _started(tmp_path / "started.log")
    assert {tuner for tuner, _ in ran} == {"tuner0", "tuner1"}, f"both workers ran trials: {ran}"
    trials = _oracle_trials(directory)
    assert len(trials) == 4 and all(rec["status"] == "COMPLETED" for rec in trials.values())
    oracle_state = json.loads((directory / "oracle.json").read_text())
    assert len(oracle_state["end_order"]) == 4, "the chief's oracle holds every trial"
