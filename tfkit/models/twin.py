"""The Functional twin: a BERT-family classifier rebuilt from plain ``tf_keras`` layers.

Hugging Face's TF classes are subclassed models, which TF-MOT's quantization-aware
training (and ``prune_low_magnitude``) refuse. :func:`functional_twin` rebuilds the
same network as a Functional model with the same weights: ``Embedding``, ``Dense``,
``LayerNormalization``, ``Activation``, ``Add``, ``Dropout`` and the few layers of
:mod:`tfkit.models.twin_layers` (attention matmuls, masked softmax). Every layer is
named after the Hugging Face module whose weights it holds
(``bert.encoder.layer.0.attention.self.query``), so weights move both ways by name:
:func:`write_back` puts a twin's weights into a Hugging Face classifier again.

The twin's last encoder layer computes the first token only (queries, attention
output and feed-forward of ``[CLS]``): a sequence-classification head reads nothing
else, so the logits are the same and the layer costs about a fifth.

``pooling="mean"`` builds a different classifier on the same encoder: the head reads the
mean of the last layer over the unpadded tokens (how sentence-transformers checkpoints
such as all-MiniLM-L6-v2 were trained) instead of the first token, and BERT's pooler is
left out (the classifier reads the mean directly). No Hugging Face class computes
that, so its logits are not checked against one; LoRA uses it (:mod:`tfkit.models.lora`).

Supported layouts: BERT (and MiniLM), RoBERTa, ELECTRA, DistilBERT.

Examples:
    >>> twin = functional_twin(clf)                  # checks its logits against clf's  # doctest: +SKIP
    >>> twin({"input_ids": ids, "attention_mask": mask})                                 # doctest: +SKIP
    >>> again = write_back(twin, clf)                # a TextClassifier with the twin's weights  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from tfkit._keras import keras, tf
from tfkit.errors import ConfigError, TfkitError, UnsupportedModelError
from tfkit.models import twin_layers as tl

# Largest |logit| difference between the twin and the Hugging Face model it was built from (float32).
TOLERANCE = 1e-4


class TwinMismatchError(TfkitError, ValueError):
    """The Functional twin does not reproduce the Hugging Face model's logits."""


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where a family keeps its parts, as Hugging Face (PyTorch-style) module names."""

    prefix: str
    blocks: str
    block: dict[str, str]
    head: str  # "pooler" (BERT), "dense_head" (RoBERTa, ELECTRA), "pre_classifier" (DistilBERT)
    head_activation: str

    def hf(self, config: Any, key: str, default: Any = None) -> Any:
        distil = {"hidden_size": "dim", "num_attention_heads": "n_heads", "num_hidden_layers": "n_layers",
                  "intermediate_size": "hidden_dim", "hidden_act": "activation", "hidden_dropout_prob": "dropout",
                  "attention_probs_dropout_prob": "attention_dropout", "classifier_dropout": "seq_classif_dropout"}
        if self.prefix == "distilbert":
            key = distil.get(key, key)
        value = getattr(config, key, default)
        return default if value is None else value


_BERT_BLOCK = dict(query="attention.self.query", key="attention.self.key", value="attention.self.value",
                   attention_output="attention.output.dense", attention_norm="attention.output.LayerNorm",
                   intermediate="intermediate.dense", output="output.dense", output_norm="output.LayerNorm")
_DISTIL_BLOCK = dict(query="attention.q_lin", key="attention.k_lin", value="attention.v_lin",
                     attention_output="attention.out_lin", attention_norm="sa_layer_norm", intermediate="ffn.lin1",
                     output="ffn.lin2", output_norm="output_layer_norm")

LAYOUTS: dict[str, Layout] = {
    "bert": Layout("bert", "encoder.layer", _BERT_BLOCK, "pooler", "tanh"),
    "roberta": Layout("roberta", "encoder.layer", _BERT_BLOCK, "dense_head", "tanh"),
    "electra": Layout("electra", "encoder.layer", _BERT_BLOCK, "dense_head", "gelu"),
    "distilbert": Layout("distilbert", "transformer.layer", _DISTIL_BLOCK, "pre_classifier", "relu"),
}
_ACTIVATIONS = {"gelu": "gelu", "relu": "relu", "tanh": "tanh"}
# Keras weight attribute -> the Hugging Face (PyTorch) parameter name it is stored under.
_PARAMETER = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias", "embeddings": "weight"}


def layout_of(classifier: Any) -> Layout:
    """The :class:`Layout` of a classifier's backbone, or UnsupportedModelError."""
    config = classifier.backbone.config
    layout = LAYOUTS.get(config.model_type)
    if layout is None:
        raise UnsupportedModelError(
            f"Expected a model family the Functional twin covers ({', '.join(sorted(LAYOUTS))}). Received: "
            f"model_type={config.model_type!r}. Quantization-aware training needs the twin; use the TFLite "
            "converter's int8 variants (dynamic_int8, full_int8) for this model instead.")
    return layout


