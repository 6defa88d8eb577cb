"""The notebooks in experiment_nbs/ run from top to bottom on settings.TRAINING_DATA,
and are saved as Jupyter saves them."""

from __future__ import annotations

import io
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(
    (Path(__file__).resolve().parents[1] / "experiment_nbs").glob("*.ipynb")
)

pytestmark = pytest.mark.notebook


def test_there_is_a_notebook() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute(
        cwd=str(path.parent)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name} has outputs; run: nbstripout {path}"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_is_saved_in_jupyters_layout(path: Path) -> None:
    # Jupyter saves with nbformat's writer: opening and saving changes nothing.
    text = path.read_text(encoding="utf-8")
    saved = io.StringIO()
    nbformat.write(nbformat.reads(text, as_version=4), saved)
    assert saved.getvalue() == text, (
        f"{path.name} is not in Jupyter's layout; open and save it in JupyterLab"
    )
