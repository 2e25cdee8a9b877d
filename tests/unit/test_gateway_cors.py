"""The gateway for a browser and at its limits, in-process with the services replaced by a
stub: CORS for the configured origins only (a preflight answered without a token, and
without reading or forwarding anything); 413 naming the limit for every body too large,
sized or chunked, JSON, workbook or form, and for a request too large as a message; every
field of a result in the answer; /docs/try served from local files under a policy that
allows no remote script."""

from __future__ import annotations

import io
import json
import re

import pytest
from werkzeug.test import Client

from services.gateway import cors, docs_page, spreadsheet_routes
from services.gateway.app import Gateway
from services.gateway.limits import Limits
from shared import contracts
from shared.contracts.imports import MAX_ROWS
from shared.platform import auth, config
from shared.platform.rpc_client import RpcClient

SECRET = "cors-secret-" + "x" * 40
TOKEN = auth.issue_token(SECRET, subject="t", department="d", place_code="330000000000",
                         roles=list(auth.ROLES))
BEARER = {"Authorization": f"Bearer {TOKEN}"}
PORTAL = "https://portal.example.gov.cn"
ELSEWHERE = "https://evil.example.com"
XLSX = spreadsheet_routes.XLSX
MESSAGE_BYTES = 20_000


class Stub:
    """The services, answered here; the request's message made and checked as
    shared.platform.rpc_client makes it (its size against JINWEI_MAX_MESSAGE_BYTES)."""

    max_message_bytes = MESSAGE_BYTES

    def __init__(self):
        self.calls = []

    def call(self, service, method, params, *, token=None, call_id=None, timeout=None):
        RpcClient._message(self, service, params)
        self.calls.append((service, method, params))
        if method == "get_organization":  # a result lacking fields (a stored first result)
            return {"id": 7, "name": "梅坞村党支部", "version": 2,
                    "flags": [{"code": "listed"}]}
        return {"id": 1, "version": 4, "items": [], "next_cursor": None}


def _gateway(tmp_path_factory, **env):
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path_factory.mktemp("cors")),
                            "JINWEI_TOKEN_SECRET": SECRET,
                            "JINWEI_MAX_MESSAGE_BYTES": str(MESSAGE_BYTES), **env})
    stub = Stub()
    gateway = Gateway(settings, rpc=stub)
    # Small limits, so that bodies past them stay small here.
    gateway.limits = Limits(json_bytes=1000, json_depth=8, json_values=200,
                            upload_bytes=2000, query_parameters=20)
    return Client(gateway), stub


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    return _gateway(tmp_path_factory, JINWEI_CORS_ORIGINS=f"{PORTAL}, http://localhost:8000")


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """No origins configured: the default."""
    return _gateway(tmp_path_factory)


def preflight(client, path, origin=PORTAL, method="POST", **headers):
    return client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        **headers})


def cors_headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control")}


# -- CORS ----------------------------------------------------------------------------------
def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token(gateway):
    client, stub = gateway
    before = len(stub.calls)
    response = preflight(client, "/v1/organizations/register_organization")
    assert response.status_code == 204 and response.data == b""
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL  # never *
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    allowed = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed >= {"Authorization", "Content-Type", "Idempotency-Key", "If-Match",
                       "X-Request-Id"}
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"]
    assert response.headers["Allow"] == "POST"
    assert "Access-Control-Allow-Credentials" not in response.headers  # no cookies used
    assert "WWW-Authenticate" not in response.headers
    query = preflight(client, "/v1/organizations/list_children", method="GET")
    assert query.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    other = preflight(client, "/v1/organizations/list_children", origin="http://localhost:8000",
                      method="GET")
    assert other.headers["Access-Control-Allow-Origin"] == "http://localhost:8000"
    assert len(stub.calls) == before  # nothing forwarded


def test_a_preflight_reads_and_does_nothing_else(gateway):
    client, stub = gateway
    before = len(stub.calls)
    # A body (a preflight has none) is not read; an unknown path is a 404 and no more.
    response = client.options("/v1/organizations/register_organization", headers={
        "Origin": PORTAL, "Access-Control-Request-Method": "POST",
        "Content-Type": "application/json"}, data=b'{"name": "x"}')
    assert response.status_code == 204
    missing = preflight(client, "/v1/nosuch/thing")
    assert missing.status_code == 404 and "Access-Control-Allow-Methods" not in missing.headers
    assert len(stub.calls) == before


def test_another_origin_gets_no_cors_headers(gateway):
    client, stub = gateway
    for origin in (ELSEWHERE, "null", "https://portal.example.gov.cn.evil.example.com",
                   "http://portal.example.gov.cn", PORTAL + ":8443"):
        response = preflight(client, "/v1/organizations/register_organization", origin=origin)
        assert response.status_code == 204 and response.headers["Allow"] == "POST"
        assert cors_headers(response) == {}, origin
        assert "Origin" in response.headers["Vary"]
        answer = client.get("/v1/organizations/list_children?code=330000000000",
                            headers={**BEARER, "Origin": origin})
        assert answer.status_code == 200 and cors_headers(answer) == {}, origin


