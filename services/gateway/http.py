"""HTTP details of the gateway that are not routing: problem responses, query strings
turned into typed parameters, headers turned into contract fields."""

from __future__ import annotations

import json
import re
import uuid

from marshmallow import fields
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from shared import contracts
from shared.errors import JinweiError, ServiceUnavailable, Unauthenticated, ValidationError
from shared.platform.auth import NO_TOKEN

PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad input (输入有误)",
    401: "Not authenticated (未认证)",
    403: "Forbidden (无权操作)",
    404: "Not found (不存在)",
    405: "Method not allowed",
    409: "Conflict (状态冲突)",
    413: "Too large",
    415: "Unsupported media type",
    500: "Internal error",
    503: "Service unavailable (服务暂不可用)",
}


def json_response(body, status: int = 200, headers=None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    headers=headers, content_type="application/json; charset=utf-8")


def problem(status: int, code: str, detail: str, instance: str, *, details=None,
            request_id: str | None = None, headers=None) -> Response:
    body = {"type": f"/problems/{code}", "title": TITLES.get(status, "Error"),
            "status": status, "detail": detail, "code": code, "instance": instance}
    if details:
        body["details"] = details
        if code == ValidationError.code:
            body["errors"] = details
    if request_id:
        body["request_id"] = request_id
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    headers=headers, content_type=f"{PROBLEM}; charset=utf-8")


def problem_of(error: JinweiError, instance: str, request_id: str | None) -> Response:
    message = error.message
    if isinstance(error, Unauthenticated) and message == NO_TOKEN:
        message = NO_BEARER_TOKEN  # an HTTP caller has no RPC header to set
    return problem(error.http_status, error.code, message, instance,
                   details=error.details, request_id=request_id)


NO_BEARER_TOKEN = "no token: send a signed token in the header Authorization: Bearer <token>"


_INTEGER = re.compile(r"[+-]?[0-9]+")


def query_params(schema, args: MultiDict) -> dict:
    """A query string as the contract's parameters: integers as integers, lists from
    repeated keys. A value that does not convert is passed on as given, so the schema
    reports it with the field's own message."""
    params: dict = {}
    repeated: dict[str, list[str]] = {}
    for name in args:
        values = args.getlist(name)
        field = schema.fields.get(name)
        if isinstance(field, fields.List):
            params[name] = [_scalar(field.inner, v) for v in values]
        elif len(values) > 1:
            repeated[name] = ["given more than once"]
        else:
            params[name] = _scalar(field, values[0]) if field is not None else values[0]
    if repeated:
        raise ValidationError("invalid query parameters", repeated)
    return params


def _scalar(field, value: str):
    # Only plain ASCII digits: int() would also take "1_000", " 7 " and other scripts'.
    if isinstance(field, fields.Integer) and _INTEGER.fullmatch(value):
        return int(value)
    # A boolean is spelled as in JSON; anything else stays text, which the schema refuses.
    if isinstance(field, fields.Boolean) and value in _BOOLEANS:
        return _BOOLEANS[value]
    return value


_BOOLEANS = {"true": True, "false": False}


def boolean_arg(args: MultiDict, name: str) -> bool:
    """?name=true|false, as JSON spells them; absent is false; anything else is a 400
    rather than a guess (a typo in dry_run must not mean "apply")."""
    values = args.getlist(name)
    if len(values) > 1:
        raise ValidationError("invalid query parameters", {name: ["given more than once"]})
    value = values[0] if values else "false"
    if value in _BOOLEANS:
        return _BOOLEANS[value]
    raise ValidationError(f"{name} must be true or false", {name: ["not true or false"]})


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


# An entity tag (RFC 9110 §8.8.3) carrying a version: "3", or weak W/"3".
IF_MATCH = r'^(W/)?"[0-9]{1,18}"$'
_IF_MATCH = re.compile(r'(?:W/)?"([0-9]{1,18})"', re.ASCII)


def if_match_version(header: str | None):
    """`If-Match: "3"` (or W/"3") → 3; anything else is a 400."""
    if header is None:
        return None
    match = _IF_MATCH.fullmatch(header.strip())
    if match is None:
        raise ValidationError("If-Match must carry a version (an ETag such as \"3\")",
                              {"If-Match": ["not a version"]})
    return int(match.group(1))


def with_request_id(contract: contracts.RpcContract, params: dict) -> str | None:
    """A mutating call's request id: the caller's (Idempotency-Key or request_id), else
    one made here, so that a call that timed out can be retried safely with it."""
    if "request_id" not in contract.params.fields:
        return None
    if not params.get("request_id"):
        params["request_id"] = f"gw-{uuid.uuid4().hex}"
    return params["request_id"]


def call_once(call, key: str | None):
    """`call()`; a 503 of a mutating call says how to finish it: it may have been done
    (the service committed, its answer was lost), and a retry with the same key is done
    at most once."""
    try:
        return call()
    except ServiceUnavailable as error:
        if key is None:
            raise
        raise ServiceUnavailable(
            f"{error.message}; it may have been done: repeat it with the header "
            f"Idempotency-Key: {key} (done at most once)",
            {**(error.details or {}), "idempotency_key": key}) from None
