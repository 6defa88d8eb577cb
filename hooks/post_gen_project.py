"""Finish the generated project: lay out the SDK variant, first commit, hand over to the tool.

Cookiecutter deletes the project when this hook exits non-zero, so nothing
here may fail the bake: a step that cannot run says why and how to do it by
hand, and the hook still exits 0.

This file is plain Python: the only template expression sits inside a string
in ``main()``, so tests import it as it is and call its functions.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Files that belong to one Azure ML SDK variant live under _variants/<sdk>/,
# laid out as in the project; the chosen one is laid over the project.
VARIANTS_DIR = "_variants"

FIRST_COMMIT_MESSAGE = "Initial commit from mlops-template"

# Where cruft keeps a project's template source, commit and answers.
CRUFT_FILE = ".cruft.json"


def is_update_bake(answers: dict[str, str], project_dir: Path) -> bool:
    """Whether this bake is cruft's throw-away one (``cruft update``, ``cruft diff``).

    cruft bakes the template twice into a fresh ``tempfile.TemporaryDirectory``
    and diffs the two; a repository, a commit or provisioning there would only
    break the diff. Two signs together mark that bake, each from cruft's own
    code (cruft/_commands/utils/generate.py, utils/cookiecutter.py):

    - the context comes from cruft, not from cookiecutter's ``main``: cruft
      adds ``_commit``; ``cookiecutter`` (2.2 and later) always adds
      ``_output_dir``, cruft never does;
    - the project is written straight into a new ``tmp*`` directory of the
      system's temporary folder, where ``cruft create`` writes to the folder
      the user chose.

    ``cruft create`` therefore still gets its repository and provisioning, and
    a plain ``cookiecutter`` bake is never taken for an update, even under /tmp.
    """
    made_by_cruft = "_commit" in answers and "_output_dir" not in answers
    parent = project_dir.resolve().parent
    temporary = Path(tempfile.gettempdir()).resolve()
    in_fresh_temporary_dir = parent.parent == temporary and parent.name.startswith("tmp")
    return made_by_cruft and in_fresh_temporary_dir


def record_template_source(
    answers: dict[str, str], project_dir: Path, checkout: str = "", home: str = ""
) -> bool:
    """Write ``.cruft.json`` for a plain cookiecutter bake from a git checkout.

    It holds what ``cruft update`` needs to adopt the project, as ``cruft
    create`` writes it: the template (``home``: where the template lives for
    the team, as the template's extension names it for the README,
    ``template_home``: ``origin``'s URL, its path only when it has no
    ``origin``), the commit baked and the answers. ``checkout`` is the
    template's folder as the extension names it (absolute; cookiecutter's
    ``_repo_dir`` is relative for ``cookiecutter .``). Without ``home`` the
    folder is recorded. Returns
    False, writing nothing, when cruft made the bake (cruft writes the file
    itself) or the template is not a git checkout (``cruft link <template>``
    then links the project).
    """
    folder = checkout or answers.get("_repo_dir")
    if "_commit" in answers or not folder or shutil.which("git") is None:
        return False
    repo_dir = Path(folder).resolve()
    try:
        top = _run_git(["rev-parse", "--show-toplevel"], repo_dir).decode().strip()
        commit = _run_git(["rev-parse", "HEAD"], repo_dir).decode().strip()
        if Path(top).resolve() != repo_dir:  # a folder inside some other repository
            return False
    except GitError:
        return False
    source = home or str(repo_dir)
    context = {key: value for key, value in answers.items() if not key.startswith("_")}
    context.update({"_template": source, "_commit": commit})
    state = {
        "template": source,
        "commit": commit,
        "checkout": answers.get("_checkout"),  # cookiecutter --checkout, if given
        "context": {"cookiecutter": context},
        "directory": None,
    }
    (project_dir / CRUFT_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return True


def apply_variant(project_dir: Path, azureml_sdk: str) -> list[Path]:
    """Move the files of the chosen SDK variant into place; drop the others.

    Returns the files moved, as paths in the project.
    """
    variants = project_dir / VARIANTS_DIR
    chosen = variants / azureml_sdk
    moved = []
    if chosen.is_dir():
        for source in sorted(path for path in chosen.rglob("*") if path.is_file()):
            target = project_dir / source.relative_to(chosen)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
            moved.append(target)
    shutil.rmtree(variants, ignore_errors=True)
    return moved


def _run_git(args: list[str], project_dir: Path, stdin: bytes | None = None) -> bytes:
    """Run ``git args`` in the project; raise ``GitError`` naming it on failure."""
    result = subprocess.run(
        ["git", *args],
        cwd=project_dir,
        input=stdin,
        capture_output=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        check=False,
    )
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).decode(errors="replace").strip()
        raise GitError(f"'git {' '.join(args)}' failed: {reason}")
    return result.stdout


class GitError(RuntimeError):
    """A git command of the first commit failed."""


def _first_commit_stream(
    project_dir: Path, files: list[bytes], author: bytes, message: str
) -> bytes:
    """A ``git fast-import`` stream: one commit on main holding ``files``."""
    offset = time.localtime().tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    zone = f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
    ident = author + f" {int(time.time())} {zone}\n".encode()
    text = message.encode()
    parts = [
        b"commit refs/heads/main\n",
        b"author " + ident,
        b"committer " + ident,
        b"data %d\n%s\n" % (len(text), text),
    ]
    for name in files:
        path = project_dir / os.fsdecode(name)
        data = path.read_bytes()
        mode = b"100755" if path.stat().st_mode & 0o111 else b"100644"
        parts += [b"M %s inline %s\ndata %d\n" % (mode, name, len(data)), data, b"\n"]
    return b"".join(parts)


def init_git(project_dir: Path, author_name: str, author_email: str) -> str | None:
    """Create the repository on ``main`` with one commit of every file.

    Returns None on success, else a message saying what failed and how to
    finish by hand. The author answers sign this commit only; the user's git
    configuration is neither read for it nor changed.

    The commit is written with ``git fast-import`` into one pack, instead of
    ``git add`` and ``git commit`` writing a loose object per file: a third
    of the bake's time on slow file systems. It runs no hooks and signs
    nothing, so a user's commit hooks or signing setup cannot break the bake.
    """
    by_hand = (
        f"cd {project_dir} && git init -b main && git add -A && "
        f'git commit -m "{FIRST_COMMIT_MESSAGE}"'
    )
    if shutil.which("git") is None:
        return f"git was not found on PATH. Install git, then run: {by_hand}"
    author = f"{author_name} <{author_email}>".encode()
    try:
        _run_git(["init", "--quiet", "-b", "main"], project_dir)
        listing = _run_git(["ls-files", "-z", "--others", "--exclude-standard"], project_dir)
        files = sorted(name for name in listing.split(b"\0") if name)
        stream = _first_commit_stream(project_dir, files, author, FIRST_COMMIT_MESSAGE)
        # unpackLimit=1: always one pack, never a loose object per file.
        _run_git(["-c", "fastimport.unpackLimit=1", "fast-import", "--quiet"], project_dir, stream)
        _run_git(["reset", "--quiet"], project_dir)  # the index, from the commit
    except GitError as error:
        return f"{error}. To finish: {by_hand}"
    return None


def template_checkout() -> Path | None:
    """The template checkout this bake comes from, which holds the ``mlops_template`` tool.

    The template's own Jinja extension, which cookiecutter.json requires, names it
    (``template_checkout``, mlops_template_answers.py) for cookiecutter and cruft alike,
    as for the pre-generation hook. Imported as is (tests), this file's own checkout.
    """
    rendered = r"""{{ template_checkout | default("") }}"""
    if rendered.startswith("{"):
        return Path(__file__).resolve().parents[1]
    return Path(rendered) if rendered else None


def next_steps(project_dir: Path) -> str:
    """The next step after the bake: cd into the project, run the README's setup."""
    readme = project_dir / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    setup = re.search(r"^## Set up\n.*?```bash\n(.+?)\n```", text, re.M | re.S)
    command = setup.group(1) if setup else 'pip install -e ".[dev]"'
    return (
        f"Next: cd {shlex.quote(str(project_dir))} && {command}\n"
        "Then README.md shows how to test, train on your own data, serve and open "
        "the notebooks."
    )


