"""The quiet command: tfkit's output and Keras' epoch lines, without TensorFlow's C++ log or library warnings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.conftest import toy_texts
from tfkit.cli import quiet
from tfkit.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
QUIET_PY = ROOT / "tfkit" / "cli" / "quiet.py"
NATIVE_LOG = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]|WARNING: All log messages before absl)",
                        re.MULTILINE)
LIBRARY_CHATTER = re.compile(r"Warning: |^WARNING:|warnings\.warn", re.MULTILINE)
EPOCH_LINE = re.compile(r"^\d+/\d+ .*loss: \d", re.MULTILINE)  # Keras' per-epoch line (verbose=2, not a TTY)
SCRIPT = Path(sys.executable).with_name("tfkit")  # the console script of the entry point tfkit.cli.main:main
TRAIN = ["train", "reviews.csv", "--text-column", "review", "--label-column", "sentiment", "--encoding-errors",
         "replace", "--checkpoint", "tiny-bert", "--epochs", "1", "--max-length", "16"]  # files: workdir below


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "TF_CPP_MIN_LOG_LEVEL")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"  # TensorFlow logs at every level: only the filter can hide the lines
    env["TRANSFORMERS_CACHE"] = str(tmp_path / "hf")  # makes transformers warn (FutureWarning) as it loads
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _tfkit(args: list[str], tmp_path: Path, script: bool = False) -> subprocess.CompletedProcess:
    command = [str(SCRIPT)] if script and SCRIPT.is_file() else [sys.executable, "-m", "tfkit"]
    return subprocess.run(command + args, cwd=tmp_path, env=_environment(tmp_path), capture_output=True, text=True,
                          timeout=240)


def _shown(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def test_hidden_lines_table():
    hidden = [
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        b"I0000 00:00:1796105306.760636   31785 port.cc:153] oneDNN custom operations are on. You may see ...\n",
        b"E0000 00:00:1796105418.716821    1504 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n",
        b"I0000 00:00:1796105306.760898   31785 cudart_stub.cc:31] Could not find cuda drivers on your machine\n",
        b"W0101 12:00:00.123456   77 cpu_feature_guard.cc:210] This TensorFlow binary is optimized ...\n",
        b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
        b"appropriate compiler flags.\n",
        b"2024-01-01 12:00:00.000000: I tensorflow/core/platform/cpu_feature_guard.cc:182] This TensorFlow ...\n",
        b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
    ]
    shown = [
        b"F0000 00:00:1796105306.760636   31785 check.cc:1] Check failed: x == y\n",  # fatal: why it crashed
        b"tfkit train: error: File not found. Received: path='missing.csv'.\n",
        b"Traceback (most recent call last):\n",
        b"2/2 - 5s - loss: 0.6925 - accuracy: 0.6071\n",
        b"predicted 32 rows\r",
        b"INFO: something tfkit does not know\n",
    ]
    assert [line for line in hidden if not quiet.HIDDEN_LINES.match(line)] == []
    assert [line for line in shown if quiet.HIDDEN_LINES.match(line)] == []


@pytest.mark.parametrize("argv, orig_argv, expected", [
    (["/usr/bin/tfkit", "train"], ["/usr/bin/python3", "/usr/bin/tfkit", "train"], True),
    (["-m"], ["python", "-m", "tfkit", "demo"], True),
    (["-m"], ["python", "-X", "dev", "-B", "-mtfkit.cli.main", "demo"], True),
    (["-m"], ["python", "-m", "mypackage", "train"], False),  # a package of the user's that imports tfkit
    (["/home/me/train.py"], ["python", "/home/me/train.py"], False),
    (["-c"], ["python", "-c", "import tfkit"], False),
    ([""], ["python"], False),  # the interactive interpreter, Jupyter
])
def test_is_command_line(argv, orig_argv, expected):
    assert quiet.is_command_line(argv, orig_argv) is expected


def test_verbose_flag_before_or_after_the_command():
    assert quiet.wants_verbose(["-v", "train"]) and quiet.wants_verbose(["train", "x.csv", "--verbose"])
    assert not quiet.wants_verbose(["train", "x.csv"]) and not quiet.wants_verbose(["predict", "m", "--", "-v"])


def test_in_process_main_changes_no_logging(tmp_path, capsys):
    showwarning, stderr = warnings.showwarning, sys.stderr
    assert main(["--verbose", "train", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "run")]) == 2
    assert main(["train", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "run"), "-v"]) == 2
    assert "tfkit train: error: File not found" in capsys.readouterr().err
    assert warnings.showwarning is showwarning and sys.stderr is stderr and not quiet._State.quiet


_FILTER_SCRIPT = r"""
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("quiet_under_test", sys.argv[1])
q = importlib.util.module_from_spec(spec)
spec.loader.exec_module(q)
q.quiet()
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
for i in range(2000):  # about 190 kB, more than a pipe holds: the thread must keep reading
    os.write(2, b"I0000 00:00:1700000000.123456   4242 port.cc:153] oneDNN custom operations are on.\n")
    if i % 500 == 0:
        os.write(2, b"native line %d\n" % i)
