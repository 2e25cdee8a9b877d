"""导入导出: the gateway's spreadsheet imports and exports, as the signed-in member.

    GET  /console/transfers                          every import kind (template, upload
                                                     form) and every export (its form)
    GET  /console/transfers/imports/<kind>/template  the blank workbook, as /v1 gives it
    POST /console/transfers/imports/<kind>?csrf=…    an upload → the import job's page
    GET  /console/transfers/jobs/<kind>/<job_id>     the job: status, progress, errors by row
    GET  /console/transfers/exports/<report>?…       the report's workbook, as /v1 makes it

An upload takes the path of POST /v1/imports/{kind} (spreadsheet_routes.workbook_bytes
and begin_import: the same bounded read, the same parse, the same start_import of the
owning service), with the member's session token instead of a bearer token; an export
is spreadsheet_routes.export itself, its RPCs asked as the member: the same bytes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from marshmallow import fields, missing
from werkzeug.exceptions import NotFound

from services.gateway import spreadsheet_routes as sheets
from services.gateway import spreadsheets
from services.gateway.console import security
from services.gateway.console.texts import chinese, standard_message
from services.gateway.console.views import route
from services.gateway.http import boolean_arg
from services.gateway.limits import Limits
from shared import contracts
from shared.contracts.common import Enum, PlaceCode
from shared.contracts.imports import MAX_ROWS
from shared.contracts.roles import ROLES
from shared.errors import TooLarge, ValidationError

SECTION = "/console/transfers"
PAGING = ("limit", "after")  # an export takes every page: not the person's to choose
PARAM_LABELS = {
    "place_code": "地区（区划代码）",
    "year": "年度",
    "status": "状态",
    "listed": "挂牌整改",
    "kind": "类别",
}
MiB = 1024 * 1024


@route("/transfers", name="transfers.index")
def index(view):
    return _index(view)


def _index(view, *, status: int = 200, upload_errors: dict | None = None,
           export_errors: dict | None = None, export_values: dict | None = None):
    limit = Limits.from_env().upload_bytes
    imports = []
    for kind, (service, title) in spreadsheets.IMPORTS.items():
        role = contracts.RPC[(service, "start_import")].role
        imports.append({"kind": kind, "title": title, "may": view.may(role),
                        "role_label": ROLES.get(role, role), "request_id": uuid.uuid4().hex,
                        "error": (upload_errors or {}).get(kind)})
    exports = []
    for report, (service, method, title) in spreadsheets.EXPORTS.items():
        contract = contracts.RPC[(service, method)]
        values = (export_values or {}).get(report) or {}
        exports.append({"report": report, "title": title, "may": view.may(contract.role),
                        "role_label": ROLES.get(contract.role, contract.role),
                        "fields": _export_fields(view, contract, values),
                        "errors": (export_errors or {}).get(report) or {}})
    return view.page("transfers_index.html", section=SECTION, status=status, imports=imports,
                     exports=exports, limit=_size(limit), max_rows=MAX_ROWS)


# -- imports ---------------------------------------------------------------------------------
@route("/transfers/imports/<kind>/template", name="transfers.template")
def template(view, kind: str):
    _kind(kind)
    return sheets.template(kind)  # the very workbook and headers /v1 answers


@route("/transfers/imports/<kind>", methods=("POST",), name="transfers.upload")
def upload(view, kind: str):
    service = _kind(kind)
    # The CSRF token rides in the form's action URL (?csrf=…), not in the body: the body
    # is multipart/form-data, which view.form() (urlencoded only) does not read, and its
    # fields come only after parsing what may be megabytes of file. Checked here, before
    # a byte of the body is read, a forged cross-site upload costs nothing: no file read,
    # no workbook parsed. (In a URL the token may reach an access log; it is a MAC of this
    # session's token id, good for nothing without the session cookie, which is
    # SameSite=Strict besides: the pages send no Referer, and no link carries it.)
    if not security.session_csrf_ok(view.console.secrets, view.session.principal.token_id,
                                    view.request.args.get(security.CSRF_FIELD)):
        from services.gateway.console.pages import csrf_refused
        raise csrf_refused()
    if view.request.mimetype != "multipart/form-data":
        return _index(view, status=400, upload_errors={kind: "请用本页的表单选择文件后上传。"})
    limit = Limits.from_env().upload_bytes  # the gateway's own (JINWEI_GATEWAY_MAX_UPLOAD_BYTES)
    view.request.max_content_length = limit  # (the gateway sets it too) the parser stops there
    try:
        data = sheets.workbook_bytes(view.request, limit)  # as /v1 reads it: bounded
    except TooLarge:
        return _index(view, status=413, upload_errors={
            kind: f"文件太大：不能超过 {_size(limit)}。请删去多余的内容，"
                  "或拆分成几个文件分别导入。"})
    except ValidationError:  # no file in the form
        data = b""
    if not data:  # (a browser sends an empty file part when none was chosen)
        return _index(view, status=400, upload_errors={kind: "请选择要上传的 .xlsx 文件。"})
    form = view.request.form
    try:
        dry_run = boolean_arg(form, "dry_run")
        job, _ = sheets.begin_import(
            kind, data, dry_run=dry_run, sheet_limits=sheets.sheet_limits(),
            request_id=form.get("request_id") or None,
            call=lambda method, params: _as_member(view, service, method, params))
    except TooLarge as error:  # too many rows, or a part of the workbook past its limit
        return _index(view, status=413, upload_errors={kind: "表格超出限制（每次最多导入 "
                                                       f"{MAX_ROWS} 行）：{_problem(error)}"})
    except ValidationError as error:
        return _index(view, status=400, upload_errors={kind: _problem(error)})
    return view.redirect(f"/console/transfers/jobs/{kind}/{job['id']}")


@route("/transfers/jobs/<kind>/<uuid:job_id>", name="transfers.job")
def job(view, kind: str, job_id):
    service = _kind(kind)
    found = view.ask(service, "get_import", job_id=str(job_id))
    by_field = {column.field: column for column in spreadsheets.KINDS[kind].columns}
    errors = []
    for error in found.get("errors") or ():
        problems = []
        for name, messages in (error.get("fields") or {}).items():
            column = by_field.get(name)
            problems.append({"heading": column.heading if column else None,
                             "text": _said(messages, column.labels.values() if column else ())})
        if not problems:
            problems.append({"heading": None, "text": _said(error.get("message"))})
        errors.append({"row": error.get("row"), "problems": problems})
    total, processed = found.get("total") or 0, found.get("processed") or 0
    return view.page("transfers_job.html", section=SECTION, job=found, kind=kind,
                     title=spreadsheets.IMPORTS[kind][1], errors=errors, total=total,
                     processed=min(processed, total), running=found.get("status") == "running",
                     percent=round(100 * processed / total) if total else 0)


def _kind(kind: str) -> str:
    """The service of an import kind; another is no page."""
    if kind not in spreadsheets.IMPORTS:
        raise NotFound()
    return spreadsheets.IMPORTS[kind][0]


def _as_member(view, service: str, method: str, params: dict):
    """`view.ask` with the parameters as one dict (a parameter may be named like ask's)."""
    return view.console.rpc.call(service, method, params, token=view.session.token,
                                 call_id=f"gateway.{view.request_id}")


def _problem(error: ValidationError | TooLarge) -> str:
    """What is wrong with a workbook as a whole, in Chinese (spreadsheets.parse's
    details: the file, the headings, cells that lost digits)."""
    details = error.details if isinstance(error.details, dict) else {}
    said: list[str] = []
    if details.get("missing_headings"):
        said.append("缺少这些列：" + "、".join(map(str, details["missing_headings"])))
    if details.get("unknown_headings"):
        said.append("无法识别这些列：" + "、".join(map(str, details["unknown_headings"]))
                    + "（请使用模板中的列名）")
    if isinstance(details.get("duplicate_headings"), dict):
        said.append("这些列出现了不止一次：" + "、".join(
            f"{heading}（{'、'.join(cells)}）"
            for heading, cells in details["duplicate_headings"].items()))
    for row in details.get("rows") or ():
        if isinstance(row, dict):
            said.append(f"第 {row.get('row')} 行：{_said(row.get('fields') or row.get('message'))}")
        else:
            said.append(_said(row))
    for name in ("file", "headings"):
        if details.get(name):
            said.append(_said(details[name]))
    rest = {k: v for k, v in details.items() if k not in (
        "missing_headings", "unknown_headings", "duplicate_headings", "accepted_headings",
        "aliases", "rows", "rows_total", "file", "headings")}
    if rest:
        said.append(chinese(rest) or "")
    said = [text for text in said if text]
    return "；".join(said) or chinese(error.message) or "文件内容有误，请对照模板检查后重新上传。"


def _said(messages, choices: Iterable[str] = ()) -> str:
    """A service's message in Chinese: its own Chinese, or marshmallow's standard message
    said in Chinese (with the column's choices), else as it came."""
    found = chinese(messages)
    if found:
        return found
    if isinstance(messages, dict):
        messages = [m for ms in messages.values() for m in (ms if isinstance(ms, list) else [ms])]
    if not isinstance(messages, list | tuple):
        messages = [messages or ""]
    return "；".join(standard_message(str(m), choices=choices) or str(m) for m in messages)


# -- exports ---------------------------------------------------------------------------------
@route("/transfers/exports/<report>", name="transfers.export")
def export(view, report: str):
    if report not in spreadsheets.EXPORTS:
        raise NotFound()
    args = view.request.args
    if any(value == "" for value in args.values()):  # a blank field of the form: unsaid
        return view.redirect(f"/console/transfers/exports/{report}",
                             **{k: v for k, v in args.items() if v != ""})
    try:
        return sheets.export(_Member(view), view.request, view.request_id, report)
    except ValidationError as error:
        details = error.details if isinstance(error.details, dict) else {}
        named = _params(report)
        errors = {str(name): chinese(messages) or _hint(str(name))
                  for name, messages in details.items() if name in named}
        if not errors or set(details) - set(named):
            errors["form"] = chinese(error.message) or "填写有误，请检查后重新下载。"
        return _index(view, status=400, export_errors={report: errors},
                      export_values={report: dict(args.items())})


class _Member:
    """What spreadsheet_routes.export asks of the gateway — `call` — answered as the
    signed-in member (their token), so the export is /v1's own code path."""

    def __init__(self, view):
        self.view = view

    def call(self, request, request_id: str, service: str, method: str, params: dict):
        return _as_member(self.view, service, method, params)


def _params(report: str) -> list[str]:
    service, method, _ = spreadsheets.EXPORTS[report]
    return [n for n in contracts.RPC[(service, method)].params.fields if n not in PAGING]


def _export_fields(view, contract, values: dict) -> list[dict[str, Any]]:
    """The report method's parameters as form fields (paging left out)."""
    found = []
    for name, field in contract.params.fields.items():
        if name in PAGING:
            continue
        default = None if field.load_default in (None, missing) else field.load_default
        spec: dict[str, Any] = {"name": name, "label": PARAM_LABELS.get(name, name),
                                "required": field.required, "options": None, "hint": None}
        if isinstance(field, PlaceCode):
            spec.update(kind="text", value=values.get(name, view.home_place),
                        hint="12 位统计用区划代码，默认为本单位所在地区")
        elif isinstance(field, Enum):
            spec.update(kind="select", value=values.get(name, default or ""),
                        options=list(field.labels.items()))
        elif isinstance(field, fields.Boolean):
            spec.update(kind="select", value=values.get(name, ""),
                        options=[("true", "是"), ("false", "否")])
        elif isinstance(field, fields.Integer) and name == "year":
            spec.update(kind="text", value=values.get(name, str(dt.date.today().year)))
        else:
            spec.update(kind="text", value=values.get(name, "" if default is None
                                                      else str(default)))
        found.append(spec)
    return found


def _hint(name: str) -> str:
    return {"place_code": "请填写 12 位统计用区划代码（本单位或下级地区）",
            "year": "请填写 2000–2100 之间的年份"}.get(name, "填写有误，请检查")


def _size(limit: int) -> str:
    """16 MB, 1.5 MB, 4 KB: a limit as people read it."""
    if limit >= MiB:
        value = limit / MiB
        return f"{value:g} MB" if value == int(value) or value >= 10 else f"{value:.1f} MB"
    return f"{max(1, limit // 1024)} KB"
