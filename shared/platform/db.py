"""PostgreSQL access for nameko services: a connection pool and one transaction per worker.

`Database` is a nameko DependencyProvider. A worker gets `self.db`; the entrypoint
helpers in shared.platform.entrypoints open `self.db.transaction(...)`, which commits on
success and rolls back on error *before* the RPC reply is sent (nameko sends the
reply before DependencyProvider.worker_result runs, so committing there would let a
caller see success for a change that could still fail to commit).

Why not psycopg2.pool: it closes every returned connection while it holds `minconn`
idle ones (measured here: ~950 → ~300 calls/s with minconn far below maxconn), raises
instead of waiting when exhausted, and connects eagerly (so a service could not even
start while the database is down). This pool is small: lazy connects, callers wait
(bounded) for a free connection, and broken connections are discarded so a service
answers again after a PostgreSQL restart without being restarted.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from contextlib import contextmanager

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY

from shared.errors import ServiceUnavailable
from shared.platform import config, metrics, outbox
from shared.platform.pg import (
    CONNECTION_ERRORS,
    close_quietly,
    first_line,
    json_dumps,
    make_psycopg_green,
)

log = logging.getLogger(__name__)

class ConnectionPool:
    # A connection idle for longer than this is pinged before use: after a database
    # restart the idle ones are all dead, and a ping costs one round trip only then.
    PING_AFTER_IDLE_S = 2.0

    def __init__(self, dsn: str, size: int, *, name: str, connect_timeout: int = 5,
                 statement_timeout_ms: int = 30_000, acquire_timeout_s: float = 10.0):
        self.dsn = dsn
        self.size = size
        self.name = name
        self.connect_timeout = connect_timeout
        self.statement_timeout_ms = statement_timeout_ms
        self.acquire_timeout_s = acquire_timeout_s
        self._idle: list[tuple[psycopg2.extensions.connection, float]] = []
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.in_use = 0
        self.waits = 0
        POOLS.add(self)

    def connect(self) -> psycopg2.extensions.connection:
        try:
            conn = psycopg2.connect(
                self.dsn,
                connect_timeout=self.connect_timeout,
                application_name=self.name,
                options=f"-c statement_timeout={self.statement_timeout_ms}",
                keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3,
            )
        except CONNECTION_ERRORS as exc:
            raise ServiceUnavailable(f"database unavailable: {first_line(exc)}") from None
        conn.autocommit = True  # Transaction sends BEGIN and COMMIT itself
        return conn

    def acquire(self) -> tuple[psycopg2.extensions.connection, bool]:
        """A connection, and whether it was reused (it may have died while idle)."""
        if not self._slots.acquire(blocking=False):
            self.waits += 1
            if not self._slots.acquire(timeout=self.acquire_timeout_s):
                raise ServiceUnavailable("database pool exhausted: every connection is busy")
        try:
            conn = self._take_idle()
            reused = conn is not None
            if conn is None:
                conn = self.connect()
        except BaseException:
            self._slots.release()
            raise
        self.in_use += 1
        return conn, reused

    def _take_idle(self):
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn, since = self._idle.pop()
            if time.monotonic() - since < self.PING_AFTER_IDLE_S or _alive(conn):
                return conn
            close_quietly(conn)

    def release(self, conn, *, broken: bool = False) -> None:
        self.in_use -= 1
        try:
            healthy = (
                not broken
                and not conn.closed
                and conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE
            )
            if healthy:
                with self._lock:
                    self._idle.append((conn, time.monotonic()))
            else:
                close_quietly(conn)
                if broken:
                    # One connection lost its server: the idle ones most likely did too.
                    self.discard_idle()
        finally:
            self._slots.release()

    def discard_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            close_quietly(conn)

    def close(self) -> None:
        self.discard_idle()
        POOLS.discard(self)

    @property
    def idle(self) -> int:
        return len(self._idle)


# Every live pool in the process, for the pool metrics collector.
POOLS: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()
REGISTRY.register(metrics.PoolCollector(POOLS))


def _alive(conn) -> bool:
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        return True
    except CONNECTION_ERRORS:
        return False


def _rolled_back(conn) -> bool:
    """Roll back whatever the server still holds open; False if the connection is gone.
    (The connection is in autocommit mode: conn.rollback() would send nothing.)"""
    try:
        if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            with conn.cursor() as cur:
                cur.execute("ROLLBACK")
        return True
    except CONNECTION_ERRORS:
        return False


class RetryableFailure(ServiceUnavailable):
    """The unit of work failed before anything could have committed, for a reason that
    a second run will most likely not meet (see `retry_once`)."""


class StaleConnection(RetryableFailure):
    """A pooled connection turned out dead before the transaction did anything (after a
    database restart, every idle one is)."""


class TransientConflict(RetryableFailure):
    """The database broke a deadlock or a serialization conflict by rolling back."""


def retry_once(unit_of_work):
    """Run `unit_of_work()` (a whole transaction) once more if it failed retryably, so
    the first call after a database restart succeeds instead of failing."""
    try:
        return unit_of_work()
    except RetryableFailure:
        return unit_of_work()


class Transaction:
    """One database transaction of a worker: SQL, the events it emits, its audit rows.

    Events are written to the outbox and audit rows to the audit trail in the same
    commit as the change itself (shared.platform.outbox).

    Round trips are what a call costs here (each is ~70 µs of this process's CPU
    under eventlet, measured), so the transaction is driven by hand on an autocommit
    connection: BEGIN travels with the first statement, and writes that nothing in
    the transaction reads back (audit, outbox, request log) are rendered when made
    and travel with the COMMIT. A read-only unit of work sends no BEGIN at all."""

    def __init__(self, conn, *, service: str, actor: dict, request_id: str | None,
                 operation: str, call_id: str | None, writes: bool = True):
        self.conn = conn
        self.writes = writes
        self._open = False
        self.cursor = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
        self.service = service
        self.actor = actor
        self.request_id = request_id
        self.operation = operation
        self.call_id = call_id
        self.events: list = []
        self._after_commit: list = []
        self._deferred: list[bytes] = []
        self.statements = 0

    def after_commit(self, callback) -> None:
        self._after_commit.append(callback)

    def execute(self, sql, params=None):
        if self.writes and not self._open:
            self._open = True  # from here on, a failure leaves a transaction to roll back
            sql = (b"BEGIN;\n" + sql) if isinstance(sql, bytes) else "BEGIN;\n" + sql
        self.cursor.execute(sql, params)
        self.statements += 1
        return self.cursor

    def one(self, sql, params=None) -> dict | None:
        return self.execute(sql, params).fetchone()

    def all(self, sql, params=None) -> list[dict]:
        return self.execute(sql, params).fetchall()

    def scalar(self, sql, params=None):
        row = self.execute(sql, params).fetchone()
        return None if row is None else next(iter(row.values()))

    @contextmanager
    def snapshot(self):
        """Statements inside see one consistent state (for a read-only unit of work
        that needs several queries to agree, e.g. a person list and its vacancies)."""
        if self.writes:
            yield  # already one transaction
            return
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            self.execute("COMMIT")

    def _writing(self) -> None:
        if not self.writes:
            raise RuntimeError(f"{self.operation} is a query: it cannot write, audit or emit")

    def defer(self, sql: str, params=None) -> None:
        self._writing()
        self._deferred.append(self.cursor.mogrify(sql, params))

    def defer_rows(self, insert: str, template: str, rows) -> None:
        """Defer `insert` ("INSERT INTO t (a, b) VALUES") for many rows at once."""
        self._writing()
        statement = self.render_rows(insert, template, rows)
        if statement:
            self._deferred.append(statement)

    def render_rows(self, insert: str, template: str, rows) -> bytes | None:
        """`insert` followed by every row rendered through `template`, as one statement."""
        rows = list(rows)
        if not rows:
            return None
        return insert.encode() + b" " + b",".join(self.cursor.mogrify(template, r) for r in rows)

    def commit(self) -> None:
        """Send the deferred writes and COMMIT, in one round trip."""
        if not self.writes:
            return
        statements, self._deferred = self._deferred, []
        if statements or self._open:
            if not self._open:
                statements.insert(0, b"BEGIN")
                self._open = True
            # Counted before it is sent: a COMMIT that fails may have committed, so this
            # unit of work must not count as stale and be run again.
            self.statements += 1
            self.cursor.execute(b";\n".join([*statements, b"COMMIT"]))

    def flush(self) -> None:
        """Send now, inside the transaction, what waits for the commit (events for the
        outbox, deferred writes): a long transaction, a bulk import, need not hold
        all of it in memory until then."""
        if self.events:
            events, self.events = self.events, []
            outbox.write(self, events)
        statements, self._deferred = self._deferred, []
        if statements:
            self.execute(b";\n".join(statements))

    def emit(self, event) -> None:
        """Record a domain event; it reaches the outbox at commit."""
        self._writing()
        self.events.append(event)

    def audit(self, entity_type: str, entity_id, changes: dict) -> None:
        """Record who changed what (the audit trail is append-only)."""
        self.audit_many(entity_type, [(entity_id, changes)])

    def audit_many(self, entity_type: str, entries) -> None:
        actor = self.actor
        self.defer_rows(
            "INSERT INTO audit_log (subject, department, system, request_id, operation,"
            " entity_type, entity_id, changes) VALUES",
            "(%s, %s, %s, %s, %s, %s, %s, %s)",
            ((actor["subject"], actor["department"], actor["system"], self.request_id,
              self.operation, entity_type, str(entity_id),
              psycopg2.extras.Json(changes, dumps=json_dumps))
             for entity_id, changes in entries),
        )


class Database(DependencyProvider):
    """The service's database: `self.db.transaction(...)` in a worker."""

    service: str  # the container's service name unless named here

    def __init__(self, service: str | None = None):
        self._named = service

    def setup(self):
        make_psycopg_green()
        settings: config.Settings = self.container.config["JINWEI"]
        self.service = self._named or self.container.service_name
        self.settings = settings
        self.pool = ConnectionPool(
            settings.database_url(self.service),
            # Trap: a pool smaller than the worker count makes workers queue on it;
            # larger only holds idle server processes.
            size=self.container.config.get("max_workers", 10),
            name=self.service,
        )

    def stop(self):
        self.pool.close()

    def get_dependency(self, worker_ctx):
        return Session(self, worker_ctx)


