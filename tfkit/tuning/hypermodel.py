"""``ClassifierHyperModel``: builds and trains a tfkit classifier from hyperparameters.

Keras Tuner's Keras-aware ``Tuner`` rejects ``tf_keras`` models (keras-tuner
#1039), so the hypermodel is driven by :class:`~tfkit.tuning.tuner.ClassifierTuner`,
a ``BaseTuner`` that needs no Keras 3.

Examples:
    >>> import keras_tuner
    >>> hm = ClassifierHyperModel("path/to/checkpoint", labels=("neg", "pos"))   # doctest: +SKIP
    >>> model = hm.build(keras_tuner.HyperParameters())                          # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import keras_tuner

from tfkit.data.dataset import TextDataset
from tfkit.data.task import TaskType
from tfkit.models.config import ClassifierConfig
from tfkit.models.text_classifier import TextClassifier
from tfkit.tuning.space import SearchSpace


class ClassifierHyperModel(keras_tuner.HyperModel):
    """Builds a compiled :class:`TextClassifier` for a set of hyperparameters, and fits it.

    Args:
        checkpoint: local Hugging Face checkpoint directory.
        labels: class names in output order.
        task: the task type.
        space: the search space (defaults to :meth:`SearchSpace.default`).
        precision: compute precision of every trial (``"auto"`` by default).
        freeze_embeddings: keep embeddings fixed in every trial.
    """

    def __init__(self, checkpoint: str | os.PathLike, labels: Sequence[str], task: TaskType = TaskType.SINGLE_LABEL,
                 space: SearchSpace | None = None, precision: str = "auto", freeze_embeddings: bool = False,
                 seed: int = 0):
        super().__init__(name="tfkit_classifier", tunable=True)
        self.checkpoint = str(checkpoint)
        self.labels = tuple(labels)
        self.task = TaskType(task)
        self.space = space or SearchSpace.default()
        self.precision = precision
        self.freeze_embeddings = freeze_embeddings
        self.seed = seed

    def build(self, hp: keras_tuner.HyperParameters) -> TextClassifier:
        values = self.space.declare(hp)
        lora_rank = int(values["lora_rank"])
        model = TextClassifier.from_pretrained(
            self.checkpoint, labels=self.labels, task=self.task, max_length=values["max_length"],
            dropout=values["dropout"], freeze_layers=values["freeze_layers"],
            precision="float32" if lora_rank and self.precision == "auto" else self.precision,
            freeze_embeddings=self.freeze_embeddings,
        )
        if lora_rank:  # rank as a hyperparameter: a trial with rank 0 fine-tunes every weight
            from tfkit.models.lora import base_dropout_for, with_lora

            model = with_lora(model, rank=lora_rank, alpha=2.0 * lora_rank,  # the trial's dropout, else LoRA's
                              base_dropout=base_dropout_for(values["dropout"]))
        model.compile(learning_rate=values["learning_rate"], weight_decay=values["weight_decay"],
                      warmup_ratio=values["warmup_ratio"], batch_size=values["batch_size"])
        return model

    def fit(self, hp: keras_tuner.HyperParameters, model: TextClassifier, train: TextDataset,
            validation: TextDataset, **kwargs: Any) -> Any:
        epochs = hp.values.get("tuner/epochs", hp.get("epochs"))
        return model.fit(train, validation_data=validation, epochs=epochs, **kwargs)

    def classifier_config(self, hp: keras_tuner.HyperParameters) -> ClassifierConfig:
        """The classifier config a trial with ``hp`` uses."""
        return ClassifierConfig(labels=self.labels, task=self.task, max_length=hp.get("max_length"),
                                dropout=hp.get("dropout"), freeze_layers=hp.get("freeze_layers"),
                                precision=self.precision, checkpoint=self.checkpoint,
                                freeze_embeddings=self.freeze_embeddings)
