"""The sections of the run report, each read from what one kind of stage wrote.

Every builder takes the run's finished stages (:func:`read_stages`) and returns
``(title, html)``; the html is empty when the stage it reports on did not run.

Examples:
    >>> import tempfile
    >>> read_stages(tempfile.mkdtemp())
    {}
"""

from __future__ import annotations

import dataclasses
import html
import os
from pathlib import Path
from typing import Any

from tfkit._io import pyplot
from tfkit.reporting.markup import Raw, figure_png, image, read_json, table

LABELS = {"finetune": "Fine-tune", "tune": "Tune", "prune": "Prune", "quantize": "Quantize", "export": "Export"}
_CURVES = 4  # training metrics plotted per stage (loss first)


@dataclasses.dataclass(frozen=True)
class Stage:
    """A finished stage: its name, folder and ``stage.json`` record."""

    name: str
    folder: Path
    record: dict[str, Any]

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)

    def model_dir(self) -> Path | None:
        """The stage's saved tfkit model (``model/``, or the tune stage's ``search/best_model``)."""
        for candidate in (self.folder / "model", self.folder / "search" / "best_model"):
            if (candidate / "tfkit.json").is_file():
                return candidate
        return None


def read_stages(run_dir: str | os.PathLike) -> dict[str, Stage]:
    """The run's complete stages (``NN_<name>/stage.json`` with status complete), in folder order."""
    stages = {}
    for record_file in sorted(Path(run_dir).glob("[0-9][0-9]_*/stage.json")):
        record = read_json(record_file)
        if isinstance(record, dict) and record.get("status") == "complete":
            name = record.get("stage") or record_file.parent.name[3:]
            stages[name] = Stage(name, record_file.parent, record)
    return stages


def overview(run_dir: Path, stages: dict[str, Stage]) -> tuple[str, str]:
    """Every stage with its parent, finish time and headline figures, plus the demo summary if any."""
    rows = [[stage.label, stage.folder.name, stage.record.get("parent") or "-",
             stage.record.get("finished_at", "-"), _headline(stage.record.get("metrics", {}))]
            for stage in stages.values()]
    content = table(["stage", "folder", "parent", "finished", "headline"], rows, css_class="wrap")
    summary = read_json(run_dir / "summary.json")
    if isinstance(summary, dict) and "examples" in summary:
        sizes = ", ".join(f"{k} {v}" for k, v in summary["examples"].items())
        content += (f'<p class="muted">Dataset {html.escape(str(summary.get("dataset", "?")))}: '
                    f"{html.escape(sizes)} examples; test accuracy {summary.get('test_accuracy', 0):.4f}, "
                    f"test macro-F1 {summary.get('test_macro_f1', 0):.4f}.</p>")
    return "Overview", content


def training(stages: dict[str, Stage]) -> tuple[str, str]:
    """Loss and metric curves (train and validation) of every stage that trained, from its fit record."""
    parts = []
    for stage in stages.values():
        model_dir = stage.model_dir()
        fit = (read_json(model_dir / "tfkit.json") or {}).get("fit", {}) if model_dir else {}
        history = fit.get("history") or {}
        if not history:
            continue
        facts = [f"{fit.get('epochs', len(next(iter(history.values()))))} epoch(s)"]
        if fit.get("seconds"):
            facts.append(f"{fit['seconds']:.1f} s")
        if fit.get("examples_per_second"):
            facts.append(f"{fit['examples_per_second']:.0f} examples/s")
        parts.append(f"<h3>{html.escape(stage.label)}</h3><p class=\"muted\">{html.escape(', '.join(facts))}</p>"
                     + image(_curves(history), f"{stage.label}: training curves"))
    return "Training", "\n".join(parts)


def evaluation(stages: dict[str, Stage]) -> tuple[str, str]:
    """Each evaluated stage's headline metrics, per-class table and confusion matrix."""
    parts = []
    for stage in stages.values():
        report_dir = stage.folder / "report"
        report = read_json(report_dir / "report.json")
        if not isinstance(report, dict):
            continue
        headline = [[k, v] for k, v in report.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "num_examples"]
        tables = table(["metric", "value"], headline)
        if report.get("per_class"):
            tables += table(["label", "precision", "recall", "f1", "support"],
                            [[r["label"], r["precision"], r["recall"], r["f1"], r["support"]]
                             for r in report["per_class"]])
        parts.append(f"<h3>{html.escape(stage.label)} <span class=\"muted\">({report.get('num_examples', '?')} "
                     f"held-out examples)</span></h3><div class=\"row\"><div>{tables}</div>"
                     + image(report_dir / "confusion_matrix.png", f"{stage.label}: confusion matrix", width=420)
                     + "</div>")
    return "Evaluation", "\n".join(parts)


def tuning(stages: dict[str, Stage]) -> tuple[str, str]:
    """The trials table (best trial highlighted) and the search plot of the tune stage."""
    stage = stages.get("tune")
    data = read_json(stage.folder / "report" / "trials.json") if stage else None
    if not isinstance(data, dict) or not data.get("trials"):
        return "Tuning", ""
    trials = data["trials"]
    hidden = {"tuner_id"}
    columns = list(dict.fromkeys(k for row in trials for k in row if k not in hidden and not k.startswith("tuner/")))
    scored = [i for i, row in enumerate(trials) if row.get("score") is not None]
    pick = max if data.get("direction", "max") == "max" else min
    best = pick(scored, key=lambda i: trials[i]["score"]) if scored else None
    objective, direction = (html.escape(str(data.get(key))) for key in ("objective", "direction"))
    note = f"Objective <code>{objective}</code> ({direction}); {len(scored)} of {len(trials)} trial(s) scored"
    if best is not None:
        note += f", best {trials[best]['score']:.4f} in trial {html.escape(str(trials[best]['trial_id']))}"
    note += "."
    content = (f'<p class="muted">{note}</p>' + table(columns, [[row.get(c) for c in columns] for row in trials], best)
               + image(stage.folder / "report" / "trials.png", "Search: score per trial and best so far"))
    return "Tuning", content


