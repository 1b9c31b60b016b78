"""tfkit: from a pretrained BERT-family checkpoint and labelled text to a small, fast model.

Examples:
    >>> import tfkit
    >>> data = tfkit.data.from_lists(["great film", "dull"], ["pos", "neg"])
    >>> clf = tfkit.TextClassifier.from_pretrained(tfkit.models.default_checkpoint(),
    ...                                            labels=data.labels)   # doctest: +SKIP
"""

__version__ = "0.1.0"

from tfkit import _keras  # noqa: F401,E402  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from tfkit import data, errors, evaluation, export, models  # noqa: E402
from tfkit.data import TaskType, TextDataset  # noqa: E402
from tfkit.models import ClassifierConfig, TextClassifier, TrainingConfig  # noqa: E402



def __getattr__(name: str):
    # Keras Tuner imports Keras 3: load it only when tuning is used.
    if name == "tune":
        import tfkit.tuning as tune

        return tune
    # TF-MOT takes a second and a half to import: load it only when pruning is used.
    if name in ("optimize", "prune"):
        import tfkit.optimize as optimize

        return optimize if name == "optimize" else optimize.prune
    raise AttributeError(f"module 'tfkit' has no attribute {name!r}")


__all__ = [
    "ClassifierConfig",
    "TaskType",
    "TextClassifier",
    "TextDataset",
    "TrainingConfig",
    "data",
    "errors",
    "evaluation",
    "export",
    "models",
    "optimize",
    "prune",
    "tune",
]
