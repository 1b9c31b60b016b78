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

from tfkit.export.config import Quantization
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
    outputs = {"logits": [None, classifier.config.num_outputs]}
    if fmt == "saved_model":
        outputs = {"serving_default": ["logits", "probabilities", "label|predicted|value"],
                   "classify_text": ["logits", "probabilities", "label|predicted|value"]}
    return {
        "file": path.name,
        "format": fmt,
        "quantization": quantization.value if quantization else "float32",
        "size_bytes": size_bytes(path),
        "inputs": {name: {"dtype": "int32", "shape": [None if fmt == "saved_model" else module.batch_size, None]}
                   for name in module.names},
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
    if quantization is not None and not quantization.padding_safe:
        return ("Calibrated on unpadded sentences: resize the inputs to [1, length] (or a batch of equal lengths) "
                "with attention_mask all ones; padding is not masked reliably in this variant.")
    return ("Resize the inputs to [batch, length] (batch as the inputs' shape says); pad with token 0 and "
            "attention_mask 0 (e.g. to a multiple of 8 tokens, so a few prepared shapes serve every length).")
