"""Git smart HTTP for the Azure DevOps double: ``git http-backend`` as a CGI, plus pkt-lines.

The request is piped to ``git http-backend`` (https://git-scm.com/docs/git-http-backend) with
the CGI environment
(GIT_PROJECT_ROOT, GIT_HTTP_EXPORT_ALL, PATH_INFO, …); chunked request bodies are de-chunked
by the caller; the CGI headers (``Status:`` optional) are split from the payload and re-emitted.
"""

from __future__ import annotations

import gzip
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

# The services a git client asks for under .../_git/{repo}/
SERVICES = ("info/refs", "git-upload-pack", "git-receive-pack")
ZERO_OID = "0" * 40


def git_env() -> dict[str, str]:
    """The environment for every git the double runs: no user/system config, never a prompt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0")
    return env


def git(args: list[str], cwd: Path | None = None, check: bool = True) -> str:
    """Run git (outside the client's config) and return its stdout as text."""
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, env=git_env(), check=False, text=True
    )
    if check and proc.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def git_bytes(
    args: list[str], cwd: Path, *, stdin: bytes | None = None, env: Mapping[str, str] | None = None
) -> bytes:
    """Run git with extra environment (and stdin); return stdout (stripped) or raise."""
    proc = subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, env={**git_env(), **(env or {})}
    )
    if proc.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.decode().strip()}")
    return proc.stdout.strip()


def init_bare(path: Path) -> None:
    """An empty bare repository that accepts pushes over HTTP (http.receivepack=true).

    Written by hand (what ``git init --bare`` writes, minus hooks/samples): no subprocess.
    """
    for sub in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "info"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    (path / "HEAD").write_text("ref: refs/heads/master\n", encoding="utf-8")
    (path / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
        "[http]\n\treceivepack = true\n[gc]\n\tauto = 0\n",
        encoding="utf-8",
    )


def http_backend(
    project_root: Path,
    path_info: str,
    method: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    remote_user: str,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run one request through ``git http-backend``; return (status, headers, payload)."""
    env = git_env()
    env.update(
        GIT_PROJECT_ROOT=str(project_root),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=path_info,
        REQUEST_METHOD=method,
        QUERY_STRING=query_string,
        CONTENT_TYPE=headers.get("Content-Type") or "",
        CONTENT_LENGTH=str(len(body)),
        REMOTE_USER=remote_user or "anonymous",
        REMOTE_ADDR="127.0.0.1",
        SERVER_PROTOCOL="HTTP/1.1",
    )
    if headers.get("Content-Encoding"):
        env["HTTP_CONTENT_ENCODING"] = headers["Content-Encoding"]
    if headers.get("Git-Protocol"):
        env["HTTP_GIT_PROTOCOL"] = headers["Git-Protocol"]
    proc = subprocess.run(
        ["git", "http-backend"], input=body, capture_output=True, env=env, check=False
    )
    return parse_cgi(proc.stdout, proc.stderr)


def parse_cgi(out: bytes, err: bytes = b"") -> tuple[int, list[tuple[str, str]], bytes]:
    """Split CGI output into (status, headers, payload)."""
    crlf, lf = out.find(b"\r\n\r\n"), out.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf <= lf):
        head, payload = out[:crlf], out[crlf + 4 :]
    elif lf >= 0:
        head, payload = out[:lf], out[lf + 2 :]
    else:
        return 500, [("Content-Type", "text/plain")], b"git http-backend failed: " + err
    status, headers = 200, []
    for line in head.decode("latin-1").splitlines():
        if ":" not in line:
            continue
        name, value = (s.strip() for s in line.split(":", 1))
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers.append((name, value))
    return status, headers, payload


def pkt(data: bytes) -> bytes:
    """One pkt-line."""
    return b"%04x" % (len(data) + 4) + data


def receive_pack_commands(
    body: bytes, content_encoding: str | None = None
) -> tuple[list[tuple[str, str, str]], set[str]]:
    """The (old, new, ref) commands and the capabilities of a git-receive-pack request."""
    if (content_encoding or "").lower() in ("gzip", "x-gzip"):
        body = gzip.decompress(body)
    commands: list[tuple[str, str, str]] = []
    caps: set[str] = set()
    pos = 0
    while pos + 4 <= len(body):
        try:
            size = int(body[pos : pos + 4], 16)
        except ValueError:
            break
        if size < 4:  # flush: the pack (or push options) follows
            break
        line = body[pos + 4 : pos + size]
        pos += size
        if b"\0" in line:
            line, cap_bytes = line.split(b"\0", 1)
            caps = set(cap_bytes.decode("utf-8", "replace").split())
        text = line.decode("utf-8", "replace").rstrip("\n")
        parts = text.split(" ", 2)
        if len(parts) == 3 and not text.startswith("shallow "):
            commands.append((parts[0], parts[1], parts[2]))
    return commands, caps


def receive_pack_rejection(
    commands: list[tuple[str, str, str]], caps: set[str], reasons: Mapping[str, str]
) -> bytes:
    """A git-receive-pack result rejecting every command (``ng <ref> <reason>``).

    Git prints ``! [remote rejected] main -> main (<reason>)`` for each.
    """
    default = "push rejected because another ref update in the push was rejected"
    report = pkt(b"unpack ok\n")
    for _, _, ref in commands:
        report += pkt(f"ng {ref} {reasons.get(ref, default)}\n".encode())
    report += b"0000"
    if "side-band-64k" in caps or "side-band" in caps:
        limit = (65520 if "side-band-64k" in caps else 1000) - 5
        framed = b""
        for message in reasons.values():
            framed += pkt(b"\x02" + f"{message}\n".encode())  # progress channel: "remote: …"
            break
        for i in range(0, len(report), limit):
            framed += pkt(b"\x01" + report[i : i + limit])
        return framed + b"0000"
    return report
