"""Where an integer-only file loses its last points: each op family kept in float, one at a time.

For an integer-only variant, :func:`op_family_costs` converts the same model again with one
family of ops left in float32 (the rest int8) and measures each file on the validation data.
The points a family recovers are what int8 costs in it; a user who can afford float for one
family (e.g. a delegate with float LayerNorm) sees which one buys the most.

Examples:
    >>> costs = op_family_costs(module, Quantization.QAT_INT8, samples, validation, all_int8=check)  # doctest: +SKIP
    >>> costs["families"]["layer_norm"]["recovered_points"]                                         # doctest: +SKIP
    0.46
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from tfkit.export.config import Quantization
from tfkit.export.selective import OpError, check_flatbuffer, quantize_keeping_float, rank_op_errors
from tfkit.export.tflite import Sample
from tfkit.export.verify import Check, ValidationSet

_LAYER_NORM_OPS = ("MEAN", "SQUARED_DIFFERENCE", "RSQRT", "SUB", "MUL", "ADD")

# Op families by the ops (and, in the Functional twin, the layer names) that make them up.
FAMILIES: dict[str, Callable[[OpError], bool]] = {
    "layer_norm": lambda e: ("LayerNorm" in e.tensor or "layer_norm" in e.tensor) and e.op in _LAYER_NORM_OPS,
    "softmax": lambda e: e.op == "SOFTMAX" or (e.op == "ADD" and "softmax" in e.tensor),
    "attention_matmuls": lambda e: e.op == "BATCH_MATMUL",
    "activations": lambda e: e.op in ("GELU", "TANH", "RELU", "LOGISTIC"),
    "residual_adds": lambda e: e.op == "ADD" and ("residual" in e.tensor or "embeddings.sum" in e.tensor),
}


def op_family_costs(module: Any, quantization: Quantization, samples: Sequence[Sample], validation: ValidationSet,
                    all_int8: Check, num_threads: int = 2, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Accuracy with each op family in float32 (the rest int8) beside the all-int8 file's.

    Returns ``{"all_int8": {...}, "families": {name: {"float_ops", "score", "drop_points",
    "recovered_points", "latency_ms_p50"}}}``; ``recovered_points`` is the family's cost in int8.
    """
    ranking = rank_op_errors(module, samples, quantization=quantization)
    out: dict[str, Any] = {"all_int8": _row(all_int8, 0, all_int8), "families": {}}
    for family, member in FAMILIES.items():
        kept = [e.tensor for e in ranking if member(e)]
        if not kept:
            continue
        check = check_flatbuffer(quantize_keeping_float(module, samples, kept, quantization=quantization),
                                 validation, num_threads)
        out["families"][family] = _row(check, len(kept), all_int8)
        log(f"  {quantization.value} with {family} in float ({len(kept)} ops): drop {check.drop_points} points "
            f"(all int8: {all_int8.drop_points})")
    return out


def _row(check: Check, float_ops: int, all_int8: Check) -> dict[str, Any]:
    recovered = None
    if check.score is not None and all_int8.score is not None:
        recovered = round(100.0 * (check.score - all_int8.score) * (1 if check.higher_is_better else -1), 2)
    return {"float_ops": float_ops, "score": check.score, "drop_points": check.drop_points,
            "recovered_points": recovered, "latency_ms_p50": check.latency_ms_p50}
