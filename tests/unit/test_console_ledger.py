"""The console's ledger pages (台账) in-process, the services replaced by a fake that
keeps the contract's promises: every call's token verified, its role required and its
params loaded through the contract's schema (so a page sending the wrong type, or a
date the contract refuses, meets the very ValidationError a service would raise).
tests/integration/test_console_ledger.py walks the same pages against the real services."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import re

import jwt
import pytest
from werkzeug.test import Client

from services.gateway.app import Gateway
from services.gateway.console import security
from shared import contracts
from shared.contracts.common import encode_cursor
from shared.errors import Conflict, NotFound, Unauthenticated, ValidationError
from shared.platform import auth, config

SECRET = "console-ledger-" + "x" * 40
SUICHANG = "331123000000"
TOWNSHIP = "331123101000"
VILLAGE = "331123101201"
PASSWORD = "correct horse battery"
CASE_ID, ORG_ID = 41, 7
TODAY = dt.date.today()
SOON = (TODAY + dt.timedelta(days=30)).isoformat()
YESTERDAY = (TODAY - dt.timedelta(days=1)).isoformat()
ALL_ROLES = ("console.user", "organizations.read", "organizations.write", "evaluation.read",
             "evaluation.write")
READER = ("console.user", "organizations.read", "evaluation.read")
NOTICE_HTML = ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
               "<title>梅坞村党支部分类定级及整改情况公示</title><style>h1 { text-align: center; }"
               "</style></head><body><h1>梅坞村党支部分类定级及整改情况公示</h1>"
               "<p>&lt;b&gt;不是标签&lt;/b&gt;</p></body></html>\n")


def _task(task_id, content, status="open", overdue=False, round_=1, deadline=SOON):
    return {"id": task_id, "case_id": CASE_ID, "round": round_, "content": content,
            "responsible": "乡镇组织委员", "deadline": deadline, "status": status,
            "status_label": {"open": "进行中", "done": "已完成"}[status],
            "done_on": TODAY.isoformat() if status == "done" else None, "overdue": overdue}


def _case(status="in_progress"):
    return {
        "id": CASE_ID, "organization_id": ORG_ID, "organization_name": "梅坞村党支部",
        "place_code": VILLAGE, "place_name": "梅坞村", "grade": "poor", "grade_label": "较差",
        "grade_round_id": 3, "listed": True, "status": status,
        "status_label": {"planning": "制定整改方案", "in_progress": "整改中",
                         "submitted": "整改完成待测评", "accepted": "已验收"}[status],
        "round": 1, "main_problems": "班子软弱涣散" if status != "planning" else None,
        "measures": ["调整充实班子"] if status != "planning" else [],
        "opened_on": "2026-03-01", "submitted_on": None, "accepted_on": None,
        "crossed_off_on": None,
        "tasks": [] if status == "planning" else [
            _task(1, "选优配强村党支部书记", overdue=True),
            _task(2, "建成活动场所"), _task(3, "整顿软弱班子", status="done")],
        "help": [{"id": 1, "kind": "work_team", "kind_label": "派驻工作组", "person": "王组长",
                  "unit": "县委组织部", "assigned_on": "2026-03-02"}],
        "postings": [{"posted_on": "2026-03-03", "location": "村务公开栏"}],
        "version": 4}


def _row(case_id, name, overdue):
    return {"case_id": case_id, "organization_id": case_id + 100, "organization_name": name,
            "place_code": VILLAGE, "place_name": "梅坞村", "grade": "poor", "grade_label": "较差",
            "listed": True, "status": "in_progress", "status_label": "整改中", "round": 1,
            "tasks": 3, "done": 2, "overdue": overdue, "next_deadline": "2026-04-01",
            "help": [], "opened_on": "2026-03-01", "crossed_off_on": None}


CURSOR = encode_cursor([1, VILLAGE, 43])


class FakeServices:
    """accounts (sign-in, sessions), organizations and evaluation as their contracts say,
    about one case (CASE_ID); any other case is the service's NotFound."""

    def __init__(self):
        self.verifier = auth.TokenVerifier((SECRET,))
        self.roles = list(ALL_ROLES)
        self.calls: list[tuple[str, str, dict]] = []
        self.refuse: dict[str, Exception] = {}  # method → its next answer
        self.case = _case()
        self.rows = [_row(CASE_ID, "梅坞村党支部", 1), _row(42, "下村党支部", 2),
                     _row(43, "上村党支部", 0)]
        self.next_cursor: str | None = CURSOR
        self.surveys = [{
            "id": 9, "kind": "rectification", "kind_label": "整改落实满意度测评",
            "organization_id": ORG_ID, "case_id": CASE_ID, "case_round": 1,
            "title": "梅坞村党支部整改落实满意度测评", "status": "open", "status_label": "测评中",
            "counts": {"satisfied": 3}, "valid_ballots": 3, "satisfied": None, "rate": None,
            "passed": None, "rule": None, "opened_on": "2026-05-01", "closed_on": None}]
        self.acceptances = [{
            "id": 5, "organization_id": ORG_ID, "case_id": CASE_ID, "grade": "poor",
            "grade_label": "较差", "allowed_stars": [0, 1], "status": "awaiting_stars",
            "status_label": "待定星", "score": None, "suggested_stars": None, "stars": None,
            "reason": None, "rated_by": None, "opened_on": "2026-06-01", "rated_on": None}]

    def call(self, service, method, params, *, token=None, call_id=None, timeout=None):
        principal = self.verifier.verify(token)
        self.calls.append((service, method, dict(params)))
        if service == "accounts":
            return self._accounts(principal, method, params)
        contract = contracts.RPC[(service, method)]
        principal.require_role(contract.role)
        values = contracts.load_params(contract, params)  # as the service loads them
        if method in self.refuse:
            raise self.refuse.pop(method)
        return getattr(self, f"{service}_{method}")(values)

    def _accounts(self, principal, method, params):
        principal.require_role("accounts.sign_in" if method in ("sign_in", "session_valid")
                               else "console.user")
        if method == "sign_in":
            if (params["username"], params["password"]) != ("zhangsan", PASSWORD):
                raise Unauthenticated("sign-in refused (用户名或密码错误)")
            token = auth.issue_token(SECRET, subject="zhangsan", department="遂昌县委组织部",
                                     place_code=SUICHANG, system="console", roles=self.roles)
            return {"token": token, "token_id": jwt.decode(
                token, options={"verify_signature": False})["jti"]}
        if method == "session_valid":
            return {"valid": True}
        raise AssertionError(f"unexpected call accounts.{method}")

    def asked(self, *methods) -> list[tuple[str, str, dict]]:
        return [c for c in self.calls if c[1] in methods]

    def services_asked(self) -> list[str]:
        return [method for service, method, _ in self.calls if service != "accounts"]

    # -- organizations ------------------------------------------------------------------
    def _the_case(self, case_id):
        if case_id != CASE_ID:
            raise NotFound(f"no rectification case {case_id} (未找到该整改事项)",
                           {"case_id": case_id})
        return self.case

    def organizations_get_case(self, values):
        return copy.deepcopy(self._the_case(values["case_id"]))

    def organizations_ledger(self, values):
        return {"place_code": values["place_code"], "as_of": TODAY.isoformat(),
                "summary": {"cases": 7, "planning": 1, "in_progress": 3, "submitted": 1,
                            "accepted": 2, "listed": 4, "crossed_off": 1, "overdue": 2},
                "items": copy.deepcopy(self.rows), "next_cursor": self.next_cursor}

    def organizations_place_path(self, values):
        return {"items": [{"code": "330000000000", "name": "浙江省"},
                          {"code": "331100000000", "name": "丽水市"},
                          {"code": SUICHANG, "name": "遂昌县"}]
                + ([{"code": values["place_code"], "name": "妙高街道"}]
                   if values["place_code"] != SUICHANG else [])}

    def organizations_list_children(self, values):
        return {"items": [{"code": TOWNSHIP, "name": "妙高街道", "kind": "subdistrict"}]
                if values["place_code"] == SUICHANG else []}

    def organizations_set_plan(self, values):
        case = self._the_case(values["case_id"])
        case.update(status="in_progress", status_label="整改中",
                    main_problems=values["main_problems"], measures=values["measures"])
        for n, task in enumerate(values["tasks"], 10):
            case["tasks"].append(_task(n, task["content"], deadline=task["deadline"].isoformat()))
        return copy.deepcopy(case)

    def organizations_add_task(self, values):
        case = self._the_case(values["case_id"])
        case["tasks"].append(_task(len(case["tasks"]) + 1, values["content"]))
        return copy.deepcopy(case)

    def organizations_complete_task(self, values):
        task = next(t for t in self.case["tasks"] if t["id"] == values["task_id"])
        task.update(status="done", status_label="已完成", done_on=values["done_on"].isoformat())
        if all(t["status"] == "done" for t in self.case["tasks"]):
            self.case.update(status="submitted", status_label="整改完成待测评")
        return copy.deepcopy(self.case)

    def organizations_assign_help(self, values):
        return copy.deepcopy(self._the_case(values["case_id"]))

    def organizations_record_posting(self, values):
        return copy.deepcopy(self._the_case(values["case_id"]))

    def organizations_notice(self, values):
        self._the_case(values["case_id"])
        return {"case_id": CASE_ID, "title": "公示", "html": NOTICE_HTML}

    # -- evaluation ---------------------------------------------------------------------
    def evaluation_surveys_of(self, values):
        return {"items": copy.deepcopy(self.surveys)}

    def evaluation_acceptances_of(self, values):
        return {"items": copy.deepcopy(self.acceptances)}

    def evaluation_open_survey(self, values):
        return {**self.surveys[0], "id": 10, "case_id": None}

    def evaluation_record_counts(self, values):
        return self.surveys[0]

    def evaluation_close_survey(self, values):
        return {**self.surveys[0], "status": "closed", "rate": "0.9000", "passed": True}

    def evaluation_open_acceptance(self, values):
        return self.acceptances[0]

    def evaluation_suggest_stars(self, values):
        return {"acceptance_id": values["acceptance_id"], "grade": "poor",
                "allowed_stars": [0, 1], "score": str(values["score"]), "suggested_stars": 1,
                "rule": {}}

    def evaluation_rate_stars(self, values):
        if values["stars"] not in (0, 1):  # as evaluation's domain.check_stars
            raise ValidationError(f"a poor (较差) organization is rated 0 or 1 stars, not "
                                  f"{values['stars']} (星级须在定级对应范围内)",
                                  {"stars": ["must be one of [0, 1]"]})
        return self.acceptances[0]


