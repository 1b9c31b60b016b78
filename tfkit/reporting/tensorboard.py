"""A stage's reports as TensorBoard summaries: tables as text (Markdown), figures as images.

Training scalars come from Keras' ``TensorBoard`` callback and the tuner's
HParams from each trial; this module adds what the stages write as files, so
``tensorboard --logdir saved_models/<run>`` shows a whole run. Each kind of
report has its own log folder under the stage's ``logs/`` (one TensorBoard
"run" each)::

    01_finetune/logs/{train,validation}   loss, metrics, learning rate    (scalars)
    01_finetune/logs/evaluation           metrics + per-class table (text), confusion matrix (image)
    01_finetune/logs/model_card           the saved model's README.md     (text)
    02_tune/search/trial_*/logs           trial scalars and HParams
    02_tune/logs/tuning                   trials table (text), search plot (image)
    03_prune/logs/pruning                 per-layer sparsity, threshold   (scalars)
    03_prune/logs/{evaluation,model_card,sparsity}
    05_export/logs/export                 variant table (text), score vs size/latency (image)
    05_export/logs/bench                  a bench's table (text) and plot (image), e.g. the demo's test split

Writing a folder again replaces what this module wrote there before, so a redone
report shows once.

Examples:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> log_text(folder, "notes", "| a | b |\\n|---|---|\\n| 1 | 2 |").name.startswith("events.out.tfevents")
    True
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

from tfkit._keras import tf
from tfkit.errors import ReportError

EVENTS = "events.out.tfevents.*"


def log_summaries(log_dir: str | os.PathLike, texts: Mapping[str, str] | None = None,
                  images: Mapping[str, str | os.PathLike] | None = None, step: int = 0) -> Path:
    """Writes Markdown ``texts`` and PNG ``images`` (tag -> text / file) as one event file in ``log_dir``.

    Earlier event files in ``log_dir`` are removed first: give each report its own folder.

    Raises:
        ReportError: an image file is missing or is not a PNG.

    Examples:
        >>> import tempfile
        >>> log_summaries(tempfile.mkdtemp(), texts={"a": "*hi*"}).is_file()
        True
    """
    log_dir = Path(log_dir)
    pngs = {tag: _png(path) for tag, path in (images or {}).items()}
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob(EVENTS):
        old.unlink()
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        for tag, markdown in (texts or {}).items():
            tf.summary.text(tag, tf.constant(markdown), step=step)
        for tag, data in pngs.items():
            tf.summary.image(tag, tf.io.decode_png(data)[tf.newaxis], step=step)
    writer.close()
    return max(log_dir.glob(EVENTS), key=lambda p: p.stat().st_mtime_ns)


def log_text(log_dir: str | os.PathLike, tag: str, markdown: str, step: int = 0) -> Path:
    """Writes one Markdown text summary (TensorBoard's Text tab renders tables) to ``log_dir``.

    Examples:
        >>> log_text("logs/notes", "notes", "**done**")   # doctest: +SKIP
    """
    return log_summaries(log_dir, texts={tag: markdown}, step=step)


def log_image(log_dir: str | os.PathLike, tag: str, png_path: str | os.PathLike, step: int = 0) -> Path:
    """Writes one PNG file as an image summary (TensorBoard's Images tab) to ``log_dir``.

    Examples:
        >>> log_image("logs/evaluation", "confusion_matrix", "report/confusion_matrix.png")   # doctest: +SKIP
    """
    return log_summaries(log_dir, images={tag: png_path}, step=step)


def log_evaluation(log_dir: str | os.PathLike, report_dir: str | os.PathLike) -> Path:
    """An evaluation folder (``report.json``, ``confusion_matrix.png``) as text and image summaries.

    Examples:
        >>> log_evaluation("run/01_finetune/logs/evaluation", "run/01_finetune/report")   # doctest: +SKIP
    """
    report_dir = Path(report_dir)
    report = json.loads(_existing(report_dir / "report.json").read_text(encoding="utf-8"))
    matrix = report_dir / "confusion_matrix.png"
    return log_summaries(log_dir, texts={"evaluation/metrics": evaluation_markdown(report)},
                         images={"evaluation/confusion_matrix": matrix} if matrix.is_file() else None)


def log_model_card(log_dir: str | os.PathLike, model_dir: str | os.PathLike) -> Path:
    """A saved model's card (``README.md``) as a text summary."""
    card = _existing(Path(model_dir) / "README.md").read_text(encoding="utf-8")
    return log_text(log_dir, "model_card", card)


def log_files(log_dir: str | os.PathLike, name: str, table: str | os.PathLike,
              plot: str | os.PathLike | None = None) -> Path:
    """A Markdown file as ``<name>/table`` and, when it exists, a PNG as ``<name>/plot``.

    Used for the trials (``trials.md``/``.png``), sparsity (``sparsity.md``), export
    (``report.md``/``variants.png``) and bench (``bench.md``/``.png``) reports.

    Examples:
        >>> log_files("run/05_export/logs/bench", "bench", "run/05_export/test_bench/bench.md",
        ...           "run/05_export/test_bench/bench.png")   # doctest: +SKIP
    """
    markdown = _existing(Path(table)).read_text(encoding="utf-8")
    images = {f"{name}/plot": plot} if plot is not None and Path(plot).is_file() else None
    return log_summaries(log_dir, texts={f"{name}/table": markdown}, images=images)


def evaluation_markdown(report: Mapping) -> str:
    """The headline metrics and the per-class table of a ``report.json`` record, in Markdown.

    Examples:
        >>> print(evaluation_markdown({"num_examples": 2, "accuracy": 1.0,
        ...                            "per_class": [{"label": "a", "precision": 1.0, "recall": 1.0,
        ...                                           "f1": 1.0, "support": 2}]}))
        | metric | value |
        |---|---|
        | accuracy | 1.0000 |
        <BLANKLINE>
        | label | precision | recall | f1 | support |
        |---|---|---|---|---|
        | a | 1.000 | 1.000 | 1.000 | 2 |
        <BLANKLINE>
        2 examples.
    """
    lines = ["| metric | value |", "|---|---|"]
    lines += [f"| {key} | {value:.4f} |" for key, value in report.items()
              if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "num_examples"]
    if report.get("per_class"):
        lines += ["", "| label | precision | recall | f1 | support |", "|---|---|---|---|---|"]
        lines += [f"| {row['label']} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | "
                  f"{row['support']} |" for row in report["per_class"]]
    lines += ["", f"{report.get('num_examples', '?')} examples."]
    return "\n".join(lines)


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise ReportError(f"Expected the report file '{path}'. Received: no such file. "
                          "Run the stage that writes it first.")
    return path


def _png(path: str | os.PathLike) -> bytes:
    data = _existing(Path(path)).read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ReportError(f"Expected a PNG image. Received: '{path}', which is not one.")
    return data
