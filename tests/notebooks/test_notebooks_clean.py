"""The committed notebooks are clean: no outputs, one ``parameters`` cell near the top, listed in the README."""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.conftest import ROOT
from tests.notebooks.nbtools import NOTEBOOKS, declared_parameters, parameters_index, read

STORIES = ["01_finetune.ipynb", "02_tune.ipynb", "03_prune_quantize.ipynb", "04_export_and_run.ipynb"]


def test_the_four_stories_are_there():
    assert [path.name for path in NOTEBOOKS] == STORIES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_parameterised(path):
    nb = read(path)
    nbformat.validate(nb)
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} hold outputs or an execution count. Strip them, e.g. "
                       f"`jupyter nbconvert --clear-output --inplace {path.relative_to(ROOT)}`.")
    index = parameters_index(nb)
    assert index <= 2 and nb.cells[index].cell_type == "code", f"{path.name}: the parameters cell belongs near the top."
    assert {"OUTPUT", "TENSORBOARD"} <= set(declared_parameters(nb)), path.name


def test_readme_lists_every_notebook():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Notebooks\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "README.md has no '## Notebooks' section."
    missing = [name for name in STORIES if f"notebooks/{name}" not in section.group(1)]
    assert not missing, f"README.md's Notebooks section does not list {missing}."
