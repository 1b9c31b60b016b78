"""TextClassifier on tiny random BERTs: tasks, training defaults, prediction formats, callbacks."""

from __future__ import annotations

import numpy as np
import pytest

import tfkit
from tfkit._keras import keras, tf
from tfkit.errors import ConfigError, DataError
from tfkit.models.optimization import WarmupLinearDecay
from tfkit.testing import tiny_hf_config, tiny_tokenizer

from tests.conftest import toy_texts


def test_learns_separable_toy_data(tiny_classifier, toy_data):
    tiny_classifier.compile(learning_rate=3e-3, batch_size=8)
    before = tiny_classifier.evaluate(toy_data, verbose=0)
    tiny_classifier.fit(toy_data, epochs=10, verbose=0)
    after = tiny_classifier.evaluate(toy_data, verbose=0)
    assert after["loss"] < before["loss"] - 0.2
    assert after["accuracy"] >= 0.9


def test_predict_formats(tiny_classifier):
    out = tiny_classifier.predict(["good film", "bad plot"])
    assert len(out) == 2 and out[0]["label"] in ("neg", "pos")
    assert sum(out[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert tiny_classifier.predict("good")[0].keys() == {"label", "score", "probabilities"}
    pairs = tiny_classifier.predict([("good", "film"), ("bad", "plot")])
    assert len(pairs) == 2
    with pytest.raises(DataError, match="empty"):
        tiny_classifier.predict(["ok", "   "])


def test_predict_keeps_input_order(tiny_classifier):
    texts = ["good " * n + "film" for n in (9, 1, 5, 3)]
    batch = tiny_classifier.predict_logits(texts)
    single = np.concatenate([tiny_classifier.predict_logits([t]) for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_multi_label_task(tiny_checkpoint):
    data = tfkit.data.from_lists(["good film", "bad plot", "good plot"] * 8, [["a", "b"], ["b"], ["a"]] * 8)
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=data.labels, task="multi_label",
                                               max_length=16, threshold=0.4, precision="float32",
                                               freeze_embeddings=False)  # random embeddings: they must learn
    clf.compile(learning_rate=1e-2, batch_size=8)
    history = clf.fit(data, validation_data=data, epochs=20, verbose=0)
    assert {"accuracy", "macro_f1", "val_macro_f1"} <= history.history.keys()
    texts = ["good film", "bad plot", "good plot", "good"]
    outputs = clf.predict(texts)
    probabilities = clf.predict_proba(texts)
    for out, row in zip(outputs, probabilities):
        # the labels are exactly those at or above the threshold, with the model's own probabilities
        assert out["labels"] == [label for label, p in zip(clf.config.labels, row) if p >= 0.4]
        assert out["probabilities"] == pytest.approx(dict(zip(clf.config.labels, row.tolist())))
    assert [o["labels"] for o in outputs[:3]] == [["a", "b"], ["b"], ["a"]], "the toy task is learnt"
    report = clf.evaluate_report(data)
    assert report.metrics["subset_accuracy"] == 1.0 and set(report.metrics["confusion_matrices"]) == {"a", "b"}


def test_regression_task(tiny_checkpoint):
    texts, labels = toy_texts(32)
    values = [1.0 if label == "pos" else -1.0 for label in labels]
    data = tfkit.data.from_lists(texts, values, task="regression")
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, task="regression", max_length=16,
                                               precision="float32", freeze_embeddings=False)
    clf.compile(learning_rate=1e-2, batch_size=8)
    history = clf.fit(data, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0], "MSE falls: the model learns"
    predicted = np.array([p["value"] for p in clf.predict(list(data.texts))])
    np.testing.assert_allclose(predicted, clf.predict_logits(list(data.texts))[:, 0], atol=1e-6)
    report = clf.evaluate_report(data)
    assert report.metrics["mse"] == pytest.approx(float(np.mean((predicted - data.targets) ** 2)), rel=1e-4)
    assert report.metrics["pearson"] > 0.8, report.metrics
    evaluated = clf.evaluate(data, verbose=0)
    assert evaluated["mae"] == pytest.approx(float(np.mean(np.abs(predicted - data.targets))), rel=1e-4)


def test_auto_compile_uses_adamw_with_warmup_sized_at_fit(tiny_classifier, toy_data):
    tiny_classifier.compile(learning_rate=1e-3, warmup_ratio=0.25, batch_size=16)
    tiny_classifier.fit(toy_data, epochs=2, verbose=0)
    optimizer = tiny_classifier.optimizer
    assert isinstance(optimizer, keras.optimizers.AdamW)
    schedule = tiny_classifier.lr_schedule
    assert isinstance(schedule, WarmupLinearDecay)
    # the optimizer applied this schedule: its last learning rate is the schedule at the last step
    assert float(optimizer.learning_rate) == pytest.approx(float(schedule(optimizer.iterations - 1)))
    steps = int(optimizer.iterations.numpy())
    assert schedule.total_steps == steps
    assert schedule.warmup_steps == round(0.25 * steps)
    assert float(schedule(steps)) == 0.0
    assert "LayerNorm" in optimizer._exclude_from_weight_decay_names


def test_schedule_round_trips():
    schedule = WarmupLinearDecay(1e-3, 5, 50)
    clone = WarmupLinearDecay.from_config(schedule.get_config())
    assert [float(clone(s)) for s in (0, 5, 30)] == [float(schedule(s)) for s in (0, 5, 30)]


def test_freezing_embeddings_and_layers(tiny_checkpoint):
    full = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=("a", "b"), freeze_embeddings=False)
    assert tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=("a", "b")).config.freeze_embeddings  # default
    frozen = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=("a", "b"),
                                                  freeze_embeddings=True, freeze_layers=1)
    names = {w.name for w in frozen.trainable_weights}
    assert not any("embeddings" in n for n in names)
    assert not any("layer_._0/" in n for n in names)
    assert any("layer_._1/" in n for n in names)
    assert any("pooler" in n for n in names) and any("classifier" in n for n in names)
    assert len(frozen.trainable_weights) < len(full.trainable_weights)
    with pytest.raises(ConfigError, match="exceeds"):
        tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=("a", "b"), freeze_layers=5)


