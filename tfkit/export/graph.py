"""The exported computation: token-id and raw-string serving functions around a classifier.

:class:`ServingModule` is a ``tf.Module`` that holds a float32 classifier and
exposes

* ``logits(input_ids, attention_mask[, token_type_ids])``: the model on token
  ids, shapes ``[batch_size, length]``, length dynamic and the batch fixed at
  ``batch_size`` (1 by default, as on a phone; ``None`` for any batch): what the
  TFLite converter takes;
* ``keras_logits(...)``: the unmodified Keras model on ``[batch, length]``, the
  reference every exported file is checked against;
* ``classify_text(text)``: raw strings in, tokenised in-graph with
  tensorflow-text's ``FastBertTokenizer`` built from the checkpoint's WordPiece
  vocabulary (same lower-casing, ``[CLS] ... [SEP]``, truncation to
  ``max_length``), label names and probabilities out.

Examples:
    >>> module = ServingModule(clf)                               # doctest: +SKIP
    >>> module.classify_text(tf.constant(["a great film"]))["label"]  # doctest: +SKIP
    <tf.Tensor: shape=(1,), dtype=string, numpy=array([b'positive'], dtype=object)>
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterable, Iterator

from tfkit._keras import keras, tf
from tfkit.data.task import TaskType
from tfkit.errors import UnsupportedModelError

TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def input_names(classifier: Any) -> tuple[str, ...]:
    """The token inputs the exported model takes, in a fixed order."""
    wants_types = "token_type_ids" in getattr(classifier.tokenizer, "model_input_names", ())
    accepted = set(classifier.accepted_inputs)
    names = ["input_ids", "attention_mask"]
    if wants_types and "token_type_ids" in accepted:
        names.append("token_type_ids")
    return tuple(names)


def wordpiece_vocab(tokenizer: Any) -> list[str] | None:
    """The checkpoint's WordPiece vocabulary in id order, or None for other tokenizers (BPE, SentencePiece)."""
    if type(tokenizer).__name__ not in {"BertTokenizerFast", "DistilBertTokenizerFast", "ElectraTokenizerFast",
                                        "MobileBertTokenizerFast"}:
        return None
    vocab = tokenizer.get_vocab()
    ordered = [""] * len(vocab)
    for token, index in vocab.items():
        ordered[index] = token
    return ordered


def lower_cases(tokenizer: Any) -> bool:
    """Whether the tokenizer lower-cases and strips accents (uncased BERT)."""
    import json

    state = json.loads(tokenizer.backend_tokenizer.normalizer.__getstate__()) if tokenizer.backend_tokenizer.normalizer else {}
    return bool(state.get("lowercase", getattr(tokenizer, "do_lower_case", False)))


@contextlib.contextmanager
def routed_calls(layers: Iterable[Any], call: Callable[..., Any]) -> Iterator[None]:
    """While open, each of ``layers`` runs ``call(layer, original_call, *args, **kwargs)`` instead of its call.

    Set on the instances, not the class: ``tf.saved_model.save`` leaves its own wrapper as an
    instance ``call`` on every Keras layer it saved, which would hide a class-level change.
    """
    layers = list(layers)
    previous = [(layer, vars(layer).get("call"), "call" in vars(layer)) for layer in layers]
    for layer in layers:
        layer.call = functools.partial(call, layer, layer.call)
    try:
        yield
    finally:
        for layer, before, had in previous:
            if had:
                layer.call = before
            else:
                del layer.call


def _layers_of(classifier: Any, kind: type) -> list[Any]:
    return [layer for layer in classifier.submodules if isinstance(layer, kind)]


def _layer_norm(layer: Any, original: Callable[..., tf.Tensor], inputs: tf.Tensor, *args: Any, **kwargs: Any) -> tf.Tensor:
    if list(layer.axis) not in ([-1], [inputs.shape.rank - 1]):
        return original(inputs, *args, **kwargs)
    mean = tf.reduce_mean(inputs, axis=-1, keepdims=True)
    centered = inputs - mean
    variance = tf.reduce_mean(centered * centered, axis=-1, keepdims=True)
    outputs = centered * tf.math.rsqrt(variance + layer.epsilon)
    if layer.scale:
        outputs = outputs * tf.cast(layer.gamma, outputs.dtype)
    if layer.center:
        outputs = outputs + tf.cast(layer.beta, outputs.dtype)
    return outputs


