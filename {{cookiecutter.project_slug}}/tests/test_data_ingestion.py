"""Unit tests of DataIngestor: local sources, formats, secrets and errors (no network)."""

from __future__ import annotations

import gzip
import json
import os
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azurite_service import free_port

from {{ cookiecutter.module_name }} import (
    settings,
)
from {{ cookiecutter.module_name }}.data_ingestion import (
    DataIngestionError,
    DataIngestor,
    DataParseError,
    InvalidSecretsError,
    InvalidSourceError,
    LocalFileError,
    LocalFileNotFoundError,
    MissingCredentialsError,
    StorageAuthenticationError,
    StorageConnectionError,
    UnsupportedFormatError,
    credentials,
    resolve_storage_config,
    sample_data_path,
)
from {{ cookiecutter.module_name }}.data_ingestion import (
    ingestor as ingestor_module,
)
from {{ cookiecutter.module_name }}.data_ingestion.credentials import (
    ENVIRONMENT_VARIABLES,
    SECRET_KEYS,
)
from {{ cookiecutter.module_name }}.data_ingestion.ingestor import (
    ATTEMPTS,
    backoff_bounds,
    blob_service_client,
    bounded_client_options,
    local_path,
)

WRITERS = {
    "csv": lambda df, path: df.to_csv(path, index=False),
    "csv.gz": lambda df, path: df.to_csv(path, index=False, compression="gzip"),
    "parquet": lambda df, path: df.to_parquet(path, index=False),
    "json": lambda df, path: df.to_json(path, orient="records"),
    "jsonl": lambda df, path: df.to_json(path, orient="records", lines=True),
}

ACCOUNT_KEY_SECRETS = {
    "storage_account_name": "acct",
    "storage_account_key": "a2V5",
    "container_name": "raw",
}


def test_sample_data_is_iris(iris: pd.DataFrame) -> None:
    assert iris.shape == (150, 5)
    assert set(iris["species"]) == {"setosa", "versicolor", "virginica"}


@pytest.mark.parametrize("extension", sorted(WRITERS))
def test_reads_each_format_from_a_local_path(
    extension: str, iris: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / f"iris.{extension}"
    WRITERS[extension](iris, path)
    pd.testing.assert_frame_equal(DataIngestor(path).get_df(), iris)


def test_reads_a_file_url(iris: pd.DataFrame) -> None:
    url = sample_data_path().as_uri()
    pd.testing.assert_frame_equal(DataIngestor(url).get_df(), iris)


def test_reads_a_relative_path_starting_with_dot(
    iris: pd.DataFrame, tmp_path: Path
) -> None:
    iris.to_csv(tmp_path / "local.csv", index=False)
    pd.testing.assert_frame_equal(DataIngestor("./local.csv").get_df(), iris)


def test_reads_an_existing_relative_path_without_dot(
    iris: pd.DataFrame, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    iris.to_csv(tmp_path / "data" / "churn.csv", index=False)
    ingestor = DataIngestor("data/churn.csv")
    assert ingestor.storage is None
    pd.testing.assert_frame_equal(ingestor.get_df(), iris)


def test_neither_local_file_nor_blob_credentials_names_both_places() -> None:
    with pytest.raises(MissingCredentialsError) as raised:
        DataIngestor("data/churn.csv")
    message = str(raised.value)
    assert str(Path("data/churn.csv").resolve()) in message
    assert "AZURE_STORAGE_CONNECTION_STRING" in message
    assert "./data/churn.csv" in message and "blob:data/churn.csv" in message


def test_blob_prefix_forces_a_blob_even_beside_a_local_file(tmp_path: Path) -> None:
    (tmp_path / "churn.csv").write_text("a\n1\n")
    with pytest.raises(MissingCredentialsError) as raised:
        DataIngestor("blob:churn.csv")
    assert "No local file" not in str(raised.value)
    ingestor = DataIngestor("blob:churn.csv", ACCOUNT_KEY_SECRETS)
    assert ingestor.source.startswith("blob churn.csv in container 'raw'")


def test_passes_read_kwargs_to_pandas(tmp_path: Path) -> None:
    path = tmp_path / "semicolon.csv"
    path.write_text("a;b\n1;2\n")
    assert DataIngestor(path).get_df(sep=";").to_dict("list") == {"a": [1], "b": [2]}


def test_extension_is_case_insensitive(iris: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "IRIS.CSV"
    iris.to_csv(path, index=False)
    assert len(DataIngestor(path).get_df()) == 150


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("raw/churn.csv", None),
        ("churn.parquet", None),
        ("./churn.csv", Path("./churn.csv")),
        ("../churn.csv", Path("../churn.csv")),
        ("/data/churn.csv", Path("/data/churn.csv")),
        ("blob:./churn.csv", None),
        ("file:///data/my%20churn.csv", Path("/data/my churn.csv")),
        (Path("churn.csv"), Path("churn.csv")),
    ],
)
def test_local_path_tells_local_sources_from_blob_names(
    source: str | Path, expected: Path | None
) -> None:
    assert local_path(source) == expected


def test_unsupported_extension_names_the_file_and_the_supported_ones() -> None:
    with pytest.raises(UnsupportedFormatError, match=r"'data\.xlsx'.*\.csv\.gz"):
        DataIngestor("data.xlsx", {"connection_string": "x"})


def test_missing_local_file_says_which_path(tmp_path: Path) -> None:
    with pytest.raises(LocalFileNotFoundError, match=r"nothere\.csv"):
        DataIngestor(tmp_path / "nothere.csv").get_df()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("broken.parquet", b"this is not parquet"),
        ("broken.json", b"{not json"),
        ("broken.csv.gz", b"not gzip at all"),
        ("broken.csv", b'a,b\n"unterminated,2\n'),
        ("broken.jsonl", b'{"a": 1}\n{"a": \n'),
    ],
)
def test_unparsable_content_names_the_file(
    name: str, content: bytes, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataParseError, match=name.replace(".", r"\.")):
        DataIngestor(path).get_df()


