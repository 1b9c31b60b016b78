"""Knowledge distillation: a smaller student learns from a fine-tuned teacher's logits.

:func:`distill` trains ``student`` with the ordinary :meth:`TextClassifier.fit` (TensorBoard, best
checkpoint, backup and resume as usual) on a loss that mixes the hard labels with the teacher's
temperature-softened distribution (Hinton et al., 2015)::

    loss = alpha * CE(labels, student) + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T))

The teacher runs inside each training step, in inference mode, as its Functional twin (the same
logits, with the last layer computed for ``[CLS]`` only). Unlabelled texts (``unlabeled=``) join the
training set with the teacher's predicted labels, so both terms see them.

The default student takes every other encoder block of the teacher with its embeddings and head
(DistilBERT's initialisation; :func:`student_from_teacher`); any other :class:`~tfkit.TextClassifier`
with the teacher's labels and tokenizer may be passed. The result is a plain ``TextClassifier``: it
exports and quantizes like any other.

Examples:
    >>> student = tfkit.distill(teacher, train, validation=val, epochs=3)     # doctest: +SKIP
    >>> tfkit.export(student, "saved_models/sst2/student", train=train, validation=val)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Sequence

from tfkit._keras import keras, tf
from tfkit.data.dataset import TextDataset, from_lists
from tfkit.errors import ConfigError, UnsupportedModelError
from tfkit.models.config import Precision, _JsonConfig
from tfkit.models.text_classifier import TextClassifier
from tfkit.models.twin import LAYOUTS, TwinMismatchError, functional_twin, hf_variables

DEFAULT_TEMPERATURE = 2.0
DEFAULT_ALPHA = 0.5
DEFAULT_LEARNING_RATE = 1e-4


@dataclasses.dataclass(frozen=True)
class DistillConfig(_JsonConfig):
    """How the student learns.

    Attributes:
        temperature: softens both distributions (``T`` above); the soft term is scaled by ``T^2``.
        alpha: weight of the hard-label cross-entropy; ``1 - alpha`` goes to the teacher's distribution.

    Examples:
        >>> DistillConfig(temperature=4.0, alpha=0.1).alpha
        0.1
    """

    temperature: float = DEFAULT_TEMPERATURE
    alpha: float = DEFAULT_ALPHA

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ConfigError(f"Expected temperature > 0. Received: temperature={self.temperature}.")
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"Expected 0 <= alpha <= 1. Received: alpha={self.alpha}.")


def teacher_layers(teacher_layers_count: int, student_layers_count: int) -> list[int]:
    """Which teacher blocks initialise the student's: evenly spaced from the first (6 -> 3: [0, 2, 4]).

    Examples:
        >>> teacher_layers(6, 3), teacher_layers(12, 4), teacher_layers(6, 6)
        ([0, 2, 4], [0, 3, 6, 9], [0, 1, 2, 3, 4, 5])
    """
    if not 1 <= student_layers_count <= teacher_layers_count:
        raise ConfigError(f"Expected a student with 1 to {teacher_layers_count} layers. "
                          f"Received: layers={student_layers_count}.")
    step = teacher_layers_count / student_layers_count
    return [int(i * step) for i in range(student_layers_count)]


def student_from_teacher(teacher: TextClassifier, layers: int | Sequence[int] = 3) -> TextClassifier:
    """A classifier with ``layers`` of ``teacher``'s encoder blocks (a count: evenly spaced, see
    :func:`teacher_layers`; or the indices), its embeddings, pooler and head, weights copied.

    Examples:
        >>> student = student_from_teacher(teacher, 3)   # MiniLM-L6 -> L3 from blocks 0, 2, 4  # doctest: +SKIP
    """
    model_type = teacher.hf_config.model_type
    if model_type not in LAYOUTS:
        raise UnsupportedModelError(f"Expected a BERT, RoBERTa, ELECTRA or DistilBERT teacher to take layers from. "
                                    f"Received: model_type={model_type!r}. Pass student= a classifier instead.")
    layout = LAYOUTS[model_type]
    count = int(layout.hf(teacher.hf_config, "num_hidden_layers"))
    chosen = teacher_layers(count, layers) if isinstance(layers, int) else [int(i) for i in layers]
    if not chosen or any(not 0 <= i < count for i in chosen):
        raise ConfigError(f"Expected teacher layer indices in 0..{count - 1}. Received: layers={chosen}.")
    hf = type(teacher.hf_config).from_dict(teacher.hf_config.to_dict())
    setattr(hf, "n_layers" if model_type == "distilbert" else "num_hidden_layers", len(chosen))
    student = TextClassifier.from_hf_config(hf, teacher.tokenizer, teacher.config)
    student.predict_logits(["a"])  # builds every weight
    source = {name: variable.numpy() for name, variable in hf_variables(teacher).items()}
    blocks = f"{layout.prefix}.{layout.blocks}."
    for name, variable in hf_variables(student).items():
        if name.startswith(blocks):
            index, rest = name[len(blocks):].split(".", 1)
            name = f"{blocks}{chosen[int(index)]}.{rest}"
        variable.assign(source[name])
    student.training_config = teacher.training_config
    student.fit_record = {"initialised_from": {"teacher_layers": chosen, "checkpoint": teacher.config.checkpoint}}
    return student


class DistillationStep:
    """Mixin for a :class:`~tfkit.TextClassifier` subclass: :meth:`train_step` adds a teacher's soft targets
    to the loss. Call :meth:`attach_teacher` before ``compile``; the teacher is not tracked (checkpoints
    hold the student alone). Used by :func:`distill` and by quantization-aware training's ``distill_alpha``."""

    def attach_teacher(self, teacher: Any, distill_config: "DistillConfig") -> None:
        object.__setattr__(self, "_teacher", teacher)
        # A Functional twin takes exactly its inputs; a TextClassifier teacher picks its own.
        self._teacher_inputs = None if isinstance(teacher, TextClassifier) else tuple(teacher.input_names)
        self.distill_config = distill_config
        # Epoch means, reset with the other metrics at each epoch (a step's own values would be one batch's).
        self.total_loss = keras.metrics.Mean(name="loss")
        self.soft_loss = keras.metrics.Mean(name="soft_loss")
        self.hard_loss = keras.metrics.Mean(name="hard_loss")

    def _distillation_losses(self, x: Any, y: Any, sample_weight: Any, training: bool) -> tuple:
        """(logits, total, soft, hard) of one batch on this replica: the student's logits and the three loss
        terms as means over the replica's examples (0 for a replica without examples, as Keras' own loss)."""
        temperature = tf.constant(self.distill_config.temperature, tf.float32)
        alpha = self.distill_config.alpha
        inputs = x if self._teacher_inputs is None else {name: x[name] for name in self._teacher_inputs}
        teacher_logits = tf.stop_gradient(tf.cast(self._teacher(inputs, training=False), tf.float32))
        logits = self(x, training=training)
        # compiled_loss divides by the replica count (gradients are summed over replicas): undo it here,
        # and divide the total once in train_step
        hard = self.compiled_loss(y, logits, sample_weight, regularization_losses=self.losses) * _replicas()
        soft_targets = tf.nn.softmax(teacher_logits / temperature)
        kl = tf.reduce_sum(soft_targets * (tf.math.log(soft_targets + 1e-12)
                                           - tf.nn.log_softmax(logits / temperature)), axis=-1)
        if sample_weight is not None:
            kl = kl * tf.cast(tf.reshape(sample_weight, tf.shape(kl)), kl.dtype)
        soft = tf.math.divide_no_nan(tf.reduce_sum(kl), tf.cast(tf.size(kl), kl.dtype)) * temperature * temperature
        return logits, alpha * hard + (1.0 - alpha) * soft, soft, hard

    def _distillation_report(self, x: Any, y: Any, logits: Any, sample_weight: Any, losses: tuple) -> dict[str, Any]:
        metrics = self.compute_metrics(x, y, logits, sample_weight)
        examples = tf.cast(tf.shape(logits)[0], tf.float32)  # replicas weigh by their examples, as Keras' loss
        for tracker, value in zip((self.total_loss, self.soft_loss, self.hard_loss), losses):
            tracker.update_state(value, sample_weight=examples)
        return {**metrics, **{t.name: t.result() for t in (self.total_loss, self.soft_loss, self.hard_loss)}}

    def train_step(self, data: Any) -> dict[str, Any]:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            logits, loss, soft, hard = self._distillation_losses(x, y, sample_weight, training=True)
            replica_share = loss / _replicas()  # the strategy sums the replicas' gradients
        self.optimizer.minimize(replica_share, self.trainable_variables, tape=tape)
        return self._distillation_report(x, y, logits, sample_weight, (loss, soft, hard))

    def test_step(self, data: Any) -> dict[str, Any]:
        """Validation reports the same three terms (``val_loss``, ``val_soft_loss``, ``val_hard_loss``)."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        logits, loss, soft, hard = self._distillation_losses(x, y, sample_weight, training=False)
        return self._distillation_report(x, y, logits, sample_weight, (loss, soft, hard))


def _replicas() -> float:
    return float(tf.distribute.get_strategy().num_replicas_in_sync)


class _Student(DistillationStep, TextClassifier):
    """The student while it trains."""

    def __init__(self, backbone: Any, tokenizer: Any, config: Any, teacher: Any, distill_config: DistillConfig,
                 **kwargs: Any):
        super().__init__(backbone, tokenizer, config, **kwargs)
        self.attach_teacher(teacher, distill_config)


def teacher_function(teacher: TextClassifier) -> Any:
    """The teacher's Functional twin (same logits, cheaper) where it has one, else the teacher itself."""
    if teacher.config.precision is Precision.FLOAT32 and not teacher.quantization_aware:
        try:
            return functional_twin(teacher)
        except (UnsupportedModelError, TwinMismatchError):
            pass
    return teacher


