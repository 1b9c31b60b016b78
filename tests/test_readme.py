"""README.md's Quickstart runs as written: the fenced python block under "## Quickstart", on a tiny checkpoint."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import toy_texts

ROOT = Path(__file__).resolve().parents[1]


def quickstart(readme: str) -> str:
    """The first fenced ``python`` block after the ``Quickstart`` heading."""
    match = re.search(r"^#+ Quickstart\s*$(.*?)^```python\n(.*?)^```\s*$", readme, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no ```python block under a 'Quickstart' heading"
    assert "\n#" not in match.group(1), "the Quickstart block must come before the next heading"
    return match.group(2)


def test_quickstart_is_short():
    code = quickstart((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(code.strip().splitlines()) <= 10, code


def test_quickstart_runs(tmp_path, tiny_checkpoint):
    code = quickstart((ROOT / "README.md").read_text(encoding="utf-8"))
    texts, labels = toy_texts(40)
    (tmp_path / "reviews.csv").write_text("review,sentiment\n" + "".join(f"{t},{l}\n" for t, l in zip(texts, labels)))
    (tmp_path / "quickstart.py").write_text(code)
    env = {**os.environ, "TFKIT_CHECKPOINT": str(tiny_checkpoint),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    result = subprocess.run([sys.executable, "quickstart.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=280)
    assert result.returncode == 0, f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr[-6000:]}"
    assert "macro_f1" in result.stdout and "'label':" in result.stdout, result.stdout
    run = tmp_path / "saved_models" / "reviews"
    assert any((run / "01_finetune").rglob("events.out.tfevents.*")), "fit(output_dir=...) wrote no TensorBoard log"
    assert (run / "05_export" / "export.json").is_file() and any((run / "05_export").rglob("*.tflite"))
