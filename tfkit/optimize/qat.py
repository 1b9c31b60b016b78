"""Quantization-aware training with TF-MOT on the Functional twin, and the classifier it returns.

:func:`quantize_aware` rebuilds a fine-tuned classifier as its Functional twin
(:mod:`tfkit.models.twin`), fake-quantizes it with TF-MOT's ``quantize_apply``
(:mod:`tfkit.optimize.qat_configs`), and fine-tunes it with the ordinary
:meth:`TextClassifier.fit` (TensorBoard, best checkpoint, backup and resume as usual). The
result is a :class:`QuantizedClassifier`: a :class:`~tfkit.TextClassifier` whose backbone is
the fake-quantized twin. It predicts, evaluates and saves like any classifier, and
``tfkit.export`` writes its ``qat_int8`` file: integer-only, checked op by op.

A pruned classifier (``tfkit.prune(...).strip()``) keeps its zeros: its kernels go through
TF-MOT's ``Default8BitPrunePreserveQuantizeScheme`` (chosen automatically when the encoder's
kernels are at least :data:`SPARSE` zeros).

Examples:
    >>> qat = tfkit.quantize_aware(clf, train, val, epochs=1)                   # doctest: +SKIP
    >>> tfkit.export(qat, "saved_models/reviews/qat", train=train, validation=val)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tfkit._keras import keras
from tfkit.data.dataset import TextDataset
from tfkit.errors import CheckpointError, ConfigError
from tfkit.models.config import ClassifierConfig, Precision, TrainingConfig
from tfkit.models.distribution import check_single_host
from tfkit.models.text_classifier import TextClassifier, TwinBackedClassifier
from tfkit.models.twin import LAYOUTS, functional_twin, write_back
from tfkit.optimize import qat_configs
from tfkit.optimize.distillation import DistillationStep, DistillConfig, teacher_function

# Encoder kernels at least this fraction exact zeros: the classifier counts as pruned and QAT preserves them.
SPARSE = 0.2
# Quantization-aware fine-tuning starts from a trained model: a small learning rate, one epoch.
DEFAULT_LEARNING_RATE = 1e-5
# Training examples whose float activations (min/max) set the initial fake-quant ranges; 0: TF-MOT's [-6, 6].
# Measured on SST-2 (benchmarks/results/qat_sst2.md, seed 0): min/max-initialised ranges gave an integer-only
# file 3.1 points worse than TF-MOT's start (0.8555 vs 0.8865 dev): min/max spans BERT's outlier activations,
# which the moving average from [-6, 6] clips. So the default is TF-MOT's start.
CALIBRATION_SAMPLES = 0
# With calibration, each observed range is cut to [-RANGE_CLIP, RANGE_CLIP] (TF-MOT's own start): narrow
# activations get a fine grid while BERT's outliers stay clipped (``range_clip=None``: the raw min/max).
RANGE_CLIP = 6.0
# QAT distils from the float model it starts from: loss = 0.5 x cross-entropy + 0.5 x T^2 KL (T = 2) to the
# float logits. Chosen on the SST-2 validation split (benchmarks/results/qat_sst2.md, seed 0): the integer-only
# file scored 0.973 against 0.9685 without distillation and 0.9725 with clipped range starts. None: labels only.
DISTILL_ALPHA: float | None = 0.5
KIND = "quantization_aware"
WEIGHTS = "qat_model.h5"


def frozen_prefixes(config: ClassifierConfig, hf_config: Any) -> list[str]:
    """Name prefixes of the twin's layers that ``config`` freezes (embeddings, the lowest blocks)."""
    layout = LAYOUTS[hf_config.model_type]
    frozen = [f"{layout.prefix}.embeddings."] if config.freeze_embeddings else []
    return frozen + [f"{layout.prefix}.{layout.blocks}.{i}." for i in range(config.freeze_layers)]


def freeze_by_name(model: keras.Model, prefixes: list[str]) -> None:
    """Sets ``trainable = False`` on the layers (or the layers TF-MOT wrapped) whose names start with a prefix."""
    for layer in model.layers:
        inner = getattr(layer, "layer", layer)
        if any(inner.name.startswith(prefix) for prefix in prefixes):
            layer.trainable = False


