"""The files that travel with every exported model: labels, vocabulary and a JSON manifest.

A device app needs, beside the model, the label names in output order, the
WordPiece vocabulary and how to build the inputs (names, max length,
lower-casing, special tokens). The manifest records that and what verification
measured (accuracy, agreement with Keras, latency).

Examples:
    >>> manifest_for(module, path, "tflite", Quantization.DYNAMIC_INT8, check, {})["quantization"]  # doctest: +SKIP
    'dynamic_int8'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfkit.data.task import TaskType
from tfkit.export.config import Quantization
from tfkit.export.edge_graphs import MEDIAPIPE_INPUTS
from tfkit.export.graph import lower_cases, wordpiece_vocab


def write_side_files(folder: Path, module: Any) -> None:
    """``labels.txt`` (output order) and ``vocab.txt`` (WordPiece, id order) in ``folder``."""
    labels = module.classifier.config.labels or ("value",)
    (folder / "labels.txt").write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
    vocab = wordpiece_vocab(module.classifier.tokenizer)
    if vocab is not None:
        (folder / "vocab.txt").write_text("".join(f"{token}\n" for token in vocab), encoding="utf-8")
    else:  # BPE/SentencePiece: ship the tokenizer's own files
        module.classifier.tokenizer.save_pretrained(str(folder / "tokenizer"))


def size_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def manifest_for(module: Any, path: Path, fmt: str, quantization: Quantization | None, check: Any,
                 extra: dict[str, Any]) -> dict[str, Any]:
    """The JSON manifest of one exported file."""
    classifier = module.classifier
    tokenizer = classifier.tokenizer
    width = classifier.config.num_outputs
    outputs: dict[str, Any] = {"logits": [None, width]}
    inputs: dict[str, Any] = {name: {"dtype": "int32", "shape": [None if fmt == "saved_model" else module.batch_size, None]}
                              for name in module.names}
    if fmt == "saved_model":
        outputs = {"serving_default": ["logits", "probabilities", "label|predicted|value"],
                   "classify_text": ["logits", "probabilities", "label|predicted|value"]}
    elif fmt == "raw_text_tflite":
        inputs = {"text": {"dtype": "string", "shape": [1]}}
        outputs = {"logits": [1, width], "scores": [1, width], "label_index": [1], "label": [1]}
        if quantization is Quantization.QAT_INT8:
            outputs = {"logits": [1, width], "scores": [1, width]}  # integer-only: the argmax is the app's
        if classifier.config.task is TaskType.REGRESSION:
            outputs = {"logits": [1, width], "value": [1]}
        elif classifier.config.task is TaskType.MULTI_LABEL:
            outputs = {"logits": [1, width], "scores": [1, width]}
    elif fmt == "mediapipe":
        inputs = {name: {"dtype": "int32", "shape": [1, None]} for name in MEDIAPIPE_INPUTS}
        outputs = {"scores": [1, width]}
    return {
        "file": path.name,
        "format": fmt,
        "quantization": quantization.value if quantization else "float32",
        "size_bytes": size_bytes(path),
        "inputs": inputs,
        "outputs": outputs,
        "task": classifier.config.task.value,
        "labels": list(classifier.config.labels),
        "max_length": classifier.config.max_length,
        "tokenizer": {
            "type": type(tokenizer).__name__,
            "lower_case": lower_cases(tokenizer),
            "cls_token": tokenizer.cls_token, "sep_token": tokenizer.sep_token,
            "pad_token_id": tokenizer.pad_token_id, "unk_token": tokenizer.unk_token,
            "vocab_file": "vocab.txt" if wordpiece_vocab(tokenizer) is not None else "tokenizer/",
        },
        "usage": _usage(fmt, quantization),
        "source_checkpoint": classifier.config.checkpoint,
        "verification": check.to_dict(),
        **extra,
    }


def _usage(fmt: str, quantization: Quantization | None) -> str:
    if fmt == "saved_model":
        return "tf.saved_model.load(path); import tensorflow_text first to call classify_text."
    if fmt == "raw_text_tflite":
        return ("One string in (signature input 'text', shape [1]), tokenised inside the file: run it on LiteRT's "
                "InterpreterWithCustomOps with tensorflow_text.core.pybinds.tflite_registrar's AddFastBertNormalize "
                "and AddFastWordpieceTokenize (tfkit.export.RawTextLiteRTModel), or link TF-Text's TFLite kernels "
                "into the app.")
    if fmt == "mediapipe":
        return ("MediaPipe Tasks TextClassifier (Android, iOS, Web, Python): create_from_model_path(path); it reads "
                "the vocabulary and label names from the file's metadata and tokenises itself (ASCII lower-casing "
                "only: strip accents first for the same labels as the uncased Python tokenizer).")
    if quantization is not None and not quantization.padding_safe:
        return ("Calibrated on unpadded sentences: resize the inputs to [1, length] (or a batch of equal lengths) "
                "with attention_mask all ones; padding is not masked reliably in this variant.")
    return ("Resize the inputs to [batch, length] (batch as the inputs' shape says); pad with token 0 and "
            "attention_mask 0 (e.g. to a multiple of 8 tokens, so a few prepared shapes serve every length).")
