"""Bulk import jobs: a file's rows through a service's own single-row operation, in the
background, all or nothing (contract: shared/contracts/imports.py).

    class OrganizationsService:
        imports = ImportJobs()
        start_import, get_import = import_operations(operation, lambda: IMPORTERS)

    IMPORTERS = {"organizations": Importer.single(
        "organizations", "register_organization", OrganizationsService._register_organization)}

How a job runs, and why:

- start_import inserts the job row and returns it (running). The work starts once that
  transaction has committed (tx.after_commit), in a thread the container manages; a
  repeat of the request id gets the stored job back and starts nothing.
- Every row goes through ONE transaction: the file is written whole or not at all, and
  its rows' events reach the outbox in that one commit.
- Rows go in chunks of CHUNK_ROWS, each after one SAVEPOINT. A chunk's rows are first
  read through the contract (errors there touch nothing), then applied together: through
  the importer's `apply_many` where it has one (one INSERT for the chunk), else each
  through `apply`. A chunk that fails — a typed error, or a data or integrity error
  from PostgreSQL, which aborts the whole transaction — is rolled back to its savepoint
  and replayed row by row, a savepoint before each row, so that one pass lists every
  bad row and no good row is blamed. What a rolled-back part added to the transaction's
  lists in memory (events, deferred writes, after-commit callbacks) is dropped with it.
- Why chunks: a row's own round trip (~70 µs of CPU here, and the server's per-statement
  work) was most of what a row cost; and every savepoint that writes takes a
  subtransaction id, kept until the transaction ends; past 64 of them other sessions'
  visibility checks of recent rows look into pg_subtrans while the import runs. A
  20 000-row file of valid rows now takes 40, and with `apply_many` a chunk costs three
  round trips, not 500.
- Each part's deferred writes and events (audit rows, outbox rows, vacancies) are sent
  before it ends (`tx.flush()`), inside the transaction and its savepoint: a big file's
  are not all held in memory until the COMMIT, and one that fails is its part's error.
- Progress (processed, heartbeat_at) is written after a chunk, at most once a second,
  on a separate pooled connection in autocommit: the job's own transaction is invisible
  to pollers until it ends, and it never touches the job row while it runs (a progress update would wait
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
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extras
from greenlet import GreenletExit
from nameko.extensions import DependencyProvider

from shared import contracts
from shared.contracts.imports import ERRORS_KEPT
from shared.errors import JinweiError, NotFound, ServiceUnavailable, ValidationError
from shared.platform.entrypoints import Call
from shared.platform.pg import CONNECTION_ERRORS, close_quietly, first_line, json_dumps

log = logging.getLogger(__name__)

CHUNK_ROWS = 500
PROGRESS_EVERY_S = 1.0  # at most this often, after a chunk
STALE_AFTER = dt.timedelta(seconds=60)  # no heartbeat for this long: the process died
ROW_ERRORS = (JinweiError, psycopg2.DataError, psycopg2.IntegrityError)
# Of those, a dependency that does not answer (the owner of a place or organization asked
# by shared.platform.owner_lookup) is no row's fault: the job stops, interrupted, to be run again.
NOT_THE_ROWS = (ServiceUnavailable,)
JOB_COLUMNS = ("id, kind, status, dry_run, total, processed, applied, errors, errors_total,"
               " started_at, heartbeat_at, finished_at, place_code")


@dataclass(frozen=True)
class Importer:
    """One kind of row. `load(values)` → the params (ValidationError as the single call
    would give); `apply(service, call, params)` runs the single operation's own path;
    `apply_many(service, call, [params])`, where given, the same for many rows at once
    (all or an error); `key(params)` names what must not appear twice in one file,
    reported on `key_field`; `fields` are the row's field names (errors are mapped
    onto them)."""

    load: Callable[[dict], dict]
    apply: Callable[[Any, Call, dict], Any]
    fields: frozenset[str]
    key: Callable[[dict], Hashable] | None = None
    key_field: str | None = None
    apply_many: Callable[[Any, Call, list[dict]], Any] | None = None

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


def import_operations(operation, importers: Callable[[], dict[str, Importer]]):
    """A service's start_import and get_import RPC methods, decorated with its own
    `operation` (its contract); `importers()` gives its IMPORTERS, which are defined
    after the class since they name its methods."""

    @operation
    def start_import(self, call, params):
        return self.imports.start(call, params, importers())

    @operation
    def get_import(self, call, params):
        return self.imports.get(call, params["job_id"])

    return start_import, get_import


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
        assert row is not None  # RETURNING: the row just inserted
        return _view(row)

    def get(self, call: Call, job_id) -> dict:
        row = call.tx.one(f"SELECT {JOB_COLUMNS}, now() AS now FROM import_jobs WHERE id = %s",
                          (str(job_id),))
        absent = NotFound(f"no import job {job_id} (未找到该导入任务)", {"job_id": str(job_id)})
        if row is None:
            raise absent
        call.principal.require_visible(row["place_code"], absent)  # another's: "not there"
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
             errors: Sequence[dict] = (), fresh: bool = False) -> None:
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

    def beat(self, processed: int, *, now: bool = True) -> None:
        """Record `processed`; unless `now`, only if the last record is a second old."""
        if not now and time.monotonic() - self.last < PROGRESS_EVERY_S:
            return
        self.last = time.monotonic()
        try:
            self.jobs._execute("UPDATE import_jobs SET processed = %s, heartbeat_at = now()"
                               " WHERE id = %s AND status = 'running'", (processed, self.job_id))
        except Exception as exc:  # progress is for people watching; the import goes on
            log.warning("import job %s: progress not recorded: %s", self.job_id, first_line(exc))


class _Savepoints:
    """A savepoint before each part (a chunk, or a row), set by a prefix on the part's
    first statement: it costs no round trip of its own, as BEGIN costs none."""

    NAME = "import_part"

    def __init__(self, tx):
        self.tx = tx
        self._execute = tx.execute
        self.exists = False
        self.pending: str | None = None
        tx.execute = self._execute_after_savepoint  # tx.one/all/scalar/flush go through it

    def close(self) -> None:
        del self.tx.execute

    def before_part(self) -> None:
        # RELEASE keeps one savepoint level rather than one more per part.
        self.pending = (f"RELEASE SAVEPOINT {self.NAME};\n" if self.exists else "") + \
            f"SAVEPOINT {self.NAME};\n"

    def _execute_after_savepoint(self, sql, params=None):
        if self.pending is not None:
            prefix, self.pending = self.pending, None
            # Executed in order: when the part's statement fails, the savepoint is set.
            sql = prefix.encode() + sql if isinstance(sql, bytes) else prefix + sql
            self.exists = True
        return self._execute(sql, params)

    def undo_part(self) -> None:
        if self.pending is None:  # the part reached the server after its savepoint
            self._execute(f"ROLLBACK TO SAVEPOINT {self.NAME}")
        # else nothing it did reached the server: the last savepoint stays as it is


def _in_part(tx, savepoints: _Savepoints, work: Callable[[], Any]) -> None:
    """`work()` — a chunk, or a row — after a savepoint, and the writes it queued (events,
    deferred rows) sent before the part ends, so that a failing one fails its own part
    and nothing queued outlives it. When it raises a row's error it is undone, on the
    server and in the transaction's lists, and the error goes on."""
    marks = (len(tx.events), len(tx._deferred), len(tx._after_commit))
    savepoints.before_part()
    try:
        work()
        tx.flush()
    except ROW_ERRORS:
        savepoints.undo_part()
        events, deferred, after_commit = marks
        del tx.events[events:], tx._deferred[deferred:], tx._after_commit[after_commit:]
        raise


