"""The model monitor of the Prod deployment (Azure ML SDK v2).

Azure ML model monitoring
(https://learn.microsoft.com/azure/machine-learning/how-to-monitor-model-performance)
runs signals on a schedule over what a deployment's data collector kept
(``score.py``): here data drift and prediction drift against the data the
deployed model was trained on (its ``training_data`` tag, set at
registration), and data quality. Recurrence, thresholds and alert e-mails come
from ``settings`` (MONITOR_*).

Command line (the release runs it after Prod takes all traffic)::

    python -m {{ cookiecutter.module_name }}.deployment.monitor --model-version 12

There is one monitor, ``settings.MONITOR_NAME``. Its schedule carries a
fingerprint of what it was built from (``MonitorSpec``): a re-run with the
same model, deployment and settings sends nothing; anything else updates it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from azure.ai.ml import Input
from azure.ai.ml.constants import (
    MonitorDatasetContext,
    MonitorTargetTasks,
)
from azure.ai.ml.entities import (
    AlertNotification,
    CategoricalDriftMetrics,
    DataDriftMetricThreshold,
    DataDriftSignal,
    DataQualityMetricsCategorical,
    DataQualityMetricsNumerical,
    DataQualityMetricThreshold,
    DataQualitySignal,
    MonitorDefinition,
    MonitoringTarget,
    MonitorSchedule,
    NumericalDriftMetrics,
    PredictionDriftMetricThreshold,
    PredictionDriftSignal,
    RecurrencePattern,
    RecurrenceTrigger,
    ReferenceData,
    ServerlessSparkCompute,
)

from .. import settings
from ..azureml_config import (
    PACKAGE_NAME,
)
from ..azureml_workspace import (
    get_ml_client,
)
from . import deploy, registration

if TYPE_CHECKING:
    from azure.ai.ml import MLClient

logger = logging.getLogger(__name__)

# The schedule's tag holding the fingerprint of its MonitorSpec.
FINGERPRINT_TAG = "spec_sha256"
TASKS = {
    "classification": MonitorTargetTasks.CLASSIFICATION,
    "regression": MonitorTargetTasks.REGRESSION,
}


class MonitorError(RuntimeError):
    """The monitor cannot be built; the message says what to change."""


@dataclass(frozen=True)
class MonitorSpec:
    """Everything the monitor is built from: the deployment, its model, the settings."""

    name: str
    endpoint: str
    deployment: str
    task: str
    training_data: str
    target_column: str
    frequency: str
    interval: int
    hour: int
    emails: tuple[str, ...]
    drift_threshold: float
    null_rate_threshold: float
    out_of_bounds_threshold: float
    instance_type: str
    spark_runtime: str

    @property
    def fingerprint(self) -> str:
        """A digest of every field: equal specs, equal fingerprints."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def monitor_spec(deployment: str, model_tags: dict[str, str]) -> MonitorSpec:
    """The spec of the monitor of Prod's ``deployment``, serving a model with ``model_tags``.

    Raises:
        MonitorError: The model has no ``training_data`` tag (registered
            before it was recorded), or settings.TASK is not a monitored task.
    """
    training_data = model_tags.get(registration.TRAINING_DATA_TAG)
    if not training_data:
        raise MonitorError(
            f"the deployed model has no {registration.TRAINING_DATA_TAG!r} tag, so "
            "the monitor has no reference data. Register a model trained since "
            "(the model-build pipeline, or deployment.register) and release it."
        )
    if not training_data.startswith("azureml:"):
        raise MonitorError(
            f"the deployed model was trained on {training_data}, which is not an "
            "Azure ML data asset: registration records .csv, .parquet and .jsonl "
            "training data as one. Train on one of those formats (or on an "
            "azureml: MLTable data asset) and release the model."
        )
    if settings.TASK not in TASKS:
        raise MonitorError(
            f"settings.TASK is {settings.TASK!r}; the model monitor watches "
            f"{sorted(TASKS)}"
        )
    return MonitorSpec(
        name=settings.MONITOR_NAME,
        endpoint=settings.PROD_ENDPOINT_NAME,
        deployment=deployment,
        task=settings.TASK,
        training_data=training_data,
        target_column=settings.TARGET_COLUMN,
        frequency=settings.MONITOR_FREQUENCY,
        interval=settings.MONITOR_INTERVAL,
        hour=settings.MONITOR_HOUR,
        emails=tuple(settings.MONITOR_ALERT_EMAILS),
        drift_threshold=settings.MONITOR_DRIFT_THRESHOLD,
        null_rate_threshold=settings.MONITOR_NULL_RATE_THRESHOLD,
        out_of_bounds_threshold=settings.MONITOR_OUT_OF_BOUNDS_THRESHOLD,
        instance_type=settings.MONITOR_INSTANCE_TYPE,
        spark_runtime=settings.MONITOR_SPARK_RUNTIME,
    )


