"""Run a baked project the way its users do: its own environment, its own tools.

Environments are installed from the baked project's own lock files, exactly
as its pipelines install them, so a missing or wrong pin fails the project's
tests; ``uv`` builds each one from its cache in seconds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import warnings
from pathlib import Path

# Variables of the template's own environment that must not leak into a
# baked project's commands. PYTHONDONTWRITEBYTECODE (set on this machine and CI's)
# would have every process of a project compile pandas and scikit-learn from source
# again: uv installs no bytecode, where pip, as the project's users install, compiles
# it (the project's suite took 88.6 s instead of 63.7 s). Without it, the first
# process to import a module writes its bytecode for the others.
_LEAKY_VARIABLES = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "PIP_REQUIRE_VIRTUALENV",
    "PYTHONDONTWRITEBYTECODE",
)


class CommandFailed(AssertionError):
    """A command inside a baked project exited non-zero; the message holds its output."""


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 1800
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd``; raise ``CommandFailed`` with its output on failure."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise CommandFailed(
            f"{' '.join(command)} (in {cwd}) exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-20000:]}\n--- stderr ---\n{result.stderr[-20000:]}"
        )
    return result


class InterpreterMissing(AssertionError):
    """No interpreter of an offered ``python_version`` on this machine (fails under CI)."""


def _pyenv(*args: str) -> Path | None:
    """The path ``pyenv args`` prints, or None without pyenv or on failure."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    result = subprocess.run([pyenv, *args], capture_output=True, text=True, check=False)
    return Path(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None


def _candidates(python_version: str) -> list[str]:
    """Where ``pythonX.Y`` may be, without assuming a path: PATH, then pyenv."""
    name = f"python{python_version}"
    found = [shutil.which(name)]
    # `pyenv prefix 3.12` names the newest installed 3.12.x, selected or not.
    prefix = _pyenv("prefix", python_version)
    found.append(str(prefix / "bin" / name) if prefix else None)
    root = _pyenv("root")
    if root:
        versions = sorted((root / "versions").glob(f"{python_version}.*"), reverse=True)
        found += [str(version / "bin" / name) for version in versions]
    return [candidate for candidate in found if candidate]


def interpreter_for(python_version: str) -> str:
    """The interpreter for a project's ``python_version`` answer.

    Looked up on PATH, then through pyenv (``pyenv prefix X.Y``, then the
    versions under ``pyenv root``); each candidate must really run and report
    that version (a pyenv shim for a version that is not selected does not).
    Under ``CI`` a missing interpreter raises ``InterpreterMissing``; elsewhere
    the running interpreter stands in, with a warning.
    """
    for candidate in _candidates(python_version):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == python_version:
            return candidate
    message = (
        f"python{python_version} was found neither on PATH nor through pyenv: install it "
        f"(e.g. `pyenv install {python_version}`) to test the python_version={python_version} bake"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise InterpreterMissing(message)
    warnings.warn(
        f"{message}; it is tested with Python {sys.version.split()[0]} instead", stacklevel=2
    )
    return sys.executable


def clean_environment(env_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """os.environ without the template's own virtual environment, CI set.

    With ``env_dir``, that environment's ``bin`` comes first on PATH, as if
    it were activated.
    """
    env = {key: value for key, value in os.environ.items() if key not in _LEAKY_VARIABLES}
    env["CI"] = "true"
    if env_dir is not None:
        env["VIRTUAL_ENV"] = str(env_dir)
        env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    env.update(extra)
    return env


def _uv() -> str:
    """The ``uv`` installer of the template's own environment (requirements-dev.txt)."""
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        raise CommandFailed(f"uv is missing from {uv.parent}: run ./scripts/bootstrap.")
    return str(uv)


def project_environment(project: Path, python_version: str, lock: str = "ci") -> Path:
    """A virtual environment for ``project``, as its pipelines install it.

    The project's ``requirements/lock/<lock>.txt`` (``ci``: what its CI
    pipeline installs; ``dev``: the README's full developer setup) is synced
    exactly, then the project itself is installed without dependencies. The
    environment sits beside the project, one per project and lock, and is
    built by ``uv`` from its cache: distributions are downloaded once per run
    (and kept in uv's cache), then linked into each environment in seconds,
    so tests never share an environment they could disturb.
    """
    interpreter = interpreter_for(python_version)
    env_dir = project.with_name(f"{project.name}.venv-{lock}")
    python = env_dir / "bin" / "python"
    if (env_dir / "complete").exists():
        return env_dir
    environment = clean_environment()
    uv = _uv()
    shutil.rmtree(env_dir, ignore_errors=True)
    # --seed: pip in the environment, as `python -m venv` gives users (MLflow asks pip
    # for its version when it logs a model, and warns without it).
    run(
        [uv, "venv", "--quiet", "--seed", "--python", interpreter, str(env_dir)],
        project,
        environment,
    )
    install = [uv, "pip", "install", "--quiet", "--python", str(python)]
    locked = project / "requirements" / "lock" / f"{lock}.txt"
    run(
        [uv, "pip", "sync", "--quiet", "--python", str(python), str(locked)],
        project,
        environment,
    )
    run([*install, "--no-deps", "--editable", "."], project, environment)
    (env_dir / "complete").write_text("")
    return env_dir


def npm_ci(project: Path) -> None:
    """Install the project's Node tools (Azurite) from its lock file."""
    npm = shutil.which("npm")
    if npm is None:
        raise CommandFailed("npm was not found on PATH: install Node 20 or later (a prerequisite).")
    run([npm, "ci", "--no-audit", "--no-fund"], project, clean_environment())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
