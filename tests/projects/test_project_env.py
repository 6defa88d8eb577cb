"""Finding the interpreter of each offered python_version (tests/project_env.py)."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import project_env
import pytest

VERSION = "{}.{}".format(*sys.version_info[:2])


def script(path: Path, body: str) -> Path:
    """An executable shell script at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def python_at(path: Path) -> Path:
    """An interpreter of VERSION at ``path``: a script that runs this Python."""
    return script(path, f'exec {sys.executable} "$@"')


@pytest.fixture
def empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A PATH with nothing on it but what a test puts in the returned folder."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def test_interpreter_on_path_is_used(empty_path: Path) -> None:
    python = python_at(empty_path / f"python{VERSION}")
    assert project_env.interpreter_for(VERSION) == str(python)


def test_interpreter_is_found_through_pyenv_prefix(empty_path: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "pyenv" / "versions" / f"{VERSION}.9"
    python = python_at(prefix / "bin" / f"python{VERSION}")
    script(empty_path / "pyenv", f'[ "$1" = prefix ] && echo {prefix} || exit 1')
    assert project_env.interpreter_for(VERSION) == str(python)


def test_interpreter_is_found_under_pyenv_root(empty_path: Path, tmp_path: Path) -> None:
    root = tmp_path / "pyenv"
    python = python_at(root / "versions" / f"{VERSION}.9" / "bin" / f"python{VERSION}")
    script(empty_path / "pyenv", f'[ "$1" = root ] && echo {root} || exit 1')
    assert project_env.interpreter_for(VERSION) == str(python)


def test_shim_that_does_not_run_that_version_is_skipped(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(empty_path / f"python{VERSION}", "echo 'pyenv: not selected' >&2; exit 127")
    monkeypatch.delenv("CI", raising=False)
    with pytest.warns(UserWarning, match=f"python{VERSION} was found neither"):
        assert project_env.interpreter_for(VERSION) == sys.executable


def test_missing_interpreter_fails_under_ci(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(project_env.InterpreterMissing, match=r"pyenv install 3\.99"):
        project_env.interpreter_for("3.99")
