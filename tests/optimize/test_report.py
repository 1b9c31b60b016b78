"""SparsityReport: measured figures, m:n check, gzip sizes, and zeros surviving a TFLite conversion."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfkit
from tfkit.optimize.report import (
    LayerSparsity,
    SizeComparison,
    SparsityReport,
    float_tflite,
    gzip_size,
    m_by_n_holds,
    tflite_zero_count,
)

from tests.conftest import toy_texts


def test_layer_and_overall_sparsity():
    a = LayerSparsity.measure("a", "attention", np.array([[0.0, 1.0], [0.0, 0.0]]), 0.8)  # 75 %
    b = LayerSparsity.measure("b", "output", np.ones((2, 6)), 0.8)  # 0 %
    report = SparsityReport(layers=(a, b))
    assert a.measured == 0.75 and a.error_points == pytest.approx(5.0)
    assert report.overall_sparsity == pytest.approx(3 / 16)
    assert report.max_error_points == pytest.approx(80.0)
    assert report.pattern_holds is None


def test_m_by_n_check_uses_input_axis_groups():
    kernel = np.ones((8, 3))
    kernel[[0, 1, 4, 5], :] = 0  # 2 zeros in each run of 4 inputs, for every output
    assert m_by_n_holds(kernel, (2, 4))
    kernel[0, 1] = 1.0
    assert not m_by_n_holds(kernel, (2, 4))
    assert not m_by_n_holds(np.zeros((6, 2)), (2, 4))  # 6 inputs cannot be grouped by 4


def test_gzip_favours_zeros():
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(256, 256)).astype(np.float32)
    pruned = np.where(np.abs(dense) > np.quantile(np.abs(dense), 0.8), dense, 0).astype(np.float32)
    size = SizeComparison.of(dense.tobytes(), pruned.tobytes())
    assert size.dense_bytes == size.pruned_bytes == dense.nbytes
    assert size.gzip_ratio < 0.4 and gzip_size(dense.tobytes()) == size.dense_gzip


def test_markdown_and_json(tmp_path):
    layer = LayerSparsity.measure("enc.0.query", "attention", np.array([[0.0], [1.0], [0.0], [2.0]]), 0.5, (2, 4))
    report = SparsityReport(layers=(layer,), pattern="2:4").with_sizes(
        tflite=SizeComparison(dense_bytes=100, dense_gzip=90, pruned_bytes=100, pruned_gzip=45))
    text = report.to_markdown()
    assert "| enc.0.query | attention | 4 x 1 | 50.0% | 50.00% | yes |" in text and "| tflite |" in text
    report.save(tmp_path)
    data = json.loads((tmp_path / "sparsity.json").read_text())
    assert data["pattern_holds"] is True and data["sizes"]["tflite"]["gzip_ratio"] == 0.5
    assert data["layers"][0]["shape"] == [4, 1]
    assert (tmp_path / "sparsity.md").read_text().startswith("# Sparsity report")


def test_sizes_and_zeros_surviving_tflite(tiny_classifier):
    texts, labels = toy_texts(32)
    data = tfkit.data.from_lists(texts, labels)
    pruned = tfkit.prune(tiny_classifier, data, target_sparsity=0.8, frequency=1, epochs=1, batch_size=8,
                         verbose=0)
    plain = pruned.strip()
    report = pruned.sparsity_report(sizes=True, tflite=False, stripped=plain)
    assert set(report.sizes) == {"pruned_kernels", "saved_weights"}
    assert report.sizes["pruned_kernels"].gzip_ratio < 0.45
    assert report.sizes["saved_weights"].gzip_ratio < 1.0
    dense_model, pruned_model = float_tflite(tiny_classifier), float_tflite(plain)
    assert SizeComparison.of(dense_model, pruned_model).gzip_ratio < 1.0
    zeros = sum(int(np.sum(k == 0)) for k in pruned.masked_kernels().values())
    assert tflite_zero_count(pruned_model) >= zeros
    assert tflite_zero_count(dense_model) < zeros / 10
