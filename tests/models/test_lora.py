"""LoRA adapters on the Functional twin: zero start, training only adapters and head, merging, saving, loading."""

from __future__ import annotations

import numpy as np
import pytest

import tfkit
from tfkit.errors import ConfigError
from tfkit.integrity import verify_folder
from tfkit.models.lora import (ADAPTER_WEIGHTS, AdapterMismatchError, LoraClassifier, LoraConfig, LoraDense,
                               MeanPooledClassifier, load_lora, with_lora)
from tfkit.testing import write_tiny_checkpoint

from tests.conftest import toy_texts


@pytest.fixture(scope="module")
def toy():
    texts, labels = toy_texts(48)
    return tfkit.data.from_lists(texts, labels)


def _base(checkpoint, toy) -> tfkit.TextClassifier:
    return tfkit.TextClassifier.from_pretrained(checkpoint, labels=toy.labels, max_length=16, precision="float32")


@pytest.fixture(scope="module")
def trained(tiny_checkpoint, toy):
    """A LoRA classifier trained for a few epochs, with the base classifier it started from."""
    tfkit._keras.keras.utils.set_random_seed(0)
    base = _base(tiny_checkpoint, toy)
    lora = with_lora(base, rank=4, alpha=8)
    lora.compile(learning_rate=3e-3, batch_size=8)
    lora.fit(toy, epochs=3, verbose=0)
    return base, lora


def test_zero_initialised_adapters_leave_the_logits_unchanged(tiny_checkpoint, toy):
    base = _base(tiny_checkpoint, toy)
    texts = list(toy.texts)
    lora = with_lora(base, rank=4)
    np.testing.assert_allclose(lora.predict_logits(texts), base.predict_logits(texts), atol=1e-5)
    blocks = base.hf_config.num_hidden_layers
    assert [layer.name.rsplit(".", 1)[-1] for layer in lora.lora_layers()] == ["query", "value"] * blocks
    trained = {w.name.split("/")[-1].split(":")[0] for w in lora.trainable_weights}
    assert trained == {"lora_a", "lora_b", "kernel", "bias"}  # kernel/bias: the classifier's
    head = {w.name.split("/")[0] for w in lora.trainable_weights if "lora" not in w.name}
    assert head == {"classifier"}, head
    with_pooler = with_lora(base, rank=4, train_head=True)
    assert {w.name.split("/")[0] for w in with_pooler.trainable_weights if "lora" not in w.name} == \
        {"bert.pooler.dense", "classifier"}
    assert 0 < lora.trainable_fraction < 1


def test_training_moves_only_the_adapters_and_the_head(trained):
    base, lora = trained
    before = {name: v.numpy() for name, v in tfkit.models.twin.hf_variables(base).items()}
    after = tfkit.models.twin.twin_variables(lora.backbone)
    changed = sorted(name for name, v in after.items() if not np.array_equal(v.numpy(), before[name]))
    assert changed and all(name.startswith("classifier.") for name in changed), changed
    assert all(np.abs(layer.lora_b.numpy()).max() > 0 for layer in lora.lora_layers())


def test_merged_model_equals_the_unmerged_one(trained, toy):
    _, lora = trained
    texts = list(toy.texts)
    merged = lora.merged()
    assert type(merged) is tfkit.TextClassifier
    np.testing.assert_allclose(merged.predict_logits(texts), lora.predict_logits(texts), atol=1e-5)
    layer = lora.lora_layers()[0]
    assert not np.allclose(layer.merged_kernel(), layer.kernel.numpy())  # the update is folded in, not dropped


def test_adapter_round_trips_and_several_share_one_base(trained, tiny_checkpoint, toy, tmp_path):
    _, lora = trained
    texts = list(toy.texts)
    path = lora.save_adapter(tmp_path / "sentiment")
    assert (path / ADAPTER_WEIGHTS).stat().st_size < 50_000
    again = load_lora(tiny_checkpoint, path)
    np.testing.assert_allclose(again.predict_logits(texts), lora.predict_logits(texts), atol=1e-6)

    other = with_lora(_base(tiny_checkpoint, toy), rank=4, alpha=8)
    other.compile(learning_rate=1e-2, batch_size=8)
    other.fit(toy, epochs=1, verbose=0)
    second = other.save_adapter(tmp_path / "second")
    assert again.load_adapter(second) == "second" and again.adapters == ["second", "sentiment"]
    np.testing.assert_allclose(again.predict_logits(texts), other.predict_logits(texts), atol=1e-6)
    again.use_adapter("sentiment")
    np.testing.assert_allclose(again.predict_logits(texts), lora.predict_logits(texts), atol=1e-6)


