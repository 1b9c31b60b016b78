"""The computations of the app-ready TFLite files: raw text in, and MediaPipe Tasks' three token inputs.

Both wrap a :class:`~tfkit.export.graph.ServingModule` (so the encoder is traced with the same
rewrites as every other exported file) and take one example at a time, as an app does:

* :class:`RawTextGraph`: a ``[1]`` string tensor in, WordPiece tokenisation inside the file
  (tensorflow-text's ``FastBertTokenizer``: only its ``FastBertNormalize`` and
  ``FastWordpieceTokenize`` custom ops beside builtin ops; the dense ``flat_values`` of one
  string, so no ragged ops), and ``logits``, ``scores`` (softmax, or sigmoid for multi-label),
  ``label_index`` and ``label`` (the label's name, a string) out; the integer-only ``qat_int8`` file
  leaves out the last two (their argmax would read the float logits). The sequence length stays
  dynamic: no padding.
* :class:`MediaPipeGraph`: ``input_ids``, ``attention_mask``, ``token_type_ids`` (``[1, length]``)
  in, ``scores`` out: MediaPipe's ``TextClassifier`` tokenises in its own code and reports the
  model's raw output as the scores, so the softmax is in the graph. MediaPipe neither pads nor
  truncates a dynamic-length input, so the graph keeps at most ``max_length`` tokens itself (the
  first ``max_length - 1`` and the final ``[SEP]``, as the HF tokenizer truncates): a text of any
  length gets a result.

Examples:
    >>> graph = RawTextGraph(ServingModule(clf))                         # doctest: +SKIP
    >>> graph.text_scores(tf.constant(["a great film"]))["label"]         # doctest: +SKIP
    <tf.Tensor: shape=(1,), dtype=string, numpy=array([b'positive'], dtype=object)>
"""

from __future__ import annotations

from typing import Any

from tfkit._keras import tf
from tfkit.data.task import TaskType
from tfkit.errors import UnsupportedModelError

MEDIAPIPE_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def edge_outputs(module: Any, logits: tf.Tensor, with_label: bool = True) -> dict[str, tf.Tensor]:
    """What the raw-text file returns for ``logits``: scores, and for single-label tasks the label (unless not
    ``with_label``: an integer-only file leaves the argmax to the app, since it would read the float logits)."""
    task = module.task
    if task is TaskType.SINGLE_LABEL and not with_label:
        return {"logits": logits, "scores": tf.nn.softmax(logits)}
    if task is TaskType.SINGLE_LABEL:
        index = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {"logits": logits, "scores": tf.nn.softmax(logits), "label_index": index,
                "label": tf.gather(module.label_names, index)}
    if task is TaskType.MULTI_LABEL:
        return {"logits": logits, "scores": tf.sigmoid(logits)}
    return {"logits": logits, "value": logits[:, 0]}


class RawTextGraph(tf.Module):
    """One string in, class scores and label out, tokenised inside the graph."""

    def __init__(self, module: Any, with_label: bool = True):
        super().__init__(name="tfkit_raw_text")
        if module.tokenizer is None:
            raise UnsupportedModelError(
                "A raw-text file needs the in-graph WordPiece tokenizer. Received: a ServingModule built "
                "with raw_strings=False or a non-WordPiece tokenizer "
                f"({type(module.classifier.tokenizer).__name__}). Export the token-id files instead.")
        self.module = module
        self.with_label = with_label
        self.text_scores = tf.function(self._text_scores,
                                       input_signature=[tf.TensorSpec([1], tf.string, name="text")])

    def _text_scores(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        features = self.module.tokenizer.single(text)
        logits = self.module._logits(*(features[name] for name in self.module.names))["logits"]
        return edge_outputs(self.module, logits, self.with_label)

    def concrete(self) -> Any:
        return self.text_scores.get_concrete_function()


def keep_max_length(tensor: tf.Tensor, max_length: int) -> tf.Tensor:
    """The first ``max_length - 1`` tokens and the last one of a ``[1, length]`` tensor (all of it when
    it is not longer than ``max_length``): truncation that keeps the final ``[SEP]``."""
    length = tf.shape(tensor)[1]
    keep = tf.minimum(length, max_length)
    return tf.concat([tensor[:, :keep - 1], tensor[:, length - 1:]], axis=1)


class MediaPipeGraph(tf.Module):
    """The three token inputs MediaPipe's BERT text classifier feeds, softmax scores out."""

    def __init__(self, module: Any):
        super().__init__(name="tfkit_mediapipe")
        if module.task is not TaskType.SINGLE_LABEL:
            raise UnsupportedModelError(
                "MediaPipe Tasks' TextClassifier reports one score per category (single-label). Received: "
                f"task={module.task.value}. Use the raw-text or token-id TFLite files for this task.")
        self.module = module
        self.max_length = module.classifier.config.max_length
        self.scores = tf.function(self._scores, input_signature=[
            tf.TensorSpec([1, None], tf.int32, name=name) for name in MEDIAPIPE_INPUTS])

    def _scores(self, input_ids: tf.Tensor, attention_mask: tf.Tensor, token_type_ids: tf.Tensor) -> dict:
        given = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        kept = {name: keep_max_length(value, self.max_length) for name, value in given.items()}
        logits = self.module._logits(*(kept[name] for name in self.module.names))["logits"]
        return {"scores": tf.nn.softmax(logits)}

    def concrete(self) -> Any:
        return self.scores.get_concrete_function()
