"""The tool's settings: organization URLs, azure-devops.json, secrets, remote URLs (no network)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO_ROOT, load_hook
from provisioning_env import SETTINGS, STORAGE_KEYS, write_settings, write_storage_table

from mlops_template import auth, organization
from mlops_template import settings as config
from mlops_template.git import clean_remote_url


@pytest.fixture(autouse=True)
def settings_file(tmp_path: Path) -> Path:
    """A project folder holding azure-devops.json."""
    return write_settings(tmp_path)


@pytest.mark.parametrize(
    "url",
    [
        "https://dev.azure.com/contoso",
        "https://dev.azure.com/contoso/",
        "https://contoso.visualstudio.com",
        "https://contoso.visualstudio.com/DefaultCollection/",
        "https://DEV.AZURE.COM/contoso",
        "https://contoso.VisualStudio.com/DefaultCollection",
    ],
)
def test_organization_urls_call_the_canonical_hosts(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.IDENTITY_URL_VARIABLE, raising=False)
    parsed = organization.parse(url)
    assert parsed.name == "contoso"
    assert parsed.rest_url == "https://dev.azure.com/contoso"
    assert parsed.identity_url == "https://vssps.dev.azure.com/contoso"


def test_another_base_serves_identities_under_it() -> None:
    parsed = organization.parse("http://127.0.0.1:8123/contoso")
    assert parsed.rest_url == "http://127.0.0.1:8123/contoso"
    assert parsed.identity_url == "http://127.0.0.1:8123/_vssps/contoso"


def test_the_identity_url_can_be_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.IDENTITY_URL_VARIABLE, "https://ids.example.com/contoso/")
    settings = config.load(tmp_path, organization_url="https://dev.azure.com/contoso")
    assert settings.organization.identity_url == "https://ids.example.com/contoso"


@pytest.mark.parametrize(
    "url",
    ["https://github.com/contoso", "dev.azure.com/contoso", "https://dev.azure.com/"],
)
def test_a_bad_organization_url_names_it_and_the_form_to_use(url: str) -> None:
    with pytest.raises(
        organization.OrganizationUrlError,
        match=re.escape("https://dev.azure.com/<organization>"),
    ):
        organization.parse(url)


def test_settings_come_from_the_answers_and_options_win(tmp_path: Path) -> None:
    settings = config.load(
        tmp_path,
        organization_url="https://dev.azure.com/contoso",
        project="Other",
        approvers=["ana@contoso.com", " li@contoso.com "],
    )
    assert settings.project == "Other"
    assert settings.approvers == ("ana@contoso.com", "li@contoso.com")
    assert settings.repository == "churn-model"
    assert settings.names.environments == ("churn-model-qa", "churn-model-prod")
    assert settings.variables == {"AZUREML_WORKSPACE": "ws"}


def test_a_settings_file_without_a_name_says_which(tmp_path: Path, settings_file: Path) -> None:
    broken = {key: value for key, value in SETTINGS.items() if key != "variable_group"}
    settings_file.write_text(json.dumps(broken))
    with pytest.raises(config.ConfigurationError, match="variable_group"):
        config.load(tmp_path, organization_url="https://dev.azure.com/contoso")


def test_no_settings_file_says_where_to_run(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigurationError, match="root of a project"):
        config.load(tmp_path / "elsewhere")


def test_no_organization_url_says_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigurationError, match="--organization"):
        config.load(tmp_path, organization_url="")


def settings_in(project_dir: Path) -> config.Settings:
    return config.load(project_dir, organization_url="https://dev.azure.com/contoso")


def write_secrets(project_dir: Path, secrets: dict[str, object]) -> None:
    write_storage_table(project_dir)
    (project_dir / "secrets.json").write_text(json.dumps(secrets))


def test_the_connection_string_goes_to_the_group_as_a_secret(tmp_path: Path) -> None:
    write_secrets(tmp_path, {"connection_string": "Account=x;Key=y"})
    assert settings_in(tmp_path).storage_variables() == {
        "AZURE_STORAGE_CONNECTION_STRING": {"value": "Account=x;Key=y", "isSecret": True}
    }


@pytest.mark.parametrize("key", sorted(STORAGE_KEYS))
def test_each_key_of_the_table_goes_to_its_variable_secret_as_the_table_says(
    tmp_path: Path, key: str
) -> None:
    """Every key of storage_credentials.json reaches the variable group under the
    variable the table names, marked isSecret exactly when the table says secret."""
    write_secrets(tmp_path, {key: "value-1"})
    spec = STORAGE_KEYS[key]
    expected = {"value": "value-1", **({"isSecret": True} if spec["secret"] else {})}
    assert settings_in(tmp_path).storage_variables() == {spec["variable"]: expected}


def test_an_account_name_and_key_go_as_they_are_no_connection_string_is_made(
    tmp_path: Path,
) -> None:
    """No endpoint suffix is assumed: the ingestor builds the address from the table."""
    write_secrets(tmp_path, {"storage_account_name": "acct", "storage_account_key": "a2V5"})
    assert settings_in(tmp_path).storage_variables() == {
        "AZURE_STORAGE_ACCOUNT_NAME": {"value": "acct"},
        "AZURE_STORAGE_ACCOUNT_KEY": {"value": "a2V5", "isSecret": True},
    }


def test_empty_values_are_not_sent(tmp_path: Path) -> None:
    """secrets.example.json copied as it is: only the filled keys reach the group."""
    write_secrets(tmp_path, {key: "" for key in STORAGE_KEYS} | {"storage_account_name": "a"})
    assert settings_in(tmp_path).storage_variables() == {
        "AZURE_STORAGE_ACCOUNT_NAME": {"value": "a"}
    }


def test_no_secrets_json_means_no_storage_variable(tmp_path: Path) -> None:
    assert settings_in(tmp_path).storage_variables() == {}


def test_the_deployed_storage_is_named_when_secrets_json_names_none(tmp_path: Path) -> None:
    """Issue 18: the pipelines read the blob the tool uploaded as their identity."""
    write_storage_table(tmp_path)
    assert settings_in(tmp_path).storage_variables(("churndata", "data")) == {
        "AZURE_STORAGE_ACCOUNT_NAME": {"value": "churndata"},
        "AZURE_STORAGE_CONTAINER": {"value": "data"},
    }


def test_storage_named_in_secrets_json_wins_over_the_deployed_one(tmp_path: Path) -> None:
    write_secrets(tmp_path, {"connection_string": "Account=x"})
    assert settings_in(tmp_path).storage_variables(("churndata", "data")) == {
        "AZURE_STORAGE_CONNECTION_STRING": {"value": "Account=x", "isSecret": True}
    }


def test_an_unknown_key_is_named_without_any_value(tmp_path: Path) -> None:
    write_secrets(tmp_path, {"connection_strng": "AccountKey=c2Vj"})
    with pytest.raises(config.ConfigurationError, match="connection_strng") as caught:
        settings_in(tmp_path).storage_variables()
    assert "c2Vj" not in str(caught.value)


def test_a_project_without_the_storage_table_is_told_to_restore_it(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"connection_string": "x"}))
    with pytest.raises(config.ConfigurationError, match=re.escape("storage_credentials.json")):
        settings_in(tmp_path).storage_variables()


def test_a_broken_secrets_json_names_the_file_not_its_content(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text('{"connection_string": "AccountKey=c2Vj')
    with pytest.raises(config.ConfigurationError, match=re.escape("secrets.json")) as caught:
        settings_in(tmp_path).storage_variables()
    assert "c2Vj" not in str(caught.value)


def test_remote_urls_lose_their_user_info() -> None:
    url = "https://contoso@dev.azure.com/contoso/My%20Project/_git/repo"
    assert clean_remote_url(url) == "https://dev.azure.com/contoso/My%20Project/_git/repo"
    assert clean_remote_url("http://org@127.0.0.1:8123/org/p/_git/r") == (
        "http://127.0.0.1:8123/org/p/_git/r"
    )


def test_the_token_comes_from_the_environment_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(auth.PAT_VARIABLE, " from-env ")
    monkeypatch.setattr(auth.getpass, "getpass", lambda prompt: pytest.fail("prompted"))
    assert auth.read_pat(interactive=True) == "from-env"


def test_the_token_is_asked_for_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(auth.PAT_VARIABLE, raising=False)
    monkeypatch.setattr(auth.getpass, "getpass", lambda prompt: "typed")
    assert auth.read_pat(interactive=True) == "typed"
    assert auth.read_pat(interactive=False) is None


# -- one rule for organization URLs, at bake and in the tool ---------------------------


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://dev.azure.com/contoso", True),
        ("https://contoso.visualstudio.com/DefaultCollection", True),
        ("https://DEV.AZURE.COM/contoso", True),
        ("https://Contoso.VisualStudio.com/", True),
        ("http://127.0.0.1:8123/contoso", True),
        ("http://dev.azure.com/contoso", False),
        ("https://github.com/contoso", False),
        ("https://dev.azure.com/", False),
        ("https://contoso.visualstudio.com/OtherCollection", False),
    ],
)
def test_the_bake_and_the_tool_accept_the_same_organization_urls(url: str, valid: bool) -> None:
    pre_gen = load_hook("pre_gen_project")
    (rule,) = [rule for rule in pre_gen.RULES if rule.answer == "azure_devops_org_url"]
    assert rule.check(url) is valid
    assert organization.is_valid(url) is valid


def test_the_loopback_form_is_not_advertised() -> None:
    prompts = json.loads((REPO_ROOT / "cookiecutter.json").read_text())["__prompts__"]
    pre_gen = load_hook("pre_gen_project")
    (rule,) = [rule for rule in pre_gen.RULES if rule.answer == "azure_devops_org_url"]
    for text in (prompts["azure_devops_org_url"], rule.rule, rule.example):
        assert "127.0.0.1" not in text and "localhost" not in text


@pytest.mark.parametrize(
    "url",
    [
        "http\u017f://dev.azure.com/contoso",  # LATIN SMALL LETTER LONG S folds to "s"
        "https://dev.azure.com/\u212aontoso",  # KELVIN SIGN folds to "k"
        "https://conto\u017fo.vi\u017fual\u017ftudio.com",
        "https://dev.azure.com/contoso\u0131",  # DOTLESS I folds to "i"
    ],
)
def test_unicode_lookalikes_of_an_organization_url_are_refused(url: str) -> None:
    """The rule is ASCII: letters that case-fold to ASCII ones do not pass for them."""
    assert not organization.is_valid(url)
    with pytest.raises(organization.OrganizationUrlError):
        organization.parse(url)


@pytest.mark.parametrize("port", ["99999", "65536", "0", "00000"])
def test_a_loopback_organization_url_needs_a_real_port(port: str) -> None:
    """A port outside 1..65535 is refused, not passed on to fail at the first request."""
    assert not organization.is_valid(f"http://127.0.0.1:{port}/contoso")
