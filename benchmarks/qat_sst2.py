"""Quantization-aware training benchmark (issue 11: Functional twin, TF-MOT QAT, integer-only TFLite).

Starts from the default MiniLM fine-tuned on SST-2 train.tsv without the seeded 2,000-sentence
validation split (``_common.sst2_clean_model()``, ``--base clean``, the default): choices are made on that
split, which the base model has then never seen; every reported accuracy is on dev.tsv (872 sentences),
run on LiteRT. ``--base full`` starts from the model fine-tuned on all of train.tsv
(``_common.sst2_finetuned_model()``, dev 0.9014), whose training saw the validation split (so choices made
there favour whatever fits train best); its parts and record are kept apart (``qat_sst2.full_base.*``).
Each part runs in a fresh process and records its figures in ``results/qat_sst2.parts/``:

* ``twin``: the Functional twin against the Hugging Face model on all dev sentences (padded batches
  of 32) and the HF -> twin -> HF round trip; the float model's dev accuracy.
* ``qat_seed0``, ``qat_seed1``: ``tfkit.quantize_aware`` (1 epoch on a seeded train subset, the
  validation split for per-epoch metrics), then ``tfkit.export(..., quantization=["qat_int8"])``:
  integer-only check, dev accuracy of the file; for seed 0 also the op-family costs (on the
  validation split: each family kept in float in turn).
* ``pqat``: ``tfkit.prune`` to 50 % (TF-MOT, on the same subset), ``strip()``, then QAT with the
  prune-preserving scheme and the integer-only export; zeros kept, dev accuracy, gzip size.
* ``qat_clipped_seed0``, ``qat_clipped_seed1``, ``pqat_clipped``: the same with each fake-quant range
  started at the float model's min/max on 256 training sentences cut to [-6, 6] (``range_clip``) instead
  of TF-MOT's [-6, 6].
* ``qat_kd_seed0``, ``qat_kd_seed1``, ``pqat_kd``: TF-MOT's start, trained against the float model's logits
  as well as the labels (``distill_alpha=0.5``, temperature 2).
* ``qat_kd2_seed0``, ``qat_kd2_seed1``, ``pqat_kd2``: the same for 2 QAT epochs instead of 1.
* ``qat_kdsoft_seed0``, ...: the float model's soft targets alone, without the labels (``distill_alpha=0``).
* ``qat_kdlr2_seed0``, ...: distilled as ``kd_``, at a peak learning rate of 2e-5 instead of 1e-5.
* The reported variant is the one whose seed-0 integer-only file scores highest on the validation split,
  among those with both seeds and the pruned run; the others are shown beside.
* ``compare``: in one process, float32, dynamic_int8 and the selective full_int8 files of the float
  model exported beside the chosen variant's seed-0 QAT file, all timed batch 1 at real dev lengths, 2 threads,
  alternating rounds.

Run:  python benchmarks/qat_sst2.py [--subset 16000] [--learning-rate 1e-5] [--only twin qat_seed0 ...]
      python benchmarks/qat_sst2.py --only qat_kd_seed0 qat_kd_seed1 pqat_kd compare   (a variant's parts)
Writes benchmarks/results/qat_sst2.{json,md} (with --base full: qat_sst2.full_base.{json,md}).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import time
from pathlib import Path

import numpy as np

from _common import (RESULTS, SST2_CLEAN_RUN, SST2_RUN, acceptance, machine, require_sst2, run_parts, save_part,
                     sst2_clean_model, sst2_finetuned_model, sst2_validation_split, write_results)

# --base: the starting model, where the parts' records go, the files they share (git-ignored, under saved_models/)
# and the name of the record.
BASES = {"clean": (sst2_clean_model, RESULTS / "qat_sst2.parts", SST2_CLEAN_RUN / "qat_benchmark", "qat_sst2"),
         "full": (sst2_finetuned_model, RESULTS / "qat_sst2.full_base.parts", SST2_RUN / "qat_benchmark",
                  "qat_sst2.full_base")}
base_model, PARTS, EXPORTS, RECORD = BASES["clean"]
BASE_DIRS = {sst2_clean_model: SST2_CLEAN_RUN / "model", sst2_finetuned_model: SST2_RUN / "01_finetune" / "model"}


def use_base(name: str) -> None:
    global base_model, PARTS, EXPORTS, RECORD
    base_model, PARTS, EXPORTS, RECORD = BASES[name]

ORDER = ("twin", "qat_seed0", "qat_seed1", "pqat", "compare")
# QAT's settings by part-name infix: how the fake-quant ranges start (TF-MOT's [-6, 6], or "clipped": the float
# model's min/max on 256 training sentences cut to [-6, 6]), distillation from the float model, and optionally
# "epochs" and "learning_rate". The reported variant is the one whose seed-0 integer-only file scores highest on
# the validation split (never on dev).
VARIANTS = {"": {"calibration_samples": 0, "range_clip": None, "distill_alpha": None},
            "clipped_": {"calibration_samples": 256, "range_clip": 6.0, "distill_alpha": None},
            "kd_": {"calibration_samples": 0, "range_clip": None, "distill_alpha": 0.5},
            "kd2_": {"calibration_samples": 0, "range_clip": None, "distill_alpha": 0.5, "epochs": 2},
            "kdsoft_": {"calibration_samples": 0, "range_clip": None, "distill_alpha": 0.0},
            "kdlr2_": {"calibration_samples": 0, "range_clip": None, "distill_alpha": 0.5, "learning_rate": 2e-5}}


def data(args):
    import tfkit

    sst2 = require_sst2()
    train = tfkit.data.load(sst2 / "train.tsv", text="sentence", label="label")
    dev = tfkit.data.load(sst2 / "dev.tsv", text="sentence", label="label", labels=train.labels)
    validation, rest = sst2_validation_split(train)  # choices are made on validation
    subset = rest.subset(np.arange(args.subset))  # QAT / pruning fine-tune on this
    return subset, validation, dev


def litert_accuracy(path: Path, clf, dev) -> tuple[float, np.ndarray]:
    from tfkit.export.graph import ServingModule
    from tfkit.export.runtime import LiteRTModel
    from tfkit.export.tflite import representative_samples

    module = ServingModule(clf, raw_strings=False)
    model = LiteRTModel(path, num_threads=2)
    samples = representative_samples(module, list(dev.texts))
    logits = np.concatenate([model(s) for s in samples])
    return float(np.mean(logits.argmax(1) == np.asarray(dev.targets))), logits


def part_twin(args) -> dict:
    import tfkit
    from tfkit.models import twin

    _, _, dev = data(args)
    clf = tfkit.TextClassifier.load(base_model(), precision="float32")
    start = time.perf_counter()
    model = twin.functional_twin(clf)
    built = time.perf_counter() - start
    texts = list(dev.texts)
    worst = 0.0
    for i in range(0, len(texts), 32):
        enc = clf.tokenizer(texts[i:i + 32], padding=True, truncation=True, max_length=clf.config.max_length,
                            return_tensors="np")
        inputs = {name: enc[name].astype(np.int32) for name in clf.accepted_inputs if name in enc}
        worst = max(worst, twin.logit_difference(model, clf, inputs))
    back = twin.write_back(model, clf)
    probe = twin.probe_inputs(clf, batch=8, length=40)
    roundtrip = float(np.max(np.abs(np.asarray(back(probe)) - np.asarray(clf(probe)))))
    logits = clf.predict_logits(dev)
    return {"twin_max_logit_diff": worst, "twin_roundtrip_max_diff": roundtrip, "twin_build_seconds": built,
            "float_dev_accuracy": float(np.mean(logits.argmax(1) == np.asarray(dev.targets))),
            "twin_layers": len(model.layers)}


def _variant(name: str) -> str:
    """The VARIANTS key of a part name (``qat_clipped_seed0`` -> ``clipped_``)."""
    body = name.removeprefix("qat_").removeprefix("pqat").lstrip("_")
    return next((key for key in VARIANTS if key and (body + "_").startswith(key)), "")


def _qat_and_export(clf, subset, validation, dev, args, seed: int, name: str, op_costs: bool = False) -> dict:
    import tfkit
    from tfkit._keras import keras
    from tfkit.export.ops import op_table

    keras.utils.set_random_seed(seed)
    clf.training_config = dataclasses.replace(clf.training_config, seed=seed)
    settings = dict(VARIANTS[_variant(name)]) if _variant(name) else \
        {"calibration_samples": args.calibration_samples, "range_clip": None, "distill_alpha": None}
    epochs, learning_rate = settings.pop("epochs", 1), settings.pop("learning_rate", args.learning_rate)
    start = time.perf_counter()
    qat = tfkit.quantize_aware(clf, subset, validation, epochs=epochs, learning_rate=learning_rate,
                               batch_size=32, **settings,
                               output_dir=EXPORTS / f"{name}_train", overwrite=True, verbose=2)
    seconds = time.perf_counter() - start
    out = EXPORTS / f"{name}_export"
    artifacts = tfkit.export(qat, out, formats=["tflite"], train=subset, validation=validation, overwrite=True,
                             op_costs=op_costs)
    path = out / "tflite" / "model_qat_int8.tflite"
    accuracy, _ = litert_accuracy(path, qat, dev)
    validation_accuracy, _ = litert_accuracy(path, qat, validation)  # what the variant is chosen on
    manifest = json.loads(path.with_suffix(".json").read_text())
    report = op_table(path)
    return {"seed": seed, "qat_seconds": seconds, "qat_examples_per_second": len(subset) / seconds,
            "qat_dev_accuracy": accuracy, "int8_validation_accuracy": validation_accuracy, **settings, "epochs": epochs, "learning_rate": learning_rate,
            "qat_keras_validation_accuracy": artifacts.variants[0].check.reference_score,
            "integer_only": report.integer_only, "float_ops": report.float_ops, "op_counts": report.op_counts(),
            "size_bytes": path.stat().st_size, "gzip_bytes": len(gzip.compress(path.read_bytes())),
            "op_family_costs_validation": manifest.get("op_family_costs"), "file": str(path),
            "prune_preserve": qat.prune_preserve, "history": qat.fit_record.get("history")}


def part_qat(args, seed: int, variant: str = "") -> dict:
    """QAT of the float model (ranges started as VARIANTS[variant] says), its integer-only file scored."""
    import tfkit

    subset, validation, dev = data(args)
    clf = tfkit.TextClassifier.load(base_model(), precision="float32")
    return _qat_and_export(clf, subset, validation, dev, args, seed, f"qat_{variant}seed{seed}",
                           op_costs=seed == 0 and not variant and not args.skip_op_costs)


def part_pqat(args, variant: str = "") -> dict:
    import tfkit
    from tfkit._keras import keras
    from tfkit.optimize.qat import kernel_sparsity, new_nonzeros

    subset, validation, dev = data(args)
    keras.utils.set_random_seed(0)
    clf = tfkit.TextClassifier.load(base_model(), precision="float32")
    start = time.perf_counter()
    pruned = tfkit.prune(clf, subset, validation, target_sparsity=0.5, epochs=args.prune_epochs,
                         learning_rate=1e-4, verbose=2)
    stripped = pruned.strip()
    prune_seconds = time.perf_counter() - start
    sparsity = kernel_sparsity(stripped)
    pruned_accuracy = float(np.mean(stripped.predict_logits(dev).argmax(1) == np.asarray(dev.targets)))
    result = _qat_and_export(stripped, subset, validation, dev, args, 0, f"pqat_{variant}".rstrip("_"))
    zeros = new_nonzeros(result["file"], stripped)
    return {**result, "prune_seconds": prune_seconds, "pruned_kernel_sparsity": sparsity,
            "pruned_float_dev_accuracy": pruned_accuracy, **{f"zeros_{k}": v for k, v in zeros.items()}}


def part_compare(args) -> dict:
    """float32, dynamic_int8 and selective full_int8 of the float model beside the seed-0 QAT file, timed together."""
    import tfkit
    from tfkit.export.graph import ServingModule
    from tfkit.export.runtime import LiteRTModel
    from tfkit.export.tflite import representative_samples

    subset, validation, dev = data(args)
    clf = tfkit.TextClassifier.load(base_model(), precision="float32")
    out = EXPORTS / "ptq_export"
    tfkit.export(clf, out, formats=["tflite"], quantization=["float32", "dynamic_int8", "full_int8"],
                 train=subset, validation=validation, overwrite=True)
    files = {q: out / "tflite" / f"model_{q}.tflite" for q in ("float32", "dynamic_int8", "full_int8")}
    chosen = chosen_variant({p.stem: json.loads(p.read_text()) for p in PARTS.glob("*.json")})
    files["qat_int8"] = EXPORTS / f"qat_{chosen}seed0_export" / "tflite" / "model_qat_int8.tflite"
    samples = representative_samples(ServingModule(clf, raw_strings=False), list(dev.texts))
    models = {name: LiteRTModel(path, num_threads=2) for name, path in files.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    correct: dict[str, int] = {name: 0 for name in models}
    targets = np.asarray(dev.targets)
    for name, model in models.items():  # warm-up: every length's interpreter prepared once
        for sample in samples:
            model(sample)
    for round_ in range(args.rounds):
        for name in (list(models) if round_ % 2 == 0 else list(models)[::-1]):
            model = models[name]
            for i, sample in enumerate(samples):
                start = time.perf_counter()
                logits = model(sample)
                times[name].append((time.perf_counter() - start) * 1000.0)
                if round_ == 0:
                    correct[name] += int(logits.argmax(1)[0] == targets[i])
    rows = {}
    for name, path in files.items():
        manifest = json.loads(path.with_suffix(".json").read_text())
        rows[name] = {"p50_ms": float(np.percentile(times[name], 50)), "p90_ms": float(np.percentile(times[name], 90)),
                      "size_bytes": path.stat().st_size, "dev_accuracy": correct[name] / len(samples),
                      "integer_only": manifest["integer_only"]["integer_only"],
                      "float_ops": manifest["integer_only"]["float_ops"]}
    return {"rows": rows, "rounds": args.rounds, "qat_variant": chosen}


def run_part(name: str, args) -> dict:
    if name == "twin":
        return part_twin(args)
    if name.startswith("qat_"):
        return part_qat(args, int(name.rpartition("seed")[2]), _variant(name))
    if name.startswith("pqat"):
        return part_pqat(args, _variant(name))
    return part_compare(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", choices=sorted(BASES), default="clean",
                        help="the starting model: 'clean' (fine-tuned without the validation split) or 'full'")
    parser.add_argument("--subset", type=int, default=16000, help="seeded SST-2 train sentences QAT trains on")
    parser.add_argument("--learning-rate", type=float, default=1e-5)
    parser.add_argument("--prune-epochs", type=int, default=2)
    parser.add_argument("--calibration-samples", type=int, default=0,
                        help="training sentences whose raw min/max set QAT's initial ranges in parts without a "
                             "variant infix (0, the default: TF-MOT's [-6, 6]; 256 was measured as part "
                             "qat_calibrated_seed0); qat_clipped_* parts use 256 cut to [-6, 6]")
    parser.add_argument("--skip-op-costs", action="store_true", help="leave out seed 0's op-family costs (~7 min)")
    parser.add_argument("--rounds", type=int, default=2, help="timing rounds over the dev set in 'compare'")
    parser.add_argument("--only", nargs="*", default=None, help=f"parts to (re)run, of {ORDER}")
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)  # one part, in this process
    parser.add_argument("--summarise-only", action="store_true")
    args = parser.parse_args()
    use_base(args.base)
    if args.part:
        save_part(PARTS, args.part, {**run_part(args.part, args),
                                     "settings": {k: v for k, v in vars(args).items() if k != "part"}})
        return
    if not args.summarise_only:
        base_model()
        forwarded = ["--base", args.base, "--subset", str(args.subset), "--learning-rate", str(args.learning_rate),
                     "--prune-epochs", str(args.prune_epochs), "--rounds", str(args.rounds), "--calibration-samples",
                     str(args.calibration_samples)] + (["--skip-op-costs"] if args.skip_op_costs else [])
        run_parts(__file__, PARTS, list(args.only or ORDER), forwarded, redo=True)  # as before: every listed part runs again
    summarise()


def int8_validation_accuracy(part: dict) -> float | None:
    """The integer-only file's validation accuracy (parts from before it was recorded: the op-cost baseline)."""
    if "int8_validation_accuracy" in part:
        return part["int8_validation_accuracy"]
    return ((part.get("op_family_costs_validation") or {}).get("all_int8") or {}).get("score")