def test_truncated_gzip_is_a_parse_error(iris: pd.DataFrame, tmp_path: Path) -> None:
    whole = gzip.compress(iris.to_csv(index=False).encode())
    path = tmp_path / "truncated.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataParseError, match="truncated"):
        DataIngestor(path).get_df()


def test_no_credentials_names_every_place_looked(tmp_path: Path) -> None:
    with pytest.raises(MissingCredentialsError) as raised:
        DataIngestor("raw/churn.csv")
    message = str(raised.value)
    assert str(tmp_path / "secrets.json") in message
    for variable in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_STORAGE_CONTAINER",
    ):
        assert variable in message


def test_secrets_dict_is_used() -> None:
    config = resolve_storage_config(ACCOUNT_KEY_SECRETS)
    assert (config.account_name, config.container_name) == ("acct", "raw")
    assert config.source == "the secrets argument"


def test_secrets_file_path_is_used(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.json"
    path.write_text(json.dumps(ACCOUNT_KEY_SECRETS))
    assert resolve_storage_config(str(path)).account_key == "a2V5"


def test_secrets_json_in_the_working_folder_wins_over_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps(ACCOUNT_KEY_SECRETS))
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "fromenv")
    assert resolve_storage_config().account_name == "acct"


def test_secrets_json_in_the_project_root_is_found_from_a_subfolder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook runs in experiment_nbs/: the root's secrets.json is used."""
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "secrets.json").write_text(json.dumps(ACCOUNT_KEY_SECRETS))
    (tmp_path / "experiment_nbs").mkdir()
    monkeypatch.chdir(tmp_path / "experiment_nbs")
    config = resolve_storage_config()
    assert config.account_name == "acct"
    assert str(tmp_path / "secrets.json") in config.source


