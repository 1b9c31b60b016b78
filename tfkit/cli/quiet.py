"""The quiet ``tfkit`` command: its own progress and results, Keras' epoch lines, and no library chatter.

TensorFlow writes C++ log lines straight to file descriptor 2 from the moment it loads, some of them
before ``absl::InitializeLog()`` and so whatever ``TF_CPP_MIN_LOG_LEVEL`` says. In the ``tfkit`` command
process only (``tfkit ...``, ``python -m tfkit ...``), :func:`install` runs before TensorFlow is
imported (``tfkit._keras`` calls it) and:

- points file descriptor 2 at a pipe; a daemon thread forwards every line that is not a TensorFlow,
  absl or LiteRT log line (the table :data:`HIDDEN_LINES`; fatal ``F...`` lines still show) to the real
  standard error. Python's ``sys.stderr`` writes to the real standard error directly, so tracebacks,
  ``tfkit <command>: error: ...`` messages and progress bars never wait on the thread; each write first
  forwards what native code wrote before it, so the two keep their order;
- sets ``TF_CPP_MIN_LOG_LEVEL=3``, ``GRPC_VERBOSITY=ERROR`` and ``TRANSFORMERS_VERBOSITY=error`` where
  they are not set already (``TF_ENABLE_ONEDNN_OPTS`` is left alone: it changes numerics);
- sets the ``tensorflow`` and ``absl`` Python loggers to ERROR;
- shows only the warnings tfkit's own code issues (rows read with replaced bytes, say), unless Python
  was started with ``-W`` or ``PYTHONWARNINGS``.

``-v``/``--verbose``, before or after the command, leaves all of it as the libraries have it and also
prints tfkit's INFO log. ``import tfkit`` and an in-process ``tfkit.cli.main.main([...])`` call change
none of this.

Examples:
    >>> bool(HIDDEN_LINES.match(b"I0000 00:00:1700000000.000000   12 port.cc:153] oneDNN custom operations are on."))
    True
    >>> bool(HIDDEN_LINES.match(b"tfkit train: error: data file not found"))
    False
    >>> wants_verbose(["train", "data.csv", "--verbose"]), wants_verbose(["predict", "m", "--", "-v"])
    (True, False)
"""

from __future__ import annotations

import argparse
import atexit
import faulthandler
import io
import logging
import os
import re
import select
import sys
import threading
import warnings
from typing import Any, Callable, Sequence

VERBOSE_FLAGS = ("-v", "--verbose")
VERBOSE_HELP = ("show TensorFlow's C++ log lines, library warnings and tfkit's INFO log, which the command "
                "hides by default (may also follow the command)")
COMMAND_MODULES = ("tfkit", "tfkit.__main__", "tfkit.cli.main")
COMMAND_SCRIPTS = ("tfkit", "tfkit.exe", "tfkit-script.py")

# Lines written to file descriptor 2 by native code that the quiet command drops, one kind per row.
HIDDEN_LINES = re.compile(rb"|".join((
    # absl C++ log lines, I/W/E (fatal F lines still show); before absl::InitializeLog() the time reads
    # "00:00:<Unix seconds>", e.g. "I0000 00:00:1700000000.123456   4242 port.cc:153] oneDNN custom ..."
    rb"[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] ",
    # TensorFlow's older C++ log format: "2024-01-01 12:00:00.000000: I tensorflow/core/...cc:42] ..."
    rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\] ",
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    # the second line of cpu_feature_guard's notice, printed on its own when the first is filtered by level
    rb"To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags",
    # LiteRT's delegate notice: "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
    rb"INFO: (Created|Initialized) TensorFlow Lite",
)))
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR", "TRANSFORMERS_VERBOSITY": "error"}
QUIET_LOGGERS = ("tensorflow",)  # absl's logger through absl.logging.set_verbosity


def is_command_line(argv: Sequence[str] | None = None, orig_argv: Sequence[str] | None = None) -> bool:
    """Whether this process is the ``tfkit`` command (the console script or ``python -m tfkit``).

    Call it while tfkit is being imported: during ``python -m tfkit`` the package is imported while
    ``sys.argv[0]`` is still ``"-m"``.
    """
    argv = getattr(sys, "argv", None) if argv is None else argv
    program = argv[0] if argv else ""
    if program == "-m":
        return _module_option(getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv) in COMMAND_MODULES
    return os.path.basename(program).lower() in COMMAND_SCRIPTS


