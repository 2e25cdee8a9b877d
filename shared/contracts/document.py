"""Generate docs/contract.md from shared/contracts: every RPC method and event with its
fields, so another department can code against it. `make contract` rewrites the file;
a test fails when the checked-in file differs from what the code generates."""

from __future__ import annotations

import argparse
import importlib
import sys

from marshmallow import Schema, fields, missing, validate

from shared import contracts, errors
from shared.contracts.common import (
    NOT_BLANK,
    PERIOD,
    CreditCode,
    Cursor,
    DecimalNumber,
    Enum,
    FutureDate,
    IdentityNumber,
    NotAfterNextYear,
    PastDate,
    Pattern,
    PlaceCode,
    decimal_places,
)
from shared.contracts.roles import ROLES
from shared.national import regions

DOC_PATH = "docs/contract.md"


def _figure_class(name: str):
    from shared.contracts import resources  # Money and Area live with their service

    return getattr(resources, name)


# Each field's type, by its class (the first match): the names the section "Types"
# defines. A text() field (a pattern with one non-blank character) is Text.
def _named_types():
    return [
        (PlaceCode, "PlaceCode"), (CreditCode, "CreditCode"), (IdentityNumber, "IdentityNumber"),
        (Cursor, "Cursor"), (Enum, "Enum"), (_figure_class("Money"), "Money"),
        (_figure_class("Area"), "Area"), (DecimalNumber, "Decimal"), (fields.Decimal, "Decimal"),
        (PastDate, "PastDate"), (FutureDate, "FutureDate"), (fields.AwareDateTime, "DateTime"),
        (fields.DateTime, "DateTime"), (fields.Date, "Date"), (fields.UUID, "UUID"),
        (fields.Integer, "Integer"), (fields.Float, "Number"), (fields.Boolean, "Boolean"),
        (fields.String, "String"), (fields.Dict, "Object"), (fields.Function, "Derived"),
    ]


def _type(field) -> str:
    if isinstance(field, fields.List):
        return f"list of {_type(field.inner)}"
    if isinstance(field, fields.Nested):
        return f"{_schema_name(field.schema)}"
    patterns = [rule.regex.pattern for rule in field.validators if isinstance(rule, Pattern)]
    if isinstance(field, fields.String) and type(field) is fields.String:
        if PERIOD in patterns:
            return "Period"
        if NOT_BLANK in patterns:
            return "Text"
    for cls, name in _named_types():
        if isinstance(field, cls):
            return name
    return type(field).__name__


def _schema_name(schema: Schema) -> str:
    return type(schema).__name__


def _describe(field, *, output: bool = False) -> str:
    parts = []
    meta = field.metadata or {}
    if meta.get("deprecated"):
        parts.append("**deprecated**")
    if meta.get("x-labels"):
        parts.append(", ".join(f"`{code}` {label}" for code, label in meta["x-labels"].items()))
    else:
        for rule in field.validators:
            if isinstance(rule, validate.OneOf):
                parts.append("one of " + ", ".join(f"`{c}`" for c in rule.choices))
    if not output:
        parts += limits(field)
    elif isinstance(field, fields.Decimal) and field.places is not None \
            and type(field).__name__ not in ("Money", "Area"):
        parts.append(f"{decimal_places(field.places)} decimal places")
    if meta.get("description"):
        parts.append(meta["description"])
    default = field.load_default
    if output:
        pass
    elif callable(default):
        parts.append("default empty")
    elif default is not missing:
        parts.append("default `null`" if default is None else f"default `{default}`")
    if field.allow_none and not output and default is not None:
        parts.append("may be `null`")
    return "; ".join(parts)


def _number(value) -> str:
    """1000000 as 1 000 000, as the document writes numbers."""
    text = format(value, "f") if not isinstance(value, int) else str(value)
    whole, dot, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-")
    groups: list[str] = []
    while len(whole) > 3 and len(whole) + 3 * len(groups) > 4:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    return sign + " ".join([whole, *groups]) + (dot + fraction if dot else "")


def _range(rule: validate.Range, unit: str = "") -> str:
    low = None if rule.min is None else (_number(rule.min), rule.min_inclusive)
    high = None if rule.max is None else (_number(rule.max), rule.max_inclusive)
    unit = f" {unit}" if unit else ""
    if low and high and low[1] and high[1]:
        return f"{low[0]} to {high[0]}{unit}"
    words = []
    if low:
        words.append(f"{'at least' if low[1] else 'more than'} {low[0]}{unit}")
    if high:
        words.append(f"{'at most' if high[1] else 'less than'} {high[0]}{unit}")
    if low and not high:
        words.append("no upper bound")
    return ", ".join(words)


