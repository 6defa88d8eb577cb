"""The Azure Resource Manager double: routes, status codes and error bodies, faults, recording.

Every request these tests send conforms to Microsoft's published specs (checked after each
test with ``rest_specs``), except the few a test sends malformed on purpose (``malformed``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fakes.arm import FakeResourceManager
from rest_specs import assert_conforms

TOKEN = "arm-token-for-tests"
V_RG, V_ML, V_MI, V_AUTH = "2021-04-01", "2024-04-01", "2023-01-31", "2022-04-01"
ROLE = "AzureML Data Scientist"
FEDERATED_CREDENTIAL = {
    "properties": {
        "issuer": "https://vstoken.dev.azure.com/org-id",
        "subject": "sc://contoso/Demo/demo-azure",
        "audiences": ["api://AzureADTokenExchange"],
    }
}


@pytest.fixture
def malformed() -> list[str]:
    """Paths a test sends malformed on purpose: left out of the spec check."""
    return []


@pytest.fixture
def arm(malformed: list[str]) -> Iterator[FakeResourceManager]:
    with FakeResourceManager(token=TOKEN, replication_calls=2) as fake:
        fake.add_resource_group("rg-ml", "westeurope")
        fake.add_workspace("rg-ml", "demo-ws")
        yield fake
        for r in fake.requests:
            if r.path not in malformed:
                assert_conforms("arm", r.method, r.path, r.query, r.json())


class Arm:
    """Paths of the seeded resources and a caller of the double."""

    def __init__(self, fake: FakeResourceManager) -> None:
        self.fake = fake
        self.sub = f"/subscriptions/{fake.subscription_id}"
        self.group = f"{self.sub}/resourceGroups/rg-ml"
        self.workspace = (
            f"{self.group}/providers/Microsoft.MachineLearningServices/workspaces/demo-ws"
        )
        identities = f"{self.group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
        self.identity = f"{identities}/demo-pipelines"

    def call(
        self,
        method: str,
        path: str,
        version: str | None,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        query: dict[str, str] | None = None,
    ) -> requests.Response:
        params = dict(query or {})
        if version:
            params["api-version"] = version
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(
            method, self.fake.url + path, params=params, json=body, headers=headers, timeout=10
        )

    def authorization_list(self, scope: str, what: str, odata_filter: str) -> list[dict]:
        """``GET {scope}/providers/Microsoft.Authorization/{what}?$filter=…``'s items."""
        path = f"{scope}/providers/Microsoft.Authorization/{what}"
        response = self.call("GET", path, V_AUTH, query={"$filter": odata_filter})
        assert response.status_code == 200, response.text
        return response.json()["value"]

    def create_identity(self) -> dict[str, Any]:
        response = self.call("PUT", self.identity, V_MI, {"location": "westeurope"})
        assert response.status_code == 201, response.text
        return response.json()

    def assign(
        self, principal: str, *, principal_type: str | None = None, name: str | None = None
    ) -> requests.Response:
        properties = {
            "roleDefinitionId": self.fake.role_definition_id(ROLE),
            "principalId": principal,
        }
        if principal_type:
            properties["principalType"] = principal_type
        path = f"{self.workspace}/providers/Microsoft.Authorization/roleAssignments/"
        return self.call(
            "PUT", path + (name or str(uuid.uuid4())), V_AUTH, {"properties": properties}
        )


@pytest.fixture
def api(arm: FakeResourceManager) -> Arm:
    return Arm(arm)


def _error(response: requests.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]["code"]


def test_a_resource_group_is_read_with_its_location(api: Arm) -> None:
    response = api.call("GET", f"{api.sub}/resourcegroups/rg-ml", V_RG)
    assert response.status_code == 200
    assert response.json()["location"] == "westeurope"


def test_a_missing_resource_group_is_resource_group_not_found(api: Arm) -> None:
    response = api.call("GET", f"{api.sub}/resourcegroups/nope", V_RG)
    assert response.status_code == 404 and _error(response) == "ResourceGroupNotFound"


def test_a_workspace_is_read(api: Arm) -> None:
    response = api.call("GET", api.workspace, V_ML)
    assert response.status_code == 200
    assert response.json()["type"] == "Microsoft.MachineLearningServices/workspaces"


def test_a_missing_workspace_is_resource_not_found(api: Arm) -> None:
    response = api.call("GET", api.workspace.replace("demo-ws", "other-ws"), V_ML)
    assert response.status_code == 404 and _error(response) == "ResourceNotFound"


def test_a_workspace_in_a_missing_group_is_resource_group_not_found(api: Arm) -> None:
    response = api.call("GET", api.workspace.replace("rg-ml", "rg-gone"), V_ML)
    assert response.status_code == 404 and _error(response) == "ResourceGroupNotFound"


