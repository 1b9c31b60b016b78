"""LoRA: low-rank adapters on a frozen BERT-family encoder, trained with the ordinary ``fit``.

:func:`with_lora` rebuilds a classifier as its Functional twin (:mod:`tfkit.models.twin`, the
representation QAT uses too) with :class:`LoraDense` in place of the chosen Dense layers
(query and value by default). Each keeps the pretrained kernel frozen and adds
``x @ A @ B * alpha / rank``; ``B`` starts at zero, so an untrained adapter changes nothing.
Only the adapters and the classifier layer train (the pooler too with ``train_head=True``).

The result is a :class:`LoraClassifier`: it fits, predicts and evaluates like any
:class:`~tfkit.TextClassifier`, and

- :meth:`LoraClassifier.save_adapter` writes the adapter alone (``adapter_model.safetensors``, a few
  hundred KB, with ``adapter_config.json`` naming the base checkpoint and the SHA-256 of its weights);
  :meth:`LoraClassifier.load_adapter` puts one onto a base (several per base; :meth:`use_adapter`
  switches between them in place, without merging) and refuses an adapter trained on other weights;
- :meth:`LoraClassifier.merged` folds ``A @ B`` into the kernels: a plain ``TextClassifier`` whose
  exported files cost nothing extra. Devices get one merged file per task: a TFLite file holds its
  weights as constants, so two files cannot share a base, and an unmerged adapter would cost two extra
  matmuls per adapted layer at every call. ``save_pretrained`` writes the merged model with its
  adapter in ``adapter/``; ``TextClassifier.load`` of that folder gives the merged classifier.

Examples:
    >>> clf = tfkit.TextClassifier.from_pretrained(checkpoint, labels=train.labels)   # doctest: +SKIP
    >>> lora = tfkit.with_lora(clf, rank=8)                                          # doctest: +SKIP
    >>> lora.compile(); lora.fit(train, validation_data=val, epochs=3)               # doctest: +SKIP
    >>> lora.save_adapter("adapters/sst2")                                           # doctest: +SKIP
    >>> tfkit.export(lora.merged(), "saved_models/sst2/export", train=train, validation=val)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tfkit._keras import keras, tf
from tfkit.errors import CheckpointError, ConfigError, TfkitError
from tfkit.models.config import ClassifierConfig, Precision, _JsonConfig
from tfkit.models.text_classifier import TextClassifier, TwinBackedClassifier, dtype_policy
from tfkit.models.twin import (LAYOUTS, build_twin, check_pooling, functional_twin, layout_of, twin_variables,
                               write_back)

ROLES = ("query", "key", "value", "attention_output", "intermediate", "output", "pooler")
# LoRA's training defaults, chosen on the SST-2 validation split (rank 8, query/value, 2 epochs on 16,000
# sentences; benchmarks/results/peft_distill_sst2.md) among learning rates 5e-4..4e-3 at batch 32 and 16,
# LoRA+ ratios 8 and 16, the frozen base's dropout on or off, and a pooler adapter or not: 2e-3 at batch 16 without
# dropout validated best (0.8915, against 0.8865 with dropout, 0.882 at batch 32, 0.8845 for LoRA+, 0.887 with a
# pooler adapter). Adapters start at zero and
# underfit in short runs (0.885 train accuracy with dropout), so larger and more steps help. On SST-2 dev the
# same choice scored lower (0.8486 vs 0.8658 with dropout, seed 0): train.tsv's phrases and dev's sentences differ.
DEFAULT_LEARNING_RATE = 2e-3
DEFAULT_BATCH_SIZE = 16
DEFAULT_BASE_DROPOUT = 0.0
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
FORMAT = "tfkit.lora_adapter"
FORMAT_VERSION = 1
NO_MEAN_POOLED_FOLDER = ("Cannot write '{path}': a mean-pooled classifier has no Hugging Face model folder format. "
                         "Save its adapter (LoraClassifier.save_adapter) and load it onto the base "
                         "(tfkit.load_lora), or export it (tfkit.export).")


class AdapterMismatchError(TfkitError, ValueError):
    """An adapter does not belong to this base model (other weights, architecture or labels)."""


@dataclasses.dataclass(frozen=True)
class LoraConfig(_JsonConfig):
    """Where the adapters go and how large they are.

    Attributes:
        rank: inner dimension of each adapter (``A``: in x rank, ``B``: rank x out).
        alpha: scale numerator: the adapter adds ``x @ A @ B * alpha / rank``.
        dropout: dropout on the adapter's input while training.
        targets: Dense layers that get adapters: the blocks' ``query``, ``key``, ``value``,
            ``attention_output``, ``intermediate``, ``output``, and the head's ``pooler`` (BERT's pooler,
            DistilBERT's pre_classifier, RoBERTa's classifier.dense: a low-rank update of a frozen pooler, where
            ``train_head`` trains all of it).
        layers: encoder block indices that get adapters (``None``: all).
        train_head: also train the pooler/pre-classifier Dense (the classifier layer always trains). Off by
            default, as in PEFT: MiniLM's pooler alone is 148k parameters, which would take the rank-8
            adapter file from 0.3 to 0.9 MB.
        base_dropout: the frozen base's dropout (every Dropout layer of the twin) while the adapters
            train; default 0 (measured better, see :data:`DEFAULT_BASE_DROPOUT`); ``None``: the checkpoint's.
        b_lr_ratio: LoRA+ (Hayou et al., 2024): ``B`` learns this many times faster than ``A``. Adam's steps
            do not depend on a gradient's scale, so ``B`` is trained as ``B / ratio`` and used times
            ``ratio``; the adapter file holds ``B`` itself. 1: plain LoRA.
        pooling: what the classifier layer reads: ``"first"``, the Hugging Face head (BERT's pooler of the
            first token); or ``"mean"``, the mean of the last layer over the unpadded tokens, without the
            pooler (BERT layout only; how sentence-transformers checkpoints such as all-MiniLM-L6-v2 were
            trained). A mean-pooled model has no Hugging Face class: :meth:`LoraClassifier.merged` gives a
            classifier that predicts and exports, and it is not written as a Hugging Face folder.

    Examples:
        >>> LoraConfig(rank=4, targets=("query", "value")).scale
        4.0
    """

    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    targets: tuple[str, ...] = ("query", "value")
    layers: tuple[int, ...] | None = None
    train_head: bool = False
    base_dropout: float | None = DEFAULT_BASE_DROPOUT
    b_lr_ratio: float = 1.0
    pooling: str = "first"

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        if self.layers is not None:
            object.__setattr__(self, "layers", tuple(int(i) for i in self.layers))
        if int(self.rank) < 1:
            raise ConfigError(f"Expected a LoRA rank >= 1. Received: rank={self.rank}.")
        if not self.b_lr_ratio > 0:
            raise ConfigError(f"Expected b_lr_ratio > 0. Received: b_lr_ratio={self.b_lr_ratio}.")
        if self.base_dropout is not None and not 0.0 <= self.base_dropout < 1.0:
            raise ConfigError(f"Expected 0 <= base_dropout < 1 or None. Received: base_dropout={self.base_dropout}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"Expected 0 <= dropout < 1. Received: dropout={self.dropout}.")
        if self.train_head and "pooler" in self.targets:
            raise ConfigError("Expected either train_head=True (the pooler trains whole) or a 'pooler' LoRA target "
                              "(a low-rank update of it), not both.")
        check_pooling(self.pooling)
        if self.pooling == "mean" and "pooler" in self.targets:
            raise ConfigError("Expected no 'pooler' LoRA target with pooling='mean' (the mean-pooled head has no "
                              "pooler). Received: targets=" + str(list(self.targets)) + ".")
        unknown = sorted(set(self.targets) - set(ROLES))
        if unknown or not self.targets:
            raise ConfigError(f"Expected LoRA targets among {list(ROLES)}. Received: targets={list(self.targets)}.")

    @property
    def scale(self) -> float:
        return float(self.alpha) / int(self.rank)

    def function(self) -> "LoraConfig":
        """These settings without the training-only ones (dropouts, ``b_lr_ratio``): what an adapter computes."""
        return dataclasses.replace(self, dropout=0.0, base_dropout=None, b_lr_ratio=1.0)


class LoraDense(keras.layers.Dense):
    """A Dense layer with a frozen kernel and bias plus a trainable low-rank update ``A @ B * scale``.

    Weights: ``kernel``, ``bias`` (frozen: the pretrained ones), ``lora_a`` (in x rank, small random
    values) and ``lora_b`` (rank x out, zeros), so the layer starts as the plain Dense. With
    ``b_lr_ratio`` (LoRA+) the variable ``lora_b`` holds ``B / b_lr_ratio``; :meth:`b` is ``B``.
    """

    def __init__(self, units: int, rank: int = 8, scale: float = 2.0, dropout: float = 0.0, seed: int = 0,
                 b_lr_ratio: float = 1.0, **kwargs: Any):
        super().__init__(units, **kwargs)
        self.rank, self.scale, self.dropout, self.seed = int(rank), float(scale), float(dropout), int(seed)
        self.b_lr_ratio = float(b_lr_ratio)

    def build(self, input_shape: Any) -> None:
        width = int(input_shape[-1])
        self.kernel = self.add_weight("kernel", shape=(width, self.units), initializer="glorot_uniform",
                                      trainable=False)
        self.bias = self.add_weight("bias", shape=(self.units,), initializer="zeros", trainable=False)
        bound = 1.0 / math.sqrt(width)  # PEFT's kaiming_uniform(a=sqrt(5)) for A
        self.lora_a = self.add_weight("lora_a", shape=(width, self.rank), trainable=True,
                                      initializer=keras.initializers.RandomUniform(-bound, bound, seed=self.seed))
        self.lora_b = self.add_weight("lora_b", shape=(self.rank, self.units), initializer="zeros", trainable=True)
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: width})
        self.built = True

    def call(self, inputs: tf.Tensor, training: Any = None) -> tf.Tensor:
        base = super().call(inputs)
        x = inputs
        if self.dropout and training:
            x = tf.nn.dropout(x, rate=self.dropout)
        a, b = tf.cast(self.lora_a, x.dtype), tf.cast(self.lora_b, x.dtype)
        return base + tf.matmul(tf.matmul(x, a), b) * tf.cast(self.scale * self.b_lr_ratio, x.dtype)

    def b(self) -> np.ndarray:
        """``B`` (the variable times ``b_lr_ratio``)."""
        return self.lora_b.numpy() * self.b_lr_ratio

    def set_b(self, value: np.ndarray) -> None:
        self.lora_b.assign(np.asarray(value) / self.b_lr_ratio)

    def merged_kernel(self) -> np.ndarray:
        """``kernel + A @ B * scale``: the plain Dense kernel computing the same function."""
        return self.kernel.numpy() + (self.lora_a.numpy() @ self.b()) * self.scale

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rank": self.rank, "scale": self.scale, "dropout": self.dropout,
                "seed": self.seed, "b_lr_ratio": self.b_lr_ratio}


class LoraClassifier(TwinBackedClassifier):
    """A :class:`~tfkit.TextClassifier` whose backbone is the Functional twin with LoRA adapters.

    Build one with :func:`with_lora`; see the module docstring for saving, loading and merging.
    """

    def __init__(self, backbone: keras.Model, tokenizer: Any, config: ClassifierConfig, hf_config: Any,
                 lora: LoraConfig, base_sha256: str, **kwargs: Any):
        super().__init__(backbone, tokenizer, config, hf_config, **kwargs)
        self.lora = lora
        self.base_sha256 = base_sha256
        self._adapters: dict[str, dict[str, np.ndarray]] = {}
        self._labels: dict[str, tuple[str, ...]] = {}
        self.active_adapter = "default"
        self._freeze_base()

    def _freeze_base(self) -> None:
        trainable = set(head_layers(self._hf_config, self.lora.train_head, self.lora.pooling))
        for layer in self.backbone.layers:
            layer.trainable = isinstance(layer, LoraDense) or layer.name in trainable

    # ------------------------------------------------------------------ building
    @classmethod
    def wrap(cls, classifier: TextClassifier, lora: LoraConfig | None = None) -> "LoraClassifier":
        """``classifier`` (float32, BERT family) as its twin with fresh (zero) adapters: the same logits."""
        lora = lora or LoraConfig()
        if isinstance(classifier, LoraClassifier) or classifier.quantization_aware:
            raise ConfigError(f"Expected a plain tfkit.TextClassifier. Received: {type(classifier).__name__}. "
                              "Merge LoRA adapters first (lora.merged()).")
        blocks = int(layout_of(classifier).hf(classifier.hf_config, "num_hidden_layers"))  # unsupported: raises
        check_pooling(lora.pooling, layout_of(classifier))
        layers = set(range(blocks) if lora.layers is None else lora.layers)
        if lora.layers is not None and not layers <= set(range(blocks)):
            raise ConfigError(f"Expected LoRA layer indices in 0..{blocks - 1}. Received: layers={list(lora.layers)}.")
        if "pooler" in lora.targets:
            pooler = head_layers(classifier.hf_config)[0]
            new = [n for n in classifier.new_weights if n == pooler or pooler.startswith(n + ".")
                   or n.startswith(pooler + ".")]
            if new:
                raise ConfigError(f"Expected a pretrained '{pooler}' for a 'pooler' LoRA target. Received: a "
                                  f"checkpoint without it ({', '.join(new)}: initialised randomly). Train it whole "
                                  "with train_head=True instead.")
        counter = itertools.count()

        def dense(units: int, name: str, role: str) -> keras.layers.Layer:
            if role in lora.targets and (role == "pooler" or _block_index(name) in layers):
                return LoraDense(units, rank=lora.rank, scale=lora.scale, dropout=lora.dropout,
                                 b_lr_ratio=lora.b_lr_ratio,
                                 seed=classifier.training_config.seed * 1000 + next(counter), name=name)
            return keras.layers.Dense(units, name=name)

        with dtype_policy(classifier.config.precision), classifier.distribute_strategy.scope():
            twin = functional_twin(classifier, dense=dense, pooling=lora.pooling)
            if lora.base_dropout is not None:
                for layer in twin.layers:
                    if isinstance(layer, keras.layers.Dropout):
                        layer.rate = lora.base_dropout
            model = cls(twin, classifier.tokenizer, classifier.config, classifier.hf_config, lora,
                        base_fingerprint(twin, head_layers(classifier.hf_config, lora.train_head, lora.pooling)))
        # LoRA's measured defaults; compile(learning_rate=..., batch_size=...) overrides them as usual.
        model.training_config = dataclasses.replace(classifier.training_config, learning_rate=DEFAULT_LEARNING_RATE,
                                                    batch_size=DEFAULT_BATCH_SIZE)
        model.new_weights = classifier.new_weights
        model._adapters["default"] = model.adapter_weights()
        model._labels["default"] = tuple(classifier.config.labels)
        return model

    # ------------------------------------------------------------------ counting
    @property
    def trainable_parameters(self) -> int:
        return int(sum(np.prod(w.shape) for w in self.trainable_weights))

    @property
    def total_parameters(self) -> int:
        return int(sum(np.prod(w.shape) for w in self.weights))

    @property
    def trainable_fraction(self) -> float:
        """Trained parameters (adapters and head) over all parameters."""
        return self.trainable_parameters / self.total_parameters

    # ------------------------------------------------------------------ adapters
    def lora_layers(self) -> list[LoraDense]:
        return [layer for layer in self.backbone.layers if isinstance(layer, LoraDense)]

    def adapter_weights(self) -> dict[str, np.ndarray]:
        """The adapter's tensors: ``<layer>.lora_a``/``.lora_b`` and the head's trained weights (HF names)."""
        out = {}
        for layer in self.lora_layers():
            out[f"{layer.name}.lora_a"] = layer.lora_a.numpy()
            out[f"{layer.name}.lora_b"] = layer.b()
        head = tuple(head_layers(self._hf_config, self.lora.train_head, self.lora.pooling))
        for name, variable in twin_variables(self.backbone).items():
            if name.rsplit(".", 1)[0] in head:
                out[name] = variable.numpy()
        return out

    def _assign(self, weights: dict[str, np.ndarray], where: str) -> None:
        current = self.adapter_weights()
        if set(weights) != set(current):
            missing, extra = sorted(set(current) - set(weights)), sorted(set(weights) - set(current))
            raise AdapterMismatchError(f"{where}: expected the tensors of this model's adapters "
                                       f"(rank {self.lora.rank}, targets {list(self.lora.targets)}). Received: "
                                       f"missing {missing[:3]}, unexpected {extra[:3]}.")
        for name, value in weights.items():
            if tuple(value.shape) != tuple(current[name].shape):
                raise AdapterMismatchError(f"{where}: expected {name} of shape {current[name].shape}. "
                                           f"Received: {tuple(value.shape)}.")
        variables = {f"{layer.name}.lora_a": layer.lora_a for layer in self.lora_layers()}
        variables.update(twin_variables(self.backbone))
        b_setters = {f"{layer.name}.lora_b": layer.set_b for layer in self.lora_layers()}
        for name, value in weights.items():
            if name in b_setters:
                b_setters[name](value)
            else:
                variables[name].assign(value)

    def save_adapter(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Writes the active adapter: ``adapter_model.safetensors`` and ``adapter_config.json``, atomically."""
        from safetensors.numpy import save_file

        from tfkit import __version__
        from tfkit._io import atomic_directory, atomic_write_json

        path = Path(path)
        with atomic_directory(path, overwrite=overwrite) as tmp:
            save_file({k: np.ascontiguousarray(v) for k, v in self.adapter_weights().items()},
                      str(tmp / ADAPTER_WEIGHTS))
            atomic_write_json(tmp / ADAPTER_CONFIG, {
                "format": FORMAT, "format_version": FORMAT_VERSION, "tfkit_version": __version__,
                "lora": self.lora.to_dict(),
                "base": {"checkpoint": self.config.checkpoint, "model_type": self._hf_config.model_type,
                         "sha256": self.base_sha256},
                "classifier": self.config.to_dict(),
                "fit": self.fit_record,
            })
        return path

    def load_adapter(self, path: str | os.PathLike, name: str | None = None) -> str:
        """Loads an adapter written by :meth:`save_adapter` and makes it active; returns its name.

        Raises:
            AdapterMismatchError: the adapter was trained on other base weights (SHA-256), with another
                LoRA layout, or for a different number of outputs.
        """
        from safetensors.numpy import load_file

        path = Path(path)
        meta = read_adapter_config(path)
        if meta["base"]["sha256"] != self.base_sha256:
            raise AdapterMismatchError(
                f"{path / ADAPTER_CONFIG}: this adapter was trained on base weights with SHA-256 "
                f"{meta['base']['sha256'][:16]}... ({meta['base'].get('checkpoint') or 'unknown checkpoint'}). "
                f"Received a base with SHA-256 {self.base_sha256[:16]}... ({self.config.checkpoint or 'unknown'}). "
                "Load it onto the checkpoint it was trained from.")
        if LoraConfig.from_dict(meta["lora"]).function() != self.lora.function():
            raise AdapterMismatchError(f"{path / ADAPTER_CONFIG}: expected LoRA settings {self.lora.to_dict()}. "
                                       f"Received: {meta['lora']}. Wrap the base with the adapter's settings.")
        labels = tuple(meta["classifier"].get("labels") or ())
        if len(labels) != len(self.config.labels):
            raise AdapterMismatchError(f"{path / ADAPTER_CONFIG}: expected an adapter with "
                                       f"{len(self.config.labels)} labels. Received: {len(labels)} ({list(labels)}).")
        weights = load_file(str(path / ADAPTER_WEIGHTS))
        name = name or path.name
        self._assign(weights, str(path / ADAPTER_WEIGHTS))
        self._adapters[name], self._labels[name] = weights, labels
        self._activate(name)
        return name

    def use_adapter(self, name: str) -> None:
        """Makes a loaded adapter active (its weights are assigned in place; the base is shared)."""
        if name not in self._adapters:
            raise ConfigError(f"Expected one of the loaded adapters {sorted(self._adapters)}. Received: {name!r}.")
        self._adapters[self.active_adapter] = self.adapter_weights()  # keeps what fit changed
        self._assign(self._adapters[name], f"adapter {name!r}")
        self._activate(name)

    def remove_adapter(self, name: str) -> None:
        """Forgets a loaded adapter other than the active one."""
        if name == self.active_adapter or name not in self._adapters:
            raise ConfigError(f"Expected a loaded adapter other than the active {self.active_adapter!r}. "
                              f"Received: {name!r} (loaded: {sorted(self._adapters)}).")
        del self._adapters[name], self._labels[name]

    def _activate(self, name: str) -> None:
        self.active_adapter = name
        self.config = dataclasses.replace(self.config, labels=self._labels[name])

    @property
    def adapters(self) -> list[str]:
        return sorted(self._adapters)

    # ------------------------------------------------------------------ merging and saving
    def merged(self) -> TextClassifier:
        """A plain :class:`~tfkit.TextClassifier` with ``A @ B * scale`` folded into the kernels (for
        ``pooling="mean"``, a :class:`MeanPooledClassifier`: its Functional twin with plain Dense layers)."""
        from tfkit.models.twin import _PARAMETER, _copy

        kernels = {f"{layer.name}.{_PARAMETER['kernel']}": layer.merged_kernel() for layer in self.lora_layers()}
        template = TextClassifier.from_hf_config(self._hf_config, self.tokenizer, self.config)
        template.predict_logits(["a"])  # builds every weight
        if self.lora.pooling == "mean":
            with dtype_policy(self.config.precision):
                twin = build_twin(template, pooling="mean")
            _copy({**twin_variables(self.backbone), **kernels}, twin_variables(twin), "merged mean-pooled twin")
            merged: TextClassifier = MeanPooledClassifier(twin, self.tokenizer, self.config, self._hf_config)
        else:
            merged = write_back(self.backbone, template, weights=kernels)
        merged.training_config = self.training_config
        merged.fit_record = {**self.fit_record, "lora": {**self.lora.to_dict(), "base_sha256": self.base_sha256,
                                                         "merged": True}}
        return merged

    def save_pretrained(self, path: str | os.PathLike, overwrite: bool = False, metrics: dict | None = None) -> Path:
        """Writes the merged classifier's folder (what export and the next stages read) with the adapter in
        ``adapter/``. ``TextClassifier.load(path)`` gives the merged classifier; :func:`load_lora` the
        unmerged one on its base."""
        from tfkit.models.saving import save_classifier

        if self.lora.pooling == "mean":
            raise ConfigError(NO_MEAN_POOLED_FOLDER.format(path=path))
        return save_classifier(self.merged(), path, overwrite=overwrite, metrics=metrics,
                               extra=lambda folder: self.save_adapter(folder / "adapter"))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "lora": self.lora.to_dict()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LoraClassifier":
        """A LoRA classifier of the architecture ``get_config`` describes (random base, fresh adapters)."""
        return cls.wrap(TextClassifier.from_config(config), LoraConfig.from_dict(config["lora"]))


