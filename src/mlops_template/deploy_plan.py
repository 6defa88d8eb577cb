"""Decide the Azure side from ARM's what-if: a pure function of the looked-up state.

Each resource of the template becomes one action whose verb is ARM's own prediction
(``WhatIfChange.changeType``, Deployments - What If, resources 2021-04-01): ``Create`` ->
create, ``Modify``/``Deploy`` -> update (with the property paths that change), ``NoChange``
-> exists; the resource group's other resources (``Ignore``) are shown as left alone. The
deployment itself is one action, done only when some resource changes, or when the last
deployment is still running (then it is waited for, never started twice).
"""

from __future__ import annotations

from typing import Any

from .actions import Action, Key, Verb
from .deploy_lookup import DeploymentState
from .template import resource_id

VERBS = {
    "Create": Verb.CREATE,
    "Modify": Verb.UPDATE,
    "Deploy": Verb.UPDATE,
    "NoChange": Verb.EXISTS,
    "Ignore": Verb.KEEP,
    "Unsupported": Verb.UPDATE,
}
KIND = "azure resource"


def short_name(resource_id_: str) -> str:
    """``type/name`` of a resource id, without subscription, group and provider prefix."""
    tail = resource_id_.split("/providers/", 1)[-1]
    if "/providers/Microsoft.Authorization/roleAssignments/" in resource_id_:
        return "roleAssignments/" + resource_id_.rsplit("/", 1)[-1]
    parts = tail.split("/")
    return "/".join(parts[1:]) if len(parts) > 1 else tail


def _change_detail(change: dict[str, Any]) -> str:
    paths = [str(delta.get("path")) for delta in change.get("delta") or []]
    return ", ".join(paths)


def deployment_actions(
    deploy: DeploymentState, group_exists: bool, identity_exists: bool, group_key: Key
) -> list[Action]:
    """The deployment action, then one action per resource (and per ignored resource)."""
    names = deploy.names
    deployment: Key = ("deployment", deploy.name)
    changes = {str(c.get("resourceId", "")).lower(): c for c in deploy.changes or []}
    resources: list[Action] = []
    changing = False
    for resource in deploy.template.get("resources", []):
        rid = resource_id(names, resource)
        change = changes.get(rid.lower())
        if change is None:
            verb, detail = Verb.CREATE, "" if group_exists else "new resource group"
        else:
            verb = VERBS.get(str(change.get("changeType")), Verb.UPDATE)
            detail = _change_detail(change)
        changing = changing or verb.changes
        resources.append(Action(verb, KIND, short_name(rid), detail, (deployment,)))
    if not identity_exists:  # its role on the data joins the template once it exists
        changing = True
        resources.append(
            Action(Verb.CREATE, KIND, "roleAssignments/Storage Blob Data Reader",
                   "for the pipelines' identity, once it exists", (deployment,))
        )  # fmt: skip
    for change in deploy.changes or []:
        if change.get("changeType") == "Ignore":
            resources.append(
                Action(Verb.KEEP, KIND, short_name(str(change.get("resourceId", ""))),
                       "not in the template: left alone")
            )  # fmt: skip
    if deploy.running:
        verb, detail = Verb.UPDATE, "running already: waiting for it"
    elif changing:
        count = len(deploy.template.get("resources", []))
        verb, detail = Verb.CREATE, f"incremental, {count} resources"
    else:
        verb, detail = Verb.EXISTS, "what-if: no change"
    needs = (group_key, ("azure identity", f"{names.slug}-pipelines"))
    return [Action(verb, "deployment", deploy.name, detail, needs), *resources, *_data(deploy)]


def _data(deploy: DeploymentState) -> list[Action]:
    """The training data's upload: once, never over a blob of that name."""
    if deploy.data_file is None:
        return []
    where = f"{deploy.names.storage_account}/{deploy.names.container}"
    if deploy.blob_exists:
        return [Action(Verb.KEEP, "training data", deploy.blob_name, f"in {where}: kept as it is")]
    detail = f"upload {deploy.data_file.name} to {where}"
    return [Action(Verb.CREATE, "training data", deploy.blob_name, detail,
                   (("deployment", deploy.name),))]  # fmt: skip
