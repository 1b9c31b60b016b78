"""``ClassifierTuner``: Keras Tuner's ``BaseTuner`` running tfkit trials.

keras-tuner 1.4.8's ``Tuner`` only accepts Keras 3 models (#1039); its
``BaseTuner`` and oracles are Keras-agnostic, so this tuner implements
``run_trial`` itself: build the classifier from the trial's hyperparameters,
fit it with TensorBoard logs (scalars + the hparams plugin's record of the
trial), save its weights, and report the best value of the objective. State
lives in the search directory, so a re-run after a crash continues the
search; Keras Tuner's chief/worker mode (``KERASTUNER_*`` variables) works
unchanged.

Examples:
    >>> tuner = ClassifierTuner(oracle, hypermodel, directory="saved_models/run/02_tune")  # doctest: +SKIP
    >>> tuner.search(train, validation)                                                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import keras_tuner
from keras_tuner.engine import base_tuner

from tfkit._keras import keras, tf
from tfkit.data.dataset import TextDataset
from tfkit.errors import CheckpointError
from tfkit.models.text_classifier import TextClassifier
from tfkit.tuning.hypermodel import ClassifierHyperModel

WEIGHTS = "weights"


class ClassifierTuner(base_tuner.BaseTuner):
    """Runs trials of a :class:`ClassifierHyperModel` under any Keras Tuner oracle."""

    def __init__(self, oracle: keras_tuner.Oracle, hypermodel: ClassifierHyperModel,
                 early_stopping_patience: int | None = 1, **kwargs: Any):
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)
        self.early_stopping_patience = early_stopping_patience

    def trial_dir(self, trial_id: str) -> Path:
        return Path(self.get_trial_dir(trial_id))

    def run_trial(self, trial: Any, train: TextDataset, validation: TextDataset, verbose: Any = 0) -> dict:
        hp = trial.hyperparameters
        trial_dir = self.trial_dir(trial.trial_id)
        trial_dir.mkdir(parents=True, exist_ok=True)
        (trial_dir / "tuner_id.txt").write_text(self.tuner_id)
        model = self.hypermodel.build(hp)
        initial_epoch = 0
        if "tuner/trial_id" in hp.values:  # Hyperband continues a previous bracket's trial
            restore_weights(model, self.trial_dir(hp.values["tuner/trial_id"]) / WEIGHTS)
            initial_epoch = hp.values.get("tuner/initial_epoch", 0)
        self._write_hparams(trial, trial_dir / "logs")
        start = time.perf_counter()
        # Early stopping and the weights kept watch the search objective, in its direction, so the saved
        # weights are those of the epoch whose score the trial reports.
        objective = self.oracle.objective
        history = self.hypermodel.fit(
            hp, model, train, validation, output_dir=trial_dir / "fit", resume=True,  # a retried trial continues
            early_stopping_patience=self.early_stopping_patience, initial_epoch=initial_epoch,
            monitor=objective.name, restore_best_weights=True,
            callbacks=[keras.callbacks.TensorBoard(str(trial_dir / "logs"), profile_batch=0)],
            verbose=verbose,
        )
        model.save_weights(str(trial_dir / WEIGHTS))
        (trial_dir / "timing.json").write_text(json.dumps({"seconds": time.perf_counter() - start}))
        return self._best_epoch_metrics(history.history)

    def _best_epoch_metrics(self, history: dict[str, list[float]]) -> dict[str, float]:
        objective = self.oracle.objective
        values = history.get(objective.name)
        if not values:
            raise keras_tuner.errors.FatalError(
                f"The objective '{objective.name}' was never logged. Logged metrics: {sorted(history)}."
            )
        best = (max if objective.direction == "max" else min)(range(len(values)), key=values.__getitem__)
        return {name: float(series[best]) for name, series in history.items()}

    def _write_hparams(self, trial: Any, log_dir: Path) -> None:
        from tensorboard.plugins.hparams import api as hparams_api

        values = {k: v for k, v in trial.hyperparameters.values.items() if isinstance(v, (int, float, str, bool))}
        with tf.summary.create_file_writer(str(log_dir)).as_default():
            hparams_api.hparams(values, trial_id=trial.trial_id)

    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        model.save_weights(str(self.trial_dir(trial_id) / WEIGHTS))

    def load_model(self, trial: Any) -> TextClassifier:
        """The trial's trained classifier (weights restored from its trial folder)."""
        model = self.hypermodel.build(trial.hyperparameters)
        restore_weights(model, self.trial_dir(trial.trial_id) / WEIGHTS)
        return model

    def trial_seconds(self, trial_id: str) -> float | None:
        timing = self.trial_dir(trial_id) / "timing.json"
        return json.loads(timing.read_text())["seconds"] if timing.is_file() else None

    def trial_tuner_id(self, trial_id: str) -> str | None:
        marker = self.trial_dir(trial_id) / "tuner_id.txt"
        return marker.read_text() if marker.is_file() else None


def restore_weights(model: Any, path: Path) -> None:
    """Loads a trial's weights into ``model`` and checks that every model weight was restored.

    The checkpoint also holds optimizer slots a freshly built model does not have yet, so a
    partial restore is expected; a model weight missing from the checkpoint is not.
    """
    try:
        status = model.load_weights(str(path))
        status.assert_existing_objects_matched()
    except AssertionError as err:
        raise CheckpointError(
            f"Expected the checkpoint '{path}' to hold every weight of the model. Received: a checkpoint "
            f"without some of them ({str(err)[:300]}). The trial was saved from a different model; delete the "
            "trial folder (or the search, with overwrite=True) and search again."
        ) from None
    status.expect_partial()


def worker_environment() -> dict[str, str]:
    """The Keras Tuner distributed-mode variables of this process, for logs and tests."""
    return {k: v for k, v in os.environ.items() if k.startswith("KERASTUNER_")}
