"""tfkit beside its peers on SST-2 (issue 13): inference against PyTorch and ONNX Runtime, and this machine's peak.

The model is the default MiniLM fine-tuned on SST-2 train.tsv without the seeded 2,000-sentence validation
split (``_common.sst2_clean_model()``); tfkit's variant is chosen on that split, every reported accuracy is
on dev.tsv (872 sentences).

* ``prepare``: tfkit exports its TFLite variants (float32, dynamic_int8, the selective full_int8; the QAT
  benchmark's integer-only file of the same base when it exists); the same weights are written once as
  PyTorch-named safetensors (``save_pretrained(..., pytorch_weights=True)``), which the peers' virtual
  environment (PyTorch CPU, transformers, ONNX Runtime; made on first use, never in tfkit's dependencies)
  loads and exports with ``torch.onnx.export``, then quantizes with ONNX Runtime's ``quantize_dynamic``.
  Dev and validation sentences are tokenized once with tfkit's tokenizer; every runtime gets those ids.
* ``inference``: every runtime in a fresh process per round (``_peer_runtime.py``, one harness for all):
  load time, batch-1 latency at real lengths (p50/p90), batch-32 throughput, peak memory, dev accuracy;
  2 threads and 1, rounds alternating the order. tfkit's reported variant is its fastest at batch 1 on the
  validation split (p50, 2 threads) whose validation accuracy is within 1 point of its float32 file's.
* ``peak``: the attainable matmul throughput of this machine (TensorFlow, fp32 and bf16, several sizes,
  the threads of the runs); each figure is also reported as a fraction of the fp32 peak, from the model's
  FLOPs at the real token counts.

* ``train_<system>_r<k>``: training on the same seeded 16,000-sentence subset of train.tsv minus the validation
  split, 2 epochs, from the same checkpoint, 2 threads, A/B/C alternating (the order reversed on odd rounds):
  ``tfkit train`` with its defaults as the README runs it (output folder, checkpoints, backups, TensorBoard,
  the validation split as ``--validation``); the naive transformers-TF fit (``finetune_sst2.naive``); PyTorch
  CPU fine-tuning as its users write it (``_peer_train.py``: length-grouped dynamic padding, AdamW, linear
  warm-up/decay, tfkit's default learning rate, warm-up and max length). Round k trains tfkit and PyTorch with
  seed k, so the dev accuracies compared are means over seeds. Examples/s of each fit; dev accuracy.

``sst2_default_dev_accuracy`` (the full-train runs of tfkit's defaults) is copied from ``defaults.py``'s record, with
its runs and machine.

Run:  python benchmarks/peers_sst2.py [--only prepare inference peak train] [--rounds 2] [--threads 2 1]
Writes benchmarks/results/peers_sst2.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import (RESULTS, SST2_CLEAN_RUN, acceptance, machine, peak_dtype, require_sst2, sst2_clean_model,
                     run_parts, save_part, sst2_validation_split, write_results,
                     write_sst2_split_files)

WORK = SST2_CLEAN_RUN / "peers_benchmark"  # files the parts share (git-ignored, under saved_models/)
PARTS = RESULTS / "peers_sst2.parts"
HERE = Path(__file__).resolve().parent
PEERS_ENV = ("peers", ["torch==2.13.0+cpu", "transformers==4.57.6", "tokenizers==0.22.2", "safetensors==0.8.0",
                       "onnxruntime==1.32.0", "onnx", "onnxscript", "numpy<2.5", "psutil"])
TFKIT_VARIANTS = ("float32", "dynamic_int8", "full_int8")
PER_LENGTH = "_per_length"  # suffix of the rows timed on LiteRTModel(..., max_interpreters=64)
QAT_FILE = SST2_CLEAN_RUN / "qat_benchmark"  # qat_<variant>seed0_export/tflite/model_qat_int8.tflite


def peers_python() -> Path:
    from tfkit._side_env import side_python

    return side_python(*PEERS_ENV)


def runtimes() -> dict[str, tuple[str, str, Path]]:
    """name -> (python, harness runtime, model path)."""
    peers = str(peers_python())
    out = {f"tfkit_{q}": (sys.executable, "litert", WORK / "export" / "tflite" / f"model_{q}.tflite")
           for q in TFKIT_VARIANTS}
    qat = json.loads((WORK / "prepared.json").read_text()).get("qat_file")
    if qat:
        out["tfkit_qat_int8"] = (sys.executable, "litert", Path(qat))
    # The same files on the runner's old cache of an interpreter per length, reported beside them, never chosen.
    out.update({f"{name}{PER_LENGTH}": (python, "litert_per_length", path)
                for name, (python, _, path) in list(out.items())})
    out.update({"torch_fp32": (peers, "torch", WORK / "pytorch"), "torch_dynamic_int8": (peers, "torch_int8", WORK / "pytorch"),
                "ort_fp32": (peers, "ort", WORK / "onnx" / "model_fp32.onnx"),
                "ort_int8": (peers, "ort", WORK / "onnx" / "model_int8.onnx")})
    return out


def size_bytes(name: str, path: Path) -> int | None:
    if path.is_file():
        return path.stat().st_size
    if name == "torch_fp32":
        return (path / "model.safetensors").stat().st_size
    return None  # torch's dynamic int8 model exists only in memory: its size comes from the harness


def tokens(clf, dataset) -> dict[str, np.ndarray]:
    ids, types_, lengths = [], [], []
    for text in dataset.texts:
        enc = clf.tokenizer(text, truncation=True, max_length=clf.config.max_length)
        ids += enc["input_ids"]
        types_ += enc.get("token_type_ids", [0] * len(enc["input_ids"]))
        lengths.append(len(enc["input_ids"]))
    return {"input_ids": np.asarray(ids, np.int64), "token_type_ids": np.asarray(types_, np.int64),
            "lengths": np.asarray(lengths, np.int64), "labels": np.asarray(dataset.targets, np.int64)}


def part_prepare(args) -> dict:
    import tfkit

    sst2 = require_sst2()
    train = tfkit.data.load(sst2 / "train.tsv", text="sentence", label="label")
    dev = tfkit.data.load(sst2 / "dev.tsv", text="sentence", label="label", labels=train.labels)
    validation, rest = sst2_validation_split(train)
    clf = tfkit.TextClassifier.load(sst2_clean_model(), precision="float32")
    WORK.mkdir(parents=True, exist_ok=True)
    start, export_seconds = time.perf_counter(), None  # None: the files of an earlier run were reused
    if args.fresh or not all((WORK / "export" / "tflite" / f"model_{q}.tflite").is_file() for q in TFKIT_VARIANTS):
        tfkit.export(clf, WORK / "export", formats=["tflite"], quantization=list(TFKIT_VARIANTS),
                     train=rest.subset(np.arange(16000)), validation=validation, overwrite=True,
                     raw_text=False, mediapipe=False)  # the token-id files, as the peers take token ids
        export_seconds = time.perf_counter() - start
    clf.save_pretrained(WORK / "pytorch", overwrite=True, pytorch_weights=True)
    np.savez(WORK / "dev_tokens.npz", **tokens(clf, dev))
    np.savez(WORK / "validation_tokens.npz", **tokens(clf, validation))
    onnx = json.loads(subprocess.run([str(peers_python()), str(HERE / "_peer_runtime.py"), "onnx-export",
                                      str(WORK / "pytorch"), str(WORK / "onnx")],
                                     check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    qat_part = RESULTS / "qat_sst2.parts" / "compare.json"  # the QAT benchmark's chosen variant, same base
    qat_file = None
    if qat_part.is_file():
        variant = json.loads(qat_part.read_text()).get("qat_variant", "")
        candidate = QAT_FILE / f"qat_{variant}seed0_export" / "tflite" / "model_qat_int8.tflite"
        qat_file = str(candidate) if candidate.is_file() else None
    keras_dev = float(np.mean(clf.predict_logits(dev).argmax(1) == np.asarray(dev.targets)))
    record = {"model": str(sst2_clean_model()), "export_seconds": export_seconds, "onnx": onnx, "qat_file": qat_file,
              "keras_dev_accuracy": keras_dev, "max_length": clf.config.max_length,
              "hf_config": {**{k: getattr(clf.hf_config, k) for k in ("num_hidden_layers", "hidden_size",
                                                                       "intermediate_size")},
                            "num_labels": clf.config.num_outputs}}
    (WORK / "prepared.json").write_text(json.dumps(record, indent=1))
    return record


def harness(python: str, runtime: str, model: Path, tokens_file: Path, threads: int, batch1: bool = True) -> dict:
    out = WORK / "last_run.json"
    command = [python, str(HERE / "_peer_runtime.py"), runtime, str(model), str(tokens_file), "--threads",
               str(threads), "--out", str(out)] + ([] if batch1 else ["--no-batch1"])
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(out.read_text())


def part_inference(args) -> dict:
    table = runtimes()
    dev_labels = np.load(WORK / "dev_tokens.npz")["labels"]
    val_labels = np.load(WORK / "validation_tokens.npz")["labels"]
    # The choice among tfkit's variants, and of the runner (one interpreter or one per length): validation
    # accuracy and batch-1 p50 at 2 threads on the validation split's 2,000 sentences, never dev (whose timings
    # and accuracies are the ones reported).
    validation, validation_p50 = {}, {}
    for name, (python, runtime, model) in table.items():
        if name.startswith("tfkit_"):
            run = harness(python, runtime, model, WORK / "validation_tokens.npz", 2)
            validation[name] = float(np.mean(np.asarray(run["b32_predictions"]) == val_labels))
            validation_p50[name] = float(np.percentile(run["batch1_ms"], 50))
    runs: dict[str, dict[int, list[dict]]] = {name: {t: [] for t in args.threads} for name in table}
    for threads in args.threads:
        for round_ in range(args.rounds):
            order = list(table) if round_ % 2 == 0 else list(table)[::-1]
            for name in order:
                python, runtime, model = table[name]
                print(f"threads {threads}, round {round_}: {name}", flush=True)
                runs[name][threads].append(harness(python, runtime, model, WORK / "dev_tokens.npz", threads))
    rows = {}
    for name, by_threads in runs.items():
        first = by_threads[args.threads[0]][0]
        row = {"dev_accuracy": float(np.mean(np.asarray(first["predictions"]) == dev_labels)),
               "b32_agreement_with_b1": float(np.mean(np.asarray(first["b32_predictions"]) ==
                                                      np.asarray(first["predictions"]))),
               "size_bytes": size_bytes(name, table[name][2]) or first.get("size_bytes"),
               "versions": first["versions"], "validation_accuracy": validation.get(name),
               "validation_b1_p50_ms": validation_p50.get(name)}
        for threads, results in by_threads.items():
            times = np.concatenate([r["batch1_ms"] for r in results])
            row[f"threads_{threads}"] = {
                "p50_ms": float(np.percentile(times, 50)), "p90_ms": float(np.percentile(times, 90)),
                "mean_ms": float(np.mean(times)),
                "p50_ms_by_round": [float(np.percentile(r["batch1_ms"], 50)) for r in results],
                "b32_sentences_per_second": float(np.median([r["b32_sentences_per_second"] for r in results])),
                "b32_by_round": [r["b32_sentences_per_second"] for r in results],
                "load_seconds": float(np.median([r["load_seconds"] for r in results])),
                "start_to_ready_seconds": float(np.median([r["start_to_ready_seconds"] for r in results])),
                "peak_rss_mb": float(max(r["peak_rss_mb"] for r in results))}
        rows[name] = row
    return {"rows": rows, "rounds": args.rounds, "threads": args.threads}


# Best of this many timed rounds per size: on a shared 2-vCPU machine single rounds of the bfloat16 (AMX) matmul
# measured anywhere from 423 to 1408 GFLOP/s.
ROUNDS_OF_PEAK = 7


def part_peak(args) -> dict:
    """Attainable matmul throughput: square TF matmuls of several sizes, best of repeats, per dtype and threads."""
    import tensorflow as tf

    threads = max(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    rows = {}
    for dtype in ("float32", "bfloat16"):
        for n in (256, 512, 1024, 2048, 3072):
            a = tf.random.normal((n, n), dtype=tf.float32)
            a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
            matmul = tf.function(lambda x, y: tf.linalg.matmul(x, y))
            matmul(a, b).numpy()
            repeats = max(3, int(2e10 / (2 * n ** 3)))
            best = float("inf")
            for _ in range(ROUNDS_OF_PEAK):
                start = time.perf_counter()
                for _ in range(repeats):
                    out = matmul(a, b)
                out.numpy()
                best = min(best, (time.perf_counter() - start) / repeats)
            rows[f"{dtype}_{n}"] = {"dtype": dtype, "n": n, "seconds": best, "gflops": 2 * n ** 3 / best / 1e9}
    peak = {dtype: max(r["gflops"] for r in rows.values() if r["dtype"] == dtype) for dtype in ("float32", "bfloat16")}
    return {"threads": threads, "sizes": rows, "peak_gflops": peak}


def forward_flops(lengths: np.ndarray, hf: dict) -> np.ndarray:
    """Matmul FLOPs of one forward pass per sentence: per layer the four attention projections and the two
    feed-forward matmuls (2 FLOPs per multiply-add per token) plus scores and context (2 x 2 T^2 H)."""
    h, i, layers = hf["hidden_size"], hf["intermediate_size"], hf["num_hidden_layers"]
    t = lengths.astype(np.float64)
    per_layer = 2 * t * (4 * h * h + 2 * h * i) + 4 * t * t * h
    return layers * per_layer + 2 * (h * h + h * hf["num_labels"])  # + pooler and classifier (one token)


TRAIN_SYSTEMS = ("tfkit", "naive", "pytorch")
# Reported beside them when run (``--only train_unfrozen_r0 train_unfrozen_r1``): ``tfkit train`` with its defaults
# but every weight trained (``--no-freeze-embeddings``), as the PyTorch loop trains them.
EXTRA_TRAIN_SYSTEMS = ("unfrozen",)
TRAIN_DATA = Path(tempfile.gettempdir()) / "tfkit_peers_sst2"  # the subset as TSV lines, outside the repository


def train_sets(args):
    """(subset, validation, dev) datasets and TSV files of the subset and the validation split (the lines of
    train.tsv themselves, so ``tfkit train`` reads exactly what the others get)."""
    import tfkit

    sst2 = require_sst2()
    train = tfkit.data.load(sst2 / "train.tsv", text="sentence", label="label")
    dev = tfkit.data.load(sst2 / "dev.tsv", text="sentence", label="label", labels=train.labels)
    validation, rest = sst2_validation_split(train)
    subset = rest.subset(np.arange(args.train_subset))
    files = write_sst2_split_files(TRAIN_DATA, args.train_subset)
    if len(files["rest"].read_text(encoding="utf-8").splitlines()) - 1 != len(rest):
        raise SystemExit(f"{files['rest']}: its lines do not match the {len(rest)} sentences tfkit read")
    return subset, validation, dev, files


def part_train(args, system: str, round_: int) -> dict:
    import tfkit
    from tfkit.models.checkpoint import default_checkpoint
    from tfkit.models.config import resolve_precision

    subset, validation, dev, files = train_sets(args)
    targets = np.asarray(dev.targets)
    if system in ("tfkit", "unfrozen"):
        out = TRAIN_DATA / f"{system}_run_r{round_}"
        command = ["tfkit", "train", str(files["subset"]), "--validation", str(files["validation"]), "--text-column",
                   "sentence", "--label-column", "label", "--output", str(out), "--epochs", str(args.train_epochs),
                   "--seed", str(round_), "--overwrite"]  # round k is seed k, as for PyTorch's rounds
        if system == "unfrozen":
            command.append("--no-freeze-embeddings")
        start = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - start
        stage = json.loads((out / "01_finetune" / "stage.json").read_text())
        clf = tfkit.TextClassifier.load(out / "01_finetune" / "model")
        accuracy = float(np.mean(clf.predict_logits(dev).argmax(1) == targets))
        sizes = {p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in (out / "01_finetune").iterdir()
                 if p.is_dir()}
        return {"command": " ".join(command), "wall_seconds": wall, "seconds": stage["metrics"]["train_seconds"],
                "examples_per_second": stage["metrics"]["train_examples_per_second"], "dev_accuracy": accuracy,
                "validation_accuracy": stage["metrics"]["accuracy"], "stage_config": stage["config"], "folder_bytes": sizes,
                "precision": resolve_precision(stage["config"]["precision"]).value}  # what "auto" was here
    if system == "naive":
        sys.path.insert(0, str(HERE))
        from finetune_sst2 import naive

        return naive(subset, dev, args.train_epochs)
    clf = tfkit.TextClassifier.from_pretrained(default_checkpoint(), labels=subset.labels)  # tfkit's tokenizer and max length
    defaults = clf.training_config
    np.savez(TRAIN_DATA / "subset_tokens.npz", **tokens(clf, subset))
    np.savez(TRAIN_DATA / "dev_tokens.npz", **tokens(clf, dev))
    out = TRAIN_DATA / "pytorch_run.json"
    subprocess.run([str(peers_python()), str(HERE / "_peer_train.py"), str(default_checkpoint()),
                    str(TRAIN_DATA / "subset_tokens.npz"), str(TRAIN_DATA / "dev_tokens.npz"), "--epochs",
                    str(args.train_epochs), "--learning-rate", str(defaults.learning_rate), "--warmup-ratio",
                    str(defaults.warmup_ratio), "--weight-decay", str(defaults.weight_decay), "--batch-size",
                    str(defaults.batch_size), "--threads", "2", "--seed", str(round_), "--out", str(out)], check=True)
    return {**json.loads(out.read_text()), "max_length": clf.config.max_length}


def train_parts(rounds: int) -> list[str]:
    return [f"train_{system}_r{r}" for r in range(rounds)
            for system in (TRAIN_SYSTEMS if r % 2 == 0 else TRAIN_SYSTEMS[::-1])]


def run_part(name: str, args) -> dict:
    if name.startswith("train_"):
        _, system, round_ = name.split("_")
        return part_train(args, system, int(round_.removeprefix("r")))
    return {"prepare": part_prepare, "inference": part_inference, "peak": part_peak,
            "inference_peak": part_peak}[name](args)


def train_summary(parts: dict) -> dict | None:
    runs = {system: [parts[n] for n in sorted(parts) if n.startswith(f"train_{system}_r")]
            for system in TRAIN_SYSTEMS + EXTRA_TRAIN_SYSTEMS}
    if not all(runs[system] for system in TRAIN_SYSTEMS):
        return None
    keys = ("examples_per_second", "seconds", "dev_accuracy", "validation_accuracy", "precision")
    median = {system: {"examples_per_second": float(np.median([r["examples_per_second"] for r in rs])),
                       "dev_accuracy": float(np.median([r["dev_accuracy"] for r in rs])),
                       "runs": [{**{k: r[k] for k in keys if k in r},
                                 "machine": (r.get("part_machine") or {}).get("cpu")} for r in rs]}
              for system, rs in runs.items() if rs}
    return median


def token_lengths(saved: Path, split: str, max_length: int, subset: int = 0) -> np.ndarray:
    """Token counts per sentence of dev.tsv (``split="dev"``) or of the training subset: from the token file a part
    saved, or, where that is gone (a fresh machine), counted again with the same tokenizer and max length."""
    if saved.is_file():
        return np.load(saved)["lengths"]
    import tfkit
    from transformers import AutoTokenizer

    from tfkit.models.checkpoint import default_checkpoint

    sst2 = require_sst2()
    train = tfkit.data.load(sst2 / "train.tsv", text="sentence", label="label")
    texts = tfkit.data.load(sst2 / "dev.tsv", text="sentence", label="label", labels=train.labels).texts \
        if split == "dev" else sst2_validation_split(train)[1].subset(np.arange(subset)).texts
    tokenizer = AutoTokenizer.from_pretrained(str(default_checkpoint()))
    return np.asarray([len(tokenizer(t, truncation=True, max_length=max_length)["input_ids"]) for t in texts])


def summarise() -> None:
    parts = {p.stem: json.loads(p.read_text()) for p in PARTS.glob("*.json")}
    prepared, inference, peak = parts["prepare"], parts["inference"], parts["peak"]
    # Inference and training parts may come from different machines: each fraction is against the peak measured
    # on the machine its part ran on (``inference_peak``: the peak part run again beside the inference part).
    inference_peak = parts.get("inference_peak", peak)
    if (inference_peak.get("part_machine") or {}).get("cpu") != (inference.get("part_machine") or {}).get("cpu"):
        inference_peak = None
    fp32_peak = None if inference_peak is None else inference_peak["peak_gflops"]["float32"] * 1e9
    rows, threads = inference["rows"], inference["threads"][0]
    key = f"threads_{threads}"
    float_val = rows["tfkit_float32"]["validation_accuracy"]
    eligible = [n for n, r in rows.items() if n.startswith("tfkit_") and not n.endswith(PER_LENGTH)
                and r["validation_accuracy"] >= float_val - 0.01]
    timed_on_validation = all(rows[n].get("validation_b1_p50_ms") is not None for n in eligible)
    chosen = min(eligible, key=lambda n: rows[n]["validation_b1_p50_ms"] if timed_on_validation else rows[n][key]["p50_ms"])
    ort = rows["ort_int8"]
    lengths = token_lengths(WORK / "dev_tokens.npz", "dev", prepared["max_length"])
    flops = float(np.mean(forward_flops(lengths, prepared["hf_config"])))
    achieved_b1 = flops / (rows[chosen][key]["mean_ms"] / 1000.0)
    record = {
        "machine": machine(), "model": prepared["model"], "prepared": prepared, "peak": peak, "inference": inference,
        "chosen_variant": {"name": chosen, "rule": "fastest tfkit file at batch 1 (p50, 2 threads) whose validation "
                                                   "accuracy is within 1 point of tfkit's float32 file's",
                           "timed_on": "validation split" if timed_on_validation else
                           "dev (an inference part from before validation timings were recorded)",
                           "eligible": eligible,
                           "validation_b1_p50_ms": {n: rows[n].get("validation_b1_p50_ms") for n in eligible}},
        "mean_forward_flops_per_dev_sentence": flops,
        "part_machines": {n: (p.get("part_machine") or {}).get("cpu", "not recorded (an older part)")
                          for n, p in sorted(parts.items())},
        "not_measured": [],
        "acceptance": {
            "latency_ratio_vs_ort_int8": acceptance(rows[chosen][key]["p50_ms"] / ort[key]["p50_ms"], "<=", 0.6),
            "b32_throughput_ratio_vs_ort_int8": acceptance(
                rows[chosen][key]["b32_sentences_per_second"] / ort[key]["b32_sentences_per_second"], ">=", 1.0),
            "size_ratio_vs_ort_int8": acceptance(rows[chosen]["size_bytes"] / ort["size_bytes"], "reported"),
        },
    }
    if fp32_peak is not None:
        record["acceptance"]["fraction_of_peak_b1"] = acceptance(achieved_b1 / fp32_peak, "reported")
        record["inference_peak"] = inference_peak
    else:
        record["not_measured"].append("fraction_of_peak_b1 (no peak measured on the inference part's machine: "
                                      "--only inference_peak)")
    if chosen + PER_LENGTH in rows:  # the chosen file on one interpreter per length over the runner's one interpreter
        per_length = rows[chosen + PER_LENGTH]
        record["acceptance"]["per_length_interpreters_latency_ratio"] = acceptance(
            per_length[key]["p50_ms"] / rows[chosen][key]["p50_ms"], "reported")
        if per_length.get("validation_b1_p50_ms"):  # the runner's default is chosen on this one, not on dev
            record["acceptance"]["per_length_interpreters_validation_latency_ratio"] = acceptance(
                per_length["validation_b1_p50_ms"] / rows[chosen]["validation_b1_p50_ms"], "reported")
    defaults = RESULTS / "defaults.json"  # the full-train runs of tfkit's defaults live in the defaults benchmark
    full = json.loads(defaults.read_text()) if defaults.is_file() else {}
    if "sst2_default_dev_accuracy" in full.get("acceptance", {}):
        record["acceptance"]["sst2_default_dev_accuracy"] = full["acceptance"]["sst2_default_dev_accuracy"]
        record["sst2_default_dev_accuracy_from"] = {
            "file": "benchmarks/results/defaults.json", "machine": full["machine"],
            "runs": {name: {k: run.get(k) for k in ("command", "dev_accuracy", "epoch_validation_accuracy", "precision")}
                     for name, run in full.get("full_runs", {}).items()}}
    else:
        record["not_measured"].append("sst2_default_dev_accuracy")
    training = train_summary(parts)
    record["training"] = training
    if training:
        tk, nv, pt = training["tfkit"], training["naive"], training["pytorch"]
        first = parts["train_pytorch_r0"]
        subset_lengths = token_lengths(TRAIN_DATA / "subset_tokens.npz", "subset", first["max_length"],
                                       first["settings"]["train_subset"])
        record["acceptance"].update({
            "default_speedup_vs_naive": acceptance(tk["examples_per_second"] / nv["examples_per_second"], ">=", 3.0),
            "speedup_vs_pytorch": acceptance(tk["examples_per_second"] / pt["examples_per_second"], ">=", 1.0),
            "accuracy_vs_pytorch": acceptance(100 * (tk["dev_accuracy"] - pt["dev_accuracy"]), ">=", -0.3),
        })
        # training = 3 forward passes' matmuls (forward, and two for the backward pass)
        train_flops = 3 * float(np.mean(forward_flops(subset_lengths, prepared["hf_config"])))
        record["train_flops_per_example"] = train_flops
        # against the peak of the dtype tfkit's matmuls ran in; parts from before the precision was recorded give
        # both (their stage config says "auto": mixed_bfloat16 on CPUs with AMX, float32 elsewhere)
        precision = parts["train_tfkit_r0"].get("precision")
        record["tfkit_train_precision"] = precision or "not recorded (auto)"
        per_second = train_flops * tk["examples_per_second"] / 1e9
        record["acceptance"]["fraction_of_peak_train"] = acceptance(
            per_second / peak["peak_gflops"][peak_dtype(precision)], "reported")
        if precision is None:
            record["acceptance"]["fraction_of_bf16_peak_train"] = acceptance(
                per_second / peak["peak_gflops"]["bfloat16"], "reported")
    else:
        record["not_measured"] += ["default_speedup_vs_naive", "speedup_vs_pytorch", "accuracy_vs_pytorch",
                                   "fraction_of_peak_train"]
    for entry, value in record["acceptance"].items():
        if value["target"].startswith("reported"):
            value["target"] = "reported"
    header = ["runtime", "dev accuracy", "validation accuracy", "size MB"]
    for t in inference["threads"]:
        header += [f"b1 p50 ms ({t} thr)", f"b1 p90 ms ({t} thr)", f"b32 sent/s ({t} thr)"]
    header += ["load s", "peak RSS MB"] + (["b1 fraction of fp32 peak"] if fp32_peak else [])
    table = [tuple(header)]
    for name, row in rows.items():
        cells = [name + (" (chosen)" if name == chosen else ""), f"{row['dev_accuracy']:.4f}",
                 "" if row["validation_accuracy"] is None else f"{row['validation_accuracy']:.4f}",
                 "" if row["size_bytes"] is None else f"{row['size_bytes'] / 1e6:.1f}"]
        for t in inference["threads"]:
            r = row[f"threads_{t}"]
            cells += [f"{r['p50_ms']:.2f}", f"{r['p90_ms']:.2f}", f"{r['b32_sentences_per_second']:.0f}"]
        r = row[key]
        cells += [f"{r['load_seconds']:.2f}", f"{r['peak_rss_mb']:.0f}"]
        if fp32_peak:
            cells.append(f"{flops / (r['mean_ms'] / 1000.0) / fp32_peak:.3f}")
        table.append(tuple(cells))
    write_results("peers_sst2", record, table, "tfkit beside PyTorch and ONNX Runtime: SST-2 dev inference")
    peaks = {"the training parts' machine": peak}
    if inference_peak is not None and inference_peak is not peak:
        peaks["the inference part's machine"] = inference_peak
    lines = [""] + [f"Peak matmul throughput, {label} ({p['threads']} threads, TensorFlow): "
                    + ", ".join(f"{d} {g:.0f} GFLOP/s" for d, g in p["peak_gflops"].items())
                    + "; by size: " + ", ".join(f"{r['dtype']} {r['n']}: {r['gflops']:.0f}" for r in p["sizes"].values())
                    for label, p in peaks.items()]
    lines += [
             f"A dev sentence's forward pass costs {flops / 1e6:.1f} MFLOP on average (matmuls at the real token "
             "counts); the fraction column is that over the mean batch-1 latency, against the fp32 peak.",
             "Not measured yet: " + (", ".join(record["not_measured"]) or "nothing") + "."]
    if "sst2_default_dev_accuracy_from" in record:
        source = record["sst2_default_dev_accuracy_from"]
        lines.append(f"`sst2_default_dev_accuracy` comes from `{source['file']}` (`python benchmarks/defaults.py`: "
                     f"`tfkit train` with no settings flags on the full train split, per seed; "
                     f"{source['machine']['cpu']}): " + ", ".join(
                         f"{n} {r['dev_accuracy']:.4f} ({r['precision']})" for n, r in source["runs"].items()) + ".")
    if training:
        lines += ["", "Training, same 16,000 sentences, 2 epochs, 2 threads (median of the rounds; each run listed):", "",
                  "| system | examples/s | dev accuracy | runs (examples/s, dev accuracy) |", "|---|---|---|---|"]
        for system, r in training.items():
            lines.append(f"| {system} | {r['examples_per_second']:.1f} | {r['dev_accuracy']:.4f} | " + "; ".join(
                f"{x['examples_per_second']:.1f}, {x['dev_accuracy']:.4f}"
                + (f" (validation {x['validation_accuracy']:.4f})" if "validation_accuracy" in x else "")
                + "".join(f", {v}" for v in (x.get("precision"), x.get("machine")) if v)
                for x in r["runs"]) + " |")
        if "unfrozen" in training:
            lines.append("\n`unfrozen` is `tfkit train` with its defaults and `--no-freeze-embeddings` (every weight "
                         "trained, as in the PyTorch loop): reported, not part of the acceptance. Each run names its precision "
                         "and machine: runs from different machines are not a side-by-side comparison.")
    with open(RESULTS / "peers_sst2.md", "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="parts to (re)run, of prepare inference peak "
                        "inference_peak train")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--fresh", action="store_true", help="export tfkit's files again")
    parser.add_argument("--train-subset", type=int, default=16000)
    parser.add_argument("--train-epochs", type=int, default=2)
    parser.add_argument("--train-rounds", type=int, default=2)
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--summarise-only", action="store_true")
    args = parser.parse_args()
    if args.part:
        save_part(PARTS, args.part, {**run_part(args.part, args),
                                     "settings": {k: v for k, v in vars(args).items() if k != "part"}})
        return
    if not args.summarise_only:
        names = args.only or ["prepare", "inference", "peak", "train"]
        names = [n for name in names for n in (train_parts(args.train_rounds) if name == "train" else [name])]
        run_parts(__file__, PARTS, names, ["--rounds", str(args.rounds), "--threads", *map(str, args.threads),
                                           "--train-subset", str(args.train_subset), "--train-epochs",
                                           str(args.train_epochs)] + (["--fresh"] if args.fresh else []),
                  redo=True)  # as before: every listed part runs again
    summarise()


if __name__ == "__main__":
    main()