def readme_provision_command(project_dir: Path) -> str | None:
    """The README's provisioning command, run in the project: ``cd <project> && ...``.

    The same command the README gives teammates (the template's home, not this
    machine's checkout); None when the README has no such line.
    """
    readme = project_dir / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    found = re.search(r"^(pipx run --spec \S+ mlops-template provision)\s", text, re.M)
    if not found:
        return None
    return f"cd {shlex.quote(str(project_dir))} && {found.group(1)}"


def hand_over_to_provisioning(
    answers: dict[str, str],
    project_dir: Path,
    interactive: bool | None = None,
    checkout: Path | None = None,
) -> str | None:
    """Set up Azure DevOps with the template's own tool (``mlops_template``).

    Runs only when an organization URL was given and a sign-in is at hand
    (``AZURE_DEVOPS_EXT_PAT``, the Azure CLI's sign-in, or a hidden prompt on a terminal). Returns a
    line to show when provisioning did not run; the tool prints its own
    plan, progress and summary. Never raises: the project is kept whatever
    happens, and every failure names the command that resumes. ``checkout`` is the
    template checkout that holds the tool (``template_checkout()`` when not given).
    """
    no_url = (
        "Azure DevOps setup skipped: no organization URL was given. The project is ready "
        "in {project_dir}. To set it up later: {later} "
        "--organization https://dev.azure.com/<organization>"
    )
    later = readme_provision_command(project_dir)
    if later and not answers.get("azure_devops_org_url", ""):  # the tool is not needed
        return no_url.format(project_dir=project_dir, later=later)
    source = (checkout or template_checkout() or Path("<template checkout>")) / "src"
    sys.path.insert(0, str(source))
    try:
        from mlops_template import cli, settings
    except ImportError as error:
        return (
            f"Azure DevOps setup skipped: {error}. Install requests and rich, then run in "
            f"{project_dir}: PYTHONPATH={source} python -m mlops_template provision"
        )
    later = later or cli.resume_command(project_dir)
    if not answers.get("azure_devops_org_url", ""):
        return no_url.format(project_dir=project_dir, later=later)
    why = ""
    try:
        pat, why = cli.sign_in(interactive)
    except (KeyboardInterrupt, EOFError):  # the prompt was cancelled: keep the project
        pat = None
    except ValueError as error:  # a token that cannot be sent (e.g. a line break in it)
        pat, why = None, str(error)
    if not pat:
        return (
            f"Azure DevOps setup skipped: {cli.NO_SIGN_IN}"
            + (f" ({why})" if why else "")
            + f". The project is ready in {project_dir}; "
            f"to set up Azure DevOps: {later}"
        )
    # Resuming runs the tool that did the work so far (this checkout's); the README's
    # command, which teammates use, resumes it too.
    resume = cli.resume_command(project_dir)
    resume += f"\nThe README's command resumes it too: {later}" if later != resume else ""
    try:
        from rich.console import Console

        cli.run(settings.load(project_dir), pat, Console())
    # The hook boundary: cookiecutter deletes the project if the hook fails, so
    # any error (even a bug in provisioning) is reported and the project kept.
    except Exception as error:
        return (
            f"Azure DevOps setup failed ({error.__class__.__name__}: {error}). The project "
            f"is kept in {project_dir}. To resume: {resume}"
        )
    except KeyboardInterrupt:
        return (
            f"Azure DevOps setup interrupted. The project is kept in {project_dir}; what was "
            f"created is kept too. To resume: {resume}"
        )
    return None


def main() -> int:
    """Run the post-generation steps; never fail the bake."""
    answers = json.loads(r"""{{ cookiecutter | tojson }}""")
    # The template's folder, absolute, and its home for the team, from its Jinja
    # extension (see record_template_source).
    checkout = r"""{{ template_checkout | default("") }}"""
    home = r"""{{ template_home | default("") }}"""
    project_dir = Path.cwd()
    apply_variant(project_dir, answers["azureml_sdk"])
    if is_update_bake(answers, project_dir):
        return 0  # cruft diffs this bake and deletes it: no repository, no provisioning
    rendered = ("" if "{" in value else value for value in (checkout, home))
    record_template_source(answers, project_dir, *rendered)
    if (project_dir / ".git").exists():  # `cookiecutter -f` over an existing project
        print(
            f"The git repository in {project_dir} is kept as it was: the regenerated files "
            "are working-tree changes. Review them with `git status` and `git diff`."
        )
    else:
        problem = init_git(project_dir, answers["author_name"], answers["author_email"])
        if problem:
            print(f"WARNING: the git repository was not created. {problem}")
    message = hand_over_to_provisioning(answers, project_dir)
    if message:
        print(message)
    print(next_steps(project_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
