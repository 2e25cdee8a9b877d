"""RPC entrypoints bound to the contract: one decorator does what every call needs.

    operation = entrypoints.operations("organizations")

    class OrganizationsService:
        @operation
        def get_organization(self, call, params): ...

For each method it finds the contract (shared.contracts) by name and wraps the method
so that a call: verifies the caller's token and role (Unauthenticated / Forbidden),
loads the keyword arguments through the params schema (ValidationError with per-field
messages; positional arguments are refused by nameko), runs the method in one database
transaction — committed before the reply is sent — and dumps the result through the
result schema. A mutating call is idempotent by request id: the caller's `request_id`,
or else the AMQP correlation id of the message, which a broker redelivery keeps. The
first result is stored in the same transaction; a repeat gets it back unchanged.

The method receives `call` (call.tx: shared.platform.db.Transaction, call.principal:
shared.platform.auth.Principal) and the loaded params, and returns what the result schema dumps.
A query's statements run on their own (autocommit); one that needs several statements
to agree wraps them in `call.tx.snapshot()`.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import psycopg2.extras

from shared import contracts
from shared.errors import Conflict
from shared.platform.auth import Principal
from shared.platform.broker.rpc_server import CORRELATION_KEY, Rpc
from shared.platform.db import Transaction, retry_once
from shared.platform.pg import json_dumps

__all__ = ["Call", "Rpc", "operations"]


@dataclass(frozen=True)
class Call:
    tx: Transaction
    principal: Principal


def operations(service: str):
    """The decorator for `service`'s RPC methods (see the module docstring)."""

    def operation(fn):
        contract = contracts.rpc_contract(service, fn.__name__)

        @functools.wraps(fn)
        def entrypoint(self, **params):
            principal = self.caller.principal(contract.role)
            values = contracts.load_params(contract, params)
            if contract.mutating:
                return retry_once(lambda: _command(self, contract, fn, principal, dict(values)))
            return retry_once(lambda: _query(self, contract, fn, principal, values))

        return Rpc.decorator(entrypoint)

    return operation


def _query(service, contract, fn, principal: Principal, values: dict):
    with service.db.transaction(actor=principal.as_audit(), operation=contract.method,
                                readonly=True) as tx:
        result = fn(service, Call(tx, principal), values)
    return contract.result.dump(result)


def _command(service, contract, fn, principal: Principal, values: dict):
    request_id = values.pop("request_id", None) or service.db.worker_ctx.data.get(CORRELATION_KEY)
    with service.db.transaction(actor=principal.as_audit(), operation=contract.method,
                                request_id=request_id) as tx:
        log_key = _scoped(principal, request_id) if request_id else None
        if log_key:
            first = _first_result(tx, log_key, request_id, contract.method, principal.subject,
                                  _fingerprint(values, contract.personal))
            if first is not None:
                return first
        result = contract.result.dump(fn(service, Call(tx, principal), values))
        if log_key:
            tx.defer("UPDATE request_log SET result = %s WHERE request_id = %s",
                     (psycopg2.extras.Json(result, dumps=json_dumps), log_key))
    return result


def _scoped(principal: Principal, request_id: str) -> str:
    """A request id within its caller: the same key from another principal — another
    place or system, even under the same subject's name — is another request, and
    never gets this one's result."""
    return hashlib.sha256("\x1f".join((principal.subject, principal.place_code,
                                       principal.system, request_id)).encode()).hexdigest()


def _fingerprint(values: dict, personal: tuple[str, ...] = ()) -> str:
    """What tells a replay from another call under the same request id. Personal values
    are left out: a hash of an identity number is as good as the number (its birth date
    and place are known, three digits remain to guess)."""
    kept = {k: ("(personal)" if k in personal else v) for k, v in values.items()}
    return hashlib.sha256(json_dumps(dict(sorted(kept.items()))).encode()).hexdigest()


def _first_result(tx: Transaction, log_key: str, request_id: str, operation: str,
                  subject: str, fingerprint: str):
    """None for a new request id; the stored result for a repeat.

    The insert waits while another transaction holds the same id uncommitted (the
    same request delivered twice at once), then finds it committed. The same id with
    other arguments or another method is a Conflict, not a replay (another caller's
    is another key: `_scoped`)."""
    new = tx.scalar(
        "INSERT INTO request_log (request_id, operation, subject, fingerprint)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING true",
        (log_key, operation, subject, fingerprint),
    )
    if new:
        return None
    row = tx.one("SELECT operation, subject, fingerprint, result FROM request_log"
                 " WHERE request_id = %s", (log_key,))
    assert row is not None  # the insert did nothing because the row is there
    if (row["operation"], row["subject"], row["fingerprint"]) != (operation, subject, fingerprint):
        raise Conflict(f"request id {request_id} was already used for another call",
                       {"request_id": request_id, "operation": row["operation"]})
    return row["result"]
