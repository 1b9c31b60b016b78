"""Magnitude and m:n pruning of BERT-family classifiers with TF-MOT.

TF-MOT's ``prune_low_magnitude`` refuses subclassed models such as
``TFBertForSequenceClassification``. tfkit instead wraps the encoder's Dense
layers in place, inside a copy of the classifier: each ``query``, ``key``,
``value``, attention-output, intermediate and output Dense attribute of every
transformer block becomes a TF-MOT ``PruneLowMagnitude`` wrapper around the
same Dense layer (so kernel names do not change), driven by a TF-MOT schedule
(``ConstantSparsity``, ``PolynomialDecay``) or TF-MOT's m-by-n structured
sparsity. Training is the classifier's ordinary Keras ``fit``, to which
:meth:`PrunedClassifier.fit` adds the step callback that reaches the nested
wrappers and TensorBoard pruning summaries. :meth:`PrunedClassifier.strip`
returns a plain :class:`~tfkit.TextClassifier` with the masked kernels, which
saves and loads like any other.

Examples:
    >>> import tfkit
    >>> pruned = tfkit.prune(clf, train, val, target_sparsity=0.8, schedule="polynomial",
    ...                      epochs=2)                                  # doctest: +SKIP
    >>> print(pruned.sparsity_report().to_markdown())                  # doctest: +SKIP
    >>> plain = pruned.strip()                                          # doctest: +SKIP
    >>> plain.save_pretrained("saved_models/run/03_prune/model")                   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tfkit._keras import keras, tf
from tfkit.data.dataset import TextDataset
from tfkit.errors import ConfigError, UnsupportedModelError
from tfkit.models.distribution import check_single_host
from tfkit.models.text_classifier import TextClassifier, dtype_policy
from tfkit.optimize.callbacks import NestedPruningSummaries, NestedUpdatePruningStep
from tfkit.optimize.config import PruningConfig, tfmot_schedule
from tfkit.optimize.report import LayerSparsity, SparsityReport, measure_sizes
from tfkit.optimize.targets import PruneTarget, find_targets

PRUNING_LOGS = "pruning"


class PrunedClassifier:
    """A copy of a classifier whose Dense layers are wrapped for pruning.

    Build one with :meth:`from_classifier` (or :func:`prune`, which also trains it).
    The original classifier is left untouched.

    Attributes:
        classifier: the wrapped :class:`~tfkit.TextClassifier` (``evaluate``,
            ``predict`` work on it directly; the masks apply in every forward pass).
        config: the :class:`PruningConfig`.
        targets: the wrapped layers, in model order.
        steps_per_epoch: the training steps per epoch the schedule was sized for.

    Examples:
        >>> pruned = PrunedClassifier.from_classifier(clf, PruningConfig(pattern="2:4"),
        ...                                           steps_per_epoch=100)  # doctest: +SKIP
        >>> pruned.fit(train, validation_data=val, epochs=2)                # doctest: +SKIP
        >>> pruned.strip().save_pretrained("pruned_model")                             # doctest: +SKIP
    """

    def __init__(self, classifier: TextClassifier, config: PruningConfig, targets: Sequence[PruneTarget],
                 wrappers: Sequence[Any], steps_per_epoch: int, source: TextClassifier | None = None):
        self.classifier = classifier
        self.source = source
        self.config = config
        self.targets = tuple(targets)
        self.wrappers = tuple(wrappers)
        self.steps_per_epoch = steps_per_epoch

    @classmethod
    def from_classifier(cls, classifier: TextClassifier, config: PruningConfig | None = None,
                        steps_per_epoch: int | None = None, train: TextDataset | None = None) -> "PrunedClassifier":
        """Copies ``classifier`` and wraps the Dense layers that ``config.layers`` names.

        Args:
            classifier: a BERT-family :class:`~tfkit.TextClassifier` (not modified).
            config: what to prune and how (default: 50 %, polynomial, encoder layers).
            steps_per_epoch: training steps per epoch; with ``config.epochs`` it sizes the schedule.
            train: the training data, to count ``steps_per_epoch`` with the config's batching instead.

        Raises:
            UnsupportedModelError: not a TextClassifier, or a family that cannot be pruned (ALBERT).
            ConfigError: an m:n pattern that does not divide a layer, a kind the family lacks.
        """
        config = config or PruningConfig()
        if not isinstance(classifier, TextClassifier):
            raise UnsupportedModelError(
                "Expected a tfkit.TextClassifier around a BERT-family backbone. "
                f"Received: {type(classifier).__name__}. "
                "Build one with tfkit.TextClassifier.from_pretrained or .load; for plain Keras Sequential or "
                "functional models use tensorflow_model_optimization.sparsity.keras.prune_low_magnitude."
            )
        check_single_host(classifier.distribute_strategy, "Pruning (TF-MOT prune_low_magnitude)")
        find_targets(classifier.backbone, config.layers, config.m_by_n)  # validate before copying
        copy = clone_classifier(classifier)  # under the classifier's strategy (MirroredStrategy: one host's GPUs)
        copy.training_config = config.training_config()
        if steps_per_epoch is None:
            if train is None:
                raise ConfigError("Pass steps_per_epoch= or the training data (train=) to size the pruning schedule.")
            steps_per_epoch = int(copy.training_dataset(train).cardinality().numpy())
        if steps_per_epoch < 1:
            raise ConfigError(f"Expected steps_per_epoch >= 1. Received: steps_per_epoch={steps_per_epoch}.")
        targets = find_targets(copy.backbone, config.layers, config.m_by_n)
        schedule = tfmot_schedule(config, steps_per_epoch * config.epochs)
        with dtype_policy(copy.config.precision), copy.distribute_strategy.scope():
            wrappers = [_wrap(target, schedule, config.m_by_n) for target in targets]
        return cls(copy, config, targets, wrappers, steps_per_epoch, source=classifier)

    # ---------------------------------------------------------------- training
    def fit(self, x: TextDataset, validation_data: Any = None, epochs: int | None = None,
            output_dir: str | os.PathLike | None = None, callbacks: Sequence[Any] = (), **kwargs: Any) -> Any:
        """``TextClassifier.fit`` with the pruning callbacks added.

        Compiles with the config's optimiser settings unless already compiled.
        With ``output_dir``, pruning summaries go to ``<output_dir>/logs/pruning``.
        """
        clf = self.classifier
        if not clf.compiled_loss:
            clf.compile()  # with the config's optimiser settings (set on the copy)
        pruning_callbacks: list[Any] = [NestedUpdatePruningStep()]
        if output_dir is not None:
            names = {id(w): t.path for w, t in zip(self.wrappers, self.targets)}
            pruning_callbacks.append(NestedPruningSummaries(Path(output_dir) / "logs" / PRUNING_LOGS, names))
        return clf.fit(x, validation_data=validation_data, epochs=epochs or self.config.epochs,
                       output_dir=output_dir, callbacks=pruning_callbacks + list(callbacks), **kwargs)

    # ---------------------------------------------------------------- results
    def masked_kernels(self) -> dict[str, np.ndarray]:
        """``{layer path: kernel * mask}`` of every pruned layer, as the forward pass sees it."""
        out = {}
        for target, wrapper in zip(self.targets, self.wrappers):
            (kernel, mask, _), = wrapper.pruning_vars
            out[target.path] = kernel.numpy() * mask.numpy()
        return out

    def pruning_steps(self) -> dict[str, int]:
        """``{layer path: TF-MOT pruning step}``: each advances once per training batch."""
        return {t.path: int(w.pruning_step.numpy()) for t, w in zip(self.targets, self.wrappers)}

    def kernel_keys(self) -> list[str]:
        """The pruned kernels' weight names without the model scope (the same in stripped copies)."""
        return [_weight_key(w.layer.kernel) for w in self.wrappers]

    def sparsity_report(self, sizes: bool = False, tflite: bool = True,
                        stripped: TextClassifier | None = None) -> SparsityReport:
        """Per-layer shape, target and measured sparsity (and m:n conformance) of the pruned kernels.

        Args:
            sizes: also compare gzip sizes against the classifier this one was copied from:
                the pruned kernels, the saved ``tf_model.h5`` and (with ``tflite``) a float32
                TFLite conversion. Saving and converting take a while for real models.
            tflite: include the TFLite comparison when ``sizes``.
            stripped: a :meth:`strip` result (perhaps saved and reloaded) to measure instead of
                the wrapped kernels; sizes are measured on it too (stripped here otherwise).
        """
        if stripped is not None:  # measure what was stripped (and perhaps saved and reloaded)
            weights = {_weight_key(w): w for w in stripped.backbone.weights}
            kernels = {t.path: weights[key].numpy() for t, key in zip(self.targets, self.kernel_keys())}
        else:
            kernels = self.masked_kernels()
        layers = [LayerSparsity.measure(t.path, t.kind.value, kernels[t.path], self.config.final_sparsity,
                                        self.config.m_by_n) for t in self.targets]
        report = SparsityReport(layers=tuple(layers), pattern=self.config.pattern,
                                schedule=None if self.config.pattern else self.config.schedule.value)
        if not sizes:
            return report
        if self.source is None:
            raise ConfigError("Size comparisons need the dense classifier this one was copied from.")
        stripped = stripped or self.strip()
        with tempfile.TemporaryDirectory(prefix="tfkit-sizes-") as tmp:
            dense_dir = self.source.save_pretrained(Path(tmp, "dense"))
            pruned_dir = stripped.save_pretrained(Path(tmp, "pruned"))
            return measure_sizes(self.source, stripped, report, self.kernel_keys(), saved=(dense_dir, pruned_dir),
                                 tflite=tflite)

    def save_pretrained(self, path: str | os.PathLike, overwrite: bool = False, metrics: dict | None = None) -> Path:
        """Saves the stripped classifier (:meth:`strip`), loadable with ``TextClassifier.load``."""
        return self.strip().save_pretrained(path, overwrite=overwrite, metrics=metrics)

    def strip(self) -> TextClassifier:
        """A plain classifier (no wrappers) whose pruned kernels hold their zeros.

        Weight names match the original's, so :meth:`TextClassifier.save` and
        :meth:`TextClassifier.load` (and transformers' ``from_pretrained``) work as usual.
        """
        masked = dict(zip(self.kernel_keys(), self.masked_kernels().values()))
        return clone_classifier(self.classifier, overrides=masked)