def portable_layer_norm(classifier: Any) -> contextlib.AbstractContextManager:
    """Traces LayerNormalization as mean, subtract, multiply, mean, rsqrt: the same arithmetic, but
    without TF's ``SquaredDifference``, whose TFLite kernel has no int16 version (int16x8 models that
    contain it abort at run time)."""
    return routed_calls(_layers_of(classifier, keras.layers.LayerNormalization), _layer_norm)


def _reshape(tensor: tf.Tensor, batch_of: tf.Tensor, *dims: int) -> tf.Tensor:
    """``tensor`` reshaped to ``[batch, *dims]``, the batch taken from ``batch_of``: a constant shape when
    the batch is static (a batch-1 graph), else read at run time."""
    batch = batch_of.shape[0]
    if batch is not None:
        return tf.reshape(tensor, [batch, *dims])
    return tf.reshape(tensor, tf.stack([tf.shape(batch_of)[0], *dims]))


def _flat_dense(layer: Any, original: Callable[..., tf.Tensor], inputs: tf.Tensor, *args: Any, **kwargs: Any) -> tf.Tensor:
    if inputs.shape.rank != 3 or inputs.shape[-1] is None or layer.kernel.dtype != inputs.dtype:
        return original(inputs, *args, **kwargs)
    outputs = tf.matmul(tf.reshape(inputs, [-1, inputs.shape[-1]]), layer.kernel)
    if layer.use_bias:
        outputs = tf.nn.bias_add(outputs, layer.bias)
    if layer.activation is not None:
        outputs = layer.activation(outputs)
    return _reshape(outputs, inputs, -1, layer.units)


def flat_dense(classifier: Any) -> contextlib.AbstractContextManager:
    """Traces ``Dense`` on ``[batch, length, features]`` inputs as reshape to 2-D, MatMul + bias,
    reshape back: the same arithmetic as Keras' ``tensordot``, without the dynamic shape
    bookkeeping (Shape/Gather/ReduceProd/Pack around every matmul) that tensordot leaves in a
    dynamic-length TFLite graph. With a fixed batch size both reshapes are constants."""
    return routed_calls(_layers_of(classifier, keras.layers.Dense), _flat_dense)


# Sequence-classification heads that read only the first token's final hidden state.
FIRST_TOKEN_HEADS = {"TFBertForSequenceClassification", "TFRobertaForSequenceClassification",
                     "TFElectraForSequenceClassification"}


def _last_bert_layer(backbone: Any) -> Any | None:
    """The last encoder layer of a BERT-layout backbone whose head reads the first token only, else None."""
    if type(backbone).__name__ not in FIRST_TOKEN_HEADS:
        return None
    main = getattr(backbone, getattr(backbone, "base_model_prefix", ""), None)
    layers = getattr(getattr(main, "encoder", None), "layer", None)
    if not layers:
        return None
    last = layers[-1]
    attention = getattr(last, "attention", None)
    parts = (getattr(attention, "self_attention", None), getattr(attention, "dense_output", None),
             getattr(last, "intermediate", None), getattr(last, "bert_output", None))
    if any(part is None for part in parts) or getattr(last, "is_decoder", False):
        return None
    return last


