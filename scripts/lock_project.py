"""Compile the generated project's locks and conda files, for each Azure ML SDK.

The generated project pins its versions in ``requirements/lock/`` and its
conda files (see its ``devtools/lock.py``). They depend on the SDK variant,
so they live under ``_variants/<sdk>/`` in the template. This bakes each
variant, runs the project's own lock command there, and copies the locks and
conda files back (the conda files with the answers put back as Jinja):

    .venv/bin/python scripts/lock_project.py            # follow requirements changes
    .venv/bin/python scripts/lock_project.py --upgrade  # newest allowed versions

Needs uv (requirements-dev.txt) and PyPI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = REPO_ROOT / "{{cookiecutter.project_slug}}"
VARIANTS = ("v1", "v2")
# Answers that appear in the conda files, baked as these values and put back
# as the Jinja that renders them.
SLUG = "lockproj"
PYTHON = "3.11"
CONDA_FILES = ("environment.yml", ".azureml/conda_dependencies.yml", ".azureml/conda_training.yml")


def as_template(text: str) -> str:
    """A baked conda file with its answers turned back into Jinja."""
    replacements = {
        f"name: {SLUG}": "name: {{ cookiecutter.project_slug }}",
        f"python={PYTHON}\n": "python={{ cookiecutter.python_version }}\n",
        f"-m {SLUG}.devtools.": "-m {{ cookiecutter.module_name }}.devtools.",
    }
    for baked, jinja in replacements.items():
        assert baked in text, f"{baked!r} not found in a baked conda file"
        text = text.replace(baked, jinja)
    assert SLUG not in text, f"{SLUG!r} left in a conda file"
    return text


def lock_variant(sdk: str, upgrade: bool, workdir: Path) -> None:
    """Bake ``sdk``, compile its locks there, copy locks and conda files back."""
    project = Path(
        cookiecutter(
            str(REPO_ROOT),
            no_input=True,
            output_dir=str(workdir / sdk),
            extra_context={"project_name": SLUG, "azureml_sdk": sdk, "python_version": PYTHON},
        )
    )
    environment = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    command = [sys.executable, "-m", f"{SLUG}.devtools.lock", *(["--upgrade"] if upgrade else [])]
    subprocess.run(command, cwd=project, env=environment, check=True)
    variant = TEMPLATE / "_variants" / sdk
    shutil.rmtree(variant / "requirements" / "lock", ignore_errors=True)
    shutil.copytree(project / "requirements" / "lock", variant / "requirements" / "lock")
    for relative in CONDA_FILES:
        target = variant / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = (project / relative).read_text(encoding="utf-8")
        target.write_text(as_template(text), encoding="utf-8")
    print(f"{sdk}: wrote {variant.relative_to(REPO_ROOT)}/requirements/lock/ and its conda files")


def main() -> int:
    """Command line: lock both variants."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="newest allowed versions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        for sdk in VARIANTS:
            lock_variant(sdk, args.upgrade, Path(workdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