def _activation(name: Any, what: str) -> str:
    if name not in _ACTIVATIONS:
        raise UnsupportedModelError(f"Expected a {what} of {sorted(_ACTIVATIONS)} for the Functional twin. "
                                    f"Received: {name!r}.")
    return _ACTIVATIONS[name]


# Builds an encoder block's Dense layer: (units, name, role) -> layer; role is a Layout.block key ("query"...),
# or "pooler" for the head's hidden Dense (the pooler, DistilBERT's pre_classifier, RoBERTa's classifier.dense).
DenseFactory = Callable[[int, str, str], keras.layers.Layer]


def _plain_dense(units: int, name: str, role: str) -> keras.layers.Layer:
    return keras.layers.Dense(units, name=name)


POOLINGS = ("first", "mean")


def check_pooling(pooling: str, layout: "Layout | None" = None) -> None:
    """Raises :class:`~tfkit.errors.ConfigError` for a pooling other than :data:`POOLINGS` (or ``"mean"`` on a
    layout whose head is not BERT's pooler)."""
    if pooling not in POOLINGS:
        raise ConfigError(f"Expected pooling in {list(POOLINGS)}. Received: pooling={pooling!r}.")
    if pooling == "mean" and layout is not None and layout.head != "pooler":
        raise ConfigError(f"Expected a BERT-layout model (BERT, MiniLM) for pooling='mean'. Received: "
                          f"a {layout.prefix} model, whose head has its own hidden layer.")


