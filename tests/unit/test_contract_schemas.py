"""The OpenAPI document says what the contracts accept: each pattern the document carries
takes exactly the values the field's loader takes, the named formats' values (the
schemathesis hooks' strategies) are accepted, and the HTTP rules around the bodies (request
id and version in headers, no null in a query) hold. The live check of all of it is
tests/integration/test_gateway_schemathesis.py."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError as SchemaError

from services.gateway import openapi, spreadsheet_routes
from shared import contracts
from shared.contracts import common
from shared.contracts.common import (
    PERIOD,
    CreditCode,
    Cursor,
    DecimalNumber,
    FutureDate,
    IdentityNumber,
    PastDate,
    Pattern,
    PlaceCode,
    decimal_pattern,
    encode_cursor,
    text,
)
from shared.contracts.resources import Area, Money
from shared.errors import ValidationError
from shared.national import regions
from tests import schemathesis_hooks as hooks


def ecma(pattern: str):
    """How JSON Schema reads `pattern` (ECMA 262, searched): for the patterns here, which
    use no \\d, \\w or \\s, Python's search with $ only at the very end."""
    python = pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern
    return lambda value: re.search(python, value) is not None


def accepts(field, value) -> bool:
    try:
        field.deserialize(value)
    except SchemaError:
        return False
    return True


# -- place codes ---------------------------------------------------------------------------
BLOCK_VALUES = ["00", "01", "11", "50", "82", "83", "99", "000", "001", "099", "100", "199",
                "200", "399", "400", "599", "600", "999"]


def _codes():
    """Codes around every boundary regions.parse draws."""
    for province in ("00", "10", "11", "33", "82", "83", "99"):
        for city in ("00", "01", "99"):
            for county in ("00", "02"):
                for township in ("000", "001", "099", "100", "399", "599", "600", "999"):
                    for village in ("000", "001", "199", "200", "399", "599", "600"):
                        yield province + city + county + township + village


@pytest.mark.parametrize("levels, kinds", [
    (regions.LEVELS, None), (("township",), None), (("village",), None),
    (("city", "county", "township"), None), (None, ("village",)),
    (None, ("village", "community"))])
def test_a_place_code_pattern_takes_what_the_field_takes(levels, kinds):
    field = PlaceCode(levels=levels, kinds=kinds)
    matches = ecma(field.metadata["pattern"])
    for code in _codes():
        assert matches(code) == accepts(field, code), code


@given(st.text(alphabet="0123456789３ \n", min_size=11, max_size=13))
def test_a_place_code_pattern_refuses_what_parse_refuses(code):
    try:
        regions.parse(code)
        valid = True
    except regions.RegionCodeError:
        valid = False
    assert ecma(common.PLACE_CODE_PATTERN)(code) == valid


# -- decimals --------------------------------------------------------------------------------
DECIMAL_TEXT = st.text(alphabet="0123456789.+-e _", max_size=16) | st.from_regex(
    r"\A\+?0{0,2}[0-9]{1,13}(\.[0-9]{1,3})?\Z")


@pytest.mark.parametrize("field", [Money(), Money(positive=True), Area(),
                                   DecimalNumber(2, minimum=0, maximum=100),
                                   DecimalNumber(1, minimum="0.5", maximum=1000),
                                   DecimalNumber(4, minimum=0, maximum=1)],
                         ids=["money", "positive money", "area", "score", "hours", "share"])
@settings(max_examples=400, deadline=None)
@given(value=DECIMAL_TEXT)
def test_a_decimal_pattern_takes_the_text_the_field_takes(field, value):
    text_schema = field.json_schema()["anyOf"][0]
    assert ecma(text_schema["pattern"])(value) == accepts(field, value), value


def test_decimal_patterns_hold_their_bounds():
    money = ecma(decimal_pattern(0, Decimal("999999999999.99"), 2, exclusive_minimum=True,
                                 plus=True))
    assert [money(v) for v in ("0.01", "+5", "999999999999.99", "0", "0.00", "-1",
                               "1000000000000", "1.005", "1e3", " 1")] == [
        True, True, True, False, False, False, False, False, False, False]
    hours = ecma(decimal_pattern(Decimal("0.5"), 1000))
    assert [hours(v) for v in ("0.5", "0.50001", "0.4999", "1000", "1000.0", "1000.01")] == [
        True, True, False, True, True, False]


def test_a_decimal_number_is_bounded_as_given_then_rounded():
    score = DecimalNumber(2, minimum=0, maximum=100)
    assert score.deserialize("99.999") == Decimal("100.00")
    assert score.deserialize(12.345) == Decimal("12.34")
    for bad in ("100.001", "1e2", " 5", "５", True, 100.5, float("nan")):
        assert not accepts(score, bad), bad


