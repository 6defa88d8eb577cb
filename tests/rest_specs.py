"""Check a REST request against Microsoft's published OpenAPI (Swagger 2.0) specifications.

The specs are vendored under ``tests/specs`` (see its README): Azure DevOps from
MicrosoftDocs/vsts-rest-api-specs (api-version 7.1), Azure Resource Manager from
Azure/azure-rest-api-specs. ``check_request`` finds the operation whose path template matches
the request and reports, in plain words, what does not conform:

- no path template of the service matches (an unknown route);
- the template exists but not with this method;
- ``api-version`` missing, or not the one the spec file defines for that operation;
- a required query parameter missing, an unknown one, or a value of the wrong type or pattern;
- a path parameter that breaks its pattern or length;
- the JSON body does not validate against the operation's body schema (``jsonschema``, Draft 4,
  which Swagger 2.0 schemas follow; ``$ref`` across files and ``allOf`` resolve through a
  ``referencing`` registry of the vendored files);
- with ``strict=True``, body properties the schema does not declare although it does not allow
  others either (the Azure DevOps specs never set ``additionalProperties: false``; their
  ``JObject`` stands for any JSON and is left alone).

Requests may be full URLs or paths. Loopback doubles serve Azure DevOps at
``http://127.0.0.1:<port>/<organization>/...`` (identities under ``/_vssps/<organization>/...``)
and Resource Manager at ``http://127.0.0.1:<port>/subscriptions/...``: the host is ignored,
except that ``vssps.dev.azure.com`` or the ``/_vssps`` prefix selects the identity service.

Swagger specifics handled: parameters and path items reached through ``$ref``; ``x-ms-paths``
(their ``?disambiguation`` suffix dropped); a path parameter marked ``x-ms-skip-url-encoding``
that fills a whole segment (ARM's ``{scope}``) may span several segments; literal segments
compare case-insensitively (both services route that way). When several templates match, the
one with the most literal segments wins (``/{scope}/providers/...`` loses to
``/subscriptions/{subscriptionId}/...``). ``readOnly`` properties sent in a body are not
reported (both services ignore them), nor are ``format`` values. A property the Azure DevOps
generator typed ``string`` with ``format: T`` is the type parameter of a .NET generic
(``Change<T>.item``, an object ``{"path": ...}`` in Microsoft's own Pushes - Create examples,
https://learn.microsoft.com/rest/api/azure/devops/git/pushes/create): it accepts any JSON.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import jsonschema
import referencing
import referencing.jsonschema

SPECS = Path(__file__).resolve().parent / "specs"
# The folder under SPECS that holds the spec files of each service.
SERVICES = {
    "azure-devops": "vsts-rest-api-specs",
    "arm": "azure-rest-api-specs",
}
IDENTITY_HOST = "vssps.dev.azure.com"
_BASE_URI = "https://specs.invalid/"  # a name for the vendored tree; never fetched
_API_VERSION = "api-version"
_SET_TO = re.compile(r"set to '([^']+)'")
# Newtonsoft's JObject and JToken, which the Azure DevOps specs model as classes, carry any JSON.
_ANY_JSON = ("/definitions/JObject", "/definitions/JToken")


@dataclasses.dataclass(frozen=True)
class Operation:
    """One method of one path template in one spec file."""

    service: str
    host: str
    file: str  # relative to SPECS
    template: str
    method: str
    operation_id: str
    api_versions: frozenset[str]
    parameters: tuple[tuple[dict[str, Any], str], ...]  # (parameter, its JSON reference)
    regex: re.Pattern[str]
    literals: int

    def describe(self) -> str:
        return f"{self.operation_id} ({self.method} {self.template} in {self.file})"


def _untyped_generics(node: Any) -> Any:
    """The document with every ``{"type": "string", "format": "T"}`` left untyped (any JSON)."""
    if isinstance(node, dict):
        if node.get("format") == "T" and node.get("type") == "string":
            node = {key: value for key, value in node.items() if key != "type"}
        return {key: _untyped_generics(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_untyped_generics(item) for item in node]
    return node


class _Specs:
    """The vendored spec files of every service, loaded once."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        for path in sorted(SPECS.rglob("*.json")):
            uri = _BASE_URI + path.relative_to(SPECS).as_posix()
            # Azure DevOps spec files start with a UTF-8 byte order mark.
            document = json.loads(path.read_text(encoding="utf-8-sig"))
            self.documents[uri] = _untyped_generics(document)
        self.registry = referencing.Registry().with_resources(
            (uri, referencing.jsonschema.DRAFT4.create_resource(doc))
            for uri, doc in self.documents.items()
        )
        self.operations: dict[str, list[Operation]] = {name: [] for name in SERVICES}
        for uri, doc in self.documents.items():
            service = next(
                (s for s, folder in SERVICES.items() if uri.startswith(_BASE_URI + folder + "/")),
                None,
            )
            if service is None:
                continue
            for section in ("paths", "x-ms-paths"):
                for template, item in (doc.get(section) or {}).items():
                    self.operations[service].extend(
                        self._operations(service, uri, doc, section, template, item)
                    )

    def resolve(self, base: str, node: Any) -> tuple[Any, str]:
        """A ``$ref`` object's target and its absolute reference (other nodes: themselves)."""
        ref = ""
        while isinstance(node, dict) and "$ref" in node:
            ref = urljoin(base, node["$ref"])
            base, _, pointer = ref.partition("#")
            node = self.documents[base]
            for part in [p for p in pointer.split("/") if p]:
                key = part.replace("~1", "/").replace("~0", "~")
                node = node[int(key)] if isinstance(node, list) else node[key]
        return node, ref

    def _operations(
        self, service: str, uri: str, doc: Any, section: str, template: str, item: Any
    ) -> list[Operation]:
        found = []
        clean = template.split("?", 1)[0]
        item_pointer = f"{uri}#/{section}/{_escape(template)}"
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict):
                continue
            params: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
            for where, items in (
                ("parameters", shared),
                (f"{method}/parameters", op.get("parameters", [])),
            ):
                for index, raw in enumerate(items):
                    param, ref = self.resolve(uri, raw)
                    ref = ref or f"{item_pointer}/{where}/{index}"
                    params[(param["name"], param["in"])] = (param, ref)
            versions = self._api_versions(doc, [p for p, _ in params.values()])
            regex, literals = _template_regex(clean, {n: p for (n, _), (p, _) in params.items()})
            found.append(
                Operation(
                    service=service,
                    host=doc.get("host", ""),
                    file=uri.removeprefix(_BASE_URI),
                    template=clean,
                    method=method.upper(),
                    operation_id=op.get("operationId", "?"),
                    api_versions=versions,
                    parameters=tuple(params.values()),
                    regex=regex,
                    literals=literals,
                )
            )
        return found

    @staticmethod
    def _api_versions(doc: Any, params: list[dict[str, Any]]) -> frozenset[str]:
        """Azure DevOps: the value the parameter's description names; ARM: the file's version."""
        for param in params:
            if param.get("name") == _API_VERSION and param.get("in") == "query":
                if param.get("enum"):
                    return frozenset(param["enum"])
                named = _SET_TO.search(param.get("description", ""))
                if named:
                    return frozenset({named.group(1)})
        return frozenset({doc["info"]["version"]})


