"""Hyperparameter search with Keras Tuner (random, Bayesian, Hyperband; resumable; distributable).

Examples:
    >>> import tfkit
    >>> result = tfkit.tune(train, val, tuner="random", max_trials=4,
    ...                     output_dir="saved_models/run/02_tune")   # doctest: +SKIP
"""

from tfkit.tuning.hypermodel import ClassifierHyperModel
from tfkit.tuning.report import TuningResult
from tfkit.tuning.search import Algorithm, search, tune
from tfkit.tuning.space import SearchSpace
from tfkit.tuning.tuner import ClassifierTuner

__all__ = ["Algorithm", "ClassifierHyperModel", "ClassifierTuner", "SearchSpace", "TuningResult", "search", "tune"]
