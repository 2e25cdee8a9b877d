"""A county staffer's day in Chromium against `make run` (issue 19, "Must show"): sign in,
find an organization by name, open a grading round and enter a township's scores on its
sheet, see the poor organization's case open in the ledger, plan it, print its notice,
complete its tasks, record the survey's counts and close it, see the acceptance and the
dashboard change; then make a township account, which is refused another township's
pages and actions. Every page is screenshot (tests/browser/artifacts/) and checked with
axe-core.

What a county has before its staff open the console — its organizations — is registered
over RPC, as the organizations service's import or another department's system would."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from tests.browser.conftest import ADMIN, ADMIN_PASSWORD, COUNTY, sign_in
from tests.support import eventually, rpc, token

SCORES = {"poor": 40, "average": 70, "good": 95}  # the same from every assessor
ASSESSORS = ("self", "members_public", "superior")
INDICATORS = ("leader", "ideas", "systems", "venue", "guarantees", "results", "public_opinion")


def seed(system) -> dict:
    """Three organizations in one township of the county, and a second township."""
    suffix = uuid.uuid4().hex[:4]
    with rpc(system.settings, token(system.settings.token_secrets[0])) as proxy:
        townships = [p["code"] for p in proxy.organizations.list_children(
            place_code=COUNTY)["items"]][:2]
        villages = [p["code"] for p in proxy.organizations.list_children(
            place_code=townships[0])["items"]][:3]
        orgs = {}
        for grade, village, name in zip(SCORES, villages, ("梅坞村", "桃源村", "竹山村"),
                                        strict=True):
            orgs[grade] = proxy.organizations.register_organization(
                name=f"{name}党支部{suffix}", kind="631", sector="rural_village",
                place_code=village, full_members=5, founded_on="2020-05-01")

        def known():
            try:
                for org in orgs.values():
                    proxy.evaluation.gradings_of(organization_id=org["id"])
                return True
            except Exception:  # noqa: BLE001 - not yet: the event is on its way
                return False

        eventually(known, what="evaluation knowing the organizations")
    return {"townships": townships, "orgs": orgs, "suffix": suffix}


def checked(page, step: str) -> None:
    """Screenshot, then no serious or critical axe-core violation on the page."""
    page.shot(step)
    assert page.axe() == [], f"{step}: {page.path}"


def set_value(page, css: str, value: str) -> None:
    """A field's value as a person would leave it (date inputs too, whatever the locale)."""
    element = page.find(css)
    page.driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", element, value)


def poor_baseline(page) -> int:
    """The dashboard's count of organizations whose baseline grade is 较差."""
    from selenium.webdriver.common.by import By
    cell = page.driver.find_element(
        By.XPATH, "//table[caption='按原定级']//tr[th='较差']/td[1]")
    return int(cell.text)


def submit_form(page, action_suffix: str) -> None:
    page.click(f"form[action$='{action_suffix}'] button[type=submit]")


