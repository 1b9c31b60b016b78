"""AdamW with linear warm-up then linear decay, as BERT fine-tuning expects.

Examples:
    >>> schedule = WarmupLinearDecay(peak=1e-3, warmup_steps=10, total_steps=100)
    >>> float(schedule(5)), float(schedule(10)), float(schedule(100))
    (0.0005, 0.001, 0.0)
"""

from __future__ import annotations

from tfkit._keras import keras, tf
from tfkit.models.config import TrainingConfig

NO_DECAY = ("LayerNorm", "layer_norm", "layernorm", "bias")


@keras.utils.register_keras_serializable(package="tfkit")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Rises linearly to ``peak`` over ``warmup_steps``, then falls linearly to 0 at ``total_steps``."""

    def __init__(self, peak: float, warmup_steps: int, total_steps: int):
        super().__init__()
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = max(int(total_steps), 1)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = self.peak * step / max(self.warmup_steps, 1)
        decay_span = max(self.total_steps - self.warmup_steps, 1)
        decay = self.peak * tf.maximum(0.0, (self.total_steps - step) / decay_span)
        return tf.where(step < self.warmup_steps, warm, decay)

    def get_config(self) -> dict:
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps}


def warmup_schedule(config: TrainingConfig, total_steps: int) -> WarmupLinearDecay:
    """The learning-rate schedule of ``config`` over ``total_steps``."""
    return WarmupLinearDecay(config.learning_rate, round(config.warmup_ratio * total_steps), total_steps)


def make_optimizer(config: TrainingConfig, schedule: WarmupLinearDecay) -> keras.optimizers.Optimizer:
    """AdamW on a warm-up/decay schedule; LayerNorm and bias weights are not decayed."""
    optimizer = keras.optimizers.AdamW(
        learning_rate=schedule,
        weight_decay=config.weight_decay,
        epsilon=1e-6,
        global_clipnorm=config.clipnorm,
    )
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
    return optimizer
