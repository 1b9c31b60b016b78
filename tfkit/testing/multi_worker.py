"""Local multi-worker runs: N ``MultiWorkerMirroredStrategy`` processes on 127.0.0.1, for tests and benchmarks.

:func:`launch` starts one process per worker, each with its own ``TF_CONFIG`` (free ports on
127.0.0.1), running this module's worker entry point (``python -m tfkit.testing.multi_worker``).
A worker creates the strategy first thing, then either fine-tunes with the ``finetune`` stage
(``--mode stage``: the same code path as ``tfkit train --strategy multi_worker``), takes fixed,
unshuffled steps with :class:`~tfkit.TextClassifier` (``--mode steps``: weights before and after
go to ``--record``), or lists the examples each replica is given in one epoch (``--mode shards``).

Examples:
    >>> workers = launch(["--mode", "stage", "--checkpoint", "ckpt", "--output", "run"], num_workers=2)  # doctest: +SKIP
    >>> [w.wait() for w in workers]                                                                      # doctest: +SKIP
    [0, 0]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free on 127.0.0.1 right now."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def tf_config(ports: Sequence[int], index: int) -> str:
    """The ``TF_CONFIG`` of worker ``index`` of a cluster of local workers on ``ports`` (worker 0 is the chief)."""
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def launch(args: Sequence[str], num_workers: int = 2, ports: Sequence[int] | None = None,
           threads: int | None = None, pin_cpus: bool = False, env: dict[str, str] | None = None,
           log_dir: str | os.PathLike | None = None, only: Sequence[int] | None = None,
           command: Sequence[str] | None = None) -> list[subprocess.Popen]:
    """Starts the workers of a local cluster, each running ``python -m tfkit.testing.multi_worker ARGS``.

    Args:
        command: the program each worker runs before ``args`` instead (e.g. ``[python, "-m", "tfkit",
            "train"]`` with ``--strategy multi_worker`` in ``args``); ``threads`` then does not apply.
        ports: the cluster's ports (reuse them to re-launch a worker into the same cluster).
        threads: intra-/inter-op threads per worker (``--threads``).
        pin_cpus: pin worker ``i`` to CPU core ``i`` (``taskset``), one core each.
        log_dir: where ``worker<i>.log`` (stdout and stderr) go; default: pipes to the caller.
        only: start just these worker indices (the rest are assumed running).
    """
    ports = list(ports) if ports is not None else free_ports(num_workers)
    workers = []
    for index in (only if only is not None else range(num_workers)):
        line = [*(command or [sys.executable, "-m", "tfkit.testing.multi_worker"]), *args]
        if threads is not None and command is None:
            line += ["--threads", str(threads)]
        if pin_cpus and _has_taskset():
            line = ["taskset", "-c", str(index % (os.cpu_count() or 1)), *line]
        environment = {**os.environ, **(env or {}), "TF_CONFIG": tf_config(ports, index),
                       "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        if log_dir is not None:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            log = open(Path(log_dir) / f"worker{index}.log", "ab")  # noqa: SIM115  (the child owns it)
            workers.append(subprocess.Popen(line, stdout=log, stderr=subprocess.STDOUT, env=environment))
            log.close()
        else:
            workers.append(subprocess.Popen(line, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                            env=environment))
    launch.ports = ports  # type: ignore[attr-defined]  (the caller may re-launch into the same cluster)
    return workers


def run_single(args: Sequence[str], timeout: float = 600, threads: int | None = None,
               command: Sequence[str] | None = None) -> subprocess.CompletedProcess:
    """Runs the same program as one plain process (no ``TF_CONFIG``, ``--strategy default`` for the driver)."""
    line = [*(command or [sys.executable, "-m", "tfkit.testing.multi_worker", "--strategy", "default"]), *args]
    if threads is not None and command is None:
        line += ["--threads", str(threads)]
    environment = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    environment.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return subprocess.run(line, capture_output=True, text=True, timeout=timeout, env=environment)


def read_records(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """The ``worker<i>.json`` records of a ``--record`` folder, in worker order."""
    files = sorted(Path(folder).glob("worker*.json"), key=lambda f: int(f.stem[len("worker"):]))
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def wait_all(workers: Sequence[subprocess.Popen], timeout: float) -> list[int]:
    """Waits for every worker (killing the rest when the timeout passes) and returns their exit codes."""
    deadline = time.monotonic() + timeout
    codes = []
    for worker in workers:
        try:
            codes.append(worker.wait(timeout=max(1.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            worker.kill()
            codes.append(worker.wait())
    return codes


def _has_taskset() -> bool:
    from shutil import which

    return which("taskset") is not None


# ------------------------------------------------------------------------------------------ worker side
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tfkit.testing.multi_worker")
    p.add_argument("--mode", choices=["stage", "steps", "shards"], default="stage")
    p.add_argument("--strategy", default="multi_worker", help="default: a single process, for comparisons")
    p.add_argument("--checkpoint", default="", help="checkpoint dir (default: the default MiniLM)")
    p.add_argument("--output", default=None, help="run folder of --mode stage")
    p.add_argument("--record", default=None, help="folder for this worker's record (worker<i>.json)")
    p.add_argument("--toy", type=int, default=64, help="train on N toy sentences (when no --sst2)")
    p.add_argument("--sst2", default=None, help="SST-2 folder: train on a seeded subset of its train split")
    p.add_argument("--subset", type=int, default=4000)
    p.add_argument("--subset-seed", type=int, default=0, help="seed of the --sst2 subset (fixed across --seed)")
    p.add_argument("--no-dropout", action="store_true",
                   help="use a copy of --checkpoint with every dropout at 0 (attention too): deterministic steps")
    p.add_argument("--dev-subset", type=int, default=0, help="dev sentences (0: all)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--steps", type=int, default=1, help="--mode steps: fixed steps to take")
    p.add_argument("--batch-size", type=int, default=8, help="global batch size")
    p.add_argument("--batch-tokens", type=int, default=None)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--optimizer", choices=["auto", "sgd"], default="auto", help="--mode steps: tfkit's AdamW or SGD")
    p.add_argument("--max-length", type=int, default=16)
    p.add_argument("--precision", default="float32")
    p.add_argument("--dropout", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--pause", default=None, metavar="WORKER:EPOCH:BATCH",
                   help="worker WORKER prints PAUSED and sleeps at batch BATCH of epoch EPOCH (to be killed there)")
    p.add_argument("--chief-linger", type=float, default=0.0,
                   help="--mode stage: the chief waits this long after the others are done, then loads the saved "
                        "model and predicts without the strategy (as tfkit run's later stages do)")
    p.add_argument("--batch-seconds", type=float, default=0.0, help="sleep after every batch (slow the run down)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from tfkit._keras import keras, tf  # noqa: F401

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from tfkit.models.distribution import is_chief, resolve_strategy

    strategy = resolve_strategy(args.strategy)  # first TensorFlow op of the program, as MWMS requires
    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {"index": 0})
    index = int(task.get("index", 0))
    record: dict[str, Any] = {"index": index, "chief": is_chief(strategy),
                              "replicas": strategy.num_replicas_in_sync}
    record.update({"stage": _stage, "steps": _steps, "shards": _shards}[args.mode](args, strategy, index))
    if args.record:
        Path(args.record).mkdir(parents=True, exist_ok=True)
        (Path(args.record) / f"worker{index}.json").write_text(json.dumps(record), encoding="utf-8")
    print("FINISHED", flush=True)
    return 0


def _data(args: argparse.Namespace) -> tuple[Any, Any]:
    import tfkit

    if args.sst2:
        train = tfkit.data.sst2("train", args.sst2).take(args.subset, seed=args.subset_seed)
        dev = tfkit.data.sst2("dev", args.sst2)
        return train, dev.take(args.dev_subset, seed=0) if args.dev_subset else dev
    texts, labels = toy_texts(args.toy)
    data = tfkit.data.from_lists(texts, labels)
    return data, data.take(min(16, len(data)), seed=0)


def toy_texts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Separable toy sentiment sentences (as ``tests/conftest.py`` makes them)."""
    import numpy as np

    positive_words = "good great fine nice love best fun happy excellent wonderful".split()
    negative_words = "bad awful dull boring worst hate poor sad terrible weak".split()
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        positive = i % 2 == 0
        words = rng.choice(positive_words if positive else negative_words, size=int(rng.integers(1, 6)))
        texts.append("the film " + " ".join(words))
        labels.append("pos" if positive else "neg")
    return texts, labels


