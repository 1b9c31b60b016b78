"""Pruning tiny random BERTs with TF-MOT: steps, schedules, m:n, strip/save/load, bad input, summaries."""

from __future__ import annotations

import numpy as np
import pytest
from tensorflow_model_optimization.python.core.sparsity.keras import pruning_utils
from tensorflow_model_optimization.python.core.sparsity.keras.pruning_wrapper import (
    PruneLowMagnitude,
    collect_prunable_layers,
)

import tfkit
from tfkit._keras import keras, tf
from tfkit.errors import ConfigError, UnsupportedModelError
from tfkit.models.config import ClassifierConfig
from tfkit.optimize import PrunedClassifier, PruningConfig
from tfkit.optimize.callbacks import nested_wrappers
from tfkit.optimize.report import m_by_n_holds
from tfkit.testing import tiny_hf_config, tiny_tokenizer

from tests.conftest import toy_texts

ENCODER_LAYERS_PER_BLOCK = 6  # query, key, value, attention output, intermediate, output


def _classifier(model_type: str = "bert", **sizes) -> tfkit.TextClassifier:
    hf = tiny_hf_config(model_type)
    for key, value in sizes.items():
        setattr(hf, key, value)
    # float32: under "auto" an AMX CPU trains in bfloat16, whose 8-bit mantissa ties kernel magnitudes, so exact
    # mask counts (what these tests check against the schedule) would depend on the CPU.
    return tfkit.TextClassifier.from_hf_config(hf, tiny_tokenizer(), ClassifierConfig(labels=("neg", "pos"),
                                                                                     max_length=16,
                                                                                     precision="float32"))


class Probe(keras.callbacks.Callback):
    """Records every wrapper's pruning step and mask sparsity after each batch."""

    def __init__(self, wrappers):
        super().__init__()
        self.wrappers = wrappers
        self.steps, self.sparsity = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([int(w.pruning_step.numpy()) for w in self.wrappers])
        self.sparsity.append([1.0 - float(np.mean(w.pruning_vars[0][1].numpy())) for w in self.wrappers])


@pytest.fixture(scope="module")
def toy():
    texts, labels = toy_texts(64)
    return tfkit.data.from_lists(texts, labels)


@pytest.fixture(scope="module")
def polynomial_run(toy):
    """One polynomial pruning run (frequency 1) with a per-batch probe, shared by several tests."""
    clf = _classifier()
    config = PruningConfig(target_sparsity=0.75, end_fraction=0.5, frequency=1, epochs=2, batch_size=8,
                           learning_rate=1e-3)
    pruned = PrunedClassifier.from_classifier(clf, config, train=toy)
    probe = Probe(pruned.wrappers)
    pruned.fit(toy, epochs=2, callbacks=[probe], verbose=0)
    return clf, pruned, probe


def test_wraps_every_encoder_dense_and_leaves_the_rest(polynomial_run):
    clf, pruned, _ = polynomial_run
    assert len(pruned.wrappers) == 2 * ENCODER_LAYERS_PER_BLOCK
    assert all(isinstance(w, PruneLowMagnitude) for w in pruned.wrappers)
    assert {t.kind.value for t in pruned.targets} == {"attention", "attention_output", "intermediate", "output"}
    backbone = pruned.classifier.backbone
    assert isinstance(backbone.classifier, keras.layers.Dense)  # head, pooler left dense
    assert isinstance(backbone.bert.pooler.dense, keras.layers.Dense)
    assert nested_wrappers(clf) == []  # the input classifier is not modified


def test_step_advances_once_per_batch_in_every_wrapper(polynomial_run):
    _, pruned, probe = polynomial_run
    # TF-MOT's own collector walks model.layers and misses every nested wrapper
    assert collect_prunable_layers(pruned.classifier) == []
    assert len(nested_wrappers(pruned.classifier)) == len(pruned.wrappers)
    for batch, steps in enumerate(probe.steps):
        assert steps == [batch + 1] * len(pruned.wrappers)
    assert set(pruned.pruning_steps().values()) == {2 * pruned.steps_per_epoch}


