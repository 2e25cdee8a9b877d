"""CORS: which web pages may call the gateway from a browser (JINWEI_CORS_ORIGINS).

A page's script calls the API with `Authorization: Bearer …` (and for a command
`Content-Type: application/json`, maybe `Idempotency-Key` or `If-Match`): the browser
first asks with a preflight — OPTIONS with `Origin` and `Access-Control-Request-Method`,
no token — whether the page's origin may. Only the configured origins, exact (scheme,
host and port), are answered yes; the answer names that origin, never `*`. Any other
origin gets no CORS header at all, so its page cannot read an answer.

A preflight is answered from the route table alone, before and without a token: nothing
is read, nothing forwarded, nothing said but the methods and headers the path takes
(what /openapi.json tells anyone). With no origins configured (the default) the gateway
sends no CORS header anywhere.
"""

from __future__ import annotations

import re

from werkzeug.wrappers import Request, Response

# What a page's script may send, and read of an answer besides the simple headers.
ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match",
                 "X-Request-Id")
EXPOSE_HEADERS = ("ETag", "Idempotency-Key", "X-Request-Id", "Location", "Link",
                  "Content-Disposition", "WWW-Authenticate", "Allow")
# How long a browser may keep a preflight's answer (Chromium keeps at most 2 hours).
MAX_AGE_SECONDS = 600

_ORIGIN = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?",
                     re.ASCII)


def parse_origins(values) -> frozenset[str]:
    """The configured origins, checked: `scheme://host[:port]`, written as a browser sends
    them (lower case, no trailing slash, no default port). `*` and `null` (a sandboxed
    frame, a local file: any page can be one) are refused: the gateway does not start."""
    origins = set()
    for value in values:
        origin = _normal(value)
        if origin in ("*", "null"):
            raise ValueError(f"JINWEI_CORS_ORIGINS: {origin!r} is not allowed: requests carry "
                             "a bearer token, so every origin is named")
        if not _ORIGIN.fullmatch(origin):
            raise ValueError(f"JINWEI_CORS_ORIGINS: {origin!r} is not an origin "
                             "(scheme://host[:port], e.g. https://portal.example.gov.cn, "
                             "no path)")
        origins.add(origin)
    return frozenset(origins)


def _normal(value: str) -> str:
    """An origin as a browser writes it: lower case, no trailing slash, no default port."""
    origin = value.strip().rstrip("/").lower()
    for scheme, port in (("https://", ":443"), ("http://", ":80")):
        if origin.startswith(scheme) and origin.endswith(port):
            origin = origin[:-len(port)]
    return origin


class Cors:
    def __init__(self, origins=()):
        self.origins = parse_origins(origins)

    @property
    def enabled(self) -> bool:
        return bool(self.origins)

    def allowed(self, request: Request) -> str | None:
        """The request's Origin when it is one of the configured ones."""
        origin = request.headers.get("Origin")
        return origin if origin in self.origins else None

    @staticmethod
    def is_preflight(request: Request) -> bool:
        return (request.method == "OPTIONS" and "Origin" in request.headers
                and "Access-Control-Request-Method" in request.headers)

    def preflight(self, request: Request, response: Response, allowed: list[str]) -> None:
        """The preflight's answer (a 204 with Allow already): the methods the path takes,
        the headers a request may carry, for how long — to an allowed origin only."""
        origin = self.allowed(request)
        if origin is None:
            return
        methods = list(allowed) + (["HEAD"] if "GET" in allowed else [])
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = ", ".join(ALLOW_HEADERS)
        response.headers["Access-Control-Max-Age"] = str(MAX_AGE_SECONDS)

    def decorate(self, request: Request, response: Response) -> None:
        """Every answer, once CORS is configured: `Vary: Origin` (the headers depend on
        it, so no cache may give one page's answer to another), and to an allowed
        origin the headers that let its page read the answer."""
        if not self.enabled:
            return
        response.vary.add("Origin")
        origin = self.allowed(request)
        if origin is None:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
        if not self.is_preflight(request):
            response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSE_HEADERS)
