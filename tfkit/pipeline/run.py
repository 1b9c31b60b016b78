"""A run folder with one subfolder per stage, each described by ``stage.json``.

Layout: ``saved_models/<run>/01_finetune/{stage.json, model/, report/, logs/}``;
later stages (tune, prune, quantize, export) add ``02_...`` folders that name
their parent stage. ``tensorboard --logdir saved_models/<run>`` shows all logs.

One writer per run folder: :meth:`RunDirectory.begin` (called by every stage
before it writes) takes an exclusive ``flock`` on ``<run>/.lock`` and holds it
until the process exits, :meth:`RunDirectory.release` is called, or a
``with RunDirectory(...)`` block ends. A second process is refused with
:class:`~tfkit.errors.RunLockedError` naming the pid that holds the folder; the
OS drops the lock of a dead process, so a stale ``.lock`` file never blocks.

Examples:
    >>> import tempfile
    >>> run = RunDirectory(tempfile.mkdtemp())
    >>> run.stage("finetune").name
    '01_finetune'
    >>> with RunDirectory(tempfile.mkdtemp()) as run:   # holds <run>/.lock inside the block
    ...     run.begin("finetune", resume=False, overwrite=False)
    False
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

from tfkit._io import atomic_write_json
from tfkit.errors import CheckpointError, ConfigError, OutputExistsError, RunLockedError, UnsafePathError
from tfkit.integrity import inside

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not locked there
    fcntl = None

STAGES = ("finetune", "tune", "prune", "quantize", "export")
LOCK = ".lock"
_HELD: dict[str, int] = {}  # real path of a run folder -> the open, flocked lock file of this process


@dataclasses.dataclass(frozen=True)
class RunDirectory:
    """The folder of one pipeline run."""

    path: Path

    def __init__(self, path: str | os.PathLike):
        object.__setattr__(self, "path", Path(path))

    def __enter__(self) -> "RunDirectory":
        self.lock()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def stage(self, name: str) -> Path:
        """The folder of stage ``name`` (e.g. ``01_finetune``), which must stay inside the run folder."""
        if name not in STAGES:
            raise ConfigError(f"Expected a stage name in {STAGES}. Received: name={name!r}.")
        return inside(self.path, f"{STAGES.index(name) + 1:02d}_{name}")

    def lock(self) -> Path:
        """Takes this run folder for this process (an exclusive, non-blocking ``flock`` on ``<run>/.lock``).

        Re-entrant within a process; held until :meth:`release` or the process exits. The lock
        file records the holder's pid, host and command.

        Raises:
            RunLockedError: another live process holds the folder.

        Examples:
            >>> import tempfile
            >>> RunDirectory(tempfile.mkdtemp()).lock().name
            '.lock'
        """
        self.path.mkdir(parents=True, exist_ok=True)
        lock_file, key = self.path / LOCK, os.path.realpath(self.path)
        if fcntl is None or key in _HELD:
            return lock_file
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as err:
            if err.errno != errno.ELOOP:
                raise
            raise UnsafePathError(f"Expected '{lock_file}' to be a plain lock file. Received: a symbolic link. "
                                  "Remove it and run again.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            who = f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')!r}" if holder else \
                "another process (pid not yet recorded)"
            command = f" (command: {holder['command']}; since {holder.get('since', '?')})" \
                if holder.get("command") else ""
            raise RunLockedError(
                f"Expected one writer per run folder. Received: '{self.path}' is being written by {who}{command}. "
                "Wait for that process to finish, stop it, or write to another run folder (--output).") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv),
                "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _HELD[key] = fd
        with contextlib.suppress(OSError):  # the record is for messages only; a full disk must not leak the lock
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        return lock_file

    def release(self) -> None:
        """Gives the run folder up (a no-op when this process does not hold it)."""
        fd = _HELD.pop(os.path.realpath(self.path), None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def holder(self) -> dict[str, Any] | None:
        """The pid/host/command of the process holding the folder's lock, or None when it is free."""
        lock_file = self.path / LOCK
        key = os.path.realpath(self.path)
        if fcntl is None or not lock_file.is_file() or os.path.islink(lock_file):
            return None
        if key in _HELD:
            return _holder(_HELD[key])
        fd = os.open(lock_file, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(fd) or {}
        finally:
            os.close(fd)
        return None

    def finished(self, name: str) -> dict[str, Any] | None:
        """The stage's ``stage.json`` if the stage completed, else None."""
        record = self.stage(name) / "stage.json"
        if not record.is_file():
            return None
        data = json.loads(record.read_text(encoding="utf-8"))
        return data if data.get("status") == "complete" else None

    def begin(self, name: str, resume: bool, overwrite: bool, clear: bool = True) -> bool:
        """Whether stage ``name`` is finished and should be reused (``resume``); otherwise readies it.

        ``overwrite`` removes what the stage folder holds (unless ``clear=False``, for stages that
        replace their folder atomically themselves); a finished stage with neither flag is an error.
        First takes the run folder for this process (:meth:`lock`).
        """
        self.lock()
        done = self.finished(name)
        if done and resume and not overwrite:
            return True
        stage_dir = self.stage(name)
        if overwrite:
            if clear and stage_dir.exists():
                shutil.rmtree(stage_dir)
        elif done:
            raise OutputExistsError(f"Stage '{stage_dir}' is already complete. Pass resume=True to reuse it or "
                                    "overwrite=True to redo it.")
        return False

    def latest_model(self, stages: tuple[str, ...], model: str | os.PathLike | None = None,
                     purpose: str = "use") -> tuple[Path, str | None]:
        """``model`` if given, else the model of the first finished stage in ``stages`` and that stage's name."""
        if model:
            return Path(model), None
        for parent in stages:
            done = self.finished(parent)
            if done and done.get("outputs", {}).get("model"):
                found = Path(done["outputs"]["model"])
                if not found.resolve().is_relative_to(self.path.resolve()):
                    raise UnsafePathError(
                        f"Expected the {parent} stage's model inside the run folder '{self.path}'. Received: "
                        f"outputs.model='{found}' in {self.stage(parent) / 'stage.json'}. The record was edited "
                        "or the folder moved; redo that stage, or pass the model directory explicitly.")
                return found, parent
        names = [name.replace("finetune", "fine-tune") for name in reversed(stages)]
        listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        raise CheckpointError(
            f"'{self.path}' has no finished {listed} stage to {purpose}. Received: model=None. "
            f"Run `tfkit train` into this run folder first, or pass the model directory to {purpose}.")

    def write_stage(self, name: str, config: dict[str, Any], metrics: dict[str, Any],
                    outputs: dict[str, str], parent: str | None) -> Path:
        """Marks stage ``name`` complete, recording its config, metrics, outputs and parent.

        Refused (:class:`~tfkit.errors.RunLockedError`) while another process holds the run folder.
        A stage that did not call :meth:`begin` (tune: its distributed workers share the folder)
        does not take the lock here.
        """
        holder = None if os.path.realpath(self.path) in _HELD else self.holder()
        if holder is not None:
            raise RunLockedError(
                f"Expected one writer per run folder. Received: '{self.path}' is being written by pid "
                f"{holder.get('pid', '?')} on host {holder.get('host', '?')!r}. Wait for it to finish or write "
                "to another run folder.")
        record = {
            "stage": name,
            "status": "complete",
            "parent": parent,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": config,
            "metrics": metrics,
            "outputs": outputs,
        }
        return atomic_write_json(self.stage(name) / "stage.json", record)


def _holder(fd: int) -> dict[str, Any]:
    """The holder record in an open lock file ({} while the holder has not written it yet)."""
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
