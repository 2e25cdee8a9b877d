"""psycopg2 helpers every platform module uses, with nothing of the pool or the unit of
work (shared.platform.db): the outbox relay and the monitoring use them without
importing db, so db → outbox has no way back."""

from __future__ import annotations

import json

import psycopg2

# Errors that mean "the connection or the server is gone", not "your SQL was wrong".
CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)

_green = False


def make_psycopg_green() -> None:
    """Make psycopg2 yield to eventlet's hub while it waits on the server.

    Under `nameko run` eventlet's monkey patching already does this; in tests and
    scripts nothing does, and one slow query would stall every greenthread."""
    global _green
    if not _green:
        import psycogreen.eventlet

        psycogreen.eventlet.patch_psycopg()
        _green = True


def close_quietly(connection) -> None:
    """Close a database or broker connection that may already be dead."""
    try:
        connection.close()
    except Exception:  # closing a dead connection may complain; it is gone either way
        pass


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
