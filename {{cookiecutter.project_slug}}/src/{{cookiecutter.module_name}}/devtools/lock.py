"""Pin every job's exact versions in requirements/lock/, compiled with uv.

``requirements/*.txt`` say what each job needs; ``requirements/lock/*.txt``
pin the exact versions of everything they install, for Python 3.11 and later
on every platform (``uv pip compile --universal``). CI, the conda files and
the Azure ML environments install from the locks, so a laptop, CI and Azure
ML run the same versions. ``dev.txt`` (everything) is compiled first and
constrains the others, so that every lock agrees with it on every version.

    python -m {{ cookiecutter.module_name }}.devtools.lock             # follow requirements/ changes, keep other pins
    python -m {{ cookiecutter.module_name }}.devtools.lock --upgrade   # the newest versions requirements/ allow
    python -m {{ cookiecutter.module_name }}.devtools.lock --check     # exit 1 when a lock is out of date

Writing needs uv (``pip install -e ".[devtools]"``) and PyPI; ``--check``
needs neither. Both end by regenerating (or checking) the conda files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from . import environment_files

LOCK_DIR = "requirements/lock"
# The oldest Python the package supports; --universal covers the later ones.
LOWEST_PYTHON = "3.11"
FULL_LOCK = "dev"
# Each lock and the requirement files of its job, in order. dev comes first:
# it constrains the others.
LOCKS: dict[str, tuple[str, ...]] = {
    # The full developer setup (README): every job.
    FULL_LOCK: (
        "requirements/base.txt",
        "requirements/serving.txt",
        "requirements/tracking.txt",
        "requirements/test.txt",
        "requirements/notebooks.txt",
        "requirements/azureml.txt",
        "requirements/devtools.txt",
    ),
    # The CI pipeline (and the model-build pipeline): tests, lint, the SDK.
    "ci": (
        "requirements/base.txt",
        "requirements/serving.txt",
        "requirements/tracking.txt",
        "requirements/test.txt",
        "requirements/azureml.txt",
    ),
    # The release pipeline's deploy steps: the package and the SDK.
    "deploy": ("requirements/base.txt", "requirements/azureml.txt"),
    # Azure ML environments (.azureml/conda_training.yml, conda_dependencies.yml).
    "training": ("requirements/base.txt", "requirements/tracking.txt"),
    "scoring": ("requirements/base.txt", "requirements/serving.txt"),
}
COMMAND = "python -m {{ cookiecutter.module_name }}.devtools.lock"
DIGEST_PREFIX = "# requirements sha256: "


class LockError(Exception):
    """A lock is missing, stale or cannot be compiled; the message says what to do."""


def lock_path(root: Path, lock: str) -> Path:
    """Where ``lock`` (a key of ``LOCKS``) lives in the project at ``root``."""
    return root / LOCK_DIR / f"{lock}.txt"


def requirements_digest(root: Path, lock: str) -> str:
    """The sha256 of the requirement lines behind ``lock`` (comments ignored)."""
    lines = [
        line
        for relative in LOCKS[lock]
        for line in environment_files.read_requirements(root / relative)
    ]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def read_pins(path: Path) -> dict[str, set[str]]:
    """The exact versions in a lock file: package name -> versions (one per marker)."""
    pins: dict[str, set[str]] = {}
    for line in environment_files.read_requirements(path):
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        pins.setdefault(canonicalize_name(requirement.name), set()).add(spec.version)
    return pins


def problems(root: Path) -> list[str]:
    """Why the locks do not match requirements/; empty when they do."""
    found = []
    full = None
    for lock in LOCKS:
        path = lock_path(root, lock)
        relative = path.relative_to(root)
        if not path.is_file():
            found.append(f"{relative} is missing")
            continue
        text = path.read_text(encoding="utf-8")
        if f"{DIGEST_PREFIX}{requirements_digest(root, lock)}" not in text:
            found.append(f"{relative} was compiled from other requirements")
            continue
        pins = read_pins(path)
        for job_file in LOCKS[lock]:
            for line in environment_files.read_requirements(root / job_file):
                requirement = Requirement(line)
                versions = pins.get(canonicalize_name(requirement.name), set())
                if not versions or not all(
                    requirement.specifier.contains(version, prereleases=True)
                    for version in versions
                ):
                    found.append(
                        f"{relative} pins {requirement.name} at "
                        f"{sorted(versions) or 'no version'}, outside {line!r}"
                    )
        if lock == FULL_LOCK:
            full = pins
        elif full is not None:
            found += [
                f"{relative} pins {name} {sorted(versions)}, "
                f"{LOCK_DIR}/{FULL_LOCK}.txt {sorted(full.get(name, set()))}"
                for name, versions in sorted(pins.items())
                if not versions <= full.get(name, set())
            ]
    return found


def find_uv() -> str:
    """The uv executable: the one pip installed beside this Python, else on PATH."""
    try:
        from uv import find_uv_bin
    except ImportError:
        found = shutil.which("uv")
    else:
        found = find_uv_bin()
    if not found:
        raise LockError(
            'uv compiles the locks and is not installed: pip install -e ".[devtools]" '
            "(or pipx install uv), then run this again."
        )
    return found


def compile_lock(root: Path, lock: str, uv: str, upgrade: bool) -> None:
    """Compile ``lock`` with uv; the other locks are constrained by the full one."""
    path = lock_path(root, lock)
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        uv, "pip", "compile", "--quiet", "--universal",
        "--python-version", LOWEST_PYTHON,
        "--custom-compile-command", COMMAND + (" --upgrade" if upgrade else ""),
        "--output-file", str(path.relative_to(root)),
        *LOCKS[lock],
    ]  # fmt: skip
    if upgrade:
        command.append("--upgrade")
    if lock != FULL_LOCK:
        command += ["--constraint", f"{LOCK_DIR}/{FULL_LOCK}.txt"]
    # uv reads no pip configuration; a project index goes in UV_INDEX_URL.
    environment: Mapping[str, str] = {**os.environ, "UV_NO_CONFIG": "1"}
    result = subprocess.run(
        command, cwd=root, env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise LockError(
            f"uv could not compile {path.relative_to(root)} from "
            f"{', '.join(LOCKS[lock])}:\n{result.stderr.strip()}"
        )
    # After uv's two header lines (the command that wrote it): what it was
    # compiled from, for --check.
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    digest = f"{DIGEST_PREFIX}{requirements_digest(root, lock)}\n"
    path.write_text("".join([*lines[:2], digest, *lines[2:]]), encoding="utf-8")


def write_locks(root: Path, upgrade: bool = False) -> None:
    """Compile every lock (the full one first), then regenerate the conda files."""
    uv = find_uv()
    for lock in LOCKS:
        compile_lock(root, lock, uv, upgrade)
        print(f"wrote {lock_path(root, lock).relative_to(root)}")
    for path, content in environment_files.generated_files(root).items():
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path.relative_to(root)}")


def main(argv: list[str] | None = None) -> int:
    """Command line: compile the locks, or ``--check`` them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--upgrade", action="store_true", help="newest versions")
    action.add_argument("--check", action="store_true", help="exit 1 if one is stale")
    args = parser.parse_args(argv)
    root = environment_files.find_project_root()
    if args.check:
        found = problems(root)
        for problem in found:
            print(f"{problem}; run: {COMMAND}", file=sys.stderr)
        return 1 if found else 0
    try:
        write_locks(root, upgrade=args.upgrade)
    except LockError as error:
        parser.exit(1, f"error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
