"""TF-MOT's pruning callbacks, made to reach wrappers nested inside layers.

TF-MOT's ``UpdatePruningStep`` and ``PruningSummaries`` find wrappers with
``collect_prunable_layers``, which walks ``model.layers`` and descends only into
nested *models*. In a Hugging Face classifier the wrappers sit inside
``TFBertMainLayer`` (a layer), so they are never found: their step is never
initialised and the first training step fails TF-MOT's "requires the
UpdatePruningStep callback" assertion. These callbacks find wrappers through
``model.submodules``, which follows every tracked attribute.

Examples:
    >>> from tfkit.optimize.callbacks import NestedUpdatePruningStep
    >>> clf.fit(train, callbacks=[NestedUpdatePruningStep()])   # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from tensorflow_model_optimization.sparsity.keras import UpdatePruningStep

from tfkit._compat import private
from tfkit._keras import keras, tf
from tfkit.errors import ConfigError

PruneLowMagnitude = private("PruneLowMagnitude")


def nested_wrappers(model: Any) -> list[PruneLowMagnitude]:
    """Every ``PruneLowMagnitude`` wrapper reachable from ``model``, once each, in a stable order.

    Examples:
        >>> nested_wrappers(keras.Sequential([keras.layers.Dense(2)]))
        []
    """
    seen: set[int] = set()
    found = []
    for module in model.submodules:
        if isinstance(module, PruneLowMagnitude) and id(module) not in seen:
            seen.add(id(module))
            found.append(module)
    return found


class NestedUpdatePruningStep(UpdatePruningStep):
    """TF-MOT's ``UpdatePruningStep`` over nested wrappers: starts every wrapper's step at 0.

    Each wrapper then advances its own step once per training batch (TF-MOT's
    wrapper increments it in ``call``), recomputes masks when the schedule says
    so, and this callback re-applies the masks at the end of every epoch so that
    saved weights are already sparse.

    Examples:
        >>> clf.fit(train, callbacks=[NestedUpdatePruningStep()])   # doctest: +SKIP
    """

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.prunable_layers = nested_wrappers(self.model)
        fresh = [(layer.pruning_step, 0) for layer in self.prunable_layers if int(layer.pruning_step.numpy()) == -1]
        if fresh:  # a resumed or continued run keeps its steps
            keras.backend.batch_set_value(fresh)


class NestedPruningSummaries(keras.callbacks.Callback):
    """Per-wrapper sparsity and threshold in TensorBoard, like TF-MOT's ``PruningSummaries``.

    Writes ``<log_dir>/<layer path>/sparsity`` (measured from the mask) and
    ``.../threshold`` at the start of every epoch and at the end of training,
    plus ``target_sparsity`` (the schedule's value), against the optimizer step.

    Args:
        log_dir: a TensorBoard log directory (e.g. ``<run>/03_prune/logs/pruning``).
        names: optional ``{id(wrapper): name}``; wrappers are named after their layer otherwise.

    Examples:
        >>> clf.fit(train, callbacks=[NestedUpdatePruningStep(),
        ...                           NestedPruningSummaries("logs/pruning")])   # doctest: +SKIP
    """

    def __init__(self, log_dir: str | os.PathLike, names: dict[int, str] | None = None):
        super().__init__()
        if not str(log_dir):
            raise ConfigError("Expected a non-empty log_dir. Received: log_dir=''.")
        self.log_dir = Path(log_dir)
        self.names = dict(names or {})
        self._writer: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._writer = tf.summary.create_file_writer(str(self.log_dir))

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._write()

    def on_train_end(self, logs: dict | None = None) -> None:
        self._write()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _write(self) -> None:
        if self._writer is None:
            return
        step = int(self.model.optimizer.iterations.numpy())
        with self._writer.as_default():
            for wrapper in nested_wrappers(self.model):
                name = self.names.get(id(wrapper), wrapper.name)
                pruning_step = max(int(wrapper.pruning_step.numpy()), 0)
                tf.summary.scalar(f"{name}/target_sparsity",
                                  float(wrapper.pruning_schedule(tf.constant(pruning_step, tf.int64))[1]), step=step)
                for _, mask, threshold in wrapper.pruning_vars:
                    tf.summary.scalar(f"{name}/sparsity", 1.0 - float(np.mean(mask.numpy())), step=step)
                    tf.summary.scalar(f"{name}/threshold", float(threshold.numpy()), step=step)
        self._writer.flush()
