"""Generate the conda files from the locks in requirements/lock/.

``requirements/*.txt`` say what each job needs and ``requirements/lock/*.txt``
pin the exact versions (``python -m {{ cookiecutter.module_name }}.devtools.lock``).
Generated from the locks, never edited by hand: ``environment.yml`` (the conda
development environment: everything, ``dev.txt``),
``.azureml/conda_dependencies.yml`` (the Azure ML environment that serves the
model: runtime and inference server, ``scoring.txt``) and
``.azureml/conda_training.yml`` (the Azure ML environment of training jobs:
runtime and MLflow, ``training.txt``).

    python -m {{ cookiecutter.module_name }}.devtools.environment_files --write
    python -m {{ cookiecutter.module_name }}.devtools.environment_files --check

``--check`` exits 1 when a generated file is out of date (the tests and the
pre-commit hook run it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from .. import settings
from ..command_line import add_debug_option

# The lock behind each generated conda file, and the conda environment's name.
CONDA_FILES = {
    "environment.yml": (settings.PROJECT_SLUG, "requirements/lock/dev.txt"),
    ".azureml/conda_dependencies.yml": (
        settings.ENVIRONMENT_NAME,
        "requirements/lock/scoring.txt",
    ),
    # Azure ML training jobs: the runtime and MLflow, without the inference server.
    ".azureml/conda_training.yml": (
        settings.TRAINING_ENVIRONMENT_NAME,
        "requirements/lock/training.txt",
    ),
}
# Spelled from the package (not the module name), so that their lines' formatting
# does not depend on the name's length.
COMMAND = f"python -m {__package__}.environment_files"
LOCK_COMMAND = f"python -m {__package__}.lock"


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) with a pyproject.toml."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "requirements").is_dir():
            return folder
    raise FileNotFoundError(
        f"no project root (a folder with pyproject.toml and requirements/) "
        f"at or above {start}; run this from inside the project."
    )


def read_requirements(path: Path) -> list[str]:
    """The requirement lines of ``path``, without comments and blank lines.

    Raises:
        ValueError: A line is not a valid requirement (the message names it).
    """
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            Requirement(line)
        except InvalidRequirement as error:
            raise ValueError(
                f"{path}:{number}: {line!r} is not valid: {error}"
            ) from None
        lines.append(line)
    return lines


def yaml_item(line: str) -> str:
    """``line`` as a YAML scalar: an environment marker's quotes in a JSON string."""
    return json.dumps(line) if ";" in line else line


def render_conda_file(root: Path, name: str, lock: str) -> str:
    """The text of a conda file for the project at ``root``, pinned by ``lock``."""
    requirements = read_requirements(root / lock)
    pip_lines = "".join(f"      - {yaml_item(line)}\n" for line in requirements)
    return (
        f"# Generated from {lock} by\n"
        f"#   {COMMAND} --write\n"
        "# Do not edit: change requirements/*.txt and run\n"
        f"#   {LOCK_COMMAND}\n"
        f"name: {name}\n"
        "channels:\n"
        "  - conda-forge\n"
        "dependencies:\n"
        f"  - python={settings.PYTHON_VERSION}\n"
        "  - pip\n"
        "  - pip:\n"
        f"{pip_lines}"
    )


def generated_files(root: Path) -> dict[Path, str]:
    """Every generated file of the project, with the content it should have."""
    return {
        root / relative: render_conda_file(root, name, lock)
        for relative, (name, lock) in CONDA_FILES.items()
    }


def stale_files(root: Path) -> list[Path]:
    """Generated files whose content differs from what the locks give."""
    return [
        path
        for path, content in generated_files(root).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != content
    ]


def parse_write_or_check(
    argv: list[str] | None, description: str, *, debug: bool = False
) -> argparse.Namespace:
    """The ``--write`` / ``--check`` command line of a generated-file tool.

    With ``debug``, also ``--debug``: the tool shows an error's traceback
    instead of its one-line message.
    """
    parser = argparse.ArgumentParser(description=description)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate the file(s)")
    action.add_argument("--check", action="store_true", help="exit 1 if one is stale")
    if debug:
        add_debug_option(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--write`` regenerates the files, ``--check`` reports drift."""
    args = parse_write_or_check(argv, __doc__.splitlines()[0])
    root = find_project_root()
    if args.write:
        for path, content in generated_files(root).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            print(f"wrote {path.relative_to(root)}")
        return 0
    stale = stale_files(root)
    for path in stale:
        print(
            f"{path.relative_to(root)} is out of date with requirements/lock/; run: "
            f"{COMMAND} --write",
            file=sys.stderr,
        )
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
