"""Export on a tiny random BERT: every format and variant, manifests, parity checks, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfkit
from tfkit._keras import tf
from tfkit.errors import ConfigError
from tfkit.export import ExportValidationError, LiteRTModel, Quantization, ValidationSet, verify
from tfkit.export.config import DEFAULT_TOLERANCES, ExportConfig
from tfkit.export.graph import ServingModule


from tests.export.conftest import ALL


@pytest.fixture(scope="module")
def toy(trained_toy_data):
    return trained_toy_data


@pytest.fixture(scope="module")
def classifier(trained_toy):
    return trained_toy


@pytest.fixture(scope="module")
def exported(toy_export):
    return toy_export


def test_every_variant_is_written_checked_and_described(exported, classifier):
    root = exported.path
    assert json.loads((root / "export.json").read_text())["variants"]
    assert (root / "report.md").read_text().startswith("| variant")
    for quantization in ALL:
        variant = exported[quantization]
        assert variant.status == "accepted"
        path = exported.file(quantization)
        manifest = json.loads(path.with_suffix(".json").read_text())
        assert manifest["quantization"] == quantization
        assert manifest["size_bytes"] == path.stat().st_size
        assert set(manifest["inputs"]) == {"input_ids", "attention_mask", "token_type_ids"}
        assert manifest["max_length"] == 16 and manifest["tokenizer"]["lower_case"] is True
        assert manifest["labels"] == list(classifier.config.labels)
        assert manifest["source_checkpoint"] == classifier.config.checkpoint
        assert 0.0 <= manifest["verification"]["score"] <= 1.0
        assert manifest["verification"]["latency_ms_p50"] > 0
        assert (path.parent / "labels.txt").read_text().split() == list(classifier.config.labels)
        vocab = (path.parent / "vocab.txt").read_text().splitlines()
        assert vocab[classifier.tokenizer.cls_token_id] == "[CLS]"
    assert exported["float32"].check.max_abs_logit_diff < 1e-4
    assert exported["float32"].check.agreement == 1.0


def test_quantized_files_are_smaller(exported):
    size = {q: exported.file(q).stat().st_size for q in ALL}
    assert size["dynamic_int8"] < size["float16"] < size["float32"]
    assert size["full_int8"] < size["float32"]


def test_tflite_takes_any_length_and_matches_keras(exported, classifier):
    model = LiteRTModel(exported.file("float32"))
    for text in ["good", "the film was very good and the plot was great fun"]:
        enc = classifier.tokenizer([text], return_tensors="np")
        features = {name: enc[name].astype(np.int32) for name in model.input_names}
        np.testing.assert_allclose(model(features), classifier.predict_logits([text]), atol=1e-4)


def test_saved_model_loads_with_plain_tensorflow(exported, classifier):
    import tensorflow_text  # noqa: F401  (the raw-string signature's tokenizer ops)

    loaded = tf.saved_model.load(str(exported.path / "saved_model"))
    texts = ["the film good great", "BAD boring Movie!", "a wonderful story but a poor actor"]
    enc = classifier.tokenizer(texts, padding=True, return_tensors="np")
    served = loaded.signatures["serving_default"](
        **{name: tf.constant(enc[name], tf.int32) for name in ("input_ids", "attention_mask", "token_type_ids")})
    expected = classifier.predict_logits(texts)
    np.testing.assert_allclose(served["logits"].numpy(), expected, atol=1e-4)
    raw = loaded.signatures["classify_text"](text=tf.constant(texts))
    np.testing.assert_allclose(raw["logits"].numpy(), expected, atol=1e-4)
    labels = [p["label"] for p in classifier.predict(texts)]
    assert [b.decode() for b in raw["label"].numpy()] == labels
    assert exported["saved_model"].extra["raw_string_agreement"] == 1.0
    assert (exported.path / "labels.txt").is_file() and (exported.path / "vocab.txt").is_file()


def test_parity_check_fails_on_a_corrupted_file(exported, classifier, toy, tmp_path):
    module = ServingModule(classifier, raw_strings=False)
    validation = ValidationSet.from_dataset(module, toy, limit=16)
    good = exported.file("float32")
    verify(LiteRTModel(good), validation, DEFAULT_TOLERANCES[Quantization.FLOAT32], good.name)
    # Overwrite the word-embedding matrix inside the flatbuffer with noise: the file still loads.
    data = bytearray(good.read_bytes())
    table = classifier.backbone.bert.embeddings.weight.numpy().astype(np.float32).tobytes()
    start = bytes(data).find(table)
    assert start > 0, "the embedding table is stored verbatim in the float32 file"
    noise = np.random.default_rng(0).normal(0, 5, len(table) // 4).astype(np.float32).tobytes()
    data[start:start + len(table)] = noise
    corrupted = tmp_path / "corrupted.tflite"
    corrupted.write_bytes(bytes(data))
    with pytest.raises(ExportValidationError, match="does not match the Keras model"):
        verify(LiteRTModel(corrupted), validation, DEFAULT_TOLERANCES[Quantization.FLOAT32], corrupted.name)


def test_bench_measures_keras_and_every_file(exported, classifier, toy, tmp_path):
    result = tfkit.bench(exported.path, classifier, toy, limit=16, output_dir=tmp_path, log=lambda _: None)
    names = [row["variant"] for row in result.rows]
    assert names[0] == "keras_fp32" and set(ALL) <= set(names) and "saved_model" in names
    assert result.row("float32")["agreement"] == 1.0
    assert all(row["batch32_examples_per_second"] > 0 for row in result.rows)
    for name in ("bench.json", "bench.md", "bench.png"):
        assert (tmp_path / name).stat().st_size > 0


@pytest.mark.parametrize("options, message", [
    (dict(quantization=["int4"]), "quantization"),
    (dict(formats=["onnx"]), "formats"),
    (dict(accuracy_budget=-1), "accuracy_budget"),
    (dict(representative_samples=0), "representative_samples"),
])
def test_bad_config_is_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        ExportConfig(**options)


def test_calibrated_variants_need_representative_data(classifier, toy, tmp_path):
    with pytest.raises(ConfigError, match="train="):
        tfkit.export(classifier, tmp_path / "out", quantization=["full_int8"], validation=toy)
    with pytest.raises(ConfigError, match="validation="):
        tfkit.export(classifier, tmp_path / "out", quantization=["float32"])
    assert not (tmp_path / "out").exists()


def test_config_round_trips_json():
    config = ExportConfig(quantization=("full_int8",), accuracy_budget=0.5)
    assert ExportConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_selective_full_int8_reports_its_diagnosis(classifier, toy):
    from tfkit.export.selective import LADDER, selective_full_int8
    from tfkit.export.tflite import representative_samples

    module = ServingModule(classifier, raw_strings=False)
    samples = representative_samples(module, list(toy.texts[:16]))
    validation = ValidationSet.from_dataset(module, toy, limit=16)
    # An impossible budget walks the whole ladder and returns the most accurate step.
    flatbuffer, diagnosis, check = selective_full_int8(module, samples, validation, budget_points=-100.0,
                                                       log=lambda _: None)
    assert [s["step"] for s in diagnosis["steps"]] == [step for step, _ in LADDER]
    assert diagnosis["worst_ops"] and diagnosis["worst_ops"][0]["rmse_over_scale"] >= 0
    assert diagnosis["chosen_step"] in {step for step, _ in LADDER} and diagnosis["float_ops"]
    assert flatbuffer[4:8] == b"TFL3" and check.samples == 16
    counts = [s["float_ops"] for s in diagnosis["steps"]]
    assert counts == sorted(counts) and counts[0] > 0


def test_bucketed_inputs_give_the_exact_result_and_reuse_interpreters(exported, classifier):
    exact = LiteRTModel(exported.file("float32"))
    bucketed = LiteRTModel(exported.file("float32"), bucket=8, max_interpreters=2)
    for text in ["good", "the film good", "the film was very good and great fun", "bad"]:
        enc = classifier.tokenizer([text], return_tensors="np")
        features = {name: enc[name].astype(np.int32) for name in exact.input_names}
        np.testing.assert_allclose(bucketed(features), exact(features), atol=1e-4)
    assert len(bucketed._prepared) <= 2


def test_one_interpreter_serves_every_length_by_default(exported, classifier):
    model = LiteRTModel(exported.file("float32"))
    for text in ["the film was very good and great fun", "good", "the film good", "good"]:
        enc = classifier.tokenizer([text], return_tensors="np")
        features = {name: enc[name].astype(np.int32) for name in model.input_names}
        fresh = LiteRTModel(exported.file("float32"))  # prepared for this length only
        np.testing.assert_allclose(model(features), fresh(features), atol=1e-6)
    assert len(model._prepared) == 1  # resized in place, not one interpreter (and thread pool) per length


def test_rewritten_serving_graph_computes_the_keras_logits(classifier):
    from tfkit.export.graph import _last_bert_layer

    module = ServingModule(classifier, raw_strings=False)
    assert _last_bert_layer(classifier.backbone) is not None  # the first-token rewrite applies to BERT

    def ops(function):
        graph = function.get_concrete_function().graph.as_graph_def()
        return [n.op for n in graph.node] + [n.op for f in graph.library.function for n in f.node_def]

    # Holds even after other tests saved this classifier (Keras leaves its own call wrappers on saved layers):
    # no SquaredDifference in LayerNorm, no tensordot shape arithmetic around the matmuls.
    assert "SquaredDifference" in ops(module.keras_logits) and "SquaredDifference" not in ops(module.logits)
    assert ops(module.logits).count("Shape") < ops(module.keras_logits).count("Shape") / 2
    for text in ["good", "the film was very good and the plot was great fun"]:
        enc = classifier.tokenizer([text], return_tensors="np")
        tensors = [tf.constant(enc[name], tf.int32) for name in module.names]
        np.testing.assert_allclose(module.logits(*tensors)["logits"].numpy(),
                                   module.keras_logits(*tensors).numpy(), atol=1e-5)


def test_batch_one_file_runs_a_padded_batch_row_by_row(exported, classifier):
    path = exported.file("dynamic_int8")
    manifest = json.loads(path.with_suffix(".json").read_text())
    assert manifest["inputs"]["input_ids"]["shape"] == [1, None]
    model = LiteRTModel(path)
    assert model.batch_size == 1
    texts = ["good", "the film was very good and great fun", "bad plot"]
    enc = classifier.tokenizer(texts, padding=True, return_tensors="np")
    batch = model({name: enc[name].astype(np.int32) for name in model.input_names})
    for i, text in enumerate(texts):
        single = classifier.tokenizer([text], return_tensors="np")
        np.testing.assert_allclose(batch[i:i + 1], model({n: single[n].astype(np.int32) for n in model.input_names}),
                                   atol=1e-6)


def test_any_batch_tflite_takes_a_padded_batch(classifier, tmp_path):
    from tfkit.export.tflite import convert

    module = ServingModule(classifier, raw_strings=False, batch_size=None)
    path = tmp_path / "any_batch.tflite"
    path.write_bytes(convert(module, Quantization.FLOAT32))
    model = LiteRTModel(path)
    assert model.batch_size is None
    texts = ["good", "the film was very good and great fun", "bad plot"]
    enc = classifier.tokenizer(texts, padding=True, return_tensors="np")
    out = model({name: enc[name].astype(np.int32) for name in model.input_names})
    np.testing.assert_allclose(out, classifier.predict_logits(texts), atol=1e-4)


def test_selective_full_int8_returns_the_file_of_the_step_it_reports(classifier, toy, tmp_path):
    """The choice rule itself is unit-tested in test_budget_direction.py; here: the returned flatbuffer is the
    chosen step's file (it reproduces that step's measured accuracy and logits), not another candidate's."""
    from tfkit.export.selective import selective_full_int8
    from tfkit.export.tflite import representative_samples
    from tfkit.export.verify import evaluate_model

    module = ServingModule(classifier, raw_strings=False)
    samples = representative_samples(module, list(toy.texts[:16]))
    validation = ValidationSet.from_dataset(module, toy, limit=16)
    flatbuffer, diagnosis, check = selective_full_int8(module, samples, validation, budget_points=100.0,
                                                       log=lambda _: None)
    chosen = next(s for s in diagnosis["steps"] if s["step"] == diagnosis["chosen_step"])
    path = tmp_path / "chosen.tflite"
    path.write_bytes(flatbuffer)
    rerun = evaluate_model(LiteRTModel(path), validation, "chosen.tflite")
    assert rerun.score == chosen["accuracy"] == check.score
    assert rerun.agreement == chosen["agreement"]
    assert rerun.max_abs_logit_diff == pytest.approx(check.max_abs_logit_diff, abs=1e-6)
    assert len(diagnosis["float_ops"]) == chosen["float_ops"]
