"""Git for provisioning: compare the local history with the remote, push ``main``.

The token (PAT or Entra token: the same ``Authorization`` header as REST, see ``auth``)
reaches git only through the environment (``GIT_CONFIG_COUNT`` /
``GIT_CONFIG_KEY_n`` / ``GIT_CONFIG_VALUE_n``, an ``http.extraHeader``): never on a
command line, in ``.git/config``, in a credential store, or as an inherited
``AZURE_DEVOPS_EXT_PAT``; ``GIT_TRACE*`` settings are not passed on. Credential
helpers are reset for these commands so none can save it, and
``GIT_TERMINAL_PROMPT=0`` makes a refused token fail at once instead of prompting.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from .auth import Credential, PersonalAccessToken

BRANCH = "main"
REF = f"refs/heads/{BRANCH}"


# Never passed on to git: the token's own variable (git reaches Azure DevOps with the
# header below only).
DROPPED_VARIABLES = frozenset({"AZURE_DEVOPS_EXT_PAT"})
# How git reports a refused token (HTTP 401) on stderr: with prompts off it cannot ask
# for another, or says the authentication failed.
REFUSED = re.compile(
    r"Authentication failed|returned error: 401|could not read (Username|Password)", re.I
)
# Lines of trace output (GIT_TRACE* / GIT_CURL_VERBOSE from a user's configuration).
TRACE_LINE = re.compile(r"^(\d\d:\d\d:\d\d\.\d+ |[<>=*] |trace: |\s*(Send|Recv) )")
MAX_LINES = 6


def summary(output: str) -> str:
    """Git's own message: its last few lines, without trace output."""
    lines = [line for line in output.strip().splitlines() if not TRACE_LINE.match(line)]
    kept = lines[-MAX_LINES:]
    if len(lines) > MAX_LINES:
        kept.insert(0, f"({len(lines) - MAX_LINES} earlier lines left out)")
    return "\n".join(kept) or "no message"


class GitError(RuntimeError):
    """A git command failed; the message is git's own, without credentials."""


def clean_remote_url(url: str) -> str:
    """A remote URL without user info (Azure's ``remoteUrl`` carries ``org@``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def same_remote(one: str, other: str) -> bool:
    """Whether two remote URLs name one repository (user info, quoting and case aside:
    Azure DevOps compares host, organization, project and repository names so)."""

    def key(url: str) -> str:
        return unquote(clean_remote_url(url)).rstrip("/").lower()

    return key(one) == key(other)


def foreign_origin(origin: str, url: str) -> str:
    """Why ``origin`` is refused: it points elsewhere than ``url`` (shown without password)."""
    return (
        f"the remote 'origin' points at {clean_remote_url(origin)}, not at {url}: "
        f"run 'git remote set-url origin {url}' if the project moved, then run again"
    )


class Repository:
    """The generated project's local repository."""

    def __init__(self, path: Path, pat: str | Credential) -> None:
        self.path = Path(path)
        self.credential: Credential = PersonalAccessToken(pat) if isinstance(pat, str) else pat

    def __repr__(self) -> str:
        """Name the folder, never the token."""
        return f"Repository({str(self.path)!r})"

    def _environment(self, authenticated: bool) -> dict[str, str]:
        # Not the token in its variable (git and its helpers must get it only through the
        # header below), and no GIT_TRACE*: a trace would print the header.
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in DROPPED_VARIABLES and not key.startswith("GIT_TRACE")
        }
        env.update({"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"})
        if authenticated:
            config = {
                "credential.helper": "",  # reset inherited helpers: none may store the token
                "http.extraHeader": f"Authorization: {self.credential.authorization()}",
            }
            # After any environment configuration the user already has.
            first = int(env.get("GIT_CONFIG_COUNT") or 0)
            env["GIT_CONFIG_COUNT"] = str(first + len(config))
            for index, (key, value) in enumerate(config.items(), start=first):
                env[f"GIT_CONFIG_KEY_{index}"] = key
                env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    def _git(self, args: tuple[str, ...], authenticated: bool) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                ["git", *args],
                cwd=self.path,
                capture_output=True,
                text=True,
                env=self._environment(authenticated),
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git was not found on PATH: install git, then run again") from None

    def run(self, *args: str, authenticated: bool = False, check: bool = True) -> str:
        """Run git in the repository; return stdout. Raises GitError on failure."""
        result = self._git(args, authenticated)
        if (
            authenticated
            and result.returncode != 0
            and REFUSED.search(result.stderr or result.stdout)
            and self.credential.refresh()
        ):
            # An Entra token that expired: nothing was pushed (a 401 comes before any
            # change); send it again with the renewed token, as the REST client does.
            result = self._git(args, authenticated)
        if check and result.returncode != 0:
            output = result.stderr or result.stdout
            for secret in self.credential.secrets():
                output = output.replace(secret, "***")
            if authenticated and REFUSED.search(output):
                raise GitError(f"git {args[0]}: {self._refused()}")
            raise GitError(f"git {args[0]} failed: {summary(output)}")
        return result.stdout.strip()

    def _refused(self) -> str:
        if isinstance(self.credential, PersonalAccessToken):
            return (
                "Azure DevOps refused the token (HTTP 401). Check that it has not expired, "
                "belongs to this organization and has the scope Code (read, write and manage)"
            )
        return (
            "Azure DevOps refused the Azure CLI's sign-in token (HTTP 401), also once renewed: "
            "the signed-in user may lack access to the repository, or belong to another "
            "tenant. Run 'az login' as a user with access (Contribute on the repository)"
        )

    def succeeds(self, *args: str) -> bool:
        """Whether a git query answers yes (exit code 0)."""
        return self._git(args, authenticated=False).returncode == 0

    def head(self) -> str | None:
        """The commit ``main`` points at, or None when there is none."""
        out = self.run("rev-parse", "--verify", "--quiet", REF + "^{commit}", check=False)
        return out or None

    def has_commit(self, sha: str) -> bool:
        """Whether the commit ``sha`` is in the local repository."""
        return self.succeeds("cat-file", "-e", sha + "^{commit}")

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``descendant`` contains ``ancestor`` in its history."""
        return self.succeeds("merge-base", "--is-ancestor", ancestor, descendant)

    def merge_base(self, one: str, other: str) -> str | None:
        """The newest common ancestor of two commits, or None when they share no history."""
        return self.run("merge-base", one, other, check=False) or None

    def fetch(self, url: str, ref: str = REF) -> None:
        """Fetch ``ref`` from ``url`` into FETCH_HEAD (a read), to compare histories."""
        self.run("fetch", "--quiet", "--no-tags", url, ref, authenticated=True)

    def push(self) -> None:
        """Push ``main`` to ``origin`` and track it (no force, ever)."""
        self.run(
            "push",
            "--quiet",
            "--set-upstream",
            "origin",
            f"{REF}:{REF}",
            authenticated=True,
        )

    def origin(self) -> str | None:
        """The URL of the remote ``origin``, if there is one."""
        return self.run("remote", "get-url", "origin", check=False) or None

    def set_origin(self, url: str) -> None:
        """Save ``origin`` as ``url`` (which carries no credentials)."""
        current = self.origin()
        if current is None:
            self.run("remote", "add", "origin", url)
        elif not same_remote(current, url):
            raise GitError(foreign_origin(current, url))
