"""The Azure DevOps double's git repositories, their refs, and git smart HTTP.

Git smart HTTP goes through ``git http-backend`` (see ``git_http``).

As Microsoft documents them:
- https://learn.microsoft.com/rest/api/azure/devops/git/repositories/create
- https://learn.microsoft.com/rest/api/azure/devops/git/repositories/get-repository
- https://learn.microsoft.com/rest/api/azure/devops/git/repositories/update
- https://learn.microsoft.com/rest/api/azure/devops/git/refs/list
- https://learn.microsoft.com/rest/api/azure/devops/git/refs/update-refs
- https://learn.microsoft.com/rest/api/azure/devops/git/pushes/create
- https://learn.microsoft.com/rest/api/azure/devops/git/commits/get
- https://git-scm.com/docs/http-protocol

Refs change atomically (every handler runs under the double's lock), as a ref update does on
the service: an ``oldObjectId`` that is not the ref's value refuses the change (Update Refs:
``success: false``, ``updateStatus: staleOldObjectId``, per GitRefUpdateStatus,
https://learn.microsoft.com/javascript/api/azure-devops-extension-api/gitrefupdatestatus).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import git_http
from .policies import PUSH_BLOCKING_POLICY_TYPES, TF402455
from .records import (
    _ApiError,
    _bad_null,
    _Req,
    _Resp,
)


class RepositoriesMixin:
    """Routes and state helpers, mixed into ``FakeAzureDevOps``."""

    # (scope, method, path pattern, handler, preview only) the tool calls.
    ROUTES = (
        ("project", "POST", "git/repositories", "_repo_create", False),
        ("project", "GET", "git/repositories/{r}", "_repo_get", False),
        ("project", "PATCH", "git/repositories/{r}", "_repo_update", False),
        ("project", "GET", "git/repositories/{r}/refs", "_refs", False),
        ("project", "POST", "git/repositories/{r}/refs", "_refs_update", False),
        ("project", "POST", "git/repositories/{r}/pushes", "_push_create", False),
        ("project", "GET", "git/repositories/{r}/commits/{c}", "_commit_get", False),
    )

    def add_repository(self, project_name: str, name: str) -> dict[str, Any]:
        """An empty repository in the project; returns GitRepository."""
        with self._lock:
            project = self._need_project(project_name)
            if self._find_repo(project, name):
                raise ValueError(f"repository {name!r} exists")
            return self._repo_json(self._create_repo(project, name), full=True)

    def repositories(self, project: str) -> dict[str, dict[str, Any]]:
        """Repository name -> GitRepository."""
        return self._in_project(
            project, self._repos, lambda r: self._repo_json(r, full=True), by_name=True
        )

    def bare_repo(self, project: str, repo: str) -> Path:
        """The bare repository on disk."""
        with self._lock:
            r = self._find_repo(self._need_project(project), repo)
            if r is None:
                raise KeyError(repo)
            return r["dir"]

    def _find_repo(self, project: dict[str, Any], key: str) -> dict[str, Any] | None:
        low = key.lower()
        for r in self._repos.values():
            if r["project_id"] == project["id"] and (r["id"] == low or r["name"].lower() == low):
                return r
        return None

    def _need_repo(self, project: dict[str, Any], key: str) -> dict[str, Any]:
        repo = self._find_repo(project, key)
        if repo is None:
            raise _ApiError(
                404,
                "GitRepositoryNotFoundException",
                f"TF401019: The Git repository with name or identifier {key} does not exist or you "
                "do not have permissions for the operation you are attempting.",
            )
        return repo

    def _create_repo(self, project: dict[str, Any], name: str) -> dict[str, Any]:
        repo_id = str(uuid.uuid4())
        repo_dir = self.repos_root / project["id"] / "_git" / repo_id
        git_http.init_bare(repo_dir)
        repo = {
            "id": repo_id,
            "name": name,
            "project_id": project["id"],
            "defaultBranch": None,
            "dir": repo_dir,
        }
        self._repos[repo_id] = repo
        return repo

    def _repo_json(self, r: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
        p = self._projects[r["project_id"]]
        host = f"127.0.0.1:{self.port}"
        path = f"{quote(self.organization)}/{quote(p['name'])}/_git/{quote(r['name'])}"
        url = f"{self.url}/{p['id']}/_apis/git/repositories/{r['id']}"
        out: dict[str, Any] = {
            "id": r["id"],
            "name": r["name"],
            "url": url,
            "project": {
                "id": p["id"],
                "name": p["name"],
                "url": f"{self.url}/_apis/projects/{p['id']}",
                "state": "wellFormed",
                "revision": p["revision"],
                "visibility": p["visibility"],
                "lastUpdateTime": p["lastUpdateTime"],
            },
        }
        if r["defaultBranch"]:  # absent on an empty repo
            out["defaultBranch"] = r["defaultBranch"]
        out.update(
            size=0,
            remoteUrl=f"http://{quote(self.organization)}@{host}/{path}",
            sshUrl=f"git@ssh.127.0.0.1:v3/{self.organization}/{quote(p['name'])}/{quote(r['name'])}",
            webUrl=f"http://{host}/{path}",
            isDisabled=False,
            isInMaintenance=False,
        )
        if full:
            out["_links"] = {
                "self": {"href": url},
                "project": {"href": out["project"]["url"]},
                "web": {"href": out["webUrl"]},
                "refs": {"href": f"{url}/refs"},
            }
        return out

    def _repo_get(self, req: _Req) -> _Resp:
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        return self._json(200, self._repo_json(repo, full=True), req.api_version)

    def _repo_create(self, req: _Req) -> _Resp:
        assert req.project is not None
        body = req.json() or {}
        name = (body.get("name") or "").strip()
        if not name:
            raise _bad_null("name")
        project_ref = (body.get("project") or {}).get("id")
        project = self._need_project(project_ref) if project_ref else req.project
        if self._find_repo(project, name):
            raise _ApiError(
                409,
                "GitRepositoryNameAlreadyExistsException",
                f"TF400948: A Git repository with the name {name} already exists.",
            )
        return self._json(201, self._repo_json(self._create_repo(project, name)), req.api_version)

    def _repo_update(self, req: _Req) -> _Resp:
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        body = req.json() or {}
        new_name = (body.get("name") or "").strip()
        if new_name.lower() not in ("", repo["name"].lower()) and self._find_repo(
            req.project, new_name
        ):
            raise _ApiError(
                409,
                "GitRepositoryNameAlreadyExistsException",
                f"TF400948: A Git repository with the name {new_name} already exists.",
            )
        if new_name:
            repo["name"] = new_name
        branch = body.get("defaultBranch")
        if branch:
            # unconfirmed: Azure may refuse a branch that does not exist; the double accepts it
            branch = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
            repo["defaultBranch"] = branch
            git_http.git(["symbolic-ref", "HEAD", branch], cwd=repo["dir"])
        return self._json(200, self._repo_json(repo, full=True), req.api_version)

    def _read_refs(self, repo: dict[str, Any]) -> list[tuple[str, str]]:
        out = git_http.git(["for-each-ref", "--format=%(refname) %(objectname)"], cwd=repo["dir"])
        return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]  # type: ignore[misc]

    def _refs(self, req: _Req) -> _Resp:
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        prefix = "refs/" + (req.query.get("filter") or "").removeprefix("refs/")
        url = f"{self.url}/{req.project['id']}/_apis/git/repositories/{repo['id']}/refs"
        items = [
            {
                "name": name,
                "objectId": oid,
                "creator": self._identity_ref(),
                "url": f"{url}?filter={quote(name.removeprefix('refs/'))}",
            }
            for name, oid in self._read_refs(repo)
            if name.startswith(prefix)
        ]
        return self._paged(req, items)

    def add_commit(self, project: str, repo: str, ref: str, comment: str, path: str) -> str:
        """A root commit holding ``path`` (its content: ``comment``) at ``ref``; its id."""
        with self._lock:
            r = self._need_repo(self._need_project(project), repo)
            return self._commit_onto(r, ref, git_http.ZERO_OID, comment, {path: comment})

    def ref_value(self, project: str, repo: str, ref: str) -> str | None:
        """The commit ``ref`` points at, or None."""
        with self._lock:
            r = self._need_repo(self._need_project(project), repo)
            return dict(self._read_refs(r)).get(ref)

    def _commit_onto(
        self, repo: dict[str, Any], ref: str, old: str, comment: str, files: dict[str, str]
    ) -> str:
        """A commit of ``files`` on ``old`` (a root commit when zeros), then ``ref`` moved to it
        only if it still is ``old``; raises the stale-push error otherwise."""
        current = dict(self._read_refs(repo)).get(ref, git_http.ZERO_OID)
        if current != old:
            # unconfirmed: status and typeKey of a push whose oldObjectId is stale; the
            # message is the service's TF401028.
            raise _ApiError(
                409,
                "GitReferenceStaleException",
                f"TF401028: The reference '{ref}' has already been updated by another client, "
                "so you cannot update it. Please try again.",
            )
        cwd = repo["dir"]
        index = cwd / f"index-{uuid.uuid4().hex}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if old != git_http.ZERO_OID:
                git_http.git_bytes(["read-tree", old], cwd, env=env)
            for path, content in files.items():
                blob = git_http.git_bytes(
                    ["hash-object", "-w", "--stdin"], cwd, stdin=content.encode()
                ).decode()
                git_http.git_bytes(
                    ["update-index", "--add", "--cacheinfo", f"100644,{blob},{path.lstrip('/')}"],
                    cwd,
                    env=env,
                )
            tree = git_http.git_bytes(["write-tree"], cwd, env=env).decode()
        finally:
            index.unlink(missing_ok=True)
        parents = [] if old == git_http.ZERO_OID else ["-p", old]
        who = {
            "GIT_AUTHOR_NAME": "Project Owner", "GIT_AUTHOR_EMAIL": "owner@contoso.com",
            "GIT_COMMITTER_NAME": "Project Owner", "GIT_COMMITTER_EMAIL": "owner@contoso.com",
        }  # fmt: skip
        commit = git_http.git_bytes(
            ["commit-tree", tree, *parents], cwd, stdin=comment.encode(), env=who
        ).decode()
        git_http.git(["update-ref", ref, commit, old], cwd=cwd)
        return commit

    def _push_create(self, req: _Req) -> _Resp:
        """Pushes - Create: one commit of added or edited files onto one ref."""
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        body = req.json() or {}
        ((update,), (commit,)) = body.get("refUpdates") or [{}], body.get("commits") or [{}]
        name, old = update.get("name") or "", update.get("oldObjectId") or ""
        if not name.startswith("refs/") or len(old) != 40:
            raise _bad_null("refUpdates")
        files = {}
        for change in commit.get("changes") or []:
            if change.get("changeType") not in ("add", "edit"):
                raise _ApiError(400, "ArgumentException", "only add and edit are modelled")
            files[change["item"]["path"]] = change["newContent"]["content"]
        if not files:
            raise _bad_null("changes")
        new = self._commit_onto(repo, name, old, commit.get("comment") or "", files)
        push = {
            "commits": [{"commitId": new, "comment": commit.get("comment") or ""}],
            "refUpdates": [{"name": name, "oldObjectId": old, "newObjectId": new}],
            "repository": self._repo_json(repo),
            "pushedBy": self._identity_ref(),
            "pushId": len(self._read_refs(repo)),
            "date": datetime.now(UTC).isoformat(),
        }
        return self._json(201, push, req.api_version)

    def _refs_update(self, req: _Req) -> _Resp:
        """Refs - Update Refs: each ref changes only if it still is ``oldObjectId``."""
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        results = []
        for update in req.json() or []:
            name, old, new = update["name"], update["oldObjectId"], update["newObjectId"]
            current = dict(self._read_refs(repo)).get(name, git_http.ZERO_OID)
            ok = current == old
            if ok and new == git_http.ZERO_OID:
                git_http.git(["update-ref", "-d", name, old], cwd=repo["dir"])
            elif ok:
                git_http.git(["update-ref", name, new, old], cwd=repo["dir"])
            results.append({
                "name": name, "oldObjectId": old, "newObjectId": new, "repositoryId": repo["id"],
                "success": ok, "updateStatus": "succeeded" if ok else "staleOldObjectId",
                "isLocked": False, "rejectedBy": None, "customMessage": None,
            })  # fmt: skip
        return self._json(200, {"count": len(results), "value": results}, req.api_version)

    def _commit_get(self, req: _Req) -> _Resp:
        """Commits - Get: the commit's comment, author and committer."""
        assert req.project is not None
        repo = self._need_repo(req.project, req.params["r"])
        sha = req.params["c"]
        fields = git_http.git(
            ["log", "-1", "--format=%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha],
            cwd=repo["dir"], check=False,
        )  # fmt: skip
        if not fields:
            raise _ApiError(404, "GitObjectDoesNotExistException",
                            f"TF401035: The object '{sha}' does not exist.")  # fmt: skip
        an, ae, ad, cn, ce, cd, comment = fields.split("\x00", 6)
        url = f"{self.url}/{req.project['id']}/_apis/git/repositories/{repo['id']}/commits/{sha}"
        commit = {
            "commitId": sha,
            "author": {"name": an, "email": ae, "date": ad},
            "committer": {"name": cn, "email": ce, "date": cd},
            "comment": comment.rstrip("\n"),
            "url": url,
        }
        return self._json(200, commit, req.api_version)

    def _git_target(self, segs: list[str]) -> tuple[str, str, str] | None:
        """(project, repo, service) for ``/{org}/{project}/_git/{repo}/{service}``."""
        if len(segs) < 5 or segs[0].lower() != self.organization.lower():
            return None
        if segs[2].lower() != "_git":
            return None
        service = "/".join(segs[4:]).lower()
        if service not in git_http.SERVICES:
            return None
        return segs[1], segs[3], service

    def _git(
        self, method: str, target: tuple[str, str, str], raw_query: str, headers: Any,
        body: bytes, user: str,
    ) -> _Resp:  # fmt: skip
        project_key, repo_key, service = target
        with self._lock:
            project = self._find_project(project_key)
            repo = self._find_repo(project, repo_key) if project else None
            if repo is None:
                text = (
                    f"TF401019: The Git repository with name or identifier {repo_key} does not "
                    "exist or you do not have permissions for the operation you are attempting."
                )
                return _Resp(404, text.encode(), "text/plain; charset=utf-8")
            assert project is not None
            commands: list[tuple[str, str, str]] = []
            if service == "git-receive-pack" and method == "POST":
                commands, caps = git_http.receive_pack_commands(
                    body, headers.get("Content-Encoding")
                )
                blocked = {ref: TF402455 for _, _, ref in commands if self._push_blocked(repo, ref)}
                if blocked:
                    payload = git_http.receive_pack_rejection(commands, caps, blocked)
                    return _Resp(
                        200,
                        payload,
                        "application/x-git-receive-pack-result",
                        [("Cache-Control", "no-cache")],
                    )
        path_info = f"/{project['id']}/_git/{repo['id']}/{service}"
        status, cgi_headers, payload = git_http.http_backend(
            self.repos_root, path_info, method, raw_query, headers, body, user
        )
        content_type = None
        extra = []
        for name, value in cgi_headers:
            if name.lower() == "content-type":
                content_type = value
            elif name.lower() != "content-length":
                extra.append((name, value))
        if commands and status == 200:
            with self._lock:
                self._after_push(repo, commands)
        return _Resp(status, payload, content_type, extra)

    def _after_push(self, repo: dict[str, Any], commands: list[tuple[str, str, str]]) -> None:
        """First push into a repo without a default branch: HEAD and defaultBranch follow it."""
        if repo["defaultBranch"] or repo["id"] not in self._repos:
            return
        existing = {name for name, _ in self._read_refs(repo)}
        pushed = [
            ref
            for old, new, ref in commands
            if ref.startswith("refs/heads/") and new != git_http.ZERO_OID and ref in existing
        ]
        if not pushed:
            return
        branch = "refs/heads/main" if "refs/heads/main" in pushed else pushed[0]
        repo["defaultBranch"] = branch
        git_http.git(["symbolic-ref", "HEAD", branch], cwd=repo["dir"])

    def _push_blocked(self, repo: dict[str, Any], ref: str) -> bool:
        for policy in self._policies.values():
            if (
                policy["project_id"] == repo["project_id"]
                and policy["isEnabled"]
                and policy["isBlocking"]
                and policy["type_id"] in PUSH_BLOCKING_POLICY_TYPES
                and any(
                    self._scope_matches(s, repo, ref)
                    for s in policy["settings"].get("scope") or [{}]
                )
            ):
                return True
        return False
