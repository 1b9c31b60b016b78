"""Bug: a trial's callbacks watched val_macro_f1 while the search objective was val_loss, so the saved
weights were not those of the epoch whose score the trial reported."""

from __future__ import annotations

import pytest

import tfkit
from tfkit.errors import CheckpointError
from tfkit.tuning.tuner import restore_weights

# Fixed epochs and a learning rate at which the toy task is learnt in the first epoch or two: macro-F1
# then stays at its maximum (its best epoch is the first to reach it) while val_loss keeps falling (its
# best epoch is the last), so the two monitors pick different epochs.
SPACE = {"learning_rate": 5e-3, "batch_size": 16, "epochs": 4, "max_length": 16}


def test_best_model_reproduces_the_reported_objective(toy_data, tiny_checkpoint, tmp_path):
    result = tfkit.tune(toy_data, toy_data, checkpoint=tiny_checkpoint, tuner="random", max_trials=1,
                               objective="val_loss", output_dir=tmp_path / "search", space=SPACE,
                               early_stopping_patience=1)
    [row] = result.completed_trials()
    best = result.best_classifier()
    history = best.fit_record.get("history") or {}
    loss = best.evaluate(toy_data, verbose=0)["loss"]
    assert loss == pytest.approx(row["score"], rel=1e-5, abs=1e-7), (
        f"restored weights give val_loss {loss}, the trial reported {row['score']} ({history})")


def test_restore_weights_refuses_a_checkpoint_missing_model_weights(tiny_checkpoint, toy_data, tmp_path):
    def build(cls=tfkit.TextClassifier):
        clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy_data.labels, max_length=16,
                                                   precision="float32")
        model = cls(clf.backbone, clf.tokenizer, clf.config)
        model.compile()
        return model

    saved = build()
    saved.save_weights(str(tmp_path / "weights"))
    same = build()
    restore_weights(same, tmp_path / "weights")
    assert all((a == b).all() for a, b in zip(saved.get_weights(), same.get_weights()))

    class WithExtraWeight(tfkit.TextClassifier):  # one weight the checkpoint never saw
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.extra = self.add_weight(name="extra", shape=(3,), initializer="ones")

    with pytest.raises(CheckpointError, match="every weight"):
        restore_weights(build(WithExtraWeight), tmp_path / "weights")
