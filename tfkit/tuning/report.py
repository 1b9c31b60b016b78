"""``TuningResult``: the trials of a search as a table and a plot, and the best classifier.

Examples:
    >>> result = tfkit.tune(train, val, max_trials=4)      # doctest: +SKIP
    >>> result.trials()[0]["score"]                                # doctest: +SKIP
    >>> result.report()            # writes trials.{csv,json,md} and trials.png  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from tfkit.errors import NoCompletedTrialError
from tfkit._io import atomic_save_figure, atomic_write_json, atomic_write_text, pyplot
from tfkit.models.text_classifier import TextClassifier

BEST = "best_model"


class TuningResult:
    """Read-only view of a search, built from the trial records in its directory.

    Reading the records (rather than asking the oracle) gives the same answer in
    the chief, in any worker of a distributed search, and in a later process.
    """

    def __init__(self, tuner: Any):
        self.tuner = tuner

    def _trials(self) -> list[Any]:
        from keras_tuner.engine.trial import Trial

        files = sorted(self.directory.glob("trial_*/trial.json"))
        return [Trial.load(str(f)) for f in files]

    @property
    def directory(self) -> Path:
        return Path(self.tuner.project_dir)

    @property
    def objective(self) -> Any:
        return self.tuner.oracle.objective

    def trials(self) -> list[dict[str, Any]]:
        """One row per trial, in the order they were created."""
        rows = []
        for trial in self._trials():
            trial_id = trial.trial_id
            rows.append({
                "trial_id": trial_id,
                "status": str(trial.status),
                "score": trial.score,
                "seconds": self.tuner.trial_seconds(trial_id),
                "tuner_id": self.tuner.trial_tuner_id(trial_id),
                **{k: v for k, v in trial.hyperparameters.values.items()},
            })
        return rows

    def completed_trials(self) -> list[dict[str, Any]]:
        return [row for row in self.trials() if row["status"] == "COMPLETED" and row["score"] is not None]

    def best_trial(self) -> Any:
        done = [t for t in self._trials() if str(t.status) == "COMPLETED" and t.score is not None]
        if not done:
            raise NoCompletedTrialError(f"Expected at least one completed trial in {self.directory}. Received: none (every trial failed or none has run). Check the trial logs there, then run the search again.")
        pick = max if self.objective.direction == "max" else min
        return pick(done, key=lambda t: t.score)

    def best_hyperparameters(self) -> dict[str, Any]:
        return dict(self.best_trial().hyperparameters.values)

    def best_classifier(self, save: bool = True, overwrite: bool = True) -> TextClassifier:
        """The best trial's trained classifier, also saved (tfkit format) to ``<directory>/best_model``."""
        trial = self.best_trial()
        model = self.tuner.load_model(trial)
        model.fit_record = {"tuning_trial": trial.trial_id, "score": trial.score,
                            "objective": self.objective.name, "hyperparameters": dict(trial.hyperparameters.values)}
        if save:
            model.save_pretrained(self.directory / BEST, overwrite=overwrite, metrics={self.objective.name: trial.score})
        return model

    def report(self, directory: str | os.PathLike | None = None) -> Path:
        """Writes ``trials.csv``, ``trials.json``, ``trials.md`` and ``trials.png``; returns the folder."""
        out = Path(directory) if directory is not None else self.directory / "report"
        rows = self.trials()
        columns = list(dict.fromkeys(k for row in rows for k in row))
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "trials.json", {"objective": self.objective.name,
                                                "direction": self.objective.direction, "trials": rows})
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(out / "trials.csv", buffer.getvalue())
        atomic_write_text(out / "trials.md", markdown_table(rows, columns))
        self._plot(rows, out / "trials.png")
        return out

    def _plot(self, rows: list[dict[str, Any]], path: Path) -> None:
        plt = pyplot()
        done = [(i, r["score"]) for i, r in enumerate(rows) if r["score"] is not None]
        fig, ax = plt.subplots(figsize=(6, 4))
        if done:
            xs, ys = zip(*done)
            pick = max if self.objective.direction == "max" else min
            best = [pick(ys[: k + 1]) for k in range(len(ys))]
            ax.plot(xs, ys, "o", label="trial")
            ax.step(xs, best, where="post", label="best so far")
            ax.legend()
        ax.set_xlabel("trial")
        ax.set_ylabel(self.objective.name)
        ax.set_title("Hyperparameter search")
        fig.tight_layout()
        atomic_save_figure(fig, path)


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"