@pytest.fixture
def services():
    contracts.load_all()
    return FakeServices()


@pytest.fixture
def client(tmp_path, services):
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path), "JINWEI_TOKEN_SECRET": SECRET})
    return Client(Gateway(settings, rpc=services))


def sign_in(client) -> str:
    """Signs in; the session's CSRF field."""
    form = client.get("/console/login").get_data(as_text=True)
    response = client.post("/console/login", data={
        "csrf": field(form), "username": "zhangsan", "password": PASSWORD})
    assert response.status_code == 303
    return field(client.get("/console/ledger").get_data(as_text=True))


def field(html: str, name: str = "csrf") -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no field {name}"
    return match.group(1)


def post_forms(html: str) -> dict[str, str]:
    """The case page's POST forms: action → the form's HTML."""
    return {m[1]: m[0] for m in re.finditer(
        r'<form method="post" action="(/console/ledger[^"]*)".*?</form>', html, re.S)}


CASE = f"/console/ledger/cases/{CASE_ID}"


# -- the ledger -------------------------------------------------------------------------------
def test_the_ledger_lists_the_cases_with_figures_filters_and_paging(client, services):
    sign_in(client)
    response = client.get("/console/ledger")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    params = services.asked("ledger")[-1][2]
    assert params == {"place_code": SUICHANG, "status": None, "listed": None, "limit": 50,
                      "after": None}
    assert "遂昌县 · 整改工作台账" in html
    assert re.search(r'<a href="/console/ledger"[^>]*aria-current="page">台账</a>', html)
    # every row links to its case page, with its grade, status, progress and overdue badge
    for row in services.rows:
        assert f'href="/console/ledger/cases/{row["case_id"]}">{row["organization_name"]}<' in html
    assert "较差" in html and "整改中" in html and "2/3" in html and "第 1 轮" in html
    assert '<span class="badge warn">逾期 2 项</span>' in html and "2026-04-01" in html
    assert html.count('<span class="badge warn">挂牌</span>') == 3
    # the summary figures, each linking to its list
    assert re.search(r'href="/console/ledger\?place=331123000000&amp;overdue=1">'
                     r'<span class="figure-n">2</span> 有逾期任务', html)
    assert re.search(r'status=accepted"><span class="figure-n">2</span> 已验收', html)
    # the filters: a GET form, every status by its Chinese label, the child places
    filters = re.search(r'<form method="get" action="/console/ledger".*?</form>', html, re.S)[0]
    for label in ("制定整改方案", "整改中", "整改完成待测评", "已验收", "已撤销（定级更正）",
                  "挂牌整改", "妙高街道"):
        assert label in filters
    assert 'name="overdue" type="checkbox" value="1"' in filters and "csrf" not in filters
    for name in ("place", "status", "listed"):
        assert re.search(rf'<label for="filter-{name}">', filters)
    # the next page: the RPC's cursor, once
    next_link = re.search(r'<a href="([^"]+)" rel="next">下一页</a>', html)[1]
    assert next_link.count("after=") == 1
    client.get(next_link.replace("&amp;", "&"))
    assert services.asked("ledger")[-1][2]["after"] == CURSOR
    assert "<script" not in html and "style=" not in html


