"""Generate docs/contract.md from shared/contracts: every RPC method and event with its
fields, so another department can code against it. `make contract` rewrites the file;
a test fails when the checked-in file differs from what the code generates."""

from __future__ import annotations

import argparse
import sys

from marshmallow import Schema, fields, missing, validate

from shared import auth, contracts, errors
from shared.contracts.common import Cursor, Enum, PlaceCode

DOC_PATH = "docs/contract.md"

_TYPES = [
    (PlaceCode, "place code (12 digits)"), (Enum, "enum"), (Cursor, "cursor"),
    (fields.AwareDateTime, "datetime (ISO 8601, with zone)"), (fields.DateTime, "datetime"),
    (fields.Date, "date (YYYY-MM-DD)"), (fields.UUID, "uuid"), (fields.Integer, "integer"),
    (fields.Float, "number"), (fields.Boolean, "boolean"), (fields.String, "string"),
    (fields.Dict, "object"), (fields.Function, "derived"),
]


def _type(field) -> str:
    if isinstance(field, fields.List):
        return f"list of {_type(field.inner)}"
    if isinstance(field, fields.Nested):
        return f"{_schema_name(field.schema)}"
    for cls, name in _TYPES:
        if isinstance(field, cls):
            return name
    return type(field).__name__


def _schema_name(schema: Schema) -> str:
    return type(schema).__name__


def _describe(field) -> str:
    parts = []
    meta = field.metadata or {}
    if meta.get("x-labels"):
        parts.append(", ".join(f"`{code}` {label}" for code, label in meta["x-labels"].items()))
    else:
        for rule in field.validators:
            if isinstance(rule, validate.OneOf):
                parts.append("one of " + ", ".join(f"`{c}`" for c in rule.choices))
    if meta.get("description"):
        parts.append(meta["description"])
    default = field.load_default
    if default is not missing and default is not None and not callable(default):
        parts.append(f"default `{default}`")
    return "; ".join(parts)


def _field_rows(schema: Schema, with_required: bool) -> list[str]:
    rows = []
    for name, field in schema.fields.items():
        required = "yes" if field.required else ""
        cells = [f"`{name}`", _type(field)]
        if with_required:
            cells.append(required)
        cells.append(_describe(field).replace("|", "\\|"))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _nested_schemas(schema: Schema, seen: dict) -> None:
    for field in schema.fields.values():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            nested = inner.schema
            name = _schema_name(nested)
            if name not in seen:
                seen[name] = nested
                _nested_schemas(nested, seen)