def pruning(stages: dict[str, Stage]) -> tuple[str, str]:
    """Overall and per-layer sparsity, compressed sizes and the accuracy cost of the prune stage."""
    stage = stages.get("prune")
    data = read_json(stage.folder / "report" / "sparsity.json") if stage else None
    if not isinstance(data, dict):
        return "Pruning", ""
    metrics = stage.record.get("metrics", {})
    facts = [f"overall sparsity {data['overall_sparsity']:.2%} of {data.get('pruned_parameters', 0):,} pruned weights",
             f"max deviation from target {data.get('max_error_points', 0):.2f} points"]
    if "accuracy" in metrics and "dense_accuracy" in metrics:
        facts.append(f"accuracy {metrics['accuracy']:.4f} (dense {metrics['dense_accuracy']:.4f}, "
                     f"drop {metrics.get('accuracy_drop_points', 0):.2f} points)")
    content = f'<p class="muted">{html.escape("; ".join(facts))}.</p>'
    if data.get("sizes"):
        content += "<h3>Compressed sizes</h3>" + table(
            ["what", "dense bytes", "dense gzip", "pruned gzip", "gzip ratio"],
            [[name, f"{s['dense_bytes']:,}", f"{s['dense_gzip']:,}", f"{s['pruned_gzip']:,}", s["gzip_ratio"]]
             for name, s in data["sizes"].items()])
    rows = [[layer["name"], layer["kind"], " x ".join(map(str, layer["shape"])), f"{layer['target']:.1%}",
             f"{layer['measured']:.2%}", _bar(layer["measured"])] for layer in data.get("layers", [])]
    layers = table(["layer", "kind", "shape", "target", "measured", ""], rows)
    content += (f'<details{" open" if len(rows) <= 12 else ""}><summary>Per layer ({len(rows)} pruned kernels)'
                f"</summary>{layers}</details>")
    return "Pruning", content


def export(stages: dict[str, Stage]) -> tuple[str, str]:
    """The exported variants (size, score, latency, status), their trade-off plot and any bench."""
    stage = stages.get("export")
    record = read_json(stage.folder / "export.json") if stage else None
    if not isinstance(record, dict):
        return "Export", ""
    rows = []
    for v in record.get("variants", []):
        check = v.get("verification", {})
        rows.append([v["name"], v.get("format"), f"{v.get('size_bytes', 0) / 1e6:.2f}", check.get("score"),
                     check.get("drop_points"), check.get("agreement"), check.get("latency_ms_p50"),
                     check.get("latency_ms_p90"), v.get("status")])
    keras = record.get("keras_fp32_score")
    content = (f'<p class="muted">Verified on the validation split; Keras fp32 score '
               f"{'-' if keras is None else f'{keras:.4f}'}. Latency: batch 1, unpadded.</p>"
               + table(["variant", "format", "size MB", "score", "drop (points)", "agreement", "p50 ms", "p90 ms",
                        "status"], rows)
               + image(stage.folder / "variants.png", "Exported variants: score vs size and vs latency"))
    for bench_file in [stage.folder / "bench.json", *sorted(stage.folder.glob("*/bench.json"))]:
        bench = read_json(bench_file)
        if not isinstance(bench, dict):
            continue
        where = "export folder" if bench_file.parent == stage.folder else bench_file.parent.name
        content += (f"<h3>Bench ({html.escape(where)}, {bench.get('samples', '?')} examples)</h3>" + table(
            ["variant", "size MB", "score", "drop (points)", "agreement", "p50 ms", "p90 ms", "speed-up p50",
             "batch-32 examples/s"],
            [[r["variant"], None if r.get("size_bytes") is None else f"{r['size_bytes'] / 1e6:.2f}", r.get("score"),
              r.get("drop_points"), r.get("agreement"), r.get("latency_ms_p50"), r.get("latency_ms_p90"),
              f"{r.get('speedup_p50', 0):.1f}x", f"{r.get('batch32_examples_per_second', 0):.0f}"]
             for r in bench.get("rows", [])])
            + image(bench_file.parent / "bench.png", f"Bench ({where}): score vs size and vs latency"))
    return "Export", content


def _headline(metrics: dict[str, Any]) -> str:
    if metrics and all(isinstance(v, dict) for v in metrics.values()):  # export: one entry per variant
        return ", ".join(f"{name} {v.get('status', '?')}" for name, v in metrics.items())
    numbers = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in numbers[:4])


def _bar(fraction: float) -> Raw:
    return Raw(f'<span class="bar"><span style="width:{max(0.0, min(1.0, fraction)) * 100:.1f}%"></span></span>')


def _curves(history: dict[str, list[float]]) -> bytes:
    """Train (and validation) curve of the loss and the first few metrics, one panel each."""
    from matplotlib.ticker import MaxNLocator

    names = [k for k in history if not k.startswith("val_")]
    names = (["loss"] if "loss" in names else []) + [k for k in names if k != "loss"]
    names = names[:_CURVES]
    plt = pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], "o-", label="train")
        if f"val_{name}" in history:
            ax.plot(range(1, len(history[f"val_{name}"]) + 1), history[f"val_{name}"], "s--", label="validation")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch", fontsize=9)
        if len(epochs) <= 12:
            ax.set_xticks(list(epochs))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0.5, len(epochs) + 0.5)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return figure_png(fig)