def _callbacks(args: argparse.Namespace, index: int) -> list[Any]:
    from tfkit._keras import keras

    pause = tuple(int(v) for v in args.pause.split(":")) if args.pause else None

    class Progress(keras.callbacks.Callback):
        epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            print(f"EPOCH_BEGIN {epoch} step {int(self.model.optimizer.iterations.numpy())}", flush=True)

        def on_train_batch_end(self, batch, logs=None):
            if args.batch_seconds:
                time.sleep(args.batch_seconds)
            if pause is not None and pause == (index, self.epoch, batch):
                print(f"PAUSED {self.epoch} {batch}", flush=True)
                time.sleep(3600)  # wait here to be killed

        def on_epoch_end(self, epoch, logs=None):
            print(f"EPOCH_DONE {epoch}", flush=True)

    return [Progress()]


def _stage(args: argparse.Namespace, strategy: Any, index: int) -> dict[str, Any]:
    import tfkit
    from tfkit.pipeline import FinetuneConfig, RunDirectory, finetune

    train, dev = _data(args)
    config = FinetuneConfig(checkpoint=args.checkpoint, max_length=args.max_length, epochs=args.epochs,
                            batch_size=args.batch_size, batch_tokens=args.batch_tokens,
                            learning_rate=args.learning_rate, dropout=args.dropout, precision=args.precision,
                            seed=args.seed, strategy=args.strategy)
    result = finetune(train, dev, config, RunDirectory(args.output), resume=args.resume, overwrite=args.overwrite,
                      verbose=0, strategy=strategy, callbacks=_callbacks(args, index))
    after = None
    if args.chief_linger and result.classifier.distribute_strategy.extended.should_checkpoint:
        time.sleep(args.chief_linger)  # the other workers have exited by now
        reloaded = tfkit.TextClassifier.load(result.model_dir)
        after = [p["label"] for p in reloaded.predict(["good film", "awful film"])]
    fit = result.classifier.fit_record
    return {"after_workers_exit": after, "loss": fit.get("history", {}).get("loss"), "examples": len(train), "seconds": fit.get("seconds"), "examples_per_second": fit.get("examples_per_second"),
            "optimizer_steps": fit.get("optimizer_steps"),
            "accuracy": None if result.report is None else float(result.report.metrics["accuracy"])}


