"""Regenerates ``benchmarks/RESULTS.md`` and the README's headline table from the result JSONs (issue 13).

Every benchmark writes ``benchmarks/results/<name>.json`` with an ``"acceptance"`` object (key ->
``{"value": n, "target": "<op> n"}``). This script reads them, nothing else: one section per topic with its
acceptance table (each target checked), the machine, versions, commit and seeds the figures came from, the
command that produced them, and its plots; a headline table (one row per topic) at the top, which also
replaces the README's between ``<!-- headline:start -->`` and ``<!-- headline:end -->``. Hand-written findings
(where tfkit loses a comparison and what the traces say) come from ``benchmarks/findings.md``.

With ``--run NAME ...`` the named benchmark scripts run first, one after another (never side by side: the
machine has 2 cores). ``--check`` writes nothing and exits 1 when RESULTS.md or the README are out of date.

Run:  python benchmarks/run_all.py [--run scaling peers_sst2] [--check]
"""

from __future__ import annotations

import argparse
import json
import operator
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE.parent / "README.md"
FINDINGS = HERE / "findings.md"
START, END = "<!-- headline:start -->", "<!-- headline:end -->"


@dataclass(frozen=True)
class Topic:
    title: str
    result: str  # benchmarks/results/<result>.json
    command: str
    headline: tuple[str, ...]  # acceptance keys shown in the headline table
    issue: str = ""
    note: str = ""  # what a reader must know to read the figures right


TOPICS = (
    Topic("Fine-tuning SST-2", "finetune_sst2", "python benchmarks/finetune_sst2.py",
          ("sst2_dev_accuracy",),
          note="Its speed-up is `TextClassifier.fit` without an output folder (no checkpoints, backups, TensorBoard "
               "or per-epoch validation), with token-budget batches, frozen embeddings and max length 64: not what "
               "`tfkit train` runs with its defaults. The peers benchmark measures that path."),
    Topic("Defaults chosen by measurement", "defaults", "python benchmarks/defaults.py",
          ("sst2_default_dev_accuracy", "bbc_choice_points_below_best"), "13"),
    Topic("Beside PyTorch and ONNX Runtime", "peers_sst2", "python benchmarks/peers_sst2.py",
          ("default_speedup_vs_naive", "speedup_vs_pytorch", "accuracy_vs_pytorch", "latency_ratio_vs_ort_int8",
           "b32_throughput_ratio_vs_ort_int8"), "13"),
    Topic("Where a fit's time goes", "fit_timeline", "python benchmarks/fit_timeline.py",
          ("steady_examples_per_second", "fit_examples_per_second", "fixed_cost_share"), "13",
          note="Steady examples/s is the batch over the median step; the fit's own figure also carries the first "
               "step's tracing, per-epoch validation and saves, and any stall after the last epoch (see the "
               "findings)."),
    Topic("Scaling with sequence length and model size", "scaling", "python benchmarks/scaling.py",
          ("minilm_shape_train_step_ratio_256_vs_64", "minilm_shape_b1_int8_latency_ratio_256_vs_64"), "13"),
    Topic("Hyperparameter search (Keras Tuner)", "tune_sst2", "python benchmarks/tune_sst2.py",
          ("best_minus_default",)),
    Topic("Pruning (TF-MOT)", "prune_sst2", "python benchmarks/prune_sst2.py", ("drop_at_50", "drop_at_80")),
    Topic("Export and post-training int8", "export_sst2", "python benchmarks/export_sst2.py",
          ("dynamic_int8_drop", "int8_size_ratio", "full_int8_latency_ms_p50")),
    Topic("Quantization-aware training, integer-only files", "qat_sst2", "python benchmarks/qat_sst2.py",
          ("qat_int8_drop", "qat_integer_only", "pqat_drop"), "11"),
    Topic("App-ready files (raw text, MediaPipe, web)", "edge_sst2", "python benchmarks/edge_sst2.py",
          ("raw_text_tflite_agreement", "mediapipe_agreement", "web_agreement")),
    Topic("LoRA and distillation", "peft_distill_sst2", "python benchmarks/peft_distill_sst2.py",
          ("lora_drop", "student_drop", "student_speedup"), "16"),
    Topic("Scaling out (tf.distribute)", "distributed_sst2", "python benchmarks/distributed_sst2.py",
          ("step_equivalence_max_diff", "two_worker_throughput_ratio")),
    Topic("Reliability", "reliability", "python benchmarks/reliability.py",
          ("bad_inputs_clear_errors", "resume_steps_match")),
    Topic("BBC News demo (the main job)", "demo_bbc", "python benchmarks/demo_bbc.py", ("bbc_accuracy",)),
)

OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "<": operator.lt, ">": operator.gt}


def met(entry: dict[str, Any]) -> bool | None:
    """Whether an acceptance entry meets its target; None for "reported" entries (no target).

    >>> met({"value": 0.89, "target": ">= 0.91"}), met({"value": 2, "target": "reported"})
    (False, None)
    """
    match = re.fullmatch(r"\s*(<=|>=|==|<|>)\s*(-?[0-9.eE+-]+)\s*", str(entry.get("target", "")))
    if not match:
        return None
    return bool(OPS[match.group(1)](float(entry["value"]), float(match.group(2))))


def seeds(record: Any) -> list[Any]:
    """Every value found under a key named ``seed`` or ``seeds`` anywhere in a record, first seen first."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("seed", "seeds"):
                    for v in value if isinstance(value, list) else [value]:
                        if isinstance(v, (int, str)) and v not in found:
                            found.append(v)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(record)
    return found


def figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4g}"
    return str(value)


def mark(result: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "reported"}[result]


def machine_line(record: dict[str, Any]) -> str:
    m = record.get("machine") or {}
    if not m:
        return "machine: not recorded"
    return (f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores; Python {m.get('python', '?')}, TF "
            f"{m.get('tensorflow', '?')}, tf-keras {m.get('tf_keras', '?')}, transformers {m.get('transformers', '?')}; "
            f"commit {m.get('git_commit', '?')}, {m.get('date', '?')}")


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def headline_rows() -> list[str]:
    rows = ["| topic | headline figures (value, target) | targets met | machine |", "|---|---|---|---|"]
    for topic in TOPICS:
        record = load(topic.result)
        if record is None:
            rows.append(f"| {topic.title} | not measured yet | - | - |")
            continue
        accept = record.get("acceptance", {})
        shown = [f"`{k}` {figure(accept[k]['value'])} ({accept[k]['target']})" for k in topic.headline if k in accept]
        checked = [met(e) for e in accept.values() if met(e) is not None]
        cpu = (record.get("machine") or {}).get("cpu", "?").split(" Processor")[0].replace("(R)", "")
        rows.append(f"| [{topic.title}](benchmarks/RESULTS.md#{anchor(topic.title)}) | {'; '.join(shown)} | "
                    f"{sum(checked)} of {len(checked)} | {cpu} |")
    return rows


def anchor(title: str) -> str:
    """GitHub's heading anchor."""
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def topic_section(topic: Topic) -> list[str]:
    record = load(topic.result)
    lines = [f"## {topic.title}", ""]
    if record is None:
        return lines + [f"Not measured yet (`{topic.command}`).", ""]
    lines += [f"Command: `{topic.command}`" + (f" (issue {topic.issue})" if topic.issue else "") + ".",
              f"Machine: {machine_line(record)}.", f"Seeds: {', '.join(map(str, seeds(record))) or 'none recorded'}.",
              *([topic.note] if topic.note else []), "", "| key | value | target | |", "|---|---|---|---|"]
    for key, entry in record.get("acceptance", {}).items():
        lines.append(f"| `{key}` | {figure(entry['value'])} | {entry['target']} | {mark(met(entry))} |")
    details = RESULTS / f"{topic.result}.md"
    if details.is_file():
        lines += ["", f"Every figure: [results/{details.name}](results/{details.name})."]
    for plot in sorted(RESULTS.glob(f"{topic.result}*.png")):
        lines += ["", f"![{plot.stem}](results/{plot.name})"]
    not_measured = record.get("not_measured")
    if not_measured:
        lines += ["", "Not measured: " + ", ".join(f"`{k}`" for k in not_measured) + "."]
    return lines + [""]