def test_secrets_json_is_not_looked_for_above_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search stops at the nearest folder with a pyproject.toml."""
    (tmp_path / "secrets.json").write_text(json.dumps(ACCOUNT_KEY_SECRETS))
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "pyproject.toml").write_text("[project]\n")
    monkeypatch.chdir(tmp_path / "project")
    with pytest.raises(MissingCredentialsError):
        resolve_storage_config()


def test_environment_variables_are_used_without_secrets_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "fromenv")
    monkeypatch.setenv("AZURE_STORAGE_SAS_TOKEN", "?sv=1&sig=x")
    monkeypatch.setenv("AZURE_STORAGE_CONTAINER", "envcontainer")
    config = resolve_storage_config()
    assert (config.account_name, config.sas_token, config.container_name) == (
        "fromenv",
        "?sv=1&sig=x",
        "envcontainer",
    )
    assert config.source == "environment variables"


def test_container_falls_back_to_the_generated_setting() -> None:
    config = resolve_storage_config(
        {"connection_string": "AccountName=acct;AccountKey=b"}
    )
    assert config.container_name == settings.STORAGE_CONTAINER


def test_container_argument_overrides_the_secrets() -> None:
    config = resolve_storage_config(ACCOUNT_KEY_SECRETS, container_name="other")
    assert config.container_name == "other"


def test_secrets_never_appear_in_repr() -> None:
    config = resolve_storage_config(
        {"connection_string": "AccountName=acct;AccountKey=topsecretkey"}
    )
    ingestor = DataIngestor(
        "raw/churn.csv", {"connection_string": config.connection_string}
    )
    assert "topsecretkey" not in repr(config)
    assert "topsecretkey" not in repr(ingestor)
    assert "'acct'" in ingestor.source


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"storage_account_name": "a", "password": "x"}', "unknown key"),
        ('{"storage_account_name": 5}', "must be text"),
        (
            '{"storage_account_name": "acct", "storage_account_key": "k", "sas_token": "s"}',
            "keep one",
        ),
    ],
)
def test_invalid_secrets_file_says_what_is_wrong(
    content: str, expected: str, tmp_path: Path
) -> None:
    (tmp_path / "secrets.json").write_text(content)
    with pytest.raises(InvalidSecretsError, match=expected):
        resolve_storage_config()


def test_missing_secrets_file_argument_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidSecretsError, match="does not exist"):
        resolve_storage_config(tmp_path / "missing.json")


SIGNED_IN = object()  # stands for DefaultAzureCredential


@pytest.fixture
def client_made(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """How BlobServiceClient gets made: its account URL and credential.

    The credential is replaced at its boundary: the real chain would probe the
    network (managed identity endpoint), which tests never do.
    """
    monkeypatch.setattr(ingestor_module, "default_credential", lambda: SIGNED_IN)
    captured: dict[str, object] = {}

    class FakeClient:
        def __init__(
            self, account_url: str, credential: object, **options: object
        ) -> None:
            captured.update(account_url=account_url, credential=credential)

    monkeypatch.setattr(ingestor_module, "BlobServiceClient", FakeClient)
    return captured


def test_account_name_without_key_uses_default_azure_credential(
    client_made: dict[str, object],
) -> None:
    blob_service_client(resolve_storage_config({"storage_account_name": "acct"}))
    assert client_made == {
        "account_url": "https://acct.blob.core.windows.net",
        "credential": SIGNED_IN,
    }


def test_blob_endpoint_without_account_signs_in_at_that_endpoint(
    client_made: dict[str, object],
) -> None:
    """A private endpoint (or another cloud's URL) alone: Entra sign-in there."""
    endpoint = "https://acct.privatelink.blob.core.windows.net/"
    config = resolve_storage_config({"blob_endpoint": endpoint})
    blob_service_client(config)
    assert client_made == {"account_url": endpoint.rstrip("/"), "credential": SIGNED_IN}
    assert config.account == "acct"


def test_the_endpoint_suffix_names_the_cloud() -> None:
    config = resolve_storage_config(
        {"storage_account_name": "acct", "endpoint_suffix": "core.usgovcloudapi.net"}
    )
    assert config.account_url == "https://acct.blob.core.usgovcloudapi.net"


def test_without_endpoint_suffix_the_tables_default_is_used() -> None:
    keys = json.loads(
        (Path(credentials.__file__).with_name(credentials.TABLE_FILE)).read_text()
    )["keys"]
    config = resolve_storage_config({"storage_account_name": "acct"})
    assert config.account_url == (
        f"https://acct.blob.{keys['endpoint_suffix']['default']}"
    )


def test_an_unexpanded_pipeline_macro_counts_as_not_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A secret the variable group lacks reaches the step as "$(NAME)"."""
    monkeypatch.chdir(tmp_path)
    for variable in ENVIRONMENT_VARIABLES.values():
        monkeypatch.setenv(variable, f"$({variable})")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "acct")
    config = resolve_storage_config()
    assert config.account_name == "acct"
    assert (config.connection_string, config.account_key, config.sas_token) == (
        None,
        None,
        None,
    )
    assert config.blob_endpoint is None


def test_a_key_without_an_account_name_is_refused() -> None:
    secrets = {
        "blob_endpoint": "https://acct.blob.core.windows.net",
        "storage_account_key": "a2V5",
    }
    with pytest.raises(InvalidSecretsError, match="storage_account_name"):
        resolve_storage_config(secrets)


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_no_secret_of_the_table_shows_in_the_resolved_config(key: str) -> None:
    """Each key the table marks secret is kept out of repr (and so of logs)."""
    secrets = {"storage_account_name": "acct", key: "c2VjcmV0LXZhbHVl"}
    config = resolve_storage_config(secrets)
    assert "c2VjcmV0LXZhbHVl" not in repr(config)


class StaticTokenCredential:
    """A token credential that never signs in (tests never reach Entra ID)."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("token", 4_102_444_800)


def test_explicit_credential_is_used_instead_of_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail() -> None:
        raise AssertionError("DefaultAzureCredential must not be created")

    monkeypatch.setattr(ingestor_module, "default_credential", fail)
    mine = StaticTokenCredential()
    config = resolve_storage_config({"storage_account_name": "acct"})
    client = blob_service_client(config, credential=mine)
    assert client.credential is mine


def test_unreachable_endpoint_is_a_connection_error_without_the_secret() -> None:
    secrets = {
        "storage_account_name": "acct",
        "sas_token": "sv=2024-01-01&sig=TOPSECRETSIGNATURE",
        "blob_endpoint": f"http://127.0.0.1:{free_port()}/acct",
    }
    ingestor = DataIngestor("iris.csv", secrets, retry_total=0)
    with pytest.raises(StorageConnectionError, match=r"cannot reach.*'acct'") as raised:
        ingestor.get_df()
    assert "TOPSECRETSIGNATURE" not in "".join(traceback.format_exception(raised.value))


class FailingCredential:
    """A credential that cannot get a token, like DefaultAzureCredential signed out."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        raise ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token"
        )


def test_credential_without_a_token_says_how_to_sign_in() -> None:
    secrets = {
        "storage_account_name": "acct",
        # https so that the SDK asks for a token; nothing listens on the port.
        "blob_endpoint": f"https://127.0.0.1:{free_port()}/acct",
    }
    ingestor = DataIngestor(
        "iris.csv", secrets, credential=FailingCredential(), retry_total=0
    )
    with pytest.raises(
        StorageAuthenticationError, match=r"could not sign in.*az login"
    ):
        ingestor.get_df()


@pytest.mark.parametrize("content", [b"", b"\n", b"  \r\n\t"])
@pytest.mark.parametrize("extension", ["csv", "json", "jsonl", "csv.gz", "parquet"])
def test_empty_file_is_a_parse_error_in_every_format(
    extension: str, content: bytes, tmp_path: Path
) -> None:
    path = tmp_path / f"empty.{extension}"
    path.write_bytes(content)
    with pytest.raises(DataParseError, match=r"empty\.\S+ is empty"):
        DataIngestor(path).get_df()


def test_directory_given_as_the_data_file_is_a_local_file_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(LocalFileError, match=r"folder\.csv.*path of a data file"):
        DataIngestor(tmp_path / "folder.csv").get_df()


def test_directory_given_as_the_secrets_file_is_invalid_secrets(
    tmp_path: Path,
) -> None:
    (tmp_path / "secrets-dir").mkdir()
    with pytest.raises(InvalidSecretsError, match=r"secrets-dir.*JSON file"):
        resolve_storage_config(tmp_path / "secrets-dir")


def test_directory_named_secrets_json_is_invalid_secrets(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").mkdir()
    with pytest.raises(InvalidSecretsError, match=r"secrets\.json.*JSON file"):
        DataIngestor("raw/churn.csv")


def test_secrets_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    content = json.dumps({"connection_string": "UseDevelopmentStorage=true"})
    (tmp_path / "secrets.json").write_bytes(b"\xef\xbb\xbf" + content.encode())
    assert resolve_storage_config().connection_string == "UseDevelopmentStorage=true"


@pytest.mark.parametrize(
    ("secrets", "key"),
    [
        ({"connection_string": "not-a-connection-string"}, "connection_string"),
        ({"connection_string": "AccountKey=TOPSECRET;broken"}, "connection_string"),
        ({"storage_account_name": "acct", "blob_endpoint": "http://"}, "blob_endpoint"),
    ],
)
def test_unusable_connection_settings_are_invalid_secrets(
    secrets: dict[str, str], key: str
) -> None:
    with pytest.raises(InvalidSecretsError, match=f"'{key}' in the secrets argument"):
        DataIngestor("iris.csv", secrets, credential=StaticTokenCredential()).get_df()


# A SAS token: the SDK signs in with a token credential over https only.
SAS_SECRETS = {"storage_account_name": "acct", "sas_token": "sv=2024-01-01&sig=x"}

# The failing-endpoint tests wait out real timeouts and back-offs, shortened
# through settings (the defaults would take 2 to 6 s per test).
SHORT_BACKOFF = 0.5
SHORT_TIMEOUT = 3.0


@pytest.fixture
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.STORAGE_RETRY_BACKOFF shortened to SHORT_BACKOFF seconds."""
    monkeypatch.setattr(settings, "STORAGE_RETRY_BACKOFF", SHORT_BACKOFF)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A 127.0.0.1 port whose connections never complete, like a blocked network.

    A listener with a backlog of one, filled by one connection: the kernel
    drops later connection requests, so a client waits for its own timeout.
    """
    with socket.socket() as server, socket.socket() as filler:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        filler.connect(server.getsockname())
        yield f"http://127.0.0.1:{server.getsockname()[1]}/acct"


@pytest.mark.usefixtures("short_backoff")
def test_silent_endpoint_fails_within_the_timeout(silent_endpoint: str) -> None:
    secrets = {**SAS_SECRETS, "blob_endpoint": silent_endpoint}
    ingestor = DataIngestor("iris.csv", secrets, timeout=SHORT_TIMEOUT)
    started = time.monotonic()
    with pytest.raises(StorageConnectionError, match="cannot reach"):
        ingestor.get_df()
    elapsed = time.monotonic() - started
    # Two attempts wait out their (timeout - longest back-off) / 4 s, with one
    # back-off between them.
    shortest_backoff, longest_backoff = backoff_bounds()
    shortest = 2 * (SHORT_TIMEOUT - longest_backoff) / 4 + shortest_backoff
    assert shortest <= elapsed <= SHORT_TIMEOUT + 0.5, elapsed


@pytest.mark.usefixtures("short_backoff")
def test_refused_endpoint_fails_after_one_back_off_by_default() -> None:
    """The default timeout is not waited out: a refused connection fails at once."""
    secrets = {**SAS_SECRETS, "blob_endpoint": f"http://127.0.0.1:{free_port()}/acct"}
    ingestor = DataIngestor("iris.csv", secrets)
    started = time.monotonic()
    with pytest.raises(StorageConnectionError, match="cannot reach"):
        ingestor.get_df()
    assert time.monotonic() - started <= backoff_bounds()[1] + 1


def test_the_default_back_off_is_2_to_4_seconds() -> None:
    assert backoff_bounds() == (2.0, 4.0)
    options = bounded_client_options(settings.STORAGE_TIMEOUT)
    assert (options["initial_backoff"], options["increment_base"]) == (0, 3.0)
    assert options["random_jitter_range"] == 1.0


def test_default_timeout_bounds_the_worst_case_under_30_seconds() -> None:
    """Two attempts, each a connection and a read waited out, and one back-off."""
    options = bounded_client_options(settings.STORAGE_TIMEOUT)
    attempts = options["retry_total"] + 1
    each = options["connection_timeout"] + options["read_timeout"]
    worst = attempts * each + backoff_bounds()[1]
    assert attempts == ATTEMPTS == 2
    assert worst == settings.STORAGE_TIMEOUT < 30


def test_timeout_shorter_than_the_back_off_is_refused() -> None:
    with pytest.raises(DataIngestionError, match="timeout=1 is too short"):
        DataIngestor(
            "iris.csv",
            {"connection_string": "UseDevelopmentStorage=true"},
            timeout=1,
        )


@pytest.fixture
def mute_endpoint() -> Iterator[str]:
    """A 127.0.0.1 port that accepts every connection and never answers."""
    accepted: list[socket.socket] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)

        def accept() -> None:
            while True:
                try:
                    accepted.append(server.accept()[0])
                except OSError:  # the listener is closed
                    return

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.getsockname()[1]}/acct"
        server.shutdown(socket.SHUT_RDWR)
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()


@pytest.fixture
def failing_endpoint() -> Iterator[str]:
    """A 127.0.0.1 HTTP server that answers every request with a 500."""

    class Failing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Failing) as server:
        # shutdown() waits for serve_forever's next poll: 0.05 s, not the default 0.5 s.
        thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), daemon=True
        )
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}/acct"
        server.shutdown()


@pytest.mark.parametrize(
    ("endpoint", "error", "says"),
    [
        ("mute_endpoint", StorageConnectionError, "cannot reach"),
        ("failing_endpoint", DataIngestionError, "500"),
    ],
    ids=["never-answers", "answers-500"],
)
@pytest.mark.usefixtures("short_backoff")
def test_a_failing_endpoint_fails_within_the_timeout(
    request: pytest.FixtureRequest, endpoint: str, error: type[Exception], says: str
) -> None:
    """Connected, then silent or failing: reads and retries are bounded too."""
    secrets = {**SAS_SECRETS, "blob_endpoint": request.getfixturevalue(endpoint)}
    ingestor = DataIngestor("iris.csv", secrets, timeout=SHORT_TIMEOUT)
    started = time.monotonic()
    with pytest.raises(error, match=says):
        ingestor.get_df()
    assert time.monotonic() - started <= SHORT_TIMEOUT + 0.5


@pytest.mark.parametrize(
    "account", ["evil.example.com/x#", "Acct", "ab", "a" * 25, "my-account"]
)
def test_a_storage_account_name_outside_azures_rule_is_invalid_secrets(
    account: str,
) -> None:
    """No request is sent: the name would otherwise pick the host requests go to."""
    with pytest.raises(InvalidSecretsError, match="storage account name") as error:
        DataIngestor("iris.csv", {**SAS_SECRETS, "storage_account_name": account})
    assert repr(account) in str(error.value)


def test_a_connection_string_account_outside_azures_rule_is_invalid_secrets() -> None:
    """The AccountName inside a connection string follows the same rule, and is named."""
    secrets = {"connection_string": "AccountName=evil.example.com/x#;AccountKey=a2V5"}
    with pytest.raises(InvalidSecretsError, match=r"'evil\.example\.com/x#'"):
        DataIngestor("iris.csv", secrets)


def test_a_symlink_loop_is_a_local_file_error_naming_it(tmp_path: Path) -> None:
    """A typed LocalFileError naming the path, not Python's RuntimeError."""
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    with pytest.raises(LocalFileError, match=r"loop\.csv"):
        DataIngestor(loop).get_df()


def test_a_symlink_loop_given_as_a_name_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative name that is no file is a blob name; the hint names the path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    with pytest.raises(MissingCredentialsError, match=r"loop\.csv"):
        DataIngestor("loop.csv", {})


@pytest.mark.parametrize("name", ["iris\0.csv", "./iris\0.csv"])
def test_a_nul_in_the_name_is_an_invalid_source(name: str) -> None:
    """A typed InvalidSourceError naming the name as given, not os's ValueError."""
    with pytest.raises(InvalidSourceError, match="NUL") as error:
        DataIngestor(name)
    assert repr(name) in str(error.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX only")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """A FIFO named x.csv is refused at once (no writer ever comes), naming its path."""
    fifo = tmp_path / "x.csv"
    os.mkfifo(fifo)
    with pytest.raises(LocalFileError, match="not a regular file") as error:
        DataIngestor(fifo).get_df()
    assert str(fifo) in str(error.value)


@pytest.mark.parametrize("extension", ["csv", "json", "jsonl"])
def test_a_text_file_with_a_byte_order_mark_is_read(
    extension: str, iris: pd.DataFrame, tmp_path: Path
) -> None:
    """CSV, JSON and JSON Lines alike (as secrets files): editors on Windows may write
    one, and it does not end up in the first column's name."""
    path = tmp_path / f"iris.{extension}"
    WRITERS[extension](iris, path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    pd.testing.assert_frame_equal(DataIngestor(path).get_df(), iris)
