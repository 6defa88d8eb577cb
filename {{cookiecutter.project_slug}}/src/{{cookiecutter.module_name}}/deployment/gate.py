"""The quality gate: register a new model only when it is not worse than the current one.

``decide`` compares the new model's metric (``settings.GATE_METRIC``, as
read in the ``metrics.json`` that training writes) with the same metric of the
registered version, stored as a tag when that version was registered. The
metric's direction (higher or lower is better) comes from its name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Metrics where a higher value is the better model; the rest of the known ones
# are errors (lower is better).
HIGHER_IS_BETTER = frozenset(
    {
        "accuracy",
        "balanced_accuracy",
        "f1",
        "f1_macro",
        "f1_micro",
        "f1_weighted",
        "precision",
        "recall",
        "roc_auc",
        "average_precision",
        "r2",
    }
)
LOWER_IS_BETTER = frozenset({"rmse", "mae", "mse", "mape", "log_loss"})
LOWER_SUFFIXES = ("_error", "_loss")


class GateError(ValueError):
    """The gate cannot compare: unknown metric, missing value, bad tolerance."""


@dataclass(frozen=True)
class Decision:
    """The gate's answer: register or not, and why (with both numbers)."""

    register: bool
    reason: str


def higher_is_better(metric: str) -> bool:
    """Whether a higher ``metric`` is better.

    Raises:
        GateError: The direction of ``metric`` is not known.
    """
    if metric in HIGHER_IS_BETTER:
        return True
    if metric in LOWER_IS_BETTER or metric.endswith(LOWER_SUFFIXES):
        return False
    raise GateError(
        f"the gate does not know whether a higher {metric!r} is better. Set "
        f"GATE_METRIC in settings.py to one of {sorted(HIGHER_IS_BETTER)} (higher "
        f"is better) or {sorted(LOWER_IS_BETTER)} (lower is better)."
    )


def metric_value(metrics: Mapping[str, Any], metric: str, source: str) -> float:
    """``metrics[metric]`` as a number.

    Raises:
        GateError: The metric is missing, not a number, or NaN.
    """
    if metric not in metrics:
        numeric = sorted(name for name, value in metric_tags(metrics).items())
        raise GateError(
            f"{source} has no {metric!r}; its metrics are {numeric}. Set GATE_METRIC "
            "in settings.py to one of them."
        )
    value = metrics[metric]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GateError(f"{metric!r} in {source} is not a number: {value!r}") from None
    if math.isnan(number):
        raise GateError(f"{metric!r} in {source} is NaN: the model cannot be compared")
    return number


def metric_tags(metrics: Mapping[str, Any]) -> dict[str, str]:
    """The numeric metrics as model tags (text), for the next build to compare."""
    return {
        name: repr(float(value))
        for name, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def decide(
    metric: str,
    candidate: float,
    current: float | None,
    tolerance: float = 0.0,
    *,
    current_version: str | None = None,
) -> Decision:
    """Whether a model whose ``metric`` is ``candidate`` should be registered.

    Yes when no version is registered (``current`` None), or when
    ``candidate`` is not worse than ``current`` by more than ``tolerance``
    (in the metric's direction).

    Raises:
        GateError: ``tolerance`` is negative, or the metric's direction is unknown.
    """
    if tolerance < 0:
        raise GateError(
            f"GATE_TOLERANCE must be 0 or more, got {tolerance}; set it in settings.py"
        )
    higher = higher_is_better(metric)
    if current is None:
        return Decision(
            True, f"no registered version to compare; new {metric} {candidate:.4g}"
        )
    worse_by = (current - candidate) if higher else (candidate - current)
    version = f" (version {current_version})" if current_version else ""
    numbers = (
        f"new {metric} {candidate:.4g}, registered{version} {current:.4g}, "
        f"tolerance {tolerance:g}, {'higher' if higher else 'lower'} is better"
    )
    # The margin absorbs float rounding (1.3 - 1.2 is 0.10000000000000009).
    if worse_by - tolerance > 1e-9 * max(1.0, abs(current)):
        return Decision(False, f"the new model is worse: {numbers}")
    return Decision(True, f"the new model is not worse: {numbers}")
