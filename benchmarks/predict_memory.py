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


def rss_growth_ratio(
    model_dir: str | os.PathLike,
    n_small: int = 10_000,
    n_large: int = 100_000,
    workdir: str | os.PathLike | None = None,
    extra_args: Sequence[str] = (),
    python: str = sys.executable,
    min_growth_mb: float = 1.0,
) -> dict[str, Any]:
    """Peak-RSS growth of ``tfkit predict --input --output`` on ``n_large`` rows over ``n_small`` rows.

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
        "growth_100k_mb", "ratio", "seconds"}``; the baseline is the peak on a
        1-row file (model loaded, one prediction), growth is peak minus
        baseline, ratio is ``growth_100k / max(growth_10k, min_growth_mb)``;
        ``seconds`` holds each run's wall time. The ``10k``/``100k`` keys hold
        ``n_small``/``n_large`` whatever their values (also in ``rows``).
    """
    workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="predict-memory-"))
    workdir.mkdir(parents=True, exist_ok=True)
    peaks: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for name, n in (("baseline", 1), ("small", n_small), ("large", n_large)):
        data = write_sentences(workdir / f"{name}.csv", n, seed=n)
        command = [python, "-m", "tfkit", "predict", str(model_dir), "--input", str(data),
                   "--output", str(workdir / f"{name}.jsonl"), *extra_args]
        peaks[name], seconds[name] = peak_rss_mb(command, log=workdir / f"{name}.log")
    growth_small = peaks["small"] - peaks["baseline"]
    growth_large = peaks["large"] - peaks["baseline"]
    return {
        "baseline_mb": round(peaks["baseline"], 1),
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
    return clf.save(path, overwrite=True)


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