def _apply_rows(tx, call: Call, service, importer: Importer, rows: list[dict],
                progress: _Progress) -> list[dict]:
    """Every row through `importer` in `tx`; the errors, [{row, fields, message}]."""
    savepoints = _Savepoints(tx)
    errors: list[dict] = []
    seen: dict[Hashable, int] = {}  # a row's key: the first row that had it

    def apply_chunk(chunk):
        if importer.apply_many is not None:
            importer.apply_many(service, call, [values for _, values in chunk])
        else:
            for _, values in chunk:
                importer.apply(service, call, values)

    try:
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = _load_chunk(importer, rows[start:start + CHUNK_ROWS], seen, errors)
            if chunk:  # else not one of its rows read
                try:
                    _in_part(tx, savepoints, functools.partial(apply_chunk, chunk))
                except ROW_ERRORS as exc:
                    if isinstance(exc, NOT_THE_ROWS):
                        raise
                    alive = functools.partial(progress.beat, start, now=False)
                    errors.extend(_apply_one_by_one(tx, call, service, importer, chunk,
                                                    savepoints, alive))
            progress.beat(min(start + CHUNK_ROWS, len(rows)), now=False)
    finally:
        savepoints.close()
    return errors


def _load_chunk(importer: Importer, rows: list[dict], seen: dict, errors: list) -> list:
    """[(row number, params)] of the rows that read; the others' errors into `errors`."""
    loaded = []
    for row in rows:
        try:
            values = importer.load(row["values"])
            if importer.key is not None:
                key = importer.key(values)
                first = seen.setdefault(key, row["row"])
                if first != row["row"]:
                    raise ValidationError("a duplicate row", {importer.key_field: [
                        f"duplicates row {first} of this file (与第{first}行重复)"]})
            loaded.append((row["row"], values))
        except ROW_ERRORS as exc:
            errors.append(row_error(row["row"], exc, importer.fields))
    return loaded


def _apply_one_by_one(tx, call, service, importer, chunk, savepoints, alive) -> list[dict]:
    """A failed chunk again, each row after its own savepoint; `alive()` after each row
    keeps the job's heartbeat going through a slow replay."""
    errors = []
    for number, values in chunk:
        try:
            _in_part(tx, savepoints, functools.partial(importer.apply, service, call, values))
        except ROW_ERRORS as exc:
            if isinstance(exc, NOT_THE_ROWS):
                raise
            errors.append(row_error(number, exc, importer.fields))
        alive()
    return errors


def row_error(row: int, exc: JinweiError | psycopg2.Error, field_names) -> dict:
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
