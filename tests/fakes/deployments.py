"""The ARM double's deployments: resource groups made, what-if, deployments and their operations.

Serves, at resource group scope and api-version 2021-04-01 (resources/resource-manager/
Microsoft.Resources/stable/2021-04-01, deployments.json and resources.json):

- ``PUT /subscriptions/{s}/resourcegroups/{rg}`` (Resource Groups - Create Or Update);
- ``PUT|GET …/providers/Microsoft.Resources/deployments/{name}`` (Deployments - Create Or
  Update / Get): incremental mode only; the PUT answers 201 ``Running`` with
  ``Azure-AsyncOperation``, whose ``…/operationStatuses/{id}`` answers ``{"status"}``;
- ``POST …/deployments/{name}/whatIf`` (Deployments - What If): 202 with ``Location``
  (``/subscriptions/{s}/operationresults/{id}``), which answers 202 once, then 200 with
  ``{"status": "Succeeded", "properties": {"changes": [...]}}``: ``Create``, ``Modify`` (with
  ``delta``), ``NoChange`` for each template resource, ``Ignore`` for the group's others;
- ``GET …/resourcegroups/{rg}/deployments/{name}/operations`` (Deployment Operations - List).

"Track asynchronous Azure operations",
https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations.

A deployment takes ``resource_seconds`` per resource, in template order (0: all at the first
poll); a resource is written when its time has come, so a tool killed mid-way leaves the
deployment running here and a resume finds it so. Each resource needs its ``…/write`` right
(see ``forbid``): a refusal fails that resource and the deployment with ``AuthorizationFailed``.
``fail_next(type, code, message)`` makes the next deployment of such a resource fail (e.g.
``SkuNotAvailable`` for a VM size not offered in the region). A template holding an
expression (``[...]``) is refused with ``InvalidTemplate``.
"""

from __future__ import annotations

import copy
import math
import re
import time
import uuid
from typing import Any

Json = dict[str, Any]
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_DEP = _RG + r"/providers/Microsoft\.Resources/deployments/(?P<dep>[^/]+)"
TEMPLATE_API_VERSIONS = {  # the apiVersions this double deploys, per resource type
    "Microsoft.Storage/storageAccounts": "2023-05-01",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2023-05-01",
    "Microsoft.KeyVault/vaults": "2023-07-01",
    "Microsoft.OperationalInsights/workspaces": "2022-10-01",
    "Microsoft.Insights/components": "2020-02-02",
    "Microsoft.ContainerRegistry/registries": "2023-07-01",
    "Microsoft.MachineLearningServices/workspaces": "2024-04-01",
    "Microsoft.MachineLearningServices/workspaces/computes": "2024-04-01",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
}
_COMPARED = ("location", "tags", "sku", "kind", "properties")


def deployment_routes(arm: Any) -> list[tuple[str, str, str, str, Any]]:
    """(method, pattern, kind, action, handler) for the routes above."""
    read = "Microsoft.Resources/deployments/read"
    return [
        ("PUT", _RG, "resourceGroups", "Microsoft.Resources/subscriptions/resourceGroups/write", arm._put_group),  # noqa: E501
        ("GET", _DEP, "deployments", read, arm._get_deployment),
        ("PUT", _DEP, "deployments", "Microsoft.Resources/deployments/write", arm._put_deployment),
        ("POST", _DEP + "/whatIf", "deployments", "Microsoft.Resources/deployments/whatIf/action", arm._post_what_if),  # noqa: E501
        ("GET", _DEP + "/operationStatuses/(?P<op>[^/]+)", "deployments", read, arm._get_status),
        ("GET", _RG + "/deployments/(?P<dep>[^/]+)/operations", "deployments", "Microsoft.Resources/deployments/operations/read", arm._list_operations),  # noqa: E501
        ("GET", _SUB + "/operationresults/(?P<op>[^/]+)", "deployments", read, arm._get_what_if),
        ("GET", _RG + "/resources", "deployments", "Microsoft.Resources/subscriptions/resourceGroups/resources/read", arm._list_resources),  # noqa: E501
        ("GET", _RG + r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)/onlineEndpoints", "providers", "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read", arm._list_endpoints),  # noqa: E501
        ("DELETE", _RG + r"/providers/(?P<rest>.+)", "providers", "", arm._delete_resource),
    ]  # fmt: skip


