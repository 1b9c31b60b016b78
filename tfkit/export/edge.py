"""App-ready TFLite files beside each token-id variant: raw text in, and MediaPipe Tasks models.

For every accepted TFLite variant ``<q>`` :func:`tfkit.export` also writes (when the checkpoint's
tokenizer is WordPiece and the task takes one text)

* ``tflite/model_<q>_text.tflite``: one string in (``text``, shape ``[1]``), ``logits``, ``scores``,
  ``label_index`` and ``label`` (the name) out, WordPiece inside (:class:`~tfkit.export.edge_graphs.RawTextGraph`).
  Run it on LiteRT's ``InterpreterWithCustomOps`` with tensorflow-text's registrars
  (:class:`~tfkit.export.runtime.RawTextLiteRTModel`); on Android/iOS link tensorflow-text's
  FastBertNormalize/FastWordpieceTokenize kernels. The encoder is the same as the token-id
  file's: the same quantization, the same choice of float ops for ``full_int8``.
* ``mediapipe/model_<q>.tflite``: MediaPipe Tasks' ``TextClassifier`` model (three token inputs,
  softmax scores, and MediaPipe's metadata: vocabulary, tokenizer, label names), which MediaPipe
  tokenises itself on Android, iOS, Web and Python (single-label tasks).

Each file is run on the validation texts before it is kept; its record holds the agreement with
the token-id file fed by tfkit's Python tokenizer, the agreement with Keras, the accuracy and the
batch-1 latency including tokenisation. A model that cannot get a file gets a ``not_written``
reason instead (no exception): BPE/SentencePiece tokenizers, sentence pairs, non-classification
tasks for MediaPipe.

Examples:
    >>> arts = tfkit.export(clf, "out", validation=val)                          # doctest: +SKIP
    >>> RawTextLiteRTModel(arts.file("dynamic_int8_text")).classify("great fun")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tfkit._io import atomic_write_json
from tfkit.data.task import TaskType
from tfkit.errors import TfkitError
from tfkit.export.artifacts import Variant
from tfkit.export.config import Quantization
from tfkit.export.edge_graphs import MEDIAPIPE_INPUTS, MediaPipeGraph, RawTextGraph
from tfkit.export.graph import wordpiece_vocab
from tfkit.export.manifest import manifest_for, write_side_files
from tfkit.export.ops import op_table
from tfkit.export.runtime import LiteRTModel, RawTextLiteRTModel, smoke_test
from tfkit.export.tflite import convert
from tfkit.export.verify import Check, ValidationSet, evaluate_model

NOT_WORDPIECE = ("the checkpoint's tokenizer is not WordPiece (RoBERTa BPE, ALBERT/XLM-R SentencePiece): "
                 "tensorflow-text has no in-graph tokenizer tfkit can build for it, and MediaPipe Tasks' "
                 "text classifier tokenises BERT WordPiece (or SentencePiece with its own metadata) only. "
                 "Use the token-id files with the tokenizer files in tokenizer/.")
PAIR_TEXT = ("sentence-pair models take two texts: the raw-text and MediaPipe files take one. Use the "
             "token-id files (tokenise both texts with vocab.txt, [CLS] a [SEP] b [SEP], token_type_ids 0/1).")


def edge_reason(module: Any, pairs: bool) -> str | None:
    """Why no app-ready file can be written for this model, or None."""
    if pairs:
        return PAIR_TEXT
    if module.tokenizer is None:
        return NOT_WORDPIECE
    return None


def raw_text_variant(module: Any, tmp: Path, quantization: Quantization, ids: Variant,
                     calibration_texts: Sequence[str] | None, validation: ValidationSet, num_threads: int,
                     log: Callable[[str], None], float_tensors: Sequence[str] = ()) -> Variant:
    """Writes ``tflite/model_<q>_text.tflite`` and checks it on the validation texts (calibrated variants
    are calibrated on ``calibration_texts``, the token-id file's representative examples)."""
    graph = RawTextGraph(module, with_label=quantization is not Quantization.QAT_INT8)  # integer-only: no argmax
    path = tmp / "tflite" / f"model_{quantization.value}_text.tflite"
    log(f"Converting {path.name} (raw text in, WordPiece inside)")
    text_samples = None if calibration_texts is None else \
        [{"text": np.array([text], dtype=object)} for text in calibration_texts]
    if float_tensors:
        flatbuffer = _keeping_float(graph, quantization, text_samples, float_tensors)
    else:
        flatbuffer = convert(graph, quantization, text_samples, function=graph.concrete(), custom_ops=True)
    path.write_bytes(flatbuffer)
    smoke_test(path, raw_text=True)
    model = RawTextLiteRTModel(path, num_threads)
    check = evaluate_model(model, validation, path.name)
    extra = _agreements(model, tmp / ids.path, validation, num_threads)
    extra["integer_only"] = op_table(path, model.fresh_interpreter()).summary()
    extra["encoder_of"] = ids.name
    manifest = manifest_for(module, path, "raw_text_tflite", quantization, check, extra)
    atomic_write_json(path.with_suffix(".json"), manifest)
    return Variant(f"{quantization.value}_text", "raw_text_tflite", str(path.relative_to(tmp)),
                   manifest["size_bytes"], check, ids.status, extra)


def mediapipe_variant(module: Any, tmp: Path, quantization: Quantization, ids: Variant, samples: Any,
                      validation: ValidationSet, num_threads: int, log: Callable[[str], None],
                      float_tensors: Sequence[str] = ()) -> Variant | str:
    """Writes ``mediapipe/model_<q>.tflite`` (MediaPipe metadata inside); a reason string when it cannot."""
    if module.task is not TaskType.SINGLE_LABEL:
        return f"MediaPipe Tasks' TextClassifier is single-label; this model is {module.task.value}."
    folder = tmp / "mediapipe"
    folder.mkdir(exist_ok=True)
    write_side_files(folder, module)
    path = folder / f"model_{quantization.value}.tflite"
    log(f"Converting mediapipe/{path.name} (MediaPipe Tasks TextClassifier)")
    write_mediapipe_file(module, path, quantization, samples, float_tensors)
    smoke_test(path)
    model = ScoresAsLogits(LiteRTModel(path, num_threads))
    check = evaluate_model(model, validation, f"mediapipe/{path.name}")
    extra = _agreements(model, tmp / ids.path, validation, num_threads)
    extra["integer_only"] = op_table(path).summary()
    extra["encoder_of"] = ids.name
    extra["note"] = ("checked on LiteRT with tfkit's Python tokenizer (max_abs_logit_diff compares log-softmax "
                     "values); MediaPipe Tasks' own run (its tokenizer) is measured by tfkit bench and the edge "
                     "benchmark")
    manifest = manifest_for(module, path, "mediapipe", quantization, check, extra)
    atomic_write_json(path.with_suffix(".json"), manifest)
    return Variant(f"{quantization.value}_mediapipe", "mediapipe", str(path.relative_to(tmp)),
                   manifest["size_bytes"], check, ids.status, extra)


def write_mediapipe_file(module: Any, path: str | Path, quantization: Quantization = Quantization.FLOAT32,
                         samples: Any = None, float_tensors: Sequence[str] = ()) -> Path:
    """Converts :class:`~tfkit.export.edge_graphs.MediaPipeGraph` of ``module`` and writes it with MediaPipe's
    text-classifier metadata (vocabulary, BERT tokenizer, label names) to ``path``.

    Examples:
        >>> write_mediapipe_file(ServingModule(clf), "classifier.tflite")    # doctest: +SKIP
        PosixPath('classifier.tflite')
    """
    from tfkit.export.mediapipe_metadata import with_text_classifier_metadata

    graph = MediaPipeGraph(module)
    token_samples = None if samples is None else [_three_inputs(s) for s in samples]
    if float_tensors:
        flatbuffer = _keeping_float(graph, quantization, token_samples, float_tensors)
    else:
        flatbuffer = convert(graph, quantization, token_samples, function=graph.concrete())
    config = module.classifier.config
    flatbuffer = with_text_classifier_metadata(
        flatbuffer, vocab=wordpiece_vocab(module.classifier.tokenizer), labels=list(config.labels),
        name=f"tfkit {config.checkpoint} ({quantization.value})",
        description="Text classifier exported by tfkit: BERT WordPiece tokenizer, softmax scores per label.")
    path = Path(path)
    path.write_bytes(flatbuffer)
    return path


class ScoresAsLogits:
    """A MediaPipe file's softmax scores as log-probabilities, so label checks read them as logits (and
    :func:`~tfkit.export.verify.evaluate_model` compares them with the Keras model's log-softmax)."""

    log_probabilities = True

    def __init__(self, model: LiteRTModel):
        self.model = model

    def __call__(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return np.log(np.maximum(self.model(_three_inputs(features)), 1e-30))


def _three_inputs(sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = dict(sample)
    out.setdefault("token_type_ids", np.zeros_like(sample["input_ids"]))
    return {name: out[name] for name in MEDIAPIPE_INPUTS}


def _agreements(model: Any, ids_path: Path, validation: ValidationSet, num_threads: int) -> dict[str, Any]:
    """Label agreement with the token-id file of the same variant (fed by tfkit's Python tokenizer)."""
    from tfkit.export.verify import measure

    ours, _ = measure(model, validation)
    theirs, _ = measure(LiteRTModel(ids_path, num_threads), validation)
    same = validation.predictions(ours) == validation.predictions(theirs)
    return {"agreement_with_ids_file": float(np.mean(same if same.ndim == 1 else np.all(same, axis=1)))}


def _keeping_float(graph: Any, quantization: Quantization, samples: Any, float_tensors: Sequence[str]) -> bytes:
    """The selective full-int8 choice of the token-id file, replayed on this graph (same tensor names)."""
    from tfkit.export.selective import quantize_keeping_float

    try:
        return quantize_keeping_float(graph, samples, float_tensors, quantization=quantization,
                                      function=graph.concrete(), custom_ops=isinstance(graph, RawTextGraph))
    except Exception as error:  # the debugger raises several unrelated types
        raise EdgeFileError(f"Could not replay full_int8's float ops on {type(graph).__name__}: {error}") from error


class EdgeFileError(TfkitError, RuntimeError):
    """An app-ready file could not be produced for a variant."""