def _first_token_layer(layer: Any, original: Callable[..., tuple], hidden_states: tf.Tensor,
                       attention_mask: tf.Tensor, head_mask: tf.Tensor, *args: Any, **kwargs: Any) -> tuple:
    output_attentions = kwargs.get("output_attentions", args[3] if len(args) > 3 else False)
    if output_attentions or head_mask is not None:
        return original(hidden_states, attention_mask, head_mask, *args, **kwargs)
    heads = layer.attention.self_attention

    def split(tensor: tf.Tensor) -> tf.Tensor:
        return tf.transpose(_reshape(tensor, hidden_states, -1, heads.num_attention_heads, heads.attention_head_size),
                            [0, 2, 1, 3])

    first = hidden_states[:, :1]
    query = split(heads.query(first))
    key = split(heads.key(hidden_states))
    value = split(heads.value(hidden_states))
    scores = tf.matmul(query, key, transpose_b=True) / tf.cast(heads.sqrt_att_head_size, hidden_states.dtype)
    if attention_mask is not None:
        scores = scores + attention_mask
    context = tf.transpose(tf.matmul(tf.nn.softmax(scores, axis=-1), value), [0, 2, 1, 3])
    context = _reshape(context, hidden_states, 1, heads.all_head_size)
    attended = layer.attention.dense_output(hidden_states=context, input_tensor=first, training=False)
    output = layer.bert_output(hidden_states=layer.intermediate(hidden_states=attended), input_tensor=attended,
                               training=False)
    return (output,)


def first_token_last_layer(classifier: Any) -> contextlib.AbstractContextManager:
    """Traces the last encoder layer for the first token ([CLS]) only.

    A sequence-classification head reads just the first token of the last layer, so that
    layer needs keys and values for every token but queries, attention output and
    feed-forward for one: the logits are unchanged and the layer costs about a fifth.
    Applies to BERT-layout encoders (BERT, MiniLM, RoBERTa, ELECTRA); other models are
    traced unchanged."""
    last = _last_bert_layer(classifier.backbone)
    return routed_calls([last] if last is not None else [], _first_token_layer)


