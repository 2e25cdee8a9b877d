"""The gateway's OpenAPI 3 document, generated from the marshmallow contracts (apispec).

Every public RPC method is one operation: a query is `GET /v1/{service}/{method}` with
its parameters in the query string, a command is `POST /v1/{service}/{method}` with a
JSON body. The request id and the version may also travel as the `Idempotency-Key` and
`If-Match` headers. Errors are application/problem+json (RFC 9457).

Every field of a result is in the answer (`required`); those that are not `required` in
the contract may be null (a rate with nothing surveyed, a date not reached yet): the
document says so rather than promise more than the schemas enforce when they dump. A
coded field has its codes as an `enum` (shared/contracts/json_schema.py).

The title is ASCII, so that a client generated from the document gets an installable
name (deploy/openapi-client.yaml names it: jinwei-api-client, jinwei_api_client).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from services.gateway.http import IF_MATCH
from shared import contracts
from shared.contracts.json_schema import new_spec, results_complete
from shared.contracts.roles import ROLES
from shared.errors import EXPECTED

TITLE = "Jinwei API"
TITLE_ZH = "晋位 Jinwei API"
SERVICE_TITLES = {
    "organizations": "党组织与整改 organizations",
    "evaluation": "考评与晋位升级 evaluation",
    "npe": "非公企业党建 npe",
    "cadres": "干部人才 cadres",
    "resources": "经费与场所 resources",
}
PROBLEM = "application/problem+json"
ERROR_STATUSES = sorted({cls.http_status for cls in EXPECTED})


class Problem(Schema):
    """An error (RFC 9457 problem details), in English with the Chinese where the
    service gave it."""

    type = fields.String(required=True, metadata={"example": "/problems/validation_error"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "stable English error code"})
    instance = fields.String(required=True, metadata={"description": "the request path"})
    details = fields.Dict(metadata={"description": "what the service said about it; for "
                                                   "validation_error, messages per field"})
    errors = fields.Dict(metadata={"description": "validation_error: messages per field"})
    request_id = fields.String(metadata={"description": "X-Request-Id of the request"})


def operation_path(service: str, method: str) -> str:
    return f"/v1/{service}/{method}"


def build(version: str = "1.0.0", *, extra_paths=()) -> dict:
    contracts.load_all()
    spec, _ = new_spec(
        TITLE, version,
        info={"description": (
            "晋位（基层组织建设年 · 晋位升级）的 HTTP 接口。"
            "The REST face of the Jinwei services: the same operations, rules, errors and "
            "jurisdiction as their RPC interface (docs/contract.md). Authenticate with "
            "`Authorization: Bearer <token>` (`jinwei token issue`). Lists are keyset pages: "
            "pass `next_cursor` back as `after`, or follow the `Link: rel=\"next\"` header. "
            "The request id is the `Idempotency-Key` header and the version the `If-Match` "
            "header, never members of a body. No string may contain U+0000 or a lone "
            "surrogate. Named formats: `credit-code` (GB 32100, check character right), "
            "`identity-number` (GB 11643: a real birth date, check character right), "
            "`past-date` (not after today), `future-date` (not before today), "
            "`cursor-<shape>` (a next_cursor of the same listing), `decimal` (digits and a "
            "point, bounds in its pattern). Every field of a result is present (null where "
            "it says nullable); a code comes with its Chinese label (`kind`, `kind_label`). "
            "A Python client: openapi-python-client with deploy/openapi-client.yaml "
            "(the package jinwei_api_client; docs/gateway.md)."),
            "x-title-zh": TITLE_ZH,
        })
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"})
    spec.components.schema("Problem", schema=Problem)
    for service in contracts.services():
        spec.tag({"name": service, "description": SERVICE_TITLES.get(service, service)})
    for (service, method), contract in contracts.RPC.items():
        verb = "post" if contract.mutating or contract.personal else "get"
        spec.path(path=operation_path(service, method), operations={verb: _operation(contract)})
    for path, operations in extra_paths:
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    _headers_not_body(document)
    _absent_not_null(document)
    results_complete(document, _results_may_be_null(document))
    return document


def _absent_not_null(document: dict) -> None:
    """A query string has no null: a parameter is given, or left out for its default.
    (An empty value is the empty string, and is checked as one.)"""
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                schema = parameter.get("schema", {})
                if parameter.get("in") != "query" or "$ref" in schema:
                    continue
                schema.pop("nullable", None)
                if "default" in schema and schema["default"] is None:
                    del schema["default"]
                if "enum" in schema:
                    schema["enum"] = [value for value in schema["enum"] if value is not None]


# Over HTTP the request id and the version travel in headers only, so a body and a header
# can never say two different things: the body's schema does not have them.
_IN_HEADERS = {"Idempotency-Key": "request_id", "If-Match": "version"}


def _headers_not_body(document: dict) -> None:
    schemas = document["components"]["schemas"]
    for operations in document["paths"].values():
        for operation in operations.values():
            moved = {_IN_HEADERS[p["name"]] for p in operation.get("parameters", ())
                     if p.get("in") == "header" and p["name"] in _IN_HEADERS}
            body = operation.get("requestBody", {}).get("content", {}).get(
                "application/json", {}).get("schema", {})
            if not moved or "$ref" not in body:
                continue
            target = schemas[body["$ref"].rsplit("/", 1)[-1]]
            for name in moved:
                target.get("properties", {}).pop(name, None)
            if "required" in target:
                target["required"] = [n for n in target["required"] if n not in moved]
                if not target["required"]:
                    del target["required"]


def _operation(contract: contracts.RpcContract) -> dict:
    params_fields = contract.params.fields
    operation: dict[str, Any] = {
        "operationId": f"{contract.service}.{contract.method}",
        "tags": [contract.service],
        "summary": contract.summary.split("\n")[0][:120],
        "description": f"{contract.summary}\n\nRole: `{contract.role}` "
                       f"({ROLES.get(contract.role, contract.role)}).",
        "security": [{"bearer": []}],
        "responses": {
            "200": {"description": "OK",
                    "content": {"application/json": {"schema": contract.result}}},
            **{str(status): {"$ref": f"#/components/responses/{status}"}
               for status in ERROR_STATUSES},
        },
    }
    if contract.mutating or contract.personal:
        # A body is required where a parameter is; a command of optional ones only
        # (sign_out) is taken with none, and the document says so.
        operation["requestBody"] = {
            "required": any(f.required for f in params_fields.values()),
            "content": {"application/json": {"schema": contract.params}}}
        headers = []
        if "request_id" in params_fields:
            headers.append({"in": "header", "name": "Idempotency-Key", "required": False,
                            "schema": {"type": "string", "minLength": 8, "maxLength": 100},
                            "description": "the request id (a UUID): a repeat returns the "
                                           "first result instead of doing the work twice. "
                                           "Over HTTP only here, never as request_id in "
                                           "the body"})
        if "version" in params_fields:  # (elsewhere If-Match is refused: not conditional)
            headers.append({"in": "header", "name": "If-Match",
                            "required": params_fields["version"].required,
                            "schema": {"type": "string", "pattern": IF_MATCH},
                            "description": "the version read: its ETag (e.g. \"3\"). Over "
                                           "HTTP only here, never as version in the body"})
        if headers:
            operation["parameters"] = headers
    else:
        operation["parameters"] = [{"in": "query", "schema": contract.params}]
    if not contract.mutating and "next_cursor" in contract.result.fields:
        operation["responses"]["200"]["headers"] = {"Link": {
            "description": "rel=\"next\": the next page", "schema": {"type": "string"}}}
    if "version" in contract.result.fields:
        operation["responses"]["200"].setdefault("headers", {})["ETag"] = {
            "description": "the version, for If-Match", "schema": {"type": "string"}}
    return operation


def _results_may_be_null(document: dict) -> set[str]:
    """Marks what a result may have as null; returns the result components' names."""
    components = document["components"]
    components["responses"] = {
        str(status): {"description": _STATUS_TEXT[status],
                      "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for status in ERROR_STATUSES}
    schemas = components.get("schemas", {})
    seen: set[str] = set()

    def visit(schema: dict) -> None:
        if not isinstance(schema, dict):
            return
        ref = schema.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name not in seen and name != "Problem":
                seen.add(name)
                target = schemas[name]
                required = set(target.get("required", ()))
                for prop_name, prop in target.get("properties", {}).items():
                    if prop_name not in required and "$ref" not in prop:
                        prop["nullable"] = True
                    visit(prop)
            return
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                visit(schema[key])
        for key in ("allOf", "anyOf", "oneOf"):
            for part in schema.get(key, ()):
                visit(part)
        for prop in schema.get("properties", {}).values():
            visit(prop)

    for operations in document["paths"].values():
        for operation in operations.values():
            ok = operation.get("responses", {}).get("200", {})
            for media in ok.get("content", {}).values():
                visit(media.get("schema", {}))
    document.setdefault("x-generated-from", "shared/contracts")
    return seen


_STATUS_TEXT = {400: "Bad input: messages per field", 401: "No token, or a bad one",
                403: "Outside the caller's jurisdiction, or without the role",
                404: "No such thing", 409: "Changed meanwhile (stale version), or not allowed now",
                413: "Past a size limit (body, file, rows, values): the problem names it",
                503: "A service did not answer in time; safe to retry with the same "
                     "Idempotency-Key"}
