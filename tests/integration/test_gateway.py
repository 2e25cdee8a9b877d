"""The HTTP gateway under a real gunicorn, in front of real services on the real broker
and databases: the same rules, errors and jurisdiction as RPC; problem+json; request ids
and versions from headers; pages by Link; 503 in time when a service is away."""

import time
import uuid

import pytest

from shared.platform.containers import service_class
from shared.platform.migrate import migrate
from tests.support import (
    SUICHANG,
    XIHU,
    Gateway,
    Running,
    eventually,
    rpc,
    sample_places,
    services_running,
    token,
)

RPC_TIMEOUT = 2


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret, tmp_path_factory):
    with services_running(databases, base_settings, "gw", "organizations") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG))
        with Gateway(running.settings, tmp_path_factory.mktemp("gateway"),
                     rpc_timeout=RPC_TIMEOUT) as gateway:
            running.gateway = gateway
            yield running


@pytest.fixture(scope="module")
def gw(stack):
    return stack.gateway


@pytest.fixture(scope="module")
def province(token_secret):
    return token(token_secret)


def township(gw, province, index=0):
    status, _, body = gw.get(f"/v1/organizations/list_children?place_code={SUICHANG}", token=province)
    assert status == 200
    return body["items"][index]["code"]


def organization(name=None, place=None, **extra):
    return {"name": name or f"党支部{uuid.uuid4().hex[:6]}", "kind": "631",
            "sector": "rural_village", "place_code": place, "full_members": 5,
            "founded_on": "2020-05-01", **extra}


