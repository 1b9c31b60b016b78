"""Bug: a sentence-pair model got a single-text classify_text signature whose agreement came out NaN."""

from __future__ import annotations

import json
import math

import pytest

import tfkit
from tfkit.export.exporter import PAIR_NO_RAW_STRINGS
from tfkit.export.runtime import RuntimeLoadError, SavedModelRunner


def test_a_pair_model_gets_no_single_text_signature_and_says_why(tiny_checkpoint, tmp_path):
    first = ["good film", "bad plot", "great story", "dull actor"] * 4
    second = ["it is good", "it was bad", "very good", "boring"] * 4
    pairs = tfkit.data.load({"a": first, "b": second, "label": ["pos", "neg", "pos", "neg"] * 4}, text="a",
                            text_pair="b")
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=pairs.labels, max_length=16,
                                               precision="float32")
    messages: list[str] = []
    artifacts = tfkit.export(clf, tmp_path / "export", formats=["saved_model"], validation=pairs,
                             log=messages.append)
    variant = artifacts["saved_model"]
    assert variant.status == "accepted"
    manifest = json.loads((tmp_path / "export" / "saved_model.json").read_text())
    assert manifest["signatures"] == ["serving_default"]
    assert manifest["classify_text"] == PAIR_NO_RAW_STRINGS
    assert "raw_string_agreement" not in manifest
    assert not any(isinstance(v, float) and math.isnan(v) for v in manifest.values())
    assert any(PAIR_NO_RAW_STRINGS in m for m in messages)
    runner = SavedModelRunner(tmp_path / "export" / "saved_model")
    with pytest.raises(RuntimeLoadError, match="no classify_text signature"):
        runner.classify_text(["good film"])
