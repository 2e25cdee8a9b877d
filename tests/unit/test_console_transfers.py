"""The console's 导入导出 pages in-process, against the fake services of
test_console_grading (tokens verified, roles required, parameters loaded by the
contract) with imports and reports added: every import kind has its template and an
upload form; an upload without the CSRF token in its URL is refused before a byte of
the body is read; one past the gateway's upload limit is a 413, whether its size was
announced or not; a good one starts the import as /v1 does and leads to the job's page
(progress, a refresh while it runs, errors by row under their Chinese headings); an
export is the same workbook /v1 gives."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from html import unescape

import pytest
from werkzeug.test import Client

from services.gateway import spreadsheets
from services.gateway.app import Gateway
from services.gateway.console import security
from shared.platform import auth, config
from tests.unit.test_console_grading import (
    SECRET,
    SUICHANG,
    FakeServices,
    field,
    signed_in_client,
    well_formed,
)

ROLES = ("console.user", "organizations.read", "organizations.write", "evaluation.read",
         "resources.read")
JOB = str(uuid.UUID(int=7))
ORGANIZATION = {"name": "华浦村党支部", "kind": "631", "sector": "rural_village",
                "place_code": "331123100201", "full_members": 5, "founded_on": "2020-05-01"}


class FakeTransfers(FakeServices):
    """…with organizations.start_import/get_import and two reports."""

    def __init__(self):
        super().__init__(roles=ROLES, place=SUICHANG)
        self.jobs: dict[str, dict] = {}

    def organizations_start_import(self, principal, params):
        job = {"id": JOB, "kind": params["kind"], "kind_label": "党组织", "status": "running",
               "status_label": "进行中", "dry_run": params["dry_run"],
               "total": len(params["rows"]), "processed": 0, "applied": 0, "errors": [],
               "errors_total": 0, "started_at": "2026-03-01T08:00:00+08:00",
               "finished_at": None}
        self.jobs[JOB] = job
        self.applied.append(("start_import", params))
        return job

    def organizations_get_import(self, principal, params):
        return self.jobs[str(params["job_id"])]

    def evaluation_moving_up_report(self, principal, params):
        principal.require_place(params["place_code"])
        rows = [{"baseline_grade": "poor", "baseline_grade_label": "较差", "organizations": 4,
                 "moved_up": 3, "rate": "0.7500", "target": "0.7000", "met": True}]
        return {"place_code": params["place_code"], "place_name": "遂昌县",
                "as_of": "2026-03-01", "rules": {},
                "total": {"place_code": params["place_code"], "place_name": "遂昌县",
                          "graded": 4, "rows": rows},
                "by_child_place": []}

    def resources_funding_report(self, principal, params):
        row = {"place_code": params["place_code"], "place_name": "遂昌县", "budget": "100.00",
               "allocated": "80.00", "disbursed": "60.00", "undisbursed": "20.00",
               "income": "5.00"}
        return {"place_code": params["place_code"], "year": params["year"],
                "kind": params.get("kind"), "total": row, "own": None, "by_child_place": []}


@pytest.fixture
def services():
    return FakeTransfers()


@pytest.fixture
def client(services, tmp_path):
    return signed_in_client(services, tmp_path)


def upload_form(html: str, kind: str = "organizations") -> tuple[str, dict]:
    """The upload form's action and its fields (the file aside)."""
    start = html.index(f'<section id="import-{kind}"')
    body = html[start:html.index("</section>", start)]
    found = re.search(r'enctype="multipart/form-data" action="([^"]+)"', body)
    assert found, body
    action = unescape(found.group(1))
    return action, {"request_id": field(body, "request_id"), "dry_run": "true"}


def workbook(rows=(ORGANIZATION,)) -> bytes:
    return spreadsheets.write_rows("organizations", list(rows))


class Untouchable(io.RawIOBase):
    """A request body that notes whether anyone read it."""

    def __init__(self, size: int):
        self.size, self.position, self.read_at_all = size, 0, False

    def readable(self):
        return True

    def seekable(self):  # (the test client measures it)
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=0):
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position

    def readinto(self, buffer):
        self.read_at_all = True
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b"x" * n
        self.position += n
        return n


