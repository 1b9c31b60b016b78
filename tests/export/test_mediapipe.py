"""MediaPipe Tasks TextClassifier files: metadata written without MediaPipe, then run by MediaPipe itself.

Without MediaPipe: the metadata reads back (names in the model's input order, tokenizer, files), re-tagging is
idempotent, bad files get a named error. With MediaPipe (the ``mediapipe==1.2.3`` side environment of
``tfkit.export.mediapipe_runtime``): the file equals MediaPipe's own writer's output but for zip dates, loads in
``TextClassifier`` with the label names, scores as LiteRT does on HF-tokenised ids, MediaPipe's inputs equal the HF
tokenizer's for ASCII text (an echo model), failures are reported, and ``tfkit.export``'s MediaPipe file runs.

Outside CI the MediaPipe tests skip when the side environment is missing (set ``TFKIT_MEDIAPIPE_PYTHON`` to an
interpreter with MediaPipe, or build it once with
``python -c "from tfkit.export.mediapipe_runtime import mediapipe_python as m; m(create=True)"``); with ``CI=true``
they build it (about 1.5 minutes, once per cache).
"""

from __future__ import annotations

import numpy as np
import pytest

import tfkit
from tfkit._keras import keras, tf
from tfkit.errors import MetadataError
from tfkit.export import LiteRTModel, Quantization
from tfkit.export.edge_graphs import MediaPipeGraph
from tfkit.export.graph import ServingModule, wordpiece_vocab
from tfkit.export.tflite import convert
from tfkit.export.mediapipe_metadata import METADATA_FIELD, read_metadata, with_text_classifier_metadata

from tests.conftest import IN_CI, require, toy_texts

TEXTS = ["the film good great", "the film bad awful", "good", "the film was boring and the plot was weak",
         "a wonderful story but a poor actor", "fun",  # ASCII lower case: MediaPipe and HF tokenise alike
         "the film was good and the plot was great and the actor was very good but the song was bad"]  # > 16 tokens


@pytest.fixture(scope="module")
def classifier(tiny_checkpoint):
    keras.utils.set_random_seed(0)  # module-scoped: built before the per-test seed
    texts, labels = toy_texts(48)
    toy = tfkit.data.from_lists(texts, labels)
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy.labels, max_length=16,
                                               precision="float32")
    clf.compile(learning_rate=3e-3, batch_size=8)
    clf.fit(toy, epochs=10, verbose=0)  # has learnt the toy task: a wrong label order or input would show
    assert clf.evaluate(toy, verbose=0)["accuracy"] > 0.9
    return clf


def _convert(function, module=None) -> bytes:
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


@pytest.fixture(scope="module")
def scores_file(classifier) -> bytes:
    """The export's MediaPipe graph: int32 ``[1, None]`` input_ids/attention_mask/token_type_ids, truncated in the
    graph to max_length (keeping the final [SEP]), softmax scores out."""
    graph = MediaPipeGraph(ServingModule(classifier, raw_strings=False))
    return convert(graph, Quantization.FLOAT32, function=graph.concrete())


@pytest.fixture(scope="module")
def tagged(classifier, scores_file, tmp_path_factory):
    path = tmp_path_factory.mktemp("mediapipe") / "model_mediapipe.tflite"
    path.write_bytes(with_text_classifier_metadata(
        scores_file, vocab=wordpiece_vocab(classifier.tokenizer), labels=list(classifier.config.labels),
        name="TextClassifier", description="Classify the input text into a set of known categories."))
    return path


def _litert_scores(path, classifier, texts) -> np.ndarray:
    model = LiteRTModel(path)
    rows = []
    for text in texts:
        enc = classifier.tokenizer([text], truncation=True, max_length=classifier.config.max_length,
                                   return_tensors="np")
        rows.append(model({name: enc[name].astype(np.int32) for name in model.input_names}))
    return np.concatenate(rows)


