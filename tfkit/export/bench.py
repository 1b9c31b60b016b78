"""``tfkit bench``: every exported variant and the Keras model measured side by side in one run.

Per variant: file size, score on labelled data (run on LiteRT / the loaded
SavedModel), agreement with Keras, batch-1 latency p50/p90 on each example's
real length, and throughput at batch 32 (length-sorted batches padded to their
longest member). Writes ``bench.json``, ``bench.md`` and ``bench.png``
(score against size and against latency).

Examples:
    >>> result = bench("saved_models/reviews/export", clf, val)     # doctest: +SKIP
    >>> result.rows[0]["variant"]                                   # doctest: +SKIP
    'keras_fp32'
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tfkit._io import atomic_save_figure, atomic_write_json, atomic_write_text, pyplot
from tfkit.data.dataset import TextDataset
from tfkit.errors import CheckpointError
from tfkit.export.graph import ServingModule
from tfkit.export.runtime import LiteRTModel, RawTextLiteRTModel, SavedModelRunner
from tfkit.export.verify import ValidationSet, evaluate_model, log_softmax

Features = dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class BenchResult:
    """One row per variant (``keras_fp32`` first) and where the files were written."""

    rows: tuple[dict[str, Any], ...]
    output_dir: Path | None

    def row(self, variant: str) -> dict[str, Any]:
        return next(r for r in self.rows if r["variant"] == variant)

    def table(self) -> str:
        head = ("| variant | size MB | score | drop (points) | agreement | p50 ms | p90 ms | speed-up p50 "
                "| batch-32 examples/s | integer-only |")
        lines = [head, "|" + "---|" * 10]
        for r in self.rows:
            score = "-" if r["score"] is None else f"{r['score']:.4f}"
            drop = "-" if r["drop_points"] is None else f"{r['drop_points']:.2f}"
            size = "-" if r["size_bytes"] is None else f"{r['size_bytes'] / 1e6:.1f}"
            lines.append(f"| {r['variant']} | {size} | {score} | {drop} | {r['agreement']:.4f} | "
                         f"{r['latency_ms_p50']:.2f} | {r['latency_ms_p90']:.2f} | {r['speedup_p50']:.1f}x | "
                         f"{r['batch32_examples_per_second']:.0f} | {_yes_no(r.get('integer_only'))} |")
        return "\n".join(lines) + "\n"


def bench(export_dir: str | os.PathLike, classifier: Any, data: TextDataset, limit: int | None = None,
          num_threads: int = 2, batch_size: int = 32, output_dir: str | os.PathLike | None = None,
          seed: int = 0, log: Callable[[str], None] = print) -> BenchResult:
    """Measures the Keras fp32 model and every file of an export folder on ``data``.

    Args:
        export_dir: a folder written by :func:`tfkit.export`.
        classifier: the exported :class:`~tfkit.TextClassifier` (or its saved directory): the baseline.
        data: labelled examples (e.g. the validation split); ``limit`` samples a subset.
        output_dir: where ``bench.json``/``bench.md``/``bench.png`` go (default: ``export_dir``).
    """
    from tfkit.models.text_classifier import TextClassifier

    export_dir = Path(export_dir)
    record_file = export_dir / "export.json"
    if not record_file.is_file():
        raise CheckpointError(f"Not a tfkit export folder (no export.json). Received: export_dir='{export_dir}'.")
    record = json.loads(record_file.read_text(encoding="utf-8"))
    if not isinstance(classifier, TextClassifier):
        classifier = TextClassifier.load(classifier, precision="float32")
    module = ServingModule(classifier, raw_strings=False)
    validation = ValidationSet.from_dataset(module, data, limit, seed)
    batches = _padded_batches(validation.samples, batch_size)

    def keras_fp32(features: Features) -> np.ndarray:
        return module.keras_logits(*(features[name] for name in module.names)).numpy()

    runners: list[tuple[str, Callable[[Features], np.ndarray], int | None]] = [("keras_fp32", keras_fp32, None)]
    integer: dict[str, bool] = {}  # TFLite variants: no float op between the input and output (ops.op_table)
    for variant in record["variants"]:
        if variant["path"] is None:
            continue
        path = export_dir / variant["path"]
        runner = _runner(variant["format"], path, num_threads, variant.get("bucket"))
        runners.append((variant["name"], runner, variant["size_bytes"]))
        if variant["format"] != "saved_model":
            integer[variant["name"]] = variant.get("integer_only", {}).get("integer_only")

    rows = []
    for name, runner, size in runners:
        log(f"Measuring {name}")
        check = evaluate_model(runner, validation, name)
        rows.append({"variant": name, "size_bytes": size, "score": check.score, "drop_points": check.drop_points,
                     "agreement": check.agreement, "max_abs_logit_diff": check.max_abs_logit_diff,
                     "latency_ms_p50": check.latency_ms_p50, "latency_ms_p90": check.latency_ms_p90,
                     "batch32_examples_per_second": _throughput(runner, batches, validation.texts),
                     "integer_only": integer.get(name)})
    rows += _mediapipe_tasks_rows(record, export_dir, validation, log)
    base = rows[0]["latency_ms_p50"]
    for row in rows:
        row["speedup_p50"] = base / row["latency_ms_p50"]
    result = BenchResult(tuple(rows), Path(output_dir) if output_dir else export_dir)
    _write(result, len(validation), num_threads, batch_size)
    return result


def _mediapipe_tasks_rows(record: dict[str, Any], export_dir: Path, validation: ValidationSet,
                          log: Callable[[str], None]) -> list[dict[str, Any]]:
    """MediaPipe files run by MediaPipe Tasks' own Python ``TextClassifier`` (its tokenizer, its runtime), when
    its side environment exists (``mediapipe_python(create=True)`` builds it): rows ``<variant>_tasks``, latency
    measured inside MediaPipe's process, tokenisation included. Without it, no rows (and a log line)."""
    files = [v for v in record["variants"] if v["format"] == "mediapipe" and v["path"] is not None]
    if not files or not validation.texts:
        return []
    from tfkit.export.mediapipe_runtime import MediaPipeTextClassifier, mediapipe_python

    if mediapipe_python() is None:
        log("No MediaPipe side environment: MediaPipe Tasks' own run is not measured (build it with "
            "tfkit.export.mediapipe_runtime.mediapipe_python(create=True))")
        return []
    rows = []
    for variant in files:
        name = f"{variant['name']}_tasks"
        log(f"Measuring {name} (MediaPipe Tasks TextClassifier)")
        with MediaPipeTextClassifier(export_dir / variant["path"]) as classifier:
            classifier.scores(list(validation.texts[:5]))  # warm-up
            start = len(classifier.latencies_ms)
            logits = np.log(np.maximum(classifier.scores(list(validation.texts)), 1e-30))
            times = np.asarray(classifier.latencies_ms[start:])
        rows.append({"variant": name, "size_bytes": variant["size_bytes"], "score": validation.score(logits),
                     "drop_points": None if validation.targets is None else
                     round(100.0 * (validation.keras_score() - validation.score(logits)), 4),
                     "agreement": validation.agreement(logits),
                     "max_abs_logit_diff": float(np.max(np.abs(logits - log_softmax(validation.reference)))),
                     "latency_ms_p50": float(np.percentile(times, 50)),
                     "latency_ms_p90": float(np.percentile(times, 90)),
                     "batch32_examples_per_second": float(len(times) / (times.sum() / 1000.0)),
                     "integer_only": variant.get("integer_only", {}).get("integer_only")})
    return rows


