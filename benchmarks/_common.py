"""Helpers shared by the benchmark scripts: machine info, result files, the SST-2 location."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SST2_DIR = Path(os.environ.get("TFKIT_SST2_DIR", ROOT.parent / "shared" / "data" / "sst2"))


def require_sst2() -> Path:
    if not (SST2_DIR / "train.tsv").is_file():
        sys.exit(f"SST-2 not found at {SST2_DIR} (expected ../shared/data/sst2 or $TFKIT_SST2_DIR); skipping.")
    return SST2_DIR


def machine() -> dict[str, Any]:
    import tensorflow as tf
    import tf_keras
    import transformers

    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "tensorflow": tf.__version__,
        "tf_keras": tf_keras.__version__, "transformers": transformers.__version__, "git_commit": commit,
        "date": time.strftime("%Y-%m-%d"),
    }


def acceptance(value: float, op: str, target: float | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": round(float(value), 4)}
    entry["target"] = f"{op} {target}" if target is not None else "reported"
    return entry


def write_results(name: str, result: dict[str, Any], table: list[tuple[str, ...]], title: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# {title}", "", "| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
    lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
    lines += ["", "Acceptance:", ""]
    for key, entry in result["acceptance"].items():
        lines.append(f"- `{key}`: {entry['value']} (target {entry['target']})")
    lines += ["", f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores; "
              f"TF {result['machine']['tensorflow']}, commit {result['machine']['git_commit']}."]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


SST2_RUN = ROOT / "saved_models" / "sst2_minilm"
SST2_TRAIN_COMMAND = [
    "tfkit", "train", "{sst2}/train.tsv", "--validation", "{sst2}/dev.tsv", "--text-column", "sentence",
    "--label-column", "label", "--output", str(SST2_RUN), "--max-length", "64", "--learning-rate", "1e-4",
    "--freeze-embeddings", "--epochs", "3", "--batch-size", "32", "--seed", "0",
]


def sst2_finetuned_model() -> Path:
    """The default MiniLM fine-tuned on the full SST-2 train split (the starting point of the
    compression benchmarks), trained with ``tfkit train`` on first use (about 25 minutes on 2 cores)
    and reused afterwards; an interrupted training resumes."""
    model_dir = SST2_RUN / "01_finetune" / "model"
    if (SST2_RUN / "01_finetune" / "stage.json").is_file():
        return model_dir
    sst2 = require_sst2()
    command = [part.format(sst2=sst2) for part in SST2_TRAIN_COMMAND]
    if (SST2_RUN / "01_finetune").exists():
        command.append("--resume")
    print("Fine-tuning the SST-2 base model:", " ".join(command), flush=True)
    subprocess.run(command, check=True)
    return model_dir


SST2_CLEAN_RUN = ROOT / "saved_models" / "sst2_minilm_clean"


def sst2_validation_split(train):
    """The seeded 2,000-sentence validation split carved from SST-2 train.tsv, and the rest of train:
    ``(validation, rest)``. Benchmarks choose on ``validation`` and report on dev.tsv."""
    import numpy as np

    order = np.random.default_rng(0).permutation(len(train))
    return train.subset(order[:2000]), train.subset(order[2000:])


def write_sst2_split_files(folder: Path, subset: int | None = None) -> dict[str, Path]:
    """train.tsv's own lines, split as :func:`sst2_validation_split` splits them, written as TSV files for CLI runs:
    ``validation`` (the 2,000 sentences), ``rest`` (the others) and, with ``subset``, ``subset`` (the first
    ``subset`` of ``rest``). Returns name -> path; existing files are rewritten (they are cheap)."""
    import numpy as np

    sst2 = require_sst2()
    header, *rows = [line for line in (sst2 / "train.tsv").read_text(encoding="utf-8").split("\n") if line]
    order = np.random.default_rng(0).permutation(len(rows))  # sst2_validation_split's order
    splits = {"validation": order[:2000], "rest": order[2000:]}
    if subset:
        splits["subset"] = order[2000:2000 + subset]
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, indices in splits.items():
        files[name] = folder / f"{name}.tsv"
        files[name].write_text("\n".join([header] + [rows[i] for i in indices]) + "\n", encoding="utf-8")
    return files


def sst2_clean_model() -> Path:
    """The default MiniLM fine-tuned like ``sst2_finetuned_model`` (3 epochs, lr 1e-4, frozen embeddings, max
    length 64, batch 32, the last epoch kept) but on train.tsv *without* the seeded validation split, which
    monitors it instead of dev: the base for benchmarks that choose on that split, so the split is unseen.
    Trained with ``TextClassifier.fit`` on first use (about 25 minutes on 2 cores); an interrupted run resumes."""
    model_dir = SST2_CLEAN_RUN / "model"
    if (model_dir / "tfkit.json").is_file():
        return model_dir
    import tfkit
    from tfkit.models.checkpoint import default_checkpoint

    sst2 = require_sst2()
    train = tfkit.data.load(sst2 / "train.tsv", text="sentence", label="label")
    validation, rest = sst2_validation_split(train)
    print("Fine-tuning the SST-2 base model without the validation split into", SST2_CLEAN_RUN, flush=True)
    clf = tfkit.TextClassifier.from_pretrained(default_checkpoint(), labels=train.labels, max_length=64,
                                               freeze_embeddings=True)
    clf.compile(learning_rate=1e-4, batch_size=32)
    fit_dir = SST2_CLEAN_RUN / "fit"
    clf.fit(rest, validation_data=validation, epochs=3, output_dir=fit_dir, resume=fit_dir.exists(), verbose=2)
    clf.save_pretrained(model_dir)
    return model_dir


def save_part(parts: Path, name: str, record: dict[str, Any]) -> None:
    """Writes one part's record as ``parts/<name>.json`` (through a temporary file, so a killed part leaves none),
    with the machine it ran on (parts of one record may come from different sessions)."""
    record = {**record, "part_machine": machine()}
    parts.mkdir(parents=True, exist_ok=True)
    scratch = parts / f".{name}.json.tmp"
    scratch.write_text(json.dumps(record, indent=2, default=float) + "\n")
    scratch.replace(parts / f"{name}.json")


def run_parts(script: str, parts: Path, names: list[str], forwarded: list[str] = (), redo: bool = False) -> None:
    """Runs each part of a benchmark in its own process (``python SCRIPT --part NAME *FORWARDED``: TensorFlow
    starts fresh, and a crash costs one part), in order; parts that already have a record are skipped unless
    ``redo``. The part process ends with :func:`save_part`."""
    for name in names:
        if (parts / f"{name}.json").is_file() and not redo:
            print("Reusing part", name, flush=True)
            continue
        print("Running part", name, flush=True)
        subprocess.run([sys.executable, script, "--part", name, *forwarded], check=True)


def peak_dtype(precision: str | None) -> str:
    """The dtype whose matmul peak a run in ``precision`` is measured against (bfloat16 under mixed_bfloat16)."""
    return "bfloat16" if precision == "mixed_bfloat16" else "float32"