def build_monitor(spec: MonitorSpec) -> MonitorSchedule:
    """The monitor schedule of ``spec``, as Azure ML's entities; nothing is sent."""
    reference = ReferenceData(
        input_data=Input(type="mltable", path=spec.training_data),
        data_context=MonitorDatasetContext.TRAINING,
        data_column_names={"target_column": spec.target_column},
    )
    alert = bool(spec.emails)
    drift = {
        "numerical": NumericalDriftMetrics(
            jensen_shannon_distance=spec.drift_threshold
        ),
        "categorical": CategoricalDriftMetrics(
            jensen_shannon_distance=spec.drift_threshold
        ),
    }
    quality = {
        "null_value_rate": spec.null_rate_threshold,
        "out_of_bounds_rate": spec.out_of_bounds_threshold,
    }
    signals = {
        # Production data: the deployment's collected model_inputs and
        # model_outputs, which Azure ML finds from the monitoring target.
        "data_drift": DataDriftSignal(
            reference_data=reference,
            features="all_features",
            metric_thresholds=DataDriftMetricThreshold(**drift),
            alert_enabled=alert,
        ),
        "prediction_drift": PredictionDriftSignal(
            reference_data=reference,
            metric_thresholds=PredictionDriftMetricThreshold(**drift),
            alert_enabled=alert,
        ),
        "data_quality": DataQualitySignal(
            reference_data=reference,
            features="all_features",
            metric_thresholds=DataQualityMetricThreshold(
                numerical=DataQualityMetricsNumerical(**quality),
                categorical=DataQualityMetricsCategorical(**quality),
            ),
            alert_enabled=alert,
        ),
    }
    definition = MonitorDefinition(
        compute=ServerlessSparkCompute(
            instance_type=spec.instance_type, runtime_version=spec.spark_runtime
        ),
        monitoring_target=MonitoringTarget(
            ml_task=TASKS[spec.task],
            endpoint_deployment_id=f"azureml:{spec.endpoint}:{spec.deployment}",
        ),
        monitoring_signals=signals,
        alert_notification=AlertNotification(emails=list(spec.emails))
        if spec.emails
        else None,
    )
    return MonitorSchedule(
        name=spec.name,
        trigger=RecurrenceTrigger(
            frequency=spec.frequency,
            interval=spec.interval,
            schedule=RecurrencePattern(hours=spec.hour, minutes=0),
        ),
        create_monitor=definition,
        description=f"Drift and data quality of {spec.endpoint}/{spec.deployment}.",
        tags={FINGERPRINT_TAG: spec.fingerprint},
    )


def ensure_monitor(client: MLClient, spec: MonitorSpec) -> bool:
    """Create or update the monitor of ``spec``; False when it is already so.

    The existing schedule's fingerprint tag is compared first: a second run
    with the same spec sends nothing.
    """
    from azure.core.exceptions import ResourceNotFoundError

    try:
        existing = client.schedules.get(name=spec.name)
    except ResourceNotFoundError:
        existing = None
    if existing is not None and (existing.tags or {}).get(FINGERPRINT_TAG) == (
        spec.fingerprint
    ):
        logger.info("Model monitor %s is up to date", spec.name)
        return False
    client.schedules.begin_create_or_update(build_monitor(spec)).result()
    logger.info(
        "Model monitor %s %s: %s every %d %s",
        spec.name,
        "updated" if existing is not None else "created",
        spec.deployment,
        spec.interval,
        spec.frequency,
    )
    return True


def monitor_prod(model_version: str, *, client: MLClient | None = None) -> bool:
    """Create or update the monitor of the Prod deployment that serves all traffic.

    Raises:
        MonitorError: No Prod deployment serves traffic, or the model cannot be
            monitored (see ``monitor_spec``).
    """
    client = client if client is not None else get_ml_client()
    endpoint = client.online_endpoints.get(name=settings.PROD_ENDPOINT_NAME)
    serving = [name for name, share in (endpoint.traffic or {}).items() if share == 100]
    if not serving:
        raise MonitorError(
            f"no deployment of {settings.PROD_ENDPOINT_NAME} takes all traffic "
            f"({endpoint.traffic}); release to Prod first"
        )
    version = deploy.resolve_model_version(client, model_version)
    model = client.models.get(name=settings.MODEL_NAME, version=version)
    return ensure_monitor(client, monitor_spec(serving[0], dict(model.tags or {})))


def main(argv: Sequence[str] | None = None) -> int:
    """Create or update the Prod model monitor; print what was done."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {PACKAGE_NAME}.deployment.monitor",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--model-version",
        default="latest",
        help='the model version Prod serves (default "latest": the newest registered)',
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        changed = monitor_prod(args.model_version)
    except MonitorError as error:
        parser.exit(1, f"error: {error}\n")
    print(f"Model monitor {settings.MONITOR_NAME}: {'set' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
