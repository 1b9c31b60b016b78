"""``TextClassifier``: a Keras model around a Hugging Face TF BERT-family classifier.

It owns the backbone (``TFAutoModelForSequenceClassification``) and the
checkpoint's tokenizer, and accepts :class:`~tfkit.data.TextDataset` and raw
strings wherever Keras accepts tensors.

Examples:
    >>> import tfkit
    >>> data = tfkit.data.load("reviews.csv", text="review", label="sentiment")  # doctest: +SKIP
    >>> train, val = data.split(0.1, seed=0)                                      # doctest: +SKIP
    >>> clf = tfkit.TextClassifier.from_pretrained(
    ...     tfkit.models.default_checkpoint(), labels=data.labels)               # doctest: +SKIP
    >>> clf.compile()                                                             # doctest: +SKIP
    >>> clf.fit(train, validation_data=val, epochs=3, output_dir="saved_models/run")  # doctest: +SKIP
    >>> clf.predict(["great film", "dull"])                                       # doctest: +SKIP
    [{'label': 'positive', 'score': 0.97, ...}, ...]
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from tfkit._keras import keras, tf
from tfkit.data import pipeline
from tfkit.data.dataset import TextDataset
from tfkit.data.task import TaskType
from tfkit.errors import ConfigError, DataError
from tfkit.evaluation.report import EvaluationReport
from tfkit.models import checkpoint as ckpt
from tfkit.models.callbacks import prepare_backup, tidy_best_weights, training_callbacks
from tfkit.models.config import ClassifierConfig, Precision, TrainingConfig
from tfkit.models.distribution import distribute_options, is_chief, resolve_strategy
from tfkit.models.families import family_of
from tfkit.models.metrics import default_monitor, monitor_mode, task_loss, task_metrics
from tfkit.models.optimization import make_optimizer, warmup_schedule

_PREDICT_BATCH = 64
_WIDTH_MULTIPLE = 8  # predict pads batches to a multiple of 8 tokens: few shapes, bounded memory


@contextlib.contextmanager
def dtype_policy(precision: Precision) -> Iterator[None]:
    """Builds layers under a mixed-precision policy without leaving it set globally."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision.value)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def hf_config_for(base: Any, config: ClassifierConfig) -> Any:
    """The backbone's transformers config with the head, task and dropout of ``config``."""
    family = family_of(base.model_type)
    hf = base.__class__.from_dict(base.to_dict())
    hf.num_labels = config.num_outputs
    hf.id2label = {i: label for i, label in enumerate(config.labels)} if config.labels else {0: "value"}
    hf.label2id = {label: i for i, label in hf.id2label.items()}
    hf.problem_type = config.task.hf_problem_type
    if config.max_length > getattr(hf, "max_position_embeddings", config.max_length):
        raise ConfigError(
            f"max_length={config.max_length} exceeds the checkpoint's max_position_embeddings="
            f"{hf.max_position_embeddings}. Use max_length <= {hf.max_position_embeddings}."
        )
    if config.dropout is not None:
        for key in family.dropout_keys:
            setattr(hf, key, config.dropout)
    return hf


