"""Read the Azure side's deployment: the literal template for now, ARM's what-if, a running one.

Nothing here changes anything: Deployments - Get, and Deployments - What If, which only
predicts ("ARM template deployment what-if operation",
https://learn.microsoft.com/azure/azure-resource-manager/templates/deploy-what-if).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .auth import SignInError
from .blobs import BlobError, training_data
from .deployments import DONE, Deployments, claims
from .settings import Settings
from .template import TAG, AzureNames, azure_names, render

Json = dict[str, Any]


@dataclass
class DeploymentState:
    """The template as it can be known now, and what ARM says it would do."""

    names: AzureNames
    name: str  # the deployment's name: one per project, so a second run finds the first
    tenant_id: str
    user_principal: str
    template: Json
    deployment: Json | None = None  # the last deployment of that name
    changes: list[Json] | None = None  # ARM's what-if; None: not asked (no resource group)
    problem: str = ""  # why the what-if could not be asked
    data_file: Path | None = None  # the project's TRAINING_DATA, a local file
    blob_exists: bool = False  # a blob of its name is in the data container already
    manual: list[str] = field(default_factory=list)  # commands left for a person
    blocked: bool = False  # the group or the deployment was refused: nothing to upload to

    @property
    def running(self) -> bool:
        """Whether the last deployment of this project is still going on (a resume)."""
        state = ((self.deployment or {}).get("properties") or {}).get("provisioningState")
        return self.deployment is not None and state not in DONE

    @property
    def blob_name(self) -> str:
        return self.data_file.name if self.data_file else ""

    @property
    def tags(self) -> dict[str, str]:
        return {TAG: self.names.slug}


def deployment_name(settings: Settings) -> str:
    """The project's deployment name (at most 64 characters, as Deployments - Get allows)."""
    return f"mlops-template-{settings.names.slug}"[:64]


def make_template(state: DeploymentState, azure: Any) -> Json:
    """The literal template for what exists now (``azure``: the ``lookup.AzureState``)."""
    identity = (azure.identity or {}).get("properties") or {}
    return render(
        state.names,
        tenant_id=state.tenant_id or str(identity.get("tenantId", "")),
        pipelines_principal=azure.principal_id,  # made by the tool, or --client-id's
        user_principal=state.user_principal,
        workspace=azure.workspace,
    )


def lookup_deployment(
    settings: Settings, azure: Any, deployments: Deployments, *, what_if: bool = True
) -> DeploymentState:
    """The deployment's state: template, last deployment and what-if (when the group exists)."""
    signed_in = claims(deployments.client.credential.authorization())
    identity = (azure.identity or {}).get("properties") or {}
    found = DeploymentState(
        names=azure_names(settings),
        name=deployment_name(settings),
        tenant_id=str(
            identity.get("tenantId") or settings.azure_tenant_id or signed_in.get("tid", "")
        ),
        user_principal=str(signed_in.get("oid", "")),
        template={},
    )
    found.template = make_template(found, azure)
    found.data_file = training_data(settings.project_dir)
    if azure.group is None or not what_if:
        return found
    group = found.names.group
    found.deployment = deployments.get(group, found.name)
    found.changes = deployments.what_if(group, found.name, found.template)
    container = next(
        (c for c in found.changes if str(c.get("resourceId", "")).endswith(
            f"/containers/{found.names.container}")),
        None,
    )  # fmt: skip
    if found.data_file and deployments.blobs and container and container["changeType"] != "Create":
        # Not known yet (e.g. its role still propagates): fine, the upload never overwrites.
        with contextlib.suppress(BlobError, SignInError):
            found.blob_exists = deployments.blobs.exists(found.blob_name)
    return found