def _module_option(orig_argv: Sequence[str]) -> str | None:
    """The module named by the interpreter's ``-m`` option in ``orig_argv`` (``python -X dev -m tfkit ...``)."""
    args = list(orig_argv[1:])
    while args and args[0].startswith("-") and args[0] != "-":
        cluster = args.pop(0)[1:]
        if cluster.startswith("-"):  # a long option (--check-hash-based-pycs takes a value)
            if cluster == "-check-hash-based-pycs" and args:
                args.pop(0)
            continue
        for i, letter in enumerate(cluster):
            if letter in "mcWX":  # options that take a value: the rest of the cluster, or the next argument
                value = cluster[i + 1:] or (args.pop(0) if args else "")
                if letter == "m":
                    return value
                if letter == "c":
                    return None
                break
    return None


def wants_verbose(args: Sequence[str]) -> bool:
    """Whether the command arguments (without the program name) ask for ``-v``/``--verbose``."""
    for arg in args:
        if arg == "--":
            return False
        if arg in VERBOSE_FLAGS:
            return True
    return False


class StderrFilter:
    """File descriptor 2 through a pipe; a daemon thread forwards the lines ``hidden`` does not match.

    ``sys.stderr`` is re-pointed at the real standard error: Python's own writes do not wait on the
    thread, but each first forwards whatever native code wrote to the pipe before it (:meth:`write_python`), so
    the two keep their order and never share a line. :meth:`close` (also run at exit) forwards what is
    left and gives file descriptor 2 back.
    """

    def __init__(self, hidden: re.Pattern = HIDDEN_LINES) -> None:
        self.hidden = hidden
        self.pid = os.getpid()
        self.real = os.dup(2)
        read, write = os.pipe()
        for stream in (sys.stderr, sys.__stderr__):
            if stream is not None:
                stream.flush()
        os.dup2(write, 2)  # inheritable: native output of child processes goes through the filter too
        os.close(write)
        os.set_blocking(read, False)  # the thread and Python's writes both read it: never block on a read
        self.fd = read  # kept open: a child process may still write after close()
        self.closed = False
        self.pending = b""  # the start of a native line whose end has not come yet
        self.at_end = False
        self.lock = threading.RLock()  # a signal handler may write while this thread holds it
        self.stopping = threading.Event()
        self.python_stderr = sys.stderr
        if sys.stderr is not None:
            sys.stderr = io.TextIOWrapper(io.BufferedWriter(_DrainingWriter(self)), encoding=sys.stderr.encoding,
                                          errors="backslashreplace", line_buffering=True, write_through=True)
            if faulthandler.is_enabled():
                faulthandler.enable(file=sys.stderr)
        self.thread = threading.Thread(target=self._pump, name="tfkit-stderr-filter", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def _pump(self) -> None:
        while not self.at_end:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            with self.lock:
                if ready:
                    self._read_available()
                    continue
                self._forward_pending()  # quiet for 0.1 s: a partial line (a prompt, a \r bar) goes out as it is
                if self.stopping.is_set():
                    break
        with self.lock:
            self._forward_pending()

    def _read_available(self) -> None:
        """Reads and forwards what the pipe holds now (the caller holds :attr:`lock`)."""
        while not self.at_end:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            if not chunk:  # every writer has closed the pipe
                self.at_end = True
                return
            lines = (self.pending + chunk).split(b"\n")
            self.pending = lines.pop()
            for line in lines:
                self._forward(line + b"\n")

    def _forward_pending(self) -> None:
        if self.pending:
            self._forward(self.pending)
            self.pending = b""

    def write_python(self, data: bytes) -> int:
        """Writes Python's standard error text after what native code wrote before it (a partial line included)."""
        with self.lock:
            self._read_available()
            self._forward_pending()
            self._write(data)
        return len(data)

    def _forward(self, line: bytes) -> None:
        if not self.hidden.match(line):
            self._write(line)

    def _write(self, data: bytes) -> None:
        while data:
            try:
                data = data[os.write(self.real, data):]
            except InterruptedError:
                continue
            except OSError:  # the real standard error is gone (a closed pipe): nothing more to show
                return

    def close(self) -> None:
        """Forwards what is in the pipe and points file descriptor 2 at the real standard error again."""
        if self.closed:
            return
        for stream in (sys.stderr, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        os.dup2(self.real, 2)  # closes this process's write end: the thread reads to the end of the pipe
        if os.getpid() == self.pid:
            self.stopping.set()  # a child process that still holds the pipe does not keep us waiting
            self.thread.join(timeout=2.0)
        if sys.stderr is not self.python_stderr and self.python_stderr is not None:
            sys.stderr = self.python_stderr
        self.closed = True


class _DrainingWriter(io.RawIOBase):
    """The raw stream under the quiet command's ``sys.stderr``: :meth:`StderrFilter.write_python`."""

    def __init__(self, owner: StderrFilter) -> None:
        super().__init__()
        self.owner = owner

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self.owner.write_python(bytes(data))

    def fileno(self) -> int:  # faulthandler writes to the descriptor itself
        return self.owner.real


class _State:
    command_line: bool = False
    quiet: bool = False
    filter: StderrFilter | None = None
    showwarning: Callable[..., Any] | None = None
    levels: dict[str, int] = {}
    absl_verbosity: int | None = None


def install() -> bool:
    """Quiets this process if it is the ``tfkit`` command without ``-v``/``--verbose``; else does nothing.

    ``tfkit._keras`` calls it before TensorFlow is imported. Returns whether it quieted the process.
    """
    if _State.quiet or not is_command_line():
        return False
    _State.command_line = True
    if wants_verbose(sys.argv[1:]):
        return False
    quiet()
    return True


def quiet() -> None:
    """Hides TensorFlow's C++ log lines, library logging and third-party warnings in this process."""
    if _State.quiet:
        return
    _State.quiet = True
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)  # a value the user set is kept (the filter still hides the lines)
    _State.levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    _State.absl_verbosity = _absl_verbosity()
    if not sys.warnoptions:  # `python -W ...` and PYTHONWARNINGS are the user's explicit choice
        _State.showwarning = warnings.showwarning
        warnings.showwarning = _tfkit_warnings_only(warnings.showwarning)
    if os.name == "posix":
        try:
            _State.filter = StderrFilter()
        except OSError:  # no file descriptor 2 to filter (a daemon); the rest still applies
            _State.filter = None


def restore() -> None:
    """Undoes :func:`quiet` (``--verbose`` seen only by the parser, e.g. abbreviated as ``--verb``)."""
    if not _State.quiet:
        return
    if _State.filter is not None:
        _State.filter.close()
        _State.filter = None
    if _State.showwarning is not None:
        warnings.showwarning = _State.showwarning
        _State.showwarning = None
    for name, level in _State.levels.items():
        logging.getLogger(name).setLevel(level)
    if _State.absl_verbosity is not None:
        _absl_verbosity(_State.absl_verbosity)
    _State.quiet = False  # the environment stays: TensorFlow and transformers have read it already


def _absl_verbosity(verbosity: int | None = None) -> int | None:
    """Sets absl's verbosity (default: its ERROR) and returns the previous one; None without absl."""
    try:
        from absl import logging as absl_logging
    except ImportError:
        return None
    previous = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR if verbosity is None else verbosity)
    return previous