def test_mixed_bfloat16_trains_with_float32_variables(tiny_checkpoint, toy_data):
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy_data.labels, max_length=16,
                                               precision="mixed_bfloat16")
    assert clf.backbone.bert.encoder.layer[0].compute_dtype == "bfloat16"
    assert all(w.dtype == tf.float32 for w in clf.trainable_weights)
    assert keras.mixed_precision.global_policy().name == "float32", "policy is not left set globally"
    history = clf.fit(toy_data, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert clf.predict_logits(["good"]).dtype == np.float32


def test_jit_compile_steps_like_the_plain_graph(tiny_checkpoint, toy_data):
    def build(jit: bool):
        keras.utils.set_random_seed(0)
        clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy_data.labels, max_length=16,
                                                   jit_compile=jit, precision="float32", dropout=0.0)
        clf.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), batch_size=8)  # update = lr * gradient
        # dropout=0.0 leaves the checkpoint's attention-probability dropout on; XLA draws other random masks
        for layer in clf.backbone.submodules:
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
        return clf

    xla, plain = build(True), build(False)
    assert xla.jit_compile is True and plain.jit_compile is False
    for a, b in zip(xla.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    # XLA batches are padded to bucket boundaries: a bounded set of shapes to compile
    widths = {int(f["input_ids"].shape[1]) for f, _ in xla.training_dataset(toy_data)}
    plain_widths = {int(f["input_ids"].shape[1]) for f, _ in plain.training_dataset(toy_data)}
    assert len(widths) <= len(plain_widths)
    batch, targets = next(iter(plain.training_dataset(toy_data)))
    losses = [float(m.train_on_batch(batch, targets, return_dict=True)["loss"]) for m in (xla, plain)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)  # XLA fuses ops: float rounding differs
    # trainable weights only: metric accumulators are not the update being compared
    def trained(m):
        return [w.numpy() for w in m.trainable_weights]

    moved = max(float(np.abs(a - b).max()) for a, b in zip(trained(plain), trained(build(False))))
    assert moved > 1e-4, "the step changed the weights"
    for a, b in zip(trained(xla), trained(plain)):  # the same update, up to float rounding
        np.testing.assert_allclose(a, b, atol=1e-2 * moved)


def test_class_weight_balanced(tiny_checkpoint):
    data = tfkit.data.from_lists(["good"] * 12 + ["bad"] * 4, ["pos"] * 12 + ["neg"] * 4)
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=data.labels, max_length=8)
    history = clf.fit(data, epochs=1, class_weight="balanced", verbose=0)
    assert np.isfinite(history.history["loss"][0])
    from tfkit.models.text_classifier import _balanced_weights

    assert _balanced_weights(data) == {0: 2.0, 1: pytest.approx(2 / 3)}