def test_an_allowed_page_may_read_answers_and_their_headers(gateway):
    client, _ = gateway
    response = client.post("/v1/organizations/register_organization", headers={
        **BEARER, "Origin": PORTAL, "Idempotency-Key": "key-12345678"}, json={
        "name": "梅坞村党支部", "kind": "631", "sector": "rural_village",
        "place_code": "331123102201", "full_members": 6, "founded_on": "2022-03-01"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed >= {"ETag", "Idempotency-Key", "X-Request-Id", "Location", "Link"}
    assert "Origin" in response.headers["Vary"]
    # An error too, so that the page can read the problem (here: no token).
    refused = client.get("/v1/organizations/list_children?code=330000000000",
                         headers={"Origin": PORTAL})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "WWW-Authenticate" in refused.headers["Access-Control-Expose-Headers"]


def test_without_configured_origins_there_are_no_cors_headers(plain):
    client, _ = plain
    response = preflight(client, "/v1/organizations/register_organization")
    assert (response.status_code, response.headers["Allow"]) == (204, "POST")
    assert cors_headers(response) == {} and "Vary" not in response.headers
    answer = client.get("/v1/organizations/list_children?code=330000000000",
                        headers={**BEARER, "Origin": PORTAL})
    assert cors_headers(answer) == {} and "Vary" not in answer.headers


def test_origins_are_configured_exactly(tmp_path_factory):
    assert config.load({"JINWEI_CORS_ORIGINS": " https://a.example.cn , http://b:81,"}
                       ).cors_origins == ("https://a.example.cn", "http://b:81")
    assert config.load({}).cors_origins == ()
    # Written as a browser writes an origin: lower case, no slash, no default port.
    assert cors.parse_origins(["HTTPS://A.Example.cn/", "http://b:80", "https://c:443"]) == {
        "https://a.example.cn", "http://b", "https://c"}
    for bad in ("*", "null", "https://a.example.cn/path", "a.example.cn", "ftp://a.example.cn",
                "https://a.example.cn:123456"):
        with pytest.raises(ValueError, match="JINWEI_CORS_ORIGINS"):
            cors.parse_origins([bad])
    with pytest.raises(ValueError, match="JINWEI_CORS_ORIGINS"):  # the gateway does not start
        _gateway(tmp_path_factory, JINWEI_CORS_ORIGINS="*")


# -- 413 for every body too large ------------------------------------------------------------
def _problem(response, setting: str):
    assert response.status_code == 413, response.get_data(as_text=True)
    body = response.json
    assert response.mimetype == "application/problem+json"
    assert (body["code"], body["type"]) == ("too_large", "/problems/too_large")
    assert setting in body["detail"]
    return body


def test_a_json_body_past_its_limit_is_413_sized_or_chunked(gateway):
    client, stub = gateway
    before = len(stub.calls)
    path = "/v1/organizations/register_organization"
    big = json.dumps({"name": "长" * 600}, ensure_ascii=False).encode()  # 1800 bytes
    _problem(client.post(path, headers=BEARER, data=big, content_type="application/json"),
             "JINWEI_GATEWAY_MAX_JSON_BYTES")
    # Too large is said first, whatever it is: a sized body past the limit is not read.
    _problem(client.post(path, headers=BEARER, data=big, content_type="text/plain"),
             "JINWEI_GATEWAY_MAX_JSON_BYTES")
    _problem(client.post(path, headers={**BEARER, "Transfer-Encoding": "chunked"},
                         input_stream=io.BytesIO(big), content_type="application/json"),
             "JINWEI_GATEWAY_MAX_JSON_BYTES")
    values = json.dumps({"name": [0] * 300}, separators=(",", ":")).encode()  # 300 values
    _problem(client.post(path, headers=BEARER, data=values, content_type="application/json"),
             "at most 200")
    # Nesting is a rule of shape, not of size: 400, naming it (docs/gateway.md).
    deep = client.post(path, headers=BEARER, data=b'{"name": ' + b"[" * 20 + b"]" * 20 + b"}",
                       content_type="application/json")
    assert deep.status_code == 400 and "nested" in deep.json["detail"]
    assert len(stub.calls) == before


def test_a_workbook_past_its_limit_is_413_however_it_is_sent(gateway):
    client, stub = gateway
    before = len(stub.calls)
    path = "/v1/imports/organizations?dry_run=true"
    data = b"PK" + b"x" * 3000
    _problem(client.post(path, headers=BEARER, data=data, content_type=XLSX),
             "JINWEI_GATEWAY_MAX_UPLOAD_BYTES")
    _problem(client.post(path, headers={**BEARER, "Transfer-Encoding": "chunked"},
                         input_stream=io.BytesIO(data), content_type=XLSX),
             "JINWEI_GATEWAY_MAX_UPLOAD_BYTES")
    # As a form: the file past the limit, or the form's other fields past theirs.
    body = _problem(client.post(path, headers=BEARER,
                                data={"file": (io.BytesIO(data), "党组织.xlsx")}),
                    "JINWEI_GATEWAY_MAX_UPLOAD_BYTES")
    assert list(body["details"]) == ["file"]
    _problem(client.post(path, headers=BEARER, data={
        "file": (io.BytesIO(b"PK"), "a.xlsx"), "note": "x" * 1990}),
        "JINWEI_GATEWAY_MAX_UPLOAD_BYTES")
    assert len(stub.calls) == before


def test_a_workbook_never_has_more_rows_than_an_import_takes(monkeypatch):
    monkeypatch.setenv("JINWEI_SHEET_MAX_ROWS", str(MAX_ROWS * 3))
    assert spreadsheet_routes.sheet_limits().rows == MAX_ROWS  # past it: 413, not a 400
    monkeypatch.setenv("JINWEI_SHEET_MAX_ROWS", "50")
    assert spreadsheet_routes.sheet_limits().rows == 50


def test_a_request_too_large_as_a_message_is_413_not_the_services_400(gateway):
    """Under the body's limit, but the message to the service escapes every Chinese
    character as \\uXXXX (6 bytes, 3 in the body): the service would refuse it unread."""
    client, stub = gateway
    client.application.limits = Limits(json_bytes=100_000)
    try:
        rows = [{"row": n + 2, "values": {"name": "梅坞村党支部" * 50}} for n in range(12)]
        body = json.dumps({"kind": "organizations", "rows": rows}, ensure_ascii=False).encode()
        assert len(body) < MESSAGE_BYTES < 2 * len(body)
        before = len(stub.calls)
        problem = _problem(client.post("/v1/organizations/start_import", headers=BEARER,
                                       data=body, content_type="application/json"),
                           "JINWEI_MAX_MESSAGE_BYTES")
        assert str(MESSAGE_BYTES) in problem["detail"] and len(stub.calls) == before
        small = json.dumps({"kind": "organizations", "rows": rows[:2]}).encode()
        assert client.post("/v1/organizations/start_import", headers=BEARER, data=small,
                           content_type="application/json").status_code == 200
    finally:
        client.application.limits = Limits(json_bytes=1000, json_depth=8, json_values=200,
                                           upload_bytes=2000, query_parameters=20)


# -- results: every field --------------------------------------------------------------------
def test_every_field_of_a_result_is_in_the_answer(gateway):
    client, _ = gateway
    response = client.get("/v1/organizations/get_organization?organization_id=7",
                          headers=BEARER)
    assert response.status_code == 200
    result, schema = response.json, contracts.RPC[("organizations", "get_organization")].result
    assert set(result) == set(schema.dump_fields)
    assert (result["id"], result["name"], result["kind"]) == (7, "梅坞村党支部", None)
    flag_fields = schema.dump_fields["flags"].inner.schema.dump_fields
    assert set(result["flags"][0]) == set(flag_fields) and result["flags"][0]["code"] == "listed"


# -- /docs and /docs/try ---------------------------------------------------------------------
def test_the_try_page_loads_only_the_gateways_own_files(gateway):
    client, _ = gateway
    page = client.get("/docs/try")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "http" not in policy and "*" not in policy and "unsafe-eval" not in policy
    html = page.get_data(as_text=True)
    assert "在线调试" in html and "Authorize" in html and "令牌" in html
    sources = re.findall(r'(?:src|href)=([^\s>]+)', html)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources)
    assert "<script>" not in html  # no inline script: script-src 'self' alone runs it
    for source in sources:
        if source.startswith("/docs/assets/"):
            asset = client.get(source)
            assert asset.status_code == 200 and asset.data, source
            assert asset.headers["X-Content-Type-Options"] == "nosniff"
    script = client.get("/docs/assets/try-it.js").get_data(as_text=True)
    assert '"/openapi.json"' in script and "validatorUrl: null" in script
    assert "persistAuthorization: false" in script
    assert client.get("/docs/assets/swagger-ui-bundle.js").mimetype == "text/javascript"
    for name in ("index.html", "swagger-ui-bundle.js.map", "..%2Fopenapi.json", "nosuch.js"):
        assert client.get(f"/docs/assets/{name}").status_code == 404, name


def test_the_readable_page_runs_no_script_and_points_to_the_try_page(gateway):
    client, _ = gateway
    page = client.get("/docs")
    assert page.status_code == 200
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "<script" not in html and "href=/docs/try" in html and "晋位" in html
    assert "参数" in html or "字段" in html
    assert docs_page.READ_POLICY == page.headers["Content-Security-Policy"]
