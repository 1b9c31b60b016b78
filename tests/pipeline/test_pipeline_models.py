"""Each pipeline stage takes the model of the stage before it in this run, never a leftover stage of an
earlier run in the same folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import tfkit
from tfkit.pipeline import pipeline
from tfkit.pipeline.pipeline import PipelineConfig, run_pipeline
from tfkit.pipeline.run import RunDirectory
from tests.conftest import toy_texts


def test_a_leftover_prune_stage_is_not_exported(tmp_path, monkeypatch):
    texts, labels = toy_texts(20)
    data = tfkit.data.from_lists(texts, labels)
    run = RunDirectory(tmp_path / "run")
    run.write_stage("prune", config={}, metrics={}, outputs={"model": str(tmp_path / "old_pruned")}, parent=None)
    seen = {}

    @dataclasses.dataclass
    class Finetuned:
        model_dir: Path
        report: object = None

    @dataclasses.dataclass
    class Exported:
        path: Path
        record: dict

    def fake_export_stage(representative, validation, config, run, model=None, **kwargs):
        seen["model"] = model
        return Exported(tmp_path / "export", {"variants": []})

    monkeypatch.setattr(pipeline, "finetune", lambda *a, **k: Finetuned(tmp_path / "finetuned"))
    monkeypatch.setattr(pipeline, "export_stage", fake_export_stage)
    monkeypatch.setattr(pipeline, "write_run_report", lambda run: None)
    summary = run_pipeline(data, data, PipelineConfig(), run, log=lambda _: None)
    assert seen["model"] == tmp_path / "finetuned", "this run has no prune stage: the fine-tuned model is exported"
    assert summary["stages"] == ["finetune", "export"] and summary["outputs"]["model"] == str(tmp_path / "finetuned")