def test_label_mismatch_is_an_error(tiny_classifier):
    other = tfkit.data.from_lists(["a", "b"], ["x", "y"])
    with pytest.raises(DataError, match="differ from the model's"):
        tiny_classifier.fit(other, epochs=1, verbose=0)


def test_tensorboard_logs_loss_metrics_and_learning_rate(tiny_classifier, toy_data, tmp_path):
    train, val = toy_data.split(0.25)
    tiny_classifier.fit(train, validation_data=val, epochs=2, output_dir=tmp_path, verbose=0)
    tags = set()
    for event_file in (tmp_path / "logs").rglob("events.out.tfevents.*"):
        for record in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags.update(v.tag for v in record.summary.value)
    assert {"epoch_loss", "epoch_accuracy", "epoch_macro_f1", "epoch_learning_rate"} <= tags
    assert not (tmp_path / "backup").exists() or not any((tmp_path / "backup").iterdir())


def test_best_weights_are_kept_only_when_they_differ_from_the_model(tiny_classifier, toy_data, tmp_path):
    from tfkit.models.callbacks import BEST, BestWeights, tidy_best_weights

    train, val = toy_data.split(0.25)
    tiny_classifier.fit(train, validation_data=val, epochs=1, output_dir=tmp_path / "run", verbose=0)
    # One epoch: the best epoch is the one the model ends with, so the file would repeat the model.
    assert tiny_classifier.fit_record["best_epoch"] == tiny_classifier.fit_record["kept_epoch"] == 1
    assert tiny_classifier.fit_record["best_weights"] is None and not (tmp_path / "run" / "checkpoints").exists()
    # An earlier best epoch: its weights stay, weights only (no optimizer state), and load back.
    callback = BestWeights(str(tmp_path / "manual" / BEST), monitor="val_accuracy", mode="max")
    callback.set_model(tiny_classifier)
    callback.on_epoch_end(0, {"val_accuracy": 0.9})
    best = [w.numpy().copy() for w in tiny_classifier.weights]
    tiny_classifier.weights[0].assign(tiny_classifier.weights[0] + 1.0)
    callback.on_epoch_end(1, {"val_accuracy": 0.5})
    record = tidy_best_weights([callback], [0, 1])
    assert record == {"best_epoch": 1, "kept_epoch": 2, "best_weights": str(tmp_path / "manual" / BEST)}
    tiny_classifier.load_weights(record["best_weights"])
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(tiny_classifier.weights, best))
    import h5py

    with h5py.File(record["best_weights"]) as file:
        assert "optimizer_weights" not in file and len(file.attrs["layer_names"]) == 1  # the backbone alone