def test_an_identity_is_created_with_its_ids(api: Arm) -> None:
    identity = api.create_identity()
    props = identity["properties"]
    assert props["tenantId"] == api.fake.tenant_id
    assert uuid.UUID(props["principalId"]) and uuid.UUID(props["clientId"])
    assert api.call("GET", api.identity, V_MI).json() == identity


def test_putting_an_identity_again_keeps_it(api: Arm) -> None:
    first = api.create_identity()
    again = api.call("PUT", api.identity, V_MI, {"location": "westeurope"})
    assert again.status_code == 200
    assert again.json()["properties"] == first["properties"]


def test_a_missing_identity_is_resource_not_found(api: Arm) -> None:
    response = api.call("GET", api.identity, V_MI)
    assert response.status_code == 404 and _error(response) == "ResourceNotFound"


def test_an_identity_needs_a_location(api: Arm, malformed: list[str]) -> None:
    malformed.append(api.identity)
    response = api.call("PUT", api.identity, V_MI, {"tags": {}})
    assert response.status_code == 400 and _error(response) == "LocationRequired"


def test_a_federated_credential_is_created_and_listed(api: Arm) -> None:
    api.create_identity()
    body = FEDERATED_CREDENTIAL
    created = api.call("PUT", f"{api.identity}/federatedIdentityCredentials/demo-azure", V_MI, body)
    assert created.status_code == 201
    listed = api.call("GET", f"{api.identity}/federatedIdentityCredentials", V_MI).json()
    assert [c["properties"] for c in listed["value"]] == [body["properties"]]


def test_a_second_credential_with_the_same_subject_conflicts(api: Arm) -> None:
    api.create_identity()
    body = FEDERATED_CREDENTIAL
    api.call("PUT", f"{api.identity}/federatedIdentityCredentials/first", V_MI, body)
    second = api.call("PUT", f"{api.identity}/federatedIdentityCredentials/second", V_MI, body)
    assert second.status_code == 409 and _error(second) == "Conflict"


def test_a_new_identity_is_not_found_while_it_replicates(api: Arm) -> None:
    principal = api.create_identity()["properties"]["principalId"]
    codes = [_error(api.assign(principal)) for _ in range(2)]
    assert codes == ["PrincipalNotFound", "PrincipalNotFound"]
    assert api.assign(principal).status_code == 201


def test_principal_type_avoids_the_replication_delay(api: Arm) -> None:
    principal = api.create_identity()["properties"]["principalId"]
    response = api.assign(principal, principal_type="ServicePrincipal")
    assert response.status_code == 201
    assert response.json()["properties"]["principalType"] == "ServicePrincipal"


def test_replication_can_last_a_time_instead_of_a_number_of_calls(api: Arm) -> None:
    api.fake.replication_calls, api.fake.replication_seconds = 0, 0.3
    principal = api.create_identity()["properties"]["principalId"]
    assert _error(api.assign(principal)) == "PrincipalNotFound"
    time.sleep(0.35)
    assert api.assign(principal).status_code == 201


def test_an_unknown_principal_is_never_found(api: Arm) -> None:
    principal = str(uuid.uuid4())
    assert {_error(api.assign(principal)) for _ in range(4)} == {"PrincipalNotFound"}


def test_the_same_assignment_under_another_name_exists_already(api: Arm) -> None:
    principal = api.fake.add_principal()
    assert api.assign(principal).status_code == 201
    again = api.assign(principal)
    assert again.status_code == 409 and _error(again) == "RoleAssignmentExists"


def test_putting_an_assignment_again_under_its_name_is_harmless(api: Arm) -> None:
    principal, name = api.fake.add_principal(), str(uuid.uuid4())
    assert api.assign(principal, name=name).status_code == 201
    assert api.assign(principal, name=name).status_code == 201
    assert len(api.fake.role_assignments()) == 1


def test_assignments_are_listed_for_a_principal_at_and_below_a_scope(api: Arm) -> None:
    principal = api.fake.add_principal()
    api.assign(principal)
    api.assign(api.fake.add_principal())
    for scope in (api.workspace, api.group):
        (found,) = api.authorization_list(scope, "roleAssignments", f"principalId eq '{principal}'")
        assert found["properties"]["principalId"] == principal
        assert found["properties"]["scope"] == api.workspace


def test_a_caller_without_the_right_gets_authorization_failed(api: Arm) -> None:
    other = api.fake.add_caller("token-of-an-owner")
    api.fake.forbid("Microsoft.Authorization/roleAssignments/write", caller=api.fake.caller_id)
    principal = api.fake.add_principal()
    refused = api.assign(principal)
    assert refused.status_code == 403 and _error(refused) == "AuthorizationFailed"
    assert "Microsoft.Authorization/roleAssignments/write" in refused.json()["error"]["message"]
    path = f"{api.workspace}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    body = {
        "properties": {
            "roleDefinitionId": api.fake.role_definition_id(ROLE),
            "principalId": principal,
        }
    }
    allowed = api.call("PUT", path, V_AUTH, body, token="token-of-an-owner")
    assert allowed.status_code == 201 and allowed.json()["properties"]["createdBy"] == other