os.write(2, b"F0000 00:00:1700000000.123456   4242 check.cc:1] Check failed: fatal lines show\n")
print("python line", file=sys.stderr)
for i in range(50):  # native and Python writes, one after the other: they keep their order
    os.write(2, b"pair %d native\n" % i)
    print(f"pair {i} python", file=sys.stderr)
exec("import warnings\nwarnings.warn('from a library', FutureWarning)", {"__name__": "transformers.fake"})
exec("import warnings\nwarnings.warn('from tfkit', UserWarning)", {"__name__": "tfkit.fake"})
os.write(2, b"last native line, no newline")
sys.exit(3)
"""


def test_filter_forwards_other_lines_in_order_and_flushes_at_exit():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    result = subprocess.run([sys.executable, "-c", _FILTER_SCRIPT, str(QUIET_PY)], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 3, _shown(result)
    err = result.stderr
    assert "port.cc" not in err and "absl::InitializeLog" not in err and "from a library" not in err, err
    native = [line for line in err.splitlines() if line.startswith("native line")]
    assert native == ["native line 0", "native line 500", "native line 1000", "native line 1500"], err
    assert "Check failed: fatal lines show" in err and "python line" in err and "UserWarning: from tfkit" in err
    assert err.endswith("last native line, no newline"), err
    pairs = [line for line in err.splitlines() if line.startswith("pair ")]
    assert pairs == [f"pair {i} {kind}" for i in range(50) for kind in ("native", "python")], err


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    from tfkit.testing import write_tiny_checkpoint

    path = tmp_path_factory.mktemp("quiet")
    write_tiny_checkpoint(path / "tiny-bert", "bert", seed=0)
    texts, labels = toy_texts(32)
    texts[3] = texts[3].replace("film", "fi\udcfflm")  # one undecodable byte: tfkit's own UnicodeWarning
    rows = "".join(f"{t},{l}\n" for t, l in zip(texts, labels))
    (path / "reviews.csv").write_bytes(("review,sentiment\n" + rows).encode("utf-8", "surrogateescape"))
    return path


def test_train_shows_tfkit_and_keras_output_only(workdir):
    result = _tfkit(TRAIN + ["--output", "run"], workdir, script=True)
    assert result.returncode == 0, _shown(result)
    assert "model:       run/01_finetune/model" in result.stdout and "macro_f1" in result.stdout, _shown(result)
    assert EPOCH_LINE.search(result.stdout), _shown(result)
    assert not NATIVE_LOG.search(result.stderr), _shown(result)
    chatter = [line for line in result.stderr.splitlines() if LIBRARY_CHATTER.search(line)]
    assert [line for line in chatter if "UnicodeWarning: reviews.csv: 1 data row(s)" not in line] == [], \
        _shown(result)
    assert len(chatter) == 1, _shown(result)  # tfkit's own warning still shows


def test_user_error_is_one_line_without_traceback(tmp_path):
    result = _tfkit(["train", "missing.csv", "--output", "run"], tmp_path)
    assert result.returncode == 2, _shown(result)
    assert result.stderr == "tfkit train: error: File not found. Received: path='missing.csv'.\n", _shown(result)


def test_verbose_shows_what_the_filter_hides(workdir):
    result = _tfkit(TRAIN + ["--output", "run-verbose", "--verbose"], workdir)  # the run above, plus --verbose
    assert result.returncode == 0, _shown(result)
    assert "model:       run-verbose/01_finetune/model" in result.stdout and EPOCH_LINE.search(result.stdout)
    assert NATIVE_LOG.search(result.stderr), _shown(result)
    assert "FutureWarning" in result.stderr and "TRANSFORMERS_CACHE" in result.stderr, _shown(result)


def test_verbose_before_the_command(tmp_path):
    result = _tfkit(["-v", "train", "missing.csv", "--output", "run"], tmp_path, script=True)
    assert result.returncode == 2, _shown(result)
    assert NATIVE_LOG.search(result.stderr), _shown(result)
    assert "tfkit train: error: File not found" in result.stderr and "Traceback" not in result.stderr


def test_demo_help_goes_through_the_same_quiet_main(tmp_path):
    result = _tfkit(["demo", "--help"], tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("usage: tfkit demo"), _shown(result)
    assert result.stderr == "", _shown(result)


@pytest.mark.slow
def test_demo_prints_no_native_log_and_no_warning(workdir):
    """The main job itself, on the embedded BBC News, with the checkpoint swapped for a tiny one (TFKIT_CHECKPOINT)."""
    env = {**_environment(workdir), "TFKIT_CHECKPOINT": str(workdir / "tiny-bert")}
    result = subprocess.run([sys.executable, "-m", "tfkit", "demo", "--output", "demo-run", "--epochs", "1",
                             "--max-length", "16", "--batch-size", "32"], cwd=workdir, env=env, capture_output=True,
                            text=True, timeout=280)
    assert result.returncode == 0, _shown(result)
    assert "BBC News test accuracy" in result.stdout and "summary.json" in result.stdout, _shown(result)
    assert not NATIVE_LOG.search(result.stderr), _shown(result)
    assert not LIBRARY_CHATTER.search(result.stderr), _shown(result)
    assert (workdir / "demo-run" / "report.html").is_file()
