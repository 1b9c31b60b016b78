"""Stand-ins, until tfkit's own MediaPipe modules land: MediaPipe's metadata writer and Python TextClassifier,
each run in MediaPipe's side virtual environment.

* :func:`with_text_classifier_metadata` has the signature of
  ``tfkit.export.mediapipe_metadata.with_text_classifier_metadata`` (branch ``mediapipe``): swap the import.
* :class:`MediaPipeTextClassifier` has the interface of ``tfkit.export.mediapipe_runtime.MediaPipeTextClassifier``.
* :func:`mediapipe_classifier_file` writes the file MediaPipe's text classifier takes: the classifier's
  token-id function, softmax applied (MediaPipe reports the raw outputs as scores), builtins only, with
  text-classifier metadata (WordPiece vocabulary, labels).

The side environment's Python is ``$TFKIT_MEDIAPIPE_PYTHON``, else ``~/.cache/tfkit/venvs/mediapipe/bin/python``
(what ``scripts/test.sh`` creates), else ``/work/venvs/mediapipe/bin/python`` (the dev machine's).

Examples:
    >>> path = mediapipe_classifier_file(clf, "model.tflite")             # doctest: +SKIP
    >>> MediaPipeTextClassifier(path).scores(["a good film"])             # doctest: +SKIP
    array([[0.02, 0.98]], dtype=float32)
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Sequence

from tfkit.errors import ConfigError, TfkitError

MEDIAPIPE_VERSION = "1.2.3"
_CANDIDATES = ("~/.cache/tfkit/venvs/mediapipe/bin/python", "/work/venvs/mediapipe/bin/python")

# mediapipe 1.2.3's wheel lacks the native _pywrap_metadata_version its metadata writer imports; the writer only
# asks it for the minimum parser version of what it writes, "1.1.0" for BERT text-classifier metadata.
_WRITER = r"""
import json, sys, types
stub = types.ModuleType("_pywrap_metadata_version")
stub.GetMinimumMetadataParserVersion = lambda *args: "1.1.0"
for name in ("mediapipe.tasks.cc", "mediapipe.tasks.cc.metadata", "mediapipe.tasks.cc.metadata.python"):
    sys.modules.setdefault(name, types.ModuleType(name))
sys.modules["mediapipe.tasks.cc.metadata.python"]._pywrap_metadata_version = stub
sys.modules["mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"] = stub
from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, text_classifier
args = json.loads(sys.argv[1])
labels = metadata_writer.Labels().add(list(args["labels"]))
writer = text_classifier.MetadataWriter.create_for_bert_model(
    bytearray(open(args["model"], "rb").read()), tokenizer=metadata_writer.BertTokenizer(args["vocab"]),
    labels=labels, ids_name=args["ids"], mask_name=args["mask"], segment_name=args["segment"])
model, _ = writer.populate()
open(args["output"], "wb").write(model)
"""

_RUNNER = r"""
import json, sys
from mediapipe.tasks.python import text
from mediapipe.tasks.python.core import base_options
args = json.loads(sys.argv[1])
options = text.TextClassifierOptions(base_options=base_options.BaseOptions(model_asset_path=args["model"]),
                                     max_results=-1)
out = []
with text.TextClassifier.create_from_options(options) as classifier:
    for sentence in args["texts"]:
        head = classifier.classify(sentence).classifications[0]
        out.append({c.category_name: c.score for c in head.categories})