def build_twin(classifier: Any, first_token_last_layer: bool = True, dense: DenseFactory | None = None,
               pooling: str = "first") -> keras.Model:
    """The Functional twin's architecture for ``classifier``, randomly initialised (see :func:`functional_twin`).

    ``dense`` builds the encoder blocks' Dense layers and the head's hidden one (LoRA puts its adapters on some:
    :mod:`tfkit.models.lora`);
    whatever it returns must hold ``kernel`` and ``bias`` weights of a Dense of that shape."""
    from tfkit.export.graph import input_names

    layout = layout_of(classifier)
    check_pooling(pooling, layout)
    first_token_last_layer = first_token_last_layer and pooling == "first"
    cfg = classifier.backbone.config
    names = input_names(classifier)
    inputs = {name: keras.Input(shape=(None,), dtype=tf.int32, name=name) for name in names}
    hidden = int(layout.hf(cfg, "hidden_size"))
    width = int(getattr(cfg, "embedding_size", None) or hidden)
    eps = float(layout.hf(cfg, "layer_norm_eps", 1e-12))
    dropout = float(layout.hf(cfg, "hidden_dropout_prob", 0.1))
    p = layout.prefix

    ids = inputs["input_ids"]
    parts = [keras.layers.Embedding(cfg.vocab_size, width, name=f"{p}.embeddings.word_embeddings")(ids)]
    offset = _roberta_padding_id(classifier) + 1 if p == "roberta" else 0
    parts.append(tl.PositionEmbedding(cfg.max_position_embeddings, width, offset,
                                      name=f"{p}.embeddings.position_embeddings")(ids))
    if p != "distilbert":
        types = inputs.get("token_type_ids")
        if types is None:
            types = tl.ZeroIds(name=f"{p}.embeddings.token_type_ids")(ids)
        parts.append(keras.layers.Embedding(cfg.type_vocab_size, width,
                                            name=f"{p}.embeddings.token_type_embeddings")(types))
    x = keras.layers.Add(name=f"{p}.embeddings.sum")(parts)
    x = keras.layers.LayerNormalization(epsilon=eps, name=f"{p}.embeddings.LayerNorm")(x)
    x = keras.layers.Dropout(dropout, name=f"{p}.embeddings.dropout")(x)
    if width != hidden:
        x = keras.layers.Dense(hidden, name=f"{p}.embeddings_project")(x)
    bias = tl.MaskBias(name=f"{p}.attention_mask")(inputs["attention_mask"])

    count = int(layout.hf(cfg, "num_hidden_layers"))
    for index in range(count):
        x = _block(x, bias, f"{p}.{layout.blocks}.{index}", layout, cfg, first_token_last_layer and index == count - 1,
                   dense or _plain_dense)
    if pooling == "mean":
        x = tl.MaskedMean(name=f"{p}.mean_pooling")([x, inputs["attention_mask"]])
    else:
        x = tl.FirstToken(name=f"{p}.first_token")(x)
    logits = _head(x, layout, cfg, classifier.config.num_outputs, dense or _plain_dense, pooler=pooling == "first")
    return keras.Model(inputs, logits, name=f"{p}_twin")


def _roberta_padding_id(classifier: Any) -> int:
    """The id RoBERTa's embeddings count positions around (transformers' TF RoBERTa fixes it at 1)."""
    return int(getattr(classifier.backbone.roberta.embeddings, "padding_idx", 1))