class Session:
    def __init__(self, provider: Database, worker_ctx):
        self.provider = provider
        self.pool = provider.pool
        self.worker_ctx = worker_ctx

    @contextmanager
    def transaction(self, *, actor: dict, operation: str, request_id: str | None = None,
                    readonly: bool = False):
        """One unit of work. `readonly` runs each statement on its own (autocommit):
        one round trip for a single-statement query instead of BEGIN, query, COMMIT.
        A read that needs several statements to agree takes `tx.snapshot()`."""
        conn, reused = self.pool.acquire()
        broken = False
        try:
            tx = Transaction(conn, service=self.provider.service, actor=actor,
                             request_id=request_id, operation=operation,
                             call_id=self.worker_ctx.call_id, writes=not readonly)
            yield tx
            if tx.events:
                outbox.write(tx, tx.events)
            tx.commit()
        except CONNECTION_ERRORS as exc:
            # Also raised for a deadlock or a statement timeout, on a connection that
            # still works: roll back and keep it.
            broken = bool(conn.closed) or not _rolled_back(conn)
            if isinstance(exc, psycopg2.errors.TransactionRollbackError):
                raise TransientConflict(f"database conflict: {first_line(exc)}") from None
            if isinstance(exc, psycopg2.errors.QueryCanceled):
                raise ServiceUnavailable(f"database did not answer in time: {first_line(exc)}") from None
            stale = broken and reused and not tx.statements
            raise (StaleConnection if stale else ServiceUnavailable)(
                f"database unavailable: {first_line(exc)}") from None
        except BaseException:
            broken = not _rolled_back(conn)
            raise
        finally:
            self.pool.release(conn, broken=broken)
        for callback in tx._after_commit:
            callback()