def test_metadata_round_trips(tagged, classifier, scores_file):
    data = tagged.read_bytes()
    metadata = read_metadata(data)
    assert metadata["name"] == "TextClassifier" and metadata["min_parser_version"] == "1.1.0"
    assert metadata["description"].startswith("Classify")
    # Each model input carries the metadata name MediaPipe looks its tensor up by.
    roles = {entry["name"]: entry["tensor"] for entry in metadata["inputs"]}
    assert roles == {"ids": "serving_default_input_ids:0", "mask": "serving_default_attention_mask:0",
                     "segment_ids": "serving_default_token_type_ids:0"}
    (tokenizer,) = metadata["input_process_units"]
    assert tokenizer["options_type"] == 4  # BertTokenizerOptions
    assert tokenizer["vocab_file"] == [{"name": "vocab.txt", "type": 5, "description": tokenizer["vocab_file"][0][
        "description"]}]
    (score,) = metadata["outputs"]
    assert score["name"] == "score" and (score["min"], score["max"]) == ([0.0], [1.0])
    assert [(f["name"], f["type"]) for f in score["associated_files"]] == [("labels.txt", 2)]  # TENSOR_AXIS_LABELS
    assert metadata["labels"] == list(classifier.config.labels)
    assert metadata["vocab"] == wordpiece_vocab(classifier.tokenizer)
    assert list(metadata["files"]) == ["vocab.txt", "labels.txt"]
    # The model itself is unchanged: the tagged file computes what the plain one does.
    plain = tagged.with_name("plain.tflite")
    plain.write_bytes(scores_file)
    np.testing.assert_array_equal(_litert_scores(tagged, classifier, TEXTS[:2]),
                                  _litert_scores(plain, classifier, TEXTS[:2]))


def test_tagging_again_replaces_the_metadata(tagged, classifier):
    from ai_edge_litert import schema_py_generated as schema

    data = tagged.read_bytes()
    vocab = wordpiece_vocab(classifier.tokenizer)
    again = with_text_classifier_metadata(data, vocab=vocab, labels=["no", "yes"], name="Other")
    assert read_metadata(again)["labels"] == ["no", "yes"] and read_metadata(again)["name"] == "Other"
    model = schema.Model.GetRootAs(again, 0)
    names = [model.Metadata(i).Name().decode() for i in range(model.MetadataLength())]
    assert names.count(METADATA_FIELD) == 1
    # Same arguments, same bytes: re-tagging is idempotent and the output reproducible (fixed zip dates).
    assert with_text_classifier_metadata(
        again, vocab=vocab, labels=list(classifier.config.labels), name="TextClassifier",
        description="Classify the input text into a set of known categories.") == data


@pytest.fixture(scope="module")
def two_input_file() -> bytes:
    @tf.function(input_signature=[tf.TensorSpec([1, None], tf.int32, name="input_ids"),
                                  tf.TensorSpec([1, None], tf.int32, name="attention_mask")])
    def scores(input_ids, attention_mask):
        total = tf.cast(tf.reduce_sum(input_ids * attention_mask, axis=1, keepdims=True), tf.float32)
        return {"probabilities": tf.concat([total, -total], axis=1)}

    return _convert(scores)


def test_a_missing_input_is_named(two_input_file, scores_file):
    with pytest.raises(MetadataError, match=r"Expected .*Received: inputs .*not found: segment_ids='token_type_ids'"):
        with_text_classifier_metadata(two_input_file, vocab=["[PAD]"], labels=["a", "b"], name="x")
    with pytest.raises(MetadataError, match="not found: ids='word_ids'"):
        with_text_classifier_metadata(scores_file, vocab=["[PAD]"], labels=["a", "b"], name="x", ids_name="word_ids")
    with pytest.raises(MetadataError, match=r"shape \[1, 3\].*Received: shape \[1, 2\]"):
        with_text_classifier_metadata(scores_file, vocab=["[PAD]"], labels=["a", "b", "c"], name="x")
    with pytest.raises(MetadataError, match="Expected a TFLite flatbuffer"):
        with_text_classifier_metadata(b"not a model at all", vocab=["[PAD]"], labels=["a", "b"], name="x")
    with pytest.raises(MetadataError, match="TFLITE_METADATA"):
        read_metadata(scores_file)


@pytest.fixture(scope="module")
def mediapipe():
    from tfkit.export.mediapipe_runtime import mediapipe_python

    python = mediapipe_python(create=IN_CI)  # in CI a failed build fails the test (SideEnvError)
    require(python is not None, "no MediaPipe side environment (set TFKIT_MEDIAPIPE_PYTHON, or build it with "
                                "tfkit.export.mediapipe_runtime.mediapipe_python(create=True))")
    return python


