"""Blue/green releases: the plan (table-driven) and deploy() against a fake workspace.

The fake replaces MLClient at its boundary only: it keeps the endpoint's
deployments and traffic map, fails the operation it is told to, and checks
after every traffic change that no traffic reaches a deployment that failed or
has not passed its smoke test.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from deployment_router import run_router
from prerequisites import require_azureml_sdk

from {{ cookiecutter.module_name }} import (
    settings,
)

pytestmark = [
    pytest.mark.azureml,
    pytest.mark.usefixtures("no_remote_hosts", "azureml_variables_cleared"),
]

require_azureml_sdk()

from azure.core.exceptions import (  # noqa: E402
    HttpResponseError,
    ResourceNotFoundError,
)

from {{ cookiecutter.module_name }}.deployment import (  # noqa: E402
    deploy,
    rollout,
)
from {{ cookiecutter.module_name }}.deployment.rollout import (  # noqa: E402
    EndpointState,
    Kind,
    Step,
)

SCORING_URI = "https://endpoint.westeurope.inference.ml.azure.com/score"
KEY = "fake-primary-key"
MODEL = f"azureml:{settings.MODEL_NAME}:8"


# --- the plan ----------------------------------------------------------------


def traffic(**shares: int) -> Step:
    return Step(Kind.SET_TRAFFIC, traffic=tuple(shares.items()))


ENSURE = Step(Kind.ENSURE_ENDPOINT)
TEST_ENDPOINT = Step(Kind.TEST_ENDPOINT)


def create(name: str) -> Step:
    return Step(Kind.CREATE_DEPLOYMENT, name)


def smoke(name: str) -> Step:
    return Step(Kind.TEST_DEPLOYMENT, name)


def delete(name: str) -> Step:
    return Step(Kind.DELETE_DEPLOYMENT, name)


@pytest.mark.parametrize(
    ("state", "canary", "new", "old", "steps"),
    [
        pytest.param(
            EndpointState(),
            10,
            "blue",
            None,
            [ENSURE, create("blue"), smoke("blue"), traffic(blue=100), TEST_ENDPOINT],
            id="first-release",
        ),
        pytest.param(
            EndpointState(exists=True, deployments=("blue",), traffic={"blue": 100}),
            0,
            "green",
            "blue",
            [
                ENSURE,
                create("green"),
                smoke("green"),
                traffic(blue=0, green=100),
                TEST_ENDPOINT,
                delete("blue"),
            ],
            id="qa-blue-to-green",
        ),
        pytest.param(
            EndpointState(exists=True, deployments=("green",), traffic={"green": 100}),
            10,
            "blue",
            "green",
            [
                ENSURE,
                create("blue"),
                smoke("blue"),
                traffic(green=90, blue=10),
                TEST_ENDPOINT,
                traffic(green=0, blue=100),
                TEST_ENDPOINT,
                delete("green"),
            ],
            id="prod-canary-green-to-blue",
        ),
        pytest.param(
            EndpointState(
                exists=True,
                deployments=("blue", "green"),
                traffic={"blue": 80, "green": 20},
            ),
            0,
            "green",
            "blue",
            [
                ENSURE,
                traffic(blue=100, green=0),
                create("green"),
                smoke("green"),
                traffic(blue=0, green=100),
                TEST_ENDPOINT,
                delete("blue"),
            ],
            id="interrupted-canary-goes-back-first",
        ),
        pytest.param(
            EndpointState(exists=True, deployments=("blue",), traffic={}),
            10,
            "blue",
            None,
            [ENSURE, create("blue"), smoke("blue"), traffic(blue=100), TEST_ENDPOINT],
            id="endpoint-without-traffic-is-a-first-release",
        ),
        pytest.param(
            EndpointState(exists=True, deployments=("main",), traffic={"main": 100}),
            0,
            "blue",
            "main",
            [
                ENSURE,
                create("blue"),
                smoke("blue"),
                traffic(main=0, blue=100),
                TEST_ENDPOINT,
                delete("main"),
            ],
            id="a-hand-made-deployment-is-replaced",
        ),
    ],
)
def test_plan_release(
    state: EndpointState, canary: int, new: str, old: str | None, steps: list[Step]
) -> None:
    plan = rollout.plan_release(state, canary_percent=canary)

    assert (plan.new, plan.old) == (new, old)
    assert list(plan.steps) == steps


@pytest.mark.parametrize("canary", [-1, 100])
def test_plan_refuses_a_canary_share_out_of_range(canary: int) -> None:
    with pytest.raises(rollout.RolloutError, match="CANARY_TRAFFIC_PERCENT"):
        rollout.plan_release(EndpointState(), canary_percent=canary)


BLUE_LIVE = EndpointState(exists=True, deployments=("blue",), traffic={"blue": 100})


@pytest.mark.parametrize(
    ("state", "failed", "undo"),
    [
        pytest.param(BLUE_LIVE, ENSURE, [], id="endpoint-update-changes-nothing"),
        pytest.param(
            BLUE_LIVE,
            smoke("green"),
            [traffic(blue=100, green=0), delete("green")],
            id="new-deployment-fails-its-test",
        ),
        pytest.param(
            BLUE_LIVE,
            TEST_ENDPOINT,
            [traffic(blue=100, green=0), delete("green")],
            id="endpoint-test-fails",
        ),
        pytest.param(
            BLUE_LIVE, delete("blue"), [], id="old-deployment-not-deleted-keeps-new"
        ),
        pytest.param(
            EndpointState(),
            TEST_ENDPOINT,
            [traffic(blue=0), delete("blue")],
            id="first-release-fails",
        ),
    ],
)
def test_plan_rollback(state: EndpointState, failed: Step, undo: list[Step]) -> None:
    plan = rollout.plan_release(state)

    assert list(rollout.plan_rollback(plan, failed)) == undo


# --- deploy() against a fake workspace ---------------------------------------


class Poller:
    def __init__(self, value: Any = None) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class InjectedFailure(HttpResponseError):
    """The failure the fake workspace was told to raise."""


class FakeWorkspace:
    """Stands in for MLClient: one endpoint, its deployments and traffic.

    Every operation has a label ("endpoint", "deployment green", "traffic",
    "delete blue", "smoke green", "smoke endpoint"); the ``fail_at``-th
    operation (counting from 0) raises. ``violations`` lists every moment
    traffic reached a deployment that failed or was not smoke-tested.
    """

    def __init__(
        self,
        deployments: dict[str, str] | None = None,
        traffic: dict[str, int] | None = None,
        fail_at: int | None = None,
    ) -> None:
        self.scoring_uri = SCORING_URI
        self.endpoint_exists = deployments is not None
        self.deployments = dict(deployments or {})
        self.traffic = dict(traffic or {})
        # Deployments trusted to take traffic: those live before the release,
        # and those that passed their own smoke test since their last update.
        self.trusted = {name for name, share in self.traffic.items() if share > 0}
        self.failed: set[str] = set()
        self.fail_at = fail_at
        self.operations: list[str] = []
        self.traffic_history: list[dict[str, int]] = []
        self.violations: list[str] = []
        self.models = SimpleNamespace(get=self._get_model)
        self.online_endpoints = SimpleNamespace(
            get=self._get_endpoint,
            begin_create_or_update=self._update_endpoint,
            get_keys=self._get_keys,
        )
        self.online_deployments = SimpleNamespace(
            list=self._list_deployments,
            begin_create_or_update=self._create_deployment,
            begin_delete=self._delete_deployment,
        )

    def _operation(self, label: str) -> None:
        self.operations.append(label)
        if len(self.operations) - 1 == self.fail_at:
            raise InjectedFailure(f"injected failure of {label}")

    def _get_model(self, name: str, label: str | None = None) -> Any:
        return SimpleNamespace(name=name, version="8")

    def _get_endpoint(self, name: str) -> Any:
        if not self.endpoint_exists:
            raise ResourceNotFoundError(f"endpoint {name} not found")
        return SimpleNamespace(
            name=name, traffic=dict(self.traffic), scoring_uri=self.scoring_uri
        )

    def _get_keys(self, name: str) -> Any:
        return SimpleNamespace(primary_key=KEY)

    def _update_endpoint(self, endpoint: Any) -> Poller:
        new_traffic = dict(endpoint.traffic or {})
        label = "traffic" if new_traffic != self.traffic else "endpoint"
        self._operation(label)
        unknown = set(new_traffic) - set(self.deployments)
        assert not unknown, f"traffic to deployments that do not exist: {unknown}"
        # All traffic goes somewhere, or (a first release rolled back) nowhere.
        assert sum(new_traffic.values()) in (0, 100), new_traffic
        self.endpoint_exists = True
        self.traffic = new_traffic
        self.traffic_history.append(dict(new_traffic))
        self._check_traffic()
        return Poller(endpoint)

    def _check_traffic(self) -> None:
        for name, share in self.traffic.items():
            if share > 0 and (name in self.failed or name not in self.trusted):
                self.violations.append(f"{share} % to {name} in {self.traffic}")

    def _list_deployments(self, endpoint_name: str) -> list[Any]:
        return [SimpleNamespace(name=name) for name in self.deployments]

    def _create_deployment(self, deployment: Any) -> Poller:
        assert self.endpoint_exists, "a deployment needs its endpoint first"
        name = deployment.name
        # Updating a deployment in place: what it serves is untested again.
        self.trusted.discard(name)
        self.deployments[name] = deployment.model
        try:
            self._operation(f"deployment {name}")
        except InjectedFailure:
            self.failed.add(name)  # Azure keeps a deployment in state Failed
            raise
        self._check_traffic()
        return Poller(deployment)

    def _delete_deployment(self, name: str, endpoint_name: str) -> Poller:
        if name not in self.deployments:
            raise ResourceNotFoundError(f"deployment {name} not found")
        assert self.traffic.get(name, 0) == 0, f"deleting {name} while it serves"
        self._operation(f"delete {name}")
        del self.deployments[name]
        self.trusted.discard(name)
        self.traffic.pop(name, None)
        return Poller()

    def smoke(self, scoring_uri: str, key: str, deployment: str | None) -> None:
        """The smoke test: a deployment passes once it is created and not failed."""
        assert (scoring_uri, key) == (self.scoring_uri, KEY)
        if deployment is None:
            self._operation("smoke endpoint")
            return
        assert deployment in self.deployments
        try:
            self._operation(f"smoke {deployment}")
        except InjectedFailure:
            self.failed.add(deployment)
            raise
        self.trusted.add(deployment)

    def watch(self, smoke: deploy.Smoke) -> deploy.Smoke:
        """``smoke``, recording which deployments pass or fail their own test."""

        def watched(scoring_uri: str, key: str, deployment: str | None) -> None:
            try:
                smoke(scoring_uri, key, deployment)
            except Exception:
                if deployment:
                    self.failed.add(deployment)
                raise
            if deployment:
                self.trusted.add(deployment)

        return watched


def release(workspace: FakeWorkspace, stage: str = "qa") -> str:
    return deploy.deploy(stage, "8", client=workspace, smoke=workspace.smoke)


def ops_of_a_good_release(
    deployments: dict[str, str] | None, traffic: dict[str, int] | None, stage: str
) -> list[str]:
    workspace = FakeWorkspace(deployments, traffic)
    release(workspace, stage)
    return workspace.operations


OLD_MODEL = f"azureml:{settings.MODEL_NAME}:7"
RELEASES = {
    "qa-first": (None, None, "qa"),
    "qa-blue-live": ({"blue": OLD_MODEL}, {"blue": 100}, "qa"),
    "prod-first": (None, None, "prod"),
    "prod-green-live": ({"green": OLD_MODEL}, {"green": 100}, "prod"),
}


def test_qa_release_moves_all_traffic_after_the_deployment_test() -> None:
    workspace = FakeWorkspace({"blue": OLD_MODEL}, {"blue": 100})

    assert release(workspace) == SCORING_URI

    assert workspace.operations == [
        "endpoint",
        "deployment green",
        "smoke green",
        "traffic",
        "smoke endpoint",
        "delete blue",
    ]
    assert workspace.deployments == {"green": MODEL}
    assert workspace.traffic == {"green": 100}
    assert workspace.violations == []


def test_prod_release_goes_through_the_canary_share() -> None:
    workspace = FakeWorkspace({"green": OLD_MODEL}, {"green": 100})

    release(workspace, "prod")

    share = settings.CANARY_TRAFFIC_PERCENT
    assert workspace.traffic_history == [
        {"green": 100},  # the endpoint updated, its traffic kept
        {"green": 100 - share, "blue": share},
        {"green": 0, "blue": 100},
    ]
    assert workspace.deployments == {"blue": MODEL}
    assert workspace.violations == []


def test_first_release_goes_to_blue_after_its_smoke_test() -> None:
    workspace = FakeWorkspace()

    release(workspace, "prod")

    assert workspace.operations == [
        "endpoint",
        "deployment blue",
        "smoke blue",
        "traffic",
        "smoke endpoint",
    ]
    assert workspace.traffic == {"blue": 100}
    assert workspace.violations == []


def failure_points() -> list[Any]:
    """(release, index of the failing operation), for every operation."""
    return [
        pytest.param(name, index, id=f"{name}-fails-at-{label.replace(' ', '-')}")
        for name, (deployments, traffic, stage) in RELEASES.items()
        for index, label in enumerate(
            ops_of_a_good_release(deployments, traffic, stage)
        )
    ]


@pytest.mark.parametrize(("name", "fail_at"), failure_points())
def test_a_failure_at_any_step_never_leaves_traffic_on_an_untested_deployment(
    name: str, fail_at: int
) -> None:
    deployments, traffic, stage = RELEASES[name]
    old = next(iter(deployments or {}), None)
    workspace = FakeWorkspace(deployments, traffic, fail_at=fail_at)
    failing = ops_of_a_good_release(deployments, traffic, stage)[fail_at]

    with pytest.raises(rollout.RolloutError, match="injected failure") as caught:
        release(workspace, stage)

    assert workspace.violations == []
    serving = {name for name, share in workspace.traffic.items() if share > 0}
    if failing == f"delete {old}":
        # The new deployment passed every test and serves; only the clean-up failed.
        assert serving == {"blue", "green"} - {old}
        assert set(workspace.deployments) == {"blue", "green"}
    elif old is None:
        assert serving == set()
        assert workspace.deployments == {}
    else:
        assert serving == {old}
        assert workspace.deployments == {old: OLD_MODEL}
        if failing != "endpoint":
            assert f"traffic is back on {old}" in str(caught.value)


def test_a_failing_rollback_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = FakeWorkspace({"blue": OLD_MODEL}, {"blue": 100})

    def failing_smoke(scoring_uri: str, key: str, deployment: str | None) -> None:
        workspace.fail_at = len(workspace.operations)  # the rollback's first step
        raise RuntimeError("green answered 500")

    with pytest.raises(rollout.RolloutError) as caught:
        deploy.deploy("qa", "8", client=workspace, smoke=failing_smoke)

    message = str(caught.value)
    assert "green answered 500" in message
    assert "rollback step 'set traffic: blue 100 %, green 0 %' failed too" in message
    assert workspace.traffic == {"blue": 100}


def test_release_log_shows_every_traffic_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    workspace = FakeWorkspace({"green": OLD_MODEL}, {"green": 100})

    with caplog.at_level("INFO"):
        release(workspace, "prod")

    share = settings.CANARY_TRAFFIC_PERCENT
    assert f"set traffic: green {100 - share} %, blue {share} %" in caplog.text
    assert "set traffic: green 0 %, blue 100 %" in caplog.text
    assert "Released: blue serves all traffic" in caplog.text


def test_deployment_passes_the_row_limit_to_score_py() -> None:
    deployment = deploy.build_deployment("qa", "3")

    assert deployment.environment_variables["MAX_ROWS_PER_REQUEST"] == str(
        settings.MAX_ROWS_PER_REQUEST
    )


def test_deploy_command_line_reports_a_rolled_back_release(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = FakeWorkspace({"blue": OLD_MODEL}, {"blue": 100}, fail_at=2)
    monkeypatch.setattr(deploy, "get_ml_client", lambda: workspace)
    monkeypatch.setattr(deploy, "smoke_test_payload", workspace.smoke)

    with pytest.raises(SystemExit) as caught:
        deploy.main(["--stage", "qa", "--model-version", "8"])

    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert "smoke green" in err
    assert "traffic is back on blue" in err
    assert KEY not in err


def test_deploy_command_line_prints_and_writes_the_uri_never_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = FakeWorkspace({"blue": OLD_MODEL}, {"blue": 100})
    monkeypatch.setattr(deploy, "get_ml_client", lambda: workspace)
    monkeypatch.setattr(deploy, "smoke_test_payload", workspace.smoke)
    uri_file = tmp_path / "out" / "scoring_uri.txt"

    argv = ["--stage", "qa", "--model-version", "8", "--output-uri", str(uri_file)]
    assert deploy.main(argv) == 0

    captured = capsys.readouterr()
    assert captured.out == SCORING_URI + "\n"
    assert uri_file.read_text().strip() == SCORING_URI
    assert KEY not in captured.out + captured.err + uri_file.read_text()
    assert workspace.traffic == {"green": 100}


# --- deploy() with real inference servers behind a loopback endpoint ----------

# The servers serve a model of the iris sample (conftest.py), whatever data
# settings.py names: the smoke test sends them the iris payload.
IRIS_PAYLOAD = Path(__file__).parent / "data" / "iris_payload.json"


@pytest.fixture
def iris_payload(monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy.smoke_test_payload reads the iris payload instead of .azureml/test.json."""
    project_file = deploy.project_file
    monkeypatch.setattr(
        deploy,
        "project_file",
        lambda *parts: (
            IRIS_PAYLOAD if parts == (".azureml", "test.json") else project_file(*parts)
        ),
    )


