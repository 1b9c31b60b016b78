"""Bounded-memory check of ``tfkit predict --input FILE --output OUT``.

Runs the command as a subprocess on synthetic CSV files of short sentences (1
row for the model-loaded baseline, ``n_small`` and ``n_large`` rows) and
compares the peak resident memory of each run. Streaming prediction keeps the
growth over the baseline flat: the acceptance is ``ratio <= 1.5`` (growth on
100k rows within 1.5x of the growth on 10k).

The peak is the kernel's own high-water mark of the child (``ru_maxrss`` from
``os.wait4``), so no short peak is missed between samples.

Run:  python benchmarks/predict_memory.py [--model DIR] [--n-small 10000] [--n-large 100000]
(without ``--model`` it builds a tiny random BERT classifier first). Prints the result as JSON.

Use from another benchmark (the module imports only the standard library):

    >>> from predict_memory import rss_growth_ratio  # doctest: +SKIP
    >>> rss_growth_ratio("saved_models/sst2_minilm/01_finetune/model")["ratio"]  # doctest: +SKIP
    1.02
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

WORDS = ("the film was good bad great dull fun long short plot cast story music slow fast funny sad "
         "best worst acting scene ending loved hated and but really quite").split()


def write_sentences(path: str | os.PathLike, n: int, seed: int = 0) -> Path:
    """Writes a ``text`` column CSV of ``n`` short random sentences (3-12 words) to ``path``.

    Examples:
        >>> import tempfile, pathlib
        >>> p = write_sentences(pathlib.Path(tempfile.mkdtemp()) / "s.csv", 2)
        >>> len(p.read_text().splitlines())
        3
    """
    rng = random.Random(seed)
    path = Path(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write("text\n")
        for _ in range(n):
            f.write(" ".join(rng.choices(WORDS, k=rng.randint(3, 12))) + "\n")
    return path


def peak_rss_mb(command: Sequence[str], log: str | os.PathLike | None = None) -> tuple[float, float]:
    """Runs ``command`` to completion; returns ``(peak RSS in MB, wall seconds)``.

    Raises:
        RuntimeError: the command failed (its output is in ``log``).
    """
    out = open(log, "wb") if log is not None else subprocess.DEVNULL
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log is not None:
            out.close()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} exited with {proc.returncode}; see {log}.")
    return usage.ru_maxrss / 1024.0, seconds  # ru_maxrss is in KiB on Linux


def streaming_rss_mb(command: Sequence[str], output: Path, log: str | os.PathLike | None = None,
                     interval: float = 0.02) -> tuple[float, float, float]:
    """Runs ``command`` (a ``tfkit predict --output OUTPUT``), sampling its resident memory.

    Returns ``(loaded MB or None, peak MB after loading, wall seconds)``: "loaded" is the RSS when the first
    predictions reach the temporary output file (the model is loaded and has run one chunk), the peak
    is the highest RSS from then until the process ends: its difference is what streaming adds.
    """
    out = open(log, "wb") if log is not None else subprocess.DEVNULL
    start = time.perf_counter()
    loaded, peak, peak_all = None, 0.0, 0.0
    try:
        proc = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            try:
                rss = next(int(line.split()[1]) for line in open(f"/proc/{proc.pid}/status")
                           if line.startswith("VmRSS:")) / 1024.0
            except (OSError, StopIteration, ValueError):
                break
            if loaded is None and any(p.stat().st_size > 0 for p in output.parent.glob(f".{output.name}*")):
                loaded = rss
            peak_all = max(peak_all, rss)
            if loaded is not None:
                peak = max(peak, rss)
            time.sleep(interval)
        proc.wait()
    finally:
        if log is not None:
            out.close()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} exited with {proc.returncode}; see {log}.")
    if loaded is None:  # everything came in one write (one chunk, or no streaming): no in-run baseline
        return None, peak_all, seconds
    return loaded, max(peak, loaded), seconds


def rss_growth_ratio(
    model_dir: str | os.PathLike,
    n_small: int = 10_000,
    n_large: int = 100_000,
    workdir: str | os.PathLike | None = None,
    extra_args: Sequence[str] = (),
    python: str = sys.executable,
    min_growth_mb: float = 1.0,
) -> dict[str, Any]:
    """Memory growth of ``tfkit predict --input --output`` on ``n_large`` rows over ``n_small`` rows.

    Args:
        model_dir: a saved tfkit model directory.
        n_small, n_large: rows of the two synthetic files.
        workdir: where the inputs, outputs and logs go (default: a new temporary folder).
        extra_args: more ``tfkit predict`` flags, e.g. ``["--batch-size", "128"]``.
        python: the interpreter that runs ``python -m tfkit``.
        min_growth_mb: floor of the small run's growth in the ratio, so a
            near-zero growth does not divide by ~0.

    Returns:
        ``{"baseline_mb", "peak_10k_mb", "peak_100k_mb", "growth_10k_mb",
        "growth_100k_mb", "ratio", "seconds"}``; each run's growth is its peak RSS
        after the model is loaded minus its RSS at that moment (sampled every
        20 ms: see :func:`streaming_rss_mb`); ``baseline_mb`` is the peak RSS of a
        1-row run; ratio is ``growth_100k / max(growth_10k, min_growth_mb)``;
        ``seconds`` holds each run's wall time. The ``10k``/``100k`` keys hold
        ``n_small``/``n_large`` whatever their values (also in ``rows``).
    """
    workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="predict-memory-"))
    workdir.mkdir(parents=True, exist_ok=True)
    peaks: dict[str, float] = {}
    loaded: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for name, n in (("baseline", 1), ("small", n_small), ("large", n_large)):
        data = write_sentences(workdir / f"{name}.csv", n, seed=n)
        output = workdir / f"{name}.jsonl"
        command = [python, "-m", "tfkit", "predict", str(model_dir), "--input", str(data), "--output", str(output),
                   *extra_args]
        if name == "baseline":
            peaks[name], seconds[name] = peak_rss_mb(command, log=workdir / f"{name}.log")
        else:
            seen, peaks[name], seconds[name] = streaming_rss_mb(command, output, log=workdir / f"{name}.log")
            loaded[name] = peaks["baseline"] if seen is None else seen  # one write: the 1-row run is the baseline
    growth_small = peaks["small"] - loaded["small"]
    growth_large = peaks["large"] - loaded["large"]
    return {
        "baseline_mb": round(peaks["baseline"], 1),
        "loaded_10k_mb": round(loaded["small"], 1),
        "loaded_100k_mb": round(loaded["large"], 1),
        "peak_10k_mb": round(peaks["small"], 1),
        "peak_100k_mb": round(peaks["large"], 1),
        "growth_10k_mb": round(growth_small, 1),
        "growth_100k_mb": round(growth_large, 1),
        "ratio": round(growth_large / max(growth_small, min_growth_mb), 3),
        "rows": {"small": n_small, "large": n_large},
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }


def tiny_model(path: str | os.PathLike) -> Path:
    """Saves a tiny random BERT classifier (labels neg/pos) to ``path`` and returns it."""
    import tfkit
    from tfkit.testing import write_tiny_checkpoint

    path = Path(path)
    checkpoint = write_tiny_checkpoint(path.parent / f"{path.name}-checkpoint", "bert")
    clf = tfkit.TextClassifier.from_pretrained(checkpoint, labels=("neg", "pos"), max_length=16)
    return clf.save_pretrained(path, overwrite=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="saved tfkit model (default: a tiny random BERT)")
    parser.add_argument("--n-small", type=int, default=10_000, help="rows of the small file (default 10000)")
    parser.add_argument("--n-large", type=int, default=100_000, help="rows of the large file (default 100000)")
    parser.add_argument("--workdir", default=None, help="folder for inputs, outputs and logs (default: temporary)")
    args, extra = parser.parse_known_args(argv)  # unknown flags go to `tfkit predict`
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="predict-memory-"))
    model = args.model or tiny_model(workdir / "tiny-model")
    result = rss_growth_ratio(model, args.n_small, args.n_large, workdir, extra_args=extra)
    print(json.dumps(result, indent=2))
    return 0 if result["ratio"] <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
