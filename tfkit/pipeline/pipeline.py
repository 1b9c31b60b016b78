"""The whole path in one call: fine-tune -> (tune) -> (prune) -> (quantize) -> export -> report, into one run folder.

``run_pipeline`` chains the stages that the separate commands run (``tfkit train``, ``tfkit tune``,
``tfkit prune``, ``tfkit export``), so the run folder holds the same stage folders either way. Every
stage is resumable: with ``resume=True`` finished stages are reused and an interrupted one continues.
Variants are chosen on ``validation``; with ``test`` the exported files are also measured on the test
split, and those are the figures the summary reports.

A :class:`PipelineConfig` is plain data: ``PipelineConfig.read("run.yaml")`` reads JSON or YAML such as::

    finetune: {epochs: 3, max_length: 128}
    tune: {max_trials: 6}            # optional
    prune: {target_sparsity: 0.5}    # optional
    quantize: {epochs: 1}            # optional: quantization-aware training; exports the integer-only qat_int8
    export: {quantization: [float32, dynamic_int8, full_int8]}

Examples:
    >>> config = PipelineConfig.from_dict({"finetune": {"epochs": 1}, "prune": {"target_sparsity": 0.5}})
    >>> config.prune.target_sparsity, config.tune is None
    (0.5, True)
    >>> PipelineConfig.from_dict(config.to_dict()) == config
    True
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

from tfkit._io import atomic_write_json
from tfkit.data.dataset import TextDataset
from tfkit.errors import ConfigError
from tfkit.export.bench import bench
from tfkit.export.config import ExportConfig
from tfkit.pipeline.export import export_stage
from tfkit.pipeline.finetune import FinetuneConfig, finetune
from tfkit.pipeline.run import RunDirectory
from tfkit.reporting.html import write_run_report
from tfkit.reporting.tensorboard import log_files

SECTIONS = ("finetune", "tune", "prune", "quantize", "export")


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Which stages run and how; ``tune``, ``prune`` and ``quantize`` are skipped when None.

    With ``quantize`` (quantization-aware training, :class:`~tfkit.pipeline.quantize.QATConfig`) the export
    stage writes the integer-only ``qat_int8`` file of the QAT model (and its SavedModel).
    """

    finetune: FinetuneConfig = FinetuneConfig()
    tune: Any = None     # tfkit.pipeline.tune.TuneConfig (imported lazily: Keras Tuner loads Keras 3)
    prune: Any = None    # tfkit.optimize.PruningConfig (imported lazily: TF-MOT is slow to import)
    quantize: Any = None  # tfkit.pipeline.quantize.QATConfig
    export: ExportConfig = ExportConfig()

    def to_dict(self) -> dict[str, Any]:
        return {name: None if getattr(self, name) is None else getattr(self, name).to_dict() for name in SECTIONS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PipelineConfig":
        unknown = set(data) - set(SECTIONS)
        if unknown:
            raise ConfigError(f"Expected run-config sections among {list(SECTIONS)}. Received: {sorted(unknown)}.")
        parts: dict[str, Any] = {}
        for name, kind in (("finetune", FinetuneConfig), ("tune", _tune_config()), ("prune", _pruning_config()),
                           ("quantize", _qat_config()), ("export", ExportConfig)):
            value = data.get(name)
            if value is not None and not isinstance(value, dict):
                raise ConfigError(f"Expected a mapping for run-config section '{name}'. Received: {value!r}.")
            if value is not None:
                parts[name] = kind.from_dict(value)
        return cls(**parts)

    @classmethod
    def read(cls, path: str | os.PathLike) -> "PipelineConfig":
        """Reads a ``.json`` or ``.yaml``/``.yml`` run config."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"Run config not found. Received: config='{path}'.")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text) or {}
            else:
                data = json.loads(text)
        except Exception as err:  # noqa: BLE001  (yaml and json raise their own error types)
            raise ConfigError(f"{path}: not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'} "
                              f"({err}).") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections {list(SECTIONS)}. Received: {type(data).__name__}.")
        return cls.from_dict(data)


def _tune_config() -> type:
    from tfkit.pipeline.tune import TuneConfig

    return TuneConfig


def _qat_config() -> type:
    from tfkit.pipeline.quantize import QATConfig

    return QATConfig


def _pruning_config() -> type:
    from tfkit.optimize.config import PruningConfig

    return PruningConfig


def run_pipeline(
    train: TextDataset,
    validation: TextDataset,
    config: PipelineConfig,
    run: RunDirectory,
    test: TextDataset | None = None,
    resume: bool = False,
    overwrite: bool = False,
    verbose: Any = "auto",
    log: Callable[[str], None] = print,
    strategy: Any = None,
) -> dict[str, Any]:
    """Runs every configured stage into ``run`` and returns (and writes) ``summary.json``.

    The fine-tune stage runs under ``strategy`` (else ``config.finetune.strategy``; docs/distributed.md).
    The stages after it (tune, prune, quantize, export) run on the chief alone, in one process: a
    non-chief worker returns ``{"chief": False, "stages": ["finetune"]}`` once fine-tuning is done.
    """
    from tfkit.models.distribution import is_chief, resolve_strategy

    start = time.perf_counter()
    strategy = resolve_strategy(strategy if strategy is not None else config.finetune.strategy)
    checkpoint = config.finetune.checkpoint
    log("== fine-tune")
    tuned = finetune(train, validation, config.finetune, run, evaluation=test, resume=resume, overwrite=overwrite,
                     verbose=verbose, strategy=strategy)
    if not is_chief(strategy):
        return {"chief": False, "stages": ["finetune"]}
    # Each stage takes the model of the stage before it in *this* pipeline, never a leftover stage of an
    # earlier run in the same folder (e.g. a 03_prune from a run that had --prune, when this one has not).
    ran, model = ["finetune"], tuned.model_dir
    if config.tune is not None:
        from tfkit.pipeline.tune import tune as tune_stage

        log("== tune")
        tune_config = config.tune if config.tune.checkpoint else dataclasses.replace(config.tune, checkpoint=checkpoint)
        searched = tune_stage(train, validation, tune_config, run, overwrite=overwrite,
                              verbose=0 if verbose == "auto" else verbose)
        ran, model = ran + ["tune"], searched.directory / "best_model"
    if config.prune is not None:
        from tfkit.pipeline.prune import prune_stage

        log("== prune")
        pruned = prune_stage(train, validation, config.prune, run, model=model, resume=resume, overwrite=overwrite,
                             verbose=verbose)
        ran, model = ran + ["prune"], pruned.model_dir
    export_config = config.export
    if config.quantize is not None:
        from tfkit.pipeline.quantize import quantize_stage

        log("== quantize (quantization-aware training, TF-MOT)")
        quantized = quantize_stage(train, validation, config.quantize, run, model=model, resume=resume,
                                   overwrite=overwrite, verbose=verbose)
        ran, model = ran + ["quantize"], quantized.model_dir
        export_config = dataclasses.replace(export_config, quantization=("qat_int8",))
    log("== export (variants chosen on the validation split)")
    exported = export_stage(train, validation, export_config, run, model=model, resume=resume, overwrite=overwrite,
                            log=log)
    ran.append("export")
    tested: dict[str, dict[str, Any]] = {}
    if test is not None:
        log("== bench of the exported files on the test split")
        tested = {row["variant"]: row for row in bench(exported.path, model, test,
                                                       output_dir=exported.path / "test_bench", log=log).rows}
        log_files(exported.path / "logs" / "bench", "bench", exported.path / "test_bench" / "bench.md",
                  exported.path / "test_bench" / "bench.png")  # TensorBoard: the test-split bench
    summary = {
        "examples": {"train": len(train), "validation": len(validation), "test": len(test) if test else 0},
        "labels": list(train.labels),
        "stages": ran,
        "finetune_metrics": tuned.report.metrics if tuned.report is not None else {},
        "export": {v["name"]: {"status": v["status"], "size_mb": round(v["size_bytes"] / 1e6, 1),
                               "validation_accuracy": v["verification"]["score"],
                               "test_accuracy": tested.get(v["name"], {}).get("score"),
                               "latency_ms_p50": round(tested[v["name"]]["latency_ms_p50"], 2)
                               if v["name"] in tested else round(v["verification"]["latency_ms_p50"], 2)}
                   for v in exported.record["variants"]},
        "export_chosen_on": "validation", "export_reported_on": "test" if test is not None else "validation",
        "config": config.to_dict(),
        "seconds": time.perf_counter() - start,
        "outputs": {"run": str(run.path), "model": str(model), "finetuned_model": str(tuned.model_dir),
                    "export": str(exported.path)},
    }
    summary["outputs"]["run_report"] = str(run.path / "report.html")
    atomic_write_json(run.path / "summary.json", summary)
    write_run_report(run.path)  # <run>/report.html: curves, confusion matrix, variants, all stages
    return summary