class QuantizedClassifier(TwinBackedClassifier):
    """A :class:`~tfkit.TextClassifier` whose backbone is the fake-quantized Functional twin.

    Build one with :func:`quantize_aware`; ``tfkit.export`` writes its integer-only ``qat_int8`` file.
    """

    quantization_aware = True

    def __init__(self, backbone: keras.Model, tokenizer: Any, config: ClassifierConfig, hf_config: Any,
                 prune_preserve: bool = False, **kwargs: Any):
        super().__init__(backbone, tokenizer, config, hf_config, **kwargs)
        self.prune_preserve = prune_preserve
        self._freeze_twin()

    def _freeze_twin(self) -> None:
        freeze_by_name(self.backbone, frozen_prefixes(self.config, self._hf_config))

    @classmethod
    def wrap(cls, classifier: TextClassifier, prune_preserve: bool = False,
             calibration: TextDataset | None = None, range_clip: float | None = RANGE_CLIP) -> "QuantizedClassifier":
        """The fake-quantized twin of a float32 ``classifier``, untrained (its weights are the classifier's).

        With ``calibration`` examples, every learned activation range starts at what the float model
        produces on them (unpadded, one at a time), cut to ``[-range_clip, range_clip]``, instead of
        TF-MOT's [-6, 6] (:func:`~tfkit.optimize.qat_configs.initialise_ranges`).
        """
        if classifier.config.precision is not Precision.FLOAT32:
            raise ConfigError("Expected a float32 classifier for quantization-aware training. Received: "
                              f"precision={classifier.config.precision.value!r}. Load it with "
                              "TextClassifier.load(path, precision='float32').")
        twin = functional_twin(classifier)
        # Frozen before TF-MOT wraps them: QuantizeWrapperV2 copies its layer's trainable weights when it is
        # built, so a wrapper frozen afterwards still trains them and lists them twice (HDF5 saving then fails).
        freeze_by_name(twin, frozen_prefixes(classifier.config, classifier.hf_config))
        with qat_configs.scope():
            model = cls(qat_configs.quantize_twin(twin, prune_preserve), classifier.tokenizer, classifier.config,
                        classifier.hf_config, prune_preserve=prune_preserve)
        model.training_config = classifier.training_config
        if calibration is not None:
            from tfkit.export.tflite import token_samples

            samples = token_samples(classifier, list(calibration.texts),
                                    list(calibration.text_pairs) if calibration.text_pairs else None)
            qat_configs.initialise_ranges(model.backbone, twin, samples, clip=range_clip)
        return model

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "prune_preserve": self.prune_preserve}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "QuantizedClassifier":
        return cls.wrap(TextClassifier.from_config(config), bool(config.get("prune_preserve", False)))

    def dequantized(self, template: TextClassifier) -> TextClassifier:
        """A plain float classifier with this model's trained weights (written into ``template``'s architecture)."""
        return write_back(self.backbone, template)

    def save_pretrained(self, path: str | os.PathLike, overwrite: bool = False, metrics: dict | None = None) -> Path:
        """Writes the tfkit model folder: ``config.json``, tokenizer, labels, ``qat_model.h5``, ``tfkit.json``."""
        from tfkit._io import atomic_directory, atomic_write_json
        from tfkit.integrity import write_checksums
        from tfkit.models.saving import manifest_of

        path = Path(path)
        with atomic_directory(path, overwrite=overwrite) as tmp:
            self.hf_config.save_pretrained(str(tmp))
            self.tokenizer.save_pretrained(str(tmp))
            (tmp / "labels.txt").write_text("".join(f"{label}\n" for label in self.config.labels), encoding="utf-8")
            self.backbone.save_weights(str(tmp / WEIGHTS))
            manifest = {**manifest_of(self, metrics), "kind": KIND, "prune_preserve": self.prune_preserve}
            atomic_write_json(tmp / "tfkit.json", manifest)
            (tmp / "README.md").write_text(
                "# tfkit quantization-aware classifier\n\nFake-quantized Functional twin (TF-MOT). Load with "
                "`tfkit.TextClassifier.load(path)`; export its integer-only file with `tfkit.export`.\n",
                encoding="utf-8")
            write_checksums(tmp)
        return path


