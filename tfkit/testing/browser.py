"""Runs tfkit's web page (:func:`tfkit.export.web_page.write_web_page`) in headless Chromium and collects what it
classified: nothing but the Debian ``chromium`` package and the standard library.

How: a throw-away HTTP server on 127.0.0.1 serves the page folder, the sentences (``/__tfkit__/sentences.json``)
and takes the page's results (``POST /__tfkit__/results``); Chromium opens
``index.html?sentences=...&report=...`` as a subprocess in its own process group and is ended as soon as the
results (or the page's error) arrive, or at ``timeout``.

Examples:
    >>> browser_labels("saved_models/reviews/export/web", ["a fine film", "dull"])   # doctest: +SKIP
    [{'text': 'a fine film', 'label': 'pos', 'scores': {'neg': 0.1, 'pos': 0.9}, 'ms': 3.1}, ...]
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import functools
import http.server
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

from tfkit.errors import ExternalToolError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless=new",               # the only headless mode of current Chromium; full page, modules, WASM
    "--no-sandbox",                 # Chromium refuses to start as root (containers, CI) with its sandbox
    "--disable-gpu",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
    "--disable-background-networking", "--disable-component-update",  # no calls home on an offline machine
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--enable-logging=stderr", "--v=0",  # console messages and page errors, for the error message
)
RESULTS = "/__tfkit__/results"
SENTENCES = "/__tfkit__/sentences.json"


@dataclasses.dataclass(frozen=True)
class BrowserRun:
    """What the page reported: per sentence ``{"text", "label", "scores", "ms"}``, and timings (ms, s)."""

    results: list[dict[str, Any]]
    load_ms: float
    classify_ms: float
    wall_s: float
    wasm: str
    user_agent: str


def find_chromium(chromium: str | os.PathLike | None = None) -> str:
    """``chromium``, else ``$TFKIT_CHROMIUM``, else the first of :data:`CHROMIUM_NAMES` on PATH.

    Raises:
        ExternalToolError: none is found.
    """
    for candidate in (chromium, os.environ.get("TFKIT_CHROMIUM"), *CHROMIUM_NAMES):
        if candidate and shutil.which(str(candidate)):
            return str(shutil.which(str(candidate)))
    raise ExternalToolError(
        f"Expected a Chromium or Chrome executable. Received: chromium={chromium!r}, none of "
        f"{', '.join(CHROMIUM_NAMES)} on PATH. Install it (apt-get install -y chromium) or set TFKIT_CHROMIUM.")


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
                      ".json": "application/json", ".css": "text/css", ".html": "text/html",
                      ".tflite": "application/octet-stream"}

    def __init__(self, *args: Any, harness: "_Harness", **kwargs: Any):
        self.harness = harness
        super().__init__(*args, directory=str(harness.root), **kwargs)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.split("?")[0] == SENTENCES:
            self._send(200, json.dumps(self.harness.sentences).encode())
        else:
            super().do_GET()

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.split("?")[0] != RESULTS:
            self._send(404, b"{}")
            return
        self._send(200, b"{}")
        self.harness.receive(body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Harness:
    def __init__(self, root: Path, sentences: Sequence[str]):
        self.root, self.sentences = root, list(sentences)
        self.arrived, self.payload = threading.Event(), None
        handler = functools.partial(_Handler, harness=self)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def receive(self, body: bytes) -> None:
        if not self.arrived.is_set():
            self.payload = json.loads(body)
            self.arrived.set()

    def __enter__(self) -> "_Harness":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def browser_classify(page_folder: str | os.PathLike, sentences: Sequence[str], timeout: float = 120,
                     chromium: str | os.PathLike | None = None, serve_root: str | os.PathLike | None = None,
                     ) -> BrowserRun:
    """Classifies ``sentences`` with the page in ``page_folder`` in headless Chromium.

    ``serve_root``: the folder to serve (default: the one ``web_page.json`` names, the page's own folder or,
    when the page references its model outside it, ``copy_model=False``, the folder holding both).

    Raises:
        ExternalToolError: Chromium is missing, exits early, the page reports an error, or nothing arrives
            within ``timeout`` seconds (the message carries Chromium's console output).
    """
    root, prefix = _served(page_folder, serve_root)
    executable = find_chromium(chromium)
    start = time.perf_counter()
    with _Harness(root, sentences) as harness, _profile() as profile:
        port = harness.server.server_address[1]
        url = f"http://127.0.0.1:{port}/{prefix}index.html?sentences={quote(SENTENCES)}&report={quote(RESULTS)}"
        log = Path(profile) / "chromium.log"
        with open(log, "wb") as stderr:
            process = subprocess.Popen([executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}/data", url],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                       start_new_session=True)
            try:
                exited = _wait(harness, process, timeout)
            finally:
                _end(process)
        output = log.read_text(encoding="utf-8", errors="replace")
    wall = time.perf_counter() - start
    payload = harness.payload
    if payload is None:
        why = f"Chromium exited with {exited}" if exited is not None else f"nothing arrived within {timeout:.0f} s"
        raise ExternalToolError(f"Expected the page's results from {url}. Received: {why}. Chromium's output: "
                                f"{_tail(output)}")
    if "error" in payload:
        raise ExternalToolError(f"Expected the page to classify {len(sentences)} sentences. Received: the page's "
                                f"error: {payload['error']}. Chromium's output: {_tail(output)}")
    return BrowserRun(payload["results"], payload["loadMs"], payload["totalMs"], wall, payload.get("wasm", ""),
                      payload.get("userAgent", ""))


def browser_labels(page_folder: str | os.PathLike, sentences: Sequence[str], timeout: float = 120,
                   **options: Any) -> list[dict[str, Any]]:
    """Per sentence, what the page in headless Chromium classified: ``{"text", "label", "scores", "ms"}``.

    ``options``: those of :func:`browser_classify`.

    Examples:
        >>> [r["label"] for r in browser_labels(web, ["good", "bad"])]                 # doctest: +SKIP
        ['pos', 'neg']
    """
    return browser_classify(page_folder, sentences, timeout, **options).results


def screenshot(page_folder: str | os.PathLike, path: str | os.PathLike, text: str | None = None,
               size: tuple[int, int] = (800, 460), timeout: float = 120, chromium: str | os.PathLike | None = None,
               ) -> Path:
    """Saves a PNG of the page in ``page_folder`` after ``text`` was typed into it and classified (default:
    its example sentence, as loaded).

    Driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``, standard library only): the text
    is typed as a user would (an ``input`` event), and the shot is taken when the page has shown its scores
    (``<html data-updates>`` counts them), not after a guessed delay.

    Raises:
        ExternalToolError: Chromium is missing, or the page shows no scores within ``timeout`` seconds.
    """
    (root, prefix), path = _served(page_folder, None), Path(path)
    with _Harness(root, []) as harness, _profile() as profile, \
            _DevTools(find_chromium(chromium), profile, size) as devtools:
        url = f"http://127.0.0.1:{harness.server.server_address[1]}/{prefix}index.html"
        session = devtools.page_session()
        devtools.call("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1],
                                                             "deviceScaleFactor": 1, "mobile": False}, session)
        devtools.call("Page.navigate", {"url": url}, session)
        deadline = time.monotonic() + timeout
        devtools.wait_for_updates(session, 1, deadline, url)
        if text is not None:
            devtools.evaluate(session, f"(() => {{ const box = document.getElementById('text'); "
                                       f"box.value = {json.dumps(text)}; box.dispatchEvent(new Event('input')); "
                                       "return true; })()")
            devtools.wait_for_updates(session, 2, deadline, url)
        time.sleep(0.3)  # the bars' 0.15 s transition
        shot = devtools.call("Page.captureScreenshot", {"format": "png"}, session)["data"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot))
    return path


def _profile() -> tempfile.TemporaryDirectory:
    """A throw-away Chromium profile folder (Chromium may still be writing to it as it is ended)."""
    return tempfile.TemporaryDirectory(prefix="tfkit-chromium-", ignore_cleanup_errors=True)


class _DevTools:
    """Chromium driven over ``--remote-debugging-pipe``: JSON messages ended by NUL, written to its fd 3 and
    read from its fd 4."""

    CALL_TIMEOUT = 60

    def __init__(self, executable: str, profile: str, size: tuple[int, int]):
        self.executable, self.profile, self.size, self.next_id = executable, profile, size, 0

    def __enter__(self) -> "_DevTools":
        to_child, self.writer = os.pipe()
        self.reader, from_child = os.pipe()
        # above 9, so that neither is 3 or 4 (the first dup2 below would overwrite the other)
        for low in (to_child, from_child):
            high = fcntl.fcntl(low, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(low)
            to_child, from_child = (high, from_child) if low == to_child else (to_child, high)
        command = [self.executable, *CHROMIUM_FLAGS, "--hide-scrollbars", "--remote-debugging-pipe",
                   f"--window-size={self.size[0]},{self.size[1]}", f"--user-data-dir={self.profile}/data",
                   "about:blank"]
        # a Python trampoline puts the pipe ends at fds 3 and 4, then becomes Chromium (preexec_fn is unsafe with
        # threads; dash takes one-digit fds only)
        trampoline = (f"import os, sys; os.dup2({to_child}, 3); os.dup2({from_child}, 4); "
                      "os.execv(sys.argv[1], sys.argv[1:])")
        self.process = subprocess.Popen([sys.executable, "-I", "-c", trampoline, *command],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True,
                                        pass_fds=(to_child, from_child))
        os.close(to_child)
        os.close(from_child)
        self.buffer = b""
        return self

    def __exit__(self, *exc: Any) -> None:
        _end(self.process)
        os.close(self.writer)
        os.close(self.reader)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.writer, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                if not select.select([self.reader], [], [], self.CALL_TIMEOUT)[0]:
                    raise ExternalToolError(f"Expected Chromium to answer {method}. Received: no answer in "
                                            f"{self.CALL_TIMEOUT} s.")
                chunk = os.read(self.reader, 1 << 16)
                if not chunk:
                    raise ExternalToolError(f"Expected Chromium to answer {method}. Received: the pipe closed "
                                            f"(exit {self.process.poll()}).")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise ExternalToolError(f"Expected Chromium to run {method}. Received: {reply['error']}.")
                return reply["result"]

    def evaluate(self, session: str, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                         session)["result"].get("value")

    def wait_for_updates(self, session: str, count: int, deadline: float, url: str) -> None:
        """Waits until the page has shown ``count`` results (``data-updates``); raises on its error or at
        ``deadline``."""
        state = None
        while time.monotonic() < deadline:
            state = self.evaluate(session, "[Number(document.documentElement.dataset.updates || 0), "
                                           "document.title, document.getElementById('status').textContent]")
            if state and state[0] >= count:
                return
            if state and state[1] == "tfkit-web: error":
                break
            time.sleep(0.2)
        raise ExternalToolError(f"Expected the page at {url} to show its scores. Received: (updates, title, status) "
                                f"= {state}.")

    def page_session(self) -> str:
        target = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        return self.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]


def _served(page_folder: str | os.PathLike, serve_root: str | os.PathLike | None) -> tuple[Path, str]:
    """The folder to serve (given, else the one the page's ``web_page.json`` names) and the page's URL prefix."""
    page = Path(page_folder).resolve()
    if serve_root is None:
        manifest = page / "web_page.json"
        relative = json.loads(manifest.read_text(encoding="utf-8")).get("serve_root", ".") if manifest.is_file() \
            else "."
        serve_root = Path(os.path.normpath(page / relative))
    root = Path(serve_root).resolve()
    path = page.relative_to(root).as_posix()
    return root, "" if path == "." else f"{quote(path)}/"


def _wait(harness: _Harness, process: subprocess.Popen, timeout: float) -> int | None:
    """Waits for the results; returns Chromium's exit status if it ended first, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if harness.arrived.wait(0.2):
            return None
        if process.poll() is not None:  # a POST in flight as it exited still counts
            return None if harness.arrived.wait(0.5) else process.returncode
    return None


def _end(process: subprocess.Popen) -> None:
    """Ends Chromium and its helpers: the process group it leads (started with a session of its own)."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(output: str, lines: int = 25) -> str:
    return "\n".join(output.strip().splitlines()[-lines:]) or "(none)"


__all__ = ["BrowserRun", "browser_classify", "browser_labels", "find_chromium", "screenshot"]