class MeanPooledClassifier(TwinBackedClassifier):
    """A merged mean-pooled LoRA classifier (:meth:`LoraClassifier.merged` with ``pooling="mean"``): the
    Functional twin with plain Dense layers. It predicts, evaluates and exports (``tfkit.export``) like any
    classifier; no Hugging Face class computes mean pooling, so it is not written as a model folder:
    keep its adapter (:meth:`LoraClassifier.save_adapter`) and load that onto the base."""

    def save_pretrained(self, path: str | os.PathLike, overwrite: bool = False, metrics: dict | None = None,
                        pytorch_weights: bool = False) -> Path:
        raise ConfigError(NO_MEAN_POOLED_FOLDER.format(path=path))


def _block_index(name: str) -> int:
    """The encoder block index in a twin layer name (``bert.encoder.layer.3.attention.self.query`` -> 3)."""
    parts = name.split(".")
    for i, part in enumerate(parts[:-1]):
        if part == "layer" and parts[i + 1].isdigit():
            return int(parts[i + 1])
    raise ConfigError(f"Expected an encoder block layer name. Received: {name!r}.")


def head_layers(hf_config: Any, with_pooler: bool = True, pooling: str = "first") -> list[str]:
    """Twin layer names of the head that LoRA fine-tuning trains (the classifier; the pooler if asked and the
    head has one: a mean-pooled head has none)."""
    layout = LAYOUTS[hf_config.model_type]
    if layout.head == "pooler":
        names = [f"{layout.prefix}.pooler.dense"] if with_pooler and pooling == "first" else []
        return names + ["classifier"]
    if layout.head == "pre_classifier":
        return (["pre_classifier"] if with_pooler else []) + ["classifier"]
    return (["classifier.dense"] if with_pooler else []) + ["classifier.out_proj"]