class _DistilledQuantizedClassifier(DistillationStep, QuantizedClassifier):
    """A :class:`QuantizedClassifier` while it trains against the float model's logits."""


def load_quantized(path: str | os.PathLike, manifest: dict[str, Any], **overrides: Any) -> QuantizedClassifier:
    """Rebuilds a :class:`QuantizedClassifier` saved by :meth:`QuantizedClassifier.save_pretrained`."""
    from transformers import AutoConfig

    from tfkit.integrity import check_weight_files
    from tfkit.models.checkpoint import load_tokenizer

    path = Path(path)
    check_weight_files(path, names=(WEIGHTS,))
    config = ClassifierConfig.from_dict({**manifest["classifier"], **overrides})
    if config.precision is not Precision.FLOAT32:
        raise ConfigError(f"Expected precision='float32' for a quantization-aware model. Received: "
                          f"{config.precision.value!r}.")
    hf = AutoConfig.from_pretrained(str(path), local_files_only=True)
    float_model = TextClassifier.from_hf_config(hf, load_tokenizer(path), config)
    float_model.predict_logits(["a"])
    model = QuantizedClassifier.wrap(float_model, bool(manifest.get("prune_preserve", False)))
    try:
        model.backbone.load_weights(str(path / WEIGHTS))
    except (ValueError, OSError) as error:
        raise CheckpointError(f"{path / WEIGHTS}: not the weights of this quantization-aware model ({error}).") \
            from None
    model.training_config = TrainingConfig.from_dict(manifest["training"])
    model.fit_record = manifest.get("fit", {})
    return model


def kernel_sparsity(classifier: TextClassifier) -> float:
    """Fraction of exact zeros over the encoder's Dense kernels (2-D weights other than embeddings)."""
    kernels = [w.numpy() for w in classifier.backbone.weights if len(w.shape) == 2 and "embeddings" not in w.name]
    total = sum(k.size for k in kernels)
    return float(sum(int(np.sum(k == 0)) for k in kernels) / total) if total else 0.0


def new_nonzeros(tflite_path: str | os.PathLike, source: TextClassifier) -> dict[str, int]:
    """How many weights that are zero in ``source`` (a stripped pruned classifier) are non-zero in the QAT
    file's int8 kernels: ``{"checked_kernels", "source_zeros", "new_nonzeros"}`` (0 new non-zeros: sparsity kept)."""
    from tfkit.export.ops import int8_kernels
    from tfkit.models.twin import hf_variables

    kernels = {name: variable.numpy() for name, variable in hf_variables(source).items()}
    checked = zeros = new = 0
    for layer, int8 in int8_kernels(tflite_path).items():
        kernel = kernels.get(f"{layer}.weight")
        if kernel is None or kernel.T.shape != int8.shape:
            continue
        was_zero = kernel.T == 0
        checked += 1
        zeros += int(was_zero.sum())
        new += int(np.sum(was_zero & (int8 != 0)))
    return {"checked_kernels": checked, "source_zeros": zeros, "new_nonzeros": new}


