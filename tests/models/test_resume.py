"""An interrupted fit resumes from its backup, and only when asked to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import tfkit
from tfkit._keras import keras
from tfkit.errors import ConfigError, OutputExistsError


class Interrupt(keras.callbacks.Callback):
    def __init__(self, after_epoch: int):
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after_epoch:
            raise KeyboardInterrupt("simulated kill")


class Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs, self.first_step = [], None

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)
        if self.first_step is None:
            self.first_step = int(self.model.optimizer.iterations.numpy())


def test_interrupted_fit_resumes_where_it_stopped(tiny_checkpoint, toy_data, tmp_path):
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy_data.labels, max_length=16)
    clf.compile(learning_rate=1e-3, batch_size=16)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(toy_data, epochs=4, output_dir=tmp_path, callbacks=[Interrupt(after_epoch=1)], verbose=0)
    assert any((tmp_path / "backup").iterdir())

    fresh = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy_data.labels, max_length=16)
    fresh.compile(learning_rate=1e-3, batch_size=16)
    with pytest.raises(OutputExistsError, match="resume=True"):
        fresh.fit(toy_data, epochs=4, output_dir=tmp_path, verbose=0)

    record = Record()
    fresh.fit(toy_data, epochs=4, output_dir=tmp_path, resume=True, callbacks=[record], verbose=0)
    assert record.epochs == [2, 3], "epochs 0 and 1 are not redone"
    steps_per_epoch = int(fresh.optimizer.iterations.numpy()) // 4
    assert record.first_step == 2 * steps_per_epoch, "optimizer state (and the LR schedule) is restored"
    assert not (tmp_path / "backup").exists() or not any((tmp_path / "backup").iterdir())


def test_overwrite_discards_the_backup(tiny_classifier, toy_data, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        tiny_classifier.fit(toy_data, epochs=3, output_dir=tmp_path, callbacks=[Interrupt(0)], verbose=0)
    record = Record()
    tiny_classifier.compile()  # one fit per compile: starting over is explicit
    tiny_classifier.fit(toy_data, epochs=2, output_dir=tmp_path, overwrite=True, callbacks=[record], verbose=0)
    assert record.epochs == [0, 1] and record.first_step == 0


def test_resume_needs_output_dir(tiny_classifier, toy_data):
    with pytest.raises(ConfigError, match="output_dir"):
        tiny_classifier.fit(toy_data, epochs=1, resume=True, verbose=0)


SCRIPT = textwrap.dedent(
    """
    import sys, os
    import tfkit
    from tfkit._keras import keras
    from tests.conftest import toy_texts

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(f"EPOCH_DONE {epoch}", flush=True)
            if epoch == 1 and sys.argv[3] == "first":
                import time; time.sleep(600)          # wait to be killed

    texts, labels = toy_texts(64)
    data = tfkit.data.from_lists(texts, labels)
    clf = tfkit.TextClassifier.from_pretrained(sys.argv[1], labels=data.labels, max_length=16)
    clf.fit(data, epochs=4, output_dir=sys.argv[2], resume=sys.argv[3] == "resume", callbacks=[Slow()], verbose=0)
    print("FINISHED", flush=True)
    """
)


def test_sigkilled_process_resumes(tiny_checkpoint, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, str(script), str(tiny_checkpoint), str(out), "first"],
                            stdout=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if line.startswith("EPOCH_DONE 1"):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = subprocess.run([sys.executable, str(script), str(tiny_checkpoint), str(out), "resume"],
                             capture_output=True, text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    epochs = [int(line.split()[1]) for line in resumed.stdout.splitlines() if line.startswith("EPOCH_DONE")]
    assert epochs == [2, 3]
    assert "FINISHED" in resumed.stdout