# -- text --------------------------------------------------------------------------------------
def test_text_is_blank_only_when_all_of_it_is_space():
    name = text(20)
    matches = ecma(common.NOT_BLANK)
    for value in (" 梅坞村", "梅坞村 ", "\u3000a", "a\u00a0"):
        assert accepts(name, value) and matches(value), value
    for value in (" ", "\u3000\u2003", "\t\n", "\x1c\x85"):
        assert not accepts(name, value) and not matches(value), value
    assert all(not matches(chr(c)) for c in range(0x110000) if chr(c).isspace())


def test_a_pattern_is_searched_as_json_schema_does():
    month = Pattern(PERIOD)
    month("2026-11")
    for bad in ("2026-11\n", "٢٠٢٦-11", "2026-13"):
        with pytest.raises(SchemaError):
            month(bad)


# -- named formats: the hooks' values are what the fields take --------------------------------
@settings(max_examples=200, deadline=None)
@given(code=hooks.credit_codes, number=hooks.identity_numbers, past=hooks.past_dates,
       future=hooks.future_dates)
def test_the_formats_values_are_accepted(code, number, past, future):
    assert accepts(CreditCode(), code)
    assert accepts(IdentityNumber(), number)
    assert accepts(PastDate(), past) and accepts(FutureDate(), future)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_cursor_shape_has_values_its_listings_take(data):
    for shape in hooks._cursor_shapes():
        cursor = data.draw(hooks._cursors(shape))
        assert accepts(Cursor(shape), cursor)


def test_a_cursor_only_holds_what_the_database_can():
    for key in (["a\x00", 1], ["\ud800", 1], ["a", 2 ** 63], ["a", True], ["a"]):
        assert not accepts(Cursor((str, int)), encode_cursor(key)), key
    assert not accepts(Cursor((str, int)), "")


def test_a_workbook_for_every_import_kind():
    from services.gateway import spreadsheets

    for kind in spreadsheets.IMPORTS:
        assert spreadsheets.parse(kind, hooks._workbook())


# -- rules the contracts now state -------------------------------------------------------------
def test_an_audited_entity_id_is_plain_digits():
    """Was a 500: "²".isdigit() is true, int("²") is not."""
    contract = contracts.rpc_contract("organizations", "audit_trail")
    for bad in ("²", "١٢", "1" * 19, ""):
        with pytest.raises(ValidationError):
            contracts.load_params(contract, {"entity_type": "organization", "entity_id": bad})
    assert contracts.load_params(contract, {"entity_type": "place",
                                            "entity_id": "331123000000"})["entity_id"]


def test_a_boolean_is_true_or_false():
    contract = contracts.rpc_contract("organizations", "start_import")
    row = {"row": 1, "values": {}}
    for loose in (0, 1, "true", "yes"):
        with pytest.raises(ValidationError) as caught:
            contracts.load_params(contract, {"kind": "organizations", "rows": [row],
                                             "dry_run": loose})
        assert caught.value.details == {"dry_run": ["Not a valid boolean."]}
    assert contracts.load_params(contract, {"kind": "organizations", "rows": [row],
                                            "dry_run": True})["dry_run"] is True


def test_a_designated_year_is_at_most_next_year_in_the_document_too():
    contract = contracts.rpc_contract("organizations", "designate_demonstration_site")
    next_year = dt.date.today().year + 1
    params = {"organization_id": 1, "level": next(iter(contract.params.fields["level"].labels))}
    contracts.load_params(contract, {**params, "year": next_year})
    with pytest.raises(ValidationError):
        contracts.load_params(contract, {**params, "year": next_year + 1})
    body = _document()["components"]["schemas"]["rectification.DesignateSite"]
    assert body["properties"]["year"]["maximum"] == next_year


# -- the document ------------------------------------------------------------------------------
def _document():
    return openapi.build(extra_paths=spreadsheet_routes.openapi_paths())


def test_request_id_and_version_travel_in_headers_only():
    document = _document()
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for operation in operations.values():
            headers = {p["name"]: p for p in operation.get("parameters", ())
                       if p["in"] == "header"}
            body = operation.get("requestBody", {}).get("content", {}).get(
                "application/json", {}).get("schema", {})
            if "$ref" not in body:
                continue
            properties = schemas[body["$ref"].rsplit("/", 1)[-1]].get("properties", {})
            assert "request_id" not in properties and "version" not in properties, path
            if "If-Match" in headers:
                assert ecma(headers["If-Match"]["schema"]["pattern"])('W/"3"')
                assert not ecma(headers["If-Match"]["schema"]["pattern"])("3")


