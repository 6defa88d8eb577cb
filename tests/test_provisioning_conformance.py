"""Every REST request a real provisioning sends conforms to Microsoft's published specs.

Runs the real bake against the Azure DevOps double (as ``test_provisioning`` does), then checks
each recorded REST request with ``rest_specs``. The departures known today are listed with the
problem the checker reports, so that a new one fails here and a fixed one is noticed.
"""

from __future__ import annotations

import pytest
from fakes.azure_devops import FakeAzureDevOps, Recorded
from provisioning_env import Baker, baker, fake  # noqa: F401  (the fixtures used below)
from rest_specs import check_request

# (method, the route's last words) -> the problem the published spec has with it.
KNOWN_DEPARTURES = {
    ("GET", "/_apis/connectionData"): "unknown route",
}


def _is_rest(request: Recorded) -> bool:
    return "/_apis/" in request.path and "/_git/" not in request.path


def _problems(devops: FakeAzureDevOps) -> dict[str, list[str]]:
    found = {}
    for r in filter(_is_rest, devops.requests):
        problems = check_request("azure-devops", r.method, r.path, r.query, r.json())
        known = next(
            (
                p
                for (m, end), p in KNOWN_DEPARTURES.items()
                if r.method == m and r.path.endswith(end)
            ),
            None,
        )
        if known and len(problems) == 1 and known in problems[0]:
            continue
        if problems or known:
            found[f"{r.method} {r.path}"] = problems or ["conforms now: drop it from the list"]
    return found


@pytest.mark.parametrize("create_project", [False, True], ids=["existing-project", "new-project"])
def test_a_provisioning_and_its_rerun_send_only_conforming_requests(
    request: pytest.FixtureRequest, create_project: bool
) -> None:
    bake: Baker = request.getfixturevalue("baker")
    devops: FakeAzureDevOps = request.getfixturevalue("fake")
    extra = (
        {"azure_devops_project": "Fresh", "azure_devops_create_project": "yes"}
        if create_project
        else {}
    )
    run, project = bake.bake(**extra)
    assert run.returncode == 0, run.output
    again = bake.provision(project)
    assert again.returncode == 0, again.output
    assert any(_is_rest(r) and r.is_write for r in devops.requests)
    assert _problems(devops) == {}
