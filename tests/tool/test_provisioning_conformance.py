"""Every REST request a real provisioning sends conforms to Microsoft's published specs.

Runs the real bake against the Azure DevOps double (as ``test_provisioning`` does), then checks
each recorded REST request with ``rest_specs``. (The ``fake`` fixture checks every provisioning
test's requests the same way at teardown; this test makes the check explicit for a fresh setup,
a new project, and a re-run.) Requests with no published spec route are listed in
``provisioning_env.UNPUBLISHED``; each must still be sent, so that a removed one is noticed.
"""

from __future__ import annotations

import pytest
from fakes.azure_devops import FakeAzureDevOps
from provisioning_env import UNPUBLISHED, Baker, baker, fake, nonconforming  # noqa: F401
from rest_specs import check_request


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
    assert any(r.is_write and "/_git/" not in r.path for r in devops.requests)
    assert nonconforming("azure-devops", devops.requests) == {}
    for method, end in UNPUBLISHED:  # still unpublished, and still sent
        sent = [r for r in devops.requests if r.method == method and r.path.endswith(end)]
        assert sent, f"{method} {end} is no longer sent: drop it from UNPUBLISHED"
        assert check_request("azure-devops", method, sent[0].path, sent[0].query, None)
