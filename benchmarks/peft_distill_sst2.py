"""LoRA and distillation benchmark (issue 16), on SST-2 with the default MiniLM.

LoRA: full fine-tuning and LoRA (rank 8, alpha 16, query/value adapters and the classifier layer
trained) start from the default MiniLM checkpoint and train on the same seeded SST-2 train subset for
the same epochs (full fine-tuning at batch 32), max
length 64, float32, with an output folder (checkpoints, backup, TensorBoard) and per-epoch validation on
the 2,000-sentence validation split, as users run ``fit``. Full fine-tuning uses tfkit's peak learning rate
(5e-5); LoRA's (with its batch size, and LoRA+'s ratio) is chosen among 5e-4, 1e-3, 2e-3 and 4e-3 at batch 32,
1e-3 and 2e-3 at batch 16, LoRA+ at batch 16 (5e-4 with B 16x faster, 1e-3 with B 8x), and 2e-3 at batch 16
with the frozen base's dropout off, a pooler adapter, and a mean-pooled head (the classifier reads the mean of
the last layer, without the pooler), on the validation split with seed 0 (never on dev), then
the chosen one also runs seed 1. Dev accuracy (872 sentences) is the mean of
seeds 0 and 1; training examples/s come from ``fit_record`` and peak memory from the part's own process
(``ru_maxrss``: each part runs in a fresh process). For seed 0 the adapter file is saved and its size
recorded, the adapters are merged, and the merged model's float32 TFLite file is compared label for
label with the unmerged Keras model on every dev sentence.

Distillation: the teacher is the MiniLM fine-tuned on the full SST-2 train split
(``_common.sst2_finetuned_model()``, dev 0.9014). A 3-layer student takes the teacher's blocks 0, 2, 4
with its embeddings and head (``tfkit.student_from_teacher``) and is trained on the first 8,000
sentences of the same subset (``--distill-subset``) plus the next 24,000 train sentences without their labels
(``--unlabeled``; the teacher labels them, as TinyBERT's augmentation adds teacher-labelled texts), with
``tfkit.distill`` (temperature 2, alpha 0.5, peak learning rate 1e-4; each step also runs the teacher). The
comparison model is the same 3-layer initialisation fine-tuned on the 8,000 labelled sentences alone with the
same settings (it has no teacher to label more). Students distilled on the labelled sentences alone
(``--unlabeled 0``) are shown beside when their parts exist. All: mean of two seeds.
Latency: the teacher's and the seed-0 student's dynamic-int8 TFLite files, batch 1 on every dev
sentence at its own length, 2 threads, in alternating rounds (median of the rounds' p50s).

Run:  python benchmarks/peft_distill_sst2.py [--subset 16000] [--distill-subset 8000] [--unlabeled 24000] [--epochs 2]
Writes benchmarks/results/peft_distill_sst2.{json,md} (raw parts in results/peft_distill_sst2.parts/).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import time
from pathlib import Path

import numpy as np

from _common import (RESULTS, SST2_RUN, acceptance, machine, require_sst2, run_parts, save_part, sst2_finetuned_model,
                     write_results)

PARTS = RESULTS / "peft_distill_sst2.parts"
WORK = SST2_RUN / "peft_distill_benchmark"  # models and files the parts share (git-ignored, under saved_models/)
SEEDS = (0, 1)
# LoRA's peak learning rate is chosen on the validation split (seed 0), then the chosen one runs seed 1 too.
LORA_RATES = (5e-4, 1e-3, 2e-3, 4e-3)
# ... and batch 16 (twice the steps over the same data and epochs) at 1e-3 and 2e-3.
SMALL_BATCH_RATES = (1e-3, 2e-3)
# ... and LoRA+ (B learns ratio times faster than A) at batch 16: A at 5e-4 with ratio 16, 1e-3 with ratio 8
# (B at 8e-3 in both).
PLUS = ((5e-4, 16.0), (1e-3, 8.0))
# ... and the frozen base without its dropout (the adapters underfit: 0.885 train accuracy after two epochs).
# ... and a rank-8 adapter on the pooler as well (the classifier reads the pooler's tanh of the first token, and
# all-MiniLM-L6-v2 was trained through mean pooling: its pooler was never trained for what it feeds), with and
# without the base's dropout.
# ... and a mean-pooled head (LoraConfig.pooling="mean": the classifier reads the mean of the last layer, as
# all-MiniLM-L6-v2 was trained, instead of the pooler of the first token), with and without the base's dropout.
# Candidates: (learning rate, batch, LoRA+ ratio, base dropout, pooler adapter, pooling).
LORA_CANDIDATES = tuple((rate, 32, 1.0, None, False, "first") for rate in LORA_RATES) + \
    tuple((rate, 16, 1.0, None, False, "first") for rate in SMALL_BATCH_RATES) + \
    tuple((rate, 16, ratio, None, False, "first") for rate, ratio in PLUS) + \
    ((2e-3, 16, 1.0, 0.0, False, "first"), (2e-3, 16, 1.0, 0.0, True, "first"), (2e-3, 16, 1.0, None, True, "first"),
     (2e-3, 16, 1.0, None, False, "mean"), (2e-3, 16, 1.0, 0.0, False, "mean"))


def lora_targets(pooler: bool) -> tuple[str, ...]:
    return ("query", "value", "pooler") if pooler else ("query", "value")


def lora_name(rate: float, batch: int, ratio: float = 1.0, dropout: float | None = None, pooler: bool = False,
              pooling: str = "first") -> str:
    return (f"lora_{'' if batch == 32 else f'b{batch}_'}{'' if ratio == 1 else f'plus{ratio:g}_'}"
            f"{'' if dropout is None else f'dropout{dropout:g}_'}{'pooler_' if pooler else ''}"
            f"{'' if pooling == 'first' else f'{pooling}_'}lr{rate:g}")


def order(args) -> tuple[str, ...]:
    """The parts, in the order they run (the student's parts are named by how many unlabelled texts it saw)."""
    students = tuple(f"student_u{args.unlabeled}_seed{seed}" for seed in SEEDS)
    return tuple(f"{kind}_seed{seed}" for kind in ("full", "plain3") for seed in SEEDS) + students + \
        (f"latency_u{args.unlabeled}", f"plain3_n{args.distill_subset + args.unlabeled}_seed0") + tuple(f"{lora_name(*c)}_seed0" for c in LORA_CANDIDATES)
MAX_LENGTH = 64
FULL_LEARNING_RATE = 5e-5
STUDENT_LEARNING_RATE = 1e-4


def data(args, size: int | None = None):
    import tfkit

    sst2 = require_sst2()
    train = tfkit.data.load(sst2 / "train.tsv", text="sentence", label="label")
    dev = tfkit.data.load(sst2 / "dev.tsv", text="sentence", label="label", labels=train.labels)
    order = np.random.default_rng(0).permutation(len(train))
    validation = train.subset(order[:2000])
    subset = train.subset(order[2000:2000 + (size or args.subset)])
    return subset, validation, dev


def unlabeled_texts(args) -> list[str]:
    """``args.unlabeled`` train sentences after the distillation subset, without their labels."""
    import tfkit

    train = tfkit.data.load(require_sst2() / "train.tsv", text="sentence", label="label")
    order = np.random.default_rng(0).permutation(len(train))
    start = 2000 + args.distill_subset
    return list(train.subset(order[start:start + args.unlabeled]).texts)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def dev_accuracy(clf, dev) -> float:
    return float(np.mean(clf.predict_logits(dev).argmax(1) == np.asarray(dev.targets)))


def _base(seed: int, labels, dropout: float | None = None):
    import tfkit
    from tfkit._keras import keras
    from tfkit.models.checkpoint import default_checkpoint

    keras.utils.set_random_seed(seed)
    clf = tfkit.TextClassifier.from_pretrained(default_checkpoint(), labels=labels, max_length=MAX_LENGTH,
                                               precision="float32", dropout=dropout,
                                               freeze_embeddings=False)  # as measured (the default since changed)
    clf.training_config = dataclasses.replace(clf.training_config, seed=seed)
    return clf


def _train(model, subset, validation, args, learning_rate: float, name: str, batch_size: int = 32) -> dict:
    model.compile(learning_rate=learning_rate, batch_size=batch_size)
    start = time.perf_counter()
    model.fit(subset, validation_data=validation, epochs=args.epochs, output_dir=WORK / name, overwrite=True,
              verbose=2)
    return {"fit_seconds": time.perf_counter() - start,
            "examples_per_second": model.fit_record.get("examples_per_second"),
            "optimizer_steps": model.fit_record.get("optimizer_steps"), "learning_rate": learning_rate,
            "batch_size": batch_size}


def part_full(args, seed: int) -> dict:
    subset, validation, dev = data(args)
    clf = _base(seed, subset.labels)
    trainable = int(sum(np.prod(w.shape) for w in clf.trainable_weights))
    total = int(sum(np.prod(w.shape) for w in clf.weights))
    record = _train(clf, subset, validation, args, FULL_LEARNING_RATE, f"full_seed{seed}")
    return {**record, "dev_accuracy": dev_accuracy(clf, dev), "trainable_parameters": trainable,
            "total_parameters": total, "peak_rss_mb": peak_rss_mb()}


def part_lora(args, seed: int, rate: float, batch: int = 32, ratio: float = 1.0, dropout: float | None = None,
              pooler: bool = False, pooling: str = "first") -> dict:
    import tfkit
    from tfkit.models import lora as lora_module

    subset, validation, dev = data(args)
    model = tfkit.with_lora(_base(seed, subset.labels, dropout), rank=8, alpha=16, targets=lora_targets(pooler),
                            b_lr_ratio=ratio, base_dropout=dropout, pooling=pooling)
    name = lora_name(rate, batch, ratio, dropout, pooler, pooling)
    out = {"b_lr_ratio": ratio, "base_dropout": dropout, "targets": list(lora_targets(pooler)), "pooling": pooling,
           "trainable_parameters": model.trainable_parameters, "total_parameters": model.total_parameters,
           "trainable_fraction": model.trainable_fraction}
    out.update(_train(model, subset, validation, args, rate, f"{name}_seed{seed}", batch))
    out["peak_rss_mb"] = peak_rss_mb()
    out["validation_accuracy"] = dev_accuracy(model, validation)  # what the learning rate is chosen on
    logits = model.predict_logits(dev)
    out["dev_accuracy"] = float(np.mean(logits.argmax(1) == np.asarray(dev.targets)))
    if seed == 0:
        adapter = model.save_adapter(WORK / f"{name}_adapter", overwrite=True)
        out["adapter_bytes"] = sum(p.stat().st_size for p in adapter.iterdir() if p.is_file())
        out["adapter_weights_bytes"] = (adapter / lora_module.ADAPTER_WEIGHTS).stat().st_size
        merged = model.merged()
        artifacts = tfkit.export(merged, WORK / f"{name}_merged_export", formats=["tflite"], quantization=["float32"],
                                 train=subset, validation=validation, raw_text=False, mediapipe=False,
                                 overwrite=True)
        labels = _litert_logits(artifacts.path / "tflite" / "model_float32.tflite", merged, dev).argmax(1)
        out["merged_tflite_agreement"] = float(np.mean(labels == logits.argmax(1)))
        out["merged_tflite_dev_accuracy"] = float(np.mean(labels == np.asarray(dev.targets)))
        out["merged_tflite_bytes"] = (artifacts.path / "tflite" / "model_float32.tflite").stat().st_size
    return out


def _litert_logits(path: Path, clf, dev) -> np.ndarray:
    from tfkit.export.graph import ServingModule
    from tfkit.export.runtime import LiteRTModel
    from tfkit.export.tflite import representative_samples

    module = ServingModule(clf, raw_strings=False)
    model = LiteRTModel(path, num_threads=2)
    return np.concatenate([model(s) for s in representative_samples(module, list(dev.texts))])


def _teacher():
    import tfkit

    return tfkit.TextClassifier.load(sst2_finetuned_model(), precision="float32")


def part_student(args, seed: int) -> dict:
    import tfkit
    from tfkit._keras import keras

    subset, validation, dev = data(args, args.distill_subset)
    teacher = _teacher()
    keras.utils.set_random_seed(seed)
    teacher.training_config = dataclasses.replace(teacher.training_config, seed=seed)
    unlabeled = unlabeled_texts(args) if args.unlabeled else None
    start = time.perf_counter()
    student = tfkit.distill(teacher, subset, student=3, validation=validation, epochs=args.epochs,
                            learning_rate=STUDENT_LEARNING_RATE, batch_size=32, output_dir=WORK / f"student_seed{seed}",
                            unlabeled=unlabeled, overwrite=True, verbose=2)
    out = {"fit_seconds": time.perf_counter() - start,
           "examples_per_second": student.fit_record.get("examples_per_second"),
           "dev_accuracy": dev_accuracy(student, dev), "teacher_dev_accuracy": dev_accuracy(teacher, dev),
           "distillation": student.fit_record.get("distillation"), "labelled_texts": len(subset),
           "unlabeled_texts": len(unlabeled or ())}
    if seed == 0:
        student.save_pretrained(WORK / "student_seed0_model", overwrite=True)
    return out


def part_plain3(args, seed: int, size: int | None = None) -> dict:
    """The student's initialisation fine-tuned on labels alone: the distillation subset, or the first ``size``
    sentences (``plain3_n32000``: the labelled and unlabelled texts of the student, all with their labels)."""
    import tfkit
    from tfkit._keras import keras

    subset, validation, dev = data(args, size or args.distill_subset)
    teacher = _teacher()
    keras.utils.set_random_seed(seed)
    student = tfkit.student_from_teacher(teacher, 3)
    student.training_config = dataclasses.replace(student.training_config, seed=seed)
    record = _train(student, subset, validation, args, STUDENT_LEARNING_RATE,
                    f"plain3{f'_n{size}' if size else ''}_seed{seed}")
    return {**record, "dev_accuracy": dev_accuracy(student, dev), "labelled_texts": len(subset)}


def part_latency(args) -> dict:
    import tfkit
    from tfkit.export.graph import ServingModule
    from tfkit.export.runtime import LiteRTModel
    from tfkit.export.verify import ValidationSet, evaluate_model

    subset, validation, dev = data(args, args.distill_subset)
    models = {"teacher": _teacher(), "student": tfkit.TextClassifier.load(WORK / "student_seed0_model",
                                                                          precision="float32")}
    runners, sizes, sets = {}, {}, {}
    for name, clf in models.items():
        artifacts = tfkit.export(clf, WORK / f"{name}_export", formats=["tflite"], quantization=["dynamic_int8"],
                                 train=subset, validation=validation, raw_text=False, mediapipe=False, overwrite=True)
        path = artifacts.path / "tflite" / "model_dynamic_int8.tflite"
        runners[name] = LiteRTModel(path, num_threads=2)
        sizes[name] = path.stat().st_size
        sets[name] = ValidationSet.from_dataset(ServingModule(clf, raw_strings=False), dev)
    rounds: dict[str, list[float]] = {name: [] for name in models}
    accuracy = {}
    for round_index in range(3):  # round 0 warms up
        for name in models:
            check = evaluate_model(runners[name], sets[name], name)
            accuracy[name] = check.score
            if round_index:
                rounds[name].append(check.latency_ms_p50)
    p50 = {name: float(np.median(values)) for name, values in rounds.items()}
    return {"p50_ms": p50, "rounds_p50_ms": rounds, "dynamic_int8_dev_accuracy": accuracy, "bytes": sizes,
            "speedup": p50["teacher"] / p50["student"]}


def run_part(name: str, args) -> dict:
    run_parts(__file__, PARTS, [name], ["--subset", str(args.subset), "--epochs", str(args.epochs), "--distill-subset",
                                        str(args.distill_subset), "--unlabeled", str(args.unlabeled)], redo=args.redo)
    return json.loads((PARTS / f"{name}.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", type=int, default=16000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--distill-subset", type=int, default=8000,
                        help="train sentences of the distilled and labels-only students (default 8000)")
    parser.add_argument("--unlabeled", type=int, default=24000,
                        help="train sentences after the distillation subset given to the student without labels "
                             "(the teacher labels them; default 24000; 0: none)")
    parser.add_argument("--part", default=None)
    parser.add_argument("--redo", action="store_true", help="run every part again")
    args = parser.parse_args()
    if args.part:
        kind, _, seed = args.part.partition("_seed")
        kind = "student" if kind.startswith("student_u") else kind
        functions = {"full": part_full, "student": part_student, "plain3": part_plain3}
        if kind.startswith("plain3_n"):
            result = part_plain3(args, int(seed), int(kind[len("plain3_n"):]))
        elif args.part.startswith("latency"):
            result = part_latency(args)
        elif kind.startswith("lora_"):
            batch = int(kind.split("_b")[1].split("_")[0]) if kind.startswith("lora_b") else 32
            ratio = float(kind.split("plus")[1].split("_")[0]) if "_plus" in kind else 1.0
            dropout = float(kind.split("dropout")[1].split("_")[0]) if "_dropout" in kind else None
            result = part_lora(args, int(seed), float(kind.rpartition("lr")[2]), batch, ratio, dropout,
                               "_pooler_" in kind, "mean" if "_mean_" in kind else "first")
        else:
            result = functions[kind](args, int(seed))
        result["part_cpu_seconds"] = time.process_time()
        result["load_average_at_end"] = list(os.getloadavg())  # 1, 5, 15 min: was the machine shared?
        save_part(PARTS, args.part, result)
        return
    parts = {name: run_part(name, args) for name in order(args)}
    for seed in SEEDS:
        parts[f"student_seed{seed}"] = parts[f"student_u{args.unlabeled}_seed{seed}"]
    parts["latency"] = parts[f"latency_u{args.unlabeled}"]
    # Earlier students, distilled on the labelled subset alone, are shown beside (when their parts exist).
    without = {s: PARTS / f"student_u0_seed{s}.json" for s in SEEDS}
    if args.unlabeled and all(p.is_file() for p in without.values()):
        for seed, path in without.items():
            parts[f"student_u0_seed{seed}"] = json.loads(path.read_text())
    chosen, chosen_batch, chosen_ratio, chosen_dropout, chosen_pooler, chosen_pooling = max((c for c in LORA_CANDIDATES if "validation_accuracy" in parts[f"{lora_name(*c)}_seed0"]),
                               key=lambda c: parts[f"{lora_name(*c)}_seed0"]["validation_accuracy"])
    chosen_name = lora_name(chosen, chosen_batch, chosen_ratio, chosen_dropout, chosen_pooler, chosen_pooling)
    parts[f"{chosen_name}_seed1"] = run_part(f"{chosen_name}_seed1", args)
    for seed in SEEDS:
        parts[f"lora_seed{seed}"] = parts[f"{chosen_name}_seed{seed}"]
    mean = lambda kind: float(np.mean([parts[f"{kind}_seed{s}"]["dev_accuracy"] for s in SEEDS]))  # noqa: E731
    full, lora, student, plain3 = mean("full"), mean("lora"), mean("student"), mean("plain3")
    teacher = parts["student_seed0"]["teacher_dev_accuracy"]
    eps = lambda kind: float(np.mean([parts[f"{kind}_seed{s}"]["examples_per_second"] for s in SEEDS]))  # noqa
    rss = lambda kind: float(np.mean([parts[f"{kind}_seed{s}"]["peak_rss_mb"] for s in SEEDS]))  # noqa: E731
    lora0 = parts["lora_seed0"]
    selection = {lora_name(*c): {k: parts[f"{lora_name(*c)}_seed0"].get(k) for k in ("validation_accuracy", "dev_accuracy")}
                 for c in LORA_CANDIDATES}
    result = {
        "acceptance": {
            "lora_trainable_fraction": acceptance(lora0["trainable_fraction"], "<=", 0.01),
            "lora_drop": acceptance(100 * (full - lora), "<=", 1.0),
            "lora_speed_ratio": acceptance(eps("lora") / eps("full"), "reported"),
            "lora_peak_rss_ratio": acceptance(rss("lora") / rss("full"), "reported"),
            "lora_adapter_mb": acceptance(lora0["adapter_bytes"] / 1e6, "<=", 0.5),
            "lora_merged_agreement": acceptance(lora0["merged_tflite_agreement"], ">=", 0.999),
            "student_drop": acceptance(100 * (teacher - student), "<=", 2.5),
            "student_speedup": acceptance(parts["latency"]["speedup"], ">=", 1.8),
            "distill_gain": acceptance(100 * (student - plain3), ">=", 1.0),
        },
        "settings": {"subset": args.subset, "distill_subset": args.distill_subset, "unlabeled": args.unlabeled,
                     "epochs": args.epochs,
                     "max_length": MAX_LENGTH, "batch_size": 32, "lora_batch_size": chosen_batch,
                     "seeds": list(SEEDS), "full_learning_rate": FULL_LEARNING_RATE,
                     "lora": {"rank": 8, "alpha": 16, "targets": list(lora_targets(chosen_pooler)), "train_head": False, "pooling": chosen_pooling,
                              "learning_rate": chosen, "batch_size": chosen_batch, "b_lr_ratio": chosen_ratio,
                              "base_dropout": chosen_dropout},
                     "student_learning_rate": STUDENT_LEARNING_RATE, "temperature": 2.0, "alpha": 0.5,
                     "threads": 2},
        "dev_accuracy": {"full": full, "lora": lora, "teacher": teacher, "student": student, "plain3": plain3},
        "lora_learning_rate": {"chosen": chosen, "batch_size": chosen_batch, "b_lr_ratio": chosen_ratio, "base_dropout": chosen_dropout, "pooling": chosen_pooling, "chosen_on": "validation split (2,000 train sentences), seed 0",
                               "candidates": selection},
        "parts": {name: part for name, part in parts.items()
                  if not name.startswith(("lora_seed", "student_seed")) and name != "latency"},
        "machine": machine(),
    }
    runs = lambda kind: ", ".join(f"{parts[f'{kind}_seed{s}']['dev_accuracy']:.4f}" for s in SEEDS)  # noqa
    table = [("model", "dev accuracy (seeds 0, 1)", "mean", "train examples/s"),
             ("full fine-tuning (MiniLM-L6)", runs("full"), f"{full:.4f}", f"{eps('full'):.1f}"),
             (f"LoRA r8 q/v{'/pooler' if chosen_pooler else ''} (MiniLM-L6), lr {chosen:g}, batch {chosen_batch}"
             f"{f', LoRA+ ratio {chosen_ratio:g}' if chosen_ratio != 1 else ''}"
             f"{f', base dropout {chosen_dropout:g}' if chosen_dropout is not None else ''}"
             f"{', mean pooling' if chosen_pooling == 'mean' else ''}", runs("lora"), f"{lora:.4f}", f"{eps('lora'):.1f}"),
             ("teacher (MiniLM-L6, full SST-2)", f"{teacher:.4f}", f"{teacher:.4f}", "-"),
             (f"distilled student (3 layers; {args.distill_subset:,} labelled + {args.unlabeled:,} unlabelled texts)",
              runs("student"), f"{student:.4f}", f"{eps('student'):.1f}"),
             (f"same 3 layers, labels only ({args.distill_subset:,} labelled texts)", runs("plain3"), f"{plain3:.4f}",
              f"{eps('plain3'):.1f}")]
    all_labels = parts.get(f"plain3_n{args.distill_subset + args.unlabeled}_seed0")
    if args.unlabeled and all_labels:  # what the teacher's labels stand in for: every one of those texts labelled
        result["labels_only_on_all_student_texts"] = all_labels
        table.append((f"same 3 layers, labels only ({args.distill_subset + args.unlabeled:,} labelled texts; seed 0)",
                      f"{all_labels['dev_accuracy']:.4f}", f"{all_labels['dev_accuracy']:.4f}",
                      f"{all_labels['examples_per_second']:.1f}"))
    if "student_u0_seed0" in parts:
        table.insert(5, (f"distilled student, {args.distill_subset:,} labelled texts only", runs("student_u0"),
                          f"{mean('student_u0'):.4f}", f"{eps('student_u0'):.1f}"))
    write_results("peft_distill_sst2", result, table, "LoRA and distillation on SST-2 (default MiniLM)")
    lines = ["", "LoRA candidates (seed 0; chosen on the validation split, 2,000 sentences carved from train.tsv; dev "
             "shown for the record, never used to choose):", "",
             "| candidate | validation accuracy | dev accuracy |", "|---|---|---|"]
    for name, row in selection.items():
        mark = " (chosen)" if name == chosen_name else ""
        validation = "-" if row["validation_accuracy"] is None else f"{row['validation_accuracy']:.4f}"
        lines.append(f"| {name}{mark} | {validation} | {row['dev_accuracy']:.4f} |")
    with open(RESULTS / "peft_distill_sst2.md", "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