open(args["output"], "w").write(json.dumps(out))
"""


def mediapipe_python(python: str | os.PathLike | None = None) -> Path:
    """The Python of MediaPipe's side environment.

    Raises:
        ConfigError: none is found.
    """
    explicit = python or os.environ.get("TFKIT_MEDIAPIPE_PYTHON")
    candidates = [str(explicit)] if explicit else list(_CANDIDATES)
    for candidate in candidates:
        path = Path(candidate).expanduser()
        if path.is_file():
            return path
    raise ConfigError(
        f"Expected the Python of a virtual environment with mediapipe=={MEDIAPIPE_VERSION}. Received: none at "
        f"{', '.join(candidates)}. Create one (python -m venv ~/.cache/tfkit/venvs/mediapipe && "
        f"~/.cache/tfkit/venvs/mediapipe/bin/pip install mediapipe=={MEDIAPIPE_VERSION}) or set "
        "TFKIT_MEDIAPIPE_PYTHON to its python.")


def _run(script: str, args: dict[str, Any], python: str | os.PathLike | None, timeout: float) -> None:
    done = subprocess.run([str(mediapipe_python(python)), "-c", script, json.dumps(args)], capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise TfkitError(f"MediaPipe's side environment failed (exit {done.returncode}): {done.stderr[-2000:]}")


def with_text_classifier_metadata(flatbuffer: bytes, vocab: Sequence[str], labels: Sequence[str],
                                  name: str = "tfkit text classifier", python: str | os.PathLike | None = None,
                                  input_names: Sequence[str] = ("input_ids", "attention_mask", "token_type_ids"),
                                  ) -> bytes:
    """``flatbuffer`` with MediaPipe's BERT text-classifier metadata (vocabulary and labels packed in).

    ``input_names``: the model's id, mask and segment tensor names, in that order. ``name`` is accepted for
    the signature of tfkit's own writer; MediaPipe's writer names every model "TextClassifier".
    """
    del name
    with tempfile.TemporaryDirectory(prefix="tfkit-mp-metadata-") as folder:
        root = Path(folder)
        (root / "model.tflite").write_bytes(flatbuffer)
        (root / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        ids, mask, segment = input_names
        _run(_WRITER, {"model": str(root / "model.tflite"), "vocab": str(root / "vocab.txt"), "labels": list(labels),
                       "ids": ids, "mask": mask, "segment": segment, "output": str(root / "out.tflite")},
             python, timeout=120)
        return (root / "out.tflite").read_bytes()


def softmax_flatbuffer(classifier: Any) -> tuple[bytes, tuple[str, ...]]:
    """The classifier's float32 TFLite file on token ids ``[1, None]`` (longer inputs cut to ``max_length``),
    softmax applied; and its input tensors' names in the file (ids, mask, segment)."""
    from tfkit._keras import tf
    from tfkit.export.graph import ServingModule

    module = ServingModule(classifier, raw_strings=False)
    names = module.names

    max_length = classifier.config.max_length

    def probabilities(*tensors: tf.Tensor) -> dict[str, tf.Tensor]:
        # MediaPipe truncates only fixed-length inputs: a longer text would reach past the position embeddings
        # (GATHER index out of bounds). Cut as the Python tokenizer does: the first max_length - 1, the last.
        length = tf.shape(tensors[0])[1]
        keep = tf.minimum(length, max_length) - 1
        cut = [tf.concat([t[:, :keep], t[:, length - 1:]], axis=1) for t in tensors]
        return {"probabilities": tf.nn.softmax(module.logits(*cut)["logits"])}

    specs = [tf.TensorSpec([1, None], tf.int32, name=name) for name in names]
    function = tf.function(probabilities, input_signature=specs)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    flatbuffer = converter.convert()
    # the converter names the tensors "serving_default_<name>:0": MediaPipe's writer wants the names in the file
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_content=flatbuffer).get_input_details()
    tensor_names = tuple(next(d["name"] for d in details if d["name"].endswith(f"_{name}:0")) for name in names)
    return flatbuffer, tensor_names


def mediapipe_classifier_file(classifier: Any, path: str | os.PathLike,
                              python: str | os.PathLike | None = None) -> Path:
    """Writes the MediaPipe Tasks text-classifier file of ``classifier`` (a BERT with token type ids) to ``path``."""
    from tfkit.export.graph import wordpiece_vocab

    vocab = wordpiece_vocab(classifier.tokenizer)
    if vocab is None:
        raise ConfigError(f"Expected a WordPiece tokenizer for MediaPipe's BERT metadata. Received: "
                          f"{type(classifier.tokenizer).__name__}.")
    flatbuffer, names = softmax_flatbuffer(classifier)
    if len(names) != 3:
        raise ConfigError(f"Expected a model taking token type ids (MediaPipe's BERT input has three tensors). "
                          f"Received: inputs {names}.")
    path = Path(path)
    path.write_bytes(with_text_classifier_metadata(flatbuffer, vocab, list(classifier.config.labels),
                                                   python=python, input_names=names))
    return path


class MediaPipeTextClassifier:
    """MediaPipe's Python ``TextClassifier`` on a file, run in the side environment.

    Examples:
        >>> MediaPipeTextClassifier("model.tflite").scores(["good"])      # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, python: str | os.PathLike | None = None):
        self.path = Path(path)
        self.python = python

    def categories(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Per text, every label's score as MediaPipe reports it."""
        with tempfile.TemporaryDirectory(prefix="tfkit-mp-run-") as folder:
            output = Path(folder) / "scores.json"
            _run(_RUNNER, {"model": str(self.path.resolve()), "texts": list(texts), "output": str(output)},
                 self.python, timeout=60 + 0.5 * len(texts))
            return json.loads(output.read_text(encoding="utf-8"))

    def scores(self, texts: Sequence[str], labels: Sequence[str] | None = None) -> Any:
        """``[len(texts), len(labels)]`` float32 scores, columns in ``labels`` order (default: sorted names)."""
        import numpy as np

        rows = self.categories(texts)
        labels = list(labels) if labels is not None else sorted(rows[0]) if rows else []
        return np.array([[row[label] for label in labels] for row in rows], np.float32).reshape(len(rows), -1)