def _escape(template: str) -> str:
    return template.replace("~", "~0").replace("/", "~1")


def _template_regex(template: str, params: dict[str, dict[str, Any]]) -> tuple[re.Pattern, int]:
    parts, literals = [], 0
    for segment in template.strip("/").split("/"):
        whole = re.fullmatch(r"\{([^}]+)\}", segment)
        if whole:
            spans = params.get(whole.group(1), {}).get("x-ms-skip-url-encoding", False)
            parts.append(f"(?P<{_group(whole.group(1))}>{'.+?' if spans else '[^/]+'})")
            continue
        literals += 1
        pieces = re.split(r"(\{[^}]+\})", segment)
        parts.append(
            "".join(
                f"(?P<{_group(p[1:-1])}>[^/]+)" if p.startswith("{") else re.escape(p)
                for p in pieces
            )
        )
    return re.compile("/" + "/".join(parts), re.IGNORECASE), literals


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


@functools.cache
def _specs() -> _Specs:
    return _Specs()


def find_operations(service: str, method: str, path: str) -> tuple[list[Operation], list[str]]:
    """The operations that may serve ``method`` on ``path``, or none and the problem.

    Several when a spec overloads one route through ``x-ms-paths`` (Azure DevOps' variable
    groups by id and by name): the request conforms if it conforms to one of them.
    """
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}: use one of {sorted(SERVICES)}")
    host, path = _host_and_path(service, path)
    matches = [
        op for op in _specs().operations[service] if op.host == host and op.regex.fullmatch(path)
    ]
    if not matches:
        return [], [f"unknown route: no path template in the {service} specs matches {path}"]
    best = max(op.literals for op in matches)
    matches = [op for op in matches if op.literals == best]
    found = [op for op in matches if op.method == method.upper()]
    if found:
        return found, []
    allowed = sorted({op.method for op in matches})
    return [], [
        f"wrong method: {method.upper()} is not defined for {matches[0].template} "
        f"({matches[0].file} defines {', '.join(allowed)})"
    ]