def test_resumed_run_keeps_the_best_epoch_from_before_the_interruption(tiny_classifier, tmp_path):
    from tfkit.models.callbacks import BEST, BestWeights, tidy_best_weights

    path = str(tmp_path / BEST)
    first = BestWeights(path, monitor="val_accuracy", mode="max")
    first.set_model(tiny_classifier)
    first.on_epoch_end(0, {"val_accuracy": 0.9})  # the best epoch, then the run is killed
    best = [w.numpy().copy() for w in tiny_classifier.weights]
    tiny_classifier.weights[0].assign(tiny_classifier.weights[0] + 1.0)
    resumed = BestWeights(path, monitor="val_accuracy", mode="max", resume=True)
    resumed.set_model(tiny_classifier)
    resumed.on_epoch_end(1, {"val_accuracy": 0.6})  # worse than epoch 1: must not replace the file
    assert tidy_best_weights([resumed], [1]) == {"best_epoch": 1, "kept_epoch": 2, "best_weights": path}
    tiny_classifier.load_weights(path)
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(tiny_classifier.weights, best))
    # A new run in the same folder (not resumed) starts afresh.
    fresh = BestWeights(path, monitor="val_accuracy", mode="max")
    fresh.set_model(tiny_classifier)
    fresh.on_epoch_end(0, {"val_accuracy": 0.6})
    assert fresh.saved_epoch == 0


@pytest.mark.parametrize("chief_first", [True, False])
def test_no_empty_checkpoints_folder_whichever_worker_tidies_last(tmp_path, chief_first):
    """Under a multi-worker strategy a slower worker may remove its ``checkpoints/workertemp_1`` after
    the chief has tidied (CI saw a two-worker run leave an empty ``checkpoints/``): the last to finish
    removes the folder, and a kept best file keeps it."""
    from tfkit.models.callbacks import BEST, BestWeights, tidy_best_weights

    def worker_tidy(path, kept_epoch):
        callback = BestWeights(str(path), monitor="val_accuracy", mode="max")
        callback.saved_epoch = 0
        return tidy_best_weights([callback], [kept_epoch], writer=False)

    for kept_epoch, left in ((0, False), (1, True)):  # best epoch = last one: file removed; else kept
        path = tmp_path / str(kept_epoch) / BEST
        temp = path.parent / "workertemp_1"
        temp.mkdir(parents=True)
        path.write_bytes(b"weights")
        chief = BestWeights(str(path), monitor="val_accuracy", mode="max")
        chief.saved_epoch = 0
        if chief_first:
            tidy_best_weights([chief], [kept_epoch], writer=True)
            assert path.parent.is_dir(), "the worker's folder is still there"
            temp.rmdir()
            worker_tidy(path, kept_epoch)
        else:
            temp.rmdir()
            worker_tidy(path, kept_epoch)
            assert path.is_file(), "a worker never removes the chief's file"
            tidy_best_weights([chief], [kept_epoch], writer=True)
        assert path.parent.exists() == left and path.is_file() == left


class _EpochWeights(keras.callbacks.Callback):
    """Records the weights after every epoch (before any restore at the end of training)."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([w.copy() for w in self.model.get_weights()])


def test_early_stopping_restores_the_best_epoch(tiny_checkpoint, toy_data):
    train, val = toy_data.split(0.25)
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy_data.labels, max_length=16,
                                               precision="float32")
    clf.compile(learning_rate=5e-2, batch_size=8)  # so large that validation loss goes up and down
    record = _EpochWeights()
    history = clf.fit(train, validation_data=val, epochs=12, early_stopping_patience=2, monitor="val_loss",
                      callbacks=[record], verbose=0)
    losses = history.history["val_loss"]
    best = int(np.argmin(losses))
    assert len(losses) < 12, "training stopped early"
    assert best != len(losses) - 1, f"the test needs a best epoch before the last: {losses}"
    for restored, recorded in zip(clf.get_weights(), record.weights[best]):
        np.testing.assert_array_equal(restored, recorded)


def test_from_hf_config_builds_random_model():
    config = tfkit.ClassifierConfig(labels=("a", "b", "c"), max_length=16)
    clf = tfkit.TextClassifier.from_hf_config(tiny_hf_config("bert"), tiny_tokenizer(), config)
    assert clf.predict_logits(["good film"]).shape == (1, 3)