def test_tfmot_stock_callback_misses_nested_wrappers(toy):
    from tensorflow_model_optimization.sparsity.keras import UpdatePruningStep

    pruned = PrunedClassifier.from_classifier(_classifier(), PruningConfig(epochs=1), steps_per_epoch=4)
    pruned.classifier.compile(batch_size=16)
    with pytest.raises(tf.errors.InvalidArgumentError, match="UpdatePruningStep"):
        pruned.classifier.fit(toy, callbacks=[UpdatePruningStep()], verbose=0)


def test_sparsity_follows_the_polynomial_schedule(polynomial_run):
    _, pruned, probe = polynomial_run
    schedule = pruned.wrappers[0].pruning_schedule
    sizes = [int(np.prod(w.layer.kernel.shape)) for w in pruned.wrappers]
    for steps, measured in zip(probe.steps, probe.sparsity):
        step = min(steps[0], schedule.end_step)
        expected = float(schedule(tf.constant(step, tf.int64))[1])
        for value, size in zip(measured, sizes):
            kept = max(round(size * (1 - expected)), 1)
            assert value == pytest.approx(1 - kept / size, abs=1.5 / size)
    middle = probe.sparsity[schedule.end_step // 2 - 1][0]
    assert 0.2 < middle < 0.75  # strictly between: gradual, not one-shot
    assert probe.sparsity[-1] == pytest.approx([0.75] * len(pruned.wrappers), abs=1e-3)


def test_masks_apply_in_inference(polynomial_run):
    _, pruned, _ = polynomial_run
    for wrapper in pruned.wrappers:  # perturb the masked weights: outputs must not change
        kernel, mask, _ = wrapper.pruning_vars[0]
        kernel.assign(kernel * mask + (1 - mask) * 5.0)
    logits = pruned.classifier.predict_logits(["good film", "awful plot"])
    again = pruned.strip().predict_logits(["good film", "awful plot"])
    np.testing.assert_allclose(logits, again, atol=1e-6)


def test_strip_save_load_keep_zeros_and_predictions(polynomial_run, tmp_path):
    clf, pruned, _ = polynomial_run
    texts = ["good film", "awful boring plot", "the movie was not very fun"]
    wrapped = pruned.classifier.predict_logits(texts)
    plain = pruned.strip()
    assert nested_wrappers(plain) == []
    original_names = sorted(w.name.split("/", 1)[1] for w in clf.backbone.weights)
    assert sorted(w.name.split("/", 1)[1] for w in plain.backbone.weights) == original_names
    plain.save_pretrained(tmp_path / "model")
    loaded = tfkit.TextClassifier.load(tmp_path / "model")
    weights = {w.name.split("/", 1)[1]: w.numpy() for w in loaded.backbone.weights}
    for key, masked in zip(pruned.kernel_keys(), pruned.masked_kernels().values()):
        np.testing.assert_array_equal(weights[key] == 0, masked == 0)
        assert np.mean(weights[key] == 0) == pytest.approx(0.75, abs=0.01)
    np.testing.assert_allclose(loaded.predict_logits(texts), wrapped, atol=1e-6)
    report = pruned.sparsity_report(stripped=loaded)
    assert report.max_error_points <= 1.0 and report.overall_sparsity == pytest.approx(0.75, abs=0.01)
    # the standard transformers loader reads the stripped weights too
    from transformers import TFAutoModelForSequenceClassification

    hf = TFAutoModelForSequenceClassification.from_pretrained(str(tmp_path / "model"), use_safetensors=False)
    key = pruned.kernel_keys()[0]
    hf_kernel = next(w.numpy() for w in hf.weights if w.name.split("/", 1)[1] == key)
    np.testing.assert_array_equal(hf_kernel, weights[key])


def test_two_four_pattern_holds_per_block(toy):
    clf = _classifier()
    pruned = tfkit.prune(clf, toy, sparsity="2:4", epochs=1, batch_size=16, learning_rate=1e-3, verbose=0)
    assert pruned.config.pattern == "2:4"
    for kernel in pruned.masked_kernels().values():
        assert m_by_n_holds(kernel, (2, 4))
        assert pruning_utils.is_pruned_m_by_n(tf.constant(kernel), (2, 4))  # TF-MOT's own check
        assert np.mean(kernel == 0) == pytest.approx(0.5)
    report = pruned.strip() and pruned.sparsity_report()
    assert report.pattern_holds and report.max_error_points == pytest.approx(0.0)


def test_constant_schedule_reaches_target_at_first_update(toy):
    clf = _classifier()
    config = PruningConfig(target_sparsity=0.6, schedule="constant", frequency=2, epochs=1, batch_size=8)
    pruned = PrunedClassifier.from_classifier(clf, config, train=toy)
    probe = Probe(pruned.wrappers)
    pruned.fit(toy, callbacks=[probe], verbose=0)
    assert probe.sparsity[0] == [0.0] * len(pruned.wrappers)  # step 1: before the first update
    assert probe.sparsity[1] == pytest.approx([0.6] * len(pruned.wrappers), abs=0.01)  # step 2: full target


def test_prune_adds_callbacks_and_writes_summaries(toy, tmp_path):
    clf = _classifier()
    pruned = tfkit.prune(clf, toy, toy, target_sparsity=0.5, frequency=1, epochs=1, batch_size=16,
                         output_dir=tmp_path, verbose=0, layers=("intermediate", "classifier"))
    assert {t.path for t in pruned.targets} == {"bert.encoder.layer.0.intermediate.dense",
                                                "bert.encoder.layer.1.intermediate.dense", "classifier"}
    assert set(pruned.pruning_steps().values()) == {pruned.steps_per_epoch}
    events = list((tmp_path / "logs" / "pruning").glob("events.out.tfevents.*"))
    assert events
    tags = {value.tag for file in events for event in tf.compat.v1.train.summary_iterator(str(file))
            for value in event.summary.value}
    assert {"classifier/sparsity", "classifier/threshold", "classifier/target_sparsity",
            "bert.encoder.layer.0.intermediate.dense/sparsity"} <= tags
    assert (tmp_path / "logs" / "train").is_dir()  # the usual TensorBoard logs are still there


def test_m_by_n_must_divide_the_input_dimension():
    clf = _classifier(hidden_size=30, intermediate_size=64)  # 30 inputs: not a multiple of 4
    with pytest.raises(ConfigError, match="multiple of 4"):
        PrunedClassifier.from_classifier(clf, PruningConfig(pattern="2:4"))
    PrunedClassifier.from_classifier(clf, PruningConfig(pattern="1:2"), steps_per_epoch=1)  # 30, 64: even


def test_non_bert_models_are_refused():
    with pytest.raises(UnsupportedModelError, match="TextClassifier"):
        PrunedClassifier.from_classifier(keras.Sequential([keras.layers.Dense(2)]))
    with pytest.raises(UnsupportedModelError, match="TextClassifier"):
        tfkit.prune(keras.Sequential([keras.layers.Dense(2)]), None)
    with pytest.raises(UnsupportedModelError, match="shares one set of encoder weights"):
        PrunedClassifier.from_classifier(_classifier("albert"))


def test_missing_layer_kind_is_a_clear_error():
    with pytest.raises(ConfigError, match="no 'pooler'"):
        PrunedClassifier.from_classifier(_classifier("roberta"), PruningConfig(layers=("pooler",)))


@pytest.mark.parametrize("model_type", ["distilbert", "roberta", "electra", "mobilebert"])
def test_other_families(model_type):
    clf = _classifier(model_type)
    data = tfkit.data.from_lists(["good film"] * 4 + ["awful plot"] * 4, ["pos"] * 4 + ["neg"] * 4)
    pruned = tfkit.prune(clf, data, target_sparsity=0.5, frequency=1, epochs=2, batch_size=4, verbose=0)
    assert len(pruned.wrappers) == 2 * ENCODER_LAYERS_PER_BLOCK
    assert set(pruned.pruning_steps().values()) == {4}
    assert pruned.sparsity_report().max_error_points <= 1.0
    inputs = {"input_ids": tf.constant([[2, 5, 6, 3]]), "attention_mask": tf.ones((1, 4), tf.int32)}
    np.testing.assert_allclose(pruned.strip()(inputs), pruned.classifier(inputs), atol=1e-6)


def test_tfkit_prune_is_exposed():
    import tfkit.optimize

    assert tfkit.prune is tfkit.optimize.prune and "prune" in tfkit.__all__
