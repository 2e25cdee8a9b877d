"""The console's 定级 pages in-process (werkzeug's test client) against a fake of the
services that keeps the contract's promises: every call's token verified and its role
required, parameters loaded by the contract's schema (its ValidationError), a command's
request id remembered (a repeat returns the first answer), grades computed by the
evaluation domain's own rules. The sheet renders a row and labelled inputs per
organization, saves the good rows of a form and shows a bad row's errors next to its
inputs, applies nothing twice, grades complete rows, and corrects a grade.
(tests/integration/test_console_grading.py does the same against the real services.)"""

from __future__ import annotations

import copy
import re
import uuid
from html import unescape

import jwt
import pytest
from werkzeug.test import Client

from services.evaluation import domain
from services.gateway.app import Gateway
from shared import contracts
from shared.contracts.evaluation import INDICATORS
from shared.errors import Forbidden, NotFound, Unauthenticated
from shared.national import regions
from shared.platform import auth, config

SECRET = "console-grading-" + "x" * 40
SUICHANG = "331123000000"
TOWNSHIP = "331123100000"
OTHER_TOWNSHIP = "331123101000"
VILLAGE = "331123100201"
PASSWORD = "correct horse battery"
WRITER = ("console.user", "organizations.read", "evaluation.read", "evaluation.write")


