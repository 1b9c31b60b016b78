"""The callbacks every ``fit`` gets, so users need not remember them.

With an ``output_dir``, ``fit`` logs to TensorBoard (loss, metrics, learning
rate), keeps the best epoch's weights, and backs up each epoch so a killed run can
resume with ``resume=True``. Early stopping watches the validation metric.

The best epoch's weights (``checkpoints/best.h5``, weights only: ``clf.load_weights(path)``) stay
after ``fit`` only when they differ from the weights the model ends with: when the last epoch
(or, with ``restore_best_weights``, the restored one) is the best, the file would repeat the
model, and ``fit`` removes it.

Examples:
    >>> cbs = training_callbacks(None, monitor="val_loss", mode="min", patience=2,
    ...                          has_validation=True)
    >>> [type(c).__name__ for c in cbs]
    ['EarlyStopping']
"""

from __future__ import annotations

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

    Examples:
        >>> callback = BestWeights("run/checkpoints/best.h5", monitor="val_loss", mode="min")
        >>> callback.saved_epoch is None
        True
    """

    def __init__(self, filepath: str, monitor: str, mode: str):
        super().__init__(filepath, monitor=monitor, mode=mode, save_best_only=True, save_weights_only=True)
        self.saved_epoch: int | None = None

    def on_epoch_end(self, epoch, logs=None):  # noqa: ANN001  (Keras' public hook, not its private _save_model)
        before = self.best
        super().on_epoch_end(epoch, logs)
        if self.best != before:  # it improved, so the file was written
            self.saved_epoch = epoch


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
    if best.saved_epoch == kept and writer:
        path.unlink(missing_ok=True)
        if path.parent.is_dir() and not any(path.parent.iterdir()):
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
        callbacks.append(BestWeights(str(out / BEST), monitor=monitor, mode=mode))
    if has_validation and (patience is not None or restore_best):
        never = 2**31 - 1  # restore_best without early stopping: wait "forever", restore at the end
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=never if patience is None else patience,
                                          restore_best_weights=True)
        )
    return callbacks
