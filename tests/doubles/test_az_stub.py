"""The stub Azure CLI, run as a real subprocess found on PATH."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
from fakes.arm import FakeResourceManager
from fakes.az_stub import AZURE_DEVOPS_RESOURCE, RESOURCE_MANAGER, AzStub, install_az

SHOW = ["account", "show", "--output", "json"]


def token_args(resource: str, *extra: str) -> list[str]:
    return ["account", "get-access-token", "--resource", resource, "--output", "json", *extra]


def az(stub: AzStub, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["az", *args], env=stub.env(), capture_output=True, text=True, timeout=30, check=False
    )


@pytest.fixture
def signed_in(tmp_path: Path) -> AzStub:
    return install_az(tmp_path, "signed-in")


def test_the_stub_is_the_az_on_path(signed_in: AzStub) -> None:
    found = shutil.which("az", path=signed_in.env()["PATH"])
    assert found == str(signed_in.bin_dir / "az")


def test_account_show_gives_subscription_tenant_and_user(signed_in: AzStub) -> None:
    result = az(signed_in, *SHOW)
    assert result.returncode == 0, result.stderr
    account = json.loads(result.stdout)
    assert account["id"] == signed_in.subscription_id
    assert account["tenantId"] == signed_in.tenant_id
    assert account["user"] == {"name": "data.scientist@example.com", "type": "user"}


def test_an_access_token_has_the_clis_fields(signed_in: AzStub) -> None:
    result = az(signed_in, *token_args(RESOURCE_MANAGER))
    assert result.returncode == 0, result.stderr
    token = json.loads(result.stdout)
    assert set(token) == {
        "accessToken",
        "expiresOn",
        "expires_on",
        "subscription",
        "tenant",
        "tokenType",
    }
    assert token["tokenType"] == "Bearer"
    assert (token["subscription"], token["tenant"]) == (
        signed_in.subscription_id,
        signed_in.tenant_id,
    )
    assert abs(token["expires_on"] - (time.time() + 3600)) < 60
    local = datetime.strptime(token["expiresOn"], "%Y-%m-%d %H:%M:%S.%f")
    assert local == datetime.fromtimestamp(token["expires_on"])


def test_tokens_are_per_resource(signed_in: AzStub) -> None:
    devops = json.loads(az(signed_in, *token_args(AZURE_DEVOPS_RESOURCE)).stdout)
    arm = json.loads(az(signed_in, *token_args("https://management.azure.com")).stdout)
    assert devops["accessToken"] == signed_in.tokens[AZURE_DEVOPS_RESOURCE]
    assert arm["accessToken"] == signed_in.tokens[RESOURCE_MANAGER]
    assert devops["accessToken"] != arm["accessToken"]


def test_subscription_and_tenant_may_be_named(signed_in: AzStub) -> None:
    extra = ["--subscription", signed_in.subscription_id, "--tenant", signed_in.tenant_id]
    result = az(signed_in, *token_args(RESOURCE_MANAGER, *extra))
    assert result.returncode == 0, result.stderr


def test_an_unknown_subscription_is_an_error(signed_in: AzStub) -> None:
    result = az(signed_in, *SHOW, "--subscription", "someone-elses")
    assert result.returncode == 1
    assert "Subscription 'someone-elses' not found" in result.stderr


def test_a_token_is_refused_for_an_unknown_resource(signed_in: AzStub) -> None:
    result = az(signed_in, *token_args("https://vault.azure.net"))
    assert result.returncode == 1 and "AADSTS500011" in result.stderr


def test_signed_out_asks_for_az_login(tmp_path: Path) -> None:
    stub = install_az(tmp_path, "signed-out")
    for args in (SHOW, token_args(AZURE_DEVOPS_RESOURCE)):
        result = az(stub, *args)
        assert result.returncode == 1 and result.stdout == ""
        assert "Please run 'az login' to setup account." in result.stderr


def test_a_stub_can_sign_out_between_calls(signed_in: AzStub) -> None:
    signed_in.set_mode("signed-out")
    assert az(signed_in, *SHOW).returncode == 1


def test_not_installed_leaves_no_az_on_path(tmp_path: Path) -> None:
    stub = install_az(tmp_path, "not-installed")
    assert shutil.which("az", path=stub.env()["PATH"]) is None
    with pytest.raises(FileNotFoundError):
        az(stub, *SHOW)


@pytest.mark.parametrize(
    "args",
    [
        ["login"],
        ["account", "list", "--output", "json"],
        ["account", "show"],
        ["account", "get-access-token", "--output", "json"],
        ["account", "get-access-token", "--resource", RESOURCE_MANAGER, "--output", "tsv"],
        ["account", "show", "--output", "json", "--query", "id"],
    ],
    ids=["login", "list", "no-output", "no-resource", "tsv", "query"],
)
def test_other_commands_are_refused(signed_in: AzStub, args: list[str]) -> None:
    result = az(signed_in, *args)
    assert result.returncode == 2 and "not an allowed command" in result.stderr


def test_calls_are_logged_and_carry_no_token(signed_in: AzStub) -> None:
    az(signed_in, *SHOW)
    az(signed_in, *token_args(AZURE_DEVOPS_RESOURCE))
    az(signed_in, *token_args(RESOURCE_MANAGER))
    calls = signed_in.calls()
    assert calls == [SHOW, token_args(AZURE_DEVOPS_RESOURCE), token_args(RESOURCE_MANAGER)]
    for token in signed_in.tokens.values():
        assert all(token not in arg for call in calls for arg in call)


def test_only_the_resource_managers_token_opens_its_double(signed_in: AzStub) -> None:
    tokens = {
        resource: json.loads(az(signed_in, *token_args(resource)).stdout)["accessToken"]
        for resource in (RESOURCE_MANAGER, AZURE_DEVOPS_RESOURCE)
    }
    with FakeResourceManager(
        token=signed_in.tokens[RESOURCE_MANAGER], subscription_id=signed_in.subscription_id
    ) as arm:
        arm.add_resource_group("rg")
        url = f"{arm.url}/subscriptions/{signed_in.subscription_id}/resourcegroups/rg"
        statuses = {
            resource: requests.get(
                url,
                params={"api-version": "2021-04-01"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).status_code
            for resource, token in tokens.items()
        }
    assert statuses == {RESOURCE_MANAGER: 200, AZURE_DEVOPS_RESOURCE: 401}


def test_a_renewed_token_is_given_from_the_next_call_on(signed_in: AzStub) -> None:
    first = json.loads(az(signed_in, *token_args(RESOURCE_MANAGER)).stdout)["accessToken"]
    renewed = signed_in.renew(RESOURCE_MANAGER)
    second = json.loads(az(signed_in, *token_args(RESOURCE_MANAGER)).stdout)["accessToken"]
    assert first != renewed == second
    assert (
        json.loads(az(signed_in, *token_args(AZURE_DEVOPS_RESOURCE)).stdout)["accessToken"]
        == signed_in.tokens[AZURE_DEVOPS_RESOURCE]
    )
