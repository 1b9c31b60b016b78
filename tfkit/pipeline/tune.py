"""The tune stage: a Keras Tuner search whose best classifier becomes the stage's model.

Examples:
    >>> from tfkit.pipeline import RunDirectory
    >>> from tfkit.pipeline.tune import TuneConfig, tune
    >>> result = tune(train, val, TuneConfig(max_trials=6), RunDirectory("saved_models/run"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tfkit.data.dataset import TextDataset
from tfkit.errors import ConfigError
from tfkit.models.config import ClassifierConfig, _JsonConfig
from tfkit.pipeline.run import RunDirectory
from tfkit.reporting.tensorboard import log_files, log_model_card

STAGE = "tune"


@dataclasses.dataclass(frozen=True)
class TuneConfig(_JsonConfig):
    """Search settings; ``space`` maps hyperparameter names to ranges, choices or values."""

    checkpoint: str = ""
    tuner: str = "bayesian"
    max_trials: int = 8
    objective: str = "val_macro_f1"
    space: dict = dataclasses.field(default_factory=dict)
    early_stopping_patience: int | None = 1
    precision: str = "auto"
    freeze_embeddings: bool = ClassifierConfig.freeze_embeddings
    seed: int = 0


def parse_space(items: list[str]) -> dict[str, Any]:
    """``["learning_rate=1e-5:1e-4", "batch_size=16,32", "epochs=2"]`` -> ranges, choices, values."""
    space: dict[str, Any] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not spec:
            raise ConfigError(f"Expected NAME=LOW:HIGH, NAME=A,B,... or NAME=VALUE. Received: {item!r}.")
        try:
            if ":" in spec:
                low, high = spec.split(":")
                space[name] = (_number(low), _number(high))
            elif "," in spec:
                space[name] = [_number(v) for v in spec.split(",")]
            else:
                space[name] = _number(spec)
        except ValueError:
            raise ConfigError(f"Cannot read numbers in {item!r}.") from None
    return space


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def tune(train: TextDataset, validation: TextDataset, config: TuneConfig, run: RunDirectory,
         overwrite: bool = False, verbose: Any = 0) -> Any:
    """Runs (or resumes) the search in ``<run>/02_tune`` and records the stage."""
    from tfkit.tuning import tune as search

    stage_dir = run.stage(STAGE)
    result = search(train, validation, checkpoint=config.checkpoint or None, tuner=config.tuner,
                    max_trials=config.max_trials, objective=config.objective, output_dir=stage_dir / "search",
                    space=config.space, early_stopping_patience=config.early_stopping_patience,
                    precision=config.precision, freeze_embeddings=config.freeze_embeddings, overwrite=overwrite,
                    seed=config.seed, verbose=verbose)
    best = result.best_trial()
    result.best_classifier()
    report_dir = result.report(stage_dir / "report")
    # TensorBoard: each trial logs its scalars and HParams under search/trial_*/logs; the search as a whole here
    log_files(stage_dir / "logs" / "tuning", "tuning", report_dir / "trials.md", report_dir / "trials.png")
    log_model_card(stage_dir / "logs" / "model_card", result.directory / "best_model")
    run.write_stage(
        STAGE, config=config.to_dict(),
        metrics={config.objective: best.score, "trials_completed": len(result.completed_trials())},
        outputs={"model": str(result.directory / "best_model"), "report": str(report_dir),
                 "search": str(result.directory)},
        parent=None,
    )
    return result