def base_fingerprint(twin: keras.Model, head: Sequence[str]) -> str:
    """SHA-256 of the frozen base weights (all but the adapters and the ``head`` layers), by name and value."""
    digest = hashlib.sha256()
    for name, variable in sorted(twin_variables(twin).items()):
        if name.rsplit(".", 1)[0] in head:
            continue
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(variable.numpy(), dtype=np.float32).tobytes())
    return digest.hexdigest()


def read_adapter_config(path: str | os.PathLike) -> dict[str, Any]:
    """The ``adapter_config.json`` of an adapter folder, checked."""
    path = Path(path)
    config_file = path / ADAPTER_CONFIG
    if not config_file.is_file() or not (path / ADAPTER_WEIGHTS).is_file():
        raise CheckpointError(f"'{path}' is not a tfkit LoRA adapter folder (expected {ADAPTER_CONFIG} and "
                              f"{ADAPTER_WEIGHTS}). Write one with LoraClassifier.save_adapter(path).")
    meta = json.loads(config_file.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT or meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{config_file}: unsupported format {meta.get('format')!r} "
                              f"v{meta.get('format_version')}.")
    return meta


def base_dropout_for(dropout: float | None) -> float:
    """The frozen base's dropout for a run that asked for ``dropout`` (None: LoRA's measured default).

    Examples:
        >>> base_dropout_for(None), base_dropout_for(0.1)
        (0.0, 0.1)
    """
    return DEFAULT_BASE_DROPOUT if dropout is None else float(dropout)


