"""One writer per run folder: a second process is refused; the lock goes with its holder."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tfkit.errors import ConfigError, RunLockedError, UnsafePathError
from tfkit.pipeline.run import LOCK, RunDirectory

HOLDER = textwrap.dedent(
    """
    import sys
    from tfkit.pipeline.run import RunDirectory

    RunDirectory(sys.argv[1]).begin("finetune", resume=False, overwrite=False)  # what every stage does first
    print("LOCKED", flush=True)
    sys.stdin.read()  # hold the run folder until the test closes stdin or kills us
    """
)


def _start_holder(run: Path) -> subprocess.Popen:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    if not ready or proc.stdout.readline().strip() != "LOCKED":
        proc.kill()
        pytest.fail("the holder process did not take the lock")
    return proc


def test_second_process_is_refused_until_the_first_dies(tmp_path):
    run = RunDirectory(tmp_path / "run")
    holder = _start_holder(run.path)
    try:
        with pytest.raises(RunLockedError, match=rf"'{run.path}' is being written by pid {holder.pid}\b"):
            run.begin("prune", resume=False, overwrite=False)
        with pytest.raises(RunLockedError, match=str(holder.pid)):
            run.write_stage("tune", config={}, metrics={}, outputs={}, parent=None)
        assert run.holder()["pid"] == holder.pid
        assert not (run.stage("tune") / "stage.json").exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # no clean-up: the OS drops the flock of a dead process
        holder.wait()
    assert json.loads((run.path / LOCK).read_text())["pid"] == holder.pid  # stale record left behind
    assert run.holder() is None
    with run:
        assert run.begin("prune", resume=False, overwrite=False) is False
        assert json.loads((run.path / LOCK).read_text())["pid"] == os.getpid()
        run.write_stage("prune", config={}, metrics={}, outputs={}, parent=None)
    assert (run.path / LOCK).read_text() == ""  # released: the holder record is cleared


def test_lock_is_reentrant_in_one_process_and_released_by_with(tmp_path):
    first, second = RunDirectory(tmp_path / "run"), RunDirectory(tmp_path / "run")
    with first:
        first.begin("finetune", resume=False, overwrite=False)
        second.begin("prune", resume=False, overwrite=False)  # the same process may run several stages
        assert first.holder()["pid"] == os.getpid()
    assert first.holder() is None


def test_lock_file_may_not_be_a_symlink(tmp_path):
    run = RunDirectory(tmp_path / "run")
    run.path.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (run.path / LOCK).symlink_to(victim)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        run.lock()
    assert victim.read_text() == "keep me"


def test_stage_names_and_recorded_models_stay_inside_the_run(tmp_path):
    run = RunDirectory(tmp_path / "run")
    with pytest.raises(ConfigError, match="stage name"):
        run.stage("../escape")
    (run.path).mkdir()
    (run.path / "01_finetune").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        run.stage("finetune")
    os.unlink(run.path / "01_finetune")
    with run:
        run.write_stage("finetune", config={}, metrics={}, outputs={"model": str(tmp_path / "elsewhere")},
                        parent=None)
    with pytest.raises(UnsafePathError, match="inside the run folder"):
        run.latest_model(("finetune",))
