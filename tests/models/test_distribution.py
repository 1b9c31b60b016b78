"""Fine-tuning on tf.distribute: strategy names, chief-only outputs, step equivalence, sharding, kill and resume.

The multi-worker tests start two ``MultiWorkerMirroredStrategy`` processes on 127.0.0.1 (CPU, one
intra-op thread each) with :mod:`tfkit.testing.multi_worker`, the driver the benchmark uses too.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tfkit
from tests.conftest import toy_texts
from tfkit._keras import tf
from tfkit.errors import ConfigError
from tfkit.models.distribution import (StrategyName, is_chief, is_multi_worker, num_replicas, resolve_strategy,
                                       write_dir)
from tfkit.pipeline import FinetuneConfig
from tfkit.testing import multi_worker

TIMEOUT = 300


# ------------------------------------------------------------------------------------------ in-process
def test_resolve_strategy_names_objects_and_mistakes():
    default = resolve_strategy(None)
    assert resolve_strategy("default") is default and resolve_strategy(default) is default
    assert num_replicas(default) == 1 and is_chief(default) and not is_multi_worker(default)
    mirrored = resolve_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy) and resolve_strategy(mirrored) is mirrored
    with pytest.raises(ConfigError, match=r"Expected strategy in \['default', 'mirrored', 'multi_worker', 'tpu'\].*"
                                          r"Received: strategy='gpu'"):
        resolve_strategy("gpu")
    assert [s.value for s in StrategyName] == ["default", "mirrored", "multi_worker", "tpu"]


def test_malformed_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["127.0.0.1:1"]},
                                                "task": {"type": "worker", "index": 3}}))
    with pytest.raises(ConfigError, match="Expected TF_CONFIG as JSON.*Received: TF_CONFIG="):
        resolve_strategy("multi_worker")


def test_finetune_config_takes_a_strategy_name():
    assert FinetuneConfig(strategy="multi_worker").strategy == "multi_worker"
    assert FinetuneConfig.from_dict(FinetuneConfig(strategy="mirrored").to_dict()).strategy == "mirrored"
    with pytest.raises(ConfigError, match="Expected strategy in"):
        FinetuneConfig(strategy="horovod")


def test_tfkit_run_passes_strategy_on_to_the_fine_tune_stage():
    from tfkit.cli.main import build_parser
    from tfkit.cli.run import _with_flags
    from tfkit.pipeline.pipeline import PipelineConfig

    args = build_parser().parse_args(["run", "data.csv", "--output", "out", "--strategy", "multi_worker"])
    assert _with_flags(PipelineConfig(), args).finetune.strategy == "multi_worker"
    args = build_parser().parse_args(["run", "data.csv", "--output", "out"])
    assert _with_flags(PipelineConfig(), args).finetune.strategy == "default"
    assert build_parser().parse_args(["train", "d.csv", "--output", "o", "--strategy", "mirrored"]).strategy == "mirrored"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "d.csv", "--output", "o", "--strategy", "gpu"])


def test_write_dir_is_the_path_itself_without_a_cluster(tmp_path):
    with write_dir(tmp_path / "model") as target:
        assert target == tmp_path / "model"


def test_classifier_is_built_compiled_and_fit_under_mirrored_strategy(tiny_checkpoint):
    texts, labels = toy_texts(16)
    toy_data = tfkit.data.from_lists(texts, labels)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    clf = tfkit.TextClassifier.from_pretrained(tiny_checkpoint, labels=toy_data.labels, max_length=16,
                                               precision="float32", strategy=strategy)
    assert clf.distribute_strategy is strategy
    assert all(strategy.extended.variable_created_in_scope(w) for w in clf.weights)
    clf.compile(batch_size=16)  # metrics and optimizer variables too, else Keras refuses to fit
    history = clf.fit(toy_data, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(strategy.extended.variable_created_in_scope(v) for v in clf.optimizer.variables)
    assert len(clf.predict(["good film", "bad film"])) == 2


MIRRORED = textwrap.dedent(
    """
    import json, sys
    from tfkit._keras import tf
    cpu = tf.config.list_physical_devices("CPU")[0]  # two logical CPUs: a two-GPU box, as far as Mirrored cares
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np, tfkit
    from tests.conftest import toy_texts
    texts, labels = toy_texts(16)
    data = tfkit.data.from_lists(texts, labels)
    clf = tfkit.TextClassifier.from_pretrained(sys.argv[1], labels=data.labels, max_length=16, precision="float32",
                                               strategy="mirrored")
    clf.compile(batch_size=8, learning_rate=1e-3)
    loss = clf.fit(data, epochs=1, verbose=0).history["loss"]
    pruned = tfkit.prune(clf, data, target_sparsity=0.5, epochs=1, verbose=0)
    kernels = [w.numpy() for w in pruned.strip().backbone.weights if "encoder" in w.name and "kernel" in w.name]
    qat = tfkit.quantize_aware(clf, data, epochs=1, batch_size=8, verbose=0)
    print(json.dumps({"replicas": clf.distribute_strategy.num_replicas_in_sync, "loss": loss,
                      "pruned": type(pruned.classifier.distribute_strategy).__name__,
                      "sparsity": float(np.mean([np.mean(k == 0) for k in kernels])),
                      "qat": type(qat.distribute_strategy).__name__, "qat_loss": list(qat.fit_record["history"]["loss"])}))
    """
)


@pytest.mark.slow
def test_mirrored_two_replicas_fine_tune_prune_and_qat(tiny_checkpoint, tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    done = subprocess.run([sys.executable, str(script), str(tiny_checkpoint)], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, "PYTHONPATH": os.getcwd(), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2 and np.isfinite(result["loss"]).all()
    assert result["pruned"] == result["qat"] == "MirroredStrategy", "TF-MOT wrappers are built under the strategy"
    assert result["sparsity"] == pytest.approx(0.5, abs=0.01) and np.isfinite(result["qat_loss"]).all()


# ------------------------------------------------------------------------------------------ two workers
@pytest.fixture(scope="module")
def no_dropout_checkpoint(tmp_path_factory) -> Path:
    """The tiny checkpoint without any dropout (attention dropout included): steps are deterministic."""
    from tfkit.testing import write_tiny_checkpoint

    path = write_tiny_checkpoint(tmp_path_factory.mktemp("tiny-bert-nodrop"), "bert", seed=0)
    config = json.loads((path / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (path / "config.json").write_text(json.dumps(config))
    return path


def _run_workers(args, tmp_path: Path, name: str, **options) -> list[int]:
    workers = multi_worker.launch(args, num_workers=2, threads=1, log_dir=tmp_path / f"{name}-logs", **options)
    codes = multi_worker.wait_all(workers, TIMEOUT)
    logs = "\n".join(f.read_text(errors="replace")[-3000:] for f in sorted((tmp_path / f"{name}-logs").iterdir()))
    assert codes == [0, 0], logs
    return codes


@pytest.mark.slow
def test_one_two_worker_step_equals_one_single_process_step(no_dropout_checkpoint, tmp_path):
    args = ["--mode", "steps", "--checkpoint", str(no_dropout_checkpoint), "--batch-size", "8", "--steps", "1",
            "--learning-rate", "1e-3"]
    _run_workers([*args, "--record", str(tmp_path / "two")], tmp_path, "two")
    assert multi_worker.main([*args, "--strategy", "default", "--record", str(tmp_path / "one")]) == 0  # in-process
    chief, worker = multi_worker.read_records(tmp_path / "two")
    (one,) = multi_worker.read_records(tmp_path / "one")
    assert chief["chief"] and not worker["chief"] and chief["replicas"] == 2 and one["replicas"] == 1

    def max_diff(a, b):
        return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in zip(a, b))

    assert max_diff(chief["before"], one["before"]) == 0.0, "both start from the same weights"
    assert max_diff(one["before"], one["after"]) > 1e-4, "the step moved the weights"
    assert max_diff(chief["after"], worker["after"]) == 0.0, "replicas stay in sync"
    assert max_diff(chief["after"], one["after"]) < 1e-5


@pytest.mark.slow
def test_bucketed_and_token_budget_batches_reach_every_example_once(tiny_checkpoint, tmp_path):
    _run_workers(["--mode", "shards", "--checkpoint", str(tiny_checkpoint), "--toy", "37", "--batch-size", "4",
                  "--batch-tokens", "40", "--record", str(tmp_path / "shards")], tmp_path, "shards")
    records = multi_worker.read_records(tmp_path / "shards")
    for batching in ("bucketed", "tokens"):
        pieces = [record[batching] for record in records]
        seen = collections.Counter(i for piece in pieces for batch in piece["local_batches"] for i in batch)
        assert sorted(seen) == list(range(37)) and set(seen.values()) == {1}, f"{batching}: every example once"
        assert [len(p["local_batches"]) for p in pieces] == [pieces[0]["global_steps"]] * 2, "one piece per step"
        sizes = [len(b) for p in pieces for b in p["local_batches"]]
        assert 0 in sizes or len(set(sizes)) > 1, "an odd last batch is split unevenly"
    assert 0 in [len(b) for r in records for b in r["bucketed"]["local_batches"]], "a replica gets an empty piece"
    assert all(np.isfinite(r["loss"]).all() for r in records), "and training on it gives a finite loss, not NaN"
    for record in records:  # TF-MOT under several hosts: a clear error, not a silent single-device run
        assert set(record["refused"]) == {"prune", "qat"}, record["refused"]
        assert all(m.startswith("UnsupportedStrategyError: Expected") and "Received: a classifier under "
                   "CollectiveAllReduceStrategy(2 replicas)" in m for m in record["refused"].values())


def _tree(root: Path) -> list[str]:
    """Relative paths under ``root``, TensorBoard event files named by their folder only."""
    return sorted(re.sub(r"events\.out\.tfevents\..*", "events", str(p.relative_to(root))) for p in root.rglob("*"))


@pytest.mark.slow
def test_two_worker_tfkit_train_leaves_what_one_process_leaves(tiny_checkpoint, tmp_path):
    texts, labels = toy_texts(37)
    data = tmp_path / "train.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(data, index=False)
    args = [str(data), "--checkpoint", str(tiny_checkpoint), "--epochs", "1", "--batch-size", "4",
            "--max-length", "16", "--validation-split", "0.25", "--precision", "float32"]
    train = [sys.executable, "-m", "tfkit", "train"]
    _run_workers([*args, "--output", str(tmp_path / "two"), "--strategy", "multi_worker"], tmp_path, "two",
                 command=train)
    from tfkit.cli.main import main as tfkit_main

    assert tfkit_main(["train", *args, "--output", str(tmp_path / "one")]) == 0  # one plain process: this one
    assert _tree(tmp_path / "two") == _tree(tmp_path / "one"), "the chief alone wrote; worker temp folders are gone"
    assert not list((tmp_path / "two").rglob("workertemp_*")) and not list(Path(tmp_path).glob("*/tfkit-worker-*"))
    stage = json.loads((tmp_path / "two" / "01_finetune" / "stage.json").read_text())
    assert stage["metrics"]["replicas"] == 2 and stage["config"]["strategy"] == "multi_worker"
    fit = json.loads((tmp_path / "two" / "01_finetune" / "model" / "tfkit.json").read_text())["fit"]
    assert all(np.isfinite(v) for v in fit["history"]["loss"])
    # saved under the strategy, loaded and used in this plain single-device process
    clf = tfkit.TextClassifier.load(tmp_path / "two" / "01_finetune" / "model")
    assert clf.distribute_strategy is tf.distribute.get_strategy()
    assert [p["label"] in ("neg", "pos") for p in clf.predict(["good film", "awful film"])] == [True, True]


@pytest.mark.slow
def test_killed_worker_restarts_the_job_from_the_last_backup(tiny_checkpoint, tmp_path):
    run = tmp_path / "run"
    args = ["--mode", "stage", "--checkpoint", str(tiny_checkpoint), "--toy", "32", "--batch-size", "8",
            "--epochs", "2", "--output", str(run), "--record", str(tmp_path / "rec")]
    workers = multi_worker.launch([*args, "--pause", "1:1:1"], num_workers=2, threads=1, log_dir=tmp_path / "first")
    log = tmp_path / "first" / "worker1.log"
    deadline = time.monotonic() + TIMEOUT
    while "PAUSED 1 1" not in log.read_text(errors="replace"):  # worker 1 is in epoch 2 of 2, after a backup
        assert time.monotonic() < deadline and workers[1].poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)
    workers[1].send_signal(signal.SIGKILL)
    workers[1].wait()
    # TensorFlow's peer failure detection stops the chief (its collective ops are aborted) within seconds
    assert workers[0].wait(timeout=120) != 0
    assert any((run / "01_finetune" / "backup").iterdir()) and not (run / "01_finetune" / "stage.json").exists()

    workers = multi_worker.launch([*args, "--resume"], num_workers=2, threads=1, log_dir=tmp_path / "again")
    assert multi_worker.wait_all(workers, TIMEOUT) == [0, 0], (tmp_path / "again" / "worker0.log").read_text()[-3000:]
    chief, _ = multi_worker.read_records(tmp_path / "rec")
    per_epoch = chief["optimizer_steps"] // 2
    assert per_epoch > 1 and chief["optimizer_steps"] == 2 * per_epoch
    for index in (0, 1):
        lines = (tmp_path / "again" / f"worker{index}.log").read_text().splitlines()
        begun = [line for line in lines if line.startswith("EPOCH_BEGIN")]
        assert begun == [f"EPOCH_BEGIN 1 step {per_epoch}"], \
            f"worker {index} resumed from the backup of epoch 1, with the optimizer state: {begun}"
    assert json.loads((run / "01_finetune" / "stage.json").read_text())["status"] == "complete"
    assert not list(run.rglob("workertemp_*"))
    shutil.rmtree(run)