MEDIAPIPE_WRITER = """
import sys, types
# MediaPipe 1.2.x's metadata.py imports a native module its wheel no longer ships; this stands in for it with the
# value that module computes for a BERT classifier (input_process_units, BertTokenizerOptions: 1.1.0).
stub = types.ModuleType("_pywrap_metadata_version")
stub.GetMinimumMetadataParserVersion = lambda buffer: "1.1.0"
for name in ("mediapipe.tasks.cc", "mediapipe.tasks.cc.metadata", "mediapipe.tasks.cc.metadata.python"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["mediapipe.tasks.cc.metadata.python"]._pywrap_metadata_version = stub
sys.modules["mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"] = stub
from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, text_classifier
model, vocab, out, *labels = sys.argv[1:]
writer = text_classifier.MetadataWriter.create_for_bert_model(
    bytearray(open(model, "rb").read()), metadata_writer.BertTokenizer(vocab), metadata_writer.Labels().add(labels),
    ids_name="serving_default_input_ids:0", mask_name="serving_default_attention_mask:0",
    segment_name="serving_default_token_type_ids:0")
open(out, "wb").write(writer.populate()[0])
"""


@pytest.mark.slow
def test_the_file_equals_mediapipe_writers_but_for_zip_dates(mediapipe, scores_file, tagged, classifier, tmp_path):
    import subprocess

    from tfkit.export.mediapipe_metadata import metadata_buffer

    model, vocab, theirs = tmp_path / "plain.tflite", tmp_path / "vocab.txt", tmp_path / "theirs.tflite"
    model.write_bytes(scores_file)
    vocab.write_text("".join(f"{token}\n" for token in wordpiece_vocab(classifier.tokenizer)), encoding="utf-8")
    subprocess.run([str(mediapipe), "-c", MEDIAPIPE_WRITER, str(model), str(vocab), str(theirs),
                    *classifier.config.labels], check=True, capture_output=True)
    ours, theirs = tagged.read_bytes(), theirs.read_bytes()
    assert metadata_buffer(ours) == metadata_buffer(theirs)
    assert read_metadata(ours)["files"] == read_metadata(theirs)["files"]
    # Byte for byte, but for the zip's date and time fields (2 files x local and central header x 4 bytes):
    # MediaPipe stamps the time of writing, tfkit a fixed date.
    assert len(ours) == len(theirs)
    assert sum(a != b for a, b in zip(ours, theirs)) <= 16


# slow: in CI the first run builds the MediaPipe side environment (pip, minutes); the calls take ~2 s.
@pytest.mark.slow
def test_mediapipe_loads_the_file_and_scores_like_litert(mediapipe, tagged, classifier):
    from tfkit.export.mediapipe_runtime import MediaPipeTextClassifier

    with MediaPipeTextClassifier(tagged, python=mediapipe) as model:
        assert model.labels == tuple(classifier.config.labels) and model.version == "1.2.3"
        scores = model.scores(TEXTS)
        assert len(model.latencies_ms) == len(TEXTS) and min(model.latencies_ms) > 0
    # MediaPipe's own C++ tokenizer, from the packed vocabulary, gives the ids the HF tokenizer gives.
    np.testing.assert_allclose(scores, _litert_scores(tagged, classifier, TEXTS), atol=1e-5)
    expected = [p["label"] for p in classifier.predict(TEXTS)]
    assert [model.labels[i] for i in scores.argmax(axis=1)] == expected
    assert len(set(expected)) == 2


@pytest.mark.slow
def test_the_worker_ignores_a_jupyter_kernels_matplotlib_backend(mediapipe, tagged, monkeypatch):
    """Bug: from a notebook, MPLBACKEND=module://matplotlib_inline... reached the side environment, where
    mediapipe's matplotlib import refused it and the file did not load."""
    from tfkit.export.mediapipe_runtime import MediaPipeTextClassifier

    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PYTHONPATH", "/nonexistent-tfkit-path")
    with MediaPipeTextClassifier(tagged, python=mediapipe) as model:
        assert model.scores(TEXTS[:2]).shape == (2, len(model.labels))


@pytest.fixture(scope="module")
def echo_file(classifier, tmp_path_factory):
    """A model whose "scores" are its inputs: the first 8 ids, mask values and segment ids (-1 past the end), and
    the length: what MediaPipe feeds it, read straight off its scores. The length goes through a 64-row table, as
    positions do in BERT, so a longer input fails inside MediaPipe's interpreter."""
    @tf.function(input_signature=[tf.TensorSpec([1, None], tf.int32, name=name)
                                  for name in ("input_ids", "attention_mask", "token_type_ids")])
    def echo(input_ids, attention_mask, token_type_ids):
        parts = [tf.cast(tf.pad(t, [[0, 0], [0, ECHO]], constant_values=-1)[:, :ECHO], tf.float32)
                 for t in (input_ids, attention_mask, token_type_ids)]
        length = tf.gather(tf.range(1, ECHO_POSITIONS + 1, dtype=tf.float32), tf.shape(input_ids)[1:2] - 1)[None, :]
        return {"echo": tf.reshape(tf.concat([*parts, length], axis=1), [1, 3 * ECHO + 1])}

    labels = [f"{kind}{i}" for kind in ("id", "mask", "segment") for i in range(ECHO)] + ["length"]
    path = tmp_path_factory.mktemp("echo") / "echo.tflite"
    path.write_bytes(with_text_classifier_metadata(_convert(echo), vocab=wordpiece_vocab(classifier.tokenizer),
                                                   labels=labels, name="echo"))
    return path


