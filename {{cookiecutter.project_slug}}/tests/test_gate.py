"""The quality gate's decisions, table-driven."""

from __future__ import annotations

import math

import pytest

from {{ cookiecutter.module_name }}.deployment import (
    gate,
)


@pytest.mark.parametrize(
    ("metric", "candidate", "current", "tolerance", "register"),
    [
        ("accuracy", 0.9, None, 0.0, True),  # nothing registered yet
        ("accuracy", 0.95, 0.9, 0.0, True),  # better
        ("accuracy", 0.9, 0.9, 0.0, True),  # equal is not worse
        ("accuracy", 0.89, 0.9, 0.0, False),  # worse
        ("accuracy", 0.89, 0.9, 0.02, True),  # worse, within the tolerance
        ("accuracy", 0.87, 0.9, 0.02, False),  # worse beyond the tolerance
        ("f1", 0.7, 0.8, 0.0, False),
        ("roc_auc", 0.81, 0.8, 0.0, True),
        ("r2", 0.5, 0.6, 0.0, False),  # higher is better
        ("rmse", 1.0, 1.2, 0.0, True),  # lower is better
        ("rmse", 1.3, 1.2, 0.0, False),
        ("rmse", 1.3, 1.2, 0.1, True),
        ("mae", 2.0, 1.0, 0.5, False),
        ("mean_absolute_error", 0.5, 1.0, 0.0, True),  # *_error: lower is better
        ("log_loss", 0.4, 0.3, 0.0, False),
    ],
)
def test_decide(
    metric: str,
    candidate: float,
    current: float | None,
    tolerance: float,
    register: bool,
) -> None:
    decision = gate.decide(metric, candidate, current, tolerance)

    assert decision.register is register
    assert f"new {metric} {candidate:.4g}" in decision.reason
    if current is not None:
        assert f"{current:.4g}" in decision.reason


def test_an_unknown_metric_direction_names_the_known_ones() -> None:
    with pytest.raises(gate.GateError, match=r"GATE_METRIC.*accuracy.*rmse"):
        gate.decide("my_score", 0.5, 0.4)


def test_a_negative_tolerance_is_refused() -> None:
    with pytest.raises(gate.GateError, match="GATE_TOLERANCE"):
        gate.decide("accuracy", 0.5, 0.4, -0.1)


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"f1": 0.5}, r"no 'accuracy'; its metrics are \['f1'\]"),
        ({"accuracy": "high"}, "not a number"),
        ({"accuracy": math.nan}, "NaN"),
    ],
)
def test_metric_value_refuses_what_cannot_be_compared(
    metrics: dict[str, object], message: str
) -> None:
    with pytest.raises(gate.GateError, match=message):
        gate.metric_value(metrics, "accuracy", "metrics.json")


def test_metric_tags_keep_only_numbers() -> None:
    metrics = {"accuracy": 0.5, "n_test": 30, "ok": True, "features": ["a"]}

    assert gate.metric_tags(metrics) == {"accuracy": "0.5", "n_test": "30.0"}