def test_throttling_answers_429_with_retry_after(api: Arm) -> None:
    api.fake.inject(429, retry_after=7, method="GET", path_contains="resourcegroups")
    throttled = api.call("GET", f"{api.sub}/resourcegroups/rg-ml", V_RG)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert _error(throttled) == "SubscriptionRequestsThrottled"
    assert api.call("GET", f"{api.sub}/resourcegroups/rg-ml", V_RG).status_code == 200


def test_a_fault_after_the_change_leaves_the_change_made(api: Arm) -> None:
    api.fake.inject(500, method="PUT", apply_first=True)
    failed = api.call("PUT", api.identity, V_MI, {"location": "westeurope"})
    assert failed.status_code == 500
    assert api.call("GET", api.identity, V_MI).status_code == 200


def test_a_fault_can_skip_matching_requests(api: Arm) -> None:
    api.fake.inject(503, skip=1, path_contains="/resourcegroups/")
    assert api.call("GET", f"{api.sub}/resourcegroups/rg-ml", V_RG).status_code == 200
    assert api.call("GET", f"{api.sub}/resourcegroups/rg-ml", V_RG).status_code == 503


def test_a_dropped_answer_leaves_the_change_made(api: Arm) -> None:
    api.fake.inject(0, method="PUT", apply_first=True, drop=True)
    with pytest.raises(requests.ConnectionError):
        api.call("PUT", api.identity, V_MI, {"location": "westeurope"})
    assert api.call("GET", api.identity, V_MI).status_code == 200


def test_a_delayed_answer_comes_after_the_delay(api: Arm) -> None:
    api.fake.inject(0, path_contains="/resourcegroups/", apply_first=True, delay=0.3)
    start = time.monotonic()
    assert api.call("GET", f"{api.sub}/resourcegroups/rg-ml", V_RG).status_code == 200
    assert time.monotonic() - start >= 0.3


def test_a_fault_with_no_status_must_apply_first(api: Arm) -> None:
    with pytest.raises(ValueError, match="apply_first"):
        api.fake.inject(0, drop=True)


def test_a_request_without_a_token_is_refused_with_a_challenge(api: Arm) -> None:
    response = api.call("GET", f"{api.sub}/resourcegroups/rg-ml", V_RG, token=None)
    assert response.status_code == 401 and _error(response) == "AuthenticationFailed"
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_a_token_for_another_resource_is_refused(api: Arm) -> None:
    response = api.call("GET", f"{api.sub}/resourcegroups/rg-ml", V_RG, token="devops-token")
    assert response.status_code == 401 and _error(response) == "InvalidAuthenticationToken"
    assert "WWW-Authenticate" in response.headers


def test_api_version_is_required(api: Arm, malformed: list[str]) -> None:
    malformed.append(f"{api.sub}/resourcegroups/rg-ml")
    response = api.call("GET", f"{api.sub}/resourcegroups/rg-ml", None)
    assert response.status_code == 400 and _error(response) == "MissingApiVersionParameter"


def test_an_api_version_the_provider_lacks_is_refused(api: Arm, malformed: list[str]) -> None:
    malformed.append(api.identity)
    response = api.call("GET", api.identity, "2015-08-31-preview")
    assert response.status_code == 400 and _error(response) == "NoRegisteredProviderFound"


def test_another_subscription_is_not_found(api: Arm) -> None:
    response = api.call("GET", f"/subscriptions/{uuid.uuid4()}/resourcegroups/rg-ml", V_RG)
    assert response.status_code == 404 and _error(response) == "SubscriptionNotFound"


def test_an_assignment_name_must_be_a_guid(api: Arm) -> None:
    response = api.assign(api.fake.add_principal(), name="not-a-guid")
    assert response.status_code == 400 and _error(response) == "InvalidRoleAssignmentId"


def test_requests_are_recorded_without_the_token(api: Arm) -> None:
    api.create_identity()
    (recorded,) = api.fake.requests
    assert (recorded.method, recorded.path, recorded.status, recorded.is_write) == (
        "PUT",
        api.identity,
        201,
        True,
    )
    assert recorded.query == {"api-version": V_MI} and recorded.json() == {"location": "westeurope"}
    assert "authorization" not in {k.lower() for k in recorded.headers}
    assert TOKEN not in repr(api.fake.requests)


def test_an_expired_token_is_refused_and_its_successor_accepted(api: Arm) -> None:
    api.fake.expire(TOKEN)
    expired = api.call("GET", f"{api.sub}/resourcegroups/rg-ml", V_RG)
    assert expired.status_code == 401 and _error(expired) == "ExpiredAuthenticationToken"
    api.fake.add_caller("the-next-token", api.fake.caller_id)
    renewed = api.call("GET", f"{api.sub}/resourcegroups/rg-ml", V_RG, token="the-next-token")
    assert renewed.status_code == 200