class FakeServices:
    """accounts (sign-in, sessions), organizations (places, a township's organizations)
    and evaluation (rounds, scores, grades), as their contracts say."""

    def __init__(self, roles=WRITER, place=TOWNSHIP):
        self.verifier = auth.TokenVerifier((SECRET,))
        self.roles, self.place = list(roles), place
        self.calls: list[tuple[str, str, dict]] = []
        self.done: dict[str, object] = {}  # request id → the first answer
        self.orgs = {
            101 + n: {"id": 101 + n, "name": f"{name}党支部", "place_code": VILLAGE,
                      "place_name": "华浦村", "kind": "631", "kind_label": "党支部"}
            for n, name in enumerate(["华浦村", "梅坞村", "石练村", "湖山村"])}
        self.orgs[900] = {"id": 900, "name": "别的乡镇党委", "place_code": OTHER_TOWNSHIP,
                          "place_name": "别乡", "kind": "611", "kind_label": "党委"}
        self.rules = domain.Rules().grading()
        self.rounds = {7: {"id": 7, "place_code": SUICHANG, "year": 2026,
                           "name": "2026年度分类定级", "opened_on": "2026-03-01",
                           "rules": self.rules}}
        self.scores: dict[int, dict[str, dict]] = {}
        self.gradings: dict[int, dict] = {}
        self.applied: list[tuple[str, dict]] = []

    # -- the wire ---------------------------------------------------------------------
    def call(self, service, method, params, *, token=None, call_id=None, timeout=None):
        principal = self.verifier.verify(token)
        self.calls.append((service, method, copy.deepcopy(params)))
        contract = contracts.RPC[(service, method)]
        principal.require_role(contract.role)
        loaded = (dict(params) if service == "accounts"  # (the test client has no address)
                  else contracts.load_params(contract, dict(params)))  # as a service would
        if contract.mutating and loaded.get("request_id"):
            key = (principal.subject, method, loaded["request_id"])
            if key in self.done:
                return copy.deepcopy(self.done[key])
        answer = getattr(self, f"{service}_{method}")(principal, loaded)
        if contract.mutating and loaded.get("request_id"):
            self.done[key] = copy.deepcopy(answer)
        return answer

    # -- accounts ---------------------------------------------------------------------
    def accounts_sign_in(self, principal, params):
        if params["password"] != PASSWORD:
            raise Unauthenticated("sign-in refused (用户名或密码错误)")
        token = auth.issue_token(SECRET, subject=params["username"], department="组织委员",
                                 place_code=self.place, system="console", roles=self.roles)
        return {"token": token,
                "token_id": jwt.decode(token, options={"verify_signature": False})["jti"]}

    def accounts_session_valid(self, principal, params):
        return {"valid": True}

    # -- organizations ----------------------------------------------------------------
    def organizations_list_organizations(self, principal, params):
        principal.require_place(params["place_code"])
        found = [o for o in self.orgs.values()
                 if regions.in_subtree(o["place_code"], params["place_code"])]
        return {"items": found, "next_cursor": None}

    def organizations_get_place(self, principal, params):
        principal.require_place(params["place_code"])
        return {"code": params["place_code"], "name": "云峰街道", "level": "township"}

    def organizations_list_children(self, principal, params):
        return {"items": [{"code": TOWNSHIP, "name": "云峰街道", "level": "township"},
                          {"code": OTHER_TOWNSHIP, "name": "别乡", "level": "township"}]}

    def organizations_place_path(self, principal, params):
        return {"items": [{"code": params["place_code"], "name": "遂昌县"}]}

    def organizations_get_organization(self, principal, params):
        org = self.orgs.get(params["organization_id"])
        if org is None or not principal.covers(org["place_code"]):
            raise NotFound("no such organization (党组织不存在)")
        return org

    # -- evaluation -------------------------------------------------------------------
    def evaluation_get_round(self, principal, params):
        round_ = self.rounds.get(params["round_id"])
        if round_ is None:
            raise NotFound("no such round (定级轮次不存在)")
        # as the service: to the places under it (they take part) and those over it
        if not (principal.covers(round_["place_code"])
                or regions.in_subtree(principal.place_code, round_["place_code"])):
            raise NotFound("no such round (定级轮次不存在)")
        return round_

    def evaluation_rounds(self, principal, params):
        principal.require_place(params["place_code"])
        return {"items": [r for r in sorted(self.rounds.values(), key=lambda r: -r["id"])
                          if regions.in_subtree(params["place_code"], r["place_code"])
                          or regions.in_subtree(r["place_code"], params["place_code"])]}

    def evaluation_round_gradings(self, principal, params):
        self.evaluation_get_round(principal, {"round_id": params["round_id"]})
        items = []
        for organization_id in params["organization_ids"]:
            org = self.orgs.get(organization_id)
            if org is not None and principal.covers(org["place_code"]):
                items.append({"organization_id": organization_id,
                              **self._grading(params["round_id"], organization_id)})
        return {"round_id": params["round_id"], "items": items}

    def evaluation_open_round(self, principal, params):
        principal.require_place(params["place_code"])
        round_id = max(self.rounds) + 1
        self.rounds[round_id] = {"id": round_id, "place_code": params["place_code"],
                                 "year": params["year"], "name": params["name"],
                                 "opened_on": "2026-03-02", "rules": self.rules}
        self.applied.append(("open_round", params))
        return self.rounds[round_id]

    def _org(self, principal, organization_id):
        org = self.orgs.get(organization_id)
        if org is None or not principal.covers(org["place_code"]):
            raise NotFound("no such organization (党组织不存在)")
        return org

    def _grading(self, round_id, organization_id):
        graded = self.gradings.get(organization_id, {})
        return {"round_id": round_id, "organization_id": organization_id,
                "scores": copy.deepcopy(self.scores.get(organization_id, {})),
                "score": graded.get("score"), "grade": graded.get("grade"),
                "method": graded.get("method"), "reason": graded.get("reason"),
                "is_baseline": bool(graded), "rules": self.rules}

    def evaluation_get_grading(self, principal, params):
        self._org(principal, params["organization_id"])
        return self._grading(params["round_id"], params["organization_id"])

    def evaluation_record_scores(self, principal, params):
        org = self._org(principal, params["organization_id"])
        if params["assessor"] == "superior":
            principal.require_superior(org["place_code"])
        self.scores.setdefault(org["id"], {})[params["assessor"]] = {
            k: str(v) for k, v in params["scores"].items()}
        self.applied.append(("record_scores", params))
        return self._grading(params["round_id"], org["id"])

    def evaluation_grade_organization(self, principal, params):
        org = self._org(principal, params["organization_id"])
        assigned = domain.computed_grade({"id": params["round_id"], "rules": self.rules}, org,
                                         self.scores.get(org["id"], {}))
        self.gradings[org["id"]] = {"score": str(assigned.score), "grade": assigned.grade,
                                    "method": "computed", "reason": None}
        self.applied.append(("grade_organization", params))
        return self._grading(params["round_id"], org["id"])

    def evaluation_set_grade(self, principal, params):
        org = self._org(principal, params["organization_id"])
        if org["place_code"] == principal.place_code:
            raise Forbidden("only a superior may (须由上级党组织进行)")
        self.gradings[org["id"]] = {"score": None, "grade": params["grade"],
                                    "method": "set", "reason": params["reason"]}
        self.applied.append(("set_grade", params))
        return self._grading(params["round_id"], org["id"])

    def methods(self, *names):
        return [(m, p) for _, m, p in self.calls if not names or m in names]