def _runner(fmt: str, path: Path, num_threads: int, bucket: int | None) -> Callable[[Any], np.ndarray]:
    """How a file of each exported format is run: token ids in (raw text for ``raw_text_tflite``), logits out."""
    if fmt == "saved_model":
        return SavedModelRunner(path)
    if fmt == "raw_text_tflite":
        return RawTextLiteRTModel(path, num_threads)
    if fmt == "mediapipe":  # the file on LiteRT fed by tfkit's tokenizer; MediaPipe Tasks' own run: _mediapipe_tasks_rows
        from tfkit.export.edge import ScoresAsLogits

        return ScoresAsLogits(LiteRTModel(path, num_threads))
    return LiteRTModel(path, num_threads, bucket=bucket)


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _padded_batches(samples: tuple[Features, ...], batch_size: int) -> list[Features]:
    order = np.argsort([s["input_ids"].shape[1] for s in samples], kind="stable")
    batches = []
    for start in range(0, len(order), batch_size):
        group = [samples[i] for i in order[start:start + batch_size]]
        width = max(s["input_ids"].shape[1] for s in group)
        batches.append({name: np.concatenate([np.pad(s[name], ((0, 0), (0, width - s[name].shape[1])))
                                              for s in group]) for name in group[0]})
    return batches