def test_a_body_schema_serves_request_bodies_only():
    """Its request_id and version are taken out for HTTP: nothing else may refer to it."""
    document = _document()
    bodies = {op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
              for ops in document["paths"].values() for op in ops.values()
              if "application/json" in op.get("requestBody", {}).get("content", {})}
    text_ = str({k: v for k, v in document.items() if k != "paths"}) + str(
        [p for ops in document["paths"].values() for op in ops.values()
         for p in op.get("parameters", ())] + [
            op["responses"] for ops in document["paths"].values() for op in ops.values()])
    for ref in bodies:
        assert f"'{ref}'" not in text_, ref


def test_a_query_parameter_is_never_null():
    for operations in _document()["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                if parameter["in"] == "query":
                    schema = parameter["schema"]
                    assert not schema.get("nullable") and None not in schema.get("enum", ())


# -- results: what a generated client may rely on ----------------------------------------------
def _result_components(document) -> set[str]:
    schemas, seen = document["components"]["schemas"], set()
    stack = [op["responses"].get("200", {}) for ops in document["paths"].values()
             for op in ops.values()]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref", "")
            if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[-1] not in seen:
                seen.add(ref.rsplit("/", 1)[-1])
                stack.append(schemas[ref.rsplit("/", 1)[-1]])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return seen - {"Problem"}


def test_the_title_makes_an_installable_client_and_the_description_keeps_chinese():
    info = _document()["info"]
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9 ]*", info["title"]), info["title"]
    assert "晋位" in info["description"] and "晋位" in info["x-title-zh"]
    assert "deploy/openapi-client.yaml" in info["description"]


def test_every_field_of_a_result_is_required_and_a_request_keeps_its_own():
    document = _document()
    schemas = document["components"]["schemas"]
    results = _result_components(document)
    assert len(results) > 100
    for name in results:
        properties = schemas[name].get("properties", {})
        assert schemas[name].get("required", []) == list(properties), name
    register = schemas["organizations.RegisterOrganization"]
    contract = contracts.rpc_contract("organizations", "register_organization")
    assert set(register["required"]) == {n for n, f in contract.params.fields.items()
                                         if f.required}
    assert "full_members" in register["properties"] and "parent_id" not in register["required"]


def _enum_of(prop: dict):
    for candidate in (prop, *prop.get("anyOf", ()), prop.get("items", {})):
        if "enum" in candidate:
            return candidate["enum"]
    return None


def test_a_coded_field_of_a_result_has_its_codes_as_an_enum():
    from shared.contracts.json_schema import schema_name, vocabulary

    document = _document()
    schemas = document["components"]["schemas"]
    results = _result_components(document)
    checked, seen, stack = 0, set(), [c.result for c in contracts.RPC.values()]
    while stack:
        schema = stack.pop()
        if id(schema) in seen:
            continue
        seen.add(id(schema))
        for field in schema.fields.values():
            inner = getattr(field, "inner", field)
            if hasattr(inner, "schema") and hasattr(inner, "nested"):
                stack.append(inner.schema)
        name = schema_name(schema)
        properties = schemas.get(name, {}).get("properties", {})
        if name not in results or set(properties) != set(schema.dump_fields):
            continue  # another variant (only=…) or class of that name: apispec renamed it
        for label_name, field in schema.fields.items():
            found = vocabulary(field)
            if found is None:
                continue
            code, labels, many = found
            assert properties[label_name]["type"] == ("array" if many else "string")
            assert _enum_of(properties[code]) == list(labels), (name, code)
            assert properties[code].get("x-labels", properties[code].get("items", {}).get(
                "x-labels")) == labels
            if properties[code].get("nullable") and not many:  # null too, as anyOf
                assert "enum" not in properties[code] and "anyOf" in properties[code]
            checked += 1
    assert checked > 200
    organization = schemas["organizations.Organization"]["properties"]
    assert _enum_of(organization["kind"]) == ["611", "621", "631", "632"]


def test_a_label_that_does_more_than_look_up_a_table_promises_no_enum():
    from shared.contracts.json_schema import vocabulary
    from shared.contracts.organizations import Place, Vacancy

    vacancy = Vacancy()
    assert vocabulary(vacancy.fields["reason_label"]) is None  # .get(...) or 未配齐
    assert vocabulary(vacancy.fields["status_label"])[0] == "status"
    level = vocabulary(Place().fields["level_label"])
    assert level[0] == "level" and level[1] == regions.LEVEL_LABELS