def signed_in_client(services: FakeServices, tmp_path) -> Client:
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path), "JINWEI_TOKEN_SECRET": SECRET})
    client = Client(Gateway(settings, rpc=services))  # type: ignore[arg-type]
    login = client.get("/console/login").get_data(as_text=True)
    response = client.post("/console/login", data={
        "csrf": field(login, "csrf"), "username": "clerk", "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return client


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}"[^>]*? value="([^"]*)"', html)
    assert match, f"no field {name}"
    return unescape(match.group(1))


def form_of(html: str) -> dict[str, str]:
    """Every input of the page's POST form with its value, as a browser would send it
    (text inputs and hidden fields; a checked checkbox)."""
    start = html.index('<form method="post" action="/console/grading/rounds/')
    body = html[start:html.index("</form>", start)]
    found = {}
    for tag in re.findall(r"<input [^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        found[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    return found


def well_formed(html: str) -> None:
    """No two attributes run together (a template's whitespace control can do that)."""
    run_together = re.search(r'="[^"]*"[a-z]|\b(required|checked|selected)[a-z]', html)
    assert not run_together, html[run_together.start() - 80:run_together.end() + 20]


def scores(value, **changes) -> dict[str, str]:
    return {**{name: str(value) for name in INDICATORS}, **changes}


def fill(form: dict, organization_id: int, values: dict) -> None:
    for name, value in values.items():
        form[f"s-{organization_id}-{name}"] = value


@pytest.fixture
def services():
    return FakeServices()


@pytest.fixture
def client(services, tmp_path):
    return signed_in_client(services, tmp_path)


SHEET = f"/console/grading/rounds/7?township={TOWNSHIP}"


def test_the_sheet_has_a_row_and_labelled_inputs_per_organization(client, services):
    response = client.get(SHEET)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:500]
    well_formed(html)
    assert "<h1>云峰街道 · 上级评定评分表</h1>" in html and "<script" not in html
    assert 'aria-current="page">定级</a>' in html  # the menu marks the section
    for org_id in (101, 102, 103, 104):
        name = services.orgs[org_id]["name"]
        assert f'<tr id="row-{org_id}">' in html
        for code, label in INDICATORS.items():
            input_id = f"s-{org_id}-{code}"
            assert f'<label class="sr-only" for="{input_id}">{name} {label}</label>' in html
            assert f'<input id="{input_id}" name="{input_id}"' in html
        assert f'name="r-{org_id}"' in html and f'name="g-{org_id}"' in html
    # another township's is not on it (its id, not any "900" inside a random request id)
    assert 'id="row-900"' not in html and 'name="s-900-' not in html
    assert services.orgs[900]["name"] not in html
    assert html.count('<th scope="col">') == len(INDICATORS) + 3
    # the organizations' gradings: one question for the whole page
    asked = [p["organization_ids"] for m, p in services.methods("round_gradings")]
    assert asked == [[101, 102, 103, 104]] and not services.methods("get_grading")
    # the township's member reads the county's round it takes part in
    assert services.rounds[7]["name"] in html
    assert "目前还不能通过表格导入定级结果" in html  # the gateway has no gradings import


def test_saving_keeps_the_good_rows_and_says_a_bad_rows_errors_next_to_its_inputs(
        client, services):
    form = form_of(client.get(SHEET).get_data(as_text=True))
    assert form["grade"] == "1"
    fill(form, 101, scores(92))
    fill(form, 102, scores(80, leader="abc", venue=""))  # the third row: two bad cells
    fill(form, 103, scores(65.5))
    response = client.post(SHEET, data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    well_formed(html)
    assert "已保存 2 行" in html and "1 行有错误" in html and 'href="#row-102"' in html
    saved = [p for m, p in services.applied if m == "record_scores"]
    assert [(p["organization_id"], p["request_id"]) for p in saved] == [
        (101, form["r-101"]), (103, form["r-103"])]
    assert str(saved[1]["scores"]["leader"]) == "65.50"
    # the bad row: what was typed kept, each error next to (and named by) its input
    assert re.search(r'id="s-102-leader" name="s-102-leader"[^>]*value="abc" '
                     r'aria-invalid="true" aria-describedby="e-102-leader"', html)
    assert '<p class="field-error" id="e-102-leader">应为 0 到 100 之间的数' in html
    assert '<p class="field-error" id="e-102-venue">请填写</p>' in html
    assert 'id="s-102-ideas" name="s-102-ideas" type="text" inputmode="decimal" size="5" ' \
           'maxlength="8" autocomplete="off" value="80">' in html
    # the good rows: their recorded scores, and a fresh request id for the next save
    assert 'id="s-101-leader" name="s-101-leader" type="text" inputmode="decimal" ' \
           'size="5" maxlength="8" autocomplete="off" value="92">' in html
    assert field(html, "r-101") != form["r-101"] and field(html, "r-102") == form["r-102"]
    assert "已保存</span>" in html
    # an untouched row was neither saved nor said to be in error
    assert 104 not in [p["organization_id"] for p in saved]
    assert 'id="row-104-error"' not in html


def test_a_form_posted_twice_applies_nothing_twice(client, services):
    form = form_of(client.get(SHEET).get_data(as_text=True))
    fill(form, 101, scores(90))
    assert client.post(SHEET, data=form).status_code == 200
    assert client.post(SHEET, data=form).status_code == 200  # the browser's resubmit
    assert [m for m, _ in services.applied] == ["record_scores"]
    # and again from the page it answered: unchanged rows are not sent at all
    again = form_of(client.post(SHEET, data=form).get_data(as_text=True))
    before = len(services.calls)
    html = client.post(SHEET, data=again).get_data(as_text=True)
    assert "没有需要保存的改动" in html
    assert not [m for _, m, _ in services.calls[before:] if m == "record_scores"]


def test_a_row_scored_by_all_three_is_graded_and_its_grade_shown(client, services):
    services.scores[101] = {"self": scores(95), "members_public": scores(90)}
    services.scores[102] = {"self": scores(50), "members_public": scores(50)}
    form = form_of(client.get(SHEET).get_data(as_text=True))
    fill(form, 101, scores(92))
    fill(form, 102, scores(55))
    html = client.post(SHEET, data=form).get_data(as_text=True)
    graded = [p for m, p in services.applied if m == "grade_organization"]
    assert [(p["organization_id"], p["request_id"]) for p in graded] == [
        (101, form["g-101"]), (102, form["g-102"])]
    assert "评定等级 2 个" in html
    row = html[html.index('<tr id="row-101">'):html.index('<tr id="row-102">')]
    assert "<strong>好</strong>（92.00 分）" in row and "按得分评定" in row
    row = html[html.index('<tr id="row-102">'):html.index('<tr id="row-103">')]
    assert "<strong>较差</strong>" in row
    # a row with an assessor missing is saved but not graded; nor is anything unasked
    form = form_of(html)
    fill(form, 103, scores(70))
    form.pop("grade")
    client.post(SHEET, data=form)
    assert len([m for m, _ in services.applied if m == "grade_organization"]) == 2


def test_the_services_refusal_of_a_row_is_said_on_that_row(tmp_path):
    services = FakeServices(place=SUICHANG)  # the county: the superior of the villages
    services.orgs[500] = {"id": 500, "name": "县直机关党委", "place_code": SUICHANG,
                          "place_name": "遂昌县", "kind": "611", "kind_label": "党委"}
    client = signed_in_client(services, tmp_path)
    sheet = f"/console/grading/rounds/7?township={SUICHANG}"
    form = form_of(client.get(sheet).get_data(as_text=True))
    fill(form, 500, scores(90))  # the county's own: its superior scores are not the county's
    fill(form, 101, scores(90))
    html = client.post(sheet, data=form).get_data(as_text=True)
    assert '<p class="field-error" id="row-500-error">须由上级党组织进行</p>' in html
    assert 'aria-describedby="row-500-error"' in html
    assert [p["organization_id"] for m, p in services.applied if m == "record_scores"] == [101]


def test_the_sheet_form_needs_its_csrf_field(client, services):
    form = form_of(client.get(SHEET).get_data(as_text=True))
    fill(form, 101, scores(90))
    for csrf in (None, "forged"):
        sent = dict(form)
        if csrf is None:
            sent.pop("csrf")
        else:
            sent["csrf"] = csrf
        response = client.post(SHEET, data=sent)
        assert response.status_code == 403 and "安全校验" in response.get_data(as_text=True)
    assert services.applied == []


def test_another_townships_sheet_is_the_services_refusal(client, services):
    response = client.get(f"/console/grading/rounds/7?township={OTHER_TOWNSHIP}")
    html = response.get_data(as_text=True)
    assert response.status_code == 403 and "无权操作" in html
    assert "别的乡镇党委" not in html


def test_a_round_without_a_township_leads_to_the_members_own(client, tmp_path):
    response = client.get("/console/grading/rounds/7")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/console/grading/rounds/7?township={TOWNSHIP}"
    county = signed_in_client(FakeServices(place=SUICHANG), tmp_path)
    html = county.get("/console/grading/rounds/7").get_data(as_text=True)
    assert "2026年度分类定级" in html and "好：90 分及以上" in html
    assert "上级评定 50%" in html
    assert f'href="/console/grading/rounds/7?township={TOWNSHIP}">云峰街道 评分表</a>' in html


def test_a_grade_is_corrected_with_a_reason(client, services):
    page = f"/console/grading/rounds/7/organizations/101/grade?township={TOWNSHIP}"
    html = client.get(page).get_data(as_text=True)
    assert "更正等级：华浦村党支部" in html and '<label for="f-reason">理由</label>' in html
    form = {"csrf": field(html, "csrf"), "request_id": field(html, "request_id"),
            "grade": "fairly_good", "reason": ""}
    response = client.post(page, data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="f-reason-error"' in html
    well_formed(html)
    assert services.applied == []
    response = client.post(page, data={**form, "reason": "群众反映良好，经研究确定"})
    assert response.status_code == 303
    assert response.headers["Location"] == (
        f"/console/grading/rounds/7?township={TOWNSHIP}&corrected=101")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已更正“华浦村党支部”的等级" in html
    row = html[html.index('<tr id="row-101">'):html.index('<tr id="row-102">')]
    assert "<strong>较好</strong>" in row and "上级直接确定：群众反映良好，经研究确定" in row
    assert [m for m, _ in services.applied] == ["set_grade"]


def test_a_round_is_opened_and_found_by_its_number(client, services):
    html = client.get("/console/grading").get_data(as_text=True)
    assert '<label for="f-round">轮次编号</label>' in html
    assert client.get("/console/grading?round=7").headers["Location"] == (
        "/console/grading/rounds/7")
    form = {"csrf": field(html, "csrf"), "request_id": field(html, "request_id"),
            "place_code": TOWNSHIP, "year": "20x6", "name": "复评"}
    response = client.post("/console/grading", data=form)
    assert response.status_code == 400
    assert 'id="f-year-error">请填写 2000–2100 之间的年份<' in response.get_data(as_text=True)
    well_formed(response.get_data(as_text=True))
    well_formed(html)
    response = client.post("/console/grading", data={**form, "place_code": SUICHANG,
                                                     "year": "2026"})
    assert response.status_code == 403  # the county is above the township: said at the field
    assert 'id="f-place_code-error"' in response.get_data(as_text=True)
    response = client.post("/console/grading", data={**form, "year": "2026"})
    assert response.headers["Location"] == "/console/grading/rounds/8?opened=1"
    response = client.get(response.headers["Location"])  # to the township's own sheet
    assert response.headers["Location"] == (
        f"/console/grading/rounds/8?township={TOWNSHIP}&opened=1")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "轮次编号为 8" in html and "复评（2026 年度，轮次 8）" in html
    assert services.applied[0][1]["request_id"] == form["request_id"]


def test_a_member_without_the_write_role_cannot_open_a_round(tmp_path):
    reader = signed_in_client(FakeServices(roles=("console.user", "evaluation.read")),
                              tmp_path)
    html = reader.get("/console/grading").get_data(as_text=True)
    assert "没有“考评信息维护”权限" in html and 'action="/console/grading" novalidate' not in html


def test_the_request_id_of_a_row_is_its_own(client, services):
    form = form_of(client.get(SHEET).get_data(as_text=True))
    ids = {form[f"r-{n}"] for n in (101, 102, 103, 104)} | {form[f"g-{n}"] for n in
                                                            (101, 102, 103, 104)}
    assert len(ids) == 8 and all(len(i) == 32 for i in ids)
    uuid.UUID(form["r-101"])