def _steps(args: argparse.Namespace, strategy: Any, index: int) -> dict[str, Any]:
    """Fixed, unshuffled global batches of ``--batch-size`` for ``--steps`` steps; weights before and after."""
    import tfkit
    from tfkit._keras import keras

    keras.utils.set_random_seed(args.seed)
    train, _ = _data(args)
    checkpoint = args.checkpoint or str(tfkit.models.default_checkpoint())
    if args.no_dropout:
        checkpoint = without_dropout(checkpoint)
    clf = tfkit.TextClassifier.from_pretrained(checkpoint, labels=train.labels, max_length=args.max_length,
                                               precision=args.precision, dropout=0.0, strategy=strategy)
    if args.optimizer == "sgd":
        with strategy.scope():
            clf.compile(optimizer=keras.optimizers.SGD(args.learning_rate), batch_size=args.batch_size)
    else:
        clf.compile(learning_rate=args.learning_rate, batch_size=args.batch_size)
    before = [w.numpy().tolist() for w in clf.trainable_weights]
    x = fixed_batches(clf, train, args.batch_size, args.steps)
    clf.fit(x, epochs=1, steps_per_epoch=args.steps, verbose=0)
    return {"before": before, "after": [w.numpy().tolist() for w in clf.trainable_weights]}