def with_lora(classifier: TextClassifier, rank: int = 8, alpha: float = 16.0, dropout: float = 0.0,
              targets: Sequence[str] = ("query", "value"), layers: Sequence[int] | None = None,
              train_head: bool = False, b_lr_ratio: float = 1.0,
              base_dropout: float | None = DEFAULT_BASE_DROPOUT, pooling: str = "first") -> LoraClassifier:
    """``classifier`` with fresh LoRA adapters (see :class:`LoraConfig`): compile and fit it as usual.

    Examples:
        >>> lora = tfkit.with_lora(clf, rank=8)        # doctest: +SKIP
        >>> lora.trainable_fraction < 0.01             # doctest: +SKIP
        True
    """
    if classifier.config.precision is not Precision.FLOAT32:
        raise ConfigError("Expected a float32 classifier for LoRA (its Functional twin is float32). Received: "
                          f"precision={classifier.config.precision.value!r}. Build it with precision='float32'.")
    return LoraClassifier.wrap(classifier, LoraConfig(rank=rank, alpha=alpha, dropout=dropout,
                                                      targets=tuple(targets),
                                                      layers=None if layers is None else tuple(layers),
                                                      train_head=train_head, b_lr_ratio=b_lr_ratio,
                                                      base_dropout=base_dropout, pooling=pooling))


