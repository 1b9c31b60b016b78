"""How training time and batch-1 latency grow with sequence length and model size (issue 13), plotted.

Random BERT encoders of 2, 4, 6 and 12 layers at hidden size 384 and 768 (64-wide heads, feed-forward 4x
hidden, the default MiniLM's 30,522-word vocabulary and tokenizer; 6 x 384 is the default model's shape),
seeded. For each model and each sequence length of 16, 32, 64, 128 and 256 tokens:

* **training**: ``TextClassifier.fit`` with tfkit's defaults (batch 32, the auto precision and optimizer) on
  sentences that are exactly that many tokens long; a callback times every step, and the median of the steps
  after the first two (tracing for the new shape, and a warm-up) is reported, as milliseconds per step,
  examples per second and a fraction of this machine's matmul peak;
* **batch-1 latency**: the model exported with ``tfkit.export`` (its default TFLite files, ``float32`` and
  ``dynamic_int8``, token-id inputs), run on LiteRT at 2 threads on one sentence of that length: p50 of the
  timed calls after a warm-up.

Each model is one part (its own process; ``benchmarks/results/scaling.parts/``), so a crash costs one model
and a rerun reuses finished parts (``--redo`` runs them again). The peak comes from ``peers_sst2.part_peak``
in the same run. Random weights: the figures are about cost, not accuracy.

Run:  python benchmarks/scaling.py [--layers 2 4 6 12] [--hidden 384 768] [--lengths 16 32 64 128 256] [--redo]
Writes benchmarks/results/scaling.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from _common import RESULTS, acceptance, machine, peak_dtype, run_parts, save_part, write_results

PARTS = RESULTS / "scaling.parts"
WORK = Path(tempfile.gettempdir()) / "tfkit_scaling"  # checkpoints and exported files (large, outside the repo)
THREADS = 2
VARIANTS = ("float32", "dynamic_int8")


def model_name(layers: int, hidden: int) -> str:
    return f"L{layers}_H{hidden}"


def write_checkpoint(folder: Path, layers: int, hidden: int, seed: int = 0) -> Path:
    """A random BERT checkpoint of the given depth and width with the default MiniLM's tokenizer."""
    from transformers import AutoTokenizer, BertConfig, TFBertModel

    from tfkit._keras import keras
    from tfkit.models.checkpoint import default_checkpoint

    config = BertConfig(vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=hidden // 64, intermediate_size=4 * hidden, max_position_embeddings=512)
    keras.utils.set_random_seed(seed)
    model = TFBertModel(config)
    model.build_in_name_scope()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder), safe_serialization=False)
    AutoTokenizer.from_pretrained(str(default_checkpoint())).save_pretrained(str(folder))
    return folder


def single_token_words(tokenizer) -> list[str]:
    """Vocabulary words that the tokenizer keeps as one token each, so a sentence of n of them is n + 2 tokens."""
    words = [w for w in tokenizer.get_vocab() if w.isalpha() and w.islower() and 3 <= len(w) <= 8]
    return sorted(w for w in words if len(tokenizer(w, add_special_tokens=False)["input_ids"]) == 1)[:2000]


def sentences(words: list[str], length: int, count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(words, size=length - 2)) for _ in range(count)]


