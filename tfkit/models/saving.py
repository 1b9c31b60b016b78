"""The tfkit model directory: HF weights + tokenizer + labels + configs + card.

Layout::

    config.json, tf_model.h5       the backbone, readable by transformers' from_pretrained
    tokenizer files, vocab.txt     the checkpoint's tokenizer
    labels.txt                     one class name per line, in output order
    tfkit.json                     classifier and training configs, fit record, metrics
    README.md                      a short model card
    checksums.json                 SHA-256 and size of every other file (``tfkit verify``)

Examples:
    >>> clf.save_pretrained("saved_models/reviews")          # doctest: +SKIP
    >>> TextClassifier.load("saved_models/reviews")          # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from tfkit._io import atomic_directory, atomic_write_json
from tfkit.errors import CheckpointError
from tfkit.integrity import check_weight_files, write_checksums
from tfkit.models.config import ClassifierConfig, TrainingConfig

FORMAT = "tfkit.text_classifier"
FORMAT_VERSION = 1
MANIFEST = "tfkit.json"


def save_classifier(model: Any, path: str | os.PathLike, overwrite: bool = False, metrics: dict | None = None,
                    extra: Callable[[Path], Any] | None = None) -> Path:
    """Writes ``model`` to ``path`` through a temporary directory renamed into place.

    ``extra(folder)`` writes further files into the folder before its checksums (a LoRA adapter).

    The folder's ``checksums.json`` is computed over the temporary directory just before
    the rename. A full disk raises :class:`~tfkit.errors.DiskFullError` and leaves an
    existing ``path`` as it was.
    """
    path = Path(path)
    with atomic_directory(path, overwrite=overwrite) as tmp:
        model.backbone.save_pretrained(str(tmp))
        model.tokenizer.save_pretrained(str(tmp))
        (tmp / "labels.txt").write_text("".join(f"{label}\n" for label in model.config.labels), encoding="utf-8")
        manifest = manifest_of(model, metrics)
        atomic_write_json(tmp / MANIFEST, manifest)
        (tmp / "README.md").write_text(_model_card(model, manifest), encoding="utf-8")
        if extra is not None:
            extra(tmp)
        write_checksums(tmp)
    return path


def manifest_of(model: Any, metrics: dict | None = None) -> dict[str, Any]:
    """The ``tfkit.json`` of ``model``: format, configs, fit record, metrics."""
    from tfkit import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tfkit_version": __version__,
        "classifier": model.config.to_dict(),
        "training": model.training_config.to_dict(),
        "fit": model.fit_record,
        "metrics": metrics or {},
    }


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The ``tfkit.json`` of a saved model directory, checked."""
    path = Path(path)
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        raise CheckpointError(
            f"'{path}' is not a tfkit model directory ({MANIFEST} missing). "
            "Use TextClassifier.from_pretrained for a Hugging Face checkpoint."
        )
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{manifest_file}: unsupported format {manifest.get('format')!r} v{manifest.get('format_version')}."
        )
    return manifest


def load_classifier(cls: Any, path: str | os.PathLike, **overrides: Any) -> Any:
    """Rebuilds a classifier saved by :func:`save_classifier`."""
    from transformers import TFAutoModelForSequenceClassification

    from tfkit.models.checkpoint import load_tokenizer, quiet_transformers
    from tfkit.models.text_classifier import dtype_policy

    manifest = read_manifest(path)
    if manifest.get("kind") == "quantization_aware":  # the fake-quantized Functional twin (tfkit.quantize_aware)
        from tfkit.optimize.qat import load_quantized

        return load_quantized(path, manifest, **overrides)
    check_weight_files(path, names=("tf_model.h5",))  # refuses a renamed pickle or a pickle-only folder
    config = ClassifierConfig.from_dict({**manifest["classifier"], **overrides})
    with dtype_policy(config.precision), quiet_transformers():
        backbone = TFAutoModelForSequenceClassification.from_pretrained(
            str(path), use_safetensors=False, local_files_only=True
        )
        model = cls(backbone, load_tokenizer(path), config)
    model.training_config = TrainingConfig.from_dict(manifest["training"])
    model.fit_record = manifest.get("fit", {})
    return model


def _model_card(model: Any, manifest: dict[str, Any]) -> str:
    cfg = model.config
    hf = model.hf_config
    lines = [
        "# tfkit text classifier",
        "",
        f"- task: {cfg.task.value}",
        f"- labels: {', '.join(cfg.labels) if cfg.labels else '(regression)'}",
        f"- base checkpoint: {cfg.checkpoint or 'unknown'} ({hf.model_type}, {hf.num_hidden_layers} layers, "
        f"hidden {getattr(hf, 'hidden_size', '?')})",
        f"- max sequence length: {cfg.max_length}",
        f"- trained: {manifest['fit'].get('epochs', 0)} epoch(s), learning rate {model.training_config.learning_rate}",
    ]
    if manifest["metrics"]:
        lines.append("- metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in manifest["metrics"].items()
                                               if isinstance(v, (int, float))))
    lines += [
        "",
        "Load with `tfkit.TextClassifier.load(path)`, or the backbone alone with transformers'",
        "`TFAutoModelForSequenceClassification.from_pretrained(path)`.",
        "",
    ]
    return "\n".join(lines)
