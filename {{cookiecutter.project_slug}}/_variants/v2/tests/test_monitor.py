"""The Prod model monitor, and the training data it compares with, against a fake MLClient.

The monitor is built with Azure ML's real entities; the fake replaces MLClient
at its boundary only (schedules, endpoints, models, data assets), as in
test_rollout.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from prerequisites import require_azureml_sdk

from {{ cookiecutter.module_name }} import (
    settings,
)

pytestmark = [
    pytest.mark.azureml,
    pytest.mark.usefixtures("no_remote_hosts", "azureml_variables_cleared"),
]

require_azureml_sdk()

from azure.ai.ml.entities import (  # noqa: E402
    DataDriftSignal,
    DataQualitySignal,
    MonitorSchedule,
    PredictionDriftSignal,
)
from azure.core.exceptions import ResourceNotFoundError  # noqa: E402

from {{ cookiecutter.module_name }}.deployment import (  # noqa: E402
    monitor,
    register,
    registration,
)

TRAINING_DATA = f"azureml:{register.TRAINING_DATA_ASSET}:0123456789abcdef"
MODEL_TAGS = {"f1_macro": "0.97", registration.TRAINING_DATA_TAG: TRAINING_DATA}


class Poller:
    def __init__(self, value: Any = None) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class FakeWorkspace:
    """Stands in for MLClient: Prod's endpoint, a model version, schedules, data assets."""

    def __init__(self, traffic: dict[str, int], model_tags: dict[str, str]) -> None:
        self.traffic = traffic
        self.model_tags = model_tags
        self.schedules_kept: dict[str, MonitorSchedule] = {}
        self.sent: list[MonitorSchedule] = []
        self.data_assets: dict[tuple[str, str], Any] = {}
        self.data_created: list[Any] = []
        self.online_endpoints = SimpleNamespace(get=self._get_endpoint)
        self.models = SimpleNamespace(get=self._get_model)
        self.schedules = SimpleNamespace(
            get=self._get_schedule, begin_create_or_update=self._put_schedule
        )
        self.data = SimpleNamespace(get=self._get_data, create_or_update=self._put_data)

    def _get_endpoint(self, name: str) -> Any:
        assert name == settings.PROD_ENDPOINT_NAME
        return SimpleNamespace(name=name, traffic=dict(self.traffic))

    def _get_model(
        self, name: str, version: str | None = None, label: str | None = None
    ) -> Any:
        assert name == settings.MODEL_NAME
        return SimpleNamespace(name=name, version=version or "12", tags=self.model_tags)

    def _get_schedule(self, name: str) -> MonitorSchedule:
        if name not in self.schedules_kept:
            raise ResourceNotFoundError(f"schedule {name} not found")
        return self.schedules_kept[name]

    def _put_schedule(self, schedule: MonitorSchedule) -> Poller:
        self.sent.append(schedule)
        self.schedules_kept[schedule.name] = schedule
        return Poller(schedule)

    def _get_data(self, name: str, version: str) -> Any:
        if (name, version) not in self.data_assets:
            raise ResourceNotFoundError(f"data {name}:{version} not found")
        return self.data_assets[name, version]

    def _put_data(self, data: Any) -> Any:
        # The folder is uploaded during the call: keep what it held.
        data.uploaded = {f.name: f.read_bytes() for f in Path(data.path).iterdir()}
        self.data_created.append(data)
        self.data_assets[data.name, data.version] = data
        return data


def prod(model_tags: dict[str, str] = MODEL_TAGS) -> FakeWorkspace:
    return FakeWorkspace({"blue": 0, "green": 100}, model_tags)


def built(deployment: str = "green") -> MonitorSchedule:
    return monitor.build_monitor(monitor.monitor_spec(deployment, MODEL_TAGS))


