"""The console's read-only pages in-process (werkzeug's test client) over a fake of the
services that keeps the contract's promises — every call's token verified and the
contract's role required — and answers canned reports: 非公企业 (coverage, the enterprises,
the uncovered ones), 后备干部 (shortfall and the roster, identity numbers shown exactly as
the service gives them) and 阵地经费 (venues, funding of a year). Paging follows the
services' cursors; a place outside the member's reach is the service's refusal."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from urllib.parse import urlencode

import jwt
import pytest
from werkzeug.test import Client

from services.gateway.app import Gateway
from services.gateway.console import views
from services.gateway.console.views import readonly
from shared import contracts
from shared.contracts.common import encode_cursor
from shared.errors import Forbidden, Unauthenticated
from shared.platform import auth, config
from tests.unit.test_console_pages import field, login_form

SECRET = "console-readonly-" + "x" * 40
SUICHANG = "331123000000"
MIAOGAO = "331123001000"
XIHU = "330106000000"
PASSWORD = "correct horse battery"
READER_ROLES = ("console.user", "npe.read", "cadres.read", "resources.read")


class FakeServices:
    """The services as the contract says: sign-in and sessions (accounts), and the
    reports of `answers`, each asked with a verified token holding the method's role;
    a place outside the token's is Forbidden, as the services' require_place."""

    def __init__(self, roles=READER_ROLES, place=SUICHANG, username="lisi"):
        self.verifier = auth.TokenVerifier((SECRET,))
        self.roles, self.place, self.username = list(roles), place, username
        self.calls: list[tuple[str, str, dict]] = []
        self.answers: dict[tuple[str, str], Callable[[auth.Principal, dict], object]] = {}

    def call(self, service, method, params, *, token=None, call_id=None, timeout=None):
        principal = self.verifier.verify(token)
        self.calls.append((service, method, dict(params)))
        if (service, method) == ("accounts", "sign_in"):
            principal.require_role("accounts.sign_in")
            if (params["username"], params["password"]) != (self.username, PASSWORD):
                raise Unauthenticated("sign-in refused (用户名或密码错误，或账号暂时无法登录)")
            token = auth.issue_token(SECRET, subject=self.username, department="遂昌县委组织部",
                                     place_code=self.place, system="console", roles=self.roles)
            return {"token": token, "token_id": jwt.decode(
                token, options={"verify_signature": False})["jti"]}
        if (service, method) == ("accounts", "session_valid"):
            principal.require_role("accounts.sign_in")
            return {"valid": True}
        contract = contracts.RPC[(service, method)]
        principal.require_role(contract.role)
        unknown = set(params) - set(contract.params.fields)
        assert not unknown, f"{service}.{method} takes no {unknown}"
        contracts.load_params(contract, params)  # the contract's own validation
        if "place_code" in params and not principal.covers(params["place_code"]):
            raise Forbidden(f"place {params['place_code']} is outside the jurisdiction",
                            {"place_code": params["place_code"],
                             "jurisdiction": principal.place_code})
        return self.answers[(service, method)](principal, params)

    def asked(self, method: str) -> list[dict]:
        return [params for _, name, params in self.calls if name == method]


def sign_in(client) -> str:
    """Signs in; a page's CSRF field."""
    response = client.post("/console/login", data={"csrf": login_form(client),
                                                   "username": "lisi", "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return field(client.get("/console/password").get_data(as_text=True))  # asks nothing


def gateway_with(tmp_path, services) -> Client:
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path), "JINWEI_TOKEN_SECRET": SECRET})
    return Client(Gateway(settings, rpc=services))


def html_of(response) -> str:
    return response.get_data(as_text=True)


# -- canned reports, shaped as the contracts' results ------------------------------------------
def coverage_row(code, name, **counts):
    row = {"place_code": code, "place_name": name, "enterprises": 10, "operating": 9,
           "own": 3, "joint": 2, "regional": 0, "industry": 0, "organizational": 5,
           "work": 2, "uncovered": 2, "due_own": 1, "organizational_rate": "0.5556",
           "own_rate": "0.3333", "work_rate": "0.2222", "total_rate": "0.7778"}
    return {**row, **counts}


def coverage_report(principal, params):
    return {"place_code": params["place_code"], "as_of": "2026-05-01", "rules": {},
            "total": coverage_row(params["place_code"], "遂昌县", enterprises=20, uncovered=4),
            "by_child_place": [coverage_row(MIAOGAO, "妙高街道"),
                               coverage_row("331123002000", "云峰街道", organizational_rate=None)],
            "uncovered": [], "due_own": [], "duplicate_credit_codes": 1}


