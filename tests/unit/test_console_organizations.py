"""The console's 组织 pages (views/organizations.py) in-process, the services replaced by a
fake that keeps the contract's promises: every call's token verified, the contract's role
required, the parameters loaded by the contract's schema and the answer dumped by its
result schema, jurisdiction as the services hold it (a place outside: Forbidden; an
organization outside: the same NotFound as a missing one). Rendering, paging, escaping.
(tests/integration/test_console_organizations.py does it against the real services.)"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import marshmallow
import pytest
from werkzeug.test import Client

from services.gateway.app import Gateway
from services.gateway.console import security
from services.organizations.domain import name_key
from shared import contracts
from shared.contracts.common import encode_cursor
from shared.errors import NotFound, ValidationError
from shared.national import regions
from shared.platform import auth, config

SECRET = "console-organizations-" + "x" * 40
PROVINCE, LISHUI, SUICHANG = "330000000000", "331100000000", "331123000000"
TOWN, OTHER_TOWN, VILLAGE = "331123001000", "331123002000", "331123001001"
PLACES = {
    PROVINCE: ("浙江省", "province", "province", None),
    LISHUI: ("丽水市", "city", "city", PROVINCE),
    SUICHANG: ("遂昌县", "county", "county", LISHUI),
    TOWN: ("妙高街道", "township", "sub_district", SUICHANG),
    OTHER_TOWN: ("云峰街道", "township", "sub_district", SUICHANG),
    VILLAGE: ("和桥社区", "village", "community", TOWN),
}
READER = ("console.user", "organizations.read", "evaluation.read")


def organization(org_id: int, name: str, place: str, **extra) -> dict:
    return {"id": org_id, "name": name, "kind": "631", "sector": "urban_community",
            "place_code": place, "place_name": PLACES[place][0], "parent_id": None,
            "full_members": 12, "probationary_members": 1, "committee_size": 3, "units": [],
            "founded_on": "2010-05-01", "elected_on": "2023-05-01",
            "term_ends_on": "2028-05-01", "status": "active", "status_changed_on": None,
            "status_reason": None, "merged_into_id": None, "baseline_grade": "average",
            "current_grade": "fairly_good", "flags": [], "version": 3,
            "updated_at": "2026-01-01T00:00:00+00:00", **extra}


class FakeServices:
    """organizations.*, evaluation.* and accounts.session_valid as the contract says."""

    def __init__(self):
        self.verifier = auth.TokenVerifier((SECRET,))
        self.calls: list[tuple[str, str, dict]] = []
        self.orgs: dict[int, dict] = {
            1: organization(1, "中共遂昌县委组织部机关支部委员会", SUICHANG),
            2: organization(2, "中共和桥社区支部委员会", VILLAGE, parent_id=3),
            3: organization(3, "中共妙高街道工作委员会", TOWN, kind="611",
                            sector="government_agency"),
            4: organization(4, "中共云峰街道工作委员会", OTHER_TOWN, kind="611"),
            5: organization(5, "<script>alert(1)</script>党支部", TOWN,
                            flags=[{"code": "reelection_due"}]),
        }

    def add_many(self, count: int, place: str = VILLAGE) -> None:
        for index in range(count):
            org_id = 100 + index
            self.orgs[org_id] = organization(org_id, f"中共和桥第{index}网格党支部", place)

    def call(self, service, method, params, *, token=None, call_id=None, timeout=None):
        principal = self.verifier.verify(token)
        if (service, method) == ("accounts", "session_valid"):
            principal.require_role("accounts.sign_in")
            return {"valid": True}
        self.calls.append((service, method, dict(params)))
        contract = contracts.RPC[(service, method)]
        principal.require_role(contract.role)
        try:
            loaded = contract.params.load(params)
        except marshmallow.ValidationError as error:
            raise ValidationError("invalid parameters", error.messages) from None
        answer = getattr(self, f"{service}_{method}")(principal, **loaded)
        return contract.result.dump(typed(answer))

    def methods(self) -> list[str]:
        return [f"{service}.{method}" for service, method, _ in self.calls]

    def params_of(self, method: str) -> dict:
        return next(p for s, m, p in reversed(self.calls) if f"{s}.{m}" == method)

    # -- organizations ---------------------------------------------------------------
    @staticmethod
    def _place(code: str) -> dict:
        if code not in PLACES:
            raise NotFound(f"no place {code} (未找到该地区)", {"code": code})
        name, level, kind, parent = PLACES[code]
        return {"code": code, "name": name, "level": level, "kind": kind, "parent_code": parent}

    def organizations_place_path(self, principal, place_code):
        self._place(place_code)
        return {"items": [self._place(c) for c in (*regions.ancestors(place_code), place_code)
                          if c in PLACES]}

    def organizations_list_children(self, principal, place_code):
        self._place(place_code)
        return {"items": [self._place(c) for c, p in sorted(PLACES.items())
                          if p[3] == place_code]}

    def organizations_list_organizations(self, principal, place_code, kind, sector, status,
                                         grade, name, limit, after):
        principal.require_place(place_code)
        rows = sorted((o for o in self.orgs.values()
                       if regions.in_subtree(o["place_code"], place_code)
                       and o["status"] == status and kind in (None, o["kind"])
                       and sector in (None, o["sector"]) and grade in (None, o["current_grade"])
                       and (name is None or name_key(name) in name_key(o["name"]))),
                      key=lambda o: (o["place_code"], o["id"]))
        if after is not None:
            rows = [o for o in rows if (o["place_code"], o["id"]) > tuple(after)]
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": rows, "next_cursor": encode_cursor(
            [rows[-1]["place_code"], rows[-1]["id"]]) if more else None}

    def _org(self, principal, organization_id) -> dict:
        org = self.orgs.get(organization_id)
        absent = NotFound(f"no organization {organization_id} (未找到该党组织)",
                          {"organization_id": organization_id})
        if org is None:
            raise absent
        principal.require_visible(org["place_code"], absent)
        return org

    def organizations_get_organization(self, principal, organization_id):
        return self._org(principal, organization_id)

    def organizations_get_leadership(self, principal, organization_id):
        org = self._org(principal, organization_id)
        return {"organization_id": org["id"], "committee_size": 3, "complete": False,
                "problems": [{"code": "committee_short"}],
                "leaders": [{"id": 1, "organization_id": org["id"], "post": "secretary",
                             "name": "王<b>芳</b>", "sex": "female", "birth_date": None,
                             "from_unit": None, "method": "election",
                             "started_on": "2023-05-01", "ended_on": None,
                             "end_reason": None}],
                "open_vacancies": [{"id": 9, "organization_id": org["id"],
                                    "post": "committee_member", "reason": "unfilled",
                                    "opened_on": "2010-05-01", "status": "open",
                                    "filled_on": None, "fill_method": None,
                                    "filled_by_leader_id": None}],
                "filled_vacancies": [], "former_leaders": []}

    def organizations_cases_of(self, principal, organization_id):
        org = self._org(principal, organization_id)
        return {"items": [{"id": 7, "organization_id": org["id"], "organization_name": org["name"],
                           "place_code": org["place_code"], "place_name": org["place_name"],
                           "grade": "poor", "grade_round_id": 2, "listed": True,
                           "status": "in_progress", "round": 1, "main_problems": None,
                           "measures": [], "opened_on": "2025-03-01", "submitted_on": None,
                           "accepted_on": None, "crossed_off_on": None, "tasks": [],
                           "help": [], "postings": [], "version": 1}]}

    def organizations_commitments_of(self, principal, organization_id, year):
        org = self._org(principal, organization_id)
        return {"items": [{"id": 1, "organization_id": org["id"],
                           "organization_name": org["name"], "committer": "organization",
                           "member_name": None, "sentence": "为民办实事，件件有回音。",
                           "year": 2025, "made_on": "2025-02-01", "result": None,
                           "checks": []}]}

    def organizations_systems_of(self, principal, organization_id):
        org = self._org(principal, organization_id)
        return {"organization_id": org["id"], "items": [
            {"id": 1, "organization_id": org["id"], "name": "党员议事制度",
             "category": "democratic_supervision", "established_on": "2024-01-01", "content": None}]}

    # -- evaluation -------------------------------------------------------------------
    def evaluation_gradings_of(self, principal, organization_id):
        self._org(principal, organization_id)
        return {"items": [
            {"round_id": 9, "round_name": "2026年度分类定级", "year": 2026, "score": None,
             "grade": "fairly_good", "method": "set", "reason": "整改后晋位",
             "is_baseline": False, "graded_at": "2026-03-01T08:00:00+00:00"},
            {"round_id": 5, "round_name": "2025年度分类定级", "year": 2025, "score": "72.50",
             "grade": "average", "method": "computed", "reason": None,
             "is_baseline": True, "graded_at": "2025-03-01T08:00:00+00:00"}]}

    def evaluation_acceptances_of(self, principal, organization_id):
        org = self._org(principal, organization_id)
        return {"items": [{"id": 3, "organization_id": org["id"], "case_id": 7,
                           "grade": "fairly_good", "allowed_stars": [3, 4], "status": "rated",
                           "score": "88.50", "suggested_stars": 4, "stars": 4,
                           "reason": "整改到位", "rated_by": "县委组织部",
                           "opened_on": "2025-09-01", "rated_on": "2025-10-01"}]}

    def evaluation_moving_up_organizations(self, principal, place_code, baseline_grade,
                                           moved_up, limit, after):
        principal.require_place(place_code)
        rows = [{"organization_id": 2, "name": "中共和桥社区支部委员会", "place_code": VILLAGE,
                 "baseline_grade": baseline_grade, "current_grade": "good", "stars": None,
                 "first_good_stars": None, "last_good_stars": None, "moved_up": True}]
        return {"items": [r for r in rows if moved_up in (None, r["moved_up"])],
                "next_cursor": None}


def typed(value):
    """The fake's canned answer as a service holds it: ISO days and times as dates."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return dt.date.fromisoformat(value)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T.*", value):
        return dt.datetime.fromisoformat(value)
    return value