def test_monitor_watches_data_drift_prediction_drift_and_data_quality() -> None:
    """The monitor holds the three signals, on Prod's live deployment, for the task."""
    schedule = built()

    definition = schedule.create_monitor
    signals = definition.monitoring_signals
    assert {name: type(signal) for name, signal in signals.items()} == {
        "data_drift": DataDriftSignal,
        "prediction_drift": PredictionDriftSignal,
        "data_quality": DataQualitySignal,
    }
    target = definition.monitoring_target
    assert (
        target.endpoint_deployment_id == f"azureml:{settings.PROD_ENDPOINT_NAME}:green"
    )
    assert str(target.ml_task.value).lower() == settings.TASK


def test_reference_data_is_the_models_own_training_data() -> None:
    """Every signal compares with the data asset the deployed model was trained on."""
    signals = built().create_monitor.monitoring_signals

    for signal in signals.values():
        reference = signal.reference_data
        assert (reference.input_data.type, reference.input_data.path) == (
            "mltable",
            TRAINING_DATA,
        )
        assert reference.data_context == "training"
        assert reference.data_column_names == {"target_column": settings.TARGET_COLUMN}


def test_thresholds_and_recurrence_come_from_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MONITOR_* settings give the schedule and every signal's threshold."""
    monkeypatch.setattr(settings, "MONITOR_FREQUENCY", "week")
    monkeypatch.setattr(settings, "MONITOR_HOUR", 5)
    monkeypatch.setattr(settings, "MONITOR_DRIFT_THRESHOLD", 0.2)
    monkeypatch.setattr(settings, "MONITOR_NULL_RATE_THRESHOLD", 0.01)

    schedule = built()

    assert (schedule.trigger.frequency, schedule.trigger.interval) == ("week", 1)
    assert schedule.trigger.schedule.hours == 5
    signals = schedule.create_monitor.monitoring_signals
    drift = signals["data_drift"].metric_thresholds
    assert drift.numerical.jensen_shannon_distance == 0.2
    assert drift.categorical.jensen_shannon_distance == 0.2
    predictions = signals["prediction_drift"].metric_thresholds
    assert predictions.numerical.jensen_shannon_distance == 0.2
    quality = signals["data_quality"].metric_thresholds
    assert quality.numerical.null_value_rate == 0.01
    assert quality.categorical.null_value_rate == 0.01


