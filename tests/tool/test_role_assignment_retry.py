"""A just-created identity that Resource Manager does not know yet is retried, for a bounded time.

``AzureResources.assign_role`` sets ``principalType``; when the role assignment is still refused
with ``PrincipalNotFound`` (the identity has not replicated), it waits and sends the same PUT
again until its deadline, then gives up with the service's error.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.arm import FakeResourceManager
from rest_specs import assert_conforms

from mlops_template.arm import ArmClient, AzureResources
from mlops_template.errors import AzureDevOpsError

TOKEN = "arm-token-for-tests"
GROUP, WORKSPACE, IDENTITY = "rg-ml", "ws-ml", "churn-model-pipelines"


class FixedToken:
    """A credential that sends one Bearer token (the double accepts only it)."""

    def authorization(self) -> str:
        return f"Bearer {TOKEN}"

    def refresh(self) -> bool:
        return False

    def secrets(self) -> list[str]:
        return [TOKEN]


@pytest.fixture
def arm() -> Iterator[FakeResourceManager]:
    with FakeResourceManager(
        token=TOKEN, replication_calls=2, principal_type_skips_replication=False
    ) as double:
        double.add_resource_group(GROUP)
        double.add_workspace(GROUP, WORKSPACE)
        yield double
        for r in double.requests:
            assert_conforms("arm", r.method, r.path, r.query, r.json())


def new_principal(arm: FakeResourceManager) -> tuple[AzureResources, str, str]:
    resources = AzureResources(ArmClient(FixedToken(), arm.url), arm.subscription_id)
    identity = resources.create_identity(GROUP, IDENTITY, "westeurope", "mlops-template")
    scope = (
        f"{resources.group_path(GROUP)}/providers/Microsoft.MachineLearningServices/"
        f"workspaces/{WORKSPACE}"
    )
    return resources, scope, identity["properties"]["principalId"]


def test_a_principal_not_found_yet_is_retried_until_the_role_is_assigned(
    arm: FakeResourceManager,
) -> None:
    resources, scope, principal = new_principal(arm)
    waits: list[float] = []
    resources.assign_role(scope, principal, sleep=waits.append)
    assert waits == [2.0, 4.0]  # two refusals, backing off
    assert len(arm.role_assignments()) == 1
    puts = [r for r in arm.requests if r.method == "PUT" and "roleAssignments" in r.path]
    assert len({r.path for r in puts}) == 1  # the same assignment name every time


def test_a_principal_still_not_found_at_the_deadline_ends_with_the_services_error(
    arm: FakeResourceManager,
) -> None:
    resources, scope, principal = new_principal(arm)
    with pytest.raises(AzureDevOpsError) as raised:
        resources.assign_role(scope, principal, timeout=0, sleep=lambda seconds: None)
    assert raised.value.type_key == "PrincipalNotFound"
    assert arm.role_assignments() == {}