def test_a_county_staffers_day(page, system):
    data = seed(system)
    township, other_township = data["townships"]
    orgs = data["orgs"]
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    checked(page, "dashboard-before")
    before = poor_baseline(page)

    # -- find an organization by a part of its name, open its page
    page.go("/console/organizations")
    checked(page, "organizations-tree")
    page.fill({"q": "梅坞"})
    page.click("form[action='/console/organizations/search'] button[type=submit]")
    assert orgs["poor"]["name"] in page.text
    checked(page, "organizations-search")
    page.link(orgs["poor"]["name"])
    assert page.path == f"/console/organizations/{orgs['poor']['id']}"
    assert "历年定级" in page.text
    checked(page, "organization")

    # -- open a round for the county, then the township's sheet, each assessor in turn
    page.go("/console/grading")
    checked(page, "grading-rounds")
    page.fill({"name": f"{dt.date.today().year}年度分类定级{data['suffix']}"})
    page.click("form[action='/console/grading'][method=post] button[type=submit]")
    round_path = page.path.split("?")[0]
    assert re.fullmatch(r"/console/grading/rounds/\d+", round_path), page.path
    checked(page, "grading-round")
    for assessor in ASSESSORS:
        page.go(f"{round_path}?township={township}&assessor={assessor}")
        for grade, org in orgs.items():
            for indicator in INDICATORS:
                page.fill({f"s-{org['id']}-{indicator}": str(SCORES[grade])})
        page.click(f"form[action^='{round_path}'][method=post] button.primary")
        assert "保存" in page.text
    text = page.text
    assert "较差" in text and "一般" in text and "好" in text
    checked(page, "grading-sheet")

    # -- the poor organization's case opens in the ledger (grade_assigned, asynchronous)
    def listed():
        page.go(f"/console/ledger?place={COUNTY}")
        return orgs["poor"]["name"] in page.text

    eventually(listed, what="the case in the ledger")
    checked(page, "ledger")
    page.link(orgs["poor"]["name"])
    case_path = page.path.split("?")[0].split("#")[0]
    assert re.fullmatch(r"/console/ledger/cases/\d+", case_path), page.path
    checked(page, "case-planning")

    # -- the plan, two tasks
    soon = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    page.fill({"main_problems": "班子软弱涣散，组织生活不正常",
               "measures": "调整充实班子\n规范三会一课"})
    for n, (content, who) in enumerate((("选优配强村党支部书记", "乡镇组织委员"),
                                        ("规范组织生活", "村党支部书记")), start=1):
        page.fill({f"task{n}_content": content, f"task{n}_responsible": who})
        set_value(page, f"#plan-task{n}_deadline", soon)
    submit_form(page, "/plan")
    assert "整改方案已保存" in page.text
    checked(page, "case-planned")

    # -- its public notice, as printed
    page.go(f"{case_path}/notice")
    assert orgs["poor"]["name"] in page.text and "班子软弱涣散" in page.text
    page.shot("notice")
    page.go(case_path)

    # -- each task completed; the last one submits the case
    for _ in range(2):
        page.click("form[action$='/complete'] button[type=submit]")
    assert not page.find_all("form[action$='/complete']")
    checked(page, "case-tasks-done")

    # -- the survey (opened by evaluation when the case was submitted): counts, close
    def survey_open():
        page.go(case_path)
        return page.find_all("form[action$='/counts']")

    eventually(survey_open, what="the survey on the case page")
    for answer, count in (("satisfied", "8"), ("fairly_satisfied", "1"),
                          ("dissatisfied", "1")):
        page.fill({answer: count})
    submit_form(page, "/counts")
    checked(page, "case-counts")
    submit_form(page, "/close")

    def accepted():
        page.go(case_path)
        return "已验收" in page.text

    eventually(accepted, what="the case accepted")
    assert "已销号" in page.text
    checked(page, "case-accepted")

    # -- the dashboard changed: the county's organizations graded poor at baseline
    page.go("/console/")
    assert poor_baseline(page) == before + 1
    checked(page, "dashboard-after")

    # -- a township account, made by the county's administrator in the console
    username = f"town{data['suffix']}"
    page.go("/console/accounts/-/new")
    page.fill({"username": username, "display_name": "王五", "department": "乡镇党委",
               "place_code": other_township, "password": "Township-2026-first",
               "password_again": "Township-2026-first"})
    for role in ("organizations.read", "organizations.write", "evaluation.read"):
        page.tick(f"input[name='role.{role}']")
    page.click("form[action='/console/accounts/-/new'] button[type=submit]")
    assert "账号已创建" in page.text
    checked(page, "account-created")
    page.click("form[action='/console/logout'] button")

    # It signs in, chooses its own password first, signs in again.
    page.go("/console/login")
    page.fill({"username": username, "password": "Township-2026-first"})
    page.click("button[type=submit]")
    assert page.path == "/console/password?first=1"
    checked(page, "first-password")
    page.fill({"old_password": "Township-2026-first", "new_password": "Wangwu-own-2026",
               "new_password_again": "Wangwu-own-2026"})
    page.click("form[action='/console/password'] button[type=submit]")
    assert "请用新密码重新登录" in page.text
    sign_in(page, username, "Wangwu-own-2026")

    # Another township's organization and case: the page for a record that does not exist.
    for path in (f"/console/organizations/{orgs['poor']['id']}", case_path,
                 f"{case_path}/notice"):
        page.go(path)
        assert "未找到" in page.text and orgs["poor"]["name"] not in page.text, path
    page.shot("township-refused")
    page.go("/console/organizations/999999999")
    missing = page.text
    page.go(f"/console/organizations/{orgs['poor']['id']}")
    assert page.text == missing
    # An action there, posted from its own page with its own CSRF field: refused, and
    # nothing changes (the form is built in the page as a forged one would be).
    page.go("/console/password")
    csrf = page.find("input[name=csrf]").get_attribute("value")
    page.driver.execute_script(
        "const f = document.createElement('form'); f.method = 'post';"
        "f.action = arguments[0];"
        "for (const [k, v] of Object.entries(arguments[1])) {"
        "  const i = document.createElement('input'); i.type = 'hidden'; i.name = k;"
        "  i.value = v; f.appendChild(i); }"
        "document.body.appendChild(f); setTimeout(() => f.submit(), 0);",
        f"{case_path}/postings", {"csrf": csrf, "request_id": uuid.uuid4().hex,
                                  "posted_on": dt.date.today().isoformat(),
                                  "location": "村务公开栏"})
    eventually(lambda: "未找到" in page.text, what="the refusal page")
    with rpc(system.settings, token(system.settings.token_secrets[0])) as proxy:
        case = proxy.organizations.get_case(case_id=int(case_path.rsplit("/", 1)[1]))
    assert not any(p["location"] == "村务公开栏" for p in case["postings"])