def test_health_documents_and_metrics(gw):
    assert gw.get("/health/live")[0] == 200
    status, _, body = gw.get("/health/ready")
    assert (status, body["checks"]) == (200, {"broker": "ok"})
    status, headers, spec = gw.get("/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    assert "/v1/organizations/register_organization" in spec["paths"]
    assert "post" in spec["paths"]["/v1/organizations/register_organization"]
    assert "get" in spec["paths"]["/v1/evaluation/moving_up_report"]
    status, headers, page = gw.get("/docs")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "/v1/cadres/reserve_roster" in page.decode() and "党组织" in page.decode()
    gw.get("/v1/organizations/list_children?place_code=330000000000")
    status, _, text = gw.get("/metrics")
    assert status == 200
    assert 'jinwei_entrypoint_calls_total{entrypoint="organizations.list_children",' \
           'kind="http",outcome="unauthenticated",service="gateway"}' in text.decode()


def test_queries_commands_and_their_errors(gw, province, token_secret, stack):
    place = township(gw, province)
    status, headers, created = gw.post("/v1/organizations/register_organization",
                                       organization(place=place), token=province)
    assert status == 200 and created["place_code"] == place
    assert headers["ETag"] == f'"{created["version"]}"'
    status, _, got = gw.get(f"/v1/organizations/get_organization?organization_id={created['id']}",
                            token=province)
    assert (status, got["name"]) == (200, created["name"])

    # 400: per-field messages, checked before any service is asked; nothing written.
    status, headers, problem = gw.post("/v1/organizations/register_organization",
                                       organization(place=place, kind="999", full_members=-1),
                                       token=province)
    assert status == 400 and headers["Content-Type"].startswith("application/problem+json")
    assert problem["code"] == "validation_error" and problem["type"] == "/problems/validation_error"
    assert set(problem["errors"]) == {"kind", "full_members"}
    assert gw.get("/v1/organizations/get_organization?organization_id=abc",
                  token=province)[2]["errors"] == {"organization_id": ["Not a valid integer."]}
    assert gw.post("/v1/organizations/register_organization", token=province,
                   data=b"{not json", headers={"Content-Type": "application/json"})[0] == 400
    # 401, 403, 404, 405 — and a foreign county's token sees nothing of Suichang.
    assert gw.get(f"/v1/organizations/get_organization?organization_id={created['id']}")[2][
        "code"] == "unauthenticated"
    assert gw.get("/v1/organizations/get_organization?organization_id=1",
                  token="not-a-token")[0] == 401
    xihu = token(token_secret, place=XIHU)
    status, _, problem = gw.get(
        f"/v1/organizations/get_organization?organization_id={created['id']}", token=xihu)
    # another county's record is "not there" to it, as an id that does not exist
    assert (status, problem["code"]) == (404, "not_found")
    assert gw.post("/v1/organizations/register_organization", organization(place=place),
                   token=xihu)[0] == 403
    assert gw.get("/v1/organizations/get_organization?organization_id=999999",
                  token=province)[0] == 404
    assert gw.get("/v1/organizations/no_such_method", token=province)[0] == 404
    status, headers, _ = gw.get("/v1/organizations/register_organization", token=province)
    assert (status, headers["Allow"]) == (405, "POST")


def test_idempotency_key_and_if_match(gw, province, stack):
    place = township(gw, province, 1)
    key = str(uuid.uuid4())
    body = organization(place=place)
    first = gw.post("/v1/organizations/register_organization", body, token=province,
                    headers={"Idempotency-Key": key})
    again = gw.post("/v1/organizations/register_organization", body, token=province,
                    headers={"Idempotency-Key": key})
    assert first[0] == again[0] == 200 and first[2]["id"] == again[2]["id"]
    other = gw.post("/v1/organizations/register_organization", organization(place=place),
                    token=province, headers={"Idempotency-Key": key})
    assert (other[0], other[2]["code"]) == (409, "conflict")
    # another method of the same service: a conflict too, and nothing changed
    elsewhere = gw.post("/v1/organizations/update_organization",
                        {"organization_id": first[2]["id"], "full_members": 7}, token=province,
                        headers={"Idempotency-Key": key, "If-Match": headers_etag(first)})
    assert (elsewhere[0], elsewhere[2]["code"]) == (409, "conflict")
    assert "already used" in elsewhere[2]["detail"]

    org = first[2]
    change = {"organization_id": org["id"], "full_members": 6}
    stale = gw.post("/v1/organizations/update_organization", change, token=province,
                    headers={"If-Match": f'"{org["version"] + 5}"'})
    assert stale[0] == 409
    status, headers, updated = gw.post("/v1/organizations/update_organization", change,
                                       token=province, headers={"If-Match": headers_etag(first)})
    assert (status, updated["full_members"]) == (200, 6)
    assert headers["ETag"] == f'"{updated["version"]}"' != headers_etag(first)
    assert gw.post("/v1/organizations/update_organization", change, token=province,
                   headers={"If-Match": "soon"})[2]["errors"] == {"If-Match": ["not a version"]}


def headers_etag(response):
    return response[1]["ETag"]


def test_pages_follow_the_link_header(gw, province):
    place = township(gw, province, 2)
    made = {gw.post("/v1/organizations/register_organization", organization(place=place),
                    token=province)[2]["id"] for _ in range(5)}
    seen, path, pages = [], f"/v1/organizations/list_organizations?place_code={place}&limit=2", 0
    while path:
        status, headers, page = gw.get(path, token=province)
        assert status == 200
        seen += [item["id"] for item in page["items"]]
        link = headers.get("Link")
        path = link[1:link.index(">")] if link else None
        pages += 1
    assert sorted(seen) == sorted(made) and pages == 3


def test_a_stopped_service_is_503_in_time_then_200_again(stack, databases, gw, province):
    """resources runs on its own here, so it can be stopped and started again."""
    url = databases.create("gw_resources")
    migrate("resources", url)
    settings = stack.settings.with_overrides(database_urls={**stack.urls, "resources": url})
    path = "/v1/resources/funding_report?place_code=" + SUICHANG + "&year=2026"
    with Running(settings, service_class("resources")):
        # resources came after the places were imported: organizations tells it again.
        assert gw.post("/v1/organizations/publish_snapshot", {"place_code": SUICHANG},
                       token=province)[0] == 200
        assert eventually(lambda: gw.get(path, token=province)[0] == 200)
    # Stopped: the request waits in the queue until the timeout, never longer.
    started = time.monotonic()
    status, _, problem = gw.get(path, token=province)
    waited = time.monotonic() - started
    assert (status, problem["code"]) == (503, "service_unavailable")
    assert RPC_TIMEOUT - 0.5 < waited < RPC_TIMEOUT + 3
    village = gw.get("/v1/organizations/list_children?place_code=" + township(gw, province, 3),
                     token=province)[2]["items"][0]["code"]
    venue = {"place_code": village, "name": "村党群服务中心", "area": "200",
             "functions": ["party_activities"]}
    key = str(uuid.uuid4())
    assert gw.post("/v1/resources/register_venue", venue, token=province,
                   headers={"Idempotency-Key": key})[0] == 503
    time.sleep(0.5)  # the expired request is gone from the queue, not run later
    with Running(settings, service_class("resources")):
        status = eventually(lambda: gw.get(path, token=province)[0] == 200 or None)
        assert status
        listed = gw.get(f"/v1/resources/venue_report?place_code={SUICHANG}", token=province)[2]
        assert listed["total"]["venues"] == 0  # the timed-out registration did not run later
        assert gw.post("/v1/resources/register_venue", venue, token=province,
                       headers={"Idempotency-Key": key})[0] == 200


def test_a_10000_row_spreadsheet_import_over_http(gw, province, stack):
    """The workbook staff upload: the dry run lists the planted bad rows by their row
    number while progress shows; the real import of the same file writes nothing; the
    template and an export come back as workbooks."""
    import io

    import openpyxl
    import psycopg2

    from services.gateway import spreadsheets

    villages = [v["code"] for t in gw.get(f"/v1/organizations/list_children?place_code={SUICHANG}",
                                          token=province)[2]["items"][:6]
                for v in gw.get(f"/v1/organizations/list_children?place_code={t['code']}",
                                token=province)[2]["items"]]
    rows = [{"name": f"导入党支部{n}", "kind": "631", "sector": "rural_village",
             "place_code": villages[n % len(villages)], "full_members": 3 + n % 4,
             "founded_on": "2019-07-01"} for n in range(10_000)]
    planted = {17: {"kind": "999"}, 2_500: {"place_code": "331123999999"}, 6_001: {"full_members": -3},
               9_998: {"founded_on": "2999-01-01"}}
    for index, change in planted.items():
        rows[index].update(change)
    workbook = spreadsheets.write_rows("organizations", rows)

    def organizations_in_db():
        conn = psycopg2.connect(stack.urls["organizations"])
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM organizations")
                return cur.fetchone()[0]
        finally:
            conn.close()

    before = organizations_in_db()
    for dry_run in (True, False):
        status, headers, job = gw.request(
            "POST", f"/v1/imports/organizations?dry_run={str(dry_run).lower()}",
            token=province, data=workbook, headers={"Content-Type": "application/octet-stream"})
        assert status == 202 and headers["Location"] == f"/v1/imports/organizations/{job['id']}"
        progress = []
        while job["status"] == "running":
            time.sleep(0.2)
            job = gw.get(headers["Location"], token=province)[2]
            progress.append(job["processed"])
        assert job["status"] == "invalid" and job["applied"] == 0
        # Rows are numbered as in the sheet: the headings are row 1, rows[0] is row 2.
        assert {e["row"]: set(e["fields"]) for e in job["errors"]} == {
            17 + 2: {"kind"}, 2_500 + 2: {"place_code"}, 6_001 + 2: {"full_members"},
            9_998 + 2: {"founded_on"}}
        if dry_run:
            assert any(0 < p < 10_000 for p in progress), progress
    assert organizations_in_db() == before  # all or nothing: nothing

    status, headers, template = gw.get("/v1/imports/reserve_cadres/template", token=province)
    assert status == 200 and headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "公民身份号码" in [c.value for c in next(openpyxl.load_workbook(
        io.BytesIO(template)).active.iter_rows())]
    status, headers, ledger = gw.get(f"/v1/exports/ledger?place_code={SUICHANG}",
                                     token=province)
    assert status == 200 and "filename*=UTF-8''" in headers["Content-Disposition"]
    assert openpyxl.load_workbook(io.BytesIO(ledger)).sheetnames
    assert gw.get("/v1/exports/ledger", token=province)[2]["errors"] == {
        "place_code": ["Missing data for required field."]}
    assert gw.get("/v1/exports/nothing", token=province)[0] == 404
    assert gw.request("POST", "/v1/imports/organizations", token=province,
                      data=b"not a workbook")[2]["code"] == "validation_error"
    assert gw.get("/v1/notices/999999", token=province)[0] == 404


def test_headers_query_strings_and_personal_data(gw, province, stack):
    place = township(gw, province, 4)
    created = gw.post("/v1/organizations/register_organization", organization(place=place),
                      token=province)[2]
    # If-Match where the operation takes no version: refused, not silently ignored.
    status, _, problem = gw.post("/v1/organizations/record_system", {
        "organization_id": created["id"], "name": "三会一课", "category": "study",
        "established_on": "2023-01-01"}, token=province, headers={"If-Match": '"1"'})
    assert (status, problem["errors"]) == (400, {"If-Match": ["this operation takes no version"]})
    # Only plain digits are integers; a key given twice is refused.
    for query in ("organization_id=1_000", "organization_id=%207%20",
                  "organization_id=1&organization_id=2"):
        assert gw.get(f"/v1/organizations/get_organization?{query}", token=province)[0] == 400
    # Deep nesting is bad input, not a crash.
    assert gw.post("/v1/organizations/register_organization", token=province,
                   data=b"[" * 50_000, headers={"Content-Type": "application/json"})[0] == 400
    # A query with personal data is a POST with a body; in a URL it is refused.
    spec = gw.get("/openapi.json")[2]
    assert set(spec["paths"]["/v1/cadres/find_person"]) == {"post"}
    status, _, problem = gw.post("/v1/cadres/find_person?identity_number=11010519491231002X",
                                 {}, token=province)
    assert (status, set(problem["errors"])) == (400, {"identity_number"})
    # dry_run is true or false, never a guess.
    status, _, problem = gw.request("POST", "/v1/imports/organizations?dry_run=on",
                                    token=province, data=b"x")
    assert (status, problem["errors"]) == (400, {"dry_run": ["not true or false"]})
    assert gw.request("POST", "/v1/imports/organizations", data=b"x")[0] == 401