def test_an_adapter_of_another_base_is_refused(trained, tmp_path):
    _, lora = trained
    path = lora.save_adapter(tmp_path / "adapter")
    other = write_tiny_checkpoint(tmp_path / "other-bert", "bert", seed=1)
    with pytest.raises(AdapterMismatchError, match="SHA-256") as error:
        load_lora(other, path)
    assert str(path / "adapter_config.json") in str(error.value)
    with pytest.raises(AdapterMismatchError, match="LoRA settings"):
        with_lora(tfkit.TextClassifier.from_pretrained(lora.config.checkpoint, labels=lora.config.labels,
                                                       max_length=16, precision="float32"), rank=2).load_adapter(path)


def test_save_pretrained_writes_the_merged_model_and_its_adapter(trained, toy, tmp_path):
    _, lora = trained
    folder = lora.save_pretrained(tmp_path / "model")
    assert (folder / "adapter" / ADAPTER_WEIGHTS).is_file() and verify_folder(folder).ok
    loaded = tfkit.TextClassifier.load(folder)
    assert type(loaded) is tfkit.TextClassifier and loaded.fit_record["lora"]["merged"] is True
    np.testing.assert_allclose(loaded.predict_logits(list(toy.texts)), lora.predict_logits(list(toy.texts)),
                               atol=1e-5)


def test_lora_dense_is_the_dense_plus_its_update():
    layer = LoraDense(3, rank=2, scale=0.5)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    layer(x)
    layer.lora_b.assign(np.ones((2, 3), np.float32))
    expected = x @ layer.kernel.numpy() + layer.bias.numpy() + x @ layer.lora_a.numpy() @ layer.lora_b.numpy() * 0.5
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x @ layer.merged_kernel() + layer.bias.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_lora_plus_scales_b_gradient_and_its_adapter_holds_b_itself(tiny_checkpoint, toy, tmp_path):
    """LoRA+: the trained variable is ``B / ratio``, so the same function has a gradient ``ratio`` times larger
    on it, and Adam (whose steps ignore a gradient's scale) moves ``B`` ``ratio`` times further. The adapter
    it saves is the plain function: it loads onto a ratio-1 model with the same logits."""
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    plain, plus = LoraDense(3, rank=2, scale=0.5), LoraDense(3, rank=2, scale=0.5, b_lr_ratio=16.0)
    plain(x), plus(x)
    plus.set_weights(plain.get_weights())
    b = np.random.default_rng(1).normal(size=(2, 3)).astype(np.float32)
    plain.set_b(b), plus.set_b(b)
    np.testing.assert_allclose(plus.lora_b.numpy(), b / 16.0, rtol=1e-6)
    np.testing.assert_allclose(plus(x).numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-6)
    grads = []
    for layer in (plain, plus):
        with tfkit._keras.tf.GradientTape() as tape:
            loss = tfkit._keras.tf.reduce_sum(layer(x) ** 2)
        grads.append(tape.gradient(loss, layer.lora_b).numpy())
    np.testing.assert_allclose(grads[1], 16.0 * grads[0], rtol=1e-4, atol=1e-6)

    texts = list(toy.texts)
    lora = with_lora(_base(tiny_checkpoint, toy), rank=4, alpha=8, b_lr_ratio=16.0)
    lora.compile(learning_rate=3e-3, batch_size=8)
    lora.fit(toy, epochs=1, verbose=0)
    path = lora.save_adapter(tmp_path / "plus")
    again = with_lora(_base(tiny_checkpoint, toy), rank=4, alpha=8)  # ratio 1: the same function
    again.load_adapter(path)
    np.testing.assert_allclose(again.predict_logits(texts), lora.predict_logits(texts), atol=1e-5)
    np.testing.assert_allclose(lora.merged().predict_logits(texts), lora.predict_logits(texts), atol=1e-5)


def test_a_pooler_adapter_is_a_low_rank_update_of_the_frozen_pooler(tiny_checkpoint, toy, tmp_path):
    checkpoint = tiny_checkpoint
    base = _base(checkpoint, toy)
    texts = list(toy.texts)
    lora = with_lora(base, rank=4, alpha=8, targets=("query", "value", "pooler"))
    np.testing.assert_allclose(lora.predict_logits(texts), base.predict_logits(texts), atol=1e-5)
    assert lora.lora_layers()[-1].name == "bert.pooler.dense"
    assert sum(isinstance(layer, LoraDense) for layer in lora.backbone.layers) == 2 * base.hf_config.num_hidden_layers + 1
    lora.compile(learning_rate=3e-3, batch_size=8)
    lora.fit(toy, epochs=1, verbose=0)
    pooler = lora.lora_layers()[-1]
    assert np.abs(pooler.lora_b.numpy()).max() > 0 and not pooler.kernel.trainable
    again = with_lora(_base(checkpoint, toy), rank=4, alpha=8, targets=("query", "value", "pooler"))
    again.load_adapter(lora.save_adapter(tmp_path / "adapter"))
    np.testing.assert_allclose(again.predict_logits(texts), lora.predict_logits(texts), atol=1e-5)
    np.testing.assert_allclose(lora.merged().predict_logits(texts), lora.predict_logits(texts), atol=1e-5)


