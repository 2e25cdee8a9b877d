"""The console's ledger pages (台账) against the real gateway (gunicorn) and the real
organizations, evaluation and accounts services: a village organization graded poor opens
a case; a county staff member finds it on the ledger, sets its plan, completes its tasks,
records the survey's counts and closes it, and sees the acceptance open; a township
account is told "not found" for another township's case, exactly as for a case that does
not exist, and its complete-task POST changes nothing (issue 19)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from shared.errors import NotFound
from tests.integration.test_console_security import Browser, account, csrf_of
from tests.support import (
    NOWHERE,
    SUICHANG,
    Gateway,
    eventually,
    rpc,
    sample_places,
    services_running,
    token,
)

TODAY = dt.date.today().isoformat()
SOON = (dt.date.today() + dt.timedelta(days=30)).isoformat()
WRITER = ("organizations.read", "organizations.write", "evaluation.read", "evaluation.write")


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret, tmp_path_factory):
    with services_running(databases, base_settings, "console_ledger", "organizations",
                          "evaluation", "accounts") as running:
        admin = token(token_secret)  # the province, every role: the tests' administrator
        with rpc(running.settings, admin) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG))
            townships = [p["code"] for p in proxy.organizations.list_children(
                place_code=SUICHANG)["items"]][:2]
            village = proxy.organizations.list_children(place_code=townships[0])["items"][0]
            org = proxy.organizations.register_organization(
                name=f"梅坞村党支部{uuid.uuid4().hex[:4]}", kind="631", sector="rural_village",
                place_code=village["code"], full_members=5, founded_on="2024-01-01")
            eventually(lambda: _known_to_evaluation(proxy, org["id"]))
            round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=2026,
                                                 name="2026年度分类定级")
            proxy.evaluation.set_grade(round_id=round_["id"], organization_id=org["id"],
                                       grade="poor", reason="班子软弱涣散，列为后进")
            case = eventually(lambda: proxy.organizations.cases_of(
                organization_id=org["id"])["items"])[0]
        running.proxy_token, running.townships = admin, townships
        running.organization, running.case = org, case
        with Gateway(running.settings, tmp_path_factory.mktemp("console_ledger"),
                     workers=1, threads=4) as gateway:
            running.gateway = gateway
            yield running


def _known_to_evaluation(proxy, organization_id: int) -> bool:
    try:
        proxy.evaluation.acceptances_of(organization_id=organization_id)
        return True
    except NotFound:
        return False


def post_forms(html: str) -> dict[str, str]:
    """The page's ledger forms: action → the form's HTML."""
    return {m[1]: m[0] for m in re.finditer(
        r'<form method="post" action="(/console/ledger[^"]*)".*?</form>', html, re.S)}


def submit(browser: Browser, form_html: str, action: str, **values):
    """POST a form of the page as a browser would: its hidden fields and `values`."""
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
                             form_html))
    return browser.post(action, {**hidden, **values})


def signed_in(stack, place: str, roles=WRITER) -> Browser:
    browser = Browser(stack.gateway.url)
    assert browser.sign_in(account(stack, place=place, roles=roles))[0] == 303
    return browser


def case_of(stack) -> dict:
    with rpc(stack.settings, stack.proxy_token) as proxy:
        return proxy.organizations.get_case(case_id=stack.case["id"])


def test_another_townships_case_is_not_found_as_a_missing_one_is(stack):
    case_id = stack.case["id"]
    page = f"/console/ledger/cases/{case_id}"
    theirs = signed_in(stack, stack.townships[1], roles=("organizations.read",
                                                           "organizations.write"))
    if case_of(stack)["status"] == "planning":  # an open task for the POST to aim at
        with rpc(stack.settings, stack.proxy_token) as proxy:
            proxy.organizations.add_task(case_id=case_id, content="整顿软弱班子",
                                         responsible="乡镇组织委员", deadline=SOON)
    before = case_of(stack)
    for path in (page, f"{page}/notice"):
        missing = theirs.get(path.replace(str(case_id), str(NOWHERE)))
        found = theirs.get(path)
        assert (found[0], missing[0]) == (404, 404), path
        assert found[2] == missing[2] and "未找到该整改事项" in found[2]
    # a form POSTed by hand (with this session's own CSRF field): nothing done
    csrf = csrf_of(theirs.get("/console/ledger")[2])
    assert [t["status"] for t in before["tasks"]] == ["open"]
    for task_id in [t["id"] for t in before["tasks"]]:
        response = theirs.post(f"{page}/tasks/{task_id}/complete", {
            "csrf": csrf, "request_id": uuid.uuid4().hex, "done_on": TODAY})
        missing = theirs.post(f"/console/ledger/cases/{NOWHERE}/tasks/{NOWHERE}/complete", {
            "csrf": csrf, "request_id": uuid.uuid4().hex, "done_on": TODAY})
        assert (response[0], missing[0]) == (404, 404)
        assert response[2] == missing[2]
    response = theirs.post(f"{page}/postings", {
        "csrf": csrf, "request_id": uuid.uuid4().hex, "posted_on": TODAY, "location": "x"})
    assert response[0] == 404
    assert case_of(stack) == before  # unchanged


def test_a_case_from_the_ledger_to_its_acceptance(stack):
    case_id, org = stack.case["id"], stack.organization
    page = f"/console/ledger/cases/{case_id}"
    county = signed_in(stack, SUICHANG)

    # the ledger lists the case, linked to its page
    status, _, html = county.get("/console/ledger")
    assert status == 200 and f'href="{page}">{org["name"]}<' in html
    assert "制定整改方案" in html and '<span class="badge warn">挂牌</span>' in html
    status, _, html = county.get(f"/console/ledger?place={SUICHANG}&status=accepted")
    assert status == 200 and f'href="{page}"' not in html

    # the case page: in planning, its plan form
    status, _, html = county.get(page)
    assert status == 200 and "制定整改方案" in html and "较差" in html
    status, headers, _ = submit(county, post_forms(html)[f"{page}/plan"], f"{page}/plan",
                                main_problems="班子软弱涣散，阵地建设滞后",
                                measures="调整充实班子\n新建村级活动场所",
                                task1_content="选优配强村党支部书记",
                                task1_responsible="乡镇组织委员", task1_deadline=SOON,
                                task2_content="建成活动场所", task2_responsible="村委会主任",
                                task2_deadline=SOON)
    assert (status, headers["Location"]) == (303, f"{page}?done=plan#plan")

    # the printable notice: the service's page under the console's headers
    status, headers, html = county.get(f"{page}/notice")
    assert status == 200 and org["name"] in html and "班子软弱涣散" in html
    # no script and no source but its own style, allowed by that style's hash
    assert re.fullmatch(r"default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; "
                        r"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                        headers["Content-Security-Policy"])
    assert headers["Cache-Control"] == "no-store"

    # each task completed from its own form; the last one submits the case
    status, _, html = county.get(f"{page}?done=plan")
    assert "整改方案已保存" in html and "整改中" in html
    forms = {action: form for action, form in post_forms(html).items()
             if action.endswith("/complete")}
    assert len(forms) >= 2  # the plan's two (and one added by hand, if the test above ran)
    locations = [submit(county, form, action, done_on=TODAY)[1]["Location"]
                 for action, form in forms.items()]
    assert locations == [f"{page}?done=complete#tasks"] * (len(forms) - 1) + [
        f"{page}?done=submitted#tasks"]
    assert case_of(stack)["status"] == "submitted"

    # the round's survey opens in evaluation: counts recorded, then closed (passed)
    def survey_forms():
        html = county.get(page)[2]
        return {a: f for a, f in post_forms(html).items() if "/surveys/" in a} or None

    forms = eventually(survey_forms)
    counts = next(a for a in forms if a.endswith("/counts"))
    status, headers, _ = submit(county, forms[counts], counts, satisfied="7",
                                fairly_satisfied="1", basically_satisfied="1",
                                dissatisfied="1")
    assert status == 303 and "done=counts" in headers["Location"]
    status, _, html = county.get(page)
    assert "整改落实满意度测评" in html and "<td>7</td>" in html
    close = counts.replace("/counts", "/close")
    status, headers, _ = submit(county, post_forms(html)[close], close)
    assert status == 303 and "done=passed" in headers["Location"]

    # accepted (organizations hears survey_closed), and the acceptance opens for stars
    def accepted():
        html = county.get(page)[2]
        return "已验收" in html and "待定星" in html and html

    html = eventually(accepted)
    assert "已销号" in html and "可评 0、1 星" in html
    assert any(a.endswith("/stars") for a in post_forms(html))
    status, _, html = county.get(f"/console/ledger?place={SUICHANG}&status=accepted")
    assert f'href="{page}"' in html
