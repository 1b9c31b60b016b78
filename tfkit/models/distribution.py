"""TensorFlow distribution strategies for fine-tuning: one function picks the strategy, a few say who writes.

tfkit does not distribute anything itself: a :class:`tf.distribute.Strategy` holds the variables
(``TextClassifier.from_pretrained(..., strategy=...)`` builds them in ``strategy.scope()``) and Keras
``fit`` runs the replicas. This module only resolves a name to a strategy and answers the questions
the rest of tfkit asks of it: how many replicas, is this process the chief (the one that writes), and
where a non-chief worker may write instead (a temporary folder removed afterwards).

Names (:class:`StrategyName`):

- ``"default"``: no distribution (``tf.distribute.get_strategy()``), the single-process behaviour.
- ``"mirrored"``: ``MirroredStrategy``, every local GPU (or the CPU when there is none) of one host.
- ``"multi_worker"``: ``MultiWorkerMirroredStrategy``, one process per host, the cluster read from the
  ``TF_CONFIG`` environment variable. Create it at program start, before any other TensorFlow op.
- ``"tpu"``: ``TPUStrategy`` on the TPU named by ``TPU_NAME`` (``"local"`` on a TPU VM).

Examples:
    >>> strategy = resolve_strategy("default")
    >>> strategy.num_replicas_in_sync, is_chief(strategy)
    (1, True)
    >>> resolve_strategy(strategy) is strategy
    True
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from tfkit._keras import tf
from tfkit.errors import ConfigError, UnsupportedStrategyError

__all__ = ["StrategyName", "UnsupportedStrategyError", "barrier", "check_single_host", "distribute_options",
           "is_chief", "is_multi_worker", "num_replicas", "resolve_strategy", "strategy_name", "write_dir"]


class StrategyName(str, enum.Enum):
    """The distribution strategies ``strategy="..."`` and ``tfkit train --strategy`` accept."""

    DEFAULT = "default"
    MIRRORED = "mirrored"
    MULTI_WORKER = "multi_worker"
    TPU = "tpu"


def resolve_strategy(strategy: "str | StrategyName | tf.distribute.Strategy | None" = None) -> tf.distribute.Strategy:
    """A ``tf.distribute.Strategy`` from a strategy object, a :class:`StrategyName` or None (default).

    A strategy object is returned as it is. ``"multi_worker"`` needs ``TF_CONFIG`` when more than
    one process takes part (without it the "cluster" is this process alone), and, as TensorFlow
    requires, it must be resolved before the program runs any other TensorFlow op.

    Examples:
        >>> resolve_strategy(None).num_replicas_in_sync
        1
        >>> resolve_strategy("multiworker")
        Traceback (most recent call last):
        ...
        tfkit.errors.ConfigError: Expected strategy in ['default', 'mirrored', 'multi_worker', 'tpu'] or a tf.distribute.Strategy. Received: strategy='multiworker'. ...
    """
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy is None:
        return tf.distribute.get_strategy()
    try:
        name = StrategyName(strategy)
    except ValueError:
        raise ConfigError(
            f"Expected strategy in {[m.value for m in StrategyName]} or a tf.distribute.Strategy. "
            f"Received: strategy={strategy!r}. Pass one of those names (CLI: --strategy NAME) or a strategy object."
        ) from None
    if name is StrategyName.DEFAULT:
        return tf.distribute.get_strategy()
    if name is StrategyName.MIRRORED:
        return tf.distribute.MirroredStrategy()
    if name is StrategyName.MULTI_WORKER:
        _check_tf_config()
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except (RuntimeError, ValueError) as err:
            raise ConfigError(
                "Expected MultiWorkerMirroredStrategy to be created at program start, before any other TensorFlow "
                f"op. Received: an error creating it ({err}). Resolve strategy='multi_worker' first thing in the "
                "program (tfkit train does)."
            ) from None
    return _tpu_strategy()


def _check_tf_config() -> None:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return  # a one-process "cluster": MultiWorkerMirroredStrategy runs locally, as TensorFlow allows
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        members = cluster[task["type"]]
        members[int(task["index"])]
    except (json.JSONDecodeError, KeyError, TypeError, IndexError, ValueError):
        raise ConfigError(
            'Expected TF_CONFIG as JSON {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
            f'"index": i}} with the task inside the cluster. Received: TF_CONFIG={raw!r}. Set it per process '
            "(docs/distributed.md)."
        ) from None


def _tpu_strategy() -> tf.distribute.Strategy:  # pragma: no cover  (needs a TPU)
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ.get("TPU_NAME", "local"))
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as err:
        raise ConfigError(
            f"Expected a TPU (TPU_NAME={os.environ.get('TPU_NAME', 'local')!r}). Received: none could be reached "
            f"({err}). Run on a TPU VM (TPU_NAME=local) or set TPU_NAME to the TPU's name."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def num_replicas(strategy: tf.distribute.Strategy | None = None) -> int:
    """Replicas that share each global batch (GPUs x workers; 1 without distribution)."""
    return resolve_strategy(strategy).num_replicas_in_sync


def is_multi_worker(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether ``strategy`` spans more than one process (``MultiWorkerMirroredStrategy`` with a cluster)."""
    strategy = resolve_strategy(strategy)
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or isinstance(strategy, tf.distribute.TPUStrategy):
        return False
    spec = resolver.cluster_spec().as_dict()
    return sum(len(tasks) if isinstance(tasks, list) else len(dict(tasks)) for tasks in spec.values()) > 1


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether this process writes the run's outputs: always, except on non-chief workers of a cluster.

    Examples:
        >>> is_chief()
        True
    """
    strategy = resolve_strategy(strategy)
    return not is_multi_worker(strategy) or bool(strategy.extended.should_checkpoint)


@contextlib.contextmanager
def write_dir(path: str | os.PathLike, strategy: tf.distribute.Strategy | None = None) -> Iterator[Path]:
    """The folder this process writes ``path``'s outputs to: ``path`` on the chief, a temporary one elsewhere.

    Every worker must run the same code (a save may run collective ops), but only the chief's files
    count: the others write to a temporary folder that is removed when the block ends, so a
    multi-worker run leaves exactly the files of a single-process run.

    Examples:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp())
        >>> with write_dir(out / "model") as target:
        ...     target == out / "model"
        True
    """
    if is_chief(strategy):
        yield Path(path)
        return
    temporary = Path(tempfile.mkdtemp(prefix="tfkit-worker-"))
    try:
        yield temporary / Path(path).name
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def distribute_options(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` sharded by data (every worker reads it all and keeps its own batches' share).

    tfkit's datasets are built in memory from tensors, so there are no files to shard; with
    ``AutoShardPolicy.DATA`` each global batch (``batch_size``, or a token budget) is split across
    the replicas, and every example is trained on once per epoch across the cluster. Every worker
    must then draw the same shuffle order, which tfkit's seeded shuffling guarantees.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def check_single_host(strategy: tf.distribute.Strategy | None, what: str) -> None:
    """Refuses ``what`` (pruning, QAT) under a strategy TF-MOT does not support: several hosts, or a TPU.

    TF-MOT's pruning wrappers update their masks in a ``merge_call`` that tfkit runs, and tests,
    under ``MirroredStrategy`` (one host); its fake-quantisation and pruning-step variables are not
    made for multi-worker collectives or TPUs, so those are a clear error rather than a silent
    single-device run.

    Examples:
        >>> check_single_host(None, "Pruning")
    """
    strategy = resolve_strategy(strategy)
    if is_multi_worker(strategy) or isinstance(strategy, tf.distribute.TPUStrategy):
        raise UnsupportedStrategyError(
            f"Expected {what} on one host (no strategy, or MirroredStrategy). Received: a classifier under "
            f"{strategy_name(strategy)}. Fine-tune with the strategy, then run {what} on the chief alone "
            "(tfkit run does this), or load the fine-tuned model without a strategy: TextClassifier.load(path)."
        )


def barrier(strategy: tf.distribute.Strategy | None = None) -> None:
    """Waits until every worker of ``strategy`` gets here (a one-number all-reduce); returns at once without one.

    Examples:
        >>> barrier()
    """
    strategy = resolve_strategy(strategy)
    if not is_multi_worker(strategy):
        return
    with strategy.scope():
        strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.constant(1.0)), axis=None)


def strategy_name(strategy: tf.distribute.Strategy) -> str:
    """A short, JSON-friendly description of ``strategy`` for stage records."""
    return f"{type(strategy).__name__}({num_replicas(strategy)} replicas)"