def test_the_filters_are_the_rpcs_own(client, services):
    sign_in(client)
    html = client.get(f"/console/ledger?place={TOWNSHIP}&status=in_progress&listed=1"
                      "&after=" + CURSOR).get_data(as_text=True)
    params = services.asked("ledger")[-1][2]
    assert (params["place_code"], params["status"], params["listed"], params["after"]) == (
        TOWNSHIP, "in_progress", True, CURSOR)
    assert '<option value="in_progress" selected>' in html and "回到第一页" in html
    next_link = re.search(r'<a href="([^"]+)" rel="next">', html)[1]
    assert f"place={TOWNSHIP}" in next_link and "status=in_progress" in next_link
    assert next_link.count("after=") == 1 and "listed=1" in next_link
    client.get("/console/ledger?status=bogus&listed=maybe")
    params = services.asked("ledger")[-1][2]
    assert (params["status"], params["listed"]) == (None, None)
    client.get("/console/ledger?listed=0")
    assert services.asked("ledger")[-1][2]["listed"] is False


def test_overdue_keeps_the_overdue_rows_and_ends_at_the_first_other(client, services):
    sign_in(client)
    html = client.get("/console/ledger?overdue=1").get_data(as_text=True)
    assert "梅坞村党支部" in html and "下村党支部" in html and "上村党支部" not in html
    assert 'rel="next"' not in html  # overdue first: past a row that is not, none are
    assert "台账没有“逾期”筛选条件" in html and 'value="1" checked' in html
    services.rows = services.rows[:2]  # a full page of overdue ones: there may be more
    html = client.get("/console/ledger?overdue=1").get_data(as_text=True)
    next_link = re.search(r'<a href="([^"]+)" rel="next">', html)[1]
    assert "overdue=1" in next_link and "after=" in next_link