@pytest.fixture
def services():
    return FakeServices()


@pytest.fixture
def gateway(tmp_path, services):
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path), "JINWEI_TOKEN_SECRET": SECRET})
    return Gateway(settings, rpc=services)


def member(gateway, place: str = SUICHANG, roles=READER) -> Client:
    """A browser signed in as a member at `place` with `roles` (the session's token as
    accounts.sign_in would issue it)."""
    client = Client(gateway)
    client.set_cookie(security.SESSION_COOKIE, auth.issue_token(
        SECRET, subject="zhangsan", department="遂昌县委组织部", place_code=place,
        system="console", roles=list(roles)))
    return client


def get(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:2000]
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<script" not in html.lower()  # no script, ever (and names escaped)
    assert ' style="' not in html  # the CSP allows no inline style
    return html


def links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]+)"', html)]


def rows(html: str) -> list[str]:
    return re.findall(r"<tr><th scope=\"row\">(.*?)</th>", html, re.S)


def test_the_tree_shows_the_path_the_child_places_and_the_organizations(gateway, services):
    html = get(member(gateway), "/console/organizations")
    assert 'aria-current="page">组织</a>' in html  # the menu item
    assert "<h1>遂昌县 · 县(市、区)党组织</h1>" in html
    # the breadcrumb: the places above the member's own are names, not links
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', html, re.S).group(0)
    assert "浙江省" in crumbs and "/console/organizations?place=" + PROVINCE not in crumbs
    assert '<span aria-current="page">遂昌县</span>' in crumbs
    # the child places, each to its own tree
    assert f"/console/organizations?place={TOWN}" in links(html)
    assert f"/console/organizations?place={OTHER_TOWN}" in links(html)
    # the organizations of the subtree, each to its page; the search box
    for org_id in (1, 2, 3, 4):
        assert f"/console/organizations/{org_id}" in links(html)
    assert "党委" in html and "较好" in html and "正常" in html
    assert 'action="/console/organizations/search"' in html and 'name="q"' in html
    assert '<label for="f-q">' in html
    listed = services.params_of("organizations.list_organizations")
    assert (listed["place_code"], listed["limit"], listed["after"]) == (SUICHANG, 50, None)


