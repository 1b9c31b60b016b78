"""Raw-text TFLite: the ids made inside the file equal the HF fast tokenizer's, and the file classifies as
the token-id file does (tiny BERT with its own vocabulary)."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
import pytest

import tfkit
from tfkit._keras import tf
from tfkit.export import Quantization
from tfkit.export.edge import NOT_WORDPIECE, PAIR_TEXT
from tfkit.export.graph import InGraphTokenizer
from tfkit.export.runtime import LiteRTModel, RawTextLiteRTModel, tokenizer_op_registerers

from tests.export.conftest import ALL

WORDS = "the film was great cafe naive resume good bad fine strasse".split()
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789!?.,;:'\"-()&%$#@") + list("日本語中文한국어") + ["😀", "👍", "ß"]

# Inputs on which TF-Text's FastBertTokenizer and the HF fast tokenizer give the same ids.
SAME = {
    "accents": "Café naïve RÉSUMÉ",
    "cjk": "日本語 中文 한국어",
    "emoji": "great 😀👍 film",
    "punctuation_runs": "good!!! ...??? (bad) --- &&",
    "over_long_truncated": "the film was great " * 20,
    "empty": "",
    "only_spaces": "   ",
    "mixed_case": "The FILM, was: 'great'!",
    "tab_newline": "good\tbad\nfilm",
    "zero_width_space": "go\u200bod",
    "no_break_space": "good\u00a0bad",
    "circled_digits": "①②",
}

# Known differences (listed in the README): TF-Text folds with NFKC + case folding where HF lower-cases
# and strips accents only, drops control characters, and reads literal "[CLS]" text as characters.
# Each pins what TF-Text gives as the HF tokenizer's ids of an equivalent text.
DIFFERENT = {
    "eszett_casefolded": ("straße", "strasse"),
    "ligature_nfkc": ("ﬁne", "fine"),
    "fullwidth_nfkc": ("ｇｏｏｄ", "good"),
    "control_characters_dropped": ("good\x07bad\x00", "good bad"),
}


@pytest.fixture(scope="module")
def hf_tokenizer():
    from transformers import BertTokenizerFast

    folder = tempfile.mkdtemp(prefix="tfkit-raw-text-vocab-")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + CHARS + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(vocab) + "\n")
    return BertTokenizerFast(vocab_file=os.path.join(folder, "vocab.txt"), do_lower_case=True)


@pytest.fixture(scope="module")
def in_file_ids(hf_tokenizer, tmp_path_factory):
    """A TFLite file of the exported files' tokenizer part alone (``InGraphTokenizer.single``), run on LiteRT."""
    tokenizer = InGraphTokenizer(hf_tokenizer, max_length=16, with_token_types=True)

    class Tokenize(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = tokenizer

        @tf.function(input_signature=[tf.TensorSpec([1], tf.string, name="text")])
        def features(self, text):
            return self.tokenizer.single(text)

    module = Tokenize()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.features.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = True
    path = tmp_path_factory.mktemp("tokenizer") / "tokenizer.tflite"
    path.write_bytes(converter.convert())
    from ai_edge_litert.interpreter import InterpreterWithCustomOps

    run = InterpreterWithCustomOps(model_path=str(path),
                                   custom_op_registerers=tokenizer_op_registerers()).get_signature_runner()
    return lambda text: run(text=np.array([text], dtype=object))


@pytest.mark.parametrize("case", sorted(SAME))
def test_ids_made_inside_the_file_equal_the_hf_tokenizers(case, in_file_ids, hf_tokenizer):
    out = in_file_ids(SAME[case])
    expected = hf_tokenizer(SAME[case], truncation=True, max_length=16)["input_ids"]
    assert out["input_ids"][0].tolist() == expected
    assert out["attention_mask"][0].tolist() == [1] * len(expected)
    assert out["token_type_ids"][0].tolist() == [0] * len(expected)


@pytest.mark.parametrize("case", sorted(DIFFERENT))
def test_known_differences_from_the_hf_tokenizer_are_pinned(case, in_file_ids, hf_tokenizer):
    text, as_tf_text_reads_it = DIFFERENT[case]
    ours = in_file_ids(text)["input_ids"][0].tolist()
    assert ours != hf_tokenizer(text)["input_ids"]
    assert ours == hf_tokenizer(as_tf_text_reads_it)["input_ids"]


def test_literal_special_token_text_is_read_as_characters(in_file_ids, hf_tokenizer):
    ours = in_file_ids("[CLS] good [SEP]")["input_ids"][0].tolist()
    assert hf_tokenizer("[CLS] good [SEP]")["input_ids"] == [2, 2, hf_tokenizer.vocab["good"], 3, 3]
    assert ours.count(2) == 1 and ours.count(3) == 1  # only the file's own [CLS] and [SEP]
    assert hf_tokenizer.vocab["good"] in ours


@pytest.fixture(scope="module")
def toy(trained_toy_data):
    return trained_toy_data


@pytest.fixture(scope="module")
def exported(trained_toy, toy_export):
    """Every variant with its raw-text file (tests/export/conftest.py)."""
    return trained_toy, toy_export


@pytest.mark.parametrize("quantization", ALL)
def test_the_raw_text_file_classifies_as_the_token_id_file(exported, toy, quantization):
    clf, artifacts = exported
    variant = artifacts[f"{quantization}_text"]
    assert variant.format == "raw_text_tflite" and variant.status == "accepted"
    assert variant.extra["agreement_with_ids_file"] == 1.0
    assert artifacts[quantization].extra["edge_files"]["raw_text"] == variant.path
    manifest = json.loads(artifacts.file(variant.name).with_suffix(".json").read_text())
    assert manifest["format"] == "raw_text_tflite" and manifest["labels"] == list(clf.config.labels)
    assert manifest["inputs"] == {"text": {"dtype": "string", "shape": [1]}}
    assert set(manifest["outputs"]) == {"logits", "scores", "label_index", "label"}
    text_model = RawTextLiteRTModel(artifacts.file(variant.name))
    ids_model = LiteRTModel(artifacts.file(quantization))
    for text in list(toy.texts[:8]) + ["", "the film " * 40]:
        enc = clf.tokenizer(text, truncation=True, max_length=16, return_tensors="np")
        ids_logits = ids_model({name: enc[name].astype(np.int32) for name in ids_model.input_names})
        out = text_model.classify(text)
        # uncalibrated variants: the same weights, the same arithmetic; calibrated ones (full_int8, int16x8):
        # each graph has its own calibration of the same texts, so activation ranges (and logits) may differ a little
        calibrated = Quantization(quantization).calibrated
        np.testing.assert_allclose(out["logits"], ids_logits, atol=0.1 if calibrated else 1e-4)
        index = int(np.argmax(ids_logits))
        assert out["label_index"].tolist() == [index]
        assert out["label"] == clf.config.labels[index]  # the label name travels inside the file
        np.testing.assert_allclose(out["scores"].sum(), 1.0, atol=1e-3 if calibrated else 1e-5)  # int16 softmax


def test_the_full_int8_raw_text_file_keeps_the_same_ops_in_float(exported):
    _, artifacts = exported
    ids_ops = artifacts["full_int8"].extra["integer_only"]["float_ops"]
    text_ops = artifacts["full_int8_text"].extra["integer_only"]["float_ops"]
    assert {op: n for op, n in text_ops.items() if op not in ("CAST", "ARG_MAX", "GATHER")} == \
        {op: n for op, n in ids_ops.items() if op not in ("CAST", "ARG_MAX", "GATHER")}


def test_pair_models_get_a_reason_instead_of_a_raw_text_file(tiny_checkpoint, tmp_path):
    pairs = tfkit.data.load({"a": ["good film", "bad plot"] * 8, "b": ["it is good", "boring"] * 8,
                             "label": ["pos", "neg"] * 8}, text="a", text_pair="b")
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=pairs.labels, max_length=16,
                                               precision="float32")
    messages: list[str] = []
    artifacts = tfkit.export(clf, tmp_path / "export", formats=["tflite"], quantization=["float32"],
                             validation=pairs, log=messages.append)
    assert [v.name for v in artifacts.variants] == ["float32"]
    assert artifacts["float32"].extra["edge_files"] == {"raw_text": f"not written: {PAIR_TEXT}",
                                                       "mediapipe": f"not written: {PAIR_TEXT}"}
    assert any(PAIR_TEXT in m for m in messages)


