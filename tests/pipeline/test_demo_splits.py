"""Bug: the main job chose its int8 variants on the test split and then reported test figures."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import tfkit
from tfkit.pipeline import demo, pipeline
from tests.conftest import toy_texts


def test_demo_chooses_on_validation_and_reports_on_test(tmp_path, monkeypatch):
    texts, labels = toy_texts(100)
    data = tfkit.data.from_lists(texts, labels)
    seen: dict[str, object] = {}

    @dataclasses.dataclass
    class Finetuned:
        model_dir: Path
        stage_dir: Path
        report: object

    class Report:
        metrics = {"accuracy": 0.5, "macro_f1": 0.5}

    def fake_finetune(train, validation, config, run, evaluation=None, **kwargs):
        seen["finetune"] = (train, validation, evaluation)
        return Finetuned(tmp_path / "model", tmp_path / "stage", Report())

    @dataclasses.dataclass
    class Exported:
        path: Path
        record: dict

    def fake_export_stage(representative, validation, config, run, **kwargs):
        seen["export_validation"] = validation
        return Exported(tmp_path / "export", {"variants": [
            {"name": "dynamic_int8", "status": "accepted", "size_bytes": 10,
             "verification": {"score": 0.9, "latency_ms_p50": 1.0}}]})

    @dataclasses.dataclass
    class Bench:
        rows: tuple

    def fake_bench(export_dir, classifier, data, **kwargs):
        seen["bench_data"] = data
        return Bench(({"variant": "keras_fp32", "score": 0.7, "latency_ms_p50": 9.0},
                      {"variant": "dynamic_int8", "score": 0.8, "latency_ms_p50": 2.0}))

    monkeypatch.setattr(demo, "bbc_news", lambda: data)
    monkeypatch.setattr(pipeline, "finetune", fake_finetune)
    monkeypatch.setattr(pipeline, "export_stage", fake_export_stage)
    monkeypatch.setattr(pipeline, "bench", fake_bench)
    monkeypatch.setattr(pipeline, "log_files", lambda *args: None)  # the fake bench writes no bench.md/png
    monkeypatch.setattr(pipeline, "write_run_report", lambda run: seen.setdefault("report", run))
    summary = demo.run_demo(demo.DemoConfig(output=str(tmp_path / "run")))
    assert seen["report"] == tmp_path / "run", "the demo ends with the run's report.html"

    train, validation, test = seen["finetune"]
    assert seen["export_validation"] is validation, "variants are chosen on the validation split"
    assert seen["bench_data"] is test, "reported figures come from the test split"
    row = summary["export"]["dynamic_int8"]
    assert row["accuracy"] == 0.8 and row["validation_accuracy"] == 0.9 and row["latency_ms_p50"] == 2.0
