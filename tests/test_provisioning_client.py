"""The generated REST client against the double: auth failures, errors, retries, creates.

The client module is loaded from a baked project by its file path (it needs
nothing but ``requests``); ``sleep`` is replaced by a recorder, so the waits
it would make are asserted without waiting.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import requests
from fakes.azure_devops import FakeAzureDevOps

from mlops_template import client, errors

PAT = "client-test-token-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(scope="module")
def client_module() -> ModuleType:
    """The client module with the error types beside it, as the tests name them."""
    module = ModuleType("client_and_errors")
    module.__dict__.update(vars(errors))
    module.__dict__.update(vars(client))
    return module


@pytest.fixture
def fake(tmp_path: Path):
    with FakeAzureDevOps(tmp_path / "fake", pat=PAT) as double:
        double.add_project("Proj")
        yield double


@pytest.fixture
def waits() -> list[float]:
    return []


def make_client(module: ModuleType, fake: FakeAzureDevOps, waits: list[float], pat: str = PAT):
    return module.AzureDevOpsClient(fake.url, fake.identity_url, pat, sleep=waits.append)


def test_a_refused_token_is_an_authentication_error_naming_the_scopes(
    client_module: ModuleType, fake: FakeAzureDevOps, waits: list[float]
) -> None:
    client = make_client(client_module, fake, waits, pat="wrong")
    with pytest.raises(client_module.AuthenticationError) as caught:
        client.get("_apis/connectionData", api_version=client_module.PREVIEW)
    assert caught.value.status == 401
    assert "Code (read, write and manage)" in str(caught.value)
    assert "wrong" not in str(caught.value)


def test_a_203_sign_in_answer_is_an_authentication_error(
    client_module: ModuleType, fake: FakeAzureDevOps, waits: list[float]
) -> None:
    fake.inject(203, path_contains="connectionData")
    client = make_client(client_module, fake, waits)
    with pytest.raises(client_module.AuthenticationError):
        client.get("_apis/connectionData", api_version=client_module.PREVIEW)


def test_a_non_json_success_is_an_authentication_error(client_module: ModuleType) -> None:
    response = requests.Response()
    response.status_code = 200
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response._content = b"<html><head><title>Sign in</title></head></html>"
    with pytest.raises(client_module.AuthenticationError):
        client_module._parse(response, "GET", "https://dev.azure.com/o/_apis/projects")


def test_an_error_carries_the_type_key_message_and_activity_id(
    client_module: ModuleType, fake: FakeAzureDevOps, waits: list[float]
) -> None:
    client = make_client(client_module, fake, waits)
    client.post("Proj/_apis/distributedtask/environments", {"name": "qa"})
    with pytest.raises(client_module.AzureDevOpsError) as caught:
        client.post("Proj/_apis/distributedtask/environments", {"name": "qa"})
    error = caught.value
    assert error.status == 409 and error.type_key == "EnvironmentExistsException"
    assert error.activity_id and error.activity_id in str(error)
    assert error.service_message in str(error)


def test_throttling_is_retried_after_the_time_the_service_asks(
    client_module: ModuleType, fake: FakeAzureDevOps, waits: list[float]
) -> None:
    fake.inject(429, times=3, retry_after=7)
    client = make_client(client_module, fake, waits)
    project = client.get("_apis/projects/Proj")
    assert project["name"] == "Proj"
    assert [round(wait) for wait in waits] == [7, 7, 7]
    assert len(fake.requests) == 4


def test_retry_after_on_a_success_slows_the_next_request(
    client_module: ModuleType, fake: FakeAzureDevOps, waits: list[float]
) -> None:
    fake.retry_after_on_success(5)
    client = make_client(client_module, fake, waits)
    client.get("_apis/projects/Proj")
    assert waits == []
    client.get("_apis/projects/Proj")
    assert len(waits) == 1 and 4.0 < waits[0] <= 5.0


def test_server_errors_are_retried_with_backoff_then_reported(
    client_module: ModuleType, fake: FakeAzureDevOps, waits: list[float]
) -> None:
    fake.inject(503, times=10, method="GET")
    client = make_client(client_module, fake, waits)
    with pytest.raises(client_module.TransientError) as caught:
        client.get("_apis/projects/Proj")
    assert caught.value.status == 503
    assert len(fake.requests) == 6 and len(waits) == 5
    assert max(waits) <= 30


def test_a_create_is_never_re_sent_by_the_client(
    client_module: ModuleType, fake: FakeAzureDevOps, waits: list[float]
) -> None:
    fake.inject(503, method="POST", apply_first=True)
    client = make_client(client_module, fake, waits)
    with pytest.raises(client_module.TransientError):
        client.post("Proj/_apis/distributedtask/environments", {"name": "qa"})
    assert [r.method for r in fake.requests] == ["POST"]
    assert list(fake.environments("Proj")) == ["qa"]  # it was created; the caller looks it up


def test_lists_follow_continuation_tokens(
    client_module: ModuleType, fake: FakeAzureDevOps, waits: list[float]
) -> None:
    client = make_client(client_module, fake, waits)
    for index in range(5):
        client.post("Proj/_apis/distributedtask/environments", {"name": f"env-{index}"})
    fake.clear_requests()
    names = [e["name"] for e in client.list("Proj/_apis/distributedtask/environments", page_size=2)]
    assert sorted(names) == [f"env-{index}" for index in range(5)]
    assert len(fake.requests) == 3


def test_the_token_is_not_in_the_client_repr(
    client_module: ModuleType, fake: FakeAzureDevOps
) -> None:
    client = make_client(client_module, fake, [])
    assert PAT not in repr(client) and PAT not in repr(vars(client).get("_local"))