def without_dropout(checkpoint: str | os.PathLike) -> str:
    """A temporary copy of ``checkpoint`` (weights linked, not copied) whose config has every dropout at 0."""
    import tempfile

    source = Path(checkpoint)
    target = Path(tempfile.mkdtemp(prefix="tfkit-nodropout-"))
    for item in source.iterdir():
        if item.name != "config.json":
            (target / item.name).symlink_to(item.resolve())
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    config.update({key: 0.0 for key, value in config.items() if "dropout" in key and isinstance(value, float)})
    (target / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return str(target)


def fixed_batches(clf: Any, data: Any, batch_size: int, steps: int) -> Any:
    """The first ``steps`` global batches of ``data`` in order, padded to one width: no shuffling, no bucketing."""
    from tfkit._keras import tf
    from tfkit.data import pipeline
    from tfkit.models.distribution import distribute_options

    encoded = pipeline.encode(data, clf.tokenizer, clf.config.max_length)
    features = {k: v.to_tensor(encoded.pad_token_id if k == "input_ids" else 0, shape=[None, clf.config.max_length])
                for k, v in encoded.features().items()}
    features["attention_mask"] = tf.sequence_mask(encoded.lengths, clf.config.max_length, dtype=tf.int32)
    ds = tf.data.Dataset.from_tensor_slices((features, tf.constant(data.targets))).batch(batch_size, drop_remainder=True)
    return distribute_options(ds.take(steps))


def _shards(args: argparse.Namespace, strategy: Any, index: int) -> dict[str, Any]:
    """The example ids each local replica receives in one epoch of ``training_dataset`` (targets = ids)."""
    import numpy as np

    import tfkit

    train, _ = _data(args)
    ids = np.arange(len(train), dtype=np.float32)
    numbered = tfkit.data.from_lists(list(train.texts), ids.tolist(), task="regression")
    checkpoint = args.checkpoint or str(tfkit.models.default_checkpoint())
    clf = tfkit.TextClassifier.from_pretrained(checkpoint, task="regression", max_length=args.max_length,
                                               precision=args.precision, strategy=strategy)
    batchings = {"bucketed": None} if args.batch_tokens is None else {"bucketed": None, "tokens": args.batch_tokens}
    out: dict[str, Any] = {"num_examples": len(train)}
    for name, batch_tokens in batchings.items():
        clf.compile(batch_size=args.batch_size, batch_tokens=batch_tokens)
        ds = clf.training_dataset(numbered)
        seen: list[list[int]] = []
        for _, targets in strategy.experimental_distribute_dataset(ds):
            for local in strategy.experimental_local_results(targets):
                seen.append([int(v) for v in local.numpy().reshape(-1)])
        out[name] = {"global_steps": int(ds.cardinality().numpy()), "local_batches": seen}
    clf.compile(batch_size=args.batch_size)  # and train on the bucketed batches, uneven last pieces included
    out["loss"] = clf.fit(numbered, epochs=1, verbose=0).history["loss"]
    refused = {}
    for name, attempt in (("prune", lambda: tfkit.prune(clf, numbered, target_sparsity=0.5, epochs=1)),
                          ("qat", lambda: tfkit.quantize_aware(clf, numbered))):
        try:
            attempt()
        except tfkit.errors.TfkitError as err:
            refused[name] = f"{type(err).__name__}: {err}"
    return {**out, "refused": refused}


if __name__ == "__main__":
    sys.exit(main())
