"""Property-based fuzzing (hypothesis) of what the gateway reads from a request and of the
spreadsheet reader: whatever arrives, the answer is a 4xx problem or a success, never a
500, and reading stops at the limits. In-process, with the services replaced by a stub
that answers every call (the services' own input handling is fuzzed by schemathesis
through the real stack). `make test` runs a bounded number of examples; `make fuzz`
runs many more (HYPOTHESIS_PROFILE=fuzz)."""

from __future__ import annotations

import io
import json
import os
import time
import tracemalloc
import zipfile
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from services.gateway import spreadsheets
from services.gateway.app import Gateway
from shared.errors import TooLarge, ValidationError
from shared.platform import auth, config

settings.register_profile("test", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=20_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "test"))

SECRET = "fuzz-secret-" + "x" * 40


class StubServices:
    """Every call answers {} (a query) or a small record (a command)."""

    def call(self, service, method, params, *, token=None, call_id=None, timeout=None):
        auth.TokenVerifier((SECRET,)).verify(token)  # as a service would
        return {"id": 1, "version": 1, "items": [], "next_cursor": None, "html": "<p>通知书</p>"}

# No example may make the code under test hold more than this at once: the inputs are
# a few KB, so anything near it is an allocation the input does not bound.
PEAK_BYTES = 32 << 20


@contextmanager
def allocation_bounded():
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{peak / 2**20:.1f} MiB held at once"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings_ = config.load({"JINWEI_VAR_DIR": str(tmp_path_factory.mktemp("fuzz")),
                             "JINWEI_TOKEN_SECRET": SECRET,
                             "JINWEI_GATEWAY_MAX_JSON_BYTES": str(256 * 1024)})
    os.environ.setdefault("JINWEI_GATEWAY_MAX_JSON_BYTES", str(256 * 1024))
    return Client(Gateway(settings_, rpc=StubServices()))


GOOD_TOKEN = auth.issue_token(SECRET, subject="fuzz", department="d",
                              place_code="330000000000", roles=list(auth.ROLES))

PATHS = st.sampled_from([
    "/v1/organizations/register_organization", "/v1/organizations/list_children",
    "/v1/organizations/get_organization", "/v1/evaluation/set_grade", "/v1/cadres/find_person",
    "/v1/imports/organizations", "/v1/imports/organizations/template",
    "/v1/imports/organizations/00000000-0000-0000-0000-000000000000",
    "/v1/exports/ledger", "/v1/notices/1", "/v1/nosuch/x", "/health/live", "/openapi.json",
]) | st.text(min_size=1, max_size=40).map(lambda t: "/" + t.lstrip("/"))

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=5),
    max_leaves=30)

BODIES = (st.binary(max_size=2000)
          | JSON.map(lambda v: json.dumps(v).encode())
          | st.dictionaries(st.sampled_from(["name", "kind", "place_code", "request_id",
                                             "organization_id", "code", "version", "rows"]),
                            JSON, max_size=6).map(lambda v: json.dumps(v).encode())
          | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))

HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
       path=PATHS,
       query=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=20)), max_size=6),
       body=BODIES,
       bearer=st.sampled_from([GOOD_TOKEN, None, "x", GOOD_TOKEN[:-3] + "abc"]) | HEADER_TEXT,
       content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data",
                                     "application/octet-stream"]) | HEADER_TEXT,
       extra=st.dictionaries(st.sampled_from(["Idempotency-Key", "If-Match", "X-Request-Id"]),
                             HEADER_TEXT, max_size=3))
def test_no_request_is_a_500(client, method, path, query, body, bearer, content_type, extra):
    headers = dict(extra)
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    if content_type:
        headers["Content-Type"] = content_type
    try:
        with allocation_bounded():
            response = client.open(path, method=method, query_string=query, data=body,
                                   headers=headers)
    except ValueError:
        return  # werkzeug's test client refused to build it (not something on the wire)
    if urlsplit(path).path == "/health/ready" and response.status_code == 503:
        return  # readiness answers 503 while the broker cannot be reached: here, never
    assert response.status_code < 500, (response.status_code, response.get_data()[:500])
    if response.status_code >= 400 and method != "HEAD":
        assert response.mimetype in ("application/problem+json", "application/json")
        problem = json.loads(response.get_data())
        assert problem["status"] == response.status_code


def _valid_workbook() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["组织名称", "组织类别", "所属领域", "所在地区代码", "正式党员数", "成立日期"])
    sheet.append(["支部", "党支部", "农村", "331123000000", 5, "2020-01-01"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


VALID = _valid_workbook()
PARTS = zipfile.ZipFile(io.BytesIO(VALID)).namelist()


def _rebuilt(replace: dict[str, bytes]) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(VALID)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name in source.namelist():
            book.writestr(name, replace.get(name, source.read(name)))
    return out.getvalue()


XML_NOISE = st.lists(st.sampled_from([
    b"<row>", b"</row>", b'<row r="x">', b'<c r="A1" t="s"><v>99</v></c>', b'<c t="inlineStr">',
    b"<is><t>", b"</t></is>", b"</c>", b'<c r="XFD9"><v>1</v></c>', b'<c t="n"><v>1e999</v></c>',
    b'<c t="d"><v>not-a-date</v></c>', b'<c s="99"><v>5</v></c>', b"&amp;", b"&bogus;",
    b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", b"&a;", b"\xff\xfe", b"<sheetData>", b"</sheetData>",
]), max_size=30).map(b"".join)


@given(part=st.sampled_from(PARTS), noise=XML_NOISE | st.binary(max_size=500),
       flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)),
                      max_size=4))
def test_no_workbook_breaks_the_reader(part, noise, flips):
    data = bytearray(_rebuilt({part: noise}))
    for at, value in flips:
        data[at % len(data)] = value
    started = time.monotonic()
    with allocation_bounded():
        try:
            spreadsheets.parse("organizations", bytes(data))
        except (ValidationError, TooLarge):
            pass
    assert time.monotonic() - started < 5
