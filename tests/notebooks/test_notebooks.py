"""Every notebook runs end to end on a tiny configuration; a cell error fails the test.

As papermill does, a cell inserted right after the notebook's ``parameters`` cell overrides its parameters:
a tiny random BERT checkpoint, a toy sentiment CSV, one epoch, 16 tokens, one trial, outputs in a temporary
folder, no TensorBoard. The notebook then runs top to bottom in a fresh kernel whose working directory is a
temporary folder. Each notebook takes 20-60 s on two cores, so the tests are marked ``slow``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import require

try:  # the test extra: fails in CI when missing, skips with a message elsewhere
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
except ImportError as err:
    require(False, f"notebook execution needs the test extra (pip install -e '.[test]'): {err}")

import tfkit
from tfkit.testing import write_tiny_checkpoint

from tests.conftest import ROOT, toy_texts
from tests.notebooks.nbtools import NOTEBOOKS, declared_parameters, parameters_index, read

CELL_TIMEOUT_S = 240
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# tfkit's deprecated spellings warn with messages that start "tfkit.": the notebooks use the current ones.
STRICT_DEPRECATIONS = 'import warnings\nwarnings.filterwarnings("error", message=r"tfkit\\.", category=DeprecationWarning)'


@pytest.fixture(scope="module")
def tiny_inputs(tmp_path_factory) -> dict[str, Path]:
    """What the tiny parameters point at: a checkpoint, a toy CSV and a saved (untrained) classifier."""
    root = tmp_path_factory.mktemp("notebook-inputs")
    checkpoint = write_tiny_checkpoint(root / "checkpoint", "bert", seed=0)
    texts, labels = toy_texts(96)
    csv = root / "toy.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(csv, index=False)
    model = tfkit.TextClassifier.from_pretrained(checkpoint, labels=sorted(set(labels)), max_length=16)
    return {"checkpoint": checkpoint, "csv": csv, "model": model.save_pretrained(root / "model")}


def tiny_parameters(notebook: str, inputs: dict[str, Path], output: Path) -> dict[str, object]:
    """A value for every parameter any notebook declares (each notebook is given those it declares)."""
    values = {
        "CHECKPOINT": str(inputs["checkpoint"]),
        "DATA": str(inputs["csv"]),
        "TEXT": "text",
        "LABEL": "label",
        "MODEL": None,            # fine-tune here first
        "EPOCHS": 1,
        "MAX_LENGTH": 16,
        "LEARNING_RATE": 1e-3,
        "BATCH_SIZE": 8,
        "TRAIN_EXAMPLES": 64,
        "MAX_TRIALS": 1,
        "TUNER": "random",
        "SPARSITY": 0.5,
        "PRUNE_EPOCHS": 1,
        "QUANTIZATION": ["float32", "dynamic_int8"],
        "VALIDATION_SAMPLES": 16,
        "OUTPUT": str(output),
        "TENSORBOARD": False,
    }
    if notebook == "03_prune_quantize":
        values["QUANTIZATION"] = ["dynamic_int8"]  # the int8 file its story is about: a conversion costs seconds
    if notebook == "04_export_and_run":
        values["MODEL"] = str(inputs["model"])     # a saved classifier; 03 fine-tunes its own: both paths run
        values["QUANTIZATION"] = ["dynamic_int8"]  # with its raw-text and MediaPipe files: three conversions
    return values


def with_parameters(nb: nbformat.NotebookNode, values: dict[str, object]) -> nbformat.NotebookNode:
    """``nb`` with a cell after its ``parameters`` cell that assigns every declared parameter from ``values``."""
    declared = declared_parameters(nb)
    unknown = [name for name in declared if name not in values]
    assert not unknown, (f"Expected a tiny value for every parameter. Received: no value for {unknown}. "
                         "Add one to tiny_parameters() in tests/notebooks/test_notebooks.py.")
    lines = ["# Parameters for a tiny run, injected by tests/notebooks/test_notebooks.py", STRICT_DEPRECATIONS]
    lines += [f"{name} = {values[name]!r}" for name in declared]
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
    cell.id = "injected-parameters"
    nb.cells.insert(parameters_index(nb) + 1, cell)
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, name: str) -> None:
    """Runs every cell in a fresh kernel; a cell error fails the test with the cell's source and traceback."""
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except CellExecutionError as error:
        failure = ANSI.sub("", str(error))
    else:
        return
    pytest.fail(f"{name}: a cell failed.\n{failure}", pytrace=False)  # outside `except`: no chained traceback


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_a_tiny_configuration(path, tiny_inputs, tmp_path, monkeypatch):
    # The kernel imports tfkit (installed editable) and, should a notebook need it, tests.* from the repo root.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    nb = with_parameters(read(path), tiny_parameters(path.stem, tiny_inputs, tmp_path / "output"))
    start = time.perf_counter()
    execute(nb, cwd, path.name)
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    written = sorted(p.name for p in cwd.iterdir())
    assert (tmp_path / "output").is_dir() and not written, \
        f"{path.name}: expected every file under OUTPUT. Received: {written} in the working directory."
