"""The HTTP gateway: a WSGI application (werkzeug) that calls the services over RPC.

    GET  /v1/{service}/{method}?...      a query (docs/contract.md), parameters in the query
    POST /v1/{service}/{method}          a command, parameters as a JSON object
    POST /v1/imports/{kind}[?dry_run=true]   an .xlsx upload → 202 and an import job
    GET  /v1/imports/{kind}/{job_id}     the job: status, processed/total, errors by row
    GET  /v1/imports/{kind}/template     a blank spreadsheet with the headings
    GET  /v1/exports/{report}?...        a report as .xlsx (Chinese headings)
    GET  /v1/notices/{case_id}           a public notice (公示) as a printable page
    GET  /openapi.json, /docs            the API, generated from shared/contracts
    GET  /docs/try                       the same, to try: Swagger UI with a token box
    GET  /health/live, /health/ready, /metrics
    GET  /                               → /console/
    /console/...                         the staff console: pages for people (console/),
                                         signed in by a cookie; /v1 never reads that cookie

Served by gunicorn's gthread workers (gunicorn_conf.py); each thread keeps one RPC
proxy (rpc.py). The caller's bearer token travels in the RPC context, so jurisdiction
and roles are the services' own checks, exactly as over RPC.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.gateway import connection, console, cors, docs_page, health, metrics, openapi, results
from services.gateway import spreadsheet_routes as sheets
from services.gateway.http import (
    bearer_token,
    call_once,
    if_match_version,
    json_response,
    problem,
    problem_of,
    query_params,
    with_request_id,
)
from services.gateway.limits import (
    BODY_READ,
    Limits,
    form_too_large,
    parse_json,
    read_body,
    refuse_announced,
)
from services.gateway.limits import request_id as sanitized_request_id
from shared import contracts
from shared.errors import JinweiError, TooLarge, ValidationError
from shared.platform import auth, config
from shared.platform.rpc_client import RpcClient

log = logging.getLogger("jinwei.gateway")

# What answers without a token; everything else verifies it before reading anything else.
PUBLIC = frozenset({"live", "ready", "metrics", "openapi", "docs", "docs_try", "docs_asset",
                    "import_template", "root"})

URLS = Map([
    Rule("/health/live", endpoint="live"),
    Rule("/health/ready", endpoint="ready"),
    Rule("/metrics", endpoint="metrics"),
    Rule("/openapi.json", endpoint="openapi"),
    Rule("/docs", endpoint="docs"),
    Rule("/docs/try", endpoint="docs_try", methods=["GET"]),
    Rule("/docs/assets/<name>", endpoint="docs_asset", methods=["GET"]),
    Rule("/", endpoint="root", methods=["GET"]),
    *sheets.RULES,
    Rule("/v1/<service>/<method>", endpoint="operation", methods=["GET", "POST"]),
], strict_slashes=False)


class Gateway:
    def __init__(self, settings: config.Settings, *, rpc: RpcClient | None = None):
        contracts.load_all()
        if rpc is None:
            settings = settings.for_process("gateway")  # its own broker account, or refuse
        self.settings = settings
        self.limits = Limits.from_env()
        self.sheet_limits = sheets.sheet_limits()
        self.cors = cors.Cors(settings.cors_origins)  # a bad origin: the gateway does not start
        # The same check every service makes, made first: nothing of a request is read
        # or forwarded for a caller whose token is not good.
        self.verifier = auth.TokenVerifier(settings.token_secrets,
                                           max_ttl_seconds=settings.token_max_ttl_seconds)
        self.rpc = rpc or RpcClient(settings, settings.rpc_timeout)
        # Pages for people under /console/: their own session cookie, CSRF and HTML
        # answers, the same RPC (and so the same rules) behind them.
        self.console = console.Console(settings, self.verifier, self.rpc)
        self.readiness = health.BrokerCheck(settings)
        self._documents_of: dt.date | None = None
        self._documents()

    # -- WSGI ---------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = self.limits.upload_bytes
        request_id = sanitized_request_id(request.headers.get("X-Request-Id"))
        started = time.perf_counter()
        label, outcome = "unrouted", "success"
        adapter = URLS.bind_to_environ(environ)
        is_console = console.owns(request.path)
        try:
            if is_console:
                label, outcome, response = self.console.handle(request, request_id)
            elif request.method == "OPTIONS":
                label = "options"
                response = self.on_options(adapter, request)
            else:
                endpoint, args = adapter.match()
                label = _label(endpoint, args)
                if endpoint not in PUBLIC:
                    token = bearer_token(request.headers.get("Authorization"))
                    principal = self.verifier.verify(token)  # no token: Unauthenticated
                    assert token is not None
                    self.console.require_live_api_token(token, principal, request_id)
                response = getattr(self, f"on_{endpoint}")(request, request_id, **args)
        except JinweiError as error:
            outcome = error.code
            response = problem_of(error, request.path, request_id)
        except MethodNotAllowed:
            allowed = allowed_methods(adapter, request.path)
            if allowed is None:
                outcome = "not_found"
                response = problem(404, outcome, f"no resource at {request.path}",
                                   request.path, request_id=request_id)
            else:
                outcome = "method_not_allowed"
                response = problem(405, outcome, f"{request.method} is not allowed here",
                                   request.path, request_id=request_id,
                                   headers={"Allow": ", ".join(allowed)})
        except NotFound:
            outcome = "not_found"
            response = problem(404, outcome, f"no resource at {request.path}", request.path,
                               request_id=request_id)
        except RequestEntityTooLarge:  # werkzeug's form parser: the upload, or its fields
            outcome = TooLarge.code
            response = problem_of(form_too_large(self.limits.upload_bytes), request.path,
                                  request_id)
        except HTTPException as error:
            outcome = "http_error"
            response = problem(error.code or 400, "http_error", error.description or "",
                               request.path, request_id=request_id)
        except Exception:  # noqa: BLE001 - never a stack trace to the caller
            log.exception("unexpected error on %s %s (request %s)", request.method,
                          request.path, request_id)
            outcome = "error"
            response = problem(500, "internal_error", "the gateway failed; the request id "
                               "finds it in the log", request.path, request_id=request_id)
        if response.status_code >= 400 and outcome == "success":
            outcome = f"http_{response.status_code}"
        if _has_body(request) and not environ.get(BODY_READ):
            # a body nobody read (a refusal, a public page POSTed to): gunicorn would read
            # the rest of it to reuse the connection
            connection.close_after_answer()
        if response.status_code == 401 and not is_console:
            response.headers["WWW-Authenticate"] = 'Bearer realm="jinwei"'
        response.headers["X-Request-Id"] = request_id
        if not is_console:  # pages are for this origin only
            self.cors.decorate(request, response)
        metrics.observe(label, outcome, time.perf_counter() - started)
        return response(environ, start_response)

    # -- the operations -------------------------------------------------------------------
    def on_operation(self, request: Request, request_id: str, service: str, method: str):
        try:
            contract = contracts.RPC[(service, method)]
        except KeyError:  # no operation; maybe a spreadsheet route, by another method
            if allowed_methods(URLS.bind_to_environ(request.environ), request.path):
                raise MethodNotAllowed() from None
            raise NotFound() from None
        wanted = operation_verb(contract)
        if request.method != wanted and (request.method, wanted) != ("HEAD", "GET"):
            raise MethodNotAllowed()
        if wanted == "POST":
            if contract.personal and request.args:
                # Personal data never rides in a URL: URLs end up in access logs.
                raise ValidationError("parameters go in the JSON body here, not the query",
                                      {name: ["in the body only"] for name in request.args})
            params = self._body(request)
            self.headers_into(request, contract, params)
        else:
            params = query_params(contract.params, self._args(request))
        key = with_request_id(contract, params)
        contracts.load_params(contract, params)  # 400 here, without a round trip
        result = call_once(lambda: self.call(request, request_id, service, method, params), key)
        result = results.complete(contract.result, result)  # every field, as documented
        headers = {"Idempotency-Key": key} if key else {}
        if isinstance(result, dict):
            if result.get("version") is not None:
                headers["ETag"] = f'"{result["version"]}"'
            if result.get("next_cursor") and not contract.mutating:
                query = [(k, v) for k, v in request.args.items(multi=True) if k != "after"]
                query.append(("after", result["next_cursor"]))
                headers["Link"] = f'<{request.path}?{urlencode(query)}>; rel="next"'
        return json_response(result, headers=headers)

    def _args(self, request: Request):
        if len(request.args) > self.limits.query_parameters:
            raise TooLarge(f"too many query parameters: at most {self.limits.query_parameters} "
                           "(JINWEI_GATEWAY_MAX_QUERY_PARAMETERS)",
                           {"query": [f"at most {self.limits.query_parameters}"]})
        return request.args

    def call(self, request: Request, request_id: str, service: str, method: str,
             params: dict):
        return self.rpc.call(service, method, params,
                             token=bearer_token(request.headers.get("Authorization")),
                             call_id=f"gateway.{request_id}")

    def _body(self, request: Request) -> dict:
        # Too large is said first, whatever the rest: a sized body past the limit is
        # refused unread (413), even one that is not JSON.
        refuse_announced(request, self.limits.json_bytes, "request body")
        if request.mimetype not in ("application/json", ""):
            raise ValidationError("the body must be JSON (Content-Type: application/json)",
                                  {"body": [f"not JSON: {request.mimetype}"]})
        raw = read_body(request, self.limits.json_bytes, "request body")
        if not raw.strip():
            return {}
        body = parse_json(raw, self.limits)
        if not isinstance(body, dict):
            raise ValidationError("the body must be a JSON object",
                                  {"body": ["expected an object of parameters"]})
        return body

    @staticmethod
    def headers_into(request: Request, contract, params: dict) -> None:
        """Over HTTP the request id is the Idempotency-Key header and the version the
        If-Match header, never members of the body: one place each, so the two can never
        disagree (the OpenAPI document's bodies do not have them)."""
        fields_ = contract.params.fields
        in_body = {name: [f"over HTTP it is the {header} header, not a member of the body"]
                   for header, name in (("Idempotency-Key", "request_id"),
                                        ("If-Match", "version"))
                   if name in fields_ and name in params}
        if in_body:
            raise ValidationError("the request id and the version travel in headers",
                                  in_body)
        key = request.headers.get("Idempotency-Key")
        if key is not None and "request_id" in fields_:
            if not 8 <= len(key) <= 100:
                raise ValidationError("Idempotency-Key must be 8 to 100 characters",
                                      {"Idempotency-Key": ["8 to 100 characters"]})
            params["request_id"] = key
        if "If-Match" in request.headers and "version" not in fields_:
            raise ValidationError(f"{contract.method} is not a conditional update",
                                  {"If-Match": ["this operation takes no version"]})
        version = if_match_version(request.headers.get("If-Match"))
        if version is not None:
            params["version"] = version
        elif "version" in fields_ and fields_["version"].required:
            raise ValidationError(f"{contract.method} is a conditional update",
                                  {"If-Match": ["required: the ETag of the version read, "
                                                "e.g. \"3\""]})

    def on_options(self, adapter, request: Request) -> Response:
        """The methods the path takes (RFC 9110 §9.3.7), with no token: they are in
        /openapi.json for anyone to read. A browser's preflight from an allowed origin
        also learns the headers it may send (cors.py); nothing else is read or done."""
        allowed = allowed_methods(adapter, request.path)
        if allowed is None:
            raise NotFound()
        response = Response(status=204, headers={"Allow": ", ".join(allowed)})
        if self.cors.is_preflight(request):
            self.cors.preflight(request, response, allowed)
        return response

    # -- spreadsheets -------------------------------------------------------------------
    def on_import_start(self, request, request_id, kind):
        return sheets.start_import(self, request, request_id, kind)

    def on_import_job(self, request, request_id, kind, job_id):
        return sheets.import_job(self, request, request_id, kind, job_id)

    def on_import_template(self, request, request_id, kind):
        return sheets.template(kind)

    def on_export(self, request, request_id, report):
        return sheets.export(self, request, request_id, report)

    def on_notice(self, request, request_id, case_id):
        return sheets.notice(self, request, request_id, case_id)

    # -- the documents and health ---------------------------------------------------------
    def _documents(self) -> tuple[bytes, bytes]:
        """/openapi.json and /docs, made again on a new day: a bound such as "this year or
        the next" is stated as the number it is today."""
        today = dt.date.today()
        if self._documents_of != today:
            self.document = openapi.build(extra_paths=sheets.openapi_paths())
            self.document_bytes = json.dumps(self.document, ensure_ascii=False).encode()
            self.docs_bytes = docs_page.render(self.document).encode()
            self._documents_of = today
        return self.document_bytes, self.docs_bytes

    def on_openapi(self, request, request_id):
        return Response(self._documents()[0], content_type="application/json; charset=utf-8")

    def on_docs(self, request, request_id):
        return docs_page.page(self._documents()[1], docs_page.READ_POLICY)

    def on_docs_try(self, request, request_id):
        return docs_page.page(docs_page.TRY_PAGE, docs_page.TRY_POLICY)

    def on_docs_asset(self, request, request_id, name):
        return docs_page.asset(name)

    def on_root(self, request, request_id):
        return redirect("/console/", 302)

    def on_live(self, request, request_id):
        return json_response({"status": "live"})

    def on_ready(self, request, request_id):
        ok, checks = self.readiness.check()
        return json_response({"ready": ok, "checks": checks}, status=200 if ok else 503)

    def on_metrics(self, request, request_id):
        body, content_type = metrics.render()
        return Response(body, content_type=content_type)


def _has_body(request: Request) -> bool:
    return bool(request.content_length) or "chunked" in (
        request.headers.get("Transfer-Encoding") or "").lower()


def allowed_methods(adapter, path: str) -> list[str] | None:
    """The methods the OpenAPI document gives `path` (for Allow), or None when nothing is
    there. HEAD (a GET without the body) and OPTIONS are answered too, as everywhere."""
    methods = set()
    for method in ("GET", "POST"):
        try:
            endpoint, args = adapter.match(path, method=method)
        except (MethodNotAllowed, NotFound):
            continue
        if endpoint == "operation":
            contract = contracts.RPC.get((args["service"], args["method"]))
            if contract is not None:  # else no operation: a spreadsheet route, or nothing
                methods.add(operation_verb(contract))
        elif sheets.exists(endpoint, args):
            methods.add(method)
    return sorted(methods) or None


def operation_verb(contract: contracts.RpcContract) -> str:
    """POST for commands, and for queries that take personal data (kept out of URLs);
    GET for the other queries."""
    return "POST" if contract.mutating or contract.personal else "GET"


def _label(endpoint: str, args: dict) -> str:
    if endpoint == "operation":
        known = (args["service"], args["method"]) in contracts.RPC
        return f"{args['service']}.{args['method']}" if known else "unknown_operation"
    return endpoint


def create_app(settings: config.Settings | None = None) -> Gateway:
    from shared.platform import logs

    logs.configure("gateway")
    return Gateway(settings or config.load())