def _tfkit_warnings_only(show: Callable[..., Any]) -> Callable[..., Any]:
    def showwarning(message, category, filename, lineno, file=None, line=None):
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__") == "warnings":
            frame = frame.f_back  # the first frame outside the warnings module issued the warning
        issuer = frame.f_globals.get("__name__", "") if frame is not None else ""
        if issuer == "tfkit" or issuer.startswith("tfkit."):
            show(message, category, filename, lineno, file, line)

    return showwarning


def add_verbose_flag(parser: argparse.ArgumentParser) -> None:
    """Adds ``-v``/``--verbose`` to the top-level ``tfkit`` parser."""
    parser.add_argument(*VERBOSE_FLAGS, dest="verbose", action="store_true", help=VERBOSE_HELP)


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses ``argv`` with ``-v``/``--verbose`` accepted before or after the command."""
    add_verbose_flag(parser)
    args, extra = parser.parse_known_args(argv)
    unknown = [arg for arg in extra if arg not in VERBOSE_FLAGS]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.verbose = args.verbose or len(unknown) < len(extra)
    return args


def configure(verbose: bool) -> None:
    """Applies ``--verbose`` in the ``tfkit`` command process; in any other process it does nothing."""
    if not _State.command_line or not verbose:
        return
    restore()
    log = logging.getLogger("tfkit")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("tfkit: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
