"""Fault injection for tests and benchmarks: kill ``tfkit train`` mid-epoch, then resume it.

Examples:
    >>> outcome = kill_and_resume(["data.csv", "--checkpoint", "ckpt", "--epochs", "3"],
    ...                           "saved_models/killed", "saved_models/whole")    # doctest: +SKIP
    >>> outcome.resumed_steps == outcome.uninterrupted_steps                      # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence


@dataclasses.dataclass(frozen=True)
class KillResumeOutcome:
    """What happened to a ``tfkit train`` run killed mid-epoch and resumed."""

    killed_while_running: bool       # the process was still training when SIGKILL came
    half_written: list[str]          # stage outputs present right after the kill (should be none)
    refused_without_resume: bool     # re-running without --resume is a clean error
    refusal_message: str
    resumed_output: str
    resumed_steps: int
    uninterrupted_steps: int


def train_command(args: Sequence[str], output: str | os.PathLike) -> list[str]:
    return [sys.executable, "-m", "tfkit", "train", *args, "--output", str(output)]


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env={**os.environ})


def optimizer_steps(output: str | os.PathLike) -> int:
    """The optimiser steps recorded by a finished ``tfkit train`` run."""
    manifest = Path(output) / "01_finetune" / "model" / "tfkit.json"
    return int(json.loads(manifest.read_text(encoding="utf-8"))["fit"]["optimizer_steps"])


def kill_and_resume(args: Sequence[str], killed: str | os.PathLike, whole: str | os.PathLike,
                    wait_after_backup: float = 0.5, timeout: float = 300.0) -> KillResumeOutcome:
    """Trains with ``args`` into ``killed``, SIGKILLs it in the epoch after its first backup, re-runs it
    without and then with ``--resume``, and trains the same ``args`` uninterrupted into ``whole``."""
    killed, whole = Path(killed), Path(whole)
    stage = killed / "01_finetune"
    process = subprocess.Popen(train_command(args, killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    backup = stage / "backup"
    while not (backup.is_dir() and any(backup.iterdir())) and process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(f"no backup in {backup} after {timeout} s")
        time.sleep(0.05)
    time.sleep(wait_after_backup)
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    half = [name for name in ("stage.json", "model") if (stage / name).exists()]
    refused = _run(train_command(args, killed), timeout)
    resumed = _run(train_command([*args, "--resume"], killed), timeout)
    if resumed.returncode != 0:
        raise RuntimeError(f"the resumed run failed:\n{resumed.stdout}\n{resumed.stderr}")
    uninterrupted = _run(train_command(args, whole), timeout)
    if uninterrupted.returncode != 0:
        raise RuntimeError(f"the uninterrupted run failed:\n{uninterrupted.stdout}\n{uninterrupted.stderr}")
    return KillResumeOutcome(
        killed_while_running=running, half_written=half,
        refused_without_resume=refused.returncode == 2 and "Traceback" not in refused.stderr,
        refusal_message=(refused.stderr or refused.stdout).strip().splitlines()[-1] if (refused.stderr or refused.stdout) else "",
        resumed_output=resumed.stdout, resumed_steps=optimizer_steps(killed), uninterrupted_steps=optimizer_steps(whole),
    )