def _throughput(runner: Callable[[Features], Any], batches: list[Features], texts: tuple[str, ...] = ()) -> float:
    if getattr(runner, "takes_text", False):  # one string at a time: the file's input is [1]
        runner(texts[0])
        start = time.perf_counter()
        for text in texts:
            runner(text)
        return len(texts) / (time.perf_counter() - start)
    runner(batches[0])
    start = time.perf_counter()
    count = 0
    for batch in batches:
        runner(batch)
        count += batch["input_ids"].shape[0]
    return count / (time.perf_counter() - start)


def _write(result: BenchResult, samples: int, num_threads: int, batch_size: int) -> None:
    if result.output_dir is None:
        return
    folder = result.output_dir
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "bench.json", {"samples": samples, "num_threads": num_threads,
                                              "batch_size": batch_size, "rows": list(result.rows)})
    note = (f"\n{samples} examples; latency at batch 1 on each example's real length, {num_threads} threads; "
            f"throughput at batch {batch_size}, length-sorted and padded. Speed-up is against keras_fp32 "
            "(the unmodified Keras model in a tf.function, on the same inputs). TFLite files with a fixed batch of 1 "
            "(the default) run each batch row by row at the row's real length; in any-batch files the calibrated int8 "
            "variants see padding they were not calibrated for, so their batch figure is a speed figure only.\n")
    atomic_write_text(folder / "bench.md", result.table() + note)
    plot_tradeoffs(result.rows, folder / "bench.png")


def plot_tradeoffs(rows: Any, path: str | os.PathLike) -> Path:
    """Saves score against file size and against batch-1 p50 latency, one labelled point per variant.

    ``rows`` are bench rows (``variant``, ``size_bytes``, ``score``, ``latency_ms_p50``); rows
    without a score are left out.

    Examples:
        >>> plot_tradeoffs([{"variant": "a", "size_bytes": 2e6, "score": 0.9, "latency_ms_p50": 1.5}],
        ...                "tradeoffs.png")   # doctest: +SKIP
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for row in rows:
        if row["score"] is None:
            continue
        size = (row["size_bytes"] or 0) / 1e6
        axes[0].scatter(size, row["score"])
        axes[0].annotate(row["variant"], (size, row["score"]), fontsize=8)
        axes[1].scatter(row["latency_ms_p50"], row["score"])
        axes[1].annotate(row["variant"], (row["latency_ms_p50"], row["score"]), fontsize=8)
    axes[0].set(xlabel="file size (MB)", ylabel="score", title="score vs size")
    axes[1].set(xlabel="batch-1 p50 latency (ms)", ylabel="score", title="score vs latency", xscale="log")
    fig.tight_layout()
    return atomic_save_figure(fig, path)
