"""Keras metrics and losses chosen by task: accuracy and macro-F1 on logits.

Examples:
    >>> from tfkit.data.task import TaskType
    >>> [m.name for m in task_metrics(TaskType.SINGLE_LABEL, 3)]
    ['accuracy', 'macro_f1']
"""

from __future__ import annotations

from tfkit._keras import keras, tf
from tfkit.data.task import TaskType


@keras.utils.register_keras_serializable(package="tfkit")
class SparseMacroF1(keras.metrics.F1Score):
    """Macro-F1 from integer labels and logits (Keras' F1Score wants one-hot and probabilities)."""

    def __init__(self, num_classes: int, name: str = "macro_f1", **kwargs):
        kwargs.pop("average", None)
        kwargs.pop("threshold", None)
        super().__init__(average="macro", threshold=None, name=name, **kwargs)
        self.num_classes = num_classes

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.one_hot(tf.cast(tf.reshape(y_true, [-1]), tf.int32), self.num_classes)
        return super().update_state(y_true, tf.nn.softmax(tf.cast(y_pred, tf.float32)), sample_weight)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.utils.register_keras_serializable(package="tfkit")
class MultiLabelMacroF1(keras.metrics.F1Score):
    """Macro-F1 from multi-hot labels and logits, at a probability threshold."""

    def __init__(self, threshold: float = 0.5, name: str = "macro_f1", **kwargs):
        kwargs.pop("average", None)
        super().__init__(average="macro", threshold=float(threshold), name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_true, tf.sigmoid(tf.cast(y_pred, tf.float32)), sample_weight)


def task_loss(task: TaskType) -> keras.losses.Loss:
    """The loss for a task, on float32 logits."""
    if task is TaskType.SINGLE_LABEL:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if task is TaskType.MULTI_LABEL:
        return keras.losses.BinaryCrossentropy(from_logits=True)
    return keras.losses.MeanSquaredError()


def task_metrics(task: TaskType, num_outputs: int, threshold: float = 0.5) -> list[keras.metrics.Metric]:
    """Metrics logged during training: accuracy and macro-F1, or MAE/RMSE for regression."""
    if task is TaskType.SINGLE_LABEL:
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy"), SparseMacroF1(num_outputs)]
    if task is TaskType.MULTI_LABEL:
        logit_threshold = float(tf.math.log(threshold / (1.0 - threshold)))
        return [
            keras.metrics.BinaryAccuracy(name="accuracy", threshold=logit_threshold),
            MultiLabelMacroF1(threshold),
        ]
    return [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.RootMeanSquaredError(name="rmse")]


ERROR_METRICS = ("loss", "mae", "mse", "rmse", "error", "crossentropy", "hinge", "mape", "msle")


def monitor_mode(name: str) -> str:
    """``"min"`` for losses and errors (``val_loss``, ``mae``, ``rmse``...), else ``"max"``.

    Examples:
        >>> monitor_mode("val_loss"), monitor_mode("val_macro_f1")
        ('min', 'max')
    """
    return "min" if name.endswith(ERROR_METRICS) else "max"


def default_monitor(task: TaskType) -> tuple[str, str]:
    """(metric, mode) that early stopping and best-checkpointing watch."""
    return ("val_macro_f1", "max") if task.is_classification else ("val_loss", "min")