def enterprise(n):
    return {"id": n, "credit_code": f"91331123MA2{n:07d}", "name": f"遂昌第{n}机械有限公司",
            "place_code": MIAOGAO, "place_name": "妙高街道", "industry": "C",
            "industry_label": "制造业", "size": "small", "size_label": "小型",
            "operating_status": "operating", "operating_status_label": "在营",
            "employees": 40, "full_members": 3, "migrant_share": "0.1000", "cluster": None,
            "dual_managed": False, "coverage": "none", "coverage_label": "未覆盖",
            "due_own_organization": True, "version": 1, "withdrawn_on": None,
            "withdrawn_reason": None}


def cursor(position: int) -> str:
    """A cursor of the enterprises listing's shape (a code, a name)."""
    return encode_cursor([str(position), "name"])


def paged(items):
    """A listing of `items`, paged by position (kept in the cursor's first part)."""
    def answer(principal, params):
        start = int(json.loads(base64.urlsafe_b64decode(params["after"]))[0]) \
            if params.get("after") else 0
        end = start + params["limit"]
        return {"items": items[start:end],
                "next_cursor": cursor(end) if end < len(items) else None}
    return answer


@pytest.fixture
def services():
    fake = FakeServices()
    fake.answers[("npe", "coverage_report")] = coverage_report
    fake.answers[("npe", "list_enterprises")] = paged([enterprise(n) for n in range(1, 121)])
    fake.answers[("npe", "uncovered_enterprises")] = lambda principal, params: {
        "items": [{"id": 7, "credit_code": "91331123MA20000007", "name": "未覆盖的茶叶公司",
                   "place_code": MIAOGAO, "full_members": 0, "coverage": "none",
                   "coverage_label": "未覆盖"}], "next_cursor": None}
    fake.answers[("cadres", "reserve_shortfall")] = shortfall
    fake.answers[("cadres", "reserve_roster")] = roster
    fake.answers[("resources", "venue_report")] = venue_report
    fake.answers[("resources", "funding_report")] = funding_report
    return fake


@pytest.fixture
def client(tmp_path, services):
    return gateway_with(tmp_path, services)


# -- 非公企业 -------------------------------------------------------------------------------
def test_the_enterprises_page_shows_coverage_by_place_with_rates(client, services):
    sign_in(client)
    response = client.get("/console/enterprises")
    html = html_of(response)
    assert response.status_code == 200 and "<script" not in html
    assert "遂昌县 · 非公企业党建覆盖情况" in html
    assert services.asked("coverage_report") == [{"place_code": SUICHANG}]
    # rates as percentages (the service says "0.5556"); none is a dash
    assert "55.6%" in html and "22.2%" in html and "77.8%" in html and "<td>—</td>" in html
    # each child place links to its own page, its uncovered count to its list
    assert f'href="/console/enterprises?place={MIAOGAO}">妙高街道</a>' in html
    assert f'href="/console/enterprises?place={MIAOGAO}&amp;uncovered=1">2' in html
    assert 'aria-current="page"' in html and 'href="/console/enterprises" aria-current' in html
    assert "重复登记" in html  # duplicate credit codes are said
    # the list: a page of the service's listing, with the next page's cursor
    assert services.asked("list_enterprises") == [{
        "place_code": SUICHANG, "coverage": None, "industry": None, "operating_status": None,
        "limit": 50, "after": None}]
    assert "遂昌第1机械有限公司" in html and "遂昌第51机械有限公司" not in html
    assert f'href="/console/enterprises?place={SUICHANG}&amp;{urlencode({"after": cursor(50)})}" rel="next"' in html
    assert '<th scope="col">企业名称</th>' in html and 'class="table-wrap"' in html


def test_the_next_page_follows_the_cursor_and_keeps_the_filters(client, services):
    sign_in(client)
    html = html_of(client.get(f"/console/enterprises?place={SUICHANG}&coverage=none"
                              f"&industry=C&{urlencode({'after': cursor(50)})}"))
    assert services.asked("list_enterprises")[-1] == {
        "place_code": SUICHANG, "coverage": "none", "industry": "C", "operating_status": None,
        "limit": 50, "after": cursor(50)}
    assert "遂昌第51机械有限公司" in html and "遂昌第50机械有限公司" not in html
    # page 3 carries one cursor, not two (the next link is made afresh, not appended)
    more = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert more.count("after=") == 1 and "coverage=none" in more
    assert "第一页" in html
    html = html_of(client.get(more))
    assert services.asked("list_enterprises")[-1]["after"] == cursor(100)
    assert 'rel="next"' not in html  # the last page
    # an unknown filter value is no filter (the codes are the contract's)
    client.get("/console/enterprises?coverage=bogus")
    assert services.asked("list_enterprises")[-1]["coverage"] is None