def complete(parts: dict, key: str) -> bool:
    """Whether variant ``key`` has every part the record reports (both QAT seeds and the pruned run)."""
    return all(name in parts for name in (f"qat_{key}seed0", f"qat_{key}seed1", f"pqat_{key}".rstrip("_")))


def chosen_variant(parts: dict, require_complete: bool = True) -> str:
    """The VARIANTS key whose seed-0 integer-only file scores highest on the validation split (among the
    variants with every part run, unless ``require_complete`` is off)."""
    scores = {key: int8_validation_accuracy(parts[f"qat_{key}seed0"]) for key in VARIANTS
              if f"qat_{key}seed0" in parts and (complete(parts, key) or not require_complete)}
    scores = {key: value for key, value in scores.items() if value is not None}
    return max(scores, key=scores.get) if scores else ""


def summarise() -> None:
    parts = {p.stem: json.loads(p.read_text()) for p in PARTS.glob("*.json")}
    variant = chosen_variant(parts)
    twin, compare, pqat = parts["twin"], parts["compare"]["rows"], parts[f"pqat_{variant}".rstrip("_")]
    seeds = [parts[f"qat_{variant}seed{seed}"] for seed in (0, 1)]
    others = {key: [parts[name] for name in sorted(parts) if name.startswith(f"qat_{key}seed")]
              for key in VARIANTS if key != variant}
    # QAT with min/max-initialised ranges (--calibration-samples 256), kept for comparison.
    calibrated = [parts[name] for name in sorted(parts) if name.startswith("qat_calibrated_seed")]
    float_accuracy = twin["float_dev_accuracy"]
    drops = [100.0 * (float_accuracy - s["qat_dev_accuracy"]) for s in seeds]
    float_size = compare["float32"]["size_bytes"]
    label = {"": "ranges started at TF-MOT's [-6, 6]",
             "clipped_": "ranges started at the float min/max cut to [-6, 6]",
             "kd_": "TF-MOT's start, distilled from the float model (alpha 0.5, T 2)",
             "kd2_": "TF-MOT's start, distilled from the float model (alpha 0.5, T 2), 2 epochs",
             "kdsoft_": "TF-MOT's start, the float model's soft targets alone (alpha 0, T 2)",
             "kdlr2_": "TF-MOT's start, distilled from the float model (alpha 0.5, T 2), learning rate 2e-5"}
    record = {
        "machine": machine(),
        "base_model": str(BASE_DIRS[base_model]),  # where it is (summarising must not train it)
        "range_start": {"chosen": label[variant], "chosen_on": "the seed-0 integer-only file's validation accuracy, "
                                                              "among the variants with both seeds and the pruned run",
                        "best_on_validation_so_far": label[chosen_variant(parts, require_complete=False)],
                        "validation_accuracy": {label[key]: int8_validation_accuracy(parts[f"qat_{key}seed0"])
                                                for key in VARIANTS if f"qat_{key}seed0" in parts}},
        "parts": parts,
        "acceptance": {
            "float_dev_accuracy": acceptance(float_accuracy, "reported"),
            "qat_int8_drop": acceptance(float(np.mean(drops)), "<=", 1.0),
            "qat_integer_only": acceptance(float(all(s["integer_only"] for s in seeds)), ">=", 1),
            "qat_size_ratio": acceptance(seeds[0]["size_bytes"] / float_size, "<=", 0.27),
            "qat_latency_ratio_vs_dynamic": acceptance(compare["qat_int8"]["p50_ms"] / compare["dynamic_int8"]["p50_ms"],
                                                       "reported"),
            "pqat_new_nonzeros": acceptance(pqat["zeros_new_nonzeros"], "<=", 0),
            "pqat_drop": acceptance(100.0 * (float_accuracy - pqat["qat_dev_accuracy"]), "<=", 1.5),
            "twin_max_logit_diff": acceptance(twin["twin_max_logit_diff"], "<=", 1e-4),
            "twin_roundtrip_max_diff": acceptance(twin["twin_roundtrip_max_diff"], "<=", 1e-5),
        },
    }
    record["acceptance"]["float_dev_accuracy"]["target"] = "reported"
    record["acceptance"]["twin_max_logit_diff"]["value"] = float(f"{twin['twin_max_logit_diff']:.3g}")
    record["acceptance"]["twin_roundtrip_max_diff"]["value"] = float(f"{twin['twin_roundtrip_max_diff']:.3g}")
    table = [("file", "dev accuracy", "drop (points)", "size MB", "size vs float32", "p50 ms", "p90 ms",
              "integer-only", "float ops")]
    for name, row in compare.items():
        table.append((name, f"{row['dev_accuracy']:.4f}", f"{100 * (float_accuracy - row['dev_accuracy']):.2f}",
                      f"{row['size_bytes'] / 1e6:.1f}", f"{row['size_bytes'] / float_size:.3f}", f"{row['p50_ms']:.2f}",
                      f"{row['p90_ms']:.2f}", "yes" if row["integer_only"] else "no",
                      ", ".join(f"{k} {v}" for k, v in sorted(row["float_ops"].items())) or "-"))
    rows = [(f"qat_int8 seed {s['seed']} ({label[variant]}; reported)", s) for s in seeds]
    rows += [(f"qat_int8 seed {s['seed']} ({label[key]})", s) for key, runs in others.items() for s in runs]
    for title, s in rows:
        table.append((title, f"{s['qat_dev_accuracy']:.4f}",
                      f"{100 * (float_accuracy - s['qat_dev_accuracy']):.2f}", f"{s['size_bytes'] / 1e6:.1f}",
                      f"{s['size_bytes'] / float_size:.3f}", "", "", "yes" if s["integer_only"] else "no", ""))
    for s in calibrated:
        table.append((f"qat_int8 seed {s['seed']}, min/max-initialised ranges", f"{s['qat_dev_accuracy']:.4f}",
                      f"{100 * (float_accuracy - s['qat_dev_accuracy']):.2f}", f"{s['size_bytes'] / 1e6:.1f}",
                      f"{s['size_bytes'] / float_size:.3f}", "", "", "yes" if s["integer_only"] else "no", ""))
    table.append((f"pruned 50 % + qat_int8 ({label[variant]})", f"{pqat['qat_dev_accuracy']:.4f}",
                  f"{100 * (float_accuracy - pqat['qat_dev_accuracy']):.2f}", f"{pqat['size_bytes'] / 1e6:.1f}",
                  f"{pqat['size_bytes'] / float_size:.3f} (gzip {pqat['gzip_bytes'] / 1e6:.1f} MB)", "", "",
                  "yes" if pqat["integer_only"] else "no", ""))
    write_results(RECORD, record, table, "QAT on SST-2 (default MiniLM): integer-only int8 via TF-MOT")
    lines = ["", "How the variant was chosen (seed 0's integer-only file; the validation split chooses, dev is shown "
             "for the record and never used to choose):", "",
             "| variant | validation accuracy | dev accuracy | parts run |", "|---|---|---|---|"]
    for key in VARIANTS:
        part = parts.get(f"qat_{key}seed0")
        if part and int8_validation_accuracy(part) is not None:
            mark = " (chosen)" if key == variant else ""
            lines.append(f"| {label[key]}{mark} | {int8_validation_accuracy(part):.4f} | {part['qat_dev_accuracy']:.4f} "
                         f"| {'both seeds + pruned' if complete(parts, key) else 'seed 0'} |")
    with open(RESULTS / f"{RECORD}.md", "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    costed = [(s, label[key]) for key, runs in {variant: seeds, **others}.items() for s in runs
              if s.get("op_family_costs_validation")]
    if costed:
        _append_costs(*costed[0])


def _append_costs(seed: dict, start: str) -> None:
    costs = seed.get("op_family_costs_validation") or {}
    if not costs:
        return
    lines = ["", f"Where the integer-only file's points go (seed {seed['seed']}, {start}; validation split; "
             "each family kept in float, the rest int8):", "", "| ops in float | accuracy | recovered (points) | p50 ms |", "|---|---|---|---|"]
    base = costs["all_int8"]
    lines.append(f"| none (all int8) | {base['score']:.4f} | - | {base['latency_ms_p50']:.2f} |")
    for family, row in costs["families"].items():
        lines.append(f"| {family} ({row['float_ops']} ops) | {row['score']:.4f} | {row['recovered_points']:+.2f} | "
                     f"{row['latency_ms_p50']:.2f} |")
    with open(RESULTS / f"{RECORD}.md", "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
