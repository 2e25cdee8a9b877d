"""schemathesis hooks for the gateway's /openapi.json (SCHEMATHESIS_HOOKS=tests.schemathesis_hooks,
tests/integration/test_gateway_schemathesis.py).

The document names, with a `format`, what no JSON Schema keyword can state (docs/gateway.md,
"Formats"); these are their values, so schemathesis generates what the API takes:

- `credit-code`: a unified social credit code whose check character is right (GB 32100);
- `identity-number`: a citizen identity number with a real birth date and its check
  character (GB 11643);
- `past-date` / `future-date`: a date not after today / not before today;
- `cursor-<shape>`: a page cursor of a listing sorted by a key of that shape;

and, for the media type of an import's body (.xlsx), a workbook of one sheet per import
kind, each named like it, with its headings and a row (the rows' own checks are the
job's: it answers 202 and reports them).

Deprecated parameters (an old name kept for one release beside its new one, e.g. `code`
for `place_code`) are left out of what schemathesis sees: giving both names is a 400 no
JSON Schema of query parameters can state, and the old names have a test of their own
(test_organizations_rpc.py, test_the_deprecated_code_parameter_still_works).

And one workaround, not about the API: CPython 3.11's `ast` module counts its recursion
depth in state shared by every thread of the interpreter, so two threads building ASTs at
once can fail with "SystemError: AST constructor recursion depth mismatch". Hypothesis
parses lambdas' source (ast.parse) to describe filtered strategies, and schemathesis's
workers are threads: a lock around ast.parse keeps them from interleaving there.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import io
import threading

import openpyxl
import schemathesis
from hypothesis import strategies as st

from services.gateway import spreadsheets
from services.gateway.spreadsheet_routes import XLSX
from shared import contracts
from shared.contracts.common import Cursor, cursor_format, encode_cursor
from shared.national import credit_code, identity_number

_AST_LOCK = threading.Lock()
_parse = ast.parse


@functools.wraps(_parse)
def _serialized_parse(*args, **kwargs):
    with _AST_LOCK:
        return _parse(*args, **kwargs)


ast.parse = _serialized_parse

TODAY = dt.date.today()


def _text(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=size, max_size=size)


DIGITS = "0123456789"

credit_codes = st.builds(
    lambda head, office, body: credit_code.with_check_character(head + office + body),
    _text(credit_code.CHARSET, 2), _text(DIGITS, 6), _text(credit_code.CHARSET, 9))

identity_numbers = st.builds(
    lambda province, place, born, sequence: identity_number.with_check_character(
        province + place + born.strftime("%Y%m%d") + sequence),
    st.sampled_from(sorted(identity_number.PROVINCES)), _text(DIGITS, 4),
    st.dates(identity_number.EARLIEST_BIRTH, TODAY), _text(DIGITS, 3))

past_dates = st.dates(dt.date(1949, 10, 1), TODAY).map(dt.date.isoformat)
future_dates = st.dates(TODAY, TODAY + dt.timedelta(days=3660)).map(dt.date.isoformat)

# A sort key's parts as a listing stores them: text PostgreSQL holds, a bigint, a date,
# bytes.
_KEY_PARTS = {
    str: st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                 max_size=20),
    int: st.integers(-(2 ** 63), 2 ** 63 - 1),
    dt.date: st.dates().map(dt.date.isoformat),
    bytes: st.binary(max_size=32).map(bytes.hex),
}


def _cursors(shape: tuple[type, ...]) -> st.SearchStrategy[str]:
    return st.tuples(*(_KEY_PARTS[kind] for kind in shape)).map(
        lambda key: encode_cursor(list(key)))


def _cursor_shapes() -> set[tuple[type, ...]]:
    contracts.load_all()
    shapes = set()
    for contract in contracts.RPC.values():
        for field in contract.params.fields.values():
            if isinstance(field, Cursor):
                shapes.add(tuple(field.shape))
    return shapes


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for spec in spreadsheets.KINDS.values():
        sheet = book.create_sheet(spec.title)
        sheet.append([column.heading for column in spec.columns])
        sheet.append(["测试"] + [None] * (len(spec.columns) - 1))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


schemathesis.openapi.media_type(XLSX, st.just(_workbook()))
schemathesis.openapi.format("credit-code", credit_codes)
schemathesis.openapi.format("identity-number", identity_numbers)
schemathesis.openapi.format("past-date", past_dates)
schemathesis.openapi.format("future-date", future_dates)
for _shape in _cursor_shapes():
    schemathesis.openapi.format(cursor_format(_shape), _cursors(_shape))


@schemathesis.hook
def before_load_schema(ctx, raw_schema: dict) -> None:
    """Drop deprecated parameters and body properties (see the module's docstring)."""
    for methods in raw_schema.get("paths", {}).values():
        for operation in methods.values():
            if not isinstance(operation, dict):
                continue
            if "parameters" in operation:
                operation["parameters"] = [p for p in operation["parameters"]
                                           if not p.get("deprecated")]
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _drop_deprecated_properties(media.get("schema", {}), raw_schema)


def _drop_deprecated_properties(schema: dict, document: dict) -> None:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document.get("components", {}).get("schemas", {}).get(name, {})
    for name, prop in list(schema.get("properties", {}).items()):
        if prop.get("deprecated"):
            del schema["properties"][name]
