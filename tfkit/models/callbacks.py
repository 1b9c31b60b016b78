"""The callbacks every ``fit`` gets, so users need not remember them.

With an ``output_dir``, ``fit`` logs to TensorBoard (loss, metrics, learning
rate), keeps the best epoch's weights, and backs up each epoch so a killed run can
resume with ``resume=True``. Early stopping watches the validation metric.

The best epoch's weights (``checkpoints/best.h5``, weights only: ``clf.load_weights(path)``) stay
after ``fit`` only when they differ from the weights the model ends with: when the last epoch
(or, with ``restore_best_weights``, the restored one) is the best, the file would repeat the
model, and ``fit`` removes it (with ``checkpoints/best.json``, the epoch and value a resumed run starts from).

Examples:
    >>> cbs = training_callbacks(None, monitor="val_loss", mode="min", patience=2,
    ...                          has_validation=True)
    >>> [type(c).__name__ for c in cbs]
    ['EarlyStopping']
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from tfkit._keras import keras
from tfkit.errors import OutputExistsError

BACKUP = "backup"
LOGS = "logs"
BEST = "checkpoints/best.h5"


class BestWeights(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` of the best epoch's weights alone (HDF5, no optimizer state) that records
    which epoch (0-based) the file holds in ``saved_epoch``.

    Beside the file, ``best.json`` keeps that epoch and its ``monitor`` value, so a resumed run
    (``resume=True``) starts from them: an epoch after the restart replaces the file only when it beats
    the epochs before the interruption, and ``best_epoch`` counts from the run's first epoch.

    Examples:
        >>> callback = BestWeights("run/checkpoints/best.h5", monitor="val_loss", mode="min")
        >>> callback.saved_epoch is None
        True
    """

    def __init__(self, filepath: str, monitor: str, mode: str, resume: bool = False):
        self.record = Path(filepath).with_suffix(".json")
        earlier = read_best_record(self.record, monitor) if resume else None
        super().__init__(filepath, monitor=monitor, mode=mode, save_best_only=True, save_weights_only=True,
                         initial_value_threshold=None if earlier is None else earlier["value"])
        self.saved_epoch: int | None = None if earlier is None else earlier["epoch"]

    def on_epoch_end(self, epoch, logs=None):  # noqa: ANN001  (Keras' public hook, not its private _save_model)
        before = self.best
        super().on_epoch_end(epoch, logs)
        if self.best != before:  # it improved, so the file was written
            self.saved_epoch = epoch
            if Path(self.filepath).is_file():  # the chief's file (other workers write to temporary folders)
                scratch = self.record.with_suffix(f".json.{os.getpid()}.tmp")
                scratch.write_text(json.dumps({"epoch": epoch, "monitor": self.monitor, "value": float(self.best)}))
                scratch.replace(self.record)


def read_best_record(path: Path, monitor: str) -> dict | None:
    """The epoch and value ``best.json`` records, or None when there is none for this ``monitor``."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("monitor") != monitor or not Path(path).with_suffix(".h5").is_file():
        return None
    return record


def tidy_best_weights(callbacks: list, epochs: list[int], writer: bool = True) -> dict:
    """After ``fit``: which epochs the best file and the model hold (1-based), and the file removed when
    they are the same epoch. Returns ``{"best_epoch", "kept_epoch", "best_weights"}`` (the file's path,
    or None when it was removed or never written)."""
    best = next((c for c in callbacks if isinstance(c, BestWeights)), None)
    if best is None or not epochs:
        return {}
    kept = epochs[-1]
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.EarlyStopping) and callback.restore_best_weights \
                and callback.best_weights is not None:
            kept = callback.best_epoch
    path = Path(best.filepath)
    if best.saved_epoch == kept:  # every worker decides alike: they share the metrics
        if writer:
            path.unlink(missing_ok=True)
            best.record.unlink(missing_ok=True)
        # The other workers' ModelCheckpoint wrote to checkpoints/workertemp_<i> and removed it, but a
        # slower worker may remove its folder after the chief has looked: whichever process finishes last
        # finds the folder empty and removes it, so no empty checkpoints/ is left behind.
        with contextlib.suppress(OSError):  # removes only an empty folder
            path.parent.rmdir()
    return {"best_epoch": None if best.saved_epoch is None else best.saved_epoch + 1, "kept_epoch": kept + 1,
            "best_weights": str(path) if path.is_file() else None}


def prepare_backup(output_dir: str | Path, resume: bool, overwrite: bool, writer: bool = True) -> Path:
    """Checks the backup of an interrupted run; resuming from it must be asked for.

    Under a multi-worker strategy every process checks the same shared backup, but only the chief
    (``writer``) removes it on ``overwrite``; Keras' ``BackupAndRestore`` then lets the other workers
    read the chief's backup and write their own to temporary folders it removes.
    """
    backup = Path(output_dir) / BACKUP
    if backup.exists() and any(backup.iterdir()):
        if overwrite and not resume:
            if writer:
                shutil.rmtree(backup, ignore_errors=True)
        elif not resume:
            raise OutputExistsError(
                f"'{output_dir}' holds the backup of an interrupted run. "
                "Pass resume=True (CLI: --resume) to continue it, or overwrite=True (--overwrite) to start over."
            )
    return backup


def training_callbacks(
    output_dir: str | Path | None,
    monitor: str,
    mode: str,
    patience: int | None,
    has_validation: bool,
    restore_best: bool = False,
    resume: bool = False,
) -> list[keras.callbacks.Callback]:
    """Backup/restore, TensorBoard, best checkpoint and early stopping, as applicable.

    Under a multi-worker strategy the same callbacks run on every worker with the same paths: tf-keras'
    ``BackupAndRestore``, ``TensorBoard`` and ``ModelCheckpoint`` write on the chief only and point the
    other workers at ``workertemp_<i>`` folders they delete when training ends
    (tests/models/test_distribution.py checks that a two-worker run leaves a single-process run's files).

    With ``restore_best`` (and validation data) the model ends ``fit`` with the weights of its
    best epoch by ``monitor`` even when it does not stop early, as Keras Tuner's trials do.
    """
    callbacks: list[keras.callbacks.Callback] = []
    if not has_validation:
        monitor, mode = "loss", "min"
    if output_dir is not None:
        out = Path(output_dir)
        callbacks.append(keras.callbacks.BackupAndRestore(str(out / BACKUP), delete_checkpoint=True))
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(out / LOGS), update_freq="epoch", profile_batch=0))
        callbacks.append(BestWeights(str(out / BEST), monitor=monitor, mode=mode, resume=resume))
    if has_validation and (patience is not None or restore_best):
        never = 2**31 - 1  # restore_best without early stopping: wait "forever", restore at the end
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=never if patience is None else patience,
                                          restore_best_weights=True)
        )
    return callbacks