def load_lora(base: TextClassifier | str | os.PathLike, adapter: str | os.PathLike) -> LoraClassifier:
    """An unmerged :class:`LoraClassifier`: ``base`` (a classifier, or the checkpoint folder the adapter
    names when ``base`` is a path) with the adapter folder ``adapter`` loaded and active.

    Examples:
        >>> lora = tfkit.load_lora(checkpoint, "adapters/sst2")          # doctest: +SKIP
        >>> lora.load_adapter("adapters/imdb"); lora.use_adapter("sst2")  # doctest: +SKIP
    """
    meta = read_adapter_config(adapter)
    config = ClassifierConfig.from_dict(meta["classifier"])
    if not isinstance(base, TextClassifier):
        base = TextClassifier.from_pretrained(base, labels=config.labels, task=config.task,
                                              max_length=config.max_length, precision="float32")
    model = LoraClassifier.wrap(base, LoraConfig.from_dict(meta["lora"]))
    model.load_adapter(adapter)
    model.remove_adapter("default")  # the fresh adapter wrap started with
    return model


__all__ = ["AdapterMismatchError", "DEFAULT_BASE_DROPOUT", "DEFAULT_BATCH_SIZE", "DEFAULT_LEARNING_RATE",
           "LoraClassifier", "LoraConfig", "LoraDense", "MeanPooledClassifier", "base_dropout_for",
           "load_lora", "read_adapter_config", "with_lora"]
