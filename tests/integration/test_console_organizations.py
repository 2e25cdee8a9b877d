"""The console's 组织 pages against the real gateway (gunicorn) and the real organizations,
evaluation and accounts services: a county account signs in, finds an organization by a
part of its Chinese name and opens its page; a township account can neither open another
township's organization (the very page of an id that does not exist) nor find it."""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

import pytest

from tests.integration.test_console_security import Browser, account
from tests.support import SUICHANG, Gateway, rpc, sample_places, services_running, token


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret, tmp_path_factory):
    with services_running(databases, base_settings, "console_orgs", "organizations",
                          "evaluation", "accounts") as running:
        admin = token(token_secret)  # the province, every role: the tests' administrator
        running.proxy_token = admin
        tag = uuid.uuid4().hex[:6]
        with rpc(running.settings, admin) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG))
            mine, theirs = [p["code"] for p in proxy.organizations.list_children(
                place_code=SUICHANG)["items"][:2]]
            running.townships = (mine, theirs)
            running.orgs = {}
            for key, place, name in (("mine", mine, f"中共妙高第{tag}网格党支部"),
                                     ("theirs", theirs, f"中共云峰第{tag}网格党支部")):
                running.orgs[key] = proxy.organizations.register_organization(
                    name=name, kind="631", sector="urban_community", place_code=place,
                    full_members=9, committee_size=3, founded_on="2020-03-01")
        running.tag = tag
        with Gateway(running.settings, tmp_path_factory.mktemp("console_orgs"),
                     workers=1, threads=4) as gateway:
            running.gateway = gateway
            yield running


READER = ("organizations.read", "evaluation.read")


def signed_in(stack, place: str) -> Browser:
    browser = Browser(stack.gateway.url)
    status, _, html = browser.sign_in(account(stack, place=place, roles=READER))
    assert status == 303, html[:500]
    return browser


def org_links(html: str) -> set[int]:
    return {int(found) for found in re.findall(r'href="/console/organizations/(\d+)"', html)}


def test_a_county_account_finds_an_organization_by_part_of_its_name_and_opens_it(stack):
    browser = signed_in(stack, SUICHANG)
    status, _, html = browser.get("/console/organizations")
    assert status == 200 and 'name="q"' in html
    assert f"/console/organizations?place={stack.townships[0]}" in html  # a child place
    # a part of the name, in the middle: both townships' (the county sees both)
    status, _, html = browser.get("/console/organizations/search?q="
                                  + quote(f"第{stack.tag}网格"))
    assert status == 200, html[:1000]
    mine, theirs = stack.orgs["mine"], stack.orgs["theirs"]
    assert org_links(html) == {mine["id"], theirs["id"]}
    # two characters (no trigram): the subtree's rows
    status, _, html = browser.get("/console/organizations/search?q=" + quote("妙高")
                                  + f"&place={stack.townships[0]}")
    assert status == 200 and mine["id"] in org_links(html)
    # its page: facts, team (vacancies of a new organization), stars (evaluation)
    status, headers, html = browser.get(f"/console/organizations/{mine['id']}")
    assert status == 200, html[:1000]
    assert f"<h1>{mine['name']}</h1>" in html
    assert "基本情况" in html and "空缺职位" in html and "验收与星级" in html
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "<script" not in html


def test_a_township_account_cannot_open_or_find_another_townships_organization(stack):
    mine_place, theirs_place = stack.townships
    browser = signed_in(stack, mine_place)
    mine, theirs = stack.orgs["mine"], stack.orgs["theirs"]
    assert browser.get(f"/console/organizations/{mine['id']}")[0] == 200
    status, _, theirs_page = browser.get(f"/console/organizations/{theirs['id']}")
    missing_status, _, missing_page = browser.get("/console/organizations/987654321")
    assert status == missing_status == 404
    assert theirs_page == missing_page  # not theirs and not there: one page
    assert theirs["name"] not in theirs_page
    # the search from the member's own place does not find it ...
    status, _, html = browser.get("/console/organizations/search?q="
                                  + quote(f"第{stack.tag}网格"))
    assert status == 200 and org_links(html) == {mine["id"]}
    # ... and the other township is not the member's to search or to list
    for path in (f"/console/organizations/search?q=%E7%BD%91%E6%A0%BC&place={theirs_place}",
                 f"/console/organizations?place={theirs_place}",
                 f"/console/organizations/list?place={theirs_place}"):
        status, _, html = browser.get(path)
        assert status == 403 and theirs["name"] not in html, path
