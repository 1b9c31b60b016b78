"""What the notebook tests share: the committed notebooks and their ``parameters`` cell."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PARAMETERS_TAG = "parameters"  # papermill's tag


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def parameters_index(nb: nbformat.NotebookNode) -> int:
    """The index of the one cell tagged ``parameters``; AssertionError when there is none or several."""
    tagged = [i for i, cell in enumerate(nb.cells) if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"Expected one cell tagged {PARAMETERS_TAG!r}. Received: {len(tagged)} at {tagged}."
    return tagged[0]


def declared_parameters(nb: nbformat.NotebookNode) -> list[str]:
    """The names the ``parameters`` cell assigns, in order (``A, B = ...`` gives both)."""
    names = []
    for node in ast.parse(nb.cells[parameters_index(nb)].source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            elements = target.elts if isinstance(target, ast.Tuple) else [target]
            names += [e.id for e in elements if isinstance(e, ast.Name)]
    return names
