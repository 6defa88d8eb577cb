"""Write the excerpts of Microsoft's Azure DevOps REST specs that the tests vendor.

    python scripts/excerpt_specs.py UPSTREAM [--commit SHA]

``UPSTREAM`` is a checkout of MicrosoftDocs/vsts-rest-api-specs, or its git directory (a bare
clone: the files are read at ``--commit``, default ``HEAD``). For each upstream file named in
``OPERATIONS`` the excerpt keeps, unchanged: the top-level fields (``info``, ``host``,
``securityDefinitions``, ...), the listed operations (method and path template as upstream
spells it; every overload of a template in ``x-ms-paths``) with their path-level parameters,
the tags they carry, and the parameters and definitions they reach through ``$ref``. Left
out: every other operation, definition, parameter and tag, and ``x-ms-examples`` (they point
at example files that are not vendored). The excerpt is written under
``tests/specs/vsts-rest-api-specs/`` at the upstream path as upstream writes JSON (a byte
order mark, two-space indentation, no final newline), and a row of the table in
``tests/specs/README.md`` is printed.

To call a new route: add it here, run this against the same commit as the README names (or
a newer one, and update the README), and commit the excerpt.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "specs" / "vsts-rest-api-specs"
SECTIONS = ("paths", "x-ms-paths")
FILTERED = frozenset({*SECTIONS, "definitions", "parameters", "tags"})
ORG, PRJ = "/{organization}", "/{organization}/{project}"

# The operations the tool calls, per upstream file: every one a test checks a request against.
OPERATIONS: dict[str, list[tuple[str, str]]] = {
    "specification/core/7.1/core.json": [
        ("GET", f"{ORG}/_apis/projects/{{projectId}}"),
        ("POST", f"{ORG}/_apis/projects"),
        ("GET", f"{ORG}/_apis/process/processes"),
    ],
    "specification/operations/7.1/operations.json": [
        ("GET", f"{ORG}/_apis/operations/{{operationId}}"),
    ],
    "specification/git/7.1/git.json": [
        ("GET", f"{PRJ}/_apis/git/repositories/{{repositoryId}}"),
        ("PATCH", f"{PRJ}/_apis/git/repositories/{{repositoryId}}"),
        ("POST", f"{PRJ}/_apis/git/repositories"),
        ("GET", f"{PRJ}/_apis/git/repositories/{{repositoryId}}/refs"),
        ("POST", f"{PRJ}/_apis/git/repositories/{{repositoryId}}/refs"),
        ("GET", f"{PRJ}/_apis/git/repositories/{{repositoryId}}/commits/{{commitId}}"),
        ("POST", f"{PRJ}/_apis/git/repositories/{{repositoryId}}/pushes"),
        ("GET", f"{PRJ}/_apis/git/policy/configurations"),
    ],
    "specification/distributedTask/7.1/taskAgent.json": [
        ("GET", f"{PRJ}/_apis/distributedtask/environments"),
        ("POST", f"{PRJ}/_apis/distributedtask/environments"),
        ("GET", f"{PRJ}/_apis/distributedtask/variablegroups"),
        ("POST", f"{ORG}/_apis/distributedtask/variablegroups"),
        ("PUT", f"{ORG}/_apis/distributedtask/variablegroups/{{groupId}}"),
    ],
    "specification/approvalsAndChecks/7.1/pipelinesChecks.json": [
        ("GET", f"{PRJ}/_apis/pipelines/checks/configurations"),
        ("POST", f"{PRJ}/_apis/pipelines/checks/configurations"),
    ],
    "specification/approvalsAndChecks/7.1/pipelinePermissions.json": [
        ("GET", f"{PRJ}/_apis/pipelines/pipelinepermissions/{{resourceType}}/{{resourceId}}"),
        ("PATCH", f"{PRJ}/_apis/pipelines/pipelinepermissions/{{resourceType}}/{{resourceId}}"),
    ],
    "specification/serviceEndpoint/7.1/serviceEndpoint.json": [
        ("GET", f"{PRJ}/_apis/serviceendpoint/endpoints"),
        ("POST", f"{ORG}/_apis/serviceendpoint/endpoints"),
        # Checked by tests/doubles/test_rest_specs.py (the checker's own tests), not called.
        ("GET", f"{PRJ}/_apis/serviceendpoint/endpoints/{{endpointId}}"),
        ("PUT", f"{ORG}/_apis/serviceendpoint/endpoints/{{endpointId}}"),
        ("DELETE", f"{ORG}/_apis/serviceendpoint/endpoints/{{endpointId}}"),
        ("POST", f"{PRJ}/_apis/serviceendpoint/endpointproxy"),
    ],
    "specification/pipelines/7.1/pipelines.json": [
        ("GET", f"{PRJ}/_apis/pipelines"),
        ("POST", f"{PRJ}/_apis/pipelines"),
        ("GET", f"{PRJ}/_apis/pipelines/{{pipelineId}}/runs"),
        ("POST", f"{PRJ}/_apis/pipelines/{{pipelineId}}/runs"),
    ],
    "specification/policy/7.1/policy.json": [
        ("POST", f"{PRJ}/_apis/policy/configurations"),
    ],
    "specification/ims/7.1/identities.json": [
        ("GET", f"{ORG}/_apis/identities"),
    ],
}


def read_upstream(upstream: Path, commit: str, path: str) -> str:
    """One upstream file's text, from a checkout or (at ``commit``) from a git directory."""
    if (upstream / "specification").is_dir():
        return (upstream / path).read_text(encoding="utf-8-sig")
    shown = subprocess.run(
        ["git", "--git-dir", str(upstream), "show", f"{commit}:{path}"],
        check=True,
        capture_output=True,
    )
    return shown.stdout.decode("utf-8-sig")


