"""What the gateway accepts, bounded while it is read: every limit is a setting with a safe
default (docs/gateway.md lists them).

Order of work on a request: the route (the path only), then the caller's token
(signature, expiry, claims, lifetime), and only then the query, the body or the file,
each read no further than its limit. A refusal before the body was read closes the
connection, so that gunicorn does not read the rest of it to reuse the connection.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass

from shared.errors import TooLarge, ValidationError

__all__ = ["BODY_READ", "FORM_FIELDS_BYTES", "Limits", "TooLarge", "form_too_large",
           "parse_json", "read_body", "refuse_announced", "request_id", "too_large"]

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
BODY_READ = "jinwei.body_read"  # in the WSGI environ: the body was read to its end


@dataclass(frozen=True)
class Limits:
    json_bytes: int = 16 * 1024 * 1024
    json_depth: int = 32
    json_values: int = 500_000
    upload_bytes: int = 16 * 1024 * 1024
    query_parameters: int = 100

    @classmethod
    def from_env(cls, env=None) -> Limits:
        env = os.environ if env is None else env
        return cls(
            json_bytes=int(env.get("JINWEI_GATEWAY_MAX_JSON_BYTES", cls.json_bytes)),
            json_depth=int(env.get("JINWEI_GATEWAY_MAX_JSON_DEPTH", cls.json_depth)),
            json_values=int(env.get("JINWEI_GATEWAY_MAX_JSON_VALUES", cls.json_values)),
            upload_bytes=int(env.get("JINWEI_GATEWAY_MAX_UPLOAD_BYTES", cls.upload_bytes)),
            query_parameters=int(env.get("JINWEI_GATEWAY_MAX_QUERY_PARAMETERS",
                                         cls.query_parameters)),
        )


def request_id(header: str | None) -> str:
    """The caller's X-Request-Id when it is a plain short id; else one of ours. It goes
    into every log line of the request, here and in each service it reaches."""
    if header and REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


# Where each body limit is set, named in the 413 (docs/gateway.md lists them).
SETTING = {"request body": "JINWEI_GATEWAY_MAX_JSON_BYTES",
           "file": "JINWEI_GATEWAY_MAX_UPLOAD_BYTES"}


def too_large(what: str, limit: int, member: str = "body") -> TooLarge:
    setting = f" ({SETTING[what]})" if what in SETTING else ""
    return TooLarge(f"the {what} is too large: at most {limit} bytes{setting}",
                    {member: [f"at most {limit} bytes"]})


def refuse_announced(request, limit: int, what: str) -> None:
    """413 for a body whose announced size (Content-Length) is past `limit`, unread."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(what, limit)


# A form's fields besides its file (multipart/form-data): werkzeug keeps them in memory.
FORM_FIELDS_BYTES = 64 * 1024


def form_too_large(limit: int) -> TooLarge:
    """What werkzeug's form parser stops at — the request past the upload limit, or the
    form's other fields past theirs — said as the gateway says every limit."""
    return TooLarge(f"the form is too large: at most {limit} bytes "
                    f"(JINWEI_GATEWAY_MAX_UPLOAD_BYTES), of which {FORM_FIELDS_BYTES} bytes "
                    "of fields besides the file", {"file": [f"at most {limit} bytes"]})


def read_body(request, limit: int, what: str) -> bytes:
    """The body, read in pieces and refused (413) at the first byte past `limit`, whether
    its size was announced (Content-Length) or not (chunked)."""
    refuse_announced(request, limit, what)
    stream = request.environ["wsgi.input"]
    left, pieces = limit + 1, []
    if request.content_length is not None:
        left = min(left, request.content_length)
    while left > 0:
        piece = stream.read(min(left, 64 * 1024))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    body = b"".join(pieces)
    if len(body) > limit:
        raise too_large(what, limit)
    request.environ[BODY_READ] = True
    return body


def parse_json(raw: bytes, limits: Limits):
    """JSON with a bound on the number of values (objects counted as the decoder makes
    them, so a body of a million keys stops early) and on nesting."""
    values = [0]

    def counted(pairs):
        values[0] += len(pairs) + 1
        if values[0] > limits.json_values:
            raise _Overflow()
        return dict(pairs)

    try:
        body = json.loads(raw.decode("utf-8"), object_pairs_hook=counted)
    except _Overflow:  # (counted as decoded: a huge body stops early; _check_shape
        raise _too_many(limits) from None  # counts arrays' items too)
    except RecursionError:  # deeper than the decoder goes: far past the limit
        raise _too_deep(limits) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("the body is not valid JSON",
                              {"body": [str(exc)[:200]]}) from None
    _check_shape(body, limits)
    return body


class _Overflow(Exception):
    pass


def _too_many(limits: Limits) -> TooLarge:
    return TooLarge(f"the body holds too many values: at most {limits.json_values} "
                    "(JINWEI_GATEWAY_MAX_JSON_VALUES)",
                    {"body": [f"at most {limits.json_values}"]})


def _too_deep(limits: Limits) -> ValidationError:
    """Nesting is a rule of shape, not of size: a 400 (docs/gateway.md), naming it."""
    return ValidationError(f"the body is nested too deeply: at most {limits.json_depth} "
                           "levels (JINWEI_GATEWAY_MAX_JSON_DEPTH)",
                           {"body": [f"at most {limits.json_depth} levels"]})


def _check_shape(body, limits: Limits) -> None:
    """Nesting depth and the count of every value, arrays' items included."""
    stack, count = [(body, 1)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > limits.json_depth:
            raise _too_deep(limits)
        if count > limits.json_values:
            raise _too_many(limits)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
