"""``report.html`` of a short run: built from the stage folders alone, rendered by headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tfkit._keras import tf
from tfkit.errors import ReportError
from tfkit.reporting import write_run_report

from tests.conftest import require

SECTIONS = ("overview", "training", "evaluation", "tuning", "pruning", "export")


def _chromium(tmp_path: Path, *args: str) -> str:
    require(shutil.which("chromium") is not None,
            "chromium not installed (apt-get install -y chromium; scripts/test.sh installs it)")
    command = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_report_renders_every_section(short_run, tmp_path):
    report = write_run_report(short_run.path)
    assert report == short_run.path / "report.html"

    dom = _chromium(tmp_path, "--dump-dom", report.resolve().as_uri())
    ids = re.findall(r'<section id="([a-z]+)"', dom)
    assert ids == list(SECTIONS)
    # figures are embedded, so the file stands alone
    assert re.findall(r'<img alt="([^"]*)"[^>]* src="data:image/png;base64,', dom) == [
        "Fine-tune: training curves", "Prune: training curves", "Fine-tune: confusion matrix",
        "Prune: confusion matrix", "Search: score per trial and best so far",
        "Exported variants: score vs size and vs latency", "Bench (test_bench): score vs size and vs latency"]
    pruning = dom[dom.index('id="pruning"'):dom.index('id="export"')]
    assert "overall sparsity" in pruning and 'class="bar"' in pruning
    export = dom[dom.index('id="export"'):]
    assert "dynamic_int8" in export and "Bench (test_bench" in export

    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", report.resolve().as_uri())
    pixels = tf.io.decode_png(shot.read_bytes(), channels=3).numpy()
    assert pixels.shape == (2000, 1200, 3)
    # a rendered page, not a blank one: the header band, text and figures give many distinct colours
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200


def test_missing_stages_are_left_out(short_run, tmp_path):
    moved = tmp_path / "moved-run"  # a copied run folder: the report reads its own files, not recorded paths
    shutil.copytree(short_run.path / "01_finetune", moved / "01_finetune",
                    ignore=shutil.ignore_patterns("events.out.tfevents.*"))
    text = write_run_report(moved).read_text(encoding="utf-8")
    ids = re.findall(r'<section id="([a-z]+)"', text)
    assert ids == ["overview", "training", "evaluation"]
    with pytest.raises(ReportError, match="has none"):
        write_run_report(tmp_path / "empty")