def quantize_aware(
    classifier: TextClassifier,
    train: TextDataset,
    validation: TextDataset | None = None,
    epochs: int = 1,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    batch_size: int | None = None,
    prune_preserve: bool | None = None,
    calibration_samples: int = CALIBRATION_SAMPLES,
    range_clip: float | None = RANGE_CLIP,
    distill_alpha: float | None = DISTILL_ALPHA,
    output_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    **fit_options: Any,
) -> QuantizedClassifier:
    """Quantization-aware fine-tuning of a trained float32 classifier (TF-MOT, on its Functional twin).

    Args:
        classifier: the trained :class:`~tfkit.TextClassifier` (BERT, RoBERTa, ELECTRA or DistilBERT).
        train: the training examples QAT fine-tunes on.
        validation: validation examples (per-epoch metrics, best checkpoint).
        epochs: QAT epochs (one is usually enough: the model is already trained).
        learning_rate: peak learning rate of the warm-up/decay schedule.
        batch_size: examples per batch (default: the classifier's training config).
        prune_preserve: keep the zeros of a pruned classifier (TF-MOT's
            ``Default8BitPrunePreserveQuantizeScheme``); ``None``: when the encoder's kernels are at least
            :data:`SPARSE` zeros.
        calibration_samples: training examples whose float activations (min/max) set the initial fake-quant
            ranges; 0 (default): TF-MOT's [-6, 6] start, which measured better (see :data:`CALIBRATION_SAMPLES`).
        range_clip: with calibration, each observed range is cut to ``[-range_clip, range_clip]``
            (default 6, TF-MOT's start; ``None``: the raw min/max).
        distill_alpha: distil from the float ``classifier`` while training: the loss is ``distill_alpha`` x
            cross-entropy + (1 - ``distill_alpha``) x the temperature-2 KL to the float model's logits
            (:class:`~tfkit.optimize.distillation.DistillationStep`); default 0.5 (see :data:`DISTILL_ALPHA`);
            ``None``: cross-entropy alone.
        output_dir: TensorBoard logs, best checkpoint and backup, as in :meth:`TextClassifier.fit`.
        **fit_options: further :meth:`TextClassifier.fit` arguments (``monitor``, ``restore_best_weights``...).

    Returns:
        A trained :class:`QuantizedClassifier`; ``tfkit.export(qat, ...)`` writes its ``qat_int8`` file.

    Examples:
        >>> qat = tfkit.quantize_aware(clf, train, val, epochs=1, learning_rate=1e-5)   # doctest: +SKIP
    """
    if not isinstance(classifier, TextClassifier) or isinstance(classifier, QuantizedClassifier):
        raise ConfigError(f"Expected a trained float tfkit.TextClassifier. Received: {type(classifier).__name__}. "
                          "Strip a pruned model first (pruned.strip()).")
    check_single_host(classifier.distribute_strategy, "quantization-aware training (TF-MOT quantize_apply)")
    if epochs < 1:
        raise ConfigError(f"Expected epochs >= 1. Received: epochs={epochs}.")
    if calibration_samples < 0:
        raise ConfigError(f"Expected calibration_samples >= 0. Received: calibration_samples={calibration_samples}.")
    if range_clip is not None and not range_clip > 0:
        raise ConfigError(f"Expected range_clip > 0 or None. Received: range_clip={range_clip}.")
    if prune_preserve is None:
        prune_preserve = kernel_sparsity(classifier) >= SPARSE
    if distill_alpha is not None:
        distill_config = DistillConfig(alpha=distill_alpha)  # validates the weight
    calibration = train.take(min(calibration_samples, len(train)), seed=classifier.training_config.seed) \
        if calibration_samples > 0 else None
    with classifier.distribute_strategy.scope():  # MirroredStrategy: the twin's variables are mirrored too
        kind = QuantizedClassifier if distill_alpha is None else _DistilledQuantizedClassifier
        model = kind.wrap(classifier, prune_preserve, calibration=calibration, range_clip=range_clip)
        if distill_alpha is not None:
            model.attach_teacher(teacher_function(classifier), distill_config)
    model.compile(learning_rate=learning_rate, **({"batch_size": batch_size} if batch_size else {}))
    model.fit(train, validation_data=validation, epochs=epochs, output_dir=output_dir, resume=resume,
              overwrite=overwrite, callbacks=callbacks, **fit_options)
    if distill_alpha is not None:  # the trained model, without its teacher, under the same strategy
        with classifier.distribute_strategy.scope():
            trained = QuantizedClassifier(model.backbone, model.tokenizer, model.config, model.hf_config,
                                          prune_preserve=prune_preserve)
        trained.training_config, trained.fit_record = model.training_config, model.fit_record
        model = trained
    model.fit_record = {**model.fit_record, "qat": {"distill_alpha": distill_alpha,
                                                    "learning_rate": learning_rate, "epochs": epochs,
                                                    "prune_preserve": prune_preserve,
                                                    "calibration_samples": calibration_samples,
                                                    "range_clip": range_clip if calibration_samples else None}}
    return model


__all__ = ["DEFAULT_LEARNING_RATE", "QuantizedClassifier", "kernel_sparsity", "load_quantized", "new_nonzeros",
           "quantize_aware"]