def render() -> str:
    contracts.load_all()
    out = [
        "# The public contract (generated)",
        "",
        "Generated from `shared/contracts/` by `make contract`; do not edit by hand. A test",
        "fails when this file and the code disagree.",
        "",
        "## Calling",
        "",
        "Every method is a nameko RPC taking **keyword arguments only**, over AMQP 0-9-1 with",
        "the broker account an operator gave your system (`make integrator`;",
        "docs/operations.md). Python: `shared.rpc_client.rpc_proxy(uri, token)`. Any other",
        "client, on one channel:",
        "",
        "1. consume `amq.rabbitmq.reply-to` with no-ack (RabbitMQ's direct reply-to: no queue",
        "   to declare, none you may declare);",
        "2. publish on the topic exchange `nameko-rpc`, routing key `<service>.<method>`,",
        "   `content_type` `application/json`, body `{\"args\": [], \"kwargs\": {…}}`,",
        "   `reply_to` `amq.rabbitmq.reply-to`, a fresh `correlation_id`, your token in the",
        "   header `nameko.auth_token` (a string), optionally `expiration` (ms) = your timeout;",
        "3. the reply on that channel, same `correlation_id`: `{\"result\": …, \"error\":",
        "   null}` or `{\"result\": null, \"error\": {\"exc_type\", \"exc_path\",",
        "   \"exc_args\", \"value\"}}`.",
        "",
        "A request without a direct reply-to address or a correlation id cannot be answered",
        "and is dead-lettered; a malformed body or context gets a `ValidationError`; a routing",
        "key outside your account's methods is refused by the broker (the channel closes",
        "with 403 ACCESS_REFUSED); messages over 16 MiB are refused unread.",
        "",
        "**Between services.** A write is answered once it is committed in the service that",
        "owns the record; the other services learn of it by events, usually within",
        "milliseconds. You need not wait: a service that has not heard of a place or an",
        "organization yet asks its owner before answering (read-your-writes), so",
        "`register_organization` then at once `evaluation.set_grade`, or",
        "`import_places` then at once `npe.register_enterprise`, works. Only reports that",
        "count across a subtree (coverage, moving-up) reflect a write once its event has",
        "arrived. If the owner cannot be asked, the answer is `ServiceUnavailable`: retry.",
        "",
        "**Rates.** Every rate or share (`rate`, `*_rate`, a survey's satisfaction) is a",
        "decimal string of four places, **cut, never rounded up**: 15 999 satisfied of",
        "20 000 (79.995 %) is `\"0.7999\"`, not `\"0.8000\"`. A verdict beside it",
        "(`passed`, `met`) is taken on the exact ratio, and thresholds and targets have at",
        "most four places, so a rate shown is at or above its threshold exactly when the",
        "verdict says so.",
        "",
        "Mutating methods take an optional `request_id`: a repeat with the same id returns",
        "the first result instead of doing the work twice. Errors arrive as these types",
        "(import `shared.errors` to get them as classes; otherwise nameko's `RemoteError`",
        "with `exc_type` set to the name):",
        "",
        "| error | meaning | HTTP |",
        "|---|---|---|",
    ]
    for cls in errors.EXPECTED:
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        out.append(f"| `{cls.__name__}` | {doc} | {cls.http_status} |")
    out += ["", "Roles:", "", "| role | 中文 |", "|---|---|"]
    out += [f"| `{role}` | {label} |" for role, label in auth.ROLES.items()]
    nested: dict[str, Schema] = {}
    for service in contracts.services():
        out += ["", f"## Service `{service}`", "", "### RPC methods"]
        for (svc, method), contract in sorted(contracts.RPC.items()):
            if svc != service:
                continue
            kind = "command (takes request_id)" if contract.mutating else "query"
            out += ["", f"#### `{method}`", "", contract.summary, "",
                    f"Role `{contract.role}`; {kind}. Returns `{_schema_name(contract.result)}`.",
                    "", "| parameter | type | required | notes |", "|---|---|---|---|"]
            out += _field_rows(contract.params, True)
            nested[_schema_name(contract.result)] = contract.result
            _nested_schemas(contract.params, nested)
            _nested_schemas(contract.result, nested)
        out += ["", "### Events", "",
                "Published on the topic exchange `<source>.events` with the event type as the",
                "routing key (what nameko's `event_handler(source, type)` consumes). The body:",
                "", "| field | type | notes |", "|---|---|---|"]
        out += _field_rows(contracts.Envelope(), False)
        for (source, event_type), contract in sorted(contracts.EVENTS.items()):
            if source != service:
                continue
            out += ["", f"#### `{event_type}`", "", contract.summary, "",
                    "`data`:", "", "| field | type | notes |", "|---|---|---|"]
            out += _field_rows(contract.data, False)
            _nested_schemas(contract.data, nested)
    out += ["", "## Shapes", ""]
    for name in sorted(nested):
        out += [f"### `{name}`", "", "| field | type | notes |", "|---|---|---|"]
        out += _field_rows(nested[name], False)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        with open(DOC_PATH, encoding="utf-8") as fh:
            if fh.read() != text:
                print(f"{DOC_PATH} is stale: run `make contract`", file=sys.stderr)
                return 1
        return 0
    with open(DOC_PATH, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
