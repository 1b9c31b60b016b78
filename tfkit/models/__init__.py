"""Text classifiers built on Hugging Face TF BERT-family checkpoints.

Examples:
    >>> import tfkit
    >>> tfkit.models.ClassifierConfig(labels=("a", "b")).max_length
    128
"""

from tfkit.models.checkpoint import default_checkpoint
from tfkit.models.config import ClassifierConfig, Precision, TrainingConfig
from tfkit.models.distribution import StrategyName, resolve_strategy
from tfkit.models.families import FAMILIES
from tfkit.models.text_classifier import TextClassifier

__all__ = ["FAMILIES", "ClassifierConfig", "Precision", "StrategyName", "TextClassifier", "TrainingConfig",
           "default_checkpoint", "resolve_strategy"]
