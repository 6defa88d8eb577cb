"""How cookiecutter takes this template's answers: as typed, and only those that matter.

A local Jinja extension (cookiecutter's ``_extensions``, "Local Extensions" in its
documentation), loaded when cookiecutter prepares its prompts. Cookiecutter has no
setting for either rule below, so the extension wraps three functions of
``cookiecutter.prompt`` for the run:

- **Answers are never evaluated.** Cookiecutter renders every value as a Jinja
  template before it asks, so an answer given on its command line or in its config
  (``description='{{ 7*7 }}'``) would arrive as ``49``, and could run any expression.
  A value that holds Jinja markup and is not one of ``cookiecutter.json``'s own
  strings is kept as typed; the pre-generation hook then refuses it with one line.
- **Azure DevOps questions only when it is set up.** At the prompt, an empty
  organization URL skips the questions after it (``SETUP_ONLY``): they keep their
  defaults, and ``mlops-template provision`` takes them later. ``--no-input`` runs and
  ``key=value`` answers are unchanged.

- **Nothing is written for a refused answer, and one line says why.** Before
  cookiecutter creates the project's folder (``cookiecutter.generate.render_and_create_dir``,
  after the prompts and cookiecutter's replay file), the answers are checked with the
  pre-generation hook's rules (hooks/pre_gen_project.py); the first refused one is named
  in one ``ERROR:`` line with how to bake again, and the run ends with exit status 1
  (``AnswersRefused``, a ``SystemExit``: cookiecutter's and cruft's command lines print
  nothing more; the Python API raises it). The hook itself would be too late for a name
  too long for a folder, or an empty ``project_slug`` (the template folder,
  ``{{cookiecutter.project_slug}}``, would render to no name), and cookiecutter prints
  a traceback after a failed hook.
- **Derived names follow the answers.** cookiecutter.json's private variables (the
  endpoint names, derived from ``project_slug``) are derived again from the answers at
  that same point (``AnswersAsTyped.derive``): a replay file, ``--extra-context`` or
  ``.cruft.json`` brings them as recorded, stale once ``project_slug`` is corrected there.
- **The extension is required.** A context can drop it (``_extensions`` set to ``[]``
  through ``--extra-context``, ``default_context`` in the cookiecutter config, the Python
  API); cookiecutter would then evaluate answers as code before any hook runs. The first
  variable of cookiecutter.json (``__extension_required``) is rendered before any answer:
  without this extension it calls ``refuse_without_extension`` (through Jinja's own
  ``import_string``), which stops the bake with one line. A context that also replaces
  that variable is written to evaluate answers, and cookiecutter gives no template a
  way to refuse it earlier (docs/generating.md).

It also names the template's checkout to the hooks (``template_checkout``), which
cruft does not pass as cookiecutter does (``_repo_dir``), and the template's home
to the README (``template_home``): the checkout's ``origin`` URL, the shared
template teammates can reach, or its folder when it has no ``origin``.

Why it wraps functions rather than use a cookiecutter setting: cookiecutter 2.7 offers
templates private variables, hooks (``pre_prompt``, ``pre_gen_project``,
``post_gen_project``) and local extensions, and none of them can keep an answer from
being rendered, skip a question, or run between the replay file and the project's folder.
Each bake creates its own Jinja environments, and with them new instances of this
extension: the wrappers installed by the latest instance hold that run's state (the
template's strings, the answers so far); nothing is kept in this module across bakes.
Where cookiecutter lacks one of the wrapped functions, that rule is left out and
cookiecutter works as it does without this file (tests/test_answers_extension.py
fails on such a cookiecutter).

The facts it shares with the pre-generation hook (Jinja markup, the questions asked
after the organization URL) come from the tool's ``mlops_template.hook_utils``, loaded
from this checkout: it reads them from ``cookiecutter.json``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from jinja2.ext import Extension


def _load(path: Path, name: str) -> ModuleType:
    """A module loaded from its file, once per path (not Python's import: checkouts differ)."""
    module = sys.modules.get(name)
    if module is None or getattr(module, "__file__", None) != str(path):
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module


def _hook_utils(folder: Path) -> ModuleType:
    """The tool's ``mlops_template.hook_utils`` in the checkout ``folder``."""
    return _load(folder / "src" / "mlops_template" / "hook_utils.py", "_mlops_template_hook_utils")


_HOOK_UTILS = _hook_utils(Path(__file__).resolve().parent)
JINJA_MARKUP = _HOOK_UTILS.JINJA_MARKUP
ORGANIZATION_URL = _HOOK_UTILS.ORGANIZATION_URL
# Asked after the organization URL, only when it is given (cookiecutter.json's order).
SETUP_ONLY = _HOOK_UTILS.template_facts(Path(__file__).resolve().parent).setup_only
SKIPPED_NOTE = (
    "  Azure DevOps is not set up now, so its other questions are skipped: they keep "
    "their defaults, and the provisioning tool takes them later (--project, "
    "--create-project, --approver, --tenant-id, --client-id)."
)
_MARK = "_mlops_template_wraps"
EXTENSION_REQUIRED = (
    "ERROR: this template needs its own Jinja extension (mlops_template_answers.AnswersAsTyped "
    "in cookiecutter.json's _extensions), and the context drops it (_extensions given in "
    "--extra-context, --extra-context-file, default_context of the cookiecutter config or "
    "the Python API's extra_context): without it, answers would run as code. Nothing was "
    "written. Leave _extensions out of that context and run again."
)


class AnswersRefused(SystemExit):
    """The bake stops before anything is written; ``code`` is the one line saying why.

    Neither cookiecutter's command line nor cruft's (typer) catches ``SystemExit``, so
    Python prints the line to stderr and exits with status 1, with no traceback; a
    caller of the Python API may catch it and read ``code``.
    """

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


def _refuse(line: str) -> None:
    raise AnswersRefused(line)


def refuse_without_extension() -> None:
    """Stop the bake: cookiecutter renders without this extension (``__extension_required``)."""
    _refuse(EXTENSION_REQUIRED)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _template_dir() -> Path:
    """The template being baked: the last folder on ``sys.path`` holding this module.

    Cookiecutter (``main.cookiecutter``) and cruft append the template's folder to
    ``sys.path`` for local extensions; this module's own file may be another checkout's
    when Python imported it earlier in the same process.
    """
    for entry in reversed(sys.path):
        folder = Path(entry or ".").resolve()  # cookiecutter generates from elsewhere
        if (folder / "cookiecutter.json").is_file() and (folder / Path(__file__).name).is_file():
            return folder
    return Path(__file__).resolve().parent


def template_home(checkout: Path) -> str:
    """Where the template lives for the team: ``origin``'s URL, else the folder.

    Credentials in the URL (``https://user:token@host/...``) are left out. An
    ``origin`` that is a path (a bare repository, a network share) becomes a
    ``file://`` URL, which pip installs from with git.
    """
    try:
        result = subprocess.run(
            ["git", "remote", "get-url", "origin"],
            cwd=checkout,
            capture_output=True,
            text=True,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            check=False,
        )
    except OSError:  # no git
        result = None
    url = result.stdout.strip() if result and result.returncode == 0 else ""
    if not url:
        return str(checkout)
    if _is_local_path(url):  # a bare repository has no files pipx could install
        return (checkout / url).resolve().as_uri()
    return re.sub(r"^([a-z+]+://)[^/@]*@", r"\1", url)


def _is_local_path(url: str) -> bool:
    """Whether git reads ``url`` as a path on this machine, not a URL.

    Git's rule (https://git-scm.com/docs/git-clone#_git_urls): scp-like
    ``host:path`` only when no slash comes before the first colon; a drive
    letter (``C:\\``) is a path.
    """
    if "://" in url:
        return False
    head, colon, _ = url.partition(":")
    return not colon or "/" in head or len(head) == 1


def _has_markup(value: Any) -> bool:
    return isinstance(value, str) and any(markup in value for markup in JINJA_MARKUP)


def _own(environment: Any) -> AnswersAsTyped | None:
    """This extension's instance in a Jinja environment, None when it was left out."""
    found = (e for e in environment.extensions.values() if isinstance(e, AnswersAsTyped))
    return next(found, None)


def _pre_gen_hook(folder: Path) -> ModuleType:
    """The template's pre-generation hook as a module: its rules (imported as it is)."""
    return _load(folder / "hooks" / "pre_gen_project.py", "_mlops_template_pre_gen_project")


def _checked_first(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def render_and_create_dir(
        dirname: Any, context: dict[str, Any], output_dir: Any, environment: Any, *args: Any
    ) -> Any:
        own = _own(environment)
        if own is not None:
            context["cookiecutter"].update(own.derive(environment, context["cookiecutter"]))
            answers = dict(context.get("cookiecutter", {}))
            if answers != own.checked:  # once per bake: every folder has the same answers
                line = _pre_gen_hook(own.folder).refusal(answers)
                if line:
                    _refuse(line)
                own.checked = answers
        return original(dirname, context, output_dir, environment, *args)

    return render_and_create_dir


def _wrap(module: Any, name: str, wrapper: Callable[..., Any]) -> None:
    current = getattr(module, name, None)
    if current is None:
        return
    original = getattr(current, _MARK, current)
    wrapped = wrapper(original)
    setattr(wrapped, _MARK, original)
    setattr(module, name, wrapped)


class AnswersAsTyped(Extension):
    """Loaded by cookiecutter for each Jinja environment; the first is the prompts'.

    An instance holds its run's state: the template's own strings, the answers given so
    far, whether the skipped questions were announced.
    """

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.folder = _template_dir().resolve()
        # The checkout, for the hooks: cruft bakes without cookiecutter's ``_repo_dir``.
        environment.globals["template_checkout"] = str(self.folder)
        environment.globals["template_home"] = template_home(self.folder)
        self.answers: dict[str, Any] = {}
        self.checked: dict[str, Any] | None = None  # the answers the hook's rules accepted
        self._derivations: dict[str, Any] = {}  # compiled once: a bake derives per folder
        self.active = False
        self.noted = False
        try:
            from cookiecutter import generate, prompt
        except ImportError:  # Jinja without cookiecutter (a docs build, say)
            return
        try:
            text = (self.folder / "cookiecutter.json").read_text(encoding="utf-8")
            self.defaults = json.loads(text)
        except (OSError, ValueError):
            self.defaults = {}
        self.template_strings = frozenset(_strings(self.defaults))
        self.setup_only = _hook_utils(self.folder).template_facts(self.folder).setup_only
        # A new run of cookiecutter's prompts: the wrappers now hold this instance.
        _wrap(prompt, "render_variable", self._render_as_typed)
        _wrap(prompt, "read_user_variable", self._ask_when_needed)
        _wrap(prompt, "read_user_choice", self._ask_when_needed)
        _wrap(generate, "render_and_create_dir", _checked_first)

    def derive(self, environment: Any, answers: dict[str, Any]) -> dict[str, Any]:
        """cookiecutter.json's private variables, derived again from ``answers``.

        A replay file, ``--extra-context`` or cruft's ``.cruft.json`` brings derived values
        as they were recorded: after ``project_slug`` is corrected in a replay file, its
        recorded endpoint names would name the old slug. The template's own expressions
        decide them, as when they were written into the files themselves.
        """
        derived: dict[str, Any] = {}
        for name, raw in self.defaults.items():
            if name.startswith("__") and isinstance(raw, str) and name != "__extension_required":
                key = f"{id(environment)}:{name}"
                if key not in self._derivations:
                    self._derivations[key] = environment.from_string(raw)
                derived[name] = self._derivations[key].render(cookiecutter={**answers, **derived})
        return derived

    def _render_as_typed(self, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def render_variable(env: Any, raw: Any, *args: Any, **kwargs: Any) -> Any:
            self.active = _own(env) is self
            if self.active and _has_markup(raw) and raw not in self.template_strings:
                return raw  # an answer: kept as typed, never rendered
            return original(env, raw, *args, **kwargs)

        return render_variable

    def _ask_when_needed(self, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def read(var_name: str, default: Any, *args: Any, **kwargs: Any) -> Any:
            skipped = (
                self.active
                and var_name in self.setup_only
                and self.answers.get(ORGANIZATION_URL) == ""
            )
            if not skipped:
                value = original(var_name, default, *args, **kwargs)
                if self.active:
                    self.answers[var_name] = value
                return value
            if not self.noted:
                self.noted = True
                print(SKIPPED_NOTE, flush=True)
            # A choice's default is its first option (cookiecutter's no-input rule).
            return default[0] if isinstance(default, list) else default

        return read
