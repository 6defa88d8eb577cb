"""Blue/green rollout of an online endpoint: the plan, and the driver that runs it.

Microsoft's safe rollout for online endpoints
(https://learn.microsoft.com/azure/machine-learning/how-to-safely-rollout-managed-endpoints):
the new model goes to a second deployment at 0 % traffic, is tested there
(a request with the ``azureml-model-deployment`` header reaches one named
deployment whatever the traffic), and only then receives traffic; the old
deployment is deleted at the end.

This module holds no Azure ML SDK code. ``plan_release`` turns what the
endpoint looks like now into the steps of a release; ``run`` executes them
with an ``Actions`` object (``deploy.py`` gives one that calls ``MLClient``)
and, when a step fails, rolls back: traffic returns to (or stays on) the old
deployment and the new one is deleted.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

logger = logging.getLogger(__name__)

# The two deployment names a release alternates between.
DEPLOYMENT_NAMES = ("blue", "green")


class RolloutError(RuntimeError):
    """A release failed; the message says at which step, why, and where traffic is."""


class Kind(enum.Enum):
    """What a step does."""

    ENSURE_ENDPOINT = "create or update the endpoint (traffic unchanged)"
    CREATE_DEPLOYMENT = "create the deployment at 0 % traffic"
    TEST_DEPLOYMENT = "smoke-test the deployment directly"
    SET_TRAFFIC = "set the endpoint's traffic"
    TEST_ENDPOINT = "smoke-test through the endpoint"
    DELETE_DEPLOYMENT = "delete the deployment"


@dataclass(frozen=True)
class Step:
    """One action of a release: its kind, the deployment, or the traffic map."""

    kind: Kind
    deployment: str | None = None
    traffic: tuple[tuple[str, int], ...] = ()

    @property
    def traffic_map(self) -> dict[str, int]:
        """The traffic of a SET_TRAFFIC step, as {deployment: percent}."""
        return dict(self.traffic)

    def __str__(self) -> str:
        """The step as the release log shows it."""
        if self.kind is Kind.SET_TRAFFIC:
            shares = ", ".join(f"{name} {share} %" for name, share in self.traffic)
            return f"set traffic: {shares or 'none'}"
        if self.deployment:
            return f"{self.kind.value}: {self.deployment}"
        return self.kind.value


@dataclass(frozen=True)
class EndpointState:
    """What the endpoint looks like before a release.

    Attributes:
        exists: Whether the endpoint exists at all.
        deployments: The names of its deployments.
        traffic: Its traffic map, {deployment: percent}.
    """

    exists: bool = False
    deployments: tuple[str, ...] = ()
    traffic: Mapping[str, int] = field(default_factory=dict)

    @property
    def live(self) -> str | None:
        """The deployment that serves the most traffic, if any serves some."""
        serving = [
            (share, name)
            for name, share in self.traffic.items()
            if share > 0 and name in self.deployments
        ]
        return max(serving)[1] if serving else None


@dataclass(frozen=True)
class Plan:
    """A release: the deployment that takes the new model, the old one, the steps."""

    new: str
    old: str | None
    steps: tuple[Step, ...]


def _traffic(shares: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """A traffic map as a step holds it.

    0 % shares stay explicit, as Azure ML's examples write them
    (``{"blue": 0, "green": 100}``).
    """
    return tuple(shares.items())


def plan_release(state: EndpointState, *, canary_percent: int = 0) -> Plan:
    """The steps that release a new model version to the endpoint in ``state``.

    The new version goes to the idle one of DEPLOYMENT_NAMES (the one that
    does not serve traffic now) at 0 % and is smoke-tested directly. With
    ``canary_percent`` (Prod), that share of the traffic moves first and the
    endpoint is smoke-tested; then all of it moves and the endpoint is tested
    again. The old deployment is deleted last. The first release of an
    endpoint goes to "blue", and to 100 % after its smoke test.

    Raises:
        RolloutError: ``canary_percent`` is not between 0 and 99.
    """
    if not 0 <= canary_percent < 100:
        raise RolloutError(
            f"the canary share must be between 0 and 99 %, got {canary_percent}; "
            "set CANARY_TRAFFIC_PERCENT in settings.py"
        )
    old = state.live
    new = next(name for name in DEPLOYMENT_NAMES if name != old)
    steps = [Step(Kind.ENSURE_ENDPOINT)]
    split = {name: share for name, share in state.traffic.items() if share > 0}
    if old and split != {old: 100}:
        # An interrupted release left traffic split: back to the live one first.
        back = {name: 0 for name in split} | {old: 100}
        steps.append(Step(Kind.SET_TRAFFIC, traffic=_traffic(back)))
    steps += [Step(Kind.CREATE_DEPLOYMENT, new), Step(Kind.TEST_DEPLOYMENT, new)]
    if old and canary_percent:
        canary = _traffic({old: 100 - canary_percent, new: canary_percent})
        steps += [Step(Kind.SET_TRAFFIC, traffic=canary), Step(Kind.TEST_ENDPOINT)]
    steps += [
        Step(
            Kind.SET_TRAFFIC,
            traffic=_traffic({old: 0, new: 100} if old else {new: 100}),
        ),
        Step(Kind.TEST_ENDPOINT),
    ]
    if old:
        steps.append(Step(Kind.DELETE_DEPLOYMENT, old))
    return Plan(new=new, old=old, steps=tuple(steps))


def plan_rollback(plan: Plan, failed: Step) -> tuple[Step, ...]:
    """The steps that undo ``plan`` after its step ``failed``.

    Traffic goes back to the old deployment (or to none, in a first release)
    and the new deployment is deleted. Nothing is undone when the endpoint
    could not be created or updated (nothing changed), or when deleting the
    old deployment failed (the new one is tested and serves all traffic).
    """
    if failed.kind is Kind.ENSURE_ENDPOINT:
        return ()
    if failed.kind is Kind.DELETE_DEPLOYMENT and failed.deployment == plan.old:
        return ()
    back = {plan.old: 100, plan.new: 0} if plan.old else {plan.new: 0}
    return (
        Step(Kind.SET_TRAFFIC, traffic=_traffic(back)),
        Step(Kind.DELETE_DEPLOYMENT, plan.new),
    )


class Actions(Protocol):
    """Carries out one step against the workspace; raises when it fails."""

    def apply(self, step: Step) -> None:
        """Carry out ``step``."""


def run(plan: Plan, actions: Actions) -> None:
    """Run the steps of ``plan``; on a failure roll back and raise.

    Every step is logged before it runs, so the release's log shows each
    traffic change.

    Raises:
        RolloutError: A step failed; the message names it and the error, and
            says whether the rollback succeeded.
    """
    for number, step in enumerate(plan.steps, 1):
        logger.info("Release step %d/%d: %s", number, len(plan.steps), step)
        try:
            actions.apply(step)
        except Exception as error:  # any failure rolls back
            raise _rolled_back(plan, step, error, actions) from error
    logger.info("Released: %s serves all traffic", plan.new)


def _rolled_back(
    plan: Plan, failed: Step, error: BaseException, actions: Actions
) -> RolloutError:
    """Roll back after ``failed``; the error to raise, saying where traffic is."""
    reason = f"release step '{failed}' failed: {error}"
    steps = plan_rollback(plan, failed)
    if not steps:
        logger.error("%s; nothing to roll back", reason)
        return RolloutError(reason)
    logger.error("%s; rolling back", reason)
    for step in steps:
        logger.info("Rollback: %s", step)
        try:
            actions.apply(step)
        except Exception as rollback_error:  # reported below
            return RolloutError(
                f"{reason}. The rollback step '{step}' failed too: {rollback_error}. "
                "Check the endpoint's traffic and deployments in Azure ML studio."
            )
    where = f"traffic is back on {plan.old}" if plan.old else "no deployment serves"
    return RolloutError(f"{reason}. Rolled back: {where}; {plan.new} was deleted.")