class TextClassifier(keras.Model):
    """Fine-tunes and runs a BERT-family text classifier (single-, multi-label or regression).

    Build one with :meth:`from_pretrained` (a local checkpoint directory),
    :meth:`from_hf_config` (random weights, for tests) or :meth:`load` (a
    directory written by :meth:`save`).
    """

    quantization_aware = False  # True for tfkit.quantize_aware's fake-quantized twin (QuantizedClassifier)

    def __init__(self, backbone: Any, tokenizer: Any, config: ClassifierConfig, **kwargs: Any):
        super().__init__(name=kwargs.pop("name", "text_classifier"), **kwargs)
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.config = config
        self.training_config = TrainingConfig()
        self.fit_record: dict[str, Any] = {}
        self.new_weights: tuple[str, ...] = ()  # weights from_pretrained initialised (the head)
        self._auto_optimizer = False
        self.lr_schedule: Any = None
        # compile's loss/metrics, reused when fit re-sizes the schedule. Kept out of Keras attribute tracking
        # (object.__setattr__, as export/graph.py does): tracked, the model owned every compile's metric
        # objects, listed them twice in `metrics`, and crashed in fit after a second compile (test_refit.py).
        object.__setattr__(self, "_compile_kwargs", {})
        self._schedule_spent = False  # the auto schedule ran once: a second fit must not restart it
        self._input_names = frozenset(_accepted_inputs(backbone))
        self._freeze()
        self.built = True  # the backbone is built; this wrapper has no weights of its own

    # ----------------------------------------------------------------- building
    @classmethod
    def from_pretrained(
        cls,
        checkpoint: str | os.PathLike,
        labels: Sequence[str] = (),
        task: str | TaskType = TaskType.SINGLE_LABEL,
        allow_new_weights: bool = False,
        strategy: Any = None,
        **options: Any,
    ) -> "TextClassifier":
        """Loads a local Hugging Face checkpoint directory and adds a fresh head.

        Args:
            checkpoint: a folder with ``config.json``, weights (``model.safetensors``
                or ``tf_model.h5``) and tokenizer files.
            labels: class names in output order (e.g. ``data.labels``).
            task: ``single_label``, ``multi_label`` or ``regression``.
            allow_new_weights: accept a checkpoint that lacks weights beyond the
                classification head (e.g. a BERT pooler) and initialise them randomly;
                by default that is a CheckpointError. ``new_weights`` lists what was new.
            strategy: a ``tf.distribute.Strategy`` or a name (``"mirrored"``, ``"multi_worker"``,
                ``"tpu"``; see :func:`tfkit.models.distribution.resolve_strategy`). The variables are
                created in its scope, and ``compile``/``fit``/``predict`` run under it
                (docs/distributed.md). Default: no distribution.
            **options: further :class:`ClassifierConfig` fields (``max_length``,
                ``dropout``, ``freeze_embeddings``, ``freeze_layers``,
                ``precision``, ``jit_compile``, ``threshold``).
        """
        from transformers import AutoConfig

        ckpt.read_config(checkpoint)  # clear errors for missing/unsupported checkpoints
        config = ClassifierConfig(labels=tuple(labels), task=task, checkpoint=str(checkpoint), **options)
        base = AutoConfig.from_pretrained(str(checkpoint), local_files_only=True)
        hf = hf_config_for(base, config)
        tokenizer = ckpt.load_tokenizer(checkpoint)
        with dtype_policy(config.precision), resolve_strategy(strategy).scope():
            backbone, new_weights = ckpt.load_backbone(checkpoint, hf, allow_new_weights=allow_new_weights)
            model = cls(backbone, tokenizer, config)
        model.new_weights = tuple(new_weights)
        return model

    @classmethod
    def from_hf_config(cls, hf_config: Any, tokenizer: Any, config: ClassifierConfig,
                       strategy: Any = None) -> "TextClassifier":
        """A randomly initialised classifier from a transformers config (tiny models in tests)."""
        hf = hf_config_for(hf_config, config)
        with dtype_policy(config.precision), resolve_strategy(strategy).scope():
            return cls(ckpt.build_backbone(hf), tokenizer, config)

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides: Any) -> "TextClassifier":
        """Loads a directory written by :meth:`save`. ``overrides`` change e.g. ``precision``."""
        from tfkit.models.saving import load_classifier

        return load_classifier(cls, path, **overrides)

    def save_pretrained(self, path: str | os.PathLike, overwrite: bool = False, metrics: dict | None = None,
                        pytorch_weights: bool = False) -> Path:
        """Writes one self-describing directory (HF weights, tokenizer, labels, configs, card), atomically.

        Named after transformers' ``save_pretrained`` (the folder is a transformers checkpoint plus
        tfkit's files), so Keras' own ``save`` keeps its meaning. Reload with :meth:`load`. With
        ``pytorch_weights`` the folder also holds ``model.safetensors`` under PyTorch names, which
        PyTorch transformers loads without TensorFlow (e.g. to compare with PyTorch or ONNX Runtime).

        Examples:
            >>> clf.save_pretrained("saved_models/reviews/model")          # doctest: +SKIP
            >>> tfkit.TextClassifier.load("saved_models/reviews/model")    # doctest: +SKIP
        """
        from tfkit.models.saving import save_classifier

        return save_classifier(self, path, overwrite=overwrite, metrics=metrics, pytorch_weights=pytorch_weights)

    def save(self, path: str | os.PathLike, overwrite: bool = False, metrics: dict | None = None,
             **_keras_kwargs: Any) -> Path:
        """Deprecated: :meth:`save_pretrained` (until 0.2, ``save`` still writes tfkit's directory)."""
        from tfkit._deprecation import warn

        warn("TextClassifier.save(path)", "TextClassifier.save_pretrained(path)")
        return self.save_pretrained(path, overwrite=overwrite, metrics=metrics)

    def get_config(self) -> dict[str, Any]:
        """Everything needed to rebuild this architecture (Keras' contract; weights travel separately).

        Examples:
            >>> again = TextClassifier.from_config(clf.get_config())   # doctest: +SKIP
            >>> again.get_config() == clf.get_config()                 # doctest: +SKIP
            True
        """
        return {
            "name": self.name,
            "classifier": self.config.to_dict(),
            "backbone": self.hf_config.to_dict(),
            "tokenizer": str(getattr(self.tokenizer, "name_or_path", "") or self.config.checkpoint),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "TextClassifier":
        """A randomly initialised classifier of the architecture ``get_config`` describes."""
        from transformers import AutoConfig

        backbone = dict(config["backbone"])
        hf = AutoConfig.for_model(backbone.pop("model_type"), **backbone)
        model = cls.from_hf_config(hf, ckpt.load_tokenizer(config["tokenizer"]),
                                   ClassifierConfig.from_dict(config["classifier"]))
        model._name = config.get("name", model.name)
        return model

    @property
    def hf_config(self) -> Any:
        """The transformers config of the architecture (``config.json`` of the saved model)."""
        return self.backbone.config

    @property
    def accepted_inputs(self) -> frozenset[str]:
        """The token inputs the backbone takes (``input_ids``, ``attention_mask``, ``token_type_ids``)."""
        return self._input_names

    def _freeze(self) -> None:
        family = family_of(self.backbone.config.model_type)
        if self.config.freeze_embeddings:
            family.embeddings(self.backbone).trainable = False
        if self.config.freeze_layers:
            blocks = family.block_list(self.backbone)
            if self.config.freeze_layers > len(blocks):
                raise ConfigError(
                    f"freeze_layers={self.config.freeze_layers} exceeds the model's {len(blocks)} layers."
                )
            for block in blocks[: self.config.freeze_layers]:
                block.trainable = False

    def call(self, inputs: dict[str, tf.Tensor], training: bool = False) -> tf.Tensor:
        inputs = {name: value for name, value in inputs.items() if name in self._input_names}
        outputs = self.backbone(inputs, training=training)
        return tf.cast(getattr(outputs, "logits", outputs), tf.float32)  # HF output object, or a Functional twin's tensor

    # ---------------------------------------------------------------- training
    def compile(
        self,
        optimizer: Any = "auto",
        loss: Any = "auto",
        metrics: Any = "auto",
        learning_rate: float | None = None,
        weight_decay: float | None = None,
        warmup_ratio: float | None = None,
        batch_size: int | None = None,
        batch_tokens: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Keras ``compile`` with ``"auto"`` defaults that work for BERT fine-tuning.

        ``"auto"`` means AdamW (no decay on LayerNorm/bias) on a linear
        warm-up/decay schedule sized at ``fit`` time, the task's loss, and
        accuracy + macro-F1 (MAE + RMSE for regression).
        """
        overrides = {
            k: v
            for k, v in dict(
                learning_rate=learning_rate, weight_decay=weight_decay, warmup_ratio=warmup_ratio, batch_size=batch_size,
                batch_tokens=batch_tokens,
            ).items()
            if v is not None
        }
        self.training_config = dataclasses.replace(self.training_config, **overrides)
        self._auto_optimizer = isinstance(optimizer, str) and optimizer == "auto"
        self._schedule_spent = False
        with self.distribute_strategy.scope():  # metrics' and the optimizer's variables belong to the strategy too
            object.__setattr__(self, "_compile_kwargs", dict(  # untracked: see __init__
                loss=task_loss(self.config.task) if loss == "auto" else loss,
                metrics=task_metrics(self.config.task, self.config.num_outputs, self.config.threshold)
                if metrics == "auto"
                else metrics,
                jit_compile=kwargs.pop("jit_compile", self.config.jit_compile),
                **kwargs,
            ))
            if self._auto_optimizer:
                self.lr_schedule = warmup_schedule(self.training_config, total_steps=1)
                optimizer = make_optimizer(self.training_config, self.lr_schedule)
            super().compile(optimizer=optimizer, **self._compile_kwargs)

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        validation_data: Any = None,
        epochs: int = 1,
        callbacks: Sequence[keras.callbacks.Callback] | None = None,
        output_dir: str | os.PathLike | None = None,
        resume: bool = False,
        overwrite: bool = False,
        early_stopping_patience: int | None = None,
        class_weight: dict[int, float] | str | None = None,
        monitor: str | None = None,
        restore_best_weights: bool = False,
        **kwargs: Any,
    ) -> keras.callbacks.History:
        """Keras ``fit`` that also takes :class:`TextDataset` and wires tfkit's callbacks.

        Args:
            x: a TextDataset (tokenised, bucketed and padded per batch); raw texts
                (a list of strings, or of ``(text, pair)`` tuples) with their labels in
                ``y``, as keras-hub's classifiers take them; a pandas DataFrame with
                ``text`` and ``label`` columns (``text_pair`` too, for pairs); a
                ``tf.data.Dataset`` of ``(string, label)`` elements; or anything Keras
                accepts (token-id tensors, a dataset of feature dicts).
            y: the labels of raw texts (class names, or values for regression).
            validation_data: the same kinds as ``x``: a TextDataset, ``(texts, labels)``,
                a DataFrame, a dataset of ``(string, label)``, or anything Keras accepts.
            output_dir: where TensorBoard logs, the best epoch's weights and the
                per-epoch backup go. Without it nothing is written. The best weights
                (``checkpoints/best.h5``, for ``load_weights``) are kept only when they are
                not the weights the model ends with; ``fit_record`` names both epochs.
            resume: continue an interrupted run from ``output_dir``'s backup.
            overwrite: discard such a backup and start over.
            early_stopping_patience: stop after this many epochs without
                validation improvement, keeping the best weights.
            class_weight: a Keras class-weight dict, or ``"balanced"``.
            monitor: the logged metric early stopping and the best checkpoint watch
                (default ``val_macro_f1``, ``val_loss`` for regression); losses and
                errors are minimised, anything else maximised.
            restore_best_weights: end with the best epoch's weights by ``monitor``
                even without early stopping.

        With the ``"auto"`` optimizer, one ``fit`` runs one warm-up/decay schedule. A
        second ``fit`` on the same classifier would restart warm-up and drop Adam's
        moments, so it is refused: train in one ``fit`` (``epochs=N``), continue an
        interrupted run with ``output_dir`` and ``resume=True``, or call ``compile()``
        again to start a new schedule (and fresh optimizer state) on purpose.
        """
        if not self.compiled_loss:
            self.compile()
        if self._auto_optimizer and self._schedule_spent and not resume:  # a resume restores the optimizer
            raise ConfigError(
                "Expected one fit per compile with the auto optimizer: this classifier already ran its "
                "warm-up/decay schedule. Received: a second fit(). A second fit would restart warm-up and lose "
                "the optimizer's moments. Train in one fit (epochs=N), resume an interrupted run with "
                "output_dir=... and resume=True, or call compile() again to start a new schedule deliberately."
            )
        batch_size = kwargs.pop("batch_size", None) or self.training_config.batch_size
        converted = self._labelled(x, y, "x")
        if converted is not x:
            x, y = converted, None
        if isinstance(validation_data, tuple) and len(validation_data) == 2:  # Keras' (x, y): keep y unless converted
            converted = self._labelled(validation_data[0], validation_data[1], "validation_data")
            validation_data = validation_data if converted is validation_data[0] else converted
        else:
            validation_data = self._labelled(validation_data, None, "validation_data")
        num_examples = None
        if isinstance(x, TextDataset):
            num_examples = len(x)
            if class_weight == "balanced":
                class_weight = _balanced_weights(x)
            x = self.training_dataset(x, batch_size)
        elif class_weight == "balanced":
            raise ConfigError("class_weight='balanced' needs a TextDataset as x.")
        if isinstance(validation_data, TextDataset):
            self._check_dataset(validation_data, "validation_data")
            validation_data = self._inference_data(validation_data, with_targets=True)
        if self._auto_optimizer:
            steps = kwargs.get("steps_per_epoch") or int(tf.data.experimental.cardinality(x).numpy())
            if steps <= 0:
                raise ConfigError("Cannot size the learning-rate schedule: pass steps_per_epoch= with this input.")
            self.compile_optimizer(steps * (epochs - kwargs.get("initial_epoch", 0)))
        all_callbacks = self._callbacks(output_dir, resume, overwrite, early_stopping_patience, validation_data,
                                        monitor, restore_best_weights)
        start = time.perf_counter()
        self._schedule_spent = self._auto_optimizer
        history = super().fit(
            x, y, validation_data=validation_data, epochs=epochs,
            callbacks=all_callbacks + list(callbacks or []), class_weight=class_weight, **kwargs,
        )
        seconds = time.perf_counter() - start
        epochs_run = len(history.epoch)
        self.fit_record = {
            "epochs": epochs_run,
            "seconds": seconds,
            "examples_per_second": (num_examples * epochs_run / seconds) if num_examples and epochs_run else None,
            "optimizer_steps": int(self.optimizer.iterations.numpy()),
            "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
            **tidy_best_weights(all_callbacks, list(history.epoch), writer=is_chief(self.distribute_strategy)),
        }
        return history

    def _labelled(self, x: Any, y: Any, name: str) -> Any:
        """``x`` (with ``y``) as a TextDataset in the model's label order, when it holds raw text; else ``x``."""
        import pandas as pd

        from tfkit.data.dataset import from_lists, load

        labels = self.config.labels or None
        if isinstance(x, pd.DataFrame):
            return load(x, text_pair="text_pair" if "text_pair" in x.columns else None, task=self.config.task,
                        labels=labels)
        if isinstance(x, tf.data.Dataset) and isinstance(x.element_spec, tuple) and len(x.element_spec) == 2 \
                and getattr(x.element_spec[0], "dtype", None) == tf.string:
            texts, values = [], []
            for text, value in x.unbatch() if x.element_spec[0].shape.rank == 1 else x:
                texts.append(text.numpy().decode("utf-8"))
                value = value.numpy()
                values.append(value.decode("utf-8") if isinstance(value, bytes) else value.tolist())
            x, y = texts, values
        if isinstance(x, str):
            raise DataError(f"Expected a list of texts for {name}. Received: a single string. Wrap it in a list.")
        if isinstance(x, (list, tuple)) and x and all(isinstance(t, (str, tuple)) for t in x):
            if y is None:
                raise DataError(f"Expected labels for the texts of {name}. Received: y=None. Pass fit(x=texts, "
                                "y=labels) or a labelled TextDataset.")
            pairs = [b for _, b in x] if isinstance(x[0], tuple) else None
            texts = [a for a, _ in x] if pairs is not None else list(x)
            if self.config.task.is_classification and all(isinstance(v, (int, np.integer)) for v in y) and labels \
                    and not set(y) <= set(labels):
                bad = [int(v) for v in y if not 0 <= int(v) < len(labels)]
                if bad:
                    raise DataError(f"Expected class ids in [0, {len(labels)}) for {name}. Received: {bad[:5]}. "
                                    f"Pass label names {list(labels)} or valid ids.")
                y = [labels[int(v)] for v in y]  # class ids, as Keras users pass them
            return from_lists(texts, list(y), text_pairs=pairs, task=self.config.task, label_names=labels)
        return x

    def training_dataset(self, data: TextDataset, batch_size: int | None = None) -> tf.data.Dataset:
        """The shuffled, length-bucketed batches ``fit`` trains on for ``data``.

        Its cardinality is the number of steps per epoch, which sizes schedules
        (learning rate, pruning) before training starts. Batches are global: under a
        ``tf.distribute`` strategy Keras splits each across the replicas (sharded by data, so
        every example is seen once per epoch across workers; docs/distributed.md).

        Examples:
            >>> steps = int(clf.training_dataset(train).cardinality())   # doctest: +SKIP
        """
        self._check_dataset(data, "x")
        encoded = pipeline.encode(data, self.tokenizer, self.config.max_length)
        ds = pipeline.training_dataset(
            encoded, data.targets, batch_size or self.training_config.batch_size, seed=self.training_config.seed,
            pad_to_bucket_boundary=self.config.jit_compile, batch_tokens=self.training_config.batch_tokens,
        )
        return distribute_options(ds)

    def compile_optimizer(self, total_steps: int) -> None:
        """Re-creates the auto optimizer with a schedule of ``total_steps``."""
        self.lr_schedule = warmup_schedule(self.training_config, total_steps)
        with self.distribute_strategy.scope():
            super().compile(optimizer=make_optimizer(self.training_config, self.lr_schedule), **self._compile_kwargs)

    def _callbacks(self, output_dir, resume, overwrite, patience, validation_data, monitor, restore_best) -> list:
        if output_dir is not None:
            prepare_backup(output_dir, resume=resume, overwrite=overwrite, writer=is_chief(self.distribute_strategy))
        elif resume:
            raise ConfigError("resume=True needs the output_dir of the interrupted run.")
        if monitor is None:
            monitor, mode = default_monitor(self.config.task)
        else:
            mode = monitor_mode(monitor)
        return training_callbacks(output_dir, monitor, mode, patience, validation_data is not None, restore_best, resume)

    def _check_dataset(self, data: TextDataset, name: str) -> None:
        if data.task is not self.config.task:
            raise DataError(f"{name} is a {data.task.value} dataset but the model is {self.config.task.value}.")
        if data.task.is_classification and tuple(data.labels) != self.config.labels:
            raise DataError(
                f"{name} labels {list(data.labels)} differ from the model's {list(self.config.labels)}. "
                "Load it with labels=<model labels> so class ids match."
            )

    # ------------------------------------------------------- inference helpers
    def _to_dataset(self, x: Any) -> TextDataset | None:
        if isinstance(x, TextDataset):
            return x
        if isinstance(x, str):
            x = [x]
        if isinstance(x, (list, tuple)) and x and all(isinstance(t, str) for t in x):
            return _unlabelled(list(x), None, self.config)
        if isinstance(x, (list, tuple)) and x and all(isinstance(t, tuple) and len(t) == 2 for t in x):
            return _unlabelled([a for a, _ in x], [b for _, b in x], self.config)
        return None

    def _inference_data(self, data: TextDataset, with_targets: bool, batch_size: int = _PREDICT_BATCH):
        encoded = pipeline.encode(data, self.tokenizer, self.config.max_length)
        ds, _ = pipeline.inference_dataset(encoded, batch_size, data.targets if with_targets else None)
        return ds

    def predict_logits(self, x: Any, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
        """Logits for raw strings (or pairs) or a TextDataset, in input order."""
        data = self._to_dataset(x)
        if data is None:
            raise DataError(f"Expected strings, (text, pair) tuples or a TextDataset. Received: {type(x).__name__}.")
        encoded = pipeline.encode(data, self.tokenizer, self.config.max_length)
        ds, order = pipeline.inference_dataset(encoded, batch_size, width_multiple=_WIDTH_MULTIPLE,
                                               max_width=self.config.max_length)
        logits = super().predict(ds, verbose=0)
        return pipeline.restore_order(np.asarray(logits, np.float32), order)

    def predict_proba(self, x: Any, batch_size: int = _PREDICT_BATCH) -> np.ndarray:
        """Class probabilities (softmax, or per-label sigmoid); values for regression."""
        logits = self.predict_logits(x, batch_size)
        if self.config.task is TaskType.SINGLE_LABEL:
            return tf.nn.softmax(logits).numpy()
        if self.config.task is TaskType.MULTI_LABEL:
            return tf.sigmoid(logits).numpy()
        return logits[:, 0]

    def predict(self, x: Any, batch_size: int | None = None, **kwargs: Any) -> Any:
        """Predictions for raw strings/TextDatasets as dicts; Keras ``predict`` for tensors.

        Returns, per input, ``{"label", "score", "probabilities"}`` (single-label),
        ``{"labels", "probabilities"}`` (multi-label) or ``{"value"}`` (regression).
        """
        if self._to_dataset(x) is None:
            return super().predict(x, batch_size=batch_size, **kwargs)
        probs = self.predict_proba(x, batch_size or _PREDICT_BATCH)
        labels = self.config.labels
        if self.config.task is TaskType.REGRESSION:
            return [{"value": float(v)} for v in probs]
        if self.config.task is TaskType.MULTI_LABEL:
            return [
                {"labels": [labels[j] for j in np.flatnonzero(row >= self.config.threshold)],
                 "probabilities": {labels[j]: float(p) for j, p in enumerate(row)}}
                for row in probs
            ]
        return [
            {"label": labels[int(row.argmax())], "score": float(row.max()),
             "probabilities": {labels[j]: float(p) for j, p in enumerate(row)}}
            for row in probs
        ]

    def evaluate(self, x: Any = None, y: Any = None, **kwargs: Any) -> Any:
        """Keras ``evaluate``; a TextDataset is batched by length and returns a dict."""
        if isinstance(x, TextDataset):
            self._check_dataset(x, "x")
            kwargs.setdefault("return_dict", True)
            x = self._inference_data(x, with_targets=True, batch_size=kwargs.pop("batch_size", None) or _PREDICT_BATCH)
        if not self.compiled_loss:
            self.compile()
        return super().evaluate(x, y, **kwargs)

    def evaluate_report(
        self, data: TextDataset, output_dir: str | os.PathLike | None = None, batch_size: int = _PREDICT_BATCH
    ) -> EvaluationReport:
        """Per-class precision/recall/F1, macro/micro F1 and confusion matrix (or regression metrics).

        With ``output_dir``, writes ``report.json`` and ``confusion_matrix.png`` there.
        """
        self._check_dataset(data, "data")
        scores = self.predict_proba(data, batch_size)
        if self.config.task is TaskType.SINGLE_LABEL:
            y_pred = scores.argmax(axis=1)
        elif self.config.task is TaskType.MULTI_LABEL:
            y_pred = (scores >= self.config.threshold).astype(np.float32)
        else:
            y_pred = scores
        report = EvaluationReport.from_predictions(self.config.task, self.config.labels, data.targets, y_pred)
        if output_dir is not None:
            report.save(output_dir)
        return report


class TwinBackedClassifier(TextClassifier):
    """A :class:`TextClassifier` whose backbone is a Functional twin (:mod:`tfkit.models.twin`): LoRA's, QAT's
    and the merged mean-pooled model. It keeps the transformers config the twin was built from (a twin has
    none); subclasses freeze the twin by layer once their own settings are known."""

    def __init__(self, backbone: Any, tokenizer: Any, config: ClassifierConfig, hf_config: Any, **kwargs: Any):
        super().__init__(backbone, tokenizer, config, **kwargs)
        self._hf_config = hf_config

    @property
    def hf_config(self) -> Any:
        return self._hf_config

    def _freeze(self) -> None:
        pass  # a twin has no Hugging Face parts to freeze; subclasses freeze by layer name


def _accepted_inputs(backbone: Any) -> Sequence[str]:
    """A Hugging Face model's input signature names, or a Keras Functional model's input names."""
    signature = getattr(backbone, "input_signature", None)
    return list(signature) if signature else list(backbone.input_names)


def _unlabelled(texts: list[str], pairs: list[str] | None, config: ClassifierConfig) -> TextDataset:
    for i, text in enumerate(texts):
        if not text.strip():
            raise DataError(f"Input {i}: text is empty or whitespace only.")
    width = (len(texts), config.num_outputs) if config.task is TaskType.MULTI_LABEL else (len(texts),)
    dtype = np.int64 if config.task is TaskType.SINGLE_LABEL else np.float32
    return TextDataset(
        texts=tuple(texts), text_pairs=tuple(pairs) if pairs else None, targets=np.zeros(width, dtype),
        labels=config.labels, task=config.task, source="<inputs>",
    )


def _balanced_weights(data: TextDataset) -> dict[int, float]:
    if data.task is not TaskType.SINGLE_LABEL:
        raise ConfigError("class_weight='balanced' applies to single-label tasks only.")
    counts = np.bincount(data.targets, minlength=len(data.labels)).astype(float)
    return {i: float(len(data) / (len(counts) * c)) if c else 0.0 for i, c in enumerate(counts)}