def resource_id(group_id: str, resource: Json) -> str:
    """A template resource's id (role assignments: under their ``scope``)."""
    if resource["type"] == "Microsoft.Authorization/roleAssignments":
        scope, name = resource["scope"], resource["name"]
        return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    namespace, *types = resource["type"].split("/")
    names = resource["name"].split("/")
    if len(types) != len(names):
        raise ValueError(f"the name {resource['name']!r} does not fit type {resource['type']!r}")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return f"{group_id}/providers/{namespace}/{path}"


def _delta(want: Any, have: Any, path: str = "") -> list[Json]:
    """Where ``have`` lacks or differs from ``want`` (what ``want`` leaves out is kept)."""
    if isinstance(want, dict) and isinstance(have, dict):
        found = []
        for key, value in want.items():
            where = f"{path}.{key}" if path else key
            if key not in have:
                found.append({"path": where, "propertyChangeType": "Create", "after": value})
            else:
                found += _delta(value, have[key], where)
        return found
    same = (
        want.lower() == have.lower()
        if isinstance(want, str) and isinstance(have, str) and path in ("location", "kind")
        else want == have
    )
    if same:
        return []
    return [{"path": path, "propertyChangeType": "Modify", "before": have, "after": want}]


def _expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [e for value in node.values() for e in _expressions(value)]
    if isinstance(node, list):
        return [e for item in node for e in _expressions(item)]
    if isinstance(node, str) and node.startswith("[") and not node.startswith("[["):
        return [node]
    return []