@pytest.mark.usefixtures("iris_payload")
def test_release_to_real_servers_moves_traffic_to_the_tested_deployment(
    blue_green_servers: dict[str, str],
) -> None:
    workspace = FakeWorkspace({"green": OLD_MODEL}, {"green": 100})
    good = blue_green_servers["blue"]
    with run_router({"blue": good, "green": good}, lambda: workspace.traffic) as (
        uri,
        routed,
    ):
        workspace.scoring_uri = uri
        smoke = workspace.watch(deploy.smoke_test_payload)
        deploy.deploy("prod", "8", client=workspace, smoke=smoke)

    # The new deployment directly, the endpoint at the canary share, then at 100 %.
    assert routed == ["blue", "green", "blue"]
    assert workspace.traffic == {"blue": 100}
    assert workspace.violations == []


@pytest.mark.usefixtures("iris_payload")
def test_release_of_a_broken_model_to_real_servers_rolls_back(
    blue_green_servers: dict[str, str],
) -> None:
    workspace = FakeWorkspace({"blue": OLD_MODEL}, {"blue": 100})
    with run_router(blue_green_servers, lambda: workspace.traffic) as (uri, routed):
        workspace.scoring_uri = uri
        smoke = workspace.watch(deploy.smoke_test_payload)
        with pytest.raises(rollout.RolloutError, match="answered 400") as caught:
            deploy.deploy("prod", "8", client=workspace, smoke=smoke)

    assert routed == ["green"]
    assert "traffic is back on blue" in str(caught.value)
    assert workspace.traffic == {"blue": 100}
    assert workspace.deployments == {"blue": OLD_MODEL}
    assert workspace.violations == []