def test_alert_emails_from_settings_turn_on_alerts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Listed e-mails get the alerts of every signal."""
    monkeypatch.setattr(settings, "MONITOR_ALERT_EMAILS", ["ml-team@example.com"])

    definition = built().create_monitor

    assert definition.alert_notification.emails == ["ml-team@example.com"]
    assert all(s.alert_enabled for s in definition.monitoring_signals.values())


def test_no_alert_emails_send_no_email() -> None:
    """An empty MONITOR_ALERT_EMAILS sends nothing: no notification, alerts off."""
    assert settings.MONITOR_ALERT_EMAILS == []

    definition = built().create_monitor

    assert definition.alert_notification is None
    assert not any(s.alert_enabled for s in definition.monitoring_signals.values())


def test_monitor_is_created_for_the_deployment_serving_all_traffic() -> None:
    """monitor_prod() sends one schedule, on the deployment that takes 100 %."""
    workspace = prod()

    assert monitor.monitor_prod("12", client=workspace) is True

    (sent,) = workspace.sent
    assert sent.name == settings.MONITOR_NAME
    target = sent.create_monitor.monitoring_target
    assert target.endpoint_deployment_id.endswith(":green")


def test_creating_the_monitor_twice_changes_nothing() -> None:
    """A second run with the same model, deployment and settings sends nothing."""
    workspace = prod()
    monitor.monitor_prod("12", client=workspace)

    assert monitor.monitor_prod("12", client=workspace) is False

    assert len(workspace.sent) == 1


def test_a_new_deployment_updates_the_one_monitor() -> None:
    """The next release (traffic on blue) updates the same monitor, not a second one."""
    workspace = prod()
    monitor.monitor_prod("12", client=workspace)
    workspace.traffic = {"blue": 100, "green": 0}

    assert monitor.monitor_prod("12", client=workspace) is True

    assert [schedule.name for schedule in workspace.sent] == [settings.MONITOR_NAME] * 2
    assert list(workspace.schedules_kept) == [settings.MONITOR_NAME]
    target = workspace.sent[-1].create_monitor.monitoring_target
    assert target.endpoint_deployment_id.endswith(":blue")


def test_a_model_without_training_data_is_refused_saying_what_to_do() -> None:
    """A model registered before its training data was recorded gets one clear error."""
    workspace = prod({"f1_macro": "0.97"})

    with pytest.raises(monitor.MonitorError, match="Register a model trained since"):
        monitor.monitor_prod("12", client=workspace)

    assert workspace.sent == []


def test_no_deployment_with_all_traffic_is_refused() -> None:
    """Mid-release (a canary split) there is nothing to monitor yet: an error, nothing sent."""
    workspace = FakeWorkspace({"blue": 90, "green": 10}, MODEL_TAGS)

    with pytest.raises(monitor.MonitorError, match="release to Prod first"):
        monitor.monitor_prod("12", client=workspace)

    assert workspace.sent == []


# --- registration records the training data ----------------------------------


def test_local_training_data_becomes_one_mltable_data_asset(tmp_path: Path) -> None:
    """A local CSV is uploaded once with an MLTable that reads it; again, it is reused."""
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n")
    workspace = prod()

    first = register.training_data_asset(workspace, str(data))
    second = register.training_data_asset(workspace, str(data))

    assert first == second
    assert first.startswith(f"azureml:{register.TRAINING_DATA_ASSET}:")
    (created,) = workspace.data_created
    assert created.type == "mltable"
    assert created.uploaded["train.csv"] == data.read_bytes()
    mltable = yaml.safe_load(created.uploaded["MLTable"])
    assert mltable["paths"] == [{"file": "./train.csv"}]
    assert list(mltable["transformations"][0]) == ["read_delimited"]


def test_training_data_in_storage_is_referenced_not_copied() -> None:
    """A blob URL becomes an MLTable that points at it; nothing else is uploaded."""
    url = "https://acct.blob.core.windows.net/data/train.parquet"
    workspace = prod()

    register.training_data_asset(workspace, url)

    (created,) = workspace.data_created
    assert list(created.uploaded) == ["MLTable"]
    mltable = yaml.safe_load(created.uploaded["MLTable"])
    assert mltable["paths"] == [{"file": url}]
    assert list(mltable["transformations"][0]) == ["read_parquet"]


def test_a_format_an_mltable_cannot_read_is_kept_and_the_monitor_says_so(
    tmp_path: Path,
) -> None:
    """JSON training data stays a path; the monitor refuses it naming the formats."""
    data = tmp_path / "train.json"
    data.write_text('[{"a": 1}]')
    workspace = prod()

    kept = register.training_data_asset(workspace, str(data))

    assert kept == str(data)
    assert workspace.data_created == []
    with pytest.raises(monitor.MonitorError, match=r"\.csv, \.parquet and \.jsonl"):
        monitor.monitor_spec("green", {registration.TRAINING_DATA_TAG: kept})


def test_a_data_asset_reference_is_kept_as_it_is() -> None:
    """Training data that already is an azureml: asset is the model's tag unchanged."""
    workspace = prod()

    assert register.training_data_asset(workspace, TRAINING_DATA) == TRAINING_DATA
    assert workspace.data_created == []


def test_registration_tags_the_model_with_its_training_data() -> None:
    """metrics.json's training_data reaches the model's tags, beside the metrics."""
    metrics = {
        "f1_macro": 0.9,
        "training_data": "https://acct.blob.core.windows.net/c/d.csv",
    }

    tags = registration.model_metric_tags(metrics)

    assert tags == {
        "f1_macro": "0.9",
        "training_data": "https://acct.blob.core.windows.net/c/d.csv",
    }
