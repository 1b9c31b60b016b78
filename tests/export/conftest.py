"""One export of every variant (with the raw-text files) of the trained toy classifier (``trained_toy``,
tests/conftest.py), shared by the export tests: the export is the slow part, so it is made once per session."""

from __future__ import annotations

import pytest

import tfkit
from tfkit.export import Quantization

ALL = [q.value for q in Quantization if q is not Quantization.QAT_INT8]  # qat_int8: tests/optimize/test_qat.py


@pytest.fixture(scope="session")
def toy_export(trained_toy, trained_toy_data, tmp_path_factory):
    """Every variant, each with its raw-text file (MediaPipe files: tests/export/test_mediapipe.py)."""
    out = tmp_path_factory.mktemp("export") / "export"
    return tfkit.export(trained_toy, out, formats=["saved_model", "tflite"], quantization=ALL,
                        train=trained_toy_data, validation=trained_toy_data, representative_samples=24,
                        mediapipe=False, log=lambda _: None)
