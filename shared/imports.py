"""Bulk import jobs: a file's rows through a service's own single-row operation, in the
background, all or nothing (contract: shared/contracts/imports.py).

    class OrganizationsService:
        imports = ImportJobs()

        @operation
        def start_import(self, call, params):
            return self.imports.start(call, params, IMPORTERS)

        @operation
        def get_import(self, call, params):
            return self.imports.get(call, params["job_id"])

    IMPORTERS = {"organizations": Importer.single(
        "organizations", "register_organization", OrganizationsService._register_organization)}

How a job runs, and why:

- start_import inserts the job row and returns it (running). The work starts once that
  transaction has committed (tx.after_commit), in a thread the container manages; a
  repeat of the request id gets the stored job back and starts nothing.
- Every row goes through ONE transaction: the file is written whole or not at all, and
  its rows' events reach the outbox in that one commit.
- Each row runs after a SAVEPOINT. A row that fails — a typed error, or a data or
  integrity error from PostgreSQL, which aborts the whole transaction — is rolled back
  to it alone, and the rows after it are still checked: one pass lists every bad row.
  What the row added to the transaction's lists in memory (events, deferred writes,
  after-commit callbacks) is dropped with it.
- Round trips are what a row costs (~70 µs of CPU each here): the statement that moves
  the savepoint ("RELEASE SAVEPOINT; SAVEPOINT") travels with the row's first statement,
  as BEGIN travels with a transaction's, so a row pays no round trip of its own.
- Subtransactions: RELEASE keeps one savepoint level rather than one more per row. Yet
  every row that writes takes a subtransaction id, and those stay with the transaction
  until it ends; past 64 PostgreSQL marks this backend's cache of them overflowed, and
  while the import runs other sessions' visibility checks of recent rows look into
  pg_subtrans. Tolerable for a job of seconds, bounded by the row cap (20 000). (A
  savepoint per batch of rows, replaying a failed batch row by row, would avoid it.)
- Progress (processed, heartbeat_at) is written every ~200 rows on a separate pooled
  connection in autocommit: the job's own transaction is invisible to pollers until it
  ends, and it never touches the job row while it runs (a progress update would wait
  for its lock). An applied job's final state travels with the rows' COMMIT, so the
  rows and "applied" commit together; other endings are written after the ROLLBACK.
- A running job whose heartbeat is older than 60 s reads as interrupted: its process
  died, and its transaction with it (nothing was written). A container that stops
  kills the thread (GreenletExit), which marks the job interrupted at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extras
from greenlet import GreenletExit
from nameko.extensions import DependencyProvider

from shared import contracts
from shared.contracts.imports import ERRORS_KEPT
from shared.db import CONNECTION_ERRORS, close_quietly, first_line, json_dumps
from shared.entrypoints import Call
from shared.errors import JinweiError, NotFound, ValidationError

log = logging.getLogger(__name__)

PROGRESS_EVERY_ROWS = 200
PROGRESS_EVERY_S = 5.0  # and at least this often, should rows be slow
STALE_AFTER = dt.timedelta(seconds=60)  # no heartbeat for this long: the process died
ROW_ERRORS = (JinweiError, psycopg2.DataError, psycopg2.IntegrityError)
JOB_COLUMNS = ("id, kind, status, dry_run, total, processed, applied, errors, errors_total,"
               " started_at, heartbeat_at, finished_at, place_code")


@dataclass(frozen=True)
class Importer:
    """One kind of row. `load(values)` → the params (ValidationError as the single call
    would give); `apply(service, call, params)` runs the single operation's own path;
    `key(params)` names what must not appear twice in one file, reported on
    `key_field`; `fields` are the row's field names (errors are mapped onto them)."""

    load: Callable[[dict], dict]
    apply: Callable[[Any, Call, dict], Any]
    fields: frozenset[str]
    key: Callable[[dict], Hashable] | None = None
    key_field: str | None = None

    @classmethod
    def single(cls, service: str, method: str, apply, **kwargs) -> Importer:
        """Rows whose values are the params of `service.method`."""
        contract = without(contracts.rpc_contract(service, method), "request_id")
        return cls(load=functools.partial(contracts.load_params, contract), apply=apply,
                   fields=frozenset(contract.params.fields), **kwargs)


