"""A baked default project with its own environment and Azurite, for benchmarks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from cookiecutter.main import cookiecutter  # noqa: E402
from project_env import npm_ci, project_environment  # noqa: E402

BENCH_DIR = REPO_ROOT / ".cache" / "benchmarks"


def baked_project() -> tuple[Path, Path]:
    """Bake the default configuration afresh; return (project, its environment)."""
    output = BENCH_DIR / "baked"
    shutil.rmtree(output, ignore_errors=True)
    project = Path(cookiecutter(str(REPO_ROOT), no_input=True, output_dir=str(output)))
    env_dir = project_environment(project, "3.11")
    npm_ci(project)
    return project, env_dir


def run_worker(worker: str) -> None:
    """Bake the default project, then run ``worker run --project <project>`` in its environment.

    ``worker`` is a script beside this file (``ingest_worker.py``, ...).
    """
    project, env_dir = baked_project()
    script = Path(__file__).resolve().with_name(worker)
    subprocess.run(
        [str(env_dir / "bin" / "python"), str(script), "run", "--project", str(project)],
        check=True,
    )
