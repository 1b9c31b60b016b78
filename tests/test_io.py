"""Atomic writes: temporary names carry the writer's pid, and a dead writer's leftovers are removed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

import pytest

from tfkit import _io
from tfkit._io import atomic_directory, atomic_write_text, remove_stale_temporaries
from tfkit.errors import OutputExistsError


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _siblings(root, name):
    return sorted(p.name for p in root.iterdir() if p.name.startswith(f".{name}."))


def test_atomic_directory_removes_only_dead_writers_temporaries(tmp_path, dead_pid):
    stale = tmp_path / f".out.tmp-{dead_pid}-abc123_x"
    stale_old = tmp_path / f".out.old-{dead_pid}-def456"
    live = tmp_path / f".out.tmp-{os.getpid()}-live0001"
    legacy = tmp_path / ".out.tmp-k2j4h5g6"          # no pid (written before pids were added): kept
    other = tmp_path / f".out2.tmp-{dead_pid}-abc123"  # another target's: kept
    for folder in (stale, stale_old, live, legacy, other):
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "w.bin").write_bytes(b"x")
    with atomic_directory(tmp_path / "out") as tmp:
        assert re.fullmatch(rf"\.out\.tmp-{os.getpid()}-[a-z0-9_]+", tmp.name), tmp.name
        (tmp / "a.txt").write_text("new")
    assert not stale.exists() and not stale_old.exists()
    assert live.is_dir() and legacy.is_dir() and other.is_dir()
    assert (tmp_path / "out" / "a.txt").read_text() == "new"
    assert _siblings(tmp_path, "out") == sorted([live.name, legacy.name])


def test_overwrite_uses_a_pid_named_trash_folder_and_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    with atomic_directory(out) as tmp:
        (tmp / "a.txt").write_text("one")
    seen, real_mkdtemp = [], tempfile.mkdtemp

    def spy(*args, **kwargs):
        made = real_mkdtemp(*args, **kwargs)
        seen.append(os.path.basename(made))
        return made

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_io.tempfile, "mkdtemp", spy)
        with atomic_directory(out, overwrite=True) as tmp:
            (tmp / "a.txt").write_text("two")
    assert [re.sub(r"-[a-z0-9_]+$", "", name) for name in seen] == [f".out.tmp-{os.getpid()}",
                                                                   f".out.old-{os.getpid()}"]
    assert (out / "a.txt").read_text() == "two" and _siblings(tmp_path, "out") == []


def test_dead_writers_trash_puts_the_previous_output_back(tmp_path, dead_pid):
    """Killed between its two renames, a writer left the old output only in its .old- folder."""
    trash = tmp_path / f".out.old-{dead_pid}-abc123"
    (trash / "out").mkdir(parents=True)
    (trash / "out" / "a.txt").write_text("previous")
    (tmp_path / f".out.tmp-{dead_pid}-def456").mkdir()   # its finished-but-not-renamed new output
    with pytest.raises(OutputExistsError):
        with atomic_directory(tmp_path / "out"):
            pass
    assert (tmp_path / "out" / "a.txt").read_text() == "previous"
    assert _siblings(tmp_path, "out") == []


def test_atomic_write_text_names_and_cleans_its_temporary_files(tmp_path, dead_pid):
    stale = tmp_path / f".stage.json.tmp-{dead_pid}-abc123"
    live = tmp_path / f".stage.json.tmp-{os.getpid()}-abc123"
    stale.write_text("{half")
    live.write_text("{half")
    atomic_write_text(tmp_path / "stage.json", "{}")
    assert (tmp_path / "stage.json").read_text() == "{}"
    assert _siblings(tmp_path, "stage.json") == [live.name]


def test_unparsable_or_impossible_pids_are_kept(tmp_path):
    names = [".out.tmp-0-abc", ".out.tmp-notapid-abc", ".out.tmp-99999999999999999999999-abc",
             ".out.tmp-12-a.tmp-1-b", ".out.tmp-"]
    for name in names:
        (tmp_path / name).mkdir()
    assert remove_stale_temporaries(tmp_path / "out") == []
    assert remove_stale_temporaries(tmp_path / "missing" / "out") == []
    assert _siblings(tmp_path, "out") == sorted(names)
