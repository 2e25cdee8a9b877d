"""Bulk import jobs, the same pair of methods in every service that imports rows:
`<service>.start_import` and `<service>.get_import` (the machinery: shared/platform/imports.py).

A service's contract module calls `register(SERVICE, {kind: 中文}, read=..., write=...,
values="what a row's values are")`.
Kind codes are unique across services, so one ImportJob shape serves them all."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts import NEW, rpc_method, state_machine
from shared.contracts.common import Enum, StrictBoolean, label_of, request_id_field

MAX_ROWS = 20_000
ERRORS_KEPT = 1_000  # errors listed in a job; errors_total counts them all

STATUSES = {
    "running": "进行中",
    "valid": "校验通过",          # a dry run without errors: nothing written
    "invalid": "有错误未导入",    # errors found: nothing written
    "applied": "已导入",
    "interrupted": "已中断",      # the process stopped or died: nothing written
}
_RUNNING = "the service, when the job has checked every row"
JOB_MACHINE = state_machine(
    "imports", "import job", field="ImportJob.status (start_import, get_import)",
    statuses=STATUSES, transitions=[
        (NEW, "start_import", "running", "the kind's write role (every row's own checks, "
         "jurisdiction included, apply)", "returned at once; poll get_import"),
        ("running", "background", "valid", _RUNNING, "dry_run, no row in error: nothing "
         "written"),
        ("running", "background", "invalid", _RUNNING, "a row in error: nothing written, "
         "no event sent"),
        ("running", "background", "applied", _RUNNING, "not dry_run, no row in error: every "
         "row written, in one transaction"),
        ("running", "background", "interrupted", "the service, when it stops, dies or fails "
         "with the job unfinished (its heartbeat stops)", "nothing written: start it again"),
    ])
KINDS: dict[str, str] = {}  # every service's import kinds, filled by register()
_OWNERS: dict[str, str] = {}  # kind → its service


class ImportRow(Schema):
    row = fields.Integer(strict=True, required=True, validate=validate.Range(min=1),
                         metadata={"description": "the spreadsheet's row number, for messages"})
    values = fields.Dict(keys=fields.String(), required=True, metadata={
        "description": "the row's parameters, as the single operation of the kind takes them"})


# Built with type(): a field named `fields` cannot be declared in a class body that
# also uses marshmallow's `fields` module after it.
RowError = type("RowError", (Schema,), {
    "__module__": __name__,
    "row": fields.Integer(),
    "fields": fields.Dict(metadata={
        "description": "{field: [messages]} for the fields at fault (may be empty)"}),
    "message": fields.String(),
})


class ImportJob(Schema):
    id = fields.String(metadata={"description": "uuid"})
    kind = fields.String()
    kind_label = label_of(KINDS)("kind")
    status = fields.String(metadata={"description": ", ".join(
        f"`{code}` {label}" for code, label in STATUSES.items())})
    status_label = label_of(STATUSES)("status")
    dry_run = StrictBoolean()
    total = fields.Integer(metadata={"description": "rows in the file"})
    processed = fields.Integer(metadata={"description": "rows checked so far"})
    applied = fields.Integer(metadata={"description": "rows written: 0 unless applied"})
    errors = fields.List(fields.Nested(RowError), metadata={
        "description": f"by row; the first {ERRORS_KEPT}"})
    errors_total = fields.Integer()
    started_at = fields.AwareDateTime()
    finished_at = fields.AwareDateTime(allow_none=True)


class ImportRef(Schema):
    job_id = fields.UUID(required=True)


def register(service: str, kinds: dict[str, str], *, read: str, write: str, values: str,
             personal: bool = False) -> None:
    """Declare `service.start_import` and `service.get_import`. `values`: what a row's
    values are, for the document. `personal`: the rows hold personal data (identity
    numbers), so they stay out of the request fingerprint."""
    clash = {k for k in kinds if _OWNERS.setdefault(k, service) != service}
    if clash:
        raise ValueError(f"import kinds already used by another service: {clash}")
    # In code order, whatever order the contract modules were imported in: the documents
    # list them, and must come out the same from any process.
    ordered = dict(sorted({**KINDS, **kinds}.items()))
    KINDS.clear()
    KINDS.update(ordered)
    row_meta: dict[str, object] = {
        "description": f"1–{MAX_ROWS} rows; all are written or none. {values}"}
    if personal:
        row_meta["personal"] = True
    start = type(f"{service.capitalize()}StartImport", (Schema,), {
        "__module__": __name__,
        "request_id": request_id_field(),
        "kind": Enum(kinds, required=True),
        "rows": fields.List(fields.Nested(ImportRow), required=True,
                            validate=validate.Length(min=1, max=MAX_ROWS), metadata=row_meta),
        "dry_run": StrictBoolean(load_default=False, metadata={
            "description": "check every row, write nothing"}),
    })
    rpc_method(service, "start_import", params=start, result=ImportJob, role=write,
               mutating=True, summary=(
                   "Import rows as one job in the background, all or nothing: every row goes "
                   "through the single operation's checks; any error → nothing is written. "
                   "Returns the job at once (running); poll get_import."))
    rpc_method(service, "get_import", params=ImportRef, result=ImportJob, role=read,
               mutating=False, summary="An import job: its progress, and its errors by row.")
