"""Where the wall time of a ``fit`` as users run it goes, step by step (issue 13), and GELU's cost in bfloat16.

**Timeline**: the default MiniLM with tfkit's defaults (``precision="auto"``: ``mixed_bfloat16`` on CPUs with
AMX) fits the first ``--sentences`` of the seeded SST-2 training subset for ``--epochs`` epochs with an output
folder (backup, TensorBoard, best weights) and validation on the 2,000-sentence validation split, as
``tfkit train`` does. A callback (last in the list, so tfkit's own callbacks have run before it sees an epoch's
end) stamps every step and epoch; tf-keras' ``BackupAndRestore``, ``ModelCheckpoint`` and ``TensorBoard``
epoch-end hooks are timed on their own (their classes' methods wrapped, in this process only). Reported: the fit's seconds; the steps' sum, median and first step; the time from each
epoch's last step to its end (validation plus the saves); the time between steps (the input pipeline); what
is left after the last epoch; and the steady rate (batch size over the median step).

**GELU**: exact GELU (``tf.nn.gelu``, what transformers' TF BERT calls: it goes through ``erfc``) against the
same function written with ``erf`` (transformers' ``_gelu``) and against float32, forward and backward on a
bfloat16 tensor of 32 x 48 x 1536 (batch x tokens x MiniLM's feed-forward width), best of 5 rounds of 20.

Run:  python benchmarks/fit_timeline.py [--sentences 8000] [--epochs 2]
Writes benchmarks/results/fit_timeline.{json,md}.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import acceptance, machine, require_sst2, sst2_validation_split, write_results


def timeline(args) -> dict:
    import tfkit
    from tfkit._keras import keras
    from tfkit.models.checkpoint import default_checkpoint

    train = tfkit.data.load(require_sst2() / "train.tsv", text="sentence", label="label")
    validation, rest = sst2_validation_split(train)
    data = rest.subset(np.arange(args.sentences))
    events: list[tuple[str, float]] = []
    hooks: dict[str, list[float]] = {}

    class Stamps(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            events.append(("begin", time.perf_counter()))

        def on_train_batch_end(self, batch, logs=None):
            events.append(("end", time.perf_counter()))

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", time.perf_counter()))

    def timed(cls: type, name: str) -> None:
        original = getattr(cls, name)

        def wrapper(self, *a, **k):
            began = time.perf_counter()
            try:
                return original(self, *a, **k)
            finally:
                hooks.setdefault(f"{cls.__name__}.{name}", []).append(time.perf_counter() - began)

        setattr(cls, name, wrapper)

    for cls in (keras.callbacks.BackupAndRestore, keras.callbacks.ModelCheckpoint, keras.callbacks.TensorBoard):
        timed(cls, "on_epoch_end")
    keras.utils.set_random_seed(0)
    clf = tfkit.TextClassifier.from_pretrained(default_checkpoint(), labels=train.labels)
    clf.compile()
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        clf.fit(data, validation_data=validation, epochs=args.epochs, output_dir=Path(out) / "run", verbose=0,
                callbacks=[Stamps()])
        total = time.perf_counter() - start
    steps = [e[1] - b[1] for b, e in zip(events, events[1:]) if b[0] == "begin" and e[0] == "end"]
    between = [b[1] - e[1] for e, b in zip(events, events[1:]) if e[0] == "end" and b[0] == "begin"]
    epoch_tails = [x[1] - e[1] for e, x in zip(events, events[1:]) if e[0] == "end" and x[0] == "epoch_end"]
    median = float(np.median(steps))
    batch = clf.training_config.batch_size
    return {"precision": clf.config.precision.value, "batch_size": batch, "fit_seconds": total,
            "steps": len(steps), "step_seconds": float(np.sum(steps)), "median_step_ms": 1000 * median,
            "first_step_seconds": steps[0], "epoch_end_seconds": epoch_tails,
            "between_steps_seconds": float(np.sum(between)),
            "after_last_epoch_seconds": start + total - events[-1][1],
            "hook_seconds": hooks, "steady_examples_per_second": batch / median,
            "examples_per_second": clf.fit_record["examples_per_second"]}


def gelu() -> dict:
    from tfkit._keras import tf

    x = tf.cast(tf.random.stateless_normal((32, 48, 1536), seed=(0, 0)), tf.bfloat16)
    reference = tf.nn.gelu(tf.cast(x, tf.float32), approximate=False)
    forms = {
        "erfc_bfloat16": lambda v: tf.nn.gelu(v, approximate=False),
        "erf_bfloat16": lambda v: 0.5 * v * (1.0 + tf.math.erf(v * tf.constant(0.7071067811865476, v.dtype))),
        "erfc_float32": lambda v: tf.cast(tf.nn.gelu(tf.cast(v, tf.float32), approximate=False), v.dtype),
    }
    out = {}
    for name, form in forms.items():
        @tf.function
        def step(v, form=form):
            with tf.GradientTape() as tape:
                tape.watch(v)
                y = form(v)
            return y, tape.gradient(y, v)

        step(x)
        best = float("inf")
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(20):
                y, g = step(x)
            g.numpy()
            best = min(best, (time.perf_counter() - began) / 20)
        out[name] = {"ms_forward_backward": 1000 * best,
                     "max_abs_diff_vs_float32": float(tf.reduce_max(tf.abs(tf.cast(y, tf.float32) - reference)))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    import tfkit  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
    from tfkit._keras import tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    run = timeline(args)
    forms = gelu()
    fixed = run["fit_seconds"] - run["steps"] * run["median_step_ms"] / 1000
    record = {
        "machine": machine(), "settings": {"sentences": args.sentences, "epochs": args.epochs, "seed": 0},
        "timeline": run, "gelu": forms,
        "acceptance": {
            "steady_examples_per_second": acceptance(run["steady_examples_per_second"], "reported"),
            "fit_examples_per_second": acceptance(run["examples_per_second"], "reported"),
            "fixed_cost_share": acceptance(fixed / run["fit_seconds"], "reported"),
            "gelu_erf_speedup_bfloat16": acceptance(
                forms["erfc_bfloat16"]["ms_forward_backward"] / forms["erf_bfloat16"]["ms_forward_backward"],
                "reported"),
        },
    }
    table = [("part of the fit", "seconds")]
    table += [("whole fit", f"{run['fit_seconds']:.1f}"), (f"{run['steps']} steps", f"{run['step_seconds']:.1f}"),
              ("first step (tracing)", f"{run['first_step_seconds']:.1f}"),
              ("median step", f"{run['median_step_ms'] / 1000:.3f}")]
    table += [(f"epoch {i + 1}: last step to epoch end (validation, saves)", f"{s:.1f}")
              for i, s in enumerate(run["epoch_end_seconds"])]
    table += [(f"{hook} (each epoch)", ", ".join(f"{s:.2f}" for s in times)) for hook, times in run["hook_seconds"].items()]
    table += [("between steps (input pipeline)", f"{run['between_steps_seconds']:.1f}"),
              ("after the last epoch", f"{run['after_last_epoch_seconds']:.1f}")]
    table += [(f"GELU {name}, forward + backward on 32 x 48 x 1536 (ms; max diff vs float32)",
               f"{f['ms_forward_backward']:.2f}; {f['max_abs_diff_vs_float32']:.3g}") for name, f in forms.items()]
    write_results("fit_timeline", record, table,
                  f"Where a fit's time goes ({args.sentences} SST-2 sentences, {args.epochs} epochs, tfkit's defaults: "
                  f"{run['precision']}, batch {run['batch_size']})")


if __name__ == "__main__":
    main()