def test_uncovered_lists_the_uncovered_enterprises(client, services):
    sign_in(client)
    response = client.get(f"/console/enterprises?place={MIAOGAO}&uncovered=1")
    html = html_of(response)
    assert response.status_code == 200
    assert services.asked("uncovered_enterprises") == [
        {"place_code": MIAOGAO, "limit": 50, "after": None}]
    assert not services.asked("list_enterprises")
    assert "未覆盖的在营企业" in html and "未覆盖的茶叶公司" in html
    assert f'href="/console/enterprises?place={MIAOGAO}">查看全部企业' in html


def test_each_report_links_to_its_export(client, services):
    sign_in(client)
    html = html_of(client.get("/console/enterprises"))
    assert (f'href="/console/transfers/exports/coverage?place_code={SUICHANG}">'
            "下载覆盖情况统计表") in html
    html = html_of(client.get(f"/console/reserves?place={MIAOGAO}&status=candidate"))
    assert (f'href="/console/transfers/exports/reserve_roster?place_code={MIAOGAO}'
            '&amp;status=candidate">下载花名册') in html
    html = html_of(client.get("/console/venues?year=2024&kind=other"))
    assert f'href="/console/transfers/exports/venues?place_code={SUICHANG}">' in html
    assert (f'href="/console/transfers/exports/funding?place_code={SUICHANG}&amp;year=2024'
            '&amp;kind=other">下载经费保障情况统计表') in html


def test_without_the_export_route_the_links_go_to_the_transfers_page(monkeypatch):
    monkeypatch.delitem(views.HANDLERS, readonly.EXPORT_ENDPOINT)
    assert readonly.export_link("coverage", place_code=SUICHANG) == "/console/transfers"


def test_a_place_outside_the_members_reach_is_the_services_refusal(client, services):
    sign_in(client)
    for path in ("/console/enterprises", "/console/reserves", "/console/venues"):
        response = client.get(f"{path}?place={XIHU}")
        assert response.status_code == 403, path
        assert "无权操作" in html_of(response)
    # a malformed place is the member's own place
    client.get("/console/enterprises?place=33x")
    assert services.asked("coverage_report")[-1] == {"place_code": SUICHANG}


def test_a_member_without_the_role_is_refused_the_page(tmp_path):
    services = FakeServices(roles=("console.user", "cadres.read"))
    client = gateway_with(tmp_path, services)
    sign_in(client)
    response = client.get("/console/enterprises")
    assert response.status_code == 403 and "无权操作" in html_of(response)
    home = html_of(client.get("/console/reserves"))  # the menu shows only what it may
    assert 'href="/console/enterprises"' not in home


def test_the_pages_take_get_only(client, services):
    csrf = sign_in(client)
    for path in ("/console/enterprises", "/console/reserves", "/console/venues"):
        response = client.post(path, data={"csrf": csrf})
        assert response.status_code == 405, path


# -- 后备干部 -------------------------------------------------------------------------------
def shortfall_row(code, name, **counts):
    return {"place_code": code, "place_name": name, "villages": 12, "short": 2, "within": 9,
            "over": 1, "reserves": 30, "college_graduate_officials": 4, "missing": 3, **counts}


def shortfall(principal, params):
    return {"place_code": params["place_code"], "place_name": "遂昌县",
            "rules": {"reserve_min": 2, "reserve_max": 4},
            "total": shortfall_row(params["place_code"], "遂昌县", villages=200, short=7),
            "by_child_place": [shortfall_row(MIAOGAO, "妙高街道")],
            "short_villages": [{"place_code": "331123001201", "place_name": "北街社区",
                                "reserves": 1, "college_graduate_officials": 0,
                                "quota_status": "short", "quota_status_label": "不足"}],
            "over_villages": []}


ROSTER_COLUMNS = [{"key": "number", "title": "序号"}, {"key": "village", "title": "所在村"},
                  {"key": "name", "title": "姓名"}, {"key": "status", "title": "状态"},
                  {"key": "identity_number", "title": "身份证号码"}]


def roster(principal, params):
    """As cadres.reserve_roster: the identity number whole only for cadres.personal_data."""
    whole = "cadres.personal_data" in principal.roles
    number = "33112319900101123X" if whole else "33***************X"
    return {"title": "遂昌县村级后备干部花名册", "place_code": params["place_code"],
            "place_name": "遂昌县", "columns": ROSTER_COLUMNS,
            "rows": [{"number": "1", "village": "北街社区", "name": "王小明",
                      "status": "后备干部", "identity_number": number}],
            "next_cursor": "WyIzMzExMjMwMDEyMDEiLDFd"}