def _length(rule: validate.Length, unit: str) -> str:
    if rule.equal is not None:
        return f"exactly {_number(rule.equal)} {unit}"
    low = rule.min or 0
    if rule.max is None:
        return f"at least {_number(low)} {unit}, no upper bound"
    return f"{_number(low)} to {_number(rule.max)} {unit}"


def limits(field) -> list[str]:
    """Every bound a field is checked by, in words: lengths, ranges, places, levels. An
    input field of a type that can have bounds and has none says so."""
    out: list[str] = []
    rules = list(field.validators)
    ranged = [rule for rule in rules if isinstance(rule, validate.Range)]
    lengths = [rule for rule in rules if isinstance(rule, validate.Length)]
    if isinstance(field, fields.List):
        out += [_length(rule, "items") for rule in lengths] or (
            [] if field.dump_only else ["any number of items"])
        inner = limits(field.inner)
        if inner:
            out.append("each: " + ", ".join(inner))
        return out
    if isinstance(field, fields.Dict):
        keys = field.key_field
        if keys is not None:
            choices = [rule.choices for rule in keys.validators if isinstance(rule, validate.OneOf)]
            if choices:
                out.append("keys: any of " + ", ".join(f"`{c}`" for c in choices[0]))
            elif not field.dump_only:
                out.append("any keys")
        if field.value_field is not None:
            values = limits(field.value_field)
            if values:
                out.append(f"values: {_type(field.value_field).lower()}s, " + ", ".join(values))
        return out
    if isinstance(field, PlaceCode):
        if field.kinds:
            out.append("a " + " or ".join(f"{kind} ({regions.KINDS[kind]})"
                                          for kind in field.kinds))
        elif field.levels:
            out.append("a " + " or ".join(f"{level} ({regions.LEVEL_LABELS[level]})"
                                          for level in field.levels))
    if isinstance(field, DecimalNumber):
        places = decimal_places(field.places)
        out.append(f"{_number(field.minimum)} to {_number(field.maximum)}, {places} decimal "
                   "places (more are rounded half to even)")
        return out
    if type(field).__name__ in ("Money", "Area"):
        low = "more than 0" if getattr(field, "positive", False) else "0"
        out.append(f"{low} to {_number(field.maximum)}" if low == "0"
                   else f"{low}, at most {_number(field.maximum)}")
        return out
    if isinstance(field, fields.Decimal):
        if field.places is not None:
            out.append(f"{decimal_places(field.places)} decimal places")
        out += [_range(rule) for rule in ranged]
        return out
    if isinstance(field, fields.String) and not isinstance(
            field, (PlaceCode, CreditCode, IdentityNumber, Cursor, Enum)):
        out += [_length(rule, "characters") for rule in lengths]
        for rule in rules:
            if isinstance(rule, Pattern) and rule.regex.pattern not in (NOT_BLANK, PERIOD):
                out.append(f"matches `{rule.regex.pattern}`")
        if not lengths and not field.dump_only and not any(
                isinstance(rule, (validate.OneOf, Pattern)) for rule in rules):
            out.append("any length")
        return out
    if isinstance(field, fields.Integer | fields.Float):
        out += [_range(rule) for rule in ranged]
        if any(isinstance(rule, NotAfterNextYear) for rule in rules):
            out.append("at most next year")
        if not ranged and not field.dump_only:
            out.append("any integer" if isinstance(field, fields.Integer) else "any number")
    return out


def _rules(schema: Schema) -> list[str]:
    """What a schema checks between its fields (its `contract_rules`)."""
    found = []
    for cls in type(schema).__mro__:
        text = cls.__dict__.get("contract_rules")
        if text and text not in found:
            found.append(text)
    return found