# -- a case -------------------------------------------------------------------------------------
def test_the_case_page_shows_the_case_and_every_form_carries_csrf_and_a_request_id(
        client, services):
    csrf = sign_in(client)
    response = client.get(CASE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "梅坞村党支部 · 整改案件" in html and "班子软弱涣散" in html and "调整充实班子" in html
    assert "派驻工作组：王组长（县委组织部）" in html and "村务公开栏" in html
    assert f'href="{CASE}/notice"' in html and "待定星" in html and "测评中" in html
    assert '<span class="badge warn">逾期</span>' in html
    forms = post_forms(html)
    assert set(forms) == {
        f"{CASE}/tasks/1/complete", f"{CASE}/tasks/2/complete",  # not 3: done
        f"{CASE}/plan",  # in progress, the plan may be changed (CASE_MACHINE)
        f"{CASE}/tasks", f"{CASE}/help", f"{CASE}/postings", f"{CASE}/surveys",
        f"{CASE}/surveys/9/counts", f"{CASE}/surveys/9/close", f"{CASE}/acceptances/5/stars"}
    request_ids = set()
    for action, form in forms.items():
        assert field(form) == csrf, action
        request_id = field(form, "request_id")
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), action
        request_ids.add(request_id)
    assert len(request_ids) == len(forms)  # one each
    assert field(client.get(CASE).get_data(as_text=True), "request_id") not in request_ids
    # every input has its label; ids are unique on the page
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for input_id in re.findall(r'<(?:input|select|textarea) id="([^"]+)"', html):
        assert f'<label for="{input_id}"' in html, input_id
    assert "<script" not in html and "style=" not in html
    assert services.asked("surveys_of")[-1][2] == {"organization_id": ORG_ID}


