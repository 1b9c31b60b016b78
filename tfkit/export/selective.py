"""Accuracy-safe full-integer int8: find the ops int8 hurts most and keep just those in float.

The plain full-integer conversion quantises every activation to int8 with one
scale per tensor. Where a tensor has a few large outliers (BERT's residual
stream and LayerNorm inputs are the usual suspects) the scale is so coarse that
the rest of the values lose their information. TF's ``QuantizationDebugger``
measures, per op output, the error of int8 against float on representative data
(RMSE divided by the quantization scale, i.e. in units of one int8 step);
:func:`selective_full_int8` reports the ops with the largest error and keeps the damaged ones
in float, one group at a time (:data:`LADDER`) until the model is within the accuracy budget.

Examples:
    >>> flatbuffer, diagnosis, check = selective_full_int8(module, samples, validation, 1.0)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tfkit import _compat
from tfkit._keras import tf
from tfkit.export.config import Quantization
from tfkit.export.runtime import LiteRTModel
from tfkit.export.tflite import Sample, converter_for
from tfkit.export.verify import Check, ValidationSet, evaluate_model


@dataclasses.dataclass(frozen=True)
class OpError:
    """Int8 error of one op output, in units of its quantization step."""

    tensor: str
    op: str
    rmse_over_scale: float


def rank_op_errors(module: Any, samples: Sequence[Sample], debug_samples: int = 64,
                   quantization: Quantization = Quantization.FULL_INT8) -> list[OpError]:
    """Per-op int8 error on representative data, worst first."""
    converter = converter_for(module, quantization, samples)
    debug_data = list(samples[:debug_samples])
    options = tf.lite.experimental.QuantizationDebugOptions(
        layer_debug_metrics={"mean_squared_error": lambda diffs: float(np.mean(np.square(diffs)))})
    debugger = _compat.ResizingQuantizationDebugger(converter=converter, debug_dataset=lambda: iter(debug_data),
                                 debug_options=options)
    debugger.run()
    dump = io.StringIO()
    debugger.layer_statistics_dump(dump)  # adds each op's output tensor name and quantization scale
    errors = []
    for row in csv.DictReader(io.StringIO(dump.getvalue())):
        scale = float(row["scale"]) or 1e-12
        errors.append(OpError(row["tensor_name"], row["op_name"], float(np.sqrt(float(row["mean_squared_error"]))) / scale))
    errors.sort(key=lambda e: (np.isnan(e.rmse_over_scale), -np.nan_to_num(e.rmse_over_scale)))  # NaN last
    return errors


def quantize_keeping_float(module: Any, samples: Sequence[Sample], float_tensors: Sequence[str],
                           debug_samples: int = 8, quantization: Quantization = Quantization.FULL_INT8,
                           function: Any = None, custom_ops: bool = False) -> bytes:
    """Full-integer int8, except the ops producing ``float_tensors``, which stay float32
    (``function``/``custom_ops`` as in :func:`~tfkit.export.tflite.converter_for`)."""
    converter = converter_for(module, quantization, samples, function, custom_ops)
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=list(float_tensors))
    debug_data = list(samples[:debug_samples])
    debugger = _compat.ResizingQuantizationDebugger(converter=converter, debug_dataset=lambda: iter(debug_data),
                                 debug_options=options)
    return debugger.get_nondebug_quantized_model()


# What stays in float, step by step: LayerNorm (whose MEAN/RSQRT int8 kernels the debugger shows as the
# worst ops in BERT), then also the residual additions feeding it, then everything except the
# FULLY_CONNECTED layers (the matmuls with weights, where int8 pays off most) and the embedding GATHERs
# (so every weight stays int8 and the file stays a quarter of float32).
_RESIDUAL = re.compile(r"/(output|embeddings)/add(_\d+)?$")
LADDER: tuple[tuple[str, Callable[[OpError], bool]], ...] = (
    ("layer_norm_float", lambda e: "LayerNorm" in e.tensor),
    ("layer_norm_and_residual_float",
     lambda e: "LayerNorm" in e.tensor or (e.op == "ADD" and bool(_RESIDUAL.search(e.tensor.split(";")[0])))),
    ("int8_matmuls_and_embeddings", lambda e: e.op not in ("FULLY_CONNECTED", "GATHER")),
)


def selective_full_int8(
    module: Any,
    samples: Sequence[Sample],
    validation: ValidationSet,
    budget_points: float,
    num_threads: int = 2,
    log: Callable[[str], None] = print,
    plain: tuple[bytes, Check] | None = None,
) -> tuple[bytes, dict[str, Any], Check]:
    """The fastest full-int8 file within ``budget_points`` of the Keras accuracy.

    Tries the plain all-int8 conversion (``plain``, if the caller already made it) and every
    step of :data:`LADDER`, measuring each on ``validation``; keeps the one with the lowest
    batch-1 p50 latency among those within the budget. More int8 ops is not always faster:
    on XNNPack CPUs the int8 elementwise kernels (MUL, ADD, MEAN, SOFTMAX) are slower than
    their float ones, so the FULLY_CONNECTED-only step can beat all-int8 and dynamic range.

    Returns the flatbuffer, a diagnosis (the worst ops by int8 error, every step's accuracy
    and latency, the tensors kept in float) and the chosen step's check. When no step is
    within the budget, the most accurate one is returned and the caller decides.
    """
    ranking = rank_op_errors(module, samples)
    diagnosis: dict[str, Any] = {"worst_ops": [dataclasses.asdict(e) for e in ranking[:10]], "steps": []}
    candidates: list[tuple[bytes, Check, str, list[str]]] = []
    if plain is not None:
        candidates.append((plain[0], plain[1], "all_int8", []))
    for step, keep in LADDER:
        kept = [e.tensor for e in ranking if keep(e)]
        flatbuffer = quantize_keeping_float(module, samples, kept)
        candidates.append((flatbuffer, check_flatbuffer(flatbuffer, validation, num_threads), step, kept))
    for _, check, step, kept in candidates:
        diagnosis["steps"].append({"step": step, "float_ops": len(kept), "accuracy": check.score,
                                   "drop_points": check.drop_points, "agreement": check.agreement,
                                   "latency_ms_p50": check.latency_ms_p50})
        log(f"  full_int8 step '{step}' ({len(kept)} ops in float): drop {check.drop_points} points, "
            f"agreement {check.agreement:.4f}, p50 {check.latency_ms_p50:.2f} ms")
    flatbuffer, check, step, kept = candidates[choose_step([c[1] for c in candidates], budget_points)]
    diagnosis.update(chosen_step=step, float_ops=kept,
                     rule="fastest step within the accuracy budget, else the most accurate")
    return flatbuffer, diagnosis, check


def choose_step(checks: Sequence[Check], budget_points: float) -> int:
    """The index of the fastest check within ``budget_points``, else of the least degraded one.

    ``drop_points`` is positive when a file is worse than the Keras model for any metric
    (accuracy or an error such as regression MSE), so one rule serves both directions.

    Examples:
        >>> fast = Check(8, 1.0, 0.1, 0.80, 0.82, 1.0, 1.2)   # 2 points worse, 1.0 ms
        >>> slow = Check(8, 1.0, 0.1, 0.82, 0.82, 2.0, 2.2)   # as good, 2.0 ms
        >>> choose_step([fast, slow], budget_points=1.0), choose_step([fast, slow], budget_points=3.0)
        (1, 0)
    """
    known = [i for i, c in enumerate(checks) if c.drop_points is not None]
    within = [i for i in known if checks[i].drop_points <= budget_points]
    if within:
        return min(within, key=lambda i: checks[i].latency_ms_p50)
    return min(known, key=lambda i: checks[i].drop_points) if known else 0


def check_flatbuffer(flatbuffer: bytes, validation: ValidationSet, num_threads: int) -> Check:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "candidate.tflite"
        path.write_bytes(flatbuffer)
        return evaluate_model(LiteRTModel(path, num_threads), validation, "full_int8 candidate")