def prune(classifier: TextClassifier, train: TextDataset, validation: TextDataset | None = None,
          config: PruningConfig | None = None, output_dir: str | os.PathLike | None = None,
          resume: bool = False, overwrite: bool = False, verbose: Any = "auto", **options: Any) -> PrunedClassifier:
    """Prunes a copy of ``classifier`` while fine-tuning it on ``train``.

    Args:
        classifier: a fine-tuned BERT-family :class:`~tfkit.TextClassifier` (left unchanged).
        train: the fine-tuning data; its size and ``epochs`` size the schedule.
        validation: evaluated after every epoch, if given.
        config: a :class:`PruningConfig`; or give its fields as keyword ``options``.
        output_dir: TensorBoard logs (training and ``logs/pruning``), best checkpoint and
            per-epoch backup, as in ``TextClassifier.fit``.
        resume, overwrite: as in ``TextClassifier.fit``.
        **options: :class:`PruningConfig` fields; ``sparsity=`` is accepted as a shorthand:
            a number sets ``target_sparsity``, an ``"m:n"`` string sets ``pattern``.

    Returns:
        The trained :class:`PrunedClassifier`; ``.strip()`` gives a plain classifier.

    Examples:
        >>> pruned = prune(clf, train, val, target_sparsity=0.8, epochs=2)   # doctest: +SKIP
        >>> pruned = prune(clf, train, val, sparsity="2:4")                  # doctest: +SKIP
    """
    config = _config(config, options)
    pruned = PrunedClassifier.from_classifier(classifier, config, train=train)
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    pruned.fit(train, validation_data=validation, output_dir=output_dir, resume=resume, overwrite=overwrite,
               verbose=verbose)
    return pruned