def without(contract: contracts.RpcContract, *names: str) -> contracts.RpcContract:
    """`contract` whose params schema lacks `names` (a row giving one of them gets
    "Unknown field."): a request id is no column, and what the import fills in itself
    (the person of a reserve cadre) is none either."""
    return dataclasses.replace(contract, params=type(contract.params)(exclude=names))


def effective_status(status: str, heartbeat_at: dt.datetime, now: dt.datetime) -> str:
    """A running job that stopped beating is interrupted: the process running it died."""
    if status == "running" and now - heartbeat_at > STALE_AFTER:
        return "interrupted"
    return status


def _view(row: dict) -> dict:
    job = dict(row)
    job["id"] = str(job["id"])
    job["status"] = effective_status(row["status"], row["heartbeat_at"], row["now"])
    return job


class ImportJobs(DependencyProvider):
    """`self.imports` in a worker: start and read import jobs of this service."""

    def get_dependency(self, worker_ctx):
        return _Jobs(self.container, worker_ctx)


class _Discard(Exception):
    """Ends the job's transaction with a ROLLBACK (a dry run, or errors found)."""


class _Jobs:
    def __init__(self, container, worker_ctx):
        self.container = container
        self.worker_ctx = worker_ctx

    def start(self, call: Call, params: dict, importers: dict[str, Importer]) -> dict:
        job_id = str(uuid.uuid4())
        row = call.tx.one(
            "INSERT INTO import_jobs (id, kind, subject, place_code, dry_run, total)"
            f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {JOB_COLUMNS}, now() AS now",
            (job_id, params["kind"], call.principal.subject, call.principal.place_code,
             params["dry_run"], len(params["rows"])))
        run = functools.partial(self._run, job_id, call.principal, importers[params["kind"]],
                                params["rows"], params["dry_run"])
        # After the commit: the job row exists for the thread to update, and a replayed
        # request (which returns before reaching here) starts nothing.
        call.tx.after_commit(
            lambda: self.container.spawn_managed_thread(run, identifier=f"import {job_id}"))
        return _view(row)

    def get(self, call: Call, job_id) -> dict:
        row = call.tx.one(f"SELECT {JOB_COLUMNS}, now() AS now FROM import_jobs WHERE id = %s",
                          (str(job_id),))
        if row is None:
            raise NotFound(f"no import job {job_id} (未找到该导入任务)", {"job_id": str(job_id)})
        call.principal.require_place(row["place_code"])
        return _view(row)

    # -- the job's thread ----------------------------------------------------------------
    def _run(self, job_id, principal, importer, rows, dry_run) -> None:
        """Never raises: an uncaught error in a managed thread kills the container."""
        try:
            self._import(job_id, principal, importer, rows, dry_run)
        except GreenletExit:  # the container is stopping
            self._end(job_id, status="interrupted", fresh=True)
            raise
        except Exception:
            log.exception("import job %s failed; nothing was written", job_id)
            self._end(job_id, status="interrupted", fresh=True)

    def _import(self, job_id, principal, importer, rows, dry_run) -> None:
        service = self.worker_ctx.service
        progress = _Progress(self, job_id)
        errors: list[dict] = []
        try:
            with service.db.transaction(actor=principal.as_audit(), operation="start_import",
                                        request_id=job_id) as tx:
                errors = _apply_rows(tx, Call(tx, principal), service, importer, rows, progress)
                if dry_run or errors:
                    raise _Discard
                progress.beat(len(rows))  # the COMMIT of a big file takes a moment
                tx.defer("UPDATE import_jobs SET status = 'applied', processed = %s, applied = %s,"
                         " heartbeat_at = now(), finished_at = now() WHERE id = %s",
                         (len(rows), len(rows), job_id))
        except _Discard:
            self._end(job_id, status="invalid" if errors else "valid", processed=len(rows),
                      errors=errors)

    def _execute(self, sql: str, params, *, fresh: bool = False) -> None:
        """One statement on its own (autocommit), beside the job's transaction. `fresh`:
        on a new connection (the pool may be closing with the container)."""
        pool = self.worker_ctx.service.db.pool
        if fresh:
            conn = pool.connect()
            try:
                with conn.cursor() as cur:
                    cur.execute(sql, params)
            finally:
                close_quietly(conn)
            return
        conn, _ = pool.acquire()
        broken = False
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
        except CONNECTION_ERRORS:
            broken = True
            raise
        finally:
            pool.release(conn, broken=broken)

    def _end(self, job_id, *, status: str, processed: int | None = None,
             errors: list[dict] = (), fresh: bool = False) -> None:
        errors = sorted(errors, key=lambda e: e["row"])
        try:
            self._execute(
                "UPDATE import_jobs SET status = %s, processed = coalesce(%s, processed),"
                " errors = %s, errors_total = %s, heartbeat_at = now(), finished_at = now()"
                " WHERE id = %s AND status = 'running'",
                (status, processed, psycopg2.extras.Json(errors[:ERRORS_KEPT], dumps=json_dumps),
                 len(errors), job_id), fresh=fresh)
        except Exception:  # it will read as interrupted once its heartbeat is stale
            log.exception("could not record the end of import job %s", job_id)


