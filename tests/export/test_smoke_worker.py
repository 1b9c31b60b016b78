"""The smoke test's child process: one for many files, a new one after a file kills it."""

from __future__ import annotations

import os

import pytest

from tfkit.export import runtime
from tfkit.export.runtime import RuntimeLoadError, _SmokeWorker


@pytest.fixture
def good_file(toy_export):
    return toy_export.path / "tflite" / "model_dynamic_int8.tflite"


def test_one_child_runs_many_files_and_reports_a_bad_one(good_file, tmp_path):
    worker = _SmokeWorker()
    try:
        worker.run(good_file, raw_text=False, timeout=120)
        pid = worker._child.pid
        broken = tmp_path / "broken.tflite"
        broken.write_bytes(os.urandom(2048))
        with pytest.raises(RuntimeLoadError, match="broken.tflite"):
            worker.run(broken, raw_text=False, timeout=120)
        worker.run(good_file, raw_text=False, timeout=120)
        worker.run(str(good_file).replace(".tflite", "_text.tflite"), raw_text=True, timeout=120)
        assert worker._child.pid == pid, "the same child served every file"
    finally:
        worker.close()


def test_a_file_that_kills_the_child_is_reported_and_the_next_gets_a_new_child(good_file):
    script = runtime._SMOKE_WORKER.replace("def token_ids(path):\n",
                                           "def token_ids(path):\n    if 'die' in path: import os; os._exit(3)\n")
    worker = _SmokeWorker(script)
    try:
        with pytest.raises(RuntimeLoadError, match=r"die\.tflite' \(exit code (3|-9)"):
            worker.run("/nowhere/die.tflite", raw_text=False, timeout=120)
        worker.run(good_file, raw_text=False, timeout=120)
    finally:
        worker.close()