def profile_section() -> list[str]:
    record = load("profile_train")
    if not record:
        return []
    lines = ["## Where a training step's time goes (TF profiler)", "",
             "Command: `python benchmarks/profile_train.py --name NAME [settings]`; op time per step by family, "
             "from the trace's TensorFlow op events ([results/profile_train.md](results/profile_train.md)).", "",
             "| profile | ms per step (wall) | first step s | top families (share of op time) | machine |",
             "|---|---|---|---|---|"]
    for name, entry in record["profiles"].items():
        top = ", ".join(f"{f} {v['share']:.0%}" for f, v in list(entry["families"].items())[:4])
        lines.append(f"| {name} | {entry['wall_ms_per_step_traced']:.0f} | {entry['first_step_seconds']:.1f} | {top} | "
                     f"{entry['machine']['cpu'].split(' Processor')[0].replace('(R)', '')} |")
    return lines + [""]


def render() -> tuple[str, str]:
    """(RESULTS.md, the README's headline block)."""
    headline = headline_rows()
    lines = ["# tfkit benchmark results", "",
             "Generated by `python benchmarks/run_all.py` from `benchmarks/results/*.json`; do not edit by hand. "
             "Each figure was measured by the command named in its section, on the machine named there "
             "(2-core cloud machines; Intel Xeon with AMX, or AMD EPYC without). Accuracies and agreements are "
             "fractions, drops are percentage points; choices are made on validation data and reported on test "
             "data (SST-2: the seeded 2,000-sentence split of train.tsv, and dev.tsv).", "", "## Headline", ""]
    lines += [row.replace("](benchmarks/RESULTS.md#", "](#") for row in headline] + [""]
    for topic in TOPICS:
        lines += topic_section(topic)
    lines += profile_section()
    if FINDINGS.is_file():
        lines += [FINDINGS.read_text(encoding="utf-8").rstrip(), ""]
    block = "\n".join([START, *headline, "", "Every figure, the machine and the seeds: "
                       "[benchmarks/RESULTS.md](benchmarks/RESULTS.md) (`python benchmarks/run_all.py`).", END])
    return "\n".join(lines), block


def plot_peers() -> None:
    """results/peers_sst2.png: batch-1 latency and batch-32 throughput per runtime, and training examples/s."""
    record = load("peers_sst2")
    if not record:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = record["inference"]["rows"]
    names = list(rows)
    figure_, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    colours = ["tab:blue" if n.startswith("tfkit") else "tab:gray" for n in names]
    axes[0].barh(names, [rows[n]["threads_2"]["p50_ms"] for n in names], color=colours)
    axes[0].set_title("batch-1 p50 latency, 2 threads (ms; lower is better)")
    axes[1].barh(names, [rows[n]["threads_2"]["b32_sentences_per_second"] for n in names], color=colours)
    axes[1].set_title("batch-32 throughput, 2 threads (sentences/s)")
    training = record.get("training") or {}
    axes[2].bar(list(training), [t["examples_per_second"] for t in training.values()],
                color=["tab:blue" if s == "tfkit" else "tab:gray" for s in training])
    axes[2].set_title("training, 16,000 SST-2 sentences x 2 epochs (examples/s)")
    for axis in axes[:2]:
        axis.invert_yaxis()
    figure_.tight_layout()
    figure_.savefig(RESULTS / "peers_sst2.png", dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", nargs="*", default=[], help="benchmark scripts to run first (names without .py)")
    parser.add_argument("--check", action="store_true", help="exit 1 if RESULTS.md or the README are out of date")
    args = parser.parse_args()
    for name in args.run:
        subprocess.run([sys.executable, str(HERE / f"{name}.py")], check=True)
    if not args.check:
        plot_peers()  # before rendering, so a first run lists the plot
    results, block = render()
    readme = README.read_text(encoding="utf-8")
    if START not in readme or END not in readme:
        sys.exit(f"{README}: no {START} ... {END} markers for the headline table")
    new_readme = readme[:readme.index(START)] + block + readme[readme.index(END) + len(END):]
    target = HERE / "RESULTS.md"
    if args.check:
        stale = [str(p) for p, text in ((target, results + "\n"), (README, new_readme))
                 if not p.is_file() or p.read_text(encoding="utf-8") != text]
        if stale:
            sys.exit("out of date (run python benchmarks/run_all.py): " + ", ".join(stale))
        return
    target.write_text(results + "\n", encoding="utf-8")
    README.write_text(new_readme, encoding="utf-8")
    print(f"wrote {target} and the headline table in {README}")


if __name__ == "__main__":
    main()