def test_a_reader_sees_the_case_but_no_form(client, services):
    services.roles = list(READER)
    sign_in(client)
    html = client.get(CASE).get_data(as_text=True)
    assert "班子软弱涣散" in html and "测评中" in html and "待定星" in html
    assert post_forms(html) == {}
    assert f'href="{CASE}/notice"' in html  # reading the notice is organizations.read


def test_the_plan_form_is_there_in_planning_and_its_tasks_are_the_rows_filled(
        client, services):
    services.case = _case("planning")
    csrf = sign_in(client)
    html = client.get(CASE).get_data(as_text=True)
    forms = post_forms(html)
    assert f"{CASE}/plan" in forms and not any("/complete" in a for a in forms)
    form = {"csrf": csrf, "request_id": "r" * 32, "main_problems": "阵地建设滞后",
            "measures": "调整充实班子\r\n\r\n 新建活动场所 ",
            "task1_content": "选优配强书记", "task1_responsible": "组织委员",
            "task1_deadline": SOON, "task3_content": "建成场所", "task3_responsible": "村主任",
            "task3_deadline": YESTERDAY}
    response = client.post(f"{CASE}/plan", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    # the second task given is the form's third row: its deadline is said there
    assert 'id="plan-task3_deadline-error">完成时限不能早于今天<' in html
    assert 'aria-describedby="plan-task3_deadline-error"' in html
    assert 'value="建成场所"' in html  # what was typed stays
    params = services.asked("set_plan")[-1][2]
    assert params["measures"] == ["调整充实班子", "新建活动场所"]
    assert [t["content"] for t in params["tasks"]] == ["选优配强书记", "建成场所"]
    response = client.post(f"{CASE}/plan", data={**form, "task3_deadline": SOON})
    assert (response.status_code, response.headers["Location"]) == (
        303, f"{CASE}?done=plan#plan")
    assert "整改方案已保存" in client.get(f"{CASE}?done=plan").get_data(as_text=True)


def test_a_post_without_the_csrf_field_is_refused_and_nothing_is_asked(client, services):
    sign_in(client)
    other = Client(client.application)
    other_csrf = sign_in(other)
    before = len(services.services_asked())
    for action in (f"{CASE}/tasks/1/complete", f"{CASE}/tasks", f"{CASE}/plan",
                   f"{CASE}/help", f"{CASE}/postings", f"{CASE}/surveys",
                   f"{CASE}/surveys/9/counts", f"{CASE}/surveys/9/close",
                   f"{CASE}/acceptances", f"{CASE}/acceptances/5/stars"):
        for form in ({"request_id": "r" * 32, "done_on": TODAY.isoformat()},
                     {"csrf": "forged", "request_id": "r" * 32},
                     {"csrf": other_csrf, "request_id": "r" * 32}):
            response = client.post(action, data=form)
            assert response.status_code == 403, (action, form)
            assert "安全校验" in response.get_data(as_text=True)
    assert len(services.services_asked()) == before  # no RPC to any service
    assert client.get(f"{CASE}/tasks/1/complete").status_code == 405


def test_a_validation_error_is_said_next_to_its_field(client, services):
    csrf = sign_in(client)
    response = client.post(f"{CASE}/tasks", data={
        "csrf": csrf, "request_id": "a" * 32, "content": "走访农户", "responsible": " ",
        "deadline": YESTERDAY})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="task-deadline-error">完成时限不能早于今天<' in html
    assert re.search(r'<input id="task-deadline" name="deadline" type="date" '
                     rf'value="{YESTERDAY}" required aria-invalid="true" '
                     r'aria-describedby="task-deadline-error">', html)
    assert re.search(r'id="task-responsible-error">不能为空[，<]', html)
    assert "走访农户</textarea>" in html  # kept
    assert 'href="#task-deadline"' in html and "提交未成功" in html  # the summary
    assert "{" not in html.split("<main")[1]  # never raw JSON
    assert field(post_forms(html)[f"{CASE}/tasks"], "request_id") != "a" * 32
    # the other forms are drawn as usual, without the errors
    assert 'id="help-person-error"' not in html and "field-error" not in post_forms(html)[
        f"{CASE}/help"]


def test_completing_a_task_redirects_with_a_notice(client, services):
    csrf = sign_in(client)
    response = client.post(f"{CASE}/tasks/1/complete", data={
        "csrf": csrf, "request_id": "b" * 32, "done_on": TODAY.isoformat()})
    assert (response.status_code, response.headers["Location"]) == (
        303, f"{CASE}?done=complete#tasks")
    (_, _, params), = services.asked("complete_task")
    assert params == {"request_id": "b" * 32, "task_id": 1, "done_on": TODAY.isoformat()}
    html = client.get(f"{CASE}?done=complete").get_data(as_text=True)
    assert '<p class="notice" role="status">任务已标记为完成。</p>' in html
    response = client.post(f"{CASE}/tasks/2/complete", data={
        "csrf": csrf, "request_id": "c" * 32, "done_on": TODAY.isoformat()})
    assert response.headers["Location"] == f"{CASE}?done=submitted#tasks"  # the last one
    assert "整改完成待测评" in client.get(CASE).get_data(as_text=True)


def test_a_conflict_is_said_at_its_form(client, services):
    csrf = sign_in(client)
    services.refuse["complete_task"] = Conflict(
        f"case {CASE_ID} is planning: cannot complete tasks; round 1 needs its plan first "
        "(请先制定本轮整改方案)", {"case_id": CASE_ID, "status": "planning", "round": 1})
    response = client.post(f"{CASE}/tasks/2/complete", data={
        "csrf": csrf, "request_id": "d" * 32, "done_on": TODAY.isoformat()})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert re.search(r'id="complete-2-form-error">请先制定本轮整改方案<', html)
    assert 'href="#complete-2-form-error"' in html
    services.refuse["complete_task"] = Conflict(
        "request id dddd was already used for another call",
        {"request_id": "d" * 32, "operation": "add_task"})
    html = client.post(f"{CASE}/tasks/2/complete", data={
        "csrf": csrf, "request_id": "d" * 32, "done_on": TODAY.isoformat()}).get_data(
            as_text=True)
    assert "这张表单已经提交过" in html


def test_help_and_postings_are_recorded(client, services):
    csrf = sign_in(client)
    response = client.post(f"{CASE}/help", data={
        "csrf": csrf, "request_id": "e" * 32, "kind": "township_leader", "person": "李书记",
        "unit": "", "assigned_on": TODAY.isoformat()})
    assert response.headers["Location"] == f"{CASE}?done=help#help"
    assert services.asked("assign_help")[-1][2]["unit"] is None
    response = client.post(f"{CASE}/help", data={
        "csrf": csrf, "request_id": "e" * 32, "kind": "", "person": "李书记",
        "assigned_on": TODAY.isoformat()})
    assert response.status_code == 400
    assert 'id="help-kind-error">请从列表中选择<' in response.get_data(as_text=True)
    response = client.post(f"{CASE}/postings", data={
        "csrf": csrf, "request_id": "f" * 32, "posted_on": SOON, "location": "村务公开栏"})
    assert response.status_code == 400
    assert 'id="posting-posted_on-error">不能晚于今天<' in response.get_data(as_text=True)


def test_survey_counts_are_numbers_and_closing_says_what_follows(client, services):
    csrf = sign_in(client)
    form = {"csrf": csrf, "request_id": "g" * 32, "satisfied": "30", "fairly_satisfied": "",
            "basically_satisfied": "20", "dissatisfied": "五"}
    response = client.post(f"{CASE}/surveys/9/counts", data=form)
    assert response.status_code == 400
    assert 'id="counts-9-dissatisfied-error">请填写整数<' in response.get_data(as_text=True)
    response = client.post(f"{CASE}/surveys/9/counts", data={**form, "dissatisfied": "5"})
    assert response.headers["Location"] == f"{CASE}?done=counts#survey-9"
    assert services.asked("record_counts")[-1][2] == {
        "request_id": "g" * 32, "survey_id": 9,
        "counts": {"satisfied": 30, "basically_satisfied": 20, "dissatisfied": 5}}
    response = client.post(f"{CASE}/surveys/9/close", data={"csrf": csrf,
                                                            "request_id": "h" * 32})
    assert response.headers["Location"] == f"{CASE}?done=passed#survey-9"
    assert "满意率达到要求" in client.get(f"{CASE}?done=passed").get_data(as_text=True)
    response = client.post(f"{CASE}/surveys", data={
        "csrf": csrf, "request_id": "i" * 32, "kind": "rectification", "title": ""})
    assert response.headers["Location"] == f"{CASE}?done=survey#surveys"
    assert services.asked("open_survey")[-1][2] == {
        "request_id": "i" * 32, "kind": "rectification", "organization_id": ORG_ID,
        "title": None}


def test_stars_are_suggested_and_rated_within_the_grades_range(client, services):
    csrf = sign_in(client)
    html = client.get(f"{CASE}?suggest=5&score=70").get_data(as_text=True)
    assert "得分 70.00，建议评 1 星" in html
    stars_form = post_forms(html)[f"{CASE}/acceptances/5/stars"]
    assert 'value="70"' in stars_form and '<option value="1" selected>' in stars_form
    response = client.post(f"{CASE}/acceptances/5/stars", data={
        "csrf": csrf, "request_id": "j" * 32, "score": "70", "stars": "3",
        "reason": "整改成效明显"})
    assert response.status_code == 400
    assert 'id="stars-5-stars-error">星级须在定级对应范围内<' in response.get_data(as_text=True)
    response = client.post(f"{CASE}/acceptances/5/stars", data={
        "csrf": csrf, "request_id": "j" * 32, "score": "70", "stars": "1",
        "reason": "整改成效明显"})
    assert response.headers["Location"] == f"{CASE}?done=stars#acceptance"
    assert services.asked("rate_stars")[-1][2]["stars"] == 1


def test_the_notice_is_the_services_page_under_the_consoles_headers(client, services):
    sign_in(client)
    response = client.get(f"{CASE}/notice")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.get_data(as_text=True) == NOTICE_HTML  # as /v1/notices serves it
    for name, value in security.PAGE_HEADERS.items():
        if name != "Content-Security-Policy":
            assert response.headers[name] == value
    # Its own <style> is allowed by hash, and nothing else: no script, no other source.
    style = re.search(r"<style>(.*?)</style>", NOTICE_HTML, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert response.headers["Content-Security-Policy"] == (
        f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'")


def test_a_case_the_service_does_not_show_is_not_found(client, services):
    sign_in(client)
    pages = {path: client.get(path) for path in (
        "/console/ledger/cases/999", "/console/ledger/cases/999/notice")}
    for path, response in pages.items():
        assert response.status_code == 404, path
        assert "未找到该整改事项" in response.get_data(as_text=True)
    assert len({r.get_data() for r in pages.values()}) == 1  # one answer
