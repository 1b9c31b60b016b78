"""The tfkit model directory: HF weights + tokenizer + labels + configs + card.

Layout::

    config.json, tf_model.h5       the backbone, readable by transformers' from_pretrained
    model.safetensors              (``pytorch_weights=True``) the same weights under PyTorch names, so
                                   PyTorch transformers loads the folder without TensorFlow installed
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
                    extra: Callable[[Path], Any] | None = None, pytorch_weights: bool = False) -> Path:
    """Writes ``model`` to ``path`` through a temporary directory renamed into place.

    ``extra(folder)`` writes further files into the folder before its checksums (a LoRA adapter);
    ``pytorch_weights`` adds ``model.safetensors`` (:func:`save_pytorch_weights`).

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
        if pytorch_weights:
            save_pytorch_weights(model, tmp)
        if extra is not None:
            extra(tmp)
        write_checksums(tmp)
    return path


def pytorch_state(backbone: Any, strip_prefix: bool = False) -> dict[str, Any]:
    """A Hugging Face TF model's weights as a PyTorch ``state_dict`` of numpy arrays: PyTorch names
    (transformers' own TF-to-PyTorch naming), Dense kernels transposed to ``[out, in]``. With
    ``strip_prefix`` the base model's prefix (``bert.``) is left off, as in a bare encoder checkpoint."""
    import numpy as np

    from tfkit._compat import convert_tf_weight_name_to_pt_weight_name

    prefix = f"{backbone.base_model_prefix}."
    state: dict[str, Any] = {}
    for weight in backbone.weights:
        name, transpose = convert_tf_weight_name_to_pt_weight_name(weight.name, tf_weight_shape=weight.shape)
        if strip_prefix and name.startswith(prefix):
            name = name[len(prefix):]
        value = np.asarray(weight.numpy(), dtype=np.float32)
        state[name] = np.ascontiguousarray(value.T if transpose.name == "SIMPLE" else value)
    return state


def save_pytorch_weights(model: Any, folder: str | os.PathLike) -> Path:
    """Writes ``folder/model.safetensors``: ``model``'s weights under PyTorch names, float32, marked
    ``format: pt``, so ``AutoModelForSequenceClassification.from_pretrained(folder)`` in PyTorch
    loads them (with the folder's ``config.json``) without TensorFlow installed.

    Examples:
        >>> save_pytorch_weights(clf, "saved_models/reviews/model")          # doctest: +SKIP
        PosixPath('saved_models/reviews/model/model.safetensors')
    """
    from safetensors.numpy import save_file

    file = Path(folder) / "model.safetensors"
    save_file(pytorch_state(model.backbone), str(file), metadata={"format": "pt"})
    return file


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