class DeploymentsDouble:
    """Mixed into ``FakeResourceManager``: the state and handlers of the routes above."""

    resource_seconds: float = 0.0
    # ``Retry-After`` on a 202 of an asynchronous operation (what-if, workspace delete): the
    # seconds ARM asks the client to wait before polling ``Location`` ("Track asynchronous
    # Azure operations", link above). The double computes at once, so it asks for no wait;
    # the client still honours the header as given (and its own interval only without one).
    async_retry_after: int = 0

    def _init_deployments(self) -> None:
        self._resources: dict[str, Json] = {}  # lower-case id -> resource (generic types)
        self._deployments: dict[tuple[str, str], Json] = {}
        self._what_ifs: dict[str, Json] = {}
        self._failures: list[tuple[str, str, str]] = []
        self._endpoints: dict[str, Json] = {}  # lower-case id -> online endpoint
        self._deletes: dict[str, Json] = {}  # asynchronous deletes in progress

    # -- seeding and state ------------------------------------------------------------------

    def fail_next(self, resource_type: str, code: str, message: str) -> None:
        """The next deployment of a resource of this type fails with ARM's ``code``."""
        with self._lock:
            self._failures.append((resource_type.lower(), code, message))

    def add_resource(self, group: str, resource: Json) -> Json:
        """A resource that exists already (a template-shaped dict: type, name, ...)."""
        with self._lock:
            rg = self._groups[group.lower()]
            stored = self._store(rg, resource, caller="seed")
        return copy.deepcopy(stored)

    def resources(self) -> dict[str, Json]:
        """Every resource written through deployments or seeded (workspaces too), by id."""
        with self._lock:
            found = {r["id"]: copy.deepcopy(r) for r in self._resources.values()}
            found.update({w["id"]: copy.deepcopy(w) for w in self._workspaces.values()})
        return found

    def add_online_endpoint(self, group: str, workspace: str, name: str) -> Json:
        """An online endpoint of a workspace (as the release pipeline makes them)."""
        with self._lock:
            ws = self._workspaces[(group.lower(), workspace.lower())]
            endpoint = {
                "id": f"{ws['id']}/onlineEndpoints/{name}",
                "name": name,
                "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
                "location": ws["location"],
                "properties": {"authMode": "Key", "provisioningState": "Succeeded"},
            }
            self._endpoints[endpoint["id"].lower()] = endpoint
        return copy.deepcopy(endpoint)

    def online_endpoints(self) -> dict[str, Json]:
        with self._lock:
            return {e["id"]: copy.deepcopy(e) for e in self._endpoints.values()}

    def deployments(self) -> dict[str, Json]:
        with self._lock:
            return {d["id"]: copy.deepcopy(d) for d in self._deployments.values()}

    # -- handlers (called under the lock) ------------------------------------------------------

    def _put_group(self, call: Any, match: re.Match) -> tuple[int, Any]:
        body = call.json() or {}
        if not isinstance(body, dict) or not body.get("location"):
            raise self._error(400, "LocationRequired", "The location property is required.")
        existing = self._groups.get(match["rg"].lower())
        if existing is not None:
            existing["tags"] = dict(body.get("tags") or {})
            return 200, copy.deepcopy(existing)
        group = {
            "id": f"/subscriptions/{self.subscription_id}/resourceGroups/{match['rg']}",
            "name": match["rg"],
            "type": "Microsoft.Resources/resourceGroups",
            "location": body["location"],
            "tags": dict(body.get("tags") or {}),
            "properties": {"provisioningState": "Succeeded"},
        }
        self._groups[match["rg"].lower()] = group
        return 201, copy.deepcopy(group)

    def _template(self, call: Any) -> list[Json]:
        body = call.json() or {}
        properties = body.get("properties") or {}
        if properties.get("mode") != "Incremental":
            raise self._error(400, "InvalidDeploymentMode", "This double deploys Incremental only.")
        template = properties.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("resources"), list):
            raise self._error(400, "InvalidTemplate", "The template has no resources array.")
        found = _expressions(template)
        if found:
            raise self._error(
                400, "InvalidTemplate", f"Expressions are not served here: {found[0]}"
            )
        for resource in template["resources"]:
            wanted = TEMPLATE_API_VERSIONS.get(resource.get("type", ""))
            if wanted is None or resource.get("apiVersion") != wanted:
                raise self._error(
                    400,
                    "NoRegisteredProviderFound",
                    f"No registered resource provider found for API version "
                    f"'{resource.get('apiVersion')}' and type '{resource.get('type')}'.",
                )
        return template["resources"]

    def _existing(self, rid: str) -> Json | None:
        key = rid.lower()
        if key in self._resources:
            return self._resources[key]
        for workspace in self._workspaces.values():
            if workspace["id"].lower() == key:
                return workspace
        name = key.rsplit("/", 1)[-1]
        assignment = self._assignments.get(name)
        if assignment is not None and "/roleassignments/" in key:
            return {"properties": assignment["properties"]}
        return None

    def _post_what_if(self, call: Any, match: re.Match) -> tuple[int, Any, dict[str, str]]:
        rg = self._group(match)
        changes, ids = [], set()
        for resource in self._template(call):
            rid = resource_id(rg["id"], resource)
            ids.add(rid.lower())
            have = self._existing(rid)
            if have is None:
                changes.append({"resourceId": rid, "changeType": "Create", "after": resource})
                continue
            want = {k: resource[k] for k in _COMPARED if k in resource}
            if resource["type"] == "Microsoft.Authorization/roleAssignments":
                want = {
                    "properties": {
                        k: resource["properties"][k] for k in ("roleDefinitionId", "principalId")
                    }
                }
            delta = _delta(want, have)
            changes.append(
                {"resourceId": rid, "changeType": "Modify" if delta else "NoChange", "delta": delta}
            )
        prefix = rg["id"].lower() + "/"
        others = [*self._resources.values(), *self._workspaces.values()]
        for other in others:
            if other["id"].lower().startswith(prefix) and other["id"].lower() not in ids:
                changes.append({"resourceId": other["id"], "changeType": "Ignore"})
        token = uuid.uuid4().hex
        self._what_ifs[token] = {"polls": 0, "changes": changes}
        location = f"{self.url}/subscriptions/{self.subscription_id}/operationresults/{token}?api-version=2021-04-01"  # noqa: E501
        return 202, None, {"Location": location, "Retry-After": str(self.async_retry_after)}

    def _get_what_if(self, call: Any, match: re.Match) -> tuple[int, Any, dict[str, str]]:
        if match["op"].startswith("del-"):  # an asynchronous delete: 202 once, then 200
            done = self._deletes.get(match["op"][4:])
            if done is None:
                raise self._error(404, "NotFound", "The operation result was not found.")
            done["polls"] += 1
            if done["polls"] == 1:
                again = f"{self.url}{call.path}?api-version=2021-04-01"
                return 202, None, {"Location": again, "Retry-After": str(self.async_retry_after)}
            return 200, None, {}
        result = self._what_ifs.get(match["op"])
        if result is None:
            raise self._error(404, "NotFound", "The operation result was not found.")
        result["polls"] += 1
        if result["polls"] == 1:  # still computing once, as a real what-if often is
            again = f"{self.url}/subscriptions/{match['sub']}/operationresults/{match['op']}"
            return (
                202,
                None,
                {
                    "Location": again + "?api-version=2021-04-01",
                    "Retry-After": str(self.async_retry_after),
                },
            )
        return 200, {"status": "Succeeded", "properties": {"changes": result["changes"]}}, {}

    def _put_deployment(self, call: Any, match: re.Match) -> tuple[int, Any, dict[str, str]]:
        rg = self._group(match)
        resources = self._template(call)
        key = (match["rg"].lower(), match["dep"].lower())
        running = self._deployments.get(key)
        if running is not None and running["properties"]["provisioningState"] == "Running":
            raise self._error(
                409,
                "DeploymentActive",
                f"The deployment '{match['dep']}' is already running; wait for it to finish.",
            )
        token = uuid.uuid4().hex
        deployment = {
            "id": f"{rg['id']}/providers/Microsoft.Resources/deployments/{match['dep']}",
            "name": match["dep"],
            "type": "Microsoft.Resources/deployments",
            "tags": dict((call.json() or {}).get("tags") or {}),
            "properties": {"provisioningState": "Running", "mode": "Incremental"},
            "_resources": copy.deepcopy(resources),
            "_started": time.monotonic(),
            "_done": [],  # operations so far
            "_status": token,
            "_caller": call.caller,
            "_group": rg,
        }
        self._deployments[key] = deployment
        status = f"{self.url}{deployment['id']}/operationStatuses/{token}?api-version=2021-04-01"
        return 201, self._public(deployment), {"Azure-AsyncOperation": status}

    @staticmethod
    def _public(deployment: Json) -> Json:
        return {k: copy.deepcopy(v) for k, v in deployment.items() if not k.startswith("_")}

    def _deployment(self, match: re.Match) -> Json:
        self._group(match)
        deployment = self._deployments.get((match["rg"].lower(), match["dep"].lower()))
        if deployment is None:
            raise self._error(
                404, "DeploymentNotFound", f"Deployment '{match['dep']}' could not be found."
            )
        self._advance(deployment)
        return deployment

    def _get_deployment(self, call: Any, match: re.Match) -> tuple[int, Any, dict[str, str]]:
        deployment = self._deployment(match)
        return 200, self._public(deployment), self._poll_again(deployment)

    def _get_status(self, call: Any, match: re.Match) -> tuple[int, Any, dict[str, str]]:
        deployment = self._deployment(match)
        if deployment["_status"] != match["op"]:
            raise self._error(404, "NotFound", "The operation status was not found.")
        properties = deployment["properties"]
        answer = {"status": properties["provisioningState"]}
        if "error" in properties:
            answer["error"] = properties["error"]
        return 200, answer, self._poll_again(deployment)

    def _poll_again(self, deployment: Json) -> dict[str, str]:
        """While running, ``Retry-After``: the whole seconds until its next resource is due
        (ARM may send it on a status still in progress: "Track asynchronous Azure
        operations", link above)."""
        if deployment["properties"]["provisioningState"] != "Running":
            return {}
        due = (len(deployment["_done"]) + 1) * self.resource_seconds
        elapsed = time.monotonic() - deployment["_started"]
        return {"Retry-After": str(max(1, math.ceil(due - elapsed)))}

    def _list_operations(self, call: Any, match: re.Match) -> tuple[int, Any]:
        deployment = self._deployment(match)
        operations = list(deployment["_done"])
        total = len(deployment["_resources"])
        state = deployment["properties"]["provisioningState"]
        if state == "Running" and len(operations) < total:
            nxt = deployment["_resources"][len(operations)]
            operations.append(self._operation(deployment, nxt, "Running"))
        return 200, {"value": copy.deepcopy(operations)}

    def _operation(
        self, deployment: Json, resource: Json, state: str, error: Json | None = None
    ) -> Json:
        rid = resource_id(deployment["_group"]["id"], resource)
        operation_id = uuid.uuid5(uuid.NAMESPACE_URL, deployment["id"] + rid).hex.upper()[:16]
        properties: Json = {
            "provisioningOperation": "Create",
            "provisioningState": state,
            "targetResource": {
                "id": rid,
                "resourceType": resource["type"],
                "resourceName": resource["name"],
            },
        }
        if state != "Running":
            properties["statusCode"] = "OK" if state == "Succeeded" else "BadRequest"
        if error:
            properties["statusMessage"] = {"status": "Failed", "error": error}
        return {
            "id": f"{deployment['id']}/operations/{operation_id}",
            "operationId": operation_id,
            "properties": properties,
        }

    def _advance(self, deployment: Json) -> None:
        """Write the resources whose time has come; end the deployment after the last."""
        if deployment["properties"]["provisioningState"] != "Running":
            return
        resources = deployment["_resources"]
        elapsed = time.monotonic() - deployment["_started"]
        due = len(resources) if not self.resource_seconds else int(elapsed / self.resource_seconds)
        while len(deployment["_done"]) < min(due, len(resources)):
            resource = resources[len(deployment["_done"])]
            error = self._deploy_one(deployment, resource)
            state = "Failed" if error else "Succeeded"
            deployment["_done"].append(self._operation(deployment, resource, state, error))
            if error:
                deployment["properties"]["provisioningState"] = "Failed"
                deployment["properties"]["error"] = {
                    "code": "DeploymentFailed",
                    "message": "At least one resource deployment operation failed. Please list "
                    "deployment operations for details.",
                    "details": [error],
                }
                return
        if len(deployment["_done"]) == len(resources):
            deployment["properties"]["provisioningState"] = "Succeeded"

    def _deploy_one(self, deployment: Json, resource: Json) -> Json | None:
        """Write one resource; its error (ARM's shape) if it fails."""
        for index, (kind, code, message) in enumerate(self._failures):
            if kind == resource["type"].lower():
                del self._failures[index]
                return {"code": code, "message": message}
        rid = resource_id(deployment["_group"]["id"], resource)
        action = f"{resource['type']}/write"
        try:
            self._authorize(deployment["_caller"], action, rid)
        except Exception as refused:  # the double's ArmError
            return {
                "code": getattr(refused, "code", "AuthorizationFailed"),
                "message": str(refused),
            }
        self._store(deployment["_group"], resource, caller=deployment["_caller"])
        return None

    def _store(self, rg: Json, resource: Json, caller: str) -> Json:
        rid = resource_id(rg["id"], resource)
        kind = resource["type"]
        if kind == "Microsoft.Authorization/roleAssignments":
            props = resource["properties"]
            guid = props["roleDefinitionId"].rsplit("/", 1)[-1]
            stored = {
                "id": rid,
                "name": resource["name"],
                "type": kind,
                "properties": {
                    "roleDefinitionId": self._role_definition_id(guid),
                    "principalId": props["principalId"],
                    "principalType": props.get("principalType"),
                    "scope": resource["scope"],
                    "description": props.get("description"),
                    "createdBy": caller,
                },
            }
            self._assignments[resource["name"].lower()] = stored
            return stored
        existing = self._existing(rid)
        stored = (
            copy.deepcopy(existing)
            if existing
            else {"id": rid, "name": resource["name"].rsplit("/", 1)[-1], "type": kind}
        )
        for key in ("location", "tags", "sku", "kind", "identity"):
            if key in resource:
                stored[key] = copy.deepcopy(resource[key])
        properties = {
            **(stored.get("properties") or {}),
            **copy.deepcopy(resource.get("properties") or {}),
        }
        properties["provisioningState"] = "Succeeded"
        stored["properties"] = properties
        if stored.get("identity", {}).get("type") == "SystemAssigned":
            stored["identity"].setdefault("principalId", str(uuid.uuid4()))
            stored["identity"].setdefault("tenantId", self.tenant_id)
        if kind == "Microsoft.MachineLearningServices/workspaces":
            self._workspaces[(rg["name"].lower(), stored["name"].lower())] = stored
        else:
            self._resources[rid.lower()] = stored
        return stored

    # -- teardown: list by tag, online endpoints, delete --------------------------------------

    def _list_resources(self, call: Any, match: re.Match) -> tuple[int, Any]:
        """Resources - List By Resource Group; ``$filter`` by one tag name and value only."""
        rg = self._group(match)
        wanted = call.query.get("$filter", "").strip()
        tag = re.fullmatch(r"tagName eq '([^']+)' and tagValue eq '([^']*)'", wanted)
        if wanted and tag is None:
            raise self._error(400, "InvalidFilterInQueryString", f"Unsupported filter '{wanted}'.")
        prefix = rg["id"].lower() + "/"
        items = []
        for resource in [*self._resources.values(), *self._workspaces.values()]:
            if not resource["id"].lower().startswith(prefix):
                continue
            if tag and (resource.get("tags") or {}).get(tag.group(1)) != tag.group(2):
                continue
            items.append(
                {
                    k: copy.deepcopy(resource[k])
                    for k in ("id", "name", "type", "location", "tags")
                    if k in resource
                }
            )
        return 200, {"value": items}

    def _list_endpoints(self, call: Any, match: re.Match) -> tuple[int, Any]:
        ws = self._workspace(match)
        prefix = ws["id"].lower() + "/onlineendpoints/"
        items = [copy.deepcopy(e) for k, e in self._endpoints.items() if k.startswith(prefix)]
        return 200, {"value": items}

    def _delete_resource(self, call: Any, match: re.Match) -> tuple[int, Any]:
        self._group(match)
        key = call.path.rstrip("/").lower()
        stores = [self._resources, self._endpoints]
        found = next((store for store in stores if key in store), None)
        workspace = next((k for k, w in self._workspaces.items() if w["id"].lower() == key), None)
        if found is None and workspace is None:
            raise self._error(
                404, "ResourceNotFound", f"The Resource '{match['rest']}' was not found."
            )
        resource = found[key] if found is not None else self._workspaces[workspace]
        self._authorize(call.caller, f"{resource['type']}/delete", call.path)
        if (
            resource["type"].endswith("/computes")
            and call.query.get("underlyingResourceAction") != "Delete"
        ):
            raise self._error(400, "BadRequest", "underlyingResourceAction is required.")
        if found is None:  # a workspace: deleted asynchronously, as ARM does (202, Location)
            token = uuid.uuid4().hex
            self._deletes[token] = {"polls": 0}
            location = f"{self.url}/subscriptions/{self.subscription_id}/operationresults/del-{token}?api-version=2021-04-01"  # noqa: E501
            headers = {"Location": location, "Retry-After": str(self.async_retry_after)}
        if found is not None:
            del found[key]
        else:
            del self._workspaces[workspace]
        for store in stores:  # its children go with it (containers, computes, endpoints)
            for other in [k for k in store if k.startswith(key + "/")]:
                del store[other]
        return (202, None, headers) if found is None else (200, None)
