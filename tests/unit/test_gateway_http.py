"""The gateway answers as its OpenAPI document says, in-process with the services replaced
by a stub: Allow lists a path's documented methods, OPTIONS and HEAD are answered, the
request id and the version travel in headers only."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from services.gateway.app import Gateway
from shared.platform import auth, config

SECRET = "http-secret-" + "x" * 40
TOKEN = auth.issue_token(SECRET, subject="t", department="d", place_code="330000000000",
                         roles=list(auth.ROLES))
BEARER = {"Authorization": f"Bearer {TOKEN}"}


class Stub:
    def __init__(self):
        self.calls = []

    def call(self, service, method, params, *, token=None, call_id=None, timeout=None):
        self.calls.append((service, method, params))
        return {"id": 1, "version": 4, "items": [], "next_cursor": None}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path_factory.mktemp("http")),
                            "JINWEI_TOKEN_SECRET": SECRET})
    stub = Stub()
    return Client(Gateway(settings, rpc=stub)), stub


def test_allow_lists_the_documented_methods(gateway):
    client, _ = gateway
    paths = client.get("/openapi.json").json["paths"]
    for path, documented, method in (
            ("/v1/organizations/register_organization", None, "PUT"),
            ("/v1/organizations/register_organization", None, "GET"),
            ("/v1/organizations/list_children", None, "POST"),
            ("/v1/exports/ledger", None, "POST"), ("/v1/exports/ledger", None, "TRACE"),
            ("/v1/imports/organizations", "/v1/imports/{kind}", "GET"),
            ("/v1/imports/organizations/template", "/v1/imports/{kind}/template", "DELETE")):
        response = client.open(path, method=method, headers=BEARER)
        assert response.status_code == 405, (path, method)
        assert response.headers["Allow"] == ", ".join(
            sorted(m.upper() for m in paths[documented or path])), (path, method)


def test_options_answers_the_allowed_methods_without_a_token(gateway):
    client, stub = gateway
    before = len(stub.calls)
    response = client.options("/v1/organizations/register_organization")
    assert (response.status_code, response.headers["Allow"]) == (204, "POST")
    assert client.options("/v1/exports/ledger").headers["Allow"] == "GET"
    assert client.options("/v1/nosuch/thing").status_code == 404
    assert client.options("/v1/exports/nosuch").status_code == 404
    assert len(stub.calls) == before  # nothing was called


def test_head_is_a_get_without_the_body(gateway):
    client, _ = gateway
    response = client.head("/v1/organizations/list_children?place_code=330000000000", headers=BEARER)
    assert (response.status_code, response.data) == (200, b"")
    assert client.head("/v1/organizations/register_organization",
                       headers=BEARER).status_code == 405


def test_the_request_id_and_the_version_are_headers(gateway):
    client, stub = gateway
    change = {"organization_id": 1, "full_members": 6}
    response = client.post("/v1/organizations/update_organization", headers={
        **BEARER, "If-Match": 'W/"3"', "Idempotency-Key": "key-12345678"}, json=change)
    assert response.status_code == 200
    assert stub.calls[-1][2]["version"] == 3
    assert stub.calls[-1][2]["request_id"] == "key-12345678"
    # In the body: refused, whatever the headers say, so the two can never disagree.
    for extra in ({"version": 3}, {"request_id": "key-12345678"}):
        response = client.post("/v1/organizations/update_organization",
                               headers={**BEARER, "If-Match": '"3"'}, json={**change, **extra})
        assert response.status_code == 400 and set(response.json["errors"]) == set(extra)
    # A conditional update without If-Match, or with something else in it.
    for headers in ({}, {"If-Match": "3"}, {"If-Match": '"3", "4"'}, {"If-Match": "*"}):
        response = client.post("/v1/organizations/update_organization",
                               headers={**BEARER, **headers}, json=change)
        assert (response.status_code, list(response.json["errors"])) == (400, ["If-Match"])
    response = client.post("/v1/organizations/register_organization",
                           headers={**BEARER, "Idempotency-Key": "short"}, json={})
    assert (response.status_code, list(response.json["errors"])) == (400, ["Idempotency-Key"])


def test_query_booleans_are_spelled_as_in_json(gateway):
    client, stub = gateway
    ok = client.get("/v1/organizations/ledger?place_code=330000000000&listed=true",
                    headers=BEARER)
    assert ok.status_code == 200 and stub.calls[-1][2]["listed"] is True
    for loose in ("1", "yes", "True", ""):
        response = client.get(f"/v1/organizations/ledger?place_code=330000000000&listed={loose}",
                              headers=BEARER)
        assert (response.status_code, list(response.json["errors"])) == (400, ["listed"]), loose