def _field_rows(schema: Schema, with_required: bool, *, output: bool = False) -> list[str]:
    rows = []
    for name, field in schema.fields.items():
        required = "yes" if field.required else ""
        cells = [f"`{field.data_key or name}`", _type(field)]
        if with_required:
            cells.append(required)
        cells.append(_describe(field, output=output or field.dump_only).replace("|", "\\|"))
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
        "docs/operations.md). Python: `shared.platform.rpc_client.rpc_proxy(uri, token)`. Any other",
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
        "(a Python caller gets them as classes from `shared.platform.rpc_client`, or by",
        "registering each class of `shared.errors` with nameko's `deserialize_to_instance`;",
        "otherwise nameko's `RemoteError` with `exc_type` set to the name):",
        "",
        "| error | meaning | HTTP |",
        "|---|---|---|",
    ]
    for cls in errors.EXPECTED:
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        out.append(f"| `{cls.__name__}` | {doc} | {cls.http_status} |")
    out += ["", "Roles:", "", "| role | 中文 |", "|---|---|"]
    out += [f"| `{role}` | {label} |" for role, label in ROLES.items()]
    out += ["", *TYPES, ""]
    out += _deprecated_names()
    inputs: dict[str, Schema] = {}
    outputs: dict[str, Schema] = {}
    for service in contracts.services():
        out += ["", f"## Service `{service}`", "", "### RPC methods"]
        for (svc, method), contract in sorted(contracts.RPC.items()):
            if svc != service:
                continue
            kind = "command (takes request_id)" if contract.mutating else "query"
            summary, _, more = contract.summary.partition("\n")
            out += ["", f"#### `{method}`", "", summary, ""]
            if more:
                out += [more, ""]
            out += [f"Role `{contract.role}`; {kind}. Returns `{_schema_name(contract.result)}`.",
                    "", "| parameter | type | required | notes |", "|---|---|---|---|"]
            out += _field_rows(contract.params, True)
            rules = _rules(contract.params)
            if rules:
                out += ["", "Between the parameters: " + " ".join(rules)]
            outputs[_schema_name(contract.result)] = contract.result
            _nested_schemas(contract.params, inputs)
            _nested_schemas(contract.result, outputs)
        out += ["", "### Events", "",
                "Published on the topic exchange `<source>.events` with the event type as the",
                "routing key (what nameko's `event_handler(source, type)` consumes). The body:",
                "", "| field | type | notes |", "|---|---|---|"]
        out += _field_rows(contracts.Envelope(), False, output=True)
        for (source, event_type), published in sorted(contracts.EVENTS.items()):
            if source != service:
                continue
            out += ["", f"#### `{event_type}`", "", published.summary, "",
                    "`data`:", "", "| field | type | notes |", "|---|---|---|"]
            out += _field_rows(published.data, False, output=True)
            _nested_schemas(published.data, outputs)
    out += ["", *_state_machines()]
    out += ["", "## Shapes", "",
            "The objects inside parameters (their bounds as for parameters) and results.", ""]
    for name in sorted(inputs.keys() | outputs.keys()):
        schema = inputs.get(name) or outputs[name]
        out += [f"### `{name}`", "", "| field | type | notes |", "|---|---|---|"]
        out += _field_rows(schema, False, output=name not in inputs)
        rules = _rules(schema) if name in inputs else []
        if rules:
            out += ["", "Between the fields: " + " ".join(rules)]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _deprecated_names() -> list[str]:
    """Parameters renamed, whose old name is still taken for one release."""
    rows = []
    for (service, method), contract in sorted(contracts.RPC.items()):
        for name, field in contract.params.fields.items():
            if field.metadata.get("deprecated"):
                rows.append(f"| `{service}.{method}` | `{field.data_key or name}` | "
                            f"`{field.metadata.get('x-renamed-to', '')}` |")
    if not rows:
        return []
    return ["## Deprecated names", "",
            "Where a place is named, the parameter is `place_code`, in every method. These",
            "old names are still taken for one release, marked `deprecated` here and in",
            "/openapi.json: the value is used as the new name's; giving both is a",
            "`ValidationError`. Use the new name.", "",
            "| method | old name | use |", "|---|---|---|", *rows, ""]


def _state_machines() -> list[str]:
    """Every status field that changes: from-state, command or event, to-state, who may
    (shared/contracts STATE_MACHINES, the tables the services check by)."""
    out = ["## State machines", "",
           "Every status a record moves through, and what moves it. *from* `—`: the record",
           "is created; *to* the same as *from*: allowed there, the status stays. A command",
           "from a state not listed for it is a `Conflict` (409) naming the status. `event",
           "<source>.<type>`: the service does it on that event (the events are listed",
           "under each service); `background`: the service itself, after the command",
           "returned."]
    machines = sorted(contracts.STATE_MACHINES.values(),
                      key=lambda m: (_SERVICE_ORDER.get(m.service, 99), m.service, m.name))
    for machine in machines:
        where = "every service's imports" if machine.service == "imports" else \
            f"service `{machine.service}`"
        out += ["", f"### The {machine.name} ({where})", "",
                f"`{machine.field}`: " + ", ".join(f"`{code}` {label}" for code, label
                                                    in machine.statuses.items()) + ".", "",
                "| from | command or event | to | who may | when |", "|---|---|---|---|---|"]
        for t in machine.transitions:
            source = "—" if t.source is None else f"`{t.source}`"
            via = t.via if t.via.startswith(("event ", "background")) else f"`{t.via}`"
            if t.via.startswith("event "):
                via = f"event `{t.via[len('event '):]}`"
            out.append(f"| {source} | {via} | `{t.target}` | {t.who} | {t.when} |")
        if machine.notes:
            out += ["", machine.notes]
    return out


_SERVICE_ORDER = {name: index for index, name in enumerate(
    dict.fromkeys(importlib.import_module(f"shared.contracts.{module}").SERVICE
                  for module in contracts.CONTRACT_MODULES))}