def test_the_reserves_page_shows_the_shortfall_and_the_roster(client, services):
    sign_in(client)
    response = client.get("/console/reserves")
    html = html_of(response)
    assert response.status_code == 200
    assert services.asked("reserve_shortfall") == [{"place_code": SUICHANG}]
    assert services.asked("reserve_roster") == [
        {"place_code": SUICHANG, "status": "reserve", "limit": 100, "after": None}]
    assert "遂昌县 · 村级后备干部" in html and "每村（社区）后备干部应为 2–4 名" in html
    assert '<span class="figure-n">7</span> 后备干部不足的村（社区）' in html
    assert f'href="/console/reserves?place={MIAOGAO}">妙高街道' in html
    assert "北街社区" in html and "不足" in html
    # the roster's own columns, in its order, and its next page
    assert re.search(r"序号</th>.*所在村</th>.*姓名</th>.*身份证号码</th>", html, re.S)
    assert '<th scope="row">王小明</th>' in html
    assert ('href="/console/reserves?place=331123000000&amp;status=reserve&amp;'
            'after=WyIzMzExMjMwMDEyMDEiLDFd" rel="next"') in html
    assert 'href="/console/reserves" aria-current="page"' in html


def test_identity_numbers_are_shown_as_the_service_gives_them(client, services, tmp_path):
    sign_in(client)  # cadres.read, not cadres.personal_data
    html = html_of(client.get("/console/reserves"))
    assert "33***************X" in html and "33112319900101123X" not in html
    # with the personal-data role the service gives it whole; the page shows it as given
    allowed = FakeServices(roles=(*READER_ROLES, "cadres.personal_data"))
    allowed.answers = services.answers
    other = gateway_with(tmp_path / "pd", allowed)
    sign_in(other)
    html = html_of(other.get("/console/reserves"))
    assert "33112319900101123X" in html and "****" not in html


def test_the_roster_status_filter_is_the_contracts(client, services):
    sign_in(client)
    client.get("/console/reserves?status=candidate")
    assert services.asked("reserve_roster")[-1]["status"] == "candidate"
    html = html_of(client.get("/console/reserves?status=nonsense"))
    assert services.asked("reserve_roster")[-1]["status"] == "reserve"
    assert '<option value="reserve" selected>后备干部</option>' in html


# -- 阵地经费 -------------------------------------------------------------------------------
def venue_report(principal, params):
    row = {"place_code": MIAOGAO, "place_name": "妙高街道", "venues": 20, "compliant": 18,
           "below_standard": 2, "in_progress": 1, "compliance_rate": "0.9000"}
    return {"place_code": params["place_code"], "rules": {},
            "total": {**row, "place_code": params["place_code"], "place_name": "遂昌县"},
            "by_child_place": [row],
            "below_standard": [{"id": 3, "place_code": "331123001201", "place_name": "北街社区",
                                "name": "北街社区党群服务中心", "area": "150.00",
                                "functions": ["party_activities"],
                                "function_labels": ["党员活动"],
                                "shortfalls": ["150.00 m², below the 300 m² of a 社区"
                                               " (面积不足300平方米)",
                                               "without 便民服务 (功能不全)"],
                                "in_progress": True}]}


def funding_report(principal, params):
    money = {"budget": "100000.00", "allocated": "80000.00", "disbursed": "50000.00",
             "undisbursed": "30000.00", "income": "12000.00"}
    return {"place_code": params["place_code"], "year": params["year"],
            "kind": params["kind"], "kind_label": None,
            "total": {"place_code": params["place_code"], "place_name": "遂昌县", **money},
            "own": {"place_code": params["place_code"], "place_name": "遂昌县", **money},
            "by_child_place": [{"place_code": MIAOGAO, "place_name": "妙高街道", **money}]}


def test_the_venues_page_shows_venues_below_standard_and_the_years_funding(client, services):
    import datetime as dt

    sign_in(client)
    response = client.get("/console/venues")
    html = html_of(response)
    assert response.status_code == 200
    year = dt.date.today().year
    assert services.asked("venue_report") == [{"place_code": SUICHANG}]
    assert services.asked("funding_report") == [
        {"place_code": SUICHANG, "year": year, "kind": None}]
    assert "90.0%" in html and "北街社区党群服务中心" in html
    # the shortfalls in Chinese only
    assert "面积不足300平方米；功能不全" in html and "below the" not in html
    assert f"{year} 年经费保障情况" in html and "80000.00" in html and "（本级）" in html
    assert f'id="f-year" name="year" type="number" value="{year}"' in html
    client.get(f"/console/venues?place={MIAOGAO}&year=2024&kind=venue_construction")
    assert services.asked("funding_report")[-1] == {
        "place_code": MIAOGAO, "year": 2024, "kind": "venue_construction"}


def test_a_year_the_service_refuses_is_said_at_the_year_field(client, services):
    sign_in(client)  # (the fake loads the params with the contract: its own refusal)
    response = client.get("/console/venues?year=1999")
    html = html_of(response)
    assert response.status_code == 400
    assert 'id="f-year-error">没有这个年度的统计：请填写四位数的年份<' in html
    assert "北街社区党群服务中心" in html  # the venues are still shown
