"""What a TFLite file computes in: every op with its tensor types, and whether the file is integer-only.

Integer-only accelerators (phone NPUs behind LiteRT's vendor delegates, Edge TPU-class chips,
DSPs, microcontrollers) cannot run a float op. A file is integer-only when no op reads or writes a
float tensor, except

* ``QUANTIZE`` of a model input and ``DEQUANTIZE`` into a model output (float at the edges),
* ops on int32/int64/bool tensors only (token-id lookups' indices, shapes, positions),
* string tensors and the tokenizer's custom ops of a raw-text file (no float there either).

Examples:
    >>> report = integer_only("model_qat_int8.tflite")          # doctest: +SKIP
    >>> report.integer_only, report.float_ops                   # doctest: +SKIP
    (True, {})
"""

from __future__ import annotations

import collections
import dataclasses
import os
from typing import Any

import numpy as np

from tfkit.errors import TfkitError

FLOAT_TYPES = (np.float16, np.float32, np.float64)


class IntegerOnlyError(TfkitError, ValueError):
    """A file that was asked to be integer-only still computes in float."""


@dataclasses.dataclass(frozen=True)
class OpRow:
    """One op of a TFLite file: its name and the types of its input and output tensors."""

    index: int
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    integer: bool

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class IntegerOnlyReport:
    """The op table of a file, and the float ops that keep it from being integer-only."""

    ops: tuple[OpRow, ...]

    @property
    def integer_only(self) -> bool:
        return all(row.integer for row in self.ops)

    @property
    def float_ops(self) -> dict[str, int]:
        """Float ops by name, e.g. ``{"FULLY_CONNECTED": 36}`` for a dynamic-range file."""
        return dict(collections.Counter(row.op for row in self.ops if not row.integer))

    def op_counts(self) -> dict[str, int]:
        return dict(collections.Counter(row.op for row in self.ops))

    def summary(self) -> dict[str, Any]:
        """What manifests and ``bench`` record: the verdict, the float ops, the op counts."""
        return {"integer_only": self.integer_only, "float_ops": self.float_ops, "ops": self.op_counts()}


def _is_float(dtype: Any) -> bool:
    return any(np.dtype(dtype) == np.dtype(t) for t in FLOAT_TYPES)


def op_table(path: str | os.PathLike, interpreter: Any = None) -> IntegerOnlyReport:
    """Every op of the TFLite file at ``path`` with its tensor types.

    Args:
        interpreter: an interpreter already holding the file (a raw-text file needs one with the
            tokenizer's custom ops registered); by default a plain LiteRT interpreter.
    """
    from tfkit._compat import private

    if interpreter is None:
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path))
    details = private("Interpreter._get_ops_details")(interpreter)
    tensors = {d["index"]: d["dtype"] for d in interpreter.get_tensor_details()}
    model_inputs = {d["index"] for d in interpreter.get_input_details()}
    model_outputs = {d["index"] for d in interpreter.get_output_details()}
    rows = []
    for op in details:
        inputs = [i for i in op["inputs"] if i >= 0 and i in tensors]
        outputs = [i for i in op["outputs"] if i >= 0 and i in tensors]
        floats = [i for i in inputs + outputs if _is_float(tensors[i])]
        name = op["op_name"]
        edge = (name == "QUANTIZE" and set(inputs) <= model_inputs) or \
            (name == "DEQUANTIZE" and set(outputs) <= model_outputs)
        rows.append(OpRow(int(op["index"]), name, tuple(np.dtype(tensors[i]).name for i in inputs),
                          tuple(np.dtype(tensors[i]).name for i in outputs), not floats or edge))
    return IntegerOnlyReport(tuple(rows))


def int8_kernels(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The int8 weight matrices of a QAT file's FULLY_CONNECTED ops, ``[out, in]``, by the twin layer they
    came from (read from the tensor names TF-MOT's wrappers leave: ``quant_<layer>/.../LastValueQuant``)."""
    import re

    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    pattern = re.compile(r"quant_([^/;]+)/(?:MatMul|Tensordot)[^;]*;.*LastValueQuant")
    out: dict[str, np.ndarray] = {}
    for detail in interpreter.get_tensor_details():
        match = pattern.search(detail["name"])
        if match and len(detail["shape"]) == 2 and np.dtype(detail["dtype"]) == np.int8:
            out[match.group(1)] = interpreter.get_tensor(detail["index"])
    return out


def integer_only(path: str | os.PathLike, interpreter: Any = None) -> IntegerOnlyReport:
    """The :class:`IntegerOnlyReport` of a file (``report.integer_only`` is the verdict)."""
    return op_table(path, interpreter)


def require_integer_only(path: str | os.PathLike, what: str = "") -> IntegerOnlyReport:
    """The report, or :class:`IntegerOnlyError` naming the float ops when the file is not integer-only."""
    report = op_table(path)
    if not report.integer_only:
        raise IntegerOnlyError(
            f"Expected an integer-only TFLite file{f' ({what})' if what else ''}. Received: float ops "
            f"{report.float_ops} in {os.fspath(path)}. Every op between the input QUANTIZE and the output "
            "DEQUANTIZE must read and write int8/int16/int32 tensors; keep the variant hybrid (full_int8) or "
            "find the op that stayed float with tfkit.export.ops.op_table(path).")
    return report