def test_a_place_below_is_its_own_tree_and_a_village_has_no_children(gateway):
    client = member(gateway)
    html = get(client, f"/console/organizations?place={TOWN}")
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', html, re.S).group(0)
    assert f"/console/organizations?place={SUICHANG}" in links(crumbs)  # back up to the county
    assert "/console/organizations/3" in links(html)
    assert "/console/organizations/4" not in links(html)  # another township's
    html = get(client, f"/console/organizations?place={VILLAGE}")
    assert "下级区划" not in html and "/console/organizations/2" in links(html)


def test_a_place_outside_the_members_reach_is_the_services_refusal(gateway):
    html = get(member(gateway, place=TOWN), f"/console/organizations?place={OTHER_TOWN}", 403)
    assert "无权操作" in html


def test_names_are_escaped(gateway):
    client = member(gateway)
    for path in ("/console/organizations?place=" + TOWN, "/console/organizations/5",
                 "/console/organizations/search?q=script"):
        html = get(client, path)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;党支部" in html
    assert "王&lt;b&gt;芳&lt;/b&gt;" in get(client, "/console/organizations/5")


def test_pages_follow_the_cursor_without_repeating_it(gateway, services):
    services.add_many(120)
    client = member(gateway)
    seen, path, pages = [], f"/console/organizations?place={TOWN}", 0
    while path:
        html = get(client, path)
        pages += 1
        seen += re.findall(r'href="/console/organizations/(\d+)"', html)
        following = [h for h in links(html) if "after=" in h]
        if pages > 1:
            assert "回到第一页" in html
        if not following:
            break
        (path,) = following
        query = parse_qs(urlsplit(path).query)
        assert len(query["after"]) == 1 and query["place"] == [TOWN]
    assert pages == 3  # 50 + 50 + 23 organizations under the township
    assert len(seen) == len(set(seen)) == 123


