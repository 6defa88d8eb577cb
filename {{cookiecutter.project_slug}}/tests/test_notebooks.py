"""The notebooks in experiment_nbs/ run from top to bottom on settings.TRAINING_DATA,
and are saved as Jupyter saves them.

The notebooks run in this test process, cell after cell in one namespace, as
a kernel runs them, but without starting one: CI installs no Jupyter kernel
(requirements/test.txt), and the package, pandas and MLflow are imported once
for every test. Cells are plain Python: IPython's magics (``%``) and shell
escapes (``!``) need a kernel, and the test names the cell that uses one.
"""

from __future__ import annotations

import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import matplotlib
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "experiment_nbs").glob("*.ipynb"))
# A line IPython would transform: a magic or a shell escape.
IPYTHON_SYNTAX = re.compile(r"^\s*[%!]", re.MULTILINE)

pytestmark = pytest.mark.notebook


def test_there_is_a_notebook() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt

    notebook = nbformat.read(path, as_version=4)
    monkeypatch.chdir(path.parent)
    matplotlib.use("Agg")  # plots are drawn, not shown
    namespace: dict[str, object] = {"__name__": "__main__"}
    try:
        for number, cell in enumerate(notebook.cells, 1):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            assert not IPYTHON_SYNTAX.search(cell.source), (
                f"{path.name}, cell {number}: IPython syntax (% or !) needs a "
                "Jupyter kernel; write it as Python (see tests/test_notebooks.py)"
            )
            code = compile(cell.source, f"{path.name}, cell {number}", "exec")
            exec(code, namespace)
    finally:
        plt.close("all")


def saved_by_jupyter(path: Path) -> nbformat.NotebookNode:
    """The notebook as JupyterLab saves it after a run: execution counts,
    outputs, and the kernel's language_info with its versions."""
    notebook = nbformat.read(path, as_version=4)
    count = 0
    for cell in notebook.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text=f"out {count}\n")
            ]
    notebook.metadata["language_info"] = {
        "name": "python",
        "version": "3.11.7",
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
    }
    return notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_a_run_notebook_stripped_by_the_hook_is_the_committed_file(
    path: Path, tmp_path: Path
) -> None:
    """Run and saved by JupyterLab, then stripped by the pre-commit hook: nothing
    changes in git (outputs, counts and the kernel's versions all go)."""
    saved = tmp_path / path.name
    nbformat.write(saved_by_jupyter(path), saved)
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
