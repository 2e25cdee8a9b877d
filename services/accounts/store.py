"""SQL of the accounts service (psycopg2, parameterized); rules are in domain.py."""

from __future__ import annotations

import datetime as dt

from services.accounts.domain import Attempt
from shared.errors import Conflict, NotFound
from shared.national import regions
from shared.platform.db import Transaction

# An account as the contract shows it (AccountView): never its hash, and a lock only while
# it holds (%(now)s: the service's clock, the one the lock was set by).
_VIEW = ("username, display_name, department, place_code, place_name, roles,"
         " CASE WHEN disabled THEN 'disabled' ELSE 'active' END AS status,"
         " CASE WHEN locked_until > %(now)s THEN locked_until END AS locked_until,"
         " last_sign_in_at, created_at, must_change_password")
# Expired sessions are kept this long, then removed as their account next signs in.
EXPIRED_KEPT = dt.timedelta(days=1)


# The NotFound of an account, built in one place: the service raises the very same one
# for an account outside the administrator's jurisdiction (Principal.require_visible).
def account_absent(username: str) -> NotFound:
    return NotFound(f"no account {username} (未找到该账号)", {"username": username})


def account(tx: Transaction, username: str, *, lock: bool = False) -> dict | None:
    """The whole row, hash included (for the service's own use, never for a reply)."""
    return tx.one("SELECT * FROM accounts WHERE username = %s" + (" FOR UPDATE" if lock else ""),
                  (username,))


def view(tx: Transaction, username: str, now: dt.datetime) -> dict:
    row = tx.one(f"SELECT {_VIEW} FROM accounts WHERE username = %(username)s",
                 {"username": username, "now": now})
    if row is None:
        raise account_absent(username)
    return row


def insert_account(tx: Transaction, values: dict, password_hash: str, place_name: str | None,
                   now: dt.datetime, *, must_change_password: bool) -> None:
    created = tx.scalar(
        "INSERT INTO accounts (username, display_name, department, place_code, place_name,"
        " roles, password_hash, password_changed_at, created_at, must_change_password)"
        " VALUES (%(username)s, %(display_name)s, %(department)s, %(place_code)s,"
        " %(place_name)s, %(roles)s, %(hash)s, %(now)s, %(now)s, %(must_change)s)"
        " ON CONFLICT (username) DO NOTHING RETURNING true",
        {**{key: values[key] for key in ("username", "display_name", "department",
                                         "place_code")},
         "roles": sorted(set(values["roles"])), "place_name": place_name,
         "hash": password_hash, "now": now, "must_change": must_change_password})
    if not created:
        # User names are one namespace (a person signs in by name alone), so a name taken
        # at another place is taken here too: this tells only that the name is used.
        raise Conflict(f"the user name {values['username']} is taken (该登录名已被使用)",
                       {"username": values["username"]})


def accounts_page(tx: Transaction, place_code: str, limit: int, after: list | None,
                  now: dt.datetime) -> tuple[list[dict], list | None]:
    lo, hi = regions.subtree_bounds(place_code)
    rows = tx.all(
        f"SELECT {_VIEW} FROM accounts WHERE place_code BETWEEN %(lo)s AND %(hi)s"
        " AND (%(after)s::text IS NULL OR username > %(after)s) ORDER BY username"
        " LIMIT %(limit)s",
        {"lo": lo, "hi": hi, "after": after[0] if after else None, "limit": limit + 1,
         "now": now})
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ([rows[-1]["username"]] if more else None)


def record_attempt(tx: Transaction, username: str, attempt: Attempt, now: dt.datetime) -> None:
    tx.execute("UPDATE accounts SET failed_attempts = %(failures)s, locked_until = %(until)s,"
               " last_sign_in_at = CASE WHEN %(success)s THEN %(now)s ELSE last_sign_in_at END"
               " WHERE username = %(username)s",
               {"failures": attempt.failed_attempts, "until": attempt.locked_until,
                "success": attempt.succeeded, "now": now, "username": username})


def set_password(tx: Transaction, username: str, password_hash: str, now: dt.datetime,
                 *, unlock: bool, must_change: bool) -> None:
    tx.execute("UPDATE accounts SET password_hash = %(hash)s, password_changed_at = %(now)s,"
               " must_change_password = %(must_change)s"
               + (", failed_attempts = 0, locked_until = NULL" if unlock else "")
               + " WHERE username = %(username)s",
               {"hash": password_hash, "now": now, "username": username,
                "must_change": must_change})


def rehash(tx: Transaction, username: str, password_hash: str) -> None:
    """The same password under the hasher's current parameters (not a change of it)."""
    tx.defer("UPDATE accounts SET password_hash = %s WHERE username = %s",
             (password_hash, username))


def set_roles(tx: Transaction, username: str, roles: list[str]) -> None:
    tx.execute("UPDATE accounts SET roles = %s WHERE username = %s",
               (sorted(set(roles)), username))


def set_disabled(tx: Transaction, username: str, disabled: bool) -> None:
    tx.execute("UPDATE accounts SET disabled = %s WHERE username = %s", (disabled, username))


# -- sessions -------------------------------------------------------------------------------
def insert_session(tx: Transaction, token_id: str, username: str, issued_at: dt.datetime,
                   expires_at: dt.datetime) -> None:
    tx.defer("INSERT INTO sessions (token_id, username, issued_at, expires_at)"
             " VALUES (%s, %s, %s, %s)", (token_id, username, issued_at, expires_at))
    tx.defer("DELETE FROM sessions WHERE username = %s AND expires_at < %s",
             (username, issued_at - EXPIRED_KEPT))


def session_live(tx: Transaction, token_id: str, username: str | None,
                 now: dt.datetime) -> bool:
    """The session is the account's, not ended, not expired, and the account not disabled."""
    return bool(tx.scalar(
        "SELECT EXISTS (SELECT 1 FROM sessions s JOIN accounts a USING (username)"
        " WHERE s.token_id = %(token_id)s AND (%(username)s::text IS NULL"
        " OR s.username = %(username)s) AND s.ended_at IS NULL AND s.expires_at > %(now)s"
        " AND NOT a.disabled)",
        {"token_id": token_id, "username": username, "now": now}))


def end_session(tx: Transaction, token_id: str, username: str, now: dt.datetime) -> bool:
    return bool(tx.scalar(
        "UPDATE sessions SET ended_at = %s WHERE token_id = %s AND username = %s"
        " AND ended_at IS NULL RETURNING true", (now, token_id, username)))


def end_sessions(tx: Transaction, username: str, now: dt.datetime,
                 *, keep: str | None = None) -> int:
    """End the account's open sessions (but `keep`); how many were open."""
    return len(tx.all(
        "UPDATE sessions SET ended_at = %(now)s WHERE username = %(username)s"
        " AND ended_at IS NULL AND expires_at > %(now)s"
        " AND (%(keep)s::text IS NULL OR token_id <> %(keep)s) RETURNING token_id",
        {"now": now, "username": username, "keep": keep}))
