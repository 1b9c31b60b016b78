"""The BERT-family architectures tfkit supports, and where their parts live.

One table instead of ``isinstance`` chains: each family names its main layer,
its list of transformer blocks and its dropout settings.

Examples:
    >>> family_of("bert").main_layer
    'bert'
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tfkit.errors import ConfigError, UnsupportedModelError


@dataclasses.dataclass(frozen=True)
class Family:
    """Where things are inside a ``TF<Family>ForSequenceClassification``."""

    model_type: str
    main_layer: str
    blocks: tuple[str, ...] | None  # path from the main layer to its block list; None: shared blocks
    dropout_keys: tuple[str, ...]

    def main(self, model: Any) -> Any:
        return getattr(model, self.main_layer)

    def embeddings(self, model: Any) -> Any:
        return self.main(model).embeddings

    def block_list(self, model: Any) -> list[Any]:
        if self.blocks is None:
            raise ConfigError(
                f"'{self.model_type}' shares one set of weights across its layers, so its lowest layers "
                "cannot be frozen separately. Received: freeze_layers > 0. Use freeze_embeddings instead."
            )
        node = self.main(model)
        for name in self.blocks:
            node = getattr(node, name)
        return list(node)


FAMILIES: dict[str, Family] = {
    f.model_type: f
    for f in (
        Family("bert", "bert", ("encoder", "layer"), ("hidden_dropout_prob", "classifier_dropout")),
        Family("distilbert", "distilbert", ("transformer", "layer"), ("dropout", "seq_classif_dropout")),
        Family("roberta", "roberta", ("encoder", "layer"), ("hidden_dropout_prob", "classifier_dropout")),
        Family("albert", "albert", None, ("hidden_dropout_prob", "classifier_dropout_prob")),
        Family("electra", "electra", ("encoder", "layer"), ("hidden_dropout_prob", "classifier_dropout")),
        Family("mobilebert", "mobilebert", ("encoder", "layer"), ("hidden_dropout_prob", "classifier_dropout")),
    )
}


def family_of(model_type: str, source: str = "") -> Family:
    """The family of a ``config.json`` ``model_type``, or UnsupportedModelError."""
    try:
        return FAMILIES[model_type]
    except KeyError:
        where = f" in {source}" if source else ""
        raise UnsupportedModelError(
            f"Expected a BERT-family checkpoint ({', '.join(sorted(FAMILIES))}). "
            f"Received: model_type={model_type!r}{where}. Use a BERT-family checkpoint directory."
        ) from None
