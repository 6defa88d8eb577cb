"""The generated REST client against the double: auth failures, errors, retries, creates.

The client module is loaded from a baked project by its file path (it needs
nothing but ``requests``); ``sleep`` is replaced by a recorder, so the waits
it would make are asserted without waiting.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from fakes.azure_devops import FakeAzureDevOps

from mlops_template import client, error_translation, errors

PAT = "client-test-token-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def fake(tmp_path: Path):
    with FakeAzureDevOps(tmp_path / "fake", pat=PAT) as double:
        double.add_project("Proj")
        yield double


@pytest.fixture
def waits() -> list[float]:
    return []


def make_client(fake: FakeAzureDevOps, waits: list[float], pat: str = PAT):
    return client.AzureDevOpsClient(fake.url, fake.identity_url, pat, sleep=waits.append)


def test_a_refused_token_is_an_authentication_error_naming_the_scopes(
    fake: FakeAzureDevOps, waits: list[float]
) -> None:
    api = make_client(fake, waits, pat="wrong")
    with pytest.raises(errors.AuthenticationError) as caught:
        api.get("_apis/connectionData", api_version=client.PREVIEW)
    assert caught.value.status == 401
    assert "Code (read, write and manage)" in str(caught.value)
    assert "wrong" not in str(caught.value)


def test_a_203_sign_in_answer_is_an_authentication_error(
    fake: FakeAzureDevOps, waits: list[float]
) -> None:
    fake.inject(203, path_contains="connectionData")
    api = make_client(fake, waits)
    with pytest.raises(errors.AuthenticationError):
        api.get("_apis/connectionData", api_version=client.PREVIEW)


def test_a_non_json_success_is_an_authentication_error() -> None:
    response = requests.Response()
    response.status_code = 200
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response._content = b"<html><head><title>Sign in</title></head></html>"
    with pytest.raises(errors.AuthenticationError):
        error_translation.parse(response, "GET", "https://dev.azure.com/o/_apis/projects")


def test_an_error_carries_the_type_key_message_and_activity_id(
    fake: FakeAzureDevOps, waits: list[float]
) -> None:
    api = make_client(fake, waits)
    api.post("Proj/_apis/distributedtask/environments", {"name": "qa"})
    with pytest.raises(errors.AzureDevOpsError) as caught:
        api.post("Proj/_apis/distributedtask/environments", {"name": "qa"})
    error = caught.value
    assert error.status == 409 and error.type_key == "EnvironmentExistsException"
    assert error.activity_id and error.activity_id in str(error)
    assert error.service_message in str(error)


def test_throttling_is_retried_after_the_time_the_service_asks(
    fake: FakeAzureDevOps, waits: list[float]
) -> None:
    fake.inject(429, times=3, retry_after=7)
    api = make_client(fake, waits)
    project = api.get("_apis/projects/Proj")
    assert project["name"] == "Proj"
    assert [round(wait) for wait in waits] == [7, 7, 7]
    assert len(fake.requests) == 4


def test_retry_after_on_a_success_slows_the_next_request(
    fake: FakeAzureDevOps, waits: list[float]
) -> None:
    fake.retry_after_on_success(5)
    api = make_client(fake, waits)
    api.get("_apis/projects/Proj")
    assert waits == []
    api.get("_apis/projects/Proj")
    assert len(waits) == 1 and 4.0 < waits[0] <= 5.0


def test_server_errors_are_retried_with_backoff_then_reported(
    fake: FakeAzureDevOps, waits: list[float]
) -> None:
    fake.inject(503, times=10, method="GET")
    api = make_client(fake, waits)
    with pytest.raises(errors.TransientError) as caught:
        api.get("_apis/projects/Proj")
    assert caught.value.status == 503
    assert len(fake.requests) == 6 and len(waits) == 5
    assert max(waits) <= 30


def test_a_create_is_never_re_sent_by_the_client(fake: FakeAzureDevOps, waits: list[float]) -> None:
    fake.inject(503, method="POST", apply_first=True)
    api = make_client(fake, waits)
    with pytest.raises(errors.TransientError):
        api.post("Proj/_apis/distributedtask/environments", {"name": "qa"})
    assert [r.method for r in fake.requests] == ["POST"]
    assert list(fake.environments("Proj")) == ["qa"]  # it was created; the caller looks it up


def test_lists_follow_continuation_tokens(fake: FakeAzureDevOps, waits: list[float]) -> None:
    api = make_client(fake, waits)
    for index in range(5):
        api.post("Proj/_apis/distributedtask/environments", {"name": f"env-{index}"})
    fake.clear_requests()
    names = [e["name"] for e in api.list("Proj/_apis/distributedtask/environments", page_size=2)]
    assert sorted(names) == [f"env-{index}" for index in range(5)]
    assert len(fake.requests) == 3


def test_the_token_is_not_in_the_client_repr(fake: FakeAzureDevOps) -> None:
    api = make_client(fake, [])
    assert PAT not in repr(api) and PAT not in repr(vars(api).get("_local"))


def test_a_wait_of_more_than_a_few_seconds_is_announced(
    fake: FakeAzureDevOps, waits: list[float]
) -> None:
    said: list[str] = []
    api = client.AzureDevOpsClient(
        fake.url, fake.identity_url, PAT, sleep=waits.append, on_wait=said.append
    )
    fake.inject(429, path_contains="environments", retry_after=8)
    api.get("Proj/_apis/distributedtask/environments")
    assert said == ["throttled by Azure DevOps, waiting 8 s"]
    assert waits and waits[0] == pytest.approx(8, abs=0.5)


def test_a_short_wait_is_not_announced(fake: FakeAzureDevOps, waits: list[float]) -> None:
    said: list[str] = []
    api = client.AzureDevOpsClient(
        fake.url, fake.identity_url, PAT, sleep=waits.append, on_wait=said.append
    )
    fake.inject(429, path_contains="environments", retry_after=2)
    api.get("Proj/_apis/distributedtask/environments")
    assert said == []


def test_a_wait_longer_than_the_client_waits_says_when_to_retry(
    fake: FakeAzureDevOps, waits: list[float]
) -> None:
    api = make_client(fake, waits)
    fake.inject(429, path_contains="environments", retry_after=3600)
    with pytest.raises(errors.TooLongThrottledError, match=r"after \d\d:\d\d UTC"):
        api.get("Proj/_apis/distributedtask/environments")
    assert waits == []  # nothing slept, nothing more sent
    assert len(fake.requests) == 1


@pytest.mark.parametrize("seconds", [float("inf"), 1e14, 1e300])
def test_an_absurd_retry_after_is_a_wait_too_long_not_a_crash(
    fake: FakeAzureDevOps, waits: list[float], seconds: float
) -> None:
    """``Retry-After: inf`` or ``1e14`` ends with the clear "too long" error, not OverflowError."""
    api = make_client(fake, waits)
    fake.inject(429, path_contains="environments", retry_after=seconds)
    with pytest.raises(errors.TooLongThrottledError, match="nothing more was sent"):
        api.get("Proj/_apis/distributedtask/environments")
    assert waits == [] and len(fake.requests) == 1


def test_a_retry_after_that_is_not_a_number_is_ignored(
    fake: FakeAzureDevOps, waits: list[float]
) -> None:
    """``Retry-After: nan`` is no wait at all: the client backs off as without the header."""
    api = make_client(fake, waits)
    fake.inject(429, path_contains="environments", retry_after=float("nan"))
    api.get("Proj/_apis/distributedtask/environments")
    assert len(waits) == 1 and 0 < waits[0] < 5


@pytest.mark.parametrize("pat", ["token\nwith-a-line-break", "tökén-ünicode-ß€"])
def test_a_token_headers_cannot_carry_is_refused_clearly(fake: FakeAzureDevOps, pat: str) -> None:
    with pytest.raises(errors.AuthenticationError, match="characters an HTTP header cannot carry"):
        client.AzureDevOpsClient(fake.url, fake.identity_url, pat)
    assert fake.requests == []