@pytest.mark.parametrize("family", ["distilbert", "roberta"])
def test_a_pooler_adapter_needs_a_pretrained_pooler(family, toy, tmp_path):
    base = _base(write_tiny_checkpoint(tmp_path / family, family, seed=0), toy)  # the head's Dense is new here
    with pytest.raises(ConfigError, match="pretrained '(pre_classifier|classifier.dense)' for a 'pooler' LoRA target"):
        with_lora(base, rank=4, targets=("query", "pooler"))


@pytest.mark.parametrize("kwargs, message", [
    (dict(rank=0), "rank >= 1"), (dict(targets=("keys",)), "targets among"), (dict(dropout=1.0), "dropout"),
    (dict(b_lr_ratio=0.0), "b_lr_ratio"), (dict(targets=("query", "pooler"), train_head=True), "not both"),
    (dict(pooling="max"), "pooling in"), (dict(targets=("query", "pooler"), pooling="mean"), "no 'pooler' LoRA target"),
])
def test_bad_settings_name_the_argument(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        LoraConfig(**kwargs)


def test_lora_config_round_trips_through_json(trained):
    config = LoraConfig(rank=4, targets=("query", "key", "value"), layers=(0, 1))
    assert LoraConfig.from_dict(config.to_dict()) == config
    _, lora = trained
    again = LoraClassifier.from_config(lora.get_config())
    assert isinstance(again, LoraClassifier) and again.get_config() == lora.get_config()


def test_lora_trains_with_its_measured_defaults_and_the_base_without_dropout(tiny_checkpoint, toy):
    from tfkit.models.lora import DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE

    base = _base(tiny_checkpoint, toy)
    lora = with_lora(base, rank=4)
    assert (lora.training_config.learning_rate, lora.training_config.batch_size) == \
        (DEFAULT_LEARNING_RATE, DEFAULT_BATCH_SIZE)
    dropouts = [layer for layer in lora.backbone.layers if isinstance(layer, tfkit._keras.keras.layers.Dropout)]
    assert dropouts and {layer.rate for layer in dropouts} == {0.0}
    kept = with_lora(base, rank=4, base_dropout=None)  # the checkpoint's dropout
    assert any(layer.rate > 0 for layer in kept.backbone.layers if isinstance(layer, tfkit._keras.keras.layers.Dropout))


def test_mean_pooled_lora_trains_merges_round_trips_and_exports(tiny_checkpoint, toy, tmp_path):
    from tfkit.export.graph import ServingModule
    from tfkit.export.runtime import LiteRTModel
    from tfkit.export.tflite import representative_samples

    tfkit._keras.keras.utils.set_random_seed(0)
    lora = with_lora(_base(tiny_checkpoint, toy), rank=4, alpha=8, pooling="mean")
    assert "bert.pooler.dense" not in {layer.name for layer in lora.backbone.layers}
    assert {w.name.split("/")[0] for w in lora.trainable_weights if "lora" not in w.name} == {"classifier"}
    lora.compile(learning_rate=3e-3, batch_size=8)
    lora.fit(toy, epochs=2, verbose=0)
    texts = list(toy.texts)
    merged = lora.merged()
    assert type(merged) is MeanPooledClassifier
    np.testing.assert_allclose(merged.predict_logits(texts), lora.predict_logits(texts), atol=1e-5)
    again = load_lora(tiny_checkpoint, lora.save_adapter(tmp_path / "adapter"))
    assert again.lora.pooling == "mean"
    np.testing.assert_allclose(again.predict_logits(texts), lora.predict_logits(texts), atol=1e-6)
    with pytest.raises(ConfigError, match="no Hugging Face model folder"):
        lora.save_pretrained(tmp_path / "model")
    assert not (tmp_path / "model").exists()
    artifacts = tfkit.export(merged, tmp_path / "export", formats=["tflite"], quantization=["float32"], train=toy,
                             validation=toy, raw_text=False, mediapipe=False)
    module = ServingModule(merged, raw_strings=False)
    model = LiteRTModel(artifacts.path / "tflite" / "model_float32.tflite", num_threads=1)
    logits = np.concatenate([model(sample) for sample in representative_samples(module, texts)])
    np.testing.assert_allclose(logits, lora.predict_logits(texts), atol=1e-4)
