"""benchmarks/RESULTS.md and the README's headline table are regenerated from the result JSONs, and their target
checks read the targets right."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_all():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_results_and_readme_headline_match_the_result_files():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--check"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout


def test_targets_are_checked_in_both_directions_and_reported_ones_are_not():
    met = run_all().met
    assert met({"value": 0.8922, "target": ">= 0.91"}) is False
    assert met({"value": 0.92, "target": ">= 0.91"}) is True
    assert met({"value": 2.12, "target": "<= 1.0"}) is False
    assert met({"value": 0.0, "target": "<= 0"}) is True
    assert met({"value": 1.0, "target": "== 1.0"}) is True
    assert met({"value": -0.4, "target": ">= -0.3"}) is False
    assert met({"value": 5.9e-08, "target": "<= 1e-05"}) is True
    assert met({"value": 3.0, "target": "reported"}) is None


def test_every_topic_names_a_benchmark_script_and_headline_keys_its_record_has():
    module = run_all()
    for topic in module.TOPICS:
        script = topic.command.split()[1]
        assert (ROOT / script).is_file(), topic
        record = module.load(topic.result)
        if record is not None:
            missing = [k for k in topic.headline if k not in record["acceptance"]]
            assert not missing, (topic.result, missing)


def test_seeds_are_found_wherever_a_record_keeps_them():
    seeds = run_all().seeds
    assert seeds({"settings": {"seeds": [0, 1]}, "runs": [{"seed": 1}, {"seed": 2}], "x": {"y": [{"seed": 3}]}}) == \
        [0, 1, 2, 3]