def test_search_finds_names_containing_the_text_within_the_subtree(gateway, services):
    client = member(gateway, place=TOWN)
    html = get(client, "/console/organizations/search?q=%E5%92%8C%E6%A1%A5")  # 和桥
    assert "/console/organizations/2" in links(html)
    assert "/console/organizations/3" not in links(html)
    assert 'value="和桥"' in html and "名称包含“和桥”" in html
    assert services.params_of("organizations.list_organizations") == {
        "place_code": TOWN, "name": "和桥", "status": "active", "limit": 50, "after": None}
    # another township's organization is not found from here
    html = get(client, "/console/organizations/search?q=云峰")
    assert "/console/organizations/4" not in links(html) and "没有找到" in html
    # and that township is not this member's to search
    get(client, f"/console/organizations/search?q=云峰&place={OTHER_TOWN}", 403)


def test_an_empty_search_asks_nothing_and_a_bad_one_is_said_at_the_field(gateway, services):
    client = member(gateway)
    html = get(client, "/console/organizations/search")
    assert "organizations.list_organizations" not in services.methods()
    assert 'name="q"' in html
    html = get(client, "/console/organizations/search?q=" + "党" * 51, 400)
    assert 'aria-invalid="true" aria-describedby="f-q-error"' in html
    assert re.search(r'id="f-q-error">请输入名称中的 1–50 个字', html)


def test_the_dashboards_links_show_the_moving_up_drill_down(gateway, services):
    client = member(gateway)
    html = get(client, f"/console/organizations/list?place={SUICHANG}&baseline=average"
                       "&moved_up=1")
    assert services.params_of("evaluation.moving_up_organizations") == {
        "place_code": SUICHANG, "baseline_grade": "average", "moved_up": True, "limit": 50,
        "after": None}
    assert "原定级“一般”的党组织（已晋位）" in html
    assert "/console/organizations/2" in links(html)
    html = get(client, f"/console/organizations/list?place={SUICHANG}&baseline=average")
    assert services.params_of("evaluation.moving_up_organizations")["moved_up"] is None
    # a grade that is none: the service's refusal, said on the page
    html = get(client, f"/console/organizations/list?place={SUICHANG}&baseline=best", 400)
    assert 'class="error-box" role="alert"' in html


def test_the_list_filters_by_list_organizations_own_filters(gateway, services):
    html = get(member(gateway), f"/console/organizations/list?place={SUICHANG}&kind=611")
    assert services.params_of("organizations.list_organizations") == {
        "place_code": SUICHANG, "kind": "611", "sector": None, "status": "active",
        "grade": None, "limit": 50, "after": None}
    assert "/console/organizations/3" in links(html) and "/console/organizations/2" not in links(html)
    assert '<option value="611" selected>党委</option>' in html
    for name in ("kind", "sector", "status", "grade"):
        assert f'<label for="f-{name}">' in html


def test_an_organizations_page_shows_every_part_the_member_may_see(gateway, services):
    html = get(member(gateway), "/console/organizations/2")
    assert "<h1>中共和桥社区支部委员会</h1>" in html
    assert "/console/organizations/3" in links(html)  # the parent
    assert f"/console/organizations?place={VILLAGE}" in links(html)
    assert "一般" in html and "较好" in html  # baseline and current grade
    assert "班子" in html and "委员未配齐" in html and "书记" in html and "选举产生" in html
    assert "空缺职位" in html
    assert "验收与星级" in html and "4 星" in html
    # grades over the years, newest first, the baseline marked
    assert re.search(r"历年定级.*2026.*2026年度分类定级.*较好.*上级直接确定.*整改后晋位"
                     r".*2025.*72\.50.*一般.*原定级.*按得分评定", html, re.S)
    assert "/console/ledger/cases/7" in links(html) and "挂牌" in html
    assert "为民办实事" in html and "党员议事制度（民主监督制度" in html
    assert html.count("<h1>") == 1


def test_a_part_whose_role_the_member_lacks_is_left_out(gateway, services):
    html = get(member(gateway, roles=("console.user", "organizations.read")),
               "/console/organizations/2")
    assert "验收与星级" not in html and "历年定级" not in html
    assert "班子" in html and "整改" in html
    assert "evaluation.acceptances_of" in services.methods()  # asked, refused, left out


def test_an_organization_outside_reach_is_the_same_page_as_a_missing_one(gateway):
    client = member(gateway, place=TOWN)
    theirs = client.get("/console/organizations/4")  # another township's
    missing = client.get("/console/organizations/999")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_data() == missing.get_data()
    assert "未找到该党组织" in theirs.get_data(as_text=True)
    assert "云峰" not in theirs.get_data(as_text=True)


def test_a_parent_outside_reach_is_named_by_its_number_only(gateway):
    html = get(member(gateway, place=VILLAGE), "/console/organizations/2")
    assert "/console/organizations/3" not in links(html) and "编号 3" in html