class InGraphTokenizer(tf.Module):
    """WordPiece tokenisation of raw strings inside the graph (tensorflow-text ``FastBertTokenizer``)."""

    def __init__(self, tokenizer: Any, max_length: int, with_token_types: bool):
        super().__init__(name="tokenizer")
        import tensorflow_text as tf_text

        vocab = wordpiece_vocab(tokenizer)
        if vocab is None:
            raise UnsupportedModelError(
                f"In-graph tokenisation needs a WordPiece tokenizer. Received: {type(tokenizer).__name__}. "
                "Export without the raw-string signature (raw_strings=False) and tokenise on the device."
            )
        self.lower_case = lower_cases(tokenizer)
        self._tokenizer = tf_text.FastBertTokenizer(
            vocab=vocab, suffix_indicator="##", token_out_type=tf.int32, unknown_token=tokenizer.unk_token,
            lower_case_nfd_strip_accents=self.lower_case,
        )
        self._cls = tokenizer.cls_token_id
        self._sep = tokenizer.sep_token_id
        self._pad = tokenizer.pad_token_id
        self.max_length = max_length
        self._with_types = with_token_types

    def __call__(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        pieces = self._tokenizer.tokenize(text)[:, : self.max_length - 2]
        batch = tf.shape(pieces.row_lengths(), out_type=tf.int64)[0]
        cls = tf.fill([batch, 1], tf.constant(self._cls, tf.int32))
        sep = tf.fill([batch, 1], tf.constant(self._sep, tf.int32))
        ids = tf.concat([cls, pieces, sep], axis=1)
        out = {
            "input_ids": ids.to_tensor(default_value=self._pad),
            "attention_mask": tf.ones_like(ids).to_tensor(default_value=0),
        }
        if self._with_types:
            out["token_type_ids"] = tf.zeros_like(ids).to_tensor(default_value=0)
        return out

    def single(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """Dense ``[1, length]`` features of one string (shape ``[1]``), built from the tokens'
        ``flat_values`` with slice and concat only: no ragged ops, so a TFLite file of it holds just
        the tokenizer's custom ops beside builtins, and the length stays each text's own."""
        pieces = self._tokenizer.tokenize(text).flat_values[: self.max_length - 2]
        ids = tf.concat([tf.constant([self._cls], tf.int32), pieces, tf.constant([self._sep], tf.int32)],
                        axis=0)[tf.newaxis]
        out = {"input_ids": ids, "attention_mask": tf.ones_like(ids)}
        if self._with_types:
            out["token_type_ids"] = tf.zeros_like(ids)
        return out


class ServingModule(tf.Module):
    """A float32 classifier with token-id and raw-string serving functions."""

    def __init__(self, classifier: Any, raw_strings: bool = True, batch_size: int | None = 1):
        super().__init__(name="tfkit_classifier")
        # The Keras model stays out of the object graph: saving it would trace every layer's call for Keras'
        # own SavedModel metadata (about 10 s a save on a tiny model, and every TFLite conversion saves).
        # What the functions capture is its variables, tracked here as a plain list.
        object.__setattr__(self, "classifier", classifier)
        self.model_variables = list(classifier.variables)
        self.names = input_names(classifier)
        self.task = classifier.config.task
        self.batch_size = batch_size
        self.label_names = tf.constant(list(classifier.config.labels) or ["value"])
        specs = [tf.TensorSpec([None, None], tf.int32, name=name) for name in self.names]
        with_types = "token_type_ids" in self.names
        self.logits = tf.function(self._logits3 if with_types else self._logits2, input_signature=[
            tf.TensorSpec([batch_size, None], tf.int32, name=name) for name in self.names])
        self.keras_logits = tf.function(self._keras_logits, input_signature=specs)
        self.tokenizer = None
        if raw_strings:
            self.tokenizer = InGraphTokenizer(classifier.tokenizer, classifier.config.max_length,
                                              "token_type_ids" in self.names)
            self.classify_text = tf.function(self._classify_text,
                                             input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        self.serving_default = tf.function(self._serving3 if with_types else self._serving2, input_signature=specs)

    # Named arguments, because TFLite and SavedModel signatures take their input names from them.
    def _logits2(self, input_ids: tf.Tensor, attention_mask: tf.Tensor) -> dict[str, tf.Tensor]:
        return self._logits(input_ids, attention_mask)

    def _logits3(self, input_ids: tf.Tensor, attention_mask: tf.Tensor, token_type_ids: tf.Tensor) -> dict:
        return self._logits(input_ids, attention_mask, token_type_ids)

    def _serving2(self, input_ids: tf.Tensor, attention_mask: tf.Tensor) -> dict[str, tf.Tensor]:
        return self._outputs(self._logits(input_ids, attention_mask)["logits"])

    def _serving3(self, input_ids: tf.Tensor, attention_mask: tf.Tensor, token_type_ids: tf.Tensor) -> dict:
        return self._outputs(self._logits(input_ids, attention_mask, token_type_ids)["logits"])

    def _logits(self, *tensors: tf.Tensor) -> dict[str, tf.Tensor]:
        inputs = dict(zip(self.names, tensors))
        # The rewrites run while the function is traced; the arithmetic stays the model's own.
        with portable_layer_norm(self.classifier), flat_dense(self.classifier), \
                first_token_last_layer(self.classifier):
            return {"logits": self.classifier(inputs, training=False)}

    def _keras_logits(self, *tensors: tf.Tensor) -> tf.Tensor:
        return self.classifier(dict(zip(self.names, tensors)), training=False)

    def _outputs(self, logits: tf.Tensor) -> dict[str, tf.Tensor]:
        if self.task is TaskType.SINGLE_LABEL:
            probabilities = tf.nn.softmax(logits)
            return {"logits": logits, "probabilities": probabilities,
                    "label": tf.gather(self.label_names, tf.argmax(probabilities, axis=-1))}
        if self.task is TaskType.MULTI_LABEL:
            probabilities = tf.sigmoid(logits)
            return {"logits": logits, "probabilities": probabilities,
                    "predicted": probabilities >= self.classifier.config.threshold}
        return {"logits": logits, "value": logits[:, 0]}

    def _classify_text(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        features = self.tokenizer(text)
        return self._outputs(self._logits(*(features[name] for name in self.names))["logits"])

    def concrete_logits(self) -> Any:
        """The token-id function as a concrete function (what the TFLite converter takes)."""
        return self.logits.get_concrete_function()

    def signatures(self) -> dict[str, Any]:
        out = {"serving_default": self.serving_default.get_concrete_function()}
        if self.tokenizer is not None:
            out["classify_text"] = self.classify_text.get_concrete_function()
        return out