def distill(
    teacher: TextClassifier,
    train: TextDataset,
    student: TextClassifier | int | Sequence[int] = 3,
    validation: TextDataset | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    alpha: float = DEFAULT_ALPHA,
    unlabeled: Sequence[str] | None = None,
    epochs: int = 3,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    batch_size: int | None = None,
    output_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    **fit_options: Any,
) -> TextClassifier:
    """Trains a student on ``train`` (and ``unlabeled`` texts) from ``teacher``'s logits.

    Args:
        teacher: a fine-tuned single-label :class:`~tfkit.TextClassifier`.
        train: labelled training examples (the teacher's labels).
        student: a classifier to train, or how many of the teacher's blocks it keeps (an int, evenly
            spaced) or which (indices): :func:`student_from_teacher`.
        validation: per-epoch validation (best checkpoint, early stopping) as in ``fit``.
        temperature, alpha: see :class:`DistillConfig`.
        unlabeled: texts without labels; the teacher labels them and they join the training set.
        epochs, learning_rate, batch_size: the student's training.
        output_dir: TensorBoard logs (``soft_loss`` and ``hard_loss`` beside the usual scalars),
            best checkpoint and backup, as in :meth:`TextClassifier.fit`.
        **fit_options: further :meth:`TextClassifier.fit` arguments.

    Returns:
        The trained student, a plain ``TextClassifier``; its ``fit_record["distillation"]`` says how.
    """
    config = DistillConfig(temperature=temperature, alpha=alpha)
    if not teacher.config.task.is_classification or teacher.config.task.value != "single_label":
        raise ConfigError(f"Expected a single-label teacher for logits distillation. Received: "
                          f"task={teacher.config.task.value!r}.")
    if isinstance(student, TextClassifier):
        initial = student
        if tuple(initial.config.labels) != tuple(teacher.config.labels):
            raise ConfigError(f"Expected a student with the teacher's labels {list(teacher.config.labels)}. "
                              f"Received: {list(initial.config.labels)}.")
    else:
        initial = student_from_teacher(teacher, student)
    if tuple(train.labels) != tuple(teacher.config.labels):
        raise ConfigError(f"Expected training data with the teacher's labels {list(teacher.config.labels)}. "
                          f"Received: {list(train.labels)}.")
    data = train
    if unlabeled:
        predicted = teacher.predict_logits(list(unlabeled)).argmax(1)
        extra = from_lists(list(unlabeled), [teacher.config.labels[i] for i in predicted],
                           label_names=teacher.config.labels)
        data = from_lists(list(train.texts) + list(extra.texts),
                          [train.labels[i] for i in train.targets] + [extra.labels[i] for i in extra.targets],
                          label_names=teacher.config.labels)
    with initial.distribute_strategy.scope():
        trainer = _Student(initial.backbone, initial.tokenizer, initial.config, teacher_function(teacher), config)
    trainer.training_config = initial.training_config
    trainer.compile(learning_rate=learning_rate, **({"batch_size": batch_size} if batch_size else {}))
    trainer.fit(data, validation_data=validation, epochs=epochs, output_dir=output_dir, resume=resume,
                overwrite=overwrite, callbacks=callbacks, **fit_options)
    result = TextClassifier(trainer.backbone, trainer.tokenizer, trainer.config)
    result.training_config = trainer.training_config
    record = {**config.to_dict(), "teacher_checkpoint": teacher.config.checkpoint,
              "teacher_layers": _layers(teacher), "student_layers": _layers(initial),
              "unlabeled_texts": len(unlabeled or ())}
    if "initialised_from" in initial.fit_record:
        record["initialised_from"] = initial.fit_record["initialised_from"]
    result.fit_record = {**trainer.fit_record, "distillation": record}
    return result


def _layers(classifier: TextClassifier) -> int:
    hf = classifier.hf_config
    return int(getattr(hf, "num_hidden_layers", None) or getattr(hf, "n_layers"))


__all__ = ["DistillConfig", "DistillationStep", "distill", "student_from_teacher", "teacher_function", "teacher_layers"]