def same_workbook(first: bytes, second: bytes) -> bool:
    """Equal but for the moment of writing (docProps/core.xml holds it)."""
    def parts(data):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {name: archive.read(name) for name in archive.namelist()
                    if name != "docProps/core.xml"}
    return parts(first) == parts(second)


def test_every_import_kind_has_a_template_and_an_upload_form(client):
    response = client.get("/console/transfers")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<script" not in html
    well_formed(html)
    csrf = field(html, "csrf")
    for kind, (_, title) in spreadsheets.IMPORTS.items():
        assert f'href="/console/transfers/imports/{kind}/template"' in html
        assert f"下载“{title}”导入模板" in html
    action, fields = upload_form(html)
    assert action == f"/console/transfers/imports/organizations?csrf={csrf}"
    assert '<input id="file-organizations" name="file" type="file"' in html
    assert '<label for="file-organizations">' in html
    assert '<input type="checkbox" name="dry_run" value="true" checked> 试导入（只检查不写入）' in html
    # the kinds whose write role the member lacks: the template only
    assert "您的账号没有“非公企业党建信息维护”权限，只能下载模板" in html
    # every export with its parameters as a small form
    for report in spreadsheets.EXPORTS:
        assert f'action="/console/transfers/exports/{report}"' in html or (
            f'id="export-{report}"' in html and "权限" in html)
    assert '<label for="x-funding-year">年度</label>' in html
    assert f'id="x-moving_up-place_code" name="place_code" type="text" value="{SUICHANG}"' in html


def test_the_template_is_the_one_v1_gives(client, tmp_path):
    console = client.get("/console/transfers/imports/organizations/template")
    api = client.get("/v1/imports/organizations/template")
    assert console.status_code == api.status_code == 200
    assert console.headers["Content-Disposition"] == api.headers["Content-Disposition"]
    assert same_workbook(console.get_data(), api.get_data())
    assert client.get("/console/transfers/imports/members/template").status_code == 404


def test_an_upload_without_the_csrf_token_is_refused_before_its_body_is_read(client,
                                                                              services):
    html = client.get("/console/transfers").get_data(as_text=True)
    action, _ = upload_form(html)
    for path in ("/console/transfers/imports/organizations",
                 "/console/transfers/imports/organizations?csrf=forged",
                 "/console/transfers/imports/organizations?csrf="
                 + security.session_csrf(SECRET, "another-session")):
        body = Untouchable(50_000)
        response = client.post(path, input_stream=body,
                               content_type="multipart/form-data; boundary=x")
        assert response.status_code == 403, path
        assert "安全校验" in response.get_data(as_text=True)
        assert not body.read_at_all
    assert services.applied == []


def test_an_upload_past_the_limit_is_refused_with_413(services, tmp_path, monkeypatch):
    monkeypatch.setenv("JINWEI_GATEWAY_MAX_UPLOAD_BYTES", "4096")
    client = signed_in_client(services, tmp_path)
    action, fields = upload_form(client.get("/console/transfers").get_data(as_text=True))
    big = workbook([dict(ORGANIZATION, name=f"第{n}党支部") for n in range(200)])
    assert len(big) > 4096
    response = client.post(action, data={**fields, "file": (io.BytesIO(big), "党组织.xlsx")})
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "文件太大：不能超过 4 KB" in html
    assert 'aria-describedby="file-organizations-error"' in html
    # its size not announced (chunked): the read stops at the limit all the same
    body = Untouchable(10 * 4096)
    response = client.post(action, input_stream=body,
                           content_type="multipart/form-data; boundary=x",
                           environ_overrides={"wsgi.input_terminated": True,
                                              "CONTENT_LENGTH": ""})
    assert response.status_code == 413
    assert body.read_at_all and body.position <= 4096 + 64 * 1024  # not read to its end
    assert services.applied == []