def part_model(args, layers: int, hidden: int) -> dict:
    import tfkit
    from tfkit._keras import keras
    from tfkit.export.runtime import LiteRTModel
    from tfkit.models.config import resolve_precision

    name = model_name(layers, hidden)
    checkpoint = write_checkpoint(WORK / name / "checkpoint", layers, hidden)
    clf = tfkit.TextClassifier.from_pretrained(checkpoint, labels=["neg", "pos"], max_length=max(args.lengths))
    words = single_token_words(clf.tokenizer)
    batch = clf.training_config.batch_size
    steps = 2 + args.timed_steps
    rows: dict[str, dict] = {}
    for length in args.lengths:
        texts = sentences(words, length, batch * steps, seed=length)
        measured = len(clf.tokenizer(texts[0], truncation=True, max_length=clf.config.max_length)["input_ids"])
        if measured != length:
            raise SystemExit(f"{name}: a {length}-token sentence tokenized to {measured} tokens")
        data = tfkit.data.from_lists(texts, [["neg", "pos"][i % 2] for i in range(len(texts))])
        times: list[float] = []

        class StepTimer(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                self.began = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                times.append(time.perf_counter() - self.began)

        clf.compile()  # tfkit's defaults; a fresh warm-up/decay schedule per length (one fit per compile)
        clf.fit(data, epochs=1, callbacks=[StepTimer()], verbose=0)
        timed = times[2:]
        seconds = float(np.median(timed))
        rows[str(length)] = {"train_ms_per_step": 1000 * seconds, "train_examples_per_second": batch / seconds,
                             "train_step_ms_each": [1000 * t for t in times], "first_step_seconds": times[0]}
        print(f"{name} length {length}: {1000 * seconds:.0f} ms per training step", flush=True)
    export_dir = WORK / name / "export"
    start = time.perf_counter()
    # timing only: the files are checked on the (random-word) training texts, and kept whatever their agreement
    tfkit.export(clf, export_dir, formats=["tflite"], quantization=list(VARIANTS), validation=data, overwrite=True,
                 raw_text=False, mediapipe=False, force=True, log=lambda *_: None)
    export_seconds = time.perf_counter() - start
    rng = np.random.default_rng(0)
    sizes = {}
    for variant in VARIANTS:
        path = export_dir / "tflite" / f"model_{variant}.tflite"
        sizes[variant] = path.stat().st_size
        model = LiteRTModel(path, num_threads=THREADS)
        for length in args.lengths:
            ids = rng.integers(1000, 30000, size=(1, length))
            ids[0, 0], ids[0, -1] = clf.tokenizer.cls_token_id, clf.tokenizer.sep_token_id
            features = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
            features = {k: v for k, v in features.items() if k in model.input_names}
            for _ in range(3):
                model(features)
            calls = []
            budget = time.perf_counter() + args.latency_seconds
            while len(calls) < 5 or (time.perf_counter() < budget and len(calls) < 200):
                began = time.perf_counter()
                model(features)
                calls.append(1000 * (time.perf_counter() - began))
            rows[str(length)][f"b1_{variant}_p50_ms"] = float(np.percentile(calls, 50))
            rows[str(length)][f"b1_{variant}_calls"] = len(calls)
    hf = clf.hf_config
    return {"layers": layers, "hidden": hidden, "intermediate": hf.intermediate_size,
            "parameters": int(clf.count_params()), "precision": resolve_precision(clf.config.precision).value,
            "optimizer": type(clf.optimizer).__name__, "batch_size": batch, "export_seconds": export_seconds,
            "tflite_bytes": sizes, "lengths": rows}


def part_peak(args) -> dict:
    from peers_sst2 import part_peak as peak

    return peak(SimpleNamespace(threads=[THREADS]))


def forward_flops(length: int, layers: int, hidden: int, intermediate: int) -> float:
    from peers_sst2 import forward_flops as flops

    return float(flops(np.asarray([length]), {"hidden_size": hidden, "intermediate_size": intermediate,
                                              "num_hidden_layers": layers, "num_labels": 2})[0])


def summarise(args) -> None:
    parts = {p.stem: json.loads(p.read_text()) for p in PARTS.glob("*.json")}
    peak = parts["peak"]["peak_gflops"]
    models = [parts[model_name(l, h)] for h in args.hidden for l in args.layers if model_name(l, h) in parts]
    for m in models:
        for length, row in m["lengths"].items():
            flops = forward_flops(int(length), m["layers"], m["hidden"], m["intermediate"])
            row["train_fraction_of_peak"] = 3 * flops * row["train_examples_per_second"] / (
                peak[peak_dtype(m["precision"])] * 1e9)
            row["b1_dynamic_int8_fraction_of_fp32_peak"] = flops / (row["b1_dynamic_int8_p50_ms"] / 1000) / (
                peak["float32"] * 1e9)
    default = parts.get(model_name(6, 384))
    longest, base = str(max(args.lengths)), "64"
    entries = {}
    if default and base in default["lengths"] and longest in default["lengths"]:
        d = default["lengths"]
        entries = {
            f"minilm_shape_train_step_ratio_{longest}_vs_{base}": acceptance(
                d[longest]["train_ms_per_step"] / d[base]["train_ms_per_step"], "reported"),
            f"minilm_shape_b1_int8_latency_ratio_{longest}_vs_{base}": acceptance(
                d[longest]["b1_dynamic_int8_p50_ms"] / d[base]["b1_dynamic_int8_p50_ms"], "reported"),
            "best_train_fraction_of_peak": acceptance(max(
                r["train_fraction_of_peak"] for m in models for r in m["lengths"].values()), "reported"),
        }
    record = {"machine": machine(), "threads": THREADS, "peak_gflops": peak,
              "models": {model_name(m["layers"], m["hidden"]): m for m in models}, "acceptance": entries,
              "settings": {"layers": args.layers, "hidden": args.hidden, "lengths": args.lengths,
                           "timed_steps": args.timed_steps, "seed": 0},
              "part_machines": {n: p.get("part_machine", {}).get("cpu") for n, p in parts.items()}}
    table = [("model", "parameters", "length", "train ms/step", "train examples/s",
              "train fraction of peak (its precision's)",
              "b1 float32 p50 ms", "b1 dynamic int8 p50 ms")]
    for m in models:
        for length, r in m["lengths"].items():
            table.append((model_name(m["layers"], m["hidden"]), f"{m['parameters'] / 1e6:.1f} M", length,
                          f"{r['train_ms_per_step']:.0f}", f"{r['train_examples_per_second']:.1f}",
                          f"{r['train_fraction_of_peak']:.3f}", f"{r['b1_float32_p50_ms']:.2f}",
                          f"{r['b1_dynamic_int8_p50_ms']:.2f}"))
    write_results("scaling", record, table, "Training step time and batch-1 latency against sequence length and "
                                            "model size (random BERT encoders, tfkit defaults)")
    plot(models)
    with open(RESULTS / "scaling.md", "a", encoding="utf-8") as handle:
        handle.write(f"\nPeak matmul throughput ({THREADS} threads): "
                     + ", ".join(f"{d} {g:.0f} GFLOP/s" for d, g in peak.items())
                     + f". Training precision: {models[0]['precision'] if models else '-'}; batch "
                       f"{models[0]['batch_size'] if models else '-'}.\n\n![scaling](scaling.png)\n")


def plot(models: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    for m in models:
        lengths = sorted(int(k) for k in m["lengths"])
        rows = [m["lengths"][str(k)] for k in lengths]
        label = f"{m['layers']} layers x {m['hidden']}"
        style = "-" if m["hidden"] == 384 else "--"
        axes[0].plot(lengths, [r["train_ms_per_step"] for r in rows], style, marker="o", label=label)
        axes[1].plot(lengths, [r["b1_float32_p50_ms"] for r in rows], style, marker="o", label=label)
        axes[2].plot(lengths, [r["b1_dynamic_int8_p50_ms"] for r in rows], style, marker="o", label=label)
    titles = ("training step, batch 32 (ms)", "batch-1 latency, float32 TFLite (ms)",
              "batch-1 latency, dynamic int8 TFLite (ms)")
    for axis, title in zip(axes, titles):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("sequence length (tokens)")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(RESULTS / "scaling.png", dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[2, 4, 6, 12])
    parser.add_argument("--hidden", type=int, nargs="+", default=[384, 768])
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--timed-steps", type=int, default=4, help="training steps timed after two untimed ones")
    parser.add_argument("--latency-seconds", type=float, default=3.0, help="time spent per batch-1 measurement")
    parser.add_argument("--redo", action="store_true", help="run parts that have a record again")
    parser.add_argument("--summarise-only", action="store_true")
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        if args.part == "peak":
            record = part_peak(args)
        else:
            layers, hidden = (int(x[1:]) for x in args.part.split("_"))
            record = part_model(args, layers, hidden)
        save_part(PARTS, args.part, {**record, "settings": {k: v for k, v in vars(args).items() if k != "part"}})
        return
    if not args.summarise_only:
        names = ["peak"] + [model_name(l, h) for h in args.hidden for l in args.layers]
        forwarded = ["--lengths", *map(str, args.lengths), "--timed-steps", str(args.timed_steps),
                     "--latency-seconds", str(args.latency_seconds)]
        run_parts(__file__, PARTS, names, forwarded, redo=args.redo)
    summarise(args)


if __name__ == "__main__":
    main()