def test_non_wordpiece_tokenizers_get_a_reason(tmp_path, toy):
    from transformers import RobertaTokenizerFast

    from tfkit.testing import write_tiny_checkpoint

    checkpoint = write_tiny_checkpoint(tmp_path / "roberta", "roberta", seed=0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {token: i for i, token in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>", *letters,
                                                 *("\u0120" + c for c in letters[:13])])}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (checkpoint / name).unlink(missing_ok=True)
    RobertaTokenizerFast(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt")).save_pretrained(str(checkpoint))
    clf = tfkit.TextClassifier.from_pretrained(checkpoint, labels=toy.labels, max_length=16, precision="float32")
    assert type(clf.tokenizer).__name__ == "RobertaTokenizerFast"  # BPE: no in-graph tokenizer for it
    messages: list[str] = []
    artifacts = tfkit.export(clf, tmp_path / "export", formats=["tflite"], quantization=["float32"],
                             validation=toy, log=messages.append)
    assert [v.name for v in artifacts.variants] == ["float32"]
    assert artifacts["float32"].extra["edge_files"] == {"raw_text": f"not written: {NOT_WORDPIECE}",
                                                       "mediapipe": f"not written: {NOT_WORDPIECE}"}
    assert any(NOT_WORDPIECE in m for m in messages)


def test_multi_label_models_get_a_raw_text_file_and_a_reason_for_mediapipe(tiny_checkpoint, tmp_path):
    data = tfkit.data.from_lists(["good film", "bad plot", "good plot"] * 8, [["a", "b"], ["b"], ["a"]] * 8)
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=data.labels, task="multi_label",
                                               max_length=16, precision="float32")
    artifacts = tfkit.export(clf, tmp_path / "export", formats=["tflite"], quantization=["float32"],
                             validation=data, log=lambda _: None)
    assert [v.name for v in artifacts.variants] == ["float32", "float32_text"]
    assert artifacts["float32"].extra["edge_files"]["mediapipe"].startswith("not written: MediaPipe Tasks' "
                                                                            "TextClassifier is single-label")
    out = RawTextLiteRTModel(artifacts.file("float32_text")).classify("good film")
    assert set(out) == {"logits", "scores"}
    np.testing.assert_allclose(out["scores"], 1 / (1 + np.exp(-out["logits"])), atol=1e-6)  # sigmoid per label
    np.testing.assert_allclose(out["logits"], clf.predict_logits(["good film"]), atol=1e-4)
