"""The console's grading sheet against the real services (organizations, evaluation,
accounts) and a real gunicorn gateway: a township's clerk, signed in, enters the scores
of the township's village organizations in the county's round on the sheet — as each of
the three assessors in turn — and sees the grades computed by the evaluation service;
a bad cell is said next to its input while the other rows are saved; a resubmitted form
applies nothing twice; and the same account is refused another township's sheet
(issue 19, 定级)."""

from __future__ import annotations

import re
import uuid

import pytest

from shared.contracts.evaluation import INDICATORS
from shared.errors import NotFound
from tests.integration.test_console_security import PASSWORD, Browser
from tests.support import (
    SUICHANG,
    Gateway,
    eventually,
    operator_token,
    rpc,
    sample_places,
    services_running,
    token,
)
from tests.unit.test_console_grading import fill, form_of

ROLES = ("organizations.read", "evaluation.read", "evaluation.write")


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret, tmp_path_factory):
    with services_running(databases, base_settings, "consolegrade", "organizations",
                          "evaluation", "accounts") as running:
        admin = token(token_secret)
        with rpc(running.settings, admin) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG))
            townships = [p["code"] for p in proxy.organizations.list_children(
                place_code=SUICHANG)["items"] if p["kind"] in ("town", "township")][:2]
            villages = [p["code"] for p in proxy.organizations.list_children(
                place_code=townships[0])["items"] if p["kind"] == "village"][:3]
            mine = [register(proxy, place, name) for place, name in zip(
                villages, ("华浦村党支部", "梅坞村党支部", "石练村党支部"), strict=True)]
            elsewhere = [p["code"] for p in proxy.organizations.list_children(
                place_code=townships[1])["items"] if p["kind"] == "village"][0]
            theirs = register(proxy, elsewhere, "别乡某村党支部")
            round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=2026,
                                                 name="2026年度分类定级")
        running.admin, running.townships, running.round = admin, townships, round_["id"]
        running.mine, running.theirs = mine, theirs
        with Gateway(running.settings, tmp_path_factory.mktemp("console-grading"),
                     workers=1, threads=4) as gateway:
            running.gateway = gateway
            yield running


def register(proxy, place: str, name: str) -> dict:
    org = proxy.organizations.register_organization(
        name=name, kind="631", sector="rural_village", place_code=place, full_members=5,
        founded_on="2024-01-01")

    def known():  # evaluation learns of it from organization_registered
        try:
            proxy.evaluation.acceptances_of(organization_id=org["id"])
            return True
        except NotFound:
            return False

    eventually(known)
    return org


def clerk(stack, place: str) -> Browser:
    """A browser signed in as a new account of `place` that grades."""
    username = f"grader.{uuid.uuid4().hex[:10]}"
    with rpc(stack.settings, operator_token(stack.settings.token_secrets[0])) as proxy:
        proxy.accounts.create_account(
            request_id=str(uuid.uuid4()), username=username, display_name="组织委员",
            department="乡镇党委", place_code=place, roles=list(ROLES), password=PASSWORD)
    browser = Browser(stack.gateway.url)
    assert browser.sign_in(username)[0] == 303
    return browser


def row_of(html: str, organization_id: int) -> str:
    start = html.index(f'<tr id="row-{organization_id}">')
    return html[start:html.index("</tr>", start)]


def test_a_township_enters_its_scores_on_the_sheet_and_sees_the_grades(stack):
    township = stack.townships[0]
    browser = clerk(stack, township)
    rounds = f"/console/grading/rounds/{stack.round}"
    status, headers, _ = browser.get(rounds)  # the county's round: to the clerk's township
    assert (status, headers["Location"]) == (303, f"{rounds}?township={township}")
    good, average, bad = (org["id"] for org in stack.mine)
    values = {good: (95, 92, 90), average: (70, 70, 70), bad: (50, 60, 55)}

    for turn, assessor in enumerate(("self", "members_public", "superior")):
        sheet = f"{rounds}?township={township}&assessor={assessor}"
        status, _, html = browser.get(sheet)
        assert status == 200, html[:800]
        for org in stack.mine:
            assert f'<label class="sr-only" for="s-{org["id"]}-leader">{org["name"]} 带头人' in html
        assert "别乡某村党支部" not in html
        form = form_of(html)
        for org_id, by_assessor in values.items():
            fill(form, org_id, {name: str(by_assessor[turn]) for name in INDICATORS})
        if assessor == "superior":
            form[f"s-{bad}-venue"] = "101"  # out of range: said at that input
        status, _, html = browser.post(sheet, form)
        if assessor != "superior":
            assert status == 200 and "已保存 3 行" in html, html[:800]
            continue
        assert status == 400 and "已保存 2 行，评定等级 2 个" in html and "1 行有错误" in html
        assert re.search(rf'id="s-{bad}-venue"[^>]*value="101" aria-invalid="true" '
                         rf'aria-describedby="e-{bad}-venue"', html)
        assert f'<p class="field-error" id="e-{bad}-venue">' in html
        assert "<strong>好</strong>（91.60 分）" in row_of(html, good)  # 19 + 27.6 + 45
        assert "<strong>一般</strong>（70.00 分）" in row_of(html, average)
        assert "未定级" in row_of(html, bad)

        # the same form again (the browser's resubmit): nothing applied twice
        status, _, again = browser.post(sheet, form)
        assert "已保存 0 行" in again or "没有需要保存的改动" in again

        # the bad cell corrected on the page it answered: that row saved and graded
        fixed = form_of(html)
        fixed[f"s-{bad}-venue"] = "55"
        status, _, html = browser.post(sheet, fixed)
        assert status == 200 and "已保存 1 行，评定等级 1 个" in html, html[:800]
        assert "<strong>较差</strong>" in row_of(html, bad)  # 10 + 18 + 27.5 = 55.5

    with rpc(stack.settings, stack.admin) as proxy:
        grades = {org_id: proxy.evaluation.get_grading(round_id=stack.round,
                                                       organization_id=org_id)
                  for org_id in values}
    assert {k: (g["grade"], g["score"], g["method"]) for k, g in grades.items()} == {
        good: ("good", "91.60", "computed"), average: ("average", "70.00", "computed"),
        bad: ("poor", "55.50", "computed")}
    # each assessor's scores recorded once for each organization: the repeat changed none
    assert all(set(g["scores"]) == {"self", "members_public", "superior"}
               for g in grades.values())


def test_a_township_account_is_refused_another_townships_sheet(stack):
    mine, theirs = stack.townships
    browser = clerk(stack, mine)
    status, _, html = browser.get(f"/console/grading/rounds/{stack.round}?township={theirs}")
    assert status in (403, 404) and "<h1" in html
    assert stack.theirs["name"] not in html and 'name="s-' not in html
    # nor can it post scores for an organization there through its own sheet
    status, _, page = browser.get(f"/console/grading/rounds/{stack.round}?township={mine}")
    form = form_of(page)
    fill(form, stack.theirs["id"], {name: "99" for name in INDICATORS})
    browser.post(f"/console/grading/rounds/{stack.round}?township={mine}", form)
    with rpc(stack.settings, stack.admin) as proxy:
        assert proxy.evaluation.get_grading(round_id=stack.round,
                                            organization_id=stack.theirs["id"])["scores"] == {}