ECHO, ECHO_POSITIONS = 8, 64


@pytest.mark.slow
def test_mediapipe_feeds_the_hf_tokenizer_inputs_for_ascii_text(mediapipe, echo_file, classifier):
    from tfkit.export.mediapipe_runtime import MediaPipeTextClassifier

    texts = ["good film", "GOOD Film!", "  the  plot, it was bad  ", "", "the " * 11]
    with MediaPipeTextClassifier(echo_file, python=mediapipe) as model:
        echoed = model.scores(texts + ["gööd"]).astype(int)  # raw outputs: MediaPipe applies no softmax
    for text, row in zip(texts, echoed):
        ids = classifier.tokenizer(text)["input_ids"]  # no padding, no truncation: MediaPipe does neither
        pad = [-1] * max(ECHO - len(ids), 0)
        assert row[-1] == len(ids)
        assert list(row[:ECHO]) == (ids + pad)[:ECHO], text
        assert list(row[ECHO:2 * ECHO]) == ([1] * len(ids) + pad)[:ECHO]
        assert list(row[2 * ECHO:3 * ECHO]) == ([0] * len(ids) + pad)[:ECHO]
    # A known difference (MediaPipe 1.2.3): it lower-cases ASCII only and keeps accents, HF's uncased BERT strips
    # them: "gööd" is [UNK] to MediaPipe, "good" to HF.
    unk, good = classifier.tokenizer.unk_token_id, classifier.tokenizer.convert_tokens_to_ids("good")
    assert classifier.tokenizer("gööd")["input_ids"][1] == good and echoed[-1][1] == unk


@pytest.mark.slow
def test_a_failed_call_says_whether_the_worker_survived(mediapipe, echo_file):
    from tfkit.export.mediapipe_runtime import MediaPipeError, MediaPipeTextClassifier

    model = MediaPipeTextClassifier(echo_file, python=mediapipe)
    try:
        assert model.scores(["good " * (ECHO_POSITIONS - 2)])[0, -1] == ECHO_POSITIONS  # the longest that fits
        # MediaPipe neither pads nor truncates a dynamic-length model's inputs: one token more overruns the table,
        # and MediaPipe 1.2.3's classifier then fails every later call too (the worker's retry finds that out).
        with pytest.raises(MediaPipeError, match=r"failed on texts\[1\] \(of 2\) \(the worker stopped") as failure:
            model.scores(["good", "good " * (ECHO_POSITIONS - 1)])
        assert failure.value.usable is False
        with pytest.raises(MediaPipeError, match="closed"):
            model.scores(["good"])
    finally:
        model.close()
    with pytest.raises(MediaPipeError, match="could not load"):
        MediaPipeTextClassifier(echo_file.with_name("missing.tflite"), python=mediapipe)
    with pytest.raises(MediaPipeError, match="Expected a python with MediaPipe"):
        MediaPipeTextClassifier(echo_file, python=echo_file.with_name("no-python"))


@pytest.mark.slow
def test_the_exported_mediapipe_file_runs_in_mediapipe(mediapipe, classifier, tmp_path):
    from tfkit.export.mediapipe_runtime import MediaPipeTextClassifier

    texts, labels = toy_texts(16, seed=1)
    toy = tfkit.data.from_lists(texts, labels)
    exported = tfkit.export(classifier, tmp_path / "export", formats=["tflite"], quantization=["dynamic_int8"],
                            validation=toy, raw_strings=False, raw_text=False, mediapipe=True,
                            log=lambda _: None)
    path = exported.file("dynamic_int8_mediapipe")
    assert read_metadata(path.read_bytes())["labels"] == list(classifier.config.labels)
    with MediaPipeTextClassifier(path, python=mediapipe) as model:
        assert model.labels == tuple(classifier.config.labels)
        np.testing.assert_allclose(model.scores(TEXTS), _litert_scores(path, classifier, TEXTS), atol=1e-5)
