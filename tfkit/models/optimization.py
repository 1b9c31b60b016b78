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


@keras.utils.register_keras_serializable(package="tfkit")
class FusedAdamW(keras.optimizers.AdamW):
    """Keras' AdamW, with each dense update run as TensorFlow's fused Adam kernel (``ResourceApplyAdam``).

    The arithmetic is Keras' (``m``, ``v`` and the bias-corrected step as ``AdamW.update_step`` computes them,
    decoupled weight decay applied by Keras before it), and the slots are Keras' own, so checkpoints and
    ``BackupAndRestore`` see the same optimizer. Keras runs a dense update as about ten separate ops per weight
    on CPU; the profile of a MiniLM step (``benchmarks/results/profile_train.md``) put them at a tenth of its op
    time. Sparse (embedding) gradients and ``amsgrad`` keep Keras' path. Written for tf-keras 2.21
    (``tests/models/test_optimization.py`` compares it with ``keras.optimizers.AdamW`` step by step); the
    private slot attributes it reads are fenced in ``tfkit._compat.PRIVATE["AdamW._var_key"]``.

    Examples:
        >>> opt = FusedAdamW(learning_rate=1e-3, weight_decay=0.01)
        >>> type(opt).__name__
        'FusedAdamW'
    """

    def update_step(self, gradient, variable):  # noqa: ANN001, ANN201  (Keras' public hook for custom optimizers)
        if isinstance(gradient, tf.IndexedSlices) or self.amsgrad:
            return super().update_step(gradient, variable)
        dtype = variable.dtype
        local_step = tf.cast(self.iterations + 1, dtype)
        key = self._var_key(variable)
        m = self._momentums[self._index_dict[key]]
        v = self._velocities[self._index_dict[key]]
        return tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=m.handle, v=v.handle,
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), local_step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), local_step),
            lr=tf.cast(self.learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
            beta2=tf.cast(self.beta_2, dtype), epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
            use_locking=False)


def warmup_schedule(config: TrainingConfig, total_steps: int) -> WarmupLinearDecay:
    """The learning-rate schedule of ``config`` over ``total_steps``."""
    return WarmupLinearDecay(config.learning_rate, round(config.warmup_ratio * total_steps), total_steps)


def make_optimizer(config: TrainingConfig, schedule: WarmupLinearDecay) -> keras.optimizers.Optimizer:
    """AdamW on a warm-up/decay schedule; LayerNorm and bias weights are not decayed."""
    optimizer = FusedAdamW(
        learning_rate=schedule,
        weight_decay=config.weight_decay,
        epsilon=1e-6,
        global_clipnorm=config.clipnorm,
    )
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
    return optimizer
