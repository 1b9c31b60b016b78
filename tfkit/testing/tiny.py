"""Tiny random BERT-family checkpoints and tokenizers for fast tests.

Examples:
    >>> import tempfile
    >>> from tfkit.testing import write_tiny_checkpoint
    >>> path = write_tiny_checkpoint(tempfile.mkdtemp(), "bert")   # doctest: +SKIP
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tfkit._keras import keras  # noqa: F401  (Keras 2 before transformers)
from tfkit.errors import ConfigError

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "good great fine nice love best fun happy excellent wonderful bad awful dull boring worst hate poor sad "
    "terrible weak the a film movie plot actor story it is was not very and but sport music tech money vote "
    "game team song phone bank market election"
).split()

# Per-family size arguments for a model with hidden size 32 and 2 layers (8 was too narrow to learn
# a toy task in a few steps at the default initializer range).
_SIZES: dict[str, dict[str, Any]] = {
    "bert": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
    "roberta": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                    pad_token_id=0, bos_token_id=2, eos_token_id=3, type_vocab_size=1),
    "electra": dict(hidden_size=32, embedding_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64),
    "albert": dict(hidden_size=32, embedding_size=32, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=64),
    "distilbert": dict(dim=32, n_layers=2, n_heads=2, hidden_dim=64, pad_token_id=0),
    "mobilebert": dict(hidden_size=32, embedding_size=32, true_hidden_size=32, intra_bottleneck_size=32,
                       num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, num_feedforward_networks=1),
}
FAMILY_NAMES = tuple(_SIZES)


@functools.lru_cache(maxsize=None)
def _vocab_dir() -> str:
    folder = tempfile.mkdtemp(prefix="tfkit-tiny-vocab-")
    Path(folder, "vocab.txt").write_text("\n".join(SPECIALS + WORDS) + "\n", encoding="utf-8")
    return folder


def tiny_tokenizer() -> Any:
    """A fast WordPiece tokenizer over a ~50-word vocabulary."""
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab_file=os.path.join(_vocab_dir(), "vocab.txt"), do_lower_case=True)


def tiny_hf_config(model_type: str = "bert", max_positions: int = 128) -> Any:
    """A transformers config of ``model_type`` with hidden size 32 and 2 layers."""
    from transformers import AutoConfig

    vocab = len(SPECIALS) + len(WORDS)
    return AutoConfig.for_model(model_type, vocab_size=vocab, max_position_embeddings=max_positions,
                                **_SIZES[model_type])


def write_tiny_checkpoint(path: str | os.PathLike, model_type: str = "bert", weights: str = "h5",
                          seed: int | None = 0) -> Path:
    """Writes a random pretrained-style checkpoint (base model, no head) to ``path``.

    Args:
        model_type: a family in :data:`FAMILY_NAMES`.
        weights: ``"h5"`` (``tf_model.h5``) or ``"safetensors"`` (PyTorch-named
            ``model.safetensors``, as checkpoints from the Hub are shipped).
        seed: seeds Python, NumPy and TensorFlow before the weights are drawn, so the
            same call writes the same weights (None: leave the seeds as they are).
    """
    from transformers import TFAutoModel

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = tiny_hf_config(model_type)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = TFAutoModel.from_config(config)
    model.build_in_name_scope()
    if weights == "h5":
        model.save_pretrained(str(path), safe_serialization=False)
    elif weights == "safetensors":
        config.save_pretrained(str(path))
        _save_pytorch_style_safetensors(model, path / "model.safetensors")
    else:
        raise ConfigError(f"Expected weights='h5' or 'safetensors'. Received: weights={weights!r}.")
    tiny_tokenizer().save_pretrained(str(path))
    return path


def _save_pytorch_style_safetensors(model: Any, file: Path) -> None:
    from safetensors.numpy import save_file

    from tfkit.models.saving import pytorch_state

    save_file(pytorch_state(model, strip_prefix=True), str(file))