def _config(config: PruningConfig | None, options: dict[str, Any]) -> PruningConfig:
    options = dict(options)
    if "sparsity" in options:
        value = options.pop("sparsity")
        key = "pattern" if isinstance(value, str) and ":" in value else "target_sparsity"
        if key in options:
            raise ConfigError(f"Give either sparsity= or {key}=, not both. Received: sparsity={value!r}.")
        options[key] = float(value) if key == "target_sparsity" and isinstance(value, str) else value
    if config is None:
        return PruningConfig(**options)
    return dataclasses.replace(config, **options) if options else config


def clone_classifier(classifier: TextClassifier, overrides: dict[str, np.ndarray] | None = None) -> TextClassifier:
    """A new classifier with ``classifier``'s configs and weights (matched by name, not order).

    ``overrides`` maps weight keys (names without the model's own scope) to values used
    instead; pruning wrappers' masks, thresholds and steps have no counterpart and are left out.

    Examples:
        >>> copy = clone_classifier(clf)   # doctest: +SKIP
    """
    copy = TextClassifier.from_hf_config(classifier.backbone.config, classifier.tokenizer, classifier.config,
                                         strategy=classifier.distribute_strategy)
    source = {_weight_key(w): w for w in classifier.backbone.weights}
    overrides = overrides or {}
    values = []
    for weight in copy.backbone.weights:
        key = _weight_key(weight)
        if key not in source:
            raise UnsupportedModelError(f"Cannot copy weights: the source model has no weight {key!r}.")
        values.append((weight, overrides[key] if key in overrides else source[key].numpy()))
    keras.backend.batch_set_value(values)
    copy.training_config = classifier.training_config
    copy.fit_record = dict(classifier.fit_record)
    return copy


def _weight_key(weight: Any) -> str:
    """A weight's name without the model's own (instance-numbered) scope, e.g. ``bert/.../kernel:0``."""
    return weight.name.split("/", 1)[-1]


def _wrap(target: PruneTarget, schedule: Any, m_by_n: tuple[int, int] | None) -> Any:
    from tfkit._compat import private

    PruneLowMagnitude = private("PruneLowMagnitude")
    dense = target.layer
    wrapper = PruneLowMagnitude(dense, pruning_schedule=schedule, sparsity_m_by_n=m_by_n)
    scope = dense.kernel.name.rsplit("/", 2)[0]  # the parent layer's scope
    with tf.name_scope(f"{scope}/{wrapper.name}/"):
        wrapper.build(tf.TensorShape([None, int(dense.kernel.shape[0])]))
    setattr(target.parent, target.attribute, wrapper)
    return wrapper
