"""Spreadsheets over HTTP: imports as jobs, exports as .xlsx, public notices as pages.

The workbook is read here (services.gateway.spreadsheets: the Chinese headings staff use) and its
rows go to the owning service's `start_import`, which checks every row by the same
rules as the single call and applies all of them or none, in the background; the
caller polls the job. Exports call the report's own RPC and write what it returned.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from services.gateway import spreadsheets
from services.gateway.http import (
    boolean_arg,
    call_once,
    json_response,
    query_params,
    with_request_id,
)
from services.gateway.limits import FORM_FIELDS_BYTES, form_too_large, read_body, too_large
from shared import contracts
from shared.contracts.imports import MAX_ROWS
from shared.errors import NotFound, ValidationError
from shared.platform.rpc_client import all_pages

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

RULES = [
    Rule("/v1/imports/<kind>", endpoint="import_start", methods=["POST"]),
    Rule("/v1/imports/<kind>/template", endpoint="import_template", methods=["GET"]),
    Rule("/v1/imports/<kind>/<job_id>", endpoint="import_job", methods=["GET"]),
    Rule("/v1/exports/<report>", endpoint="export", methods=["GET"]),
    Rule("/v1/notices/<int:case_id>", endpoint="notice", methods=["GET"]),
]


def exists(endpoint: str, args: dict) -> bool:
    """Whether a route's arguments name something: a known import kind or export."""
    if "kind" in args and args["kind"] not in spreadsheets.IMPORTS:
        return False
    return "report" not in args or args["report"] in spreadsheets.EXPORTS


def _import_kind(kind: str) -> str:
    try:
        return spreadsheets.IMPORTS[kind][0]
    except KeyError:
        raise NotFound(f"no import of {kind}", {"kind": kind,
                                                "kinds": sorted(spreadsheets.IMPORTS)}) from None


def _workbook_bytes(request, limit: int) -> bytes:
    """The uploaded file, read no further than `limit` (the form's parser spools files
    to disk and stops at request.max_content_length, set to the same limit)."""
    if request.mimetype == "multipart/form-data":
        request.max_form_memory_size = FORM_FIELDS_BYTES  # the form's other fields
        try:
            upload = request.files.get("file")
        except RequestEntityTooLarge:  # the form past the limit (the file, or the rest)
            raise form_too_large(limit) from None
        if upload is None:
            raise ValidationError("no file in the form", {"file": ["attach the .xlsx as file"]})
        data = upload.read(limit + 1)
        if len(data) > limit:
            raise too_large("file", limit, "file")
        return data
    return read_body(request, limit, "file")


def sheet_limits() -> spreadsheets.SheetLimits:
    """The reader's limits (JINWEI_SHEET_MAX_*), its rows at most what one import takes:
    a workbook with more is a 413 naming its rows, never a 400 from start_import."""
    limits = spreadsheets.SheetLimits.from_env()
    return dataclasses.replace(limits, rows=min(limits.rows, MAX_ROWS))


def start_import(gateway, request, request_id: str, kind: str) -> Response:
    service = _import_kind(kind)
    dry_run = boolean_arg(request.args, "dry_run")
    job, key = begin_import(
        kind, workbook_bytes(request, gateway.limits.upload_bytes), dry_run=dry_run,
        sheet_limits=gateway.sheet_limits,
        call=lambda method, params: gateway.call(request, request_id, service, method, params),
        prepare=lambda contract, params: gateway.headers_into(request, contract, params))
    location = f"/v1/imports/{kind}/{job['id']}"
    return json_response(job, status=202, headers={"Location": location, "Idempotency-Key": key})


# -- shared with the console's upload page (console/views/transfers.py) -------------------
def workbook_bytes(request, limit: int) -> bytes:
    """The uploaded workbook (the form's `file`, or the whole body), read no further than
    `limit`: what POST /v1/imports/{kind} and the console's upload both read."""
    return _workbook_bytes(request, limit)


def begin_import(kind: str, data: bytes, *, dry_run: bool, sheet_limits, call,
                 prepare=None, request_id: str | None = None) -> tuple[dict, str]:
    """The one path from a workbook's bytes to an import job, for /v1 and the console:
    the rows parsed, the parameters checked against the contract, then the owning
    service's start_import through `call(method, params)` (as the caller: the /v1
    bearer token, or the console member's session). `prepare(contract, params)` may add
    parameters first (/v1: the Idempotency-Key header); else `request_id` is the key.
    (job, its request id)."""
    service = _import_kind(kind)
    rows = spreadsheets.parse(kind, data, limits=sheet_limits)
    params = {"kind": kind, "rows": rows, "dry_run": dry_run}
    contract = contracts.RPC[(service, "start_import")]
    if prepare is not None:
        prepare(contract, params)
    elif request_id:
        params["request_id"] = request_id
    key = with_request_id(contract, params)
    if key is None:  # start_import is a command: it takes a request id
        raise RuntimeError(f"{contract.service}.start_import takes no request id")
    contracts.load_params(contract, params)  # e.g. too many rows
    return call_once(lambda: call("start_import", params), key), key


