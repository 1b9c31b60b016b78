"""``tfkit.tune``: hyperparameter search over a tfkit classifier with Keras Tuner.

Examples:
    >>> import tfkit
    >>> result = tfkit.tune(train, val, tuner="bayesian", max_trials=8, objective="val_macro_f1",
    ...                     output_dir="saved_models/run1/02_tune")                      # doctest: +SKIP
    >>> best = result.best_classifier()    # doctest: +SKIP
    >>> result.report()                    # doctest: +SKIP
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Any, Sequence

import keras_tuner

from tfkit._deprecation import deprecated_alias, renamed_argument
from tfkit.data.dataset import TextDataset
from tfkit.errors import ConfigError
from tfkit.models.checkpoint import default_checkpoint
from tfkit.models.metrics import monitor_mode, task_metrics
from tfkit.tuning.hypermodel import ClassifierHyperModel
from tfkit.tuning.report import TuningResult
from tfkit.tuning.space import SearchSpace
from tfkit.tuning.tuner import ClassifierTuner


class Algorithm(str, enum.Enum):
    """Keras Tuner's search algorithms."""

    RANDOM = "random"
    BAYESIAN = "bayesian"
    HYPERBAND = "hyperband"


def logged_metrics(train: TextDataset) -> set[str]:
    """The metric names ``fit`` logs for this task, with validation."""
    names = ["loss"] + [m.name for m in task_metrics(train.task, train.num_labels)]
    return set(names) | {f"val_{n}" for n in names}


def make_objective(name: str, train: TextDataset) -> keras_tuner.Objective:
    """The objective, checked against the metrics ``fit`` will log; loss-like ones are minimised."""
    logged = logged_metrics(train)
    if name not in logged:
        raise ConfigError(f"Objective {name!r} is never logged for a {train.task.value} task. "
                          f"Expected one of {sorted(logged)}.")
    return keras_tuner.Objective(name, direction=monitor_mode(name))


def make_oracle(algorithm: str | Algorithm, objective: keras_tuner.Objective, max_trials: int, seed: int,
                max_epochs: int) -> keras_tuner.Oracle:
    try:
        algorithm = Algorithm(algorithm)
    except ValueError:
        raise ConfigError(f"Unknown tuner. Expected one of {[a.value for a in Algorithm]}. "
                          f"Received: tuner={algorithm!r}.") from None
    if max_trials < 1:
        raise ConfigError(f"Expected max_trials >= 1. Received: max_trials={max_trials}.")
    if algorithm is Algorithm.RANDOM:
        return keras_tuner.oracles.RandomSearchOracle(objective=objective, max_trials=max_trials, seed=seed)
    if algorithm is Algorithm.BAYESIAN:
        return keras_tuner.oracles.BayesianOptimizationOracle(objective=objective, max_trials=max_trials, seed=seed,
                                                              num_initial_points=min(3, max_trials))
    return keras_tuner.oracles.HyperbandOracle(objective=objective, max_epochs=max(max_epochs, 2), factor=3,
                                               hyperband_iterations=1, seed=seed)


def tune(
    train: TextDataset,
    validation: TextDataset,
    checkpoint: str | os.PathLike | None = None,
    labels: Sequence[str] | None = None,
    tuner: str = "bayesian",
    max_trials: int = 8,
    objective: str = "val_macro_f1",
    output_dir: str | os.PathLike = "saved_models/tuning",
    space: SearchSpace | dict[str, Any] | None = None,
    early_stopping_patience: int | None = 1,
    precision: str = "auto",
    freeze_embeddings: bool = False,
    overwrite: bool = False,
    seed: int = 0,
    verbose: Any = 0,
    **deprecated: Any,
) -> TuningResult:
    """Searches hyperparameters (``tfkit.tune``); re-running with the same ``output_dir`` resumes the search.

    Args:
        train, validation: the data of every trial.
        checkpoint: local checkpoint directory (default: all-MiniLM-L6-v2).
        labels: class names (default: ``train.labels``).
        tuner: ``"random"``, ``"bayesian"`` or ``"hyperband"``.
        max_trials: trials to run (Hyperband sizes itself from the epochs range).
        objective: any metric ``fit`` logs: ``val_accuracy``, ``val_macro_f1``, ``val_loss``...
        output_dir: where the search state, trial logs and weights live (``directory=`` is
            the deprecated spelling).
        space: a :class:`SearchSpace` or a dict of overrides of the default one.
        early_stopping_patience: early stopping inside each trial (None: off).
        overwrite: discard an existing search in ``directory`` instead of resuming it.
    """
    if "directory" in deprecated:
        output_dir = renamed_argument(deprecated, "directory", "output_dir", "tfkit.tune")
    if deprecated:
        raise ConfigError(f"Unexpected argument(s) {sorted(deprecated)} for tfkit.tune.")
    if isinstance(space, dict) or space is None:
        space = SearchSpace.default().with_overrides(**(space or {}))
    if tuple(labels or train.labels) != tuple(train.labels):
        raise ConfigError(f"labels {list(labels)} differ from train.labels {list(train.labels)}.")
    goal = make_objective(objective, train)
    max_epochs = space.epochs[1] if isinstance(space.epochs, tuple) else max(space.epochs) if isinstance(
        space.epochs, list) else space.epochs
    oracle = make_oracle(tuner, goal, max_trials, seed, max_epochs)
    hypermodel = ClassifierHyperModel(checkpoint or default_checkpoint(), labels=train.labels, task=train.task,
                                      space=space, precision=precision, freeze_embeddings=freeze_embeddings,
                                      seed=seed)
    directory = Path(output_dir)
    runner = ClassifierTuner(oracle, hypermodel, early_stopping_patience=early_stopping_patience,
                             directory=str(directory.parent), project_name=directory.name, overwrite=overwrite)
    runner.search(train, validation, verbose=verbose)
    return TuningResult(runner)


search = deprecated_alias(tune, "tfkit.tune.search(...)", "tfkit.tune(...)")
