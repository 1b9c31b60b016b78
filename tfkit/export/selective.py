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

from tfkit._keras import tf
from tfkit.export.config import Quantization
from tfkit.export.runtime import LiteRTModel, input_name
from tfkit.export.tflite import Sample, converter_for
from tfkit.export.verify import Check, ValidationSet, evaluate_model

_Debugger = tf.lite.experimental.QuantizationDebugger


class _ResizingDebugger(_Debugger):
    """``QuantizationDebugger`` that accepts dict samples of varying length (it resizes only once)."""

    def _set_input_tensors(self, interpreter: Any, tensor_data: Any, initialize: bool) -> None:
        if isinstance(tensor_data, dict):
            tensor_data = [tensor_data[input_name(d["name"])] for d in interpreter.get_input_details()]
        super()._set_input_tensors(interpreter, tensor_data, True)


@dataclasses.dataclass(frozen=True)
class OpError:
    """Int8 error of one op output, in units of its quantization step."""

    tensor: str
    op: str
    rmse_over_scale: float


def rank_op_errors(module: Any, samples: Sequence[Sample], debug_samples: int = 64) -> list[OpError]:
    """Per-op int8 error on representative data, worst first."""
    converter = converter_for(module, Quantization.FULL_INT8, samples)
    debug_data = list(samples[:debug_samples])
    options = tf.lite.experimental.QuantizationDebugOptions(
        layer_debug_metrics={"mean_squared_error": lambda diffs: float(np.mean(np.square(diffs)))})
    debugger = _ResizingDebugger(converter=converter, debug_dataset=lambda: iter(debug_data),
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
                           debug_samples: int = 8) -> bytes:
    """Full-integer int8, except the ops producing ``float_tensors``, which stay float32."""
    converter = converter_for(module, Quantization.FULL_INT8, samples)
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=list(float_tensors))
    debug_data = list(samples[:debug_samples])
    debugger = _ResizingDebugger(converter=converter, debug_dataset=lambda: iter(debug_data),
                                 debug_options=options)
    return debugger.get_nondebug_quantized_model()


# What stays in float, step by step: LayerNorm (whose MEAN/RSQRT int8 kernels the debugger shows as the
# worst ops in BERT), then also the residual additions feeding it, then everything except the
# FULLY_CONNECTED layers (the matmuls with weights, where int8 pays off most).
_RESIDUAL = re.compile(r"/(output|embeddings)/add(_\d+)?$")
LADDER: tuple[tuple[str, Callable[[OpError], bool]], ...] = (
    ("layer_norm_float", lambda e: "LayerNorm" in e.tensor),
    ("layer_norm_and_residual_float",
     lambda e: "LayerNorm" in e.tensor or (e.op == "ADD" and bool(_RESIDUAL.search(e.tensor.split(";")[0])))),
    ("int8_fully_connected_only", lambda e: e.op != "FULLY_CONNECTED"),
)


def selective_full_int8(
    module: Any,
    samples: Sequence[Sample],
    validation: ValidationSet,
    budget_points: float,
    num_threads: int = 2,
    log: Callable[[str], None] = print,
) -> tuple[bytes, dict[str, Any], Check]:
    """The first step of :data:`LADDER` whose accuracy drop is within ``budget_points``
    (called after the plain all-int8 conversion missed it).

    Returns the flatbuffer, a diagnosis (the worst ops by int8 error, every step's
    accuracy, the tensors kept in float) and the chosen step's check. When no step is
    within the budget, the most accurate one is returned and the caller decides.
    """
    ranking = rank_op_errors(module, samples)
    diagnosis: dict[str, Any] = {
        "worst_ops": [dataclasses.asdict(e) for e in ranking[:10]],
        "steps": [],
    }
    best: tuple[bytes, Check, str, list[str]] | None = None
    for step, keep in LADDER:
        kept = [e.tensor for e in ranking if keep(e)]
        flatbuffer = quantize_keeping_float(module, samples, kept)
        check = _check(flatbuffer, validation, num_threads)
        diagnosis["steps"].append({"step": step, "float_ops": len(kept), "accuracy": check.score,
                                   "drop_points": check.drop_points, "agreement": check.agreement,
                                   "latency_ms_p50": check.latency_ms_p50})
        log(f"  full_int8 step '{step}' ({len(kept)} ops in float): drop {check.drop_points} points, "
            f"agreement {check.agreement:.4f}")
        if best is None or (check.score or 0.0) > (best[1].score or 0.0):
            best = (flatbuffer, check, step, kept)
        if check.drop_points is not None and check.drop_points <= budget_points:
            best = (flatbuffer, check, step, kept)
            break
    flatbuffer, check, step, kept = best
    diagnosis.update(chosen_step=step, float_ops=kept)
    return flatbuffer, diagnosis, check


def _check(flatbuffer: bytes, validation: ValidationSet, num_threads: int) -> Check:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "candidate.tflite"
        path.write_bytes(flatbuffer)
        return evaluate_model(LiteRTModel(path, num_threads), validation, "full_int8 candidate")