def _host_and_path(service: str, url_or_path: str) -> tuple[str, str]:
    split = urlsplit(url_or_path)
    path = unquote(split.path) or "/"
    if service == "arm":
        return "management.azure.com", path
    if split.hostname == IDENTITY_HOST:
        return IDENTITY_HOST, path
    if path.startswith("/_vssps/"):
        return IDENTITY_HOST, path.removeprefix("/_vssps")
    return "dev.azure.com", path


def check_request(
    service: str,
    method: str,
    url_or_path: str,
    query: dict[str, Any] | None,
    body: Any,
    *,
    strict: bool = False,
) -> list[str]:
    """What in this request does not conform to the published spec (empty: it conforms).

    ``service``: ``"azure-devops"`` or ``"arm"``. ``query``: the query parameters (a query
    string in ``url_or_path`` is read too; ``query`` wins). ``body``: the parsed JSON body,
    or None when there is none. ``strict``: also report body properties the schema does not
    declare where it leaves ``additionalProperties`` unsaid (the Azure DevOps specs never set
    it to false, so without this a misspelt property passes).
    """
    operations, problems = find_operations(service, method, url_or_path)
    if not operations:
        return problems
    params = dict(parse_qsl(urlsplit(url_or_path).query, keep_blank_values=True))
    params.update({k: str(v) for k, v in (query or {}).items()})
    _, path = _host_and_path(service, url_or_path)
    results = [_check_operation(op, path, params, body, strict) for op in operations]
    return min(results, key=len)


def _check_operation(
    op: Operation, path: str, params: dict[str, str], body: Any, strict: bool
) -> list[str]:
    values = op.regex.fullmatch(path).groupdict()  # type: ignore[union-attr]
    where = op.describe()
    problems = _check_api_version(op, params.get(_API_VERSION), where)
    declared_query = set()
    for param, ref in op.parameters:
        name, location = param["name"], param["in"]
        if location == "query":
            declared_query.add(name.lower())
            value = next((v for k, v in params.items() if k.lower() == name.lower()), None)
            if name == _API_VERSION:
                continue
            if value is None:
                if param.get("required"):
                    problems.append(f"missing required query parameter {name!r} for {where}")
                continue
            problems += _check_simple(f"query parameter {name!r}", value, param, where)
        elif location == "path":
            value = values.get(_group(name))
            if value is not None:
                problems += _check_simple(f"path parameter {name!r}", value, param, where)
        elif location == "body":
            problems += _check_body(param, ref, body, where, strict)
    for name in params:
        if name.lower() not in declared_query:
            problems.append(f"unknown query parameter {name!r}: {where} does not define it")
    if body is not None and not any(p["in"] == "body" for p, _ in op.parameters):
        problems.append(f"unexpected body: {where} takes no request body")
    return problems


def _check_api_version(op: Operation, value: str | None, where: str) -> list[str]:
    if value is None:
        return [f"missing required query parameter 'api-version' for {where}"]
    if value not in op.api_versions:
        return [
            f"wrong api-version {value!r}: {where} defines "
            + ", ".join(repr(v) for v in sorted(op.api_versions))
        ]
    return []