def _block(x: Any, bias: Any, name: str, layout: Layout, cfg: Any, first_only: bool, dense: DenseFactory) -> Any:
    hidden = int(layout.hf(cfg, "hidden_size"))
    heads = int(layout.hf(cfg, "num_attention_heads"))
    eps = float(layout.hf(cfg, "layer_norm_eps", 1e-12))
    dropout = float(layout.hf(cfg, "hidden_dropout_prob", 0.1))
    part = {role: f"{name}.{module}" for role, module in layout.block.items()}
    queries = tl.FirstToken(keepdims=True, name=f"{name}.first_token")(x) if first_only else x
    query = dense(hidden, part["query"], "query")(queries)
    key = dense(hidden, part["key"], "key")(x)
    value = dense(hidden, part["value"], "value")(x)
    scores = tl.AttentionScores(heads, hidden // heads, name=f"{name}.attention.scores")([query, key])
    probabilities = tl.MaskedSoftmax(name=f"{name}.attention.softmax")([scores, bias])
    probabilities = keras.layers.Dropout(float(layout.hf(cfg, "attention_probs_dropout_prob", 0.1)),
                                         name=f"{name}.attention.dropout")(probabilities)
    context = tl.AttentionContext(heads, hidden // heads, name=f"{name}.attention.context")([probabilities, value])
    attended = dense(hidden, part["attention_output"], "attention_output")(context)
    attended = keras.layers.Dropout(dropout, name=f"{name}.attention.output.dropout")(attended)
    attended = keras.layers.Add(name=f"{name}.attention.residual")([attended, queries])
    attended = keras.layers.LayerNormalization(epsilon=eps, name=part["attention_norm"])(attended)
    inner = dense(int(layout.hf(cfg, "intermediate_size")), part["intermediate"], "intermediate")(attended)
    inner = keras.layers.Activation(_activation(layout.hf(cfg, "hidden_act"), "hidden_act"),
                                    name=f"{part['intermediate']}.activation")(inner)
    out = dense(hidden, part["output"], "output")(inner)
    out = keras.layers.Dropout(dropout, name=f"{part['output']}.dropout")(out)
    out = keras.layers.Add(name=f"{name}.output.residual")([out, attended])
    return keras.layers.LayerNormalization(epsilon=eps, name=part["output_norm"])(out)


def _head(x: Any, layout: Layout, cfg: Any, num_outputs: int, dense: DenseFactory, pooler: bool = True) -> Any:
    hidden = int(layout.hf(cfg, "hidden_size"))
    dropout = float(layout.hf(cfg, "classifier_dropout", layout.hf(cfg, "hidden_dropout_prob", 0.1)))
    act = _activation(layout.head_activation, "head activation")
    if layout.head == "pooler":
        if pooler:
            x = dense(hidden, f"{layout.prefix}.pooler.dense", "pooler")(x)
            x = keras.layers.Activation(act, name=f"{layout.prefix}.pooler.activation")(x)
        x = keras.layers.Dropout(dropout, name="classifier.dropout")(x)
        return keras.layers.Dense(num_outputs, name="classifier")(x)
    if layout.head == "pre_classifier":
        x = dense(hidden, "pre_classifier", "pooler")(x)
        x = keras.layers.Activation(act, name="pre_classifier.activation")(x)
        x = keras.layers.Dropout(dropout, name="classifier.dropout")(x)
        return keras.layers.Dense(num_outputs, name="classifier")(x)
    x = keras.layers.Dropout(dropout, name="classifier.dropout_in")(x)
    x = dense(hidden, "classifier.dense", "pooler")(x)
    x = keras.layers.Activation(act, name="classifier.activation")(x)
    x = keras.layers.Dropout(dropout, name="classifier.dropout")(x)
    return keras.layers.Dense(num_outputs, name="classifier.out_proj")(x)


# ------------------------------------------------------------------------------------------- weights
def _inner(layer: Any) -> Any:
    """The layer a TF-MOT wrapper (quantize or prune) holds, else the layer itself."""
    while hasattr(layer, "layer") and isinstance(getattr(layer, "layer"), keras.layers.Layer):
        layer = layer.layer
    return layer


def twin_variables(model: keras.Model) -> dict[str, tf.Variable]:
    """The twin's parameters by Hugging Face name (``bert.pooler.dense.weight``), wrappers looked through."""
    out: dict[str, tf.Variable] = {}
    for layer in model.layers:
        inner = _inner(layer)
        # By the variables' own names, from the outer layer: a TF-MOT wrapper replaces ``inner.kernel`` by its
        # quantized tensor and keeps the variable itself.
        for variable in layer.weights:
            attribute = variable.name.split("/")[-1].split(":")[0]
            if attribute in _PARAMETER:
                out[f"{inner.name}.{_PARAMETER[attribute]}"] = variable
    return out


def hf_variables(classifier: Any) -> dict[str, tf.Variable]:
    """The Hugging Face backbone's parameters by their PyTorch-style names."""
    from tfkit._compat import private

    convert = private("convert_tf_weight_name_to_pt_weight_name")
    backbone = classifier.backbone
    prefix = backbone.name + "/"
    return {convert(v.name, start_prefix_to_remove=prefix, tf_weight_shape=v.shape)[0]: v for v in backbone.weights}


def _copy(source: dict[str, Any], target: dict[str, tf.Variable], what: str) -> None:
    missing = sorted(set(target) - set(source))
    if missing:
        raise TwinMismatchError(f"Expected every weight of the {what} in its source. Received: {len(missing)} "
                                f"missing, e.g. {missing[:3]}.")
    for name, variable in target.items():
        value = source[name]
        value = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
        if tuple(value.shape) != tuple(variable.shape):
            raise TwinMismatchError(f"Expected {name} of shape {tuple(variable.shape)}. Received: {value.shape}.")
        variable.assign(value)


def functional_twin(classifier: Any, first_token_last_layer: bool = True, check: bool = True,
                    dense: DenseFactory | None = None, pooling: str = "first") -> keras.Model:
    """A Functional ``tf_keras`` model computing ``classifier``'s logits with the same weights.

    Args:
        classifier: a float32 :class:`~tfkit.TextClassifier` (BERT, RoBERTa, ELECTRA or DistilBERT).
        first_token_last_layer: compute the last encoder layer for ``[CLS]`` only (same logits, cheaper).
        check: compare the twin's logits with the classifier's on a few padded random inputs and raise
            :class:`TwinMismatchError` beyond :data:`TOLERANCE`.
        dense: builds the blocks' Dense layers (see :func:`build_twin`).
        pooling: ``"first"`` (the Hugging Face head) or ``"mean"`` (see the module docstring; not checked, as
            no Hugging Face model computes it).

    Raises:
        UnsupportedModelError: a family the twin does not cover.
        TwinMismatchError: the twin's logits differ from the classifier's.
    """
    twin = build_twin(classifier, first_token_last_layer, dense, pooling)
    _copy(hf_variables(classifier), twin_variables(twin), "Functional twin")
    if check and pooling == "first":
        difference = logit_difference(twin, classifier)
        if not difference <= TOLERANCE:
            raise TwinMismatchError(
                f"Expected the Functional twin's logits within {TOLERANCE} of the Hugging Face model's. "
                f"Received: max |difference| = {difference:.3g} ({classifier.backbone.config.model_type}). "
                "The twin does not reproduce this checkpoint's arithmetic; export it without QAT.")
    return twin


def write_back(twin: keras.Model, classifier: Any, weights: dict[str, Any] | None = None) -> Any:
    """A copy of ``classifier`` (a TextClassifier) carrying ``twin``'s weights, e.g. after training the twin.

    ``weights`` (by Hugging Face name) replace the twin's own where given (LoRA's merged kernels)."""
    from tfkit.models.text_classifier import TextClassifier

    copy = TextClassifier.from_hf_config(classifier.backbone.config, classifier.tokenizer, classifier.config)
    copy.predict_logits(["a"])  # builds every weight
    copy.set_weights(classifier.get_weights())
    copy.training_config = classifier.training_config
    source: dict[str, Any] = {**twin_variables(twin), **(weights or {})}
    _copy(source, hf_variables(copy), "Hugging Face model")
    return copy


def probe_inputs(classifier: Any, batch: int = 3, length: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    """Random token inputs with right padding (rows of length ``length``, ``length - 3``, ...)."""
    from tfkit.export.graph import input_names

    rng = np.random.default_rng(seed)
    vocab = classifier.backbone.config.vocab_size
    # No padding id inside the text (a tokenizer never puts one there; RoBERTa counts positions around its own).
    special = {classifier.tokenizer.pad_token_id}
    if layout_of(classifier).prefix == "roberta":
        special.add(_roberta_padding_id(classifier))
    ids = rng.integers(0, vocab, size=(batch, length)).astype(np.int32)
    ids[np.isin(ids, list(special))] = next(i for i in range(vocab) if i not in special)
    mask = np.ones((batch, length), np.int32)
    for row in range(1, batch):
        mask[row, max(2, length - 3 * row):] = 0
        ids[row, max(2, length - 3 * row):] = classifier.tokenizer.pad_token_id
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return {name: out[name] for name in input_names(classifier)}


def logit_difference(twin: keras.Model, classifier: Any, inputs: dict[str, np.ndarray] | None = None) -> float:
    """Largest |logit| difference between ``twin`` and ``classifier`` on ``inputs`` (default: :func:`probe_inputs`)."""
    inputs = inputs or probe_inputs(classifier)
    ours = np.asarray(twin(inputs, training=False), np.float64)
    theirs = np.asarray(classifier({k: tf.constant(v) for k, v in inputs.items()}, training=False), np.float64)
    return float(np.max(np.abs(ours - theirs)))