def import_job(gateway, request, request_id: str, kind: str, job_id: str) -> Response:
    service = _import_kind(kind)
    return json_response(gateway.call(request, request_id, service, "get_import",
                                      {"job_id": job_id}))


def template(kind: str) -> Response:
    _import_kind(kind)
    return _xlsx(spreadsheets.template(kind), f"{spreadsheets.IMPORTS[kind][1]}（模板）")


def export(gateway, request, request_id: str, report: str) -> Response:
    try:
        service, method, title = spreadsheets.EXPORTS[report]
    except KeyError:
        raise NotFound(f"no export {report}", {"report": report,
                                                "reports": sorted(spreadsheets.EXPORTS)}) from None
    contract = contracts.RPC[(service, method)]
    params = query_params(contract.params, request.args)
    if contracts.largest_page(contract):
        params.setdefault("limit", contracts.largest_page(contract))  # fewer pages
    contracts.load_params(contract, params)
    result = all_pages(lambda page: gateway.call(request, request_id, service, method, page),
                       params)
    return _xlsx(spreadsheets.export(report, result), title)


def notice(gateway, request, request_id: str, case_id: int) -> Response:
    result = gateway.call(request, request_id, "organizations", "notice", {"case_id": case_id})
    return Response(result["html"], content_type="text/html; charset=utf-8")


def _xlsx(data: bytes, title: str) -> Response:
    filename = quote(f"{title}.xlsx")
    return Response(data, content_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{filename}"})


def openapi_paths() -> list[tuple[str, dict]]:
    """The spreadsheet routes, for /openapi.json: each export a path of its own, its query
    the report method's own parameters."""
    problem = {str(s): {"$ref": f"#/components/responses/{s}"} for s in (400, 401, 403, 404, 503)}
    security: list[dict[str, list[str]]] = [{"bearer": []}]
    kinds = sorted(spreadsheets.IMPORTS)
    job = {"description": "the import job", "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": True}}}}
    workbook = {"description": "the workbook", "content": {XLSX: {
        "schema": {"type": "string", "format": "binary"}}}}
    paths: list[tuple[str, dict]] = [
        ("/v1/imports/{kind}", {"post": {
            "operationId": "imports.start", "tags": ["spreadsheets"], "security": security,
            "summary": "Import a spreadsheet (.xlsx): every row checked, all applied or none",
            "parameters": [
                {"in": "path", "name": "kind", "required": True,
                 "schema": {"type": "string", "enum": kinds}},
                {"in": "query", "name": "dry_run", "schema": {"type": "boolean"},
                 "description": "check every row and apply nothing"},
                {"in": "header", "name": "Idempotency-Key",
                 "schema": {"type": "string", "minLength": 8, "maxLength": 100},
                 "description": "the request id: a repeat returns the first job"}],
            "requestBody": {"required": True, "description": (
                "an .xlsx workbook with the headings of the kind's template (GET "
                "/v1/imports/{kind}/template) and at least one data row, read from the sheet "
                "named like the kind, else the first sheet. The body is the file's bytes "
                "(any Content-Type), or multipart/form-data with the file as `file`. A "
                "file that is not such a workbook is a 400"),
                "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
            "responses": {"202": job, **problem,
                          "409": {"$ref": "#/components/responses/409"},
                          "413": {"$ref": "#/components/responses/413"}}}}),
        ("/v1/imports/{kind}/{job_id}", {"get": {
            "operationId": "imports.job", "tags": ["spreadsheets"], "security": security,
            "summary": "An import job: status, processed of total, errors by row",
            "parameters": [
                {"in": "path", "name": "kind", "required": True,
                 "schema": {"type": "string", "enum": kinds}},
                {"in": "path", "name": "job_id", "required": True,
                 "schema": {"type": "string", "format": "uuid"}}],
            "responses": {"200": job, **problem}}}),
        ("/v1/imports/{kind}/template", {"get": {
            "operationId": "imports.template", "tags": ["spreadsheets"],
            "summary": "A blank workbook with the headings and a sheet explaining them",
            "parameters": [{"in": "path", "name": "kind", "required": True,
                            "schema": {"type": "string", "enum": kinds}}],
            "responses": {"200": workbook, "404": problem["404"]}}}),
        ("/v1/notices/{case_id}", {"get": {
            "operationId": "notices.page", "tags": ["spreadsheets"], "security": security,
            "summary": "A rectification case's public notice (公示), as a printable page",
            "parameters": [{"in": "path", "name": "case_id", "required": True,
                            "schema": {"type": "integer", "minimum": 1}}],
            "responses": {"200": {"description": "the page", "content": {"text/html": {
                "schema": {"type": "string"}}}}, **problem}}}),
    ]
    for report, (service, method, title) in sorted(spreadsheets.EXPORTS.items()):
        paths.append((f"/v1/exports/{report}", {"get": {
            "operationId": f"exports.{report}", "tags": ["spreadsheets"], "security": security,
            "summary": f"{title}: the report {service}.{method} as a workbook with Chinese "
                       "headings, every page of it",
            "parameters": [{"in": "query", "schema": contracts.RPC[(service, method)].params}],
            "responses": {"200": workbook, **problem}}}))
    return paths
