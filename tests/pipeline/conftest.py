"""A short run of every stage on a tiny model, made once per session for the TensorBoard and report tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import tfkit
from tfkit.export import ExportConfig
from tfkit.export.bench import bench
from tfkit.optimize import PruningConfig
from tfkit.pipeline import FinetuneConfig, RunDirectory, finetune
from tfkit.pipeline.export import export_stage
from tfkit.pipeline.prune import prune_stage
from tfkit.pipeline.tune import TuneConfig, tune
from tfkit.reporting.tensorboard import log_files
from tfkit.testing import write_tiny_checkpoint

from tests.conftest import toy_texts


@dataclasses.dataclass(frozen=True)
class ShortRun:
    path: Path
    train: tfkit.TextDataset
    validation: tfkit.TextDataset


def make_short_run(folder: Path, checkpoint: Path, texts: int = 64, epochs: int = 1) -> ShortRun:
    """Fine-tune, a one-trial tune, prune and export (with a bench as the demo runs it) into ``folder``."""
    words, labels = toy_texts(texts, seed=1)
    train, validation = tfkit.data.from_lists(words, labels).split(0.25, seed=0)
    run = RunDirectory(folder)
    finetune(train, validation, FinetuneConfig(checkpoint=str(checkpoint), epochs=epochs, max_length=16, batch_size=8,
                                               learning_rate=3e-3, precision="float32"), run, verbose=0)
    tune(train, validation, TuneConfig(checkpoint=str(checkpoint), tuner="random", max_trials=1,
                                       objective="val_accuracy", precision="float32",
                                       space={"learning_rate": 3e-3, "batch_size": 8, "epochs": epochs,
                                              "max_length": 16}), run)
    prune_stage(train, validation, PruningConfig(target_sparsity=0.5, frequency=1, epochs=epochs, batch_size=8,
                                                 learning_rate=1e-3), run, measure_tflite=False, verbose=0)
    exported = export_stage(train, validation, ExportConfig(quantization=("dynamic_int8",), raw_strings=False,
                                                                   raw_text=False, mediapipe=False), run,
                            log=lambda _: None)
    model_dir = run.stage("prune") / "model"
    bench(exported.path, model_dir, validation, output_dir=exported.path / "test_bench", log=lambda _: None)
    log_files(exported.path / "logs" / "bench", "bench", exported.path / "test_bench" / "bench.md",
              exported.path / "test_bench" / "bench.png")  # as tfkit.pipeline.demo does after its bench
    run.release()
    return ShortRun(run.path, train, validation)


@pytest.fixture(scope="session")
def short_run(tmp_path_factory) -> ShortRun:
    """A finished run folder with all of 01_finetune, 02_tune, 03_prune and 05_export (about half a minute)."""
    root = tmp_path_factory.mktemp("short-run")
    return make_short_run(root / "run", write_tiny_checkpoint(root / "tiny-bert", "bert", seed=0))
