"""Running exported files: TFLite on the LiteRT interpreter, SavedModels with ``tf.saved_model.load``.

Both runners take token features of real (unpadded) length and return logits,
so verification and benchmarks feed every format the same inputs.

Examples:
    >>> model = LiteRTModel("model_dynamic_int8.tflite", num_threads=2)     # doctest: +SKIP
    >>> model({"input_ids": ids, "attention_mask": mask}).shape             # doctest: +SKIP
    (1, 2)
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tfkit.errors import TfkitError

Features = dict[str, np.ndarray]


class RuntimeLoadError(TfkitError, RuntimeError):
    """An exported file could not be loaded or run."""


class LiteRTModel:
    """A TFLite file on ``ai_edge_litert``'s interpreter, fed inputs of any length.

    By default one interpreter serves every length, resized when the input shape changes, as an
    app runs one. Resizing a prepared interpreter costs about 0.1 ms (MiniLM, dynamic int8); a
    cache of one interpreter per shape (``max_interpreters`` > 1, least recently used first out)
    measured slower on SST-2's validation split, sentences in their own order, at 2 threads
    (``peers_sst2.json``: the ``*_per_length`` rows), each interpreter bringing its own XNNPack
    thread pool and its own packed weights. With ``bucket`` (for variants that honour the attention mask) inputs are
    padded to the next multiple of ``bucket`` tokens, so a handful of shapes serve every length,
    as an app would do with fixed length buckets.

    A file exported with a fixed batch of 1 (the default) is fed a larger batch one row
    at a time, each row cut to its real length (its attention mask).
    """

    def __init__(self, path: str | os.PathLike, num_threads: int = 2, bucket: int | None = None,
                 max_interpreters: int = 1):
        self.path = Path(path)
        self.num_threads = num_threads
        self.bucket = bucket
        self.max_interpreters = max(1, max_interpreters)
        self._prepared: OrderedDict[tuple, Any] = OrderedDict()
        first = self._new_interpreter()
        self._inputs = {input_name(d["name"]): d for d in first.get_input_details()}
        batch = int(next(iter(self._inputs.values()))["shape_signature"][0])
        self.batch_size = batch if batch > 0 else None
        self._output = first.get_output_details()[0]["index"]
        self._spare = first

    def _new_interpreter(self) -> Any:
        from ai_edge_litert.interpreter import Interpreter

        try:
            return Interpreter(model_path=str(self.path), num_threads=self.num_threads)
        except (ValueError, RuntimeError) as error:
            raise RuntimeLoadError(f"LiteRT could not load '{self.path}': {error}") from error

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(sorted(self._inputs))

    def _interpreter_for(self, shape: tuple[int, ...]) -> Any:
        interpreter = self._prepared.get(shape)
        if interpreter is not None:
            self._prepared.move_to_end(shape)
            return interpreter
        if self._spare is not None:
            interpreter, self._spare = self._spare, None
        elif len(self._prepared) >= self.max_interpreters:
            interpreter = self._prepared.popitem(last=False)[1]
        else:
            interpreter = self._new_interpreter()
        for detail in self._inputs.values():
            interpreter.resize_tensor_input(detail["index"], shape)
        interpreter.allocate_tensors()
        self._prepared[shape] = interpreter
        return interpreter

    def _pad(self, features: Features) -> Features:
        length = features["input_ids"].shape[1]
        target = -(-length // self.bucket) * self.bucket
        if target == length:
            return features
        return {name: np.pad(value, ((0, 0), (0, target - length))) for name, value in features.items()}

    def __call__(self, features: Features) -> np.ndarray:
        rows = features["input_ids"].shape[0]
        if self.batch_size == 1 and rows != 1:
            lengths = features["attention_mask"].sum(axis=1) if "attention_mask" in features \
                else [features["input_ids"].shape[1]] * rows
            return np.concatenate([self({name: value[i:i + 1, :max(int(lengths[i]), 1)]
                                         for name, value in features.items()}) for i in range(rows)])
        if self.bucket:
            features = self._pad(features)
        interpreter = self._interpreter_for(tuple(features["input_ids"].shape))
        for name, detail in self._inputs.items():
            interpreter.set_tensor(detail["index"], features[name].astype(detail["dtype"], copy=False))
        try:
            interpreter.invoke()
        except RuntimeError as error:
            raise RuntimeLoadError(f"LiteRT could not run '{self.path}': {error}") from error
        return np.array(interpreter.get_tensor(self._output), dtype=np.float32)


def tokenizer_op_registerers() -> list[Any]:
    """The registrars of tensorflow-text's tokenizer custom ops, for ``InterpreterWithCustomOps``.

    Function objects, not their names: LiteRT looks names up in its own library, where the
    tensorflow-text symbols are not ("undefined symbol")."""
    try:
        from tensorflow_text.core.pybinds import tflite_registrar
    except ImportError as error:
        raise RuntimeLoadError("Running a raw-text TFLite file in Python needs tensorflow-text's op registrar "
                               f"(pip install tensorflow-text). Received: {error}.") from error
    return [tflite_registrar.AddFastBertNormalize, tflite_registrar.AddFastWordpieceTokenize]


class RawTextLiteRTModel:
    """A raw-text TFLite file (one string in, tokenised inside) on LiteRT with the tokenizer ops registered.

    Examples:
        >>> model = RawTextLiteRTModel("model_dynamic_int8_text.tflite")          # doctest: +SKIP
        >>> model.classify("a gripping, funny film")["label"]                      # doctest: +SKIP
        'positive'
    """

    takes_text = True

    def __init__(self, path: str | os.PathLike, num_threads: int = 2):
        self.path = Path(path)
        self.num_threads = num_threads
        try:
            self.interpreter = self.fresh_interpreter()
            self._run = self.interpreter.get_signature_runner()
        except (ValueError, RuntimeError) as error:
            raise RuntimeLoadError(f"LiteRT could not load '{self.path}': {error}") from error

    def fresh_interpreter(self) -> Any:
        """A new interpreter of the file with the tokenizer ops registered (not yet allocated or
        delegated: what :func:`tfkit.export.ops.op_table` reads)."""
        from ai_edge_litert.interpreter import InterpreterWithCustomOps

        return InterpreterWithCustomOps(model_path=str(self.path), num_threads=self.num_threads,
                                        custom_op_registerers=tokenizer_op_registerers())

    def classify(self, text: str) -> dict[str, Any]:
        """Every output of the file for one text (``label`` decoded to ``str``)."""
        try:
            out = self._run(text=np.array([text], dtype=object))
        except (ValueError, RuntimeError) as error:
            raise RuntimeLoadError(f"LiteRT could not run '{self.path}' on {text[:40]!r}: {error}") from error
        if "label" in out:
            out["label"] = out["label"][0].decode("utf-8")
        return out

    def __call__(self, text: str) -> np.ndarray:
        """The logits, ``[1, outputs]``, as the token-id runners return them."""
        return np.array(self.classify(text)["logits"], dtype=np.float32)


_SMOKE_WORKER = """
import sys, numpy as np
from ai_edge_litert.interpreter import Interpreter, InterpreterWithCustomOps

