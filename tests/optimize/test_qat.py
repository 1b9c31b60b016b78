"""Quantization-aware training on the Functional twin, and its integer-only TFLite file."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfkit
from tfkit._keras import tf
from tfkit.errors import ConfigError, UnsupportedModelError
from tfkit.export import tflite as tflite_module
from tfkit.export.ops import IntegerOnlyError, op_table, require_integer_only
from tfkit.export.runtime import LiteRTModel
from tfkit.models import ClassifierConfig, TextClassifier
from tfkit.optimize.qat import QuantizedClassifier, kernel_sparsity, new_nonzeros, quantize_aware
from tfkit.testing.tiny import tiny_hf_config, tiny_tokenizer

from ..conftest import toy_texts


@pytest.fixture(scope="module")
def toy():
    texts, labels = toy_texts(64)
    return tfkit.data.from_lists(texts, labels)


@pytest.fixture(scope="module")
def trained(tiny_checkpoint, toy):
    tf.keras.utils.set_random_seed(0)
    clf = TextClassifier.from_pretrained(tiny_checkpoint, labels=toy.labels, max_length=16, precision="float32",
                                         freeze_embeddings=False)  # random embeddings: they must learn
    clf.compile(learning_rate=3e-3, batch_size=8)
    clf.fit(toy, epochs=10, verbose=0)
    return clf


def test_qat_keeps_frozen_layers_frozen_and_saves_its_best_weights(tiny_checkpoint, toy, tmp_path):
    # TF-MOT's QuantizeWrapperV2 copies its layer's trainable weights when built: a wrapper frozen after that
    # still trained them and listed them twice, so the weights-only best.h5 could not be written.
    clf = TextClassifier.from_pretrained(tiny_checkpoint, labels=toy.labels, max_length=16, precision="float32",
                                         freeze_embeddings=True)
    qat = QuantizedClassifier.wrap(clf)
    norm = next(layer for layer in qat.backbone.layers if layer.name.endswith("embeddings.LayerNorm"))
    assert not norm.trainable_weights and len({w.name for w in norm.weights}) == len(norm.weights)
    qat.save_weights(str(tmp_path / "best.h5"))  # raised "name already exists" before


@pytest.fixture(scope="module")
def qat_run(trained, toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("qat")
    qat = quantize_aware(trained, toy, toy, epochs=2, learning_rate=1e-4, batch_size=8, output_dir=out / "train",
                         verbose=0)
    artifacts = tfkit.export(qat, out / "export", train=toy, validation=toy, formats=["tflite"],
                             mediapipe=False)  # the raw-text app file; MediaPipe files: tests/export/test_mediapipe.py
    return qat, artifacts, out


def test_qat_trains_through_fit_with_tensorboard(qat_run, trained, toy):
    qat, _, out = qat_run
    assert isinstance(qat, QuantizedClassifier) and qat.quantization_aware
    steps = int(qat.training_dataset(toy, 8).cardinality())
    assert qat.fit_record["optimizer_steps"] == 2 * steps and "val_accuracy" in qat.fit_record["history"]
    assert list((out / "train" / "logs").rglob("events.out.tfevents.*"))
    assert float(np.mean(qat.predict_logits(list(toy.texts)).argmax(1) == np.asarray(toy.targets))) >= 0.85
    fake_quant = [layer.name for layer in qat.backbone.layers if type(layer).__name__ == "QuantizeWrapperV2"]
    assert any("LayerNorm" in name for name in fake_quant) and any("attention.scores" in name for name in fake_quant)


def test_qat_file_is_integer_only_and_runs_on_litert(qat_run, toy):
    qat, artifacts, out = qat_run
    path = out / "export" / "tflite" / "model_qat_int8.tflite"
    manifest = json.loads(path.with_suffix(".json").read_text())
    assert manifest["integer_only"]["integer_only"] is True and manifest["integer_only"]["float_ops"] == {}
    assert manifest["integer_only"]["ops"]["FULLY_CONNECTED"] >= 12
    assert op_table(path).integer_only
    model = LiteRTModel(path, num_threads=1)
    texts = list(toy.texts)[:16]
    enc = qat.tokenizer(texts[0], return_tensors="np")
    logits = model({"input_ids": enc["input_ids"].astype(np.int32),
                    "attention_mask": enc["attention_mask"].astype(np.int32),
                    "token_type_ids": enc["token_type_ids"].astype(np.int32)})
    assert logits.shape == (1, 2)
    assert artifacts.variants[0].check.agreement >= 0.9
    assert "layer_norm" in manifest["op_family_costs"]["families"]


def test_qat_raw_text_file_is_integer_only_between_its_edges(qat_run, toy):
    from tfkit.export.runtime import RawTextLiteRTModel

    qat, artifacts, _ = qat_run
    text = artifacts["qat_int8_text"]
    assert text.extra["agreement_with_ids_file"] >= 0.95
    # the raw-text file: the tokenizer's custom ops and string/int ops, then the same integer-only encoder
    assert text.extra["integer_only"]["integer_only"] is True, text.extra["integer_only"]["float_ops"]
    assert {"FastBertNormalize", "FastWordpieceTokenizeWithOffsets"} <= set(text.extra["integer_only"]["ops"])
    out = RawTextLiteRTModel(artifacts.file("qat_int8_text")).classify(toy.texts[0])
    assert set(out) == {"logits", "scores"}  # no argmax: it would read the float logits after the output DEQUANTIZE
    assert out["scores"].shape == (1, len(qat.config.labels))


def test_float_files_fail_the_integer_only_check(trained, toy, tmp_path):
    tfkit.export(trained, tmp_path / "export", formats=["tflite"], quantization=["float32", "dynamic_int8"],
                 validation=toy, raw_text=False, mediapipe=False)
    for variant in ("float32", "dynamic_int8"):
        path = tmp_path / "export" / "tflite" / f"model_{variant}.tflite"
        manifest = json.loads(path.with_suffix(".json").read_text())
        assert manifest["integer_only"]["integer_only"] is False
        assert manifest["integer_only"]["float_ops"].get("FULLY_CONNECTED", 0) > 0
        with pytest.raises(IntegerOnlyError, match="FULLY_CONNECTED"):
            require_integer_only(path)


def test_qat_file_with_float_ops_is_an_error_and_nothing_is_written(qat_run, toy, tmp_path, monkeypatch):
    qat = qat_run[0]
    original = tflite_module.converter_for

    def hybrid(module, quantization, samples=None, *args, **kwargs):  # a converter that may leave ops in float
        converter = original(module, quantization, samples, *args, **kwargs)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        converter.representative_dataset = None
        return converter

    monkeypatch.setattr(tflite_module, "converter_for", hybrid)
    with pytest.raises(IntegerOnlyError, match="float ops"):
        tfkit.export(qat, tmp_path / "export", train=toy, validation=toy, formats=["tflite"])
    assert not (tmp_path / "export").exists()


def test_variant_and_model_mismatches_are_refused(qat_run, trained, toy, tmp_path):
    with pytest.raises(ConfigError, match="quantization-aware classifier for quantization='qat_int8'"):
        tfkit.export(trained, tmp_path / "a", quantization=["qat_int8"], train=toy, validation=toy)
    with pytest.raises(ConfigError, match="Expected quantization=\\['qat_int8'\\]"):
        tfkit.export(qat_run[0], tmp_path / "b", quantization=["float32"], validation=toy)
    albert = TextClassifier.from_hf_config(tiny_hf_config("albert"), tiny_tokenizer(),
                                           ClassifierConfig(labels=toy.labels, precision="float32"))
    with pytest.raises(UnsupportedModelError, match="albert"):
        quantize_aware(albert, toy)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def _zero_half(clf: TextClassifier) -> TextClassifier:
    """A copy of ``clf`` whose encoder kernels have their smaller half set to zero (a stripped pruned model)."""
    from tfkit.optimize import clone_classifier

    copy = clone_classifier(clf)
    for weight in copy.backbone.weights:
        if len(weight.shape) == 2 and "embeddings" not in weight.name:
            value = weight.numpy()
            value[np.abs(value) < np.median(np.abs(value))] = 0.0
            weight.assign(value)
    return copy


def test_pruned_zeros_survive_qat_into_the_integer_file(trained, toy, tmp_path):
    pruned = _zero_half(trained)
    assert kernel_sparsity(pruned) >= 0.45
    qat = quantize_aware(pruned, toy, epochs=1, learning_rate=1e-3, batch_size=8, verbose=0)
    assert qat.prune_preserve  # chosen from the sparsity
    tfkit.export(qat, tmp_path / "export", train=toy, validation=toy, formats=["tflite"], op_costs=False,
                 raw_text=False, mediapipe=False)
    kept = new_nonzeros(tmp_path / "export" / "tflite" / "model_qat_int8.tflite", pruned)
    assert kept["checked_kernels"] >= 12 and kept["source_zeros"] > 0
    assert kept["new_nonzeros"] == 0
    # Without the prune-preserving scheme the same training fills zeros in: the check above can fail.
    plain = quantize_aware(pruned, toy, epochs=1, learning_rate=1e-3, batch_size=8, prune_preserve=False, verbose=0)
    assert kernel_sparsity(plain.dequantized(pruned)) < kernel_sparsity(pruned) - 0.1


def test_saved_qat_classifier_loads_as_one(qat_run, toy, tmp_path):
    qat = qat_run[0]
    path = qat.save_pretrained(tmp_path / "model")
    again = TextClassifier.load(path)
    assert isinstance(again, QuantizedClassifier)
    texts = list(toy.texts)[:8]
    assert np.max(np.abs(again.predict_logits(texts) - qat.predict_logits(texts))) < 1e-5


@pytest.mark.parametrize("model_type", ["distilbert", "roberta", "electra"])
def test_every_twin_family_trains_and_exports_integer_only(model_type, tmp_path):
    texts, labels = toy_texts(16)
    data = tfkit.data.from_lists(texts, labels)
    tokenizer = tiny_tokenizer()
    clf = TextClassifier.from_hf_config(tiny_hf_config(model_type), tokenizer,
                                        ClassifierConfig(labels=data.labels, precision="float32", max_length=16))
    qat = quantize_aware(clf, data, epochs=1, learning_rate=1e-4, batch_size=8, verbose=0)
    assert qat.fit_record["optimizer_steps"] > 0
    tfkit.export(qat, tmp_path / "export", train=data, validation=data, formats=["tflite"], op_costs=False,
                 raw_text=False, mediapipe=False)
    path = tmp_path / "export" / "tflite" / "model_qat_int8.tflite"
    assert op_table(path).integer_only


def test_fake_quant_ranges_start_from_the_float_models_activations(trained, toy):
    from tfkit.optimize.qat_configs import range_variables

    untouched = range_variables(QuantizedClassifier.wrap(trained).backbone)
    assert {(float(lo.numpy()), float(hi.numpy())) for lo, hi in untouched.values()} == {(-6.0, 6.0)}  # TF-MOT's
    ranges = range_variables(QuantizedClassifier.wrap(trained, calibration=toy.take(8, seed=0)).backbone)
    assert len(ranges) == len(untouched) >= 20
    lo, hi = ranges["bert.embeddings.LayerNorm"]
    assert -6.0 < float(lo.numpy()) < 0.0 < float(hi.numpy()) < 6.0  # the LayerNorm output's observed range
    assert len({(round(float(a.numpy()), 4), round(float(b.numpy()), 4)) for a, b in ranges.values()}) > 10


def test_clipped_calibration_cuts_wide_ranges_to_the_clip_and_keeps_narrow_ones(trained, toy):
    from tfkit.optimize.qat_configs import range_variables

    def ranges(clip):
        model = QuantizedClassifier.wrap(trained, calibration=toy.take(8, seed=0), range_clip=clip)
        return {name: (float(lo.numpy()), float(hi.numpy())) for name, (lo, hi) in range_variables(model.backbone).items()}

    raw, clipped = ranges(None), ranges(1.0)
    assert raw.keys() == clipped.keys()
    for name, (lo, hi) in raw.items():
        assert clipped[name] == pytest.approx((max(lo, -1.0), min(hi, 1.0)), abs=1e-6), name
    assert any(hi > 1.0 for _, hi in raw.values()) and any(-1.0 < lo and hi < 1.0 for lo, hi in raw.values())
    with pytest.raises(ConfigError, match="range_clip"):
        quantize_aware(trained, toy, range_clip=0.0)


def test_distilled_qat_learns_from_the_float_model_not_the_labels(trained, toy, tmp_path):
    """``distill_alpha=0`` with every label flipped: only the float model's logits teach, so the QAT model keeps
    its predictions, where plain QAT on the same flipped labels unlearns them."""
    flipped = tfkit.data.from_lists(list(toy.texts), [toy.labels[1 - t] for t in toy.targets], label_names=toy.labels)
    texts = list(toy.texts)
    reference = trained.predict_logits(texts).argmax(1)

    def agreement(**options):
        tf.keras.utils.set_random_seed(0)
        qat = quantize_aware(trained, flipped, epochs=4, learning_rate=3e-3, batch_size=8, verbose=0, **options)
        return qat, float(np.mean(qat.predict_logits(texts).argmax(1) == reference))

    distilled, kept = agreement(distill_alpha=0.0)
    _, unlearned = agreement(distill_alpha=None)
    assert type(distilled) is QuantizedClassifier and distilled.fit_record["qat"]["distill_alpha"] == 0.0
    assert "soft_loss" in distilled.fit_record["history"]
    assert kept >= 0.9 and unlearned <= 0.5, (kept, unlearned)
    with pytest.raises(ConfigError, match="alpha"):
        quantize_aware(trained, toy, distill_alpha=1.5)