TYPES = [
    "## Types",
    "",
    "The type column below names one of these. Every bound of a parameter (length, range,",
    "places, level) is in its notes; a value outside them is a `ValidationError` naming",
    "the field, and nothing is written.",
    "",
    "| type | a value is |",
    "|---|---|",
    "| `String` | JSON text. No string anywhere may contain U+0000 or a lone surrogate "
    "(PostgreSQL text cannot hold them). Lengths count characters (Unicode code points), "
    "not bytes. |",
    "| `Text` | a `String` with at least one character that is not white space (a name, a "
    "content: a blank one is refused). |",
    "| `Integer` | a JSON number without a fraction: `5`, not `5.5`, and not `\"5\"` "
    "(only `limit` and `votes` also take digits as text; over HTTP a query string's digits "
    "are the number). An id (`…_id`) is 1 or more, with no upper bound: one that names "
    "nothing is `NotFound`. |",
    "| `Boolean` | JSON `true` or `false`; nothing else (not 1, 0 or `\"yes\"`). |",
    "| `Decimal` | as a parameter: a JSON number, or text of ASCII digits with at most one "
    "point (`\"87.5\"`; no sign, exponent or spaces), within the bounds in its notes; more "
    "decimals than its places are rounded half to even, after the bounds are checked. In a "
    "result: always text with exactly its places (`\"87.50\"`). Rates have four places, "
    "cut (see Rates). |",
    "| `Money` | yuan with fen (元，保留两位小数), exact: text of ASCII digits with at most "
    "two decimals and an optional leading `+` (`\"1234.56\"`), or a JSON integer; never a "
    "JSON number with a fraction (refused: a float is not exact). A third decimal is "
    "refused, not rounded; never negative; less than a trillion yuan (at most "
    "999 999 999 999.99, the database's numeric(14, 2)); where it must be more than zero, "
    "its notes say so. In a result: text with two decimals (`\"1234.50\"`). |",
    "| `Area` | square metres (平方米), written as `Money` is: at most two decimals "
    "(refused, not rounded), 0 to 100 000. In a result: text with two decimals. |",
    "| `Date` | `YYYY-MM-DD` (ISO 8601 calendar date). |",
    "| `PastDate` | a `Date` not after today (a founding, an appointment, a meeting). |",
    "| `FutureDate` | a `Date` not before today (a deadline). |",
    "| `Period` | a month, `YYYY-MM`. |",
    "| `DateTime` | ISO 8601 with its offset (`2026-03-01T08:30:00+08:00`); results only. |",
    "| `UUID` | a UUID in its usual text form (`9b1f6c1e-3d5a-4a8e-9a41-2f6d0c7e1b22`). |",
    "| `PlaceCode` | a place: its 12-digit statistical division code (统计用区划代码), as "
    "text. Province (2 digits, 11–82), city (2), county (2), township (3), village (3); the "
    "blocks below the place's level are zeros (a county: `331123000000`), those down to it "
    "are not. A township's block tells its kind: 001–099 sub-district (街道), 100–199 town "
    "(镇), 200–399 township (乡), 400–599 township-like (类似乡级单位); a village's: "
    "001–199 community (社区), 200–399 village (村), 400–599 village-like (类似村级单位). "
    "Where a method takes only some levels or kinds, its notes say which. Named as a "
    "parameter, it must be in the caller's jurisdiction (`Forbidden`); a place the "
    "organizations service has not imported is a `ValidationError` or `NotFound`. |",
    "| `CreditCode` | a unified social credit code (统一社会信用代码, GB 32100): 18 "
    "characters of `0-9A-HJ-NPQRTUWXY`, the 3rd–8th digits, the 18th the check character "
    "of the first 17. |",
    "| `IdentityNumber` | a citizen identity number (公民身份号码, GB 11643): 17 digits and "
    "a check character (a digit or `X`; a small `x` is taken as `X`), a province's code "
    "first, a real birth date (1900 to today) at the 7th–14th digits; the 17th digit is "
    "odd for a man, even for a woman. Personal data: errors never repeat it, and results "
    "show it whole only to a caller with `cadres.personal_data` (otherwise the first two "
    "characters and the last). |",
    "| `Cursor` | opaque text: the `next_cursor` of the previous page of the same listing "
    "(same other parameters). Leave it out for the first page; `next_cursor` null: the last "
    "page. Anything else is a `ValidationError`. |",
    "| `Enum` | one of the English codes its notes list (each with its Chinese label); "
    "results carry the label beside the code (`<field>_label`). |",
    "| `Object` | a JSON object, as its notes describe. |",
    "| `Derived` | in results only: computed from the record (mostly a Chinese label). |",
    "| `list of T` | a JSON array of `T`; its notes give how many items. |",
    "| a name in `Shapes` | a JSON object of that shape (below). |",
]


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