def last_change(upstream: Path, commit: str, path: str) -> str:
    """The upstream commit that last changed ``path`` (as of ``commit``), or ``?``."""
    git_dir = upstream / ".git" if (upstream / ".git").exists() else upstream
    found = subprocess.run(
        ["git", "--git-dir", str(git_dir), "log", "-1", "--format=%H", commit, "--", path],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() or "?"


def _refs(node: Any) -> set[str]:
    """Every local ``$ref`` (``#/...``) in ``node``, ``x-ms-examples`` left out."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for key, value in node.items():
            if key != "x-ms-examples":
                found |= _refs(value)
        return {ref for ref in found if ref.startswith("#/")}
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def _without_examples(operation: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in operation.items() if key != "x-ms-examples"}


def excerpt(document: dict[str, Any], wanted: list[tuple[str, str]]) -> dict[str, Any]:
    """``document`` with only the ``wanted`` (method, template) operations and what they reach."""
    asked = {(method.lower(), template) for method, template in wanted}
    kept: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    found: set[tuple[str, str]] = set()
    for section in SECTIONS:
        for template, item in (document.get(section) or {}).items():
            clean = template.split("?", 1)[0]  # an x-ms-paths overload: ...?disambiguation
            methods = {
                method: _without_examples(operation)
                for method, operation in item.items()
                if (method, clean) in asked
            }
            if methods:
                shared = {"parameters": item["parameters"]} if "parameters" in item else {}
                kept[section][template] = {**shared, **methods}
                found |= {(method, clean) for method in methods}
    if left := asked - found:
        missing = ", ".join(f"{m.upper()} {t}" for m, t in sorted(left))
        raise SystemExit(f"not in the upstream file: {missing}")
    # The definitions and parameters the kept operations reach, directly or through others.
    reached: set[str] = set()
    todo = _refs(kept)
    while todo:
        ref = todo.pop()
        reached.add(ref)
        _, kind, name = ref.split("/", 2)
        todo |= _refs(document[kind][name.replace("~1", "/").replace("~0", "~")]) - reached
    names = {kind: {ref.split("/", 2)[2] for ref in reached if ref.split("/")[1] == kind}
             for kind in ("definitions", "parameters")}  # fmt: skip
    tags = {tag for section in kept.values() for item in section.values()
            for operation in item.values() if isinstance(operation, dict)
            for tag in operation.get("tags", [])}  # fmt: skip
    result: dict[str, Any] = {}
    for key, value in document.items():
        if key in SECTIONS:
            if kept[key]:
                result[key] = kept[key]
        elif key in ("definitions", "parameters"):
            chosen = {name: item for name, item in value.items() if name in names[key]}
            if chosen:
                result[key] = chosen
        elif key == "tags":
            result[key] = [tag for tag in value if tag.get("name") in tags]
        else:
            result[key] = value
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("upstream", type=Path, help="a checkout or git directory of the specs")
    parser.add_argument("--commit", default="HEAD", help="the commit to read (git directory)")
    args = parser.parse_args(argv)
    for path, wanted in OPERATIONS.items():
        document = json.loads(read_upstream(args.upstream, args.commit, path))
        text = json.dumps(excerpt(document, wanted), indent=2, ensure_ascii=False)
        target = TARGET / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\ufeff" + text, encoding="utf-8")  # no final newline: as upstream
        operations = ", ".join(f"{m} {t.removeprefix(PRJ).removeprefix(ORG)}" for m, t in wanted)
        change = last_change(args.upstream, args.commit, path)
        print(f"| `{path}` | `{change}` | {operations} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