def token_ids(path):
    it = Interpreter(model_path=path, num_threads=1)
    for d in it.get_input_details():
        it.resize_tensor_input(d["index"], [1, 4])
    it.allocate_tensors()
    for d in it.get_input_details():
        value = np.array([[2, 5, 6, 3]], d["dtype"]) if "input_ids" in d["name"] else \\
            np.ones((1, 4), d["dtype"]) if "mask" in d["name"] else np.zeros((1, 4), d["dtype"])
        it.set_tensor(d["index"], value)
    it.invoke()

def raw_text(path):
    from tensorflow_text.core.pybinds import tflite_registrar as R
    it = InterpreterWithCustomOps(model_path=path, num_threads=1,
                                  custom_op_registerers=[R.AddFastBertNormalize, R.AddFastWordpieceTokenize])
    it.get_signature_runner()(text=np.array(["a smoke test"], dtype=object))

for line in sys.stdin:
    kind, path = line.rstrip("\\n").split("\\t", 1)
    try:
        (raw_text if kind == "text" else token_ids)(path)
        print("ok", flush=True)
    except Exception as error:
        print("error " + " ".join(str(error).split()), flush=True)
"""


class _SmokeWorker:
    """One child process that runs TFLite files once each, restarted after a file kills it: a kernel missing
    at run time aborts the process instead of raising, and one child for many files spares each file the
    start-up (importing LiteRT, and TensorFlow for the tokenizer's kernels)."""

    def __init__(self, script: str = _SMOKE_WORKER) -> None:
        self.script = script
        self._child: subprocess.Popen | None = None
        self._log: Any = None

    def run(self, path: str | os.PathLike, raw_text: bool, timeout: float) -> None:
        import select
        import tempfile

        if self._child is None or self._child.poll() is not None:
            self._log = tempfile.TemporaryFile()  # not a pipe: the child's log lines must never fill a buffer
            self._child = subprocess.Popen([sys.executable, "-c", self.script], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1)
        child = self._child
        try:
            child.stdin.write(f"{'text' if raw_text else 'ids'}\t{path}\n")
            child.stdin.flush()
            ready, _, _ = select.select([child.stdout], [], [], timeout)
            reply = child.stdout.readline().strip() if ready else ""
        except (BrokenPipeError, OSError):
            reply = ""
        if reply == "ok":
            return
        if not reply:  # it died on this file (or hung): the next file gets a new child
            child.kill()
            code = child.wait()
            self._log.seek(0)
            lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
            self._child = None
            detail = lines[-1] if lines else "no message"
            raise RuntimeLoadError(f"LiteRT cannot run '{path}' (exit code {code}: {detail}).")
        raise RuntimeLoadError(f"LiteRT cannot run '{path}' ({reply[len('error '):]}).")

    def close(self) -> None:
        if self._child is not None and self._child.poll() is None:
            self._child.stdin.close()
            try:
                self._child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._child.kill()
        self._child = None


_WORKER = _SmokeWorker()
atexit.register(_WORKER.close)


def smoke_test(path: str | os.PathLike, timeout: float = 300.0, raw_text: bool = False) -> None:
    """Runs a TFLite file once in a child process, because a kernel that is missing at run time
    aborts the whole process instead of raising (``raw_text``: a string-input file).

    Raises:
        RuntimeLoadError: the file raised, killed the child, or did not finish in ``timeout`` s.
    """
    _WORKER.run(path, raw_text, timeout)


class SavedModelRunner:
    """A SavedModel's ``serving_default`` signature, loaded with plain ``tf.saved_model.load``."""

    def __init__(self, path: str | os.PathLike):
        from tfkit._keras import tf

        try:
            import tensorflow_text  # noqa: F401  (registers the tokenizer ops of the raw-string signature)
        except ImportError:
            pass
        self.path = Path(path)
        try:
            self._loaded = tf.saved_model.load(str(self.path))
        except (OSError, ValueError, tf.errors.OpError) as error:
            raise RuntimeLoadError(f"tf.saved_model.load could not load '{self.path}': {error}") from error
        self._serving = self._loaded.signatures["serving_default"]
        self._names = set(self._serving.structured_input_signature[1])
        self._tf = tf

    def __call__(self, features: Features) -> np.ndarray:
        inputs = {name: self._tf.constant(value, self._tf.int32) for name, value in features.items()
                  if name in self._names}
        return self._serving(**inputs)["logits"].numpy()

    def classify_text(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The raw-string signature's outputs for ``texts``."""
        if "classify_text" not in self._loaded.signatures:
            raise RuntimeLoadError(f"'{self.path}' has no classify_text signature (exported with raw_strings=False).")
        out = self._loaded.signatures["classify_text"](text=self._tf.constant(list(texts)))
        return {key: value.numpy() for key, value in out.items()}


def input_name(tensor_name: str) -> str:
    # "serving_default_input_ids:0" -> "input_ids"
    name = tensor_name.split(":")[0]
    return name[len("serving_default_"):] if name.startswith("serving_default_") else name