class _Progress:
    def __init__(self, jobs: _Jobs, job_id: str):
        self.jobs = jobs
        self.job_id = job_id
        self.last = time.monotonic()

    def due(self, processed: int) -> bool:
        return (processed % PROGRESS_EVERY_ROWS == 0
                or time.monotonic() - self.last > PROGRESS_EVERY_S)

    def beat(self, processed: int) -> None:
        self.last = time.monotonic()
        try:
            self.jobs._execute("UPDATE import_jobs SET processed = %s, heartbeat_at = now()"
                               " WHERE id = %s AND status = 'running'", (processed, self.job_id))
        except Exception as exc:  # progress is for people watching; the import goes on
            log.warning("import job %s: progress not recorded: %s", self.job_id, first_line(exc))


class _RowSavepoints:
    """A savepoint before each row, set by a prefix on the row's first statement."""

    NAME = "import_row"

    def __init__(self, tx):
        self.tx = tx
        self._execute = tx.execute
        self.exists = False
        self.pending: str | None = None
        tx.execute = self._execute_after_savepoint  # tx.one/all/scalar go through it too

    def close(self) -> None:
        del self.tx.execute

    def before_row(self) -> None:
        self.pending = (f"RELEASE SAVEPOINT {self.NAME};\n" if self.exists else "") + \
            f"SAVEPOINT {self.NAME};\n"

    def _execute_after_savepoint(self, sql, params=None):
        if self.pending is not None:
            prefix, self.pending = self.pending, None
            # Executed in order: when the row's statement fails, the savepoint is set.
            sql = prefix.encode() + sql if isinstance(sql, bytes) else prefix + sql
            self.exists = True
        return self._execute(sql, params)

    def undo_row(self) -> None:
        if self.pending is None:  # the row reached the server after its savepoint
            self._execute(f"ROLLBACK TO SAVEPOINT {self.NAME}")
        # else nothing it did reached the server: the last savepoint stays as it is


def _apply_rows(tx, call: Call, service, importer: Importer, rows: list[dict],
                progress: _Progress) -> list[dict]:
    """Every row through `importer` in `tx`; the errors, [{row, fields, message}]."""
    savepoints = _RowSavepoints(tx)
    errors, seen = [], {}
    try:
        for processed, row in enumerate(rows, 1):
            marks = (len(tx.events), len(tx._deferred), len(tx._after_commit))
            savepoints.before_row()
            try:
                values = importer.load(row["values"])
                if importer.key is not None:
                    key = importer.key(values)
                    first = seen.setdefault(key, row["row"])
                    if first != row["row"]:
                        raise ValidationError("a duplicate row", {importer.key_field: [
                            f"duplicates row {first} of this file (与第{first}行重复)"]})
                importer.apply(service, call, values)
            except ROW_ERRORS as exc:
                savepoints.undo_row()
                del tx.events[marks[0]:], tx._deferred[marks[1]:], tx._after_commit[marks[2]:]
                errors.append(row_error(row["row"], exc, importer.fields))
            if progress.due(processed):
                progress.beat(processed)
    finally:
        savepoints.close()
    return errors


def row_error(row: int, exc: Exception, field_names) -> dict:
    """{row, fields: {field: [messages]}, message} for a row's error."""
    if isinstance(exc, ValidationError):
        return {"row": row, "fields": exc.details, "message": exc.message}
    if isinstance(exc, JinweiError):  # Forbidden, Conflict, NotFound: details name fields
        details = exc.details if isinstance(exc.details, dict) else {}
        return {"row": row, "message": exc.message,
                "fields": {k: [exc.message] for k in details if k in field_names}}
    message = first_line(exc)  # a data or integrity error the store did not translate
    column = getattr(exc.diag, "column_name", None)
    return {"row": row, "message": message,
            "fields": {column: [message]} if column in field_names else {}}
