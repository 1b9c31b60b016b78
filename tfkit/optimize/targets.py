"""Where the prunable Dense layers sit inside each BERT-family classifier.

One table instead of ``isinstance`` chains: per family, the attribute paths of
the Dense layers of one transformer block (by :class:`LayerKind`) and of the
head. ``*`` in a path stands for every element of a list attribute (MobileBERT's
stacked feed-forward networks).

Examples:
    >>> sorted(PRUNABLE)
    ['bert', 'distilbert', 'electra', 'mobilebert', 'roberta']
    >>> PRUNABLE["bert"].block[LayerKind.INTERMEDIATE]
    ('intermediate.dense',)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator

from tfkit._keras import keras
from tfkit.errors import ConfigError, UnsupportedModelError
from tfkit.models.families import family_of
from tfkit.optimize.config import LayerKind

K = LayerKind
_BERT_BLOCK = {
    K.ATTENTION: ("attention.self_attention.query", "attention.self_attention.key", "attention.self_attention.value"),
    K.ATTENTION_OUTPUT: ("attention.dense_output.dense",),
    K.INTERMEDIATE: ("intermediate.dense",),
    K.OUTPUT: ("bert_output.dense",),
}


@dataclasses.dataclass(frozen=True)
class PrunablePaths:
    """Dense-layer attribute paths of one family: inside each block, and from the backbone (head).

    Examples:
        >>> PRUNABLE["bert"].head[LayerKind.CLASSIFIER]
        ('classifier',)
    """

    block: dict[LayerKind, tuple[str, ...]]
    head: dict[LayerKind, tuple[str, ...]]


PRUNABLE: dict[str, PrunablePaths] = {
    "bert": PrunablePaths(_BERT_BLOCK, {K.POOLER: ("bert.pooler.dense",), K.CLASSIFIER: ("classifier",)}),
    "roberta": PrunablePaths(_BERT_BLOCK, {K.CLASSIFIER: ("classifier.dense", "classifier.out_proj")}),
    "electra": PrunablePaths(_BERT_BLOCK, {K.CLASSIFIER: ("classifier.dense", "classifier.out_proj")}),
    "distilbert": PrunablePaths(
        {K.ATTENTION: ("attention.q_lin", "attention.k_lin", "attention.v_lin"),
         K.ATTENTION_OUTPUT: ("attention.out_lin",), K.INTERMEDIATE: ("ffn.lin1",), K.OUTPUT: ("ffn.lin2",)},
        {K.CLASSIFIER: ("pre_classifier", "classifier")},
    ),
    "mobilebert": PrunablePaths(
        {K.ATTENTION: ("attention.self.query", "attention.self.key", "attention.self.value"),
         K.ATTENTION_OUTPUT: ("attention.mobilebert_output.dense",),
         K.INTERMEDIATE: ("intermediate.dense", "ffn.*.intermediate.dense"),
         K.OUTPUT: ("mobilebert_output.dense", "ffn.*.mobilebert_output.dense")},
        {K.POOLER: ("mobilebert.pooler.dense",), K.CLASSIFIER: ("classifier",)},
    ),
}

_SHARED_LAYERS = {
    "albert": "ALBERT shares one set of encoder weights across all its layers, so one pruning wrapper would run "
              "num_hidden_layers times per batch: TF-MOT's step would advance that many times per batch and the "
              "schedule would not hold."
}


@dataclasses.dataclass(frozen=True)
class PruneTarget:
    """One Dense layer to prune: its path from the backbone, kind, and the object holding it.

    Examples:
        >>> find_targets(clf.backbone, (LayerKind.INTERMEDIATE,))[0].path   # doctest: +SKIP
        'bert.encoder.layer.0.intermediate.dense'
    """

    path: str
    kind: LayerKind
    parent: Any
    attribute: str
    layer: Any

    @property
    def kernel(self) -> Any:
        return self.layer.kernel


def prunable_paths(model_type: str) -> PrunablePaths:
    """The table entry of ``model_type``, or UnsupportedModelError.

    Examples:
        >>> prunable_paths("distilbert").block[LayerKind.OUTPUT]
        ('ffn.lin2',)
    """
    if model_type in _SHARED_LAYERS:
        raise UnsupportedModelError(
            f"Cannot prune '{model_type}': {_SHARED_LAYERS[model_type]} Received: model_type={model_type!r}. "
            f"Prune one of {sorted(PRUNABLE)} instead."
        )
    family_of(model_type)  # UnsupportedModelError for non-BERT-family types
    try:
        return PRUNABLE[model_type]
    except KeyError:
        raise UnsupportedModelError(
            f"Pruning supports {sorted(PRUNABLE)}. Received: model_type={model_type!r}."
        ) from None


def find_targets(backbone: Any, kinds: tuple[LayerKind, ...], m_by_n: tuple[int, int] | None = None
                 ) -> list[PruneTarget]:
    """The Dense layers of ``kinds`` in a ``TF<Family>ForSequenceClassification``, in model order.

    Raises:
        UnsupportedModelError: not a supported family, or a path no longer holds a Dense layer.
        ConfigError: a requested kind has no layer in this family, or an m:n pattern does
            not divide a kernel's input dimension.

    Examples:
        >>> [t.path for t in find_targets(clf.backbone, (LayerKind.CLASSIFIER,))]   # doctest: +SKIP
        ['classifier']
    """
    model_type = getattr(getattr(backbone, "config", None), "model_type", None)
    if model_type is None:
        raise UnsupportedModelError(
            f"Expected a Hugging Face TF BERT-family model. Received: {type(backbone).__name__}. "
            "Wrap it in a tfkit.TextClassifier (TextClassifier.from_pretrained) first."
        )
    paths = prunable_paths(model_type)
    family = family_of(model_type)
    targets: list[PruneTarget] = []
    for kind in kinds:
        found: list[PruneTarget] = []
        if kind in paths.block:
            blocks_path = ".".join((family.main_layer, *family.blocks))
            for i, block in enumerate(family.block_list(backbone)):
                for path in paths.block[kind]:
                    found += [_target(f"{blocks_path}.{i}.{p}", kind, parent, attr)
                              for p, parent, attr in _resolve(block, path)]
        for path in paths.head.get(kind, ()):
            found += [_target(p, kind, parent, attr) for p, parent, attr in _resolve(backbone, path)]
        if not found:
            raise ConfigError(
                f"A '{model_type}' sequence classifier has no {kind.value!r} Dense layer to prune. "
                f"Received: layers including {kind.value!r}. Choose from "
                f"{[k.value for k in LayerKind if k in paths.block or k in paths.head]}."
            )
        targets += found
    if m_by_n:
        for target in targets:
            check_m_by_n(target, m_by_n)
    order = {id(w): i for i, w in enumerate(backbone.weights)}
    return sorted(targets, key=lambda t: order.get(id(t.kernel), len(order)))


def check_m_by_n(target: PruneTarget, m_by_n: tuple[int, int]) -> None:
    """TF-MOT groups a Dense kernel ``[in, out]`` in runs of n along ``in``; n must divide it.

    Examples:
        >>> check_m_by_n(target, (2, 4))   # doctest: +SKIP
    """
    m, n = m_by_n
    fan_in = int(target.kernel.shape[0])
    if fan_in % n:
        raise ConfigError(
            f"The {m}:{n} pattern groups {n} consecutive weights along a kernel's input dimension, which must be "
            f"a multiple of {n}. Received: {target.path} with kernel shape {tuple(target.kernel.shape)} "
            f"(input dimension {fan_in}). Use a pattern whose n divides {fan_in}, or leave {target.kind.value!r} "
            "out of layers."
        )


def _resolve(root: Any, path: str) -> Iterator[tuple[str, Any, str]]:
    """Yields ``(path, parent, attribute)`` for every match of a dotted path (``*``: each list element)."""
    *parents, attribute = path.split(".")
    nodes: list[tuple[str, Any]] = [("", root)]
    for name in parents:
        nxt: list[tuple[str, Any]] = []
        for prefix, node in nodes:
            if name == "*":
                nxt += [(f"{prefix}{i}.", child) for i, child in enumerate(node or ())]
            elif getattr(node, name, None) is not None:
                nxt.append((f"{prefix}{name}.", getattr(node, name)))
        nodes = nxt
    for prefix, node in nodes:
        if getattr(node, attribute, None) is not None:
            yield f"{prefix}{attribute}", node, attribute


def _target(path: str, kind: LayerKind, parent: Any, attribute: str) -> PruneTarget:
    layer = getattr(parent, attribute)
    if not isinstance(layer, keras.layers.Dense):
        raise UnsupportedModelError(
            f"Expected a Keras Dense layer at {path}. Received: {type(layer).__name__}. "
            "This transformers version lays the model out differently from tfkit's pruning table."
        )
    return PruneTarget(path=path, kind=kind, parent=parent, attribute=attribute, layer=layer)
