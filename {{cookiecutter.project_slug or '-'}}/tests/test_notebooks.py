"""The notebooks in experiment_nbs/ run from top to bottom on settings.TRAINING_DATA,
and are saved as Jupyter saves them."""

from __future__ import annotations

import io
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "experiment_nbs").glob("*.ipynb"))

pytestmark = pytest.mark.notebook


def test_there_is_a_notebook() -> None:
    assert NOTEBOOKS


@pytest.fixture(scope="module")
def run_notebook() -> Callable[[Path], nbformat.NotebookNode]:
    """Runs a notebook from experiment_nbs/ (as JupyterLab does) once per module."""
    done: dict[Path, nbformat.NotebookNode] = {}

    def run(path: Path) -> nbformat.NotebookNode:
        if path not in done:
            notebook = nbformat.read(path, as_version=4)
            NotebookClient(notebook, timeout=300, kernel_name="python3").execute(
                cwd=str(path.parent)
            )
            done[path] = notebook
        return done[path]

    return run


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs(
    path: Path, run_notebook: Callable[[Path], nbformat.NotebookNode]
) -> None:
    """Every cell runs, in experiment_nbs/, on settings.TRAINING_DATA."""
    run_notebook(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_a_run_notebook_stripped_by_the_hook_is_the_committed_file(
    path: Path,
    run_notebook: Callable[[Path], nbformat.NotebookNode],
    tmp_path: Path,
) -> None:
    """Run, saved, then stripped by the pre-commit hook: nothing changes in git."""
    saved = tmp_path / path.name
    nbformat.write(run_notebook(path), saved)
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (entry,) = [
        hook["entry"]
        for repo in hooks["repos"]
        for hook in repo["hooks"]
        if hook["id"] == "nbstripout"
    ]
    command = shlex.split(entry)
    # The nbstripout installed beside this interpreter (not activated in CI).
    command[0] = str(Path(sys.executable).with_name(command[0]))
    subprocess.run([*command, str(saved)], check=True, cwd=ROOT)
    assert saved.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


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
