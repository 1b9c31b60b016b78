"""Where a tfkit training step spends its time (issue 13): the TF profiler's trace of ``TextClassifier.fit``.

Fits the default MiniLM on the first sentences of the seeded SST-2 training subset (``peers_sst2.py``'s) with
the settings given, traces steps ``--from`` to ``--to`` with ``tf.profiler`` (the trace TensorBoard's Profile
tab shows, kept in the run folder), then sums the trace's TensorFlow op events by op type and by family
(matmuls, optimizer update, dropout, softmax, LayerNorm, GELU, embedding lookups and their gradients, ...).
Each family's share of the traced op time, and milliseconds per step, go to
``benchmarks/results/profile_train.{json,md}`` (one entry per ``--name``, so settings can be compared).

Run:  python benchmarks/profile_train.py --name frozen_b32 [--freeze-embeddings] [--batch-tokens 2048]
          [--precision float32] ...
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time
from pathlib import Path

from _common import RESULTS, SST2_CLEAN_RUN, machine, require_sst2, sst2_validation_split

RECORD = RESULTS / "profile_train.json"
FAMILIES = (  # (family, substrings of the op type), first match wins
    ("input pipeline", ("Dataset", "GroupByWindow", "AssertCardinality", "Iterator", "Prefetch", "Shuffle",
                        "PaddedBatch", "MapAndBatch", "ParallelMap")),
    ("optimizer update", ("Apply", "Adam", "XlaRun", "XlaLaunch", "_XlaCompile", "AssignSub", "AssignAdd")),
    ("matmul", ("MatMul", "Einsum", "Conv")),
    ("dropout", ("RandomUniform", "StatelessRandom", "Dropout", "GreaterEqual")),
    ("softmax", ("Softmax",)),
    ("gelu", ("Erf",)),
    ("layer norm", ("FusedBatchNorm", "Rsqrt", "SquaredDifference", "Moments", "Mean")),
    ("embedding", ("Gather", "UnsortedSegmentSum", "Unique", "ScatterNd", "SparseSegment")),
    ("elementwise", ("Add", "Mul", "Sub", "RealDiv", "Select", "Cast", "Maximum", "Minimum", "Square", "Sqrt",
                     "Neg", "Tanh", "Exp", "Log", "Pow", "Sum", "Max", "Relu", "Sign", "Abs")),
    ("shape and copies", ("Reshape", "Transpose", "ConcatV2", "Pack", "Slice", "StridedSlice", "Identity", "Tile",
                          "BroadcastTo", "Fill", "ZerosLike", "OnesLike", "Shape", "ExpandDims", "Squeeze", "Pad")),
)


CONTAINERS = {"Process", "Run", "RunWithBorrowedArgs", "RunSync", "RunAsync"}


def family(op_type: str) -> str:
    return next((name for name, keys in FAMILIES if any(k in op_type for k in keys)), "other")


def op_times(logdir: Path) -> dict[str, float]:
    """Microseconds per TensorFlow op type in the newest trace under ``logdir`` (the host plane's TF op events,
    named ``name:type``)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = max(logdir.rglob("*.xplane.pb"), key=lambda p: p.stat().st_mtime)
    space = xplane_pb2.XSpace()
    space.ParseFromString(path.read_bytes())
    totals: dict[str, float] = collections.defaultdict(float)
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {k: m.name for k, m in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "")
                op_type = name.rsplit(":", 1)[-1].strip()
                # Op events carry "name:type"; the executor's and functions' events ("ExecutorState::Process",
                # "FunctionLibraryRuntime::Run", "__inference_train_function") enclose them and are left out.
                if ":" not in name or "::" in name or op_type.startswith("__") or op_type in CONTAINERS:
                    continue
                totals[op_type] += event.duration_ps / 1e6
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", required=True, help="this profile's key in the results")
    parser.add_argument("--freeze-embeddings", action="store_true")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batch-tokens", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--precision", default="auto", help="float32, mixed_bfloat16 or auto (tfkit's default)")
    parser.add_argument("--optimizer", choices=["fused", "keras"], default="fused",
                        help="tfkit's AdamW (fused updates, the default) or Keras' AdamW, for comparison")
    parser.add_argument("--sentences", type=int, default=3200, help="training sentences to fit on (one epoch)")
    parser.add_argument("--from", dest="start", type=int, default=20, help="first traced step")
    parser.add_argument("--to", dest="stop", type=int, default=60, help="step after the last traced one")
    args = parser.parse_args()

    import numpy as np

    import tfkit
    from tfkit._keras import keras, tf
    from tfkit.models.checkpoint import default_checkpoint

    sst2 = require_sst2()
    train = tfkit.data.load(sst2 / "train.tsv", text="sentence", label="label")
    data = sst2_validation_split(train)[1].subset(np.arange(args.sentences))
    logdir = SST2_CLEAN_RUN / "profile" / args.name
    steps: list[float] = []
    first: dict[str, float] = {}

    class Trace(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                first["began"] = time.perf_counter()
            if batch == args.start:
                tf.profiler.experimental.start(str(logdir))
            if args.start <= batch < args.stop:
                self.began = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                first["seconds"] = time.perf_counter() - first["began"]
            if args.start <= batch < args.stop:
                steps.append(time.perf_counter() - self.began)
            if batch == args.stop - 1:
                tf.profiler.experimental.stop()

    if args.optimizer == "keras":  # the auto optimizer built from Keras' AdamW instead of tfkit's fused one
        from tfkit.models import optimization

        optimization.FusedAdamW = keras.optimizers.AdamW
    keras.utils.set_random_seed(0)
    clf = tfkit.TextClassifier.from_pretrained(default_checkpoint(), labels=train.labels, max_length=args.max_length,
                                               freeze_embeddings=args.freeze_embeddings, precision=args.precision)
    clf.compile(learning_rate=args.learning_rate, batch_size=args.batch_size, batch_tokens=args.batch_tokens)
    clf.fit(data, epochs=1, callbacks=[Trace()], verbose=0)
    times = op_times(logdir)
    total = sum(times.values())
    by_family: dict[str, float] = collections.defaultdict(float)
    for op, us in times.items():
        by_family[family(op)] += us
    traced = len(steps)
    entry = {
        "settings": {k: v for k, v in vars(args).items() if k != "name"},
        "precision": clf.config.precision.value, "optimizer": type(clf.optimizer).__name__, "traced_steps": traced,
        "wall_ms_per_step_traced": 1000 * float(np.sum(steps)) / traced,
        "first_step_seconds": first["seconds"],  # tracing and graph optimisation of the train function
        "op_ms_per_step": total / 1000 / traced,
        "families": {f: {"ms_per_step": us / 1000 / traced, "share": us / total}
                     for f, us in sorted(by_family.items(), key=lambda kv: -kv[1])},
        "top_ops": {op: {"ms_per_step": us / 1000 / traced, "share": us / total}
                    for op, us in sorted(times.items(), key=lambda kv: -kv[1])[:25]},
        "trace": str(logdir), "machine": machine(),
        "load_average_at_end": list(os.getloadavg()),  # 1, 5, 15 min: was the machine busy with other work?
    }
    record = json.loads(RECORD.read_text()) if RECORD.is_file() else {"profiles": {}}
    record["profiles"][args.name] = entry
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    lines = ["# Where a training step's time goes (TF profiler trace of TextClassifier.fit, SST-2 subset)", ""]
    for name, e in record["profiles"].items():
        lines += [f"## {name}", "", f"Settings: {json.dumps(e['settings'])}; precision {e['precision']}; "
                  f"optimizer {e.get('optimizer', 'AdamW')}; "
                  f"{e['traced_steps']} traced steps, {e['wall_ms_per_step_traced']:.0f} ms per step (wall), "
                  f"{e['op_ms_per_step']:.0f} ms of op time per step (all threads' ops summed); the first step "
                  f"took {e['first_step_seconds']:.1f} s (tracing and graph optimisation). "
                  f"Machine: {e['machine']['cpu']}.", "", "| family | ms per step | share |", "|---|---|---|"]
        lines += [f"| {f} | {v['ms_per_step']:.1f} | {v['share']:.3f} |" for f, v in e["families"].items()]
        lines += ["", "| op type | ms per step | share |", "|---|---|---|"]
        lines += [f"| {op} | {v['ms_per_step']:.1f} | {v['share']:.3f} |" for op, v in e["top_ops"].items()]
        lines.append("")
    (RESULTS / "profile_train.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
