"""Running a MediaPipe-tagged TFLite file in MediaPipe Tasks' own ``TextClassifier``.

MediaPipe is not a tfkit dependency (its ``absl-py`` pin conflicts with TF-MOT's),
so :class:`MediaPipeTextClassifier` runs ``TextClassifier`` in a persistent worker
subprocess of a side virtual environment (:func:`mediapipe_python`), speaking JSON
lines over its stdin/stdout. MediaPipe tokenises in its C++ code from the file's
metadata (:mod:`tfkit.export.mediapipe_metadata`); what it reports as a category's
score is the model's raw output.

Examples:
    >>> with MediaPipeTextClassifier("model_mediapipe.tflite") as model:       # doctest: +SKIP
    ...     model.scores(["a great film"])
    array([[0.03, 0.97]], dtype=float32)
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tfkit._side_env import existing_side_python, side_python
from tfkit.errors import TfkitError

MEDIAPIPE_VERSION = "1.2.3"
MEDIAPIPE_REQUIREMENTS = (f"mediapipe=={MEDIAPIPE_VERSION}",)
ENV_NAME = f"mediapipe-{MEDIAPIPE_VERSION}"
WORKER = Path(__file__).with_name("_mediapipe_worker.py")


class MediaPipeError(TfkitError, RuntimeError):
    """MediaPipe Tasks could not load or run a file; ``usable`` says whether the worker still answers."""

    def __init__(self, message: str, usable: bool = False):
        super().__init__(message)
        self.usable = usable


def mediapipe_python(create: bool = False) -> Path | None:
    """The python of a side environment with ``mediapipe==1.2.3``, or None if there is none and not ``create``.

    ``$TFKIT_MEDIAPIPE_PYTHON`` names an existing interpreter to use instead (e.g. a developer's venv).

    Args:
        create: Build the environment (``pip install``, minutes) when it is missing.

    Raises:
        SideEnvError: ``create`` was asked and the environment could not be built.

    Examples:
        >>> mediapipe_python(create=True)                                       # doctest: +SKIP
        PosixPath('/home/me/.cache/tfkit/envs/mediapipe-1.2.3/bin/python')
    """
    override = os.environ.get("TFKIT_MEDIAPIPE_PYTHON")
    if override:
        return Path(override)
    if create:
        return side_python(ENV_NAME, MEDIAPIPE_REQUIREMENTS)
    return existing_side_python(ENV_NAME, MEDIAPIPE_REQUIREMENTS)


def worker_environment() -> dict[str, str]:
    """The caller's environment without what belongs to tfkit's Python: the side environment has its own
    packages (no ``PYTHONPATH``/``PYTHONHOME``), and a Jupyter kernel's ``MPLBACKEND``
    (``module://matplotlib_inline...``) names a backend mediapipe's matplotlib import cannot load."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "MPLBACKEND")}
    env["MPLBACKEND"] = "Agg"
    return env


class MediaPipeTextClassifier:
    """A TFLite file with MediaPipe text-classifier metadata, run by MediaPipe Tasks in a worker process.

    Args:
        model_path: The ``.tflite`` file (with metadata, vocabulary and labels packed).
        python: The side environment's python; default :func:`mediapipe_python` (built if missing).
        timeout: Seconds to wait for the worker to load the model, and for a call (plus half a second a text).

    Attributes:
        labels: Label names by output index, as MediaPipe reads them from the file.
        version: The worker's MediaPipe version.
        latencies_ms: Milliseconds of each ``classify`` call so far, measured inside the worker
            (MediaPipe's tokenisation included, the inter-process transfer excluded).

    Examples:
        >>> with MediaPipeTextClassifier("model_mediapipe.tflite") as model:   # doctest: +SKIP
        ...     model.labels
        ('neg', 'pos')
    """

    def __init__(self, model_path: str | os.PathLike, python: str | os.PathLike | None = None,
                 timeout: float = 120.0):
        self.model_path = Path(model_path)
        self.python = Path(python) if python is not None else mediapipe_python(create=True)
        self.timeout = timeout
        self.latencies_ms: list[float] = []
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        try:
            self._process: subprocess.Popen | None = subprocess.Popen(
                [str(self.python), "-u", str(WORKER), str(self.model_path)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self._log, text=True, encoding="utf-8", env=worker_environment())
        except OSError as error:
            self._process = None
            raise MediaPipeError(f"Expected a python with MediaPipe. Received: python={str(self.python)!r}, "
                                 f"which could not start ({error}). Use mediapipe_python(create=True).") from error
        hello = self._receive("load", self.timeout)
        if not hello.get("ok"):
            message = f"MediaPipe could not load '{self.model_path}': {hello.get('error')}{self._stderr_tail()}"
            self.close()
            raise MediaPipeError(message)
        self.labels: tuple[str, ...] = tuple(hello["labels"])
        self.version: str = hello["mediapipe"]

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """MediaPipe's score of every label for each text, ``[len(texts), len(labels)]``, by label index.

        Raises:
            MediaPipeError: A call failed; ``error.usable`` says whether this instance can still be used
                (if not, it is closed).
        """
        if self._process is None:
            raise MediaPipeError(f"The MediaPipe worker for '{self.model_path}' is closed.")
        if isinstance(texts, str):
            texts = [texts]
        try:
            self._process.stdin.write(json.dumps({"texts": list(texts)}) + "\n")
            self._process.stdin.flush()
        except OSError as error:  # the worker is gone (a broken pipe)
            self.close()
            raise MediaPipeError(f"The MediaPipe worker for '{self.model_path}' stopped: {error}."
                                 f"{self._stderr_tail()}") from error
        reply = self._receive("classify", self.timeout + 0.5 * len(texts))
        if not reply.get("ok"):
            usable = bool(reply.get("usable"))
            log = self._stderr_tail()
            if not usable:
                self.close()
            state = "the worker is still usable" if usable else "the worker stopped and was closed"
            raise MediaPipeError(f"MediaPipe failed on texts[{reply.get('failed_index')}] (of {len(texts)}) "
                                 f"({state}): {reply.get('error')}{log}", usable=usable)
        self.latencies_ms.extend(reply["latencies_ms"])
        return np.asarray(reply["results"], dtype=np.float32).reshape(len(texts), len(self.labels))

    def _receive(self, what: str, timeout: float) -> dict[str, Any]:
        line = self._readline(timeout)
        if not line:
            code = self._process.wait(timeout=self.timeout) if self._process else None
            self._process = None
            raise MediaPipeError(f"The MediaPipe worker for '{self.model_path}' exited during {what} "
                                 f"(exit code {code}).{self._stderr_tail()}")
        return json.loads(line)

    def _readline(self, timeout: float) -> str:
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self._process.kill()
                self._process.wait()
                self._process = None
                raise MediaPipeError(f"The MediaPipe worker for '{self.model_path}' did not answer within "
                                     f"{timeout:.0f} s and was stopped.{self._stderr_tail()}")
        return self._process.stdout.readline()

    def _stderr_tail(self, lines: int = 8) -> str:
        self._log.seek(0)
        useful = [line for line in self._log.read().splitlines() if line.strip() and not line.startswith("    @")]
        return ("\nWorker log (last lines):\n" + "\n".join(useful[-lines:])) if useful else ""

    def close(self) -> None:
        """Stops the worker (idempotent)."""
        process, self._process = self._process, None
        if process is not None:
            try:
                process.stdin.close()
                process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
            process.stdout.close()

    def __enter__(self) -> "MediaPipeTextClassifier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_process", None) is not None:
            self.close()
