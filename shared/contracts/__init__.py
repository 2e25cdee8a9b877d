"""The public contract of every service: the marshmallow schemas of each RPC's
parameters and result and of each event's data.

One definition serves the service (it loads its input and dumps its output through
them), the gateway, other departments' clients and the generated document
(docs/contract.md, `make contract`). A service module here registers its methods and
events with `rpc_method` and `event`; tests check that every entrypoint has one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import marshmallow
from marshmallow import Schema, fields, validate

from shared.contracts.common import unstorable_text
from shared.errors import ValidationError

# Contract modules (import order = document order). A service's contract may span
# several modules (organizations: the registry, and rectification).
CONTRACT_MODULES = ("organizations", "rectification", "excellence", "evaluation",
                    "service_surveys", "npe", "cadres", "cadre_duties", "resources",
                    "accounts")


@dataclass(frozen=True)
class RpcContract:
    service: str
    method: str
    params: Schema
    result: Schema
    role: str
    mutating: bool
    summary: str
    # Parameters that are personal data (metadata personal=True): never stored whole
    # outside the service's sealed columns, not even hashed into a request fingerprint.
    personal: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventContract:
    source: str
    type: str
    data: Schema
    summary: str


RPC: dict[tuple[str, str], RpcContract] = {}
EVENTS: dict[tuple[str, str], EventContract] = {}


# -- state machines -------------------------------------------------------------------
# A status field whose values change by commands or events is declared here, next to its
# labels, as the table of its transitions: docs/contract.md prints it, and the service
# checks by it where its domain says so (services/organizations/rectification.py asks
# `sources(command)`); tests/unit/test_public_contract.py holds every table against the
# domain's own rules.
NEW = None  # the from-state of a record being created


@dataclass(frozen=True)
class Transition:
    source: str | None  # from-state (NEW: the record is created)
    via: str            # an RPC method of the service, or "event <source>.<type>", or
    #                     "background" (the service itself, e.g. an import job finishing)
    target: str         # to-state (the same as source: allowed, the status stays)
    who: str            # the role, and any further condition on the caller
    when: str = ""      # the condition that picks this target, where one command has several


@dataclass(frozen=True)
class StateMachine:
    service: str
    name: str
    field: str          # where the status shows (Schema.field, …)
    statuses: dict      # code → 中文标签
    transitions: tuple[Transition, ...]
    notes: str = ""

    def sources(self, via: str) -> frozenset:
        """The states `via` is allowed from."""
        return frozenset(t.source for t in self.transitions if t.via == via)

    def targets(self, source: str | None, via: str) -> frozenset:
        return frozenset(t.target for t in self.transitions
                         if t.source == source and t.via == via)


STATE_MACHINES: dict[tuple[str, str], StateMachine] = {}


def state_machine(service: str, name: str, *, field: str, statuses: dict,
                  transitions, notes: str = "") -> StateMachine:
    machine = StateMachine(service, name, field, dict(statuses),
                           tuple(Transition(*t) if isinstance(t, tuple) else t
                                 for t in transitions), notes)
    states = {s for t in machine.transitions for s in (t.source, t.target)} - {NEW}
    if states - statuses.keys():
        raise ValueError(f"{name}: states not among its statuses: {states - statuses.keys()}")
    if statuses.keys() - states:
        raise ValueError(f"{name}: statuses no transition reaches: {statuses.keys() - states}")
    STATE_MACHINES[(service, name)] = machine
    return machine


def rpc_method(service: str, method: str, *, params: type[Schema], result: type[Schema],
               role: str, mutating: bool, summary: str) -> None:
    """Register `service.method`: it takes `params` and answers `result`, to a caller with
    `role`. `mutating`: a command (idempotent by request id, POST at the gateway), else a
    query. `summary`: its first line heads the method in docs/contract.md."""
    schema = params()
    personal = tuple(name for name, field in schema.fields.items()
                     if field.metadata.get("personal"))
    RPC[(service, method)] = RpcContract(
        service, method, schema, result(), role, mutating, summary, personal)


def event(source: str, event_type: str, *, data: type[Schema], summary: str) -> None:
    EVENTS[(source, event_type)] = EventContract(source, event_type, data(), summary)


def load_all() -> None:
    for name in CONTRACT_MODULES:
        importlib.import_module(f"shared.contracts.{name}")


def services() -> list[str]:
    """Every service with a contract module, in document order."""
    return list(dict.fromkeys(importlib.import_module(f"shared.contracts.{name}").SERVICE
                              for name in CONTRACT_MODULES))


def rpc_contract(service: str, method: str) -> RpcContract:
    load_all()
    try:
        return RPC[(service, method)]
    except KeyError:
        raise LookupError(f"no contract for the RPC method {service}.{method}") from None


def largest_page(contract: RpcContract) -> int | None:
    """The largest `limit` a paged method takes (None: it is not paged)."""
    field = contract.params.fields.get("limit")
    if field is None:
        return None
    return max((rule.max for rule in field.validators
                if isinstance(rule, validate.Range) and rule.max is not None), default=None)


def load_params(contract: RpcContract, params: dict) -> dict:
    # PostgreSQL text cannot hold NUL, nor UTF-8 a lone surrogate ("\ud800" is valid
    # JSON): refuse them here, for every field of every service, rather than as a
    # driver error after part of the work is done.
    unstorable = {name: ["must not contain the NUL character (\\x00) or a lone "
                         "surrogate (text that is not valid Unicode)"]
                  for name, value in params.items() if _unstorable(value)}
    if unstorable:
        raise ValidationError(f"invalid input to {contract.method}", unstorable)
    try:
        return contract.params.load(params)
    except marshmallow.ValidationError as exc:
        raise ValidationError(f"invalid input to {contract.method}", exc.messages) from None


def _unstorable(value) -> bool:
    if isinstance(value, str):
        return unstorable_text(value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_unstorable(v) for v in value)
    return False


def dump_event(source: str, event_type: str, data: dict) -> dict:
    load_all()
    try:
        contract = EVENTS[(source, event_type)]
    except KeyError:
        raise LookupError(f"no contract for the event {source}.{event_type}") from None
    return contract.data.dump(data)


class Envelope(Schema):
    """What every event message carries around its data."""

    id = fields.UUID(required=True, metadata={"description": "event id; handlers dedupe on it"})
    type = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "the emitting service"})
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    schema_version = fields.Integer(required=True)
    actor = fields.Dict(load_default=None, metadata={"description": "subject, department, system"})
    data = fields.Dict(required=True)


_ENVELOPE = Envelope()


def load_event(message: dict) -> dict:
    """Validate an incoming event (envelope and data) against the contract."""
    load_all()
    try:
        envelope = _ENVELOPE.load(message)
        contract = EVENTS.get((envelope["source"], envelope["type"]))
        if contract is None:
            raise marshmallow.ValidationError({"type": [f"no contract for {envelope['type']}"]})
        envelope["data"] = contract.data.load(envelope["data"])
    except marshmallow.ValidationError as exc:
        raise ValidationError("malformed event", exc.messages) from None
    envelope["id"] = str(envelope["id"])
    return envelope
