"""Real-model integration: the default MiniLM fine-tuned on a small SST-2 slice."""

from __future__ import annotations

import pytest

import tfkit

pytestmark = pytest.mark.slow


def test_minilm_on_sst2_slice_reaches_75_percent(sst2_dir, default_checkpoint, tmp_path):
    checkpoint = default_checkpoint
    train = tfkit.data.sst2("train", sst2_dir).take(2000, seed=0)
    dev = tfkit.data.sst2("dev", sst2_dir)
    clf = tfkit.TextClassifier.from_pretrained(checkpoint, labels=train.labels, max_length=64,
                                               freeze_embeddings=True)
    clf.compile(learning_rate=1e-4, batch_size=32)
    clf.fit(train, epochs=2, output_dir=tmp_path / "run", verbose=0)
    report = clf.evaluate_report(dev)
    assert report.num_examples == 872
    assert report.metrics["accuracy"] >= 0.75, report.summary()
    path = clf.save_pretrained(tmp_path / "model")
    reloaded = tfkit.TextClassifier.load(path)
    sample = list(dev.texts[:16])
    assert [p["label"] for p in reloaded.predict(sample)] == [p["label"] for p in clf.predict(sample)]