def _check_simple(what: str, value: str, param: dict[str, Any], where: str) -> list[str]:
    """Type, enum, pattern and length of a query or path value (always a string on the wire)."""
    problems = []
    kind = param.get("type", "string")
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        problems.append(f"wrong type: {what} must be an integer, got {value!r} ({where})")
    elif kind == "boolean" and value.lower() not in ("true", "false"):
        problems.append(f"wrong type: {what} must be true or false, got {value!r} ({where})")
    if "enum" in param and value not in [str(v) for v in param["enum"]]:
        problems.append(f"{what} is {value!r}, not one of {param['enum']} ({where})")
    if "pattern" in param and not re.search(param["pattern"], value):
        problems.append(f"{what} {value!r} does not match {param['pattern']} ({where})")
    if len(value) < param.get("minLength", 0) or len(value) > param.get("maxLength", len(value)):
        problems.append(f"{what} {value!r} has a length outside the spec's limits ({where})")
    return problems


def _check_body(param: dict[str, Any], ref: str, body: Any, where: str, strict: bool) -> list[str]:
    if body is None:
        return [f"missing body: {where} requires one"] if param.get("required") else []
    validator = jsonschema.Draft4Validator({"$ref": f"{ref}/schema"}, registry=_specs().registry)
    problems = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        location = "/".join(str(p) for p in error.absolute_path) or "(the body)"
        kind = {
            "required": "missing required body property",
            "type": "wrong type",
            "additionalProperties": "unknown body property",
            "enum": "value not allowed",
        }.get(str(error.validator), f"body does not conform ({error.validator})")
        problems.append(f"{kind} at {location}: {error.message} ({where})")
    if strict:
        base, _, pointer = ref.partition("#")
        problems += [
            f"undeclared body property at {location}: the schema does not declare it ({where})"
            for location in _undeclared(base, {"$ref": f"#{pointer}/schema"}, body, "")
        ]
    return problems


def _undeclared(base: str, schema: Any, value: Any, at: str) -> list[str]:
    """Where ``value`` has object properties that ``schema`` (with its ``allOf``) does not name."""
    schema, ref = _specs().resolve(base, schema)
    if ref.endswith(_ANY_JSON):
        return []
    base = ref.partition("#")[0] if ref else base
    if isinstance(value, list) and isinstance(schema, dict) and "items" in schema:
        return [
            found
            for index, item in enumerate(value)
            for found in _undeclared(base, schema["items"], item, f"{at}/{index}")
        ]
    if not isinstance(value, dict):
        return []
    declared, extra = _declared(base, schema)
    if declared is None and extra is None:
        return []  # a free-form object
    found = []
    for key, item in value.items():
        if key in (declared or {}):
            found += _undeclared(*declared[key], item, f"{at}/{key}")  # type: ignore[index]
        elif extra is not None:
            found += _undeclared(*extra, item, f"{at}/{key}")
        else:
            found.append(f"{at}/{key}".lstrip("/"))
    return found


def _declared(
    base: str, schema: Any
) -> tuple[dict[str, tuple[str, Any]] | None, tuple[str, Any] | None]:
    """The properties a schema and its ``allOf`` declare, and the schema of any others."""
    declared: dict[str, tuple[str, Any]] | None = None
    extra: tuple[str, Any] | None = None
    for part_base, part in _all_of(base, schema):
        if "properties" in part:
            declared = declared or {}
            declared.update({k: (part_base, v) for k, v in part["properties"].items()})
        if (
            isinstance(part.get("additionalProperties"), dict)
            or part.get("additionalProperties") is True
        ):
            extra = (
                part_base,
                part["additionalProperties"] if part["additionalProperties"] is not True else {},
            )
    return declared, extra


def _all_of(base: str, schema: Any) -> list[tuple[str, dict[str, Any]]]:
    schema, ref = _specs().resolve(base, schema)
    base = ref.partition("#")[0] if ref else base
    if not isinstance(schema, dict):
        return []
    parts = [(base, schema)]
    for part in schema.get("allOf", []):
        parts += _all_of(base, part)
    return parts


def assert_conforms(
    service: str,
    method: str,
    url_or_path: str,
    query: dict[str, Any] | None,
    body: Any,
    *,
    strict: bool = False,
) -> None:
    """Raise AssertionError listing every problem ``check_request`` finds."""
    problems = check_request(service, method, url_or_path, query, body, strict=strict)
    if problems:
        raise AssertionError(
            f"{method.upper()} {url_or_path} does not conform to the published spec:\n- "
            + "\n- ".join(problems)
        )