def test_an_upload_starts_the_import_as_v1_does_and_leads_to_its_job(client, services):
    action, fields = upload_form(client.get("/console/transfers").get_data(as_text=True))
    response = client.post(action, data={**fields, "file": (io.BytesIO(workbook()),
                                                            "党组织.xlsx")})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert response.headers["Location"] == f"/console/transfers/jobs/organizations/{JOB}"
    [(method, params)] = services.applied
    assert method == "start_import" and params["dry_run"] is True
    assert params["request_id"] == fields["request_id"]  # a double submit is one job
    assert params["rows"] == [{"row": 2, "values": {**ORGANIZATION, "founded_on": params[
        "rows"][0]["values"]["founded_on"]}}]
    # the member's own token: the fake verified it, and the rows are the parser's
    assert str(params["rows"][0]["values"]["founded_on"]) == "2020-05-01"

    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="2">' in html
    assert '<progress id="progress" max="1" value="0">' in html
    assert '<label for="progress">已检查 0 / 1 行</label>' in html

    services.jobs[JOB].update(status="invalid", status_label="有错误未导入", processed=1,
                              errors_total=2, finished_at="2026-03-01T08:00:05+08:00",
                              errors=[{"row": 2, "fields": {
                                  "founded_on": ["Not a valid date."],
                                  "kind": ["a party group is not registered (党小组不登记)"]},
                                  "message": "row 2"}])
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    well_formed(html)
    assert 'http-equiv="refresh"' not in html
    assert '<progress id="progress" max="1" value="1">' in html
    assert "<td>成立日期</td>" in html and "<td>日期格式不对，应为 年-月-日（如 2026-03-01）</td>" in html
    assert "<td>组织类别</td>" in html and "<td>党小组不登记</td>" in html
    assert "有 2 处错误，所有行都没有写入" in html


def test_a_file_that_is_not_a_workbook_is_said_next_to_its_form(client, services):
    action, fields = upload_form(client.get("/console/transfers").get_data(as_text=True))
    response = client.post(action, data={**fields, "file": (io.BytesIO(b"name,kind\n"),
                                                            "党组织.csv")})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "不是有效的 Excel（.xlsx）文件" in html and 'id="file-organizations-error"' in html
    response = client.post(action, data={**fields, "file": (io.BytesIO(b""), "")})  # none chosen
    assert response.status_code == 400 and "请选择要上传的 .xlsx 文件" in response.get_data(
        as_text=True)
    assert services.applied == []


def test_an_export_is_the_workbook_v1_gives(client, services, tmp_path):
    query = f"place_code={SUICHANG}&year=2026"
    console = client.get(f"/console/transfers/exports/funding?{query}&kind=")
    assert console.status_code == 303  # a blank field is left out, not sent
    assert console.headers["Location"] == f"/console/transfers/exports/funding?{query}"
    console = client.get(console.headers["Location"])
    api_token = auth.issue_token(SECRET, subject="clerk", department="组织委员",
                                 place_code=SUICHANG, roles=ROLES, system="test")
    api = Client(client.application).get(f"/v1/exports/funding?{query}",
                                          headers={"Authorization": f"Bearer {api_token}"})
    assert console.status_code == api.status_code == 200
    assert console.headers["Content-Disposition"] == api.headers["Content-Disposition"]
    assert same_workbook(console.get_data(), api.get_data())
    # asked as the member: their token, their role
    assert [p for _, m, p in services.calls if m == "funding_report"][0]["year"] == 2026


def test_an_exports_bad_parameter_is_said_next_to_its_field(client):
    response = client.get("/console/transfers/exports/funding?place_code=331123000000&year=2x")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    well_formed(html)
    assert 'id="x-funding-year-error">请填写 2000–2100 之间的年份<' in html
    assert 'value="2x"' in html


def test_the_job_page_of_another_kind_or_no_job_is_no_page(client):
    assert client.get(f"/console/transfers/jobs/members/{JOB}").status_code == 404
    assert client.get("/console/transfers/jobs/organizations/not-a-job").status_code == 404


def test_the_gateway_has_no_gradings_import_yet(client):
    # issue 20 adds one; until then the grading pages say so (and link it once it exists)
    assert "gradings" not in spreadsheets.IMPORTS
    assert 'id="import-gradings"' not in client.get("/console/transfers").get_data(
        as_text=True)


def test_a_gateway_settings_limit_is_the_consoles(tmp_path, monkeypatch):
    monkeypatch.setenv("JINWEI_GATEWAY_MAX_UPLOAD_BYTES", str(3 * 1024 * 1024))
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path), "JINWEI_TOKEN_SECRET": SECRET})
    gateway = Gateway(settings, rpc=FakeTransfers())
    assert gateway.limits.upload_bytes == 3 * 1024 * 1024
    client = signed_in_client(FakeTransfers(), tmp_path)
    assert "不超过 3 MB" in client.get("/console/transfers").get_data(as_text=True)
