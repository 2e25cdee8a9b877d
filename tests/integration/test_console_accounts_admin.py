"""The console's account administration pages against the real gateway (gunicorn) and the
real accounts and organizations services: a county administrator creates a township
account through the pages, sets its roles and disables it (it can no longer sign in); an
account of another county is the same 404 as a missing one, to open or to change; and a
role the administrator lacks is refused with the service's own message, nothing changed
(issue 19, "an account administrator unable to grant a role it lacks or to act outside
its place")."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.integration.test_console_security import PASSWORD, Browser, csrf_of
from tests.support import (
    SUICHANG,
    XIHU,
    Gateway,
    operator_token,
    rpc,
    sample_places,
    services_running,
    token,
)

ADMIN_ROLES = ["accounts.admin", "organizations.read", "organizations.write", "evaluation.read"]
NEW_PASSWORD = "Township-2026-pass"


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret, tmp_path_factory):
    with services_running(databases, base_settings, "consoleadm", "organizations",
                          "accounts") as running:
        operator = token(token_secret)  # the province, every role: makes the first accounts
        with rpc(running.settings, operator) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG, XIHU))
            running.township = proxy.organizations.list_children(
                place_code=SUICHANG)["items"][0]["code"]
        running.operator = operator
        with Gateway(running.settings, tmp_path_factory.mktemp("console-admin"),
                     workers=1, threads=4) as gateway:
            running.gateway = gateway
            yield running


def make_account(stack, place: str, roles) -> str:
    username = f"adm.{uuid.uuid4().hex[:10]}"
    with rpc(stack.settings, operator_token(stack.settings.token_secrets[0])) as proxy:
        proxy.accounts.create_account(
            request_id=str(uuid.uuid4()), username=username, display_name="测试管理员",
            department="组织部", place_code=place, roles=list(roles), password=PASSWORD)
    return username


def account_of(stack, username: str) -> dict:
    with rpc(stack.settings, stack.operator) as proxy:
        return proxy.accounts.get_account(username=username)


def field(html: str, name: str, action: str | None = None) -> str:
    """A form field's value (in the form posting to `action`, if given)."""
    if action is not None:
        html = html[html.index(f'action="{action}"'):]
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"no field {name}"
    return match.group(1)


@pytest.fixture
def admin(stack):
    """A county administrator (Suichang), signed in to the console."""
    browser = Browser(stack.gateway.url)
    assert browser.sign_in(make_account(stack, SUICHANG, ADMIN_ROLES))[0] == 303
    return browser


def test_a_county_administrator_creates_re_roles_and_disables_a_township_account(stack,
                                                                                 admin):
    township = stack.township
    status, _, html = admin.get("/console/accounts/-/new")
    assert status == 200 and "新建账号" in html
    offered = re.findall(r'name="role\.([a-z._]+)" value="1"', html)
    assert offered == ["organizations.read", "organizations.write", "evaluation.read",
                       "accounts.admin"]  # only the administrator's own roles
    username = f"town.{uuid.uuid4().hex[:8]}"
    form = {"csrf": csrf_of(html), "request_id": field(html, "request_id"),
            "username": username, "display_name": "王五", "department": "妙高街道党工委",
            "place_code": township, "role.organizations.read": "1",
            "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    status, headers, _ = admin.post("/console/accounts/-/new", form)
    assert (status, headers["Location"]) == (303, f"/console/accounts/{username}?done=created")
    # the same form sent again (a double click): done once, the same answer
    again = admin.post("/console/accounts/-/new", form)
    assert (again[0], again[1]["Location"]) == (303, headers["Location"])
    status, _, page = admin.get(headers["Location"])
    assert status == 200 and "账号已创建" in page and "王五" in page and "党组织信息查询" in page
    created = account_of(stack, username)
    assert (created["place_code"], created["roles"], created["status"]) == (
        township, ["organizations.read"], "active")
    listed = admin.get(f"/console/accounts?place={township}")[2]
    assert f'href="/console/accounts/{username}"' in listed

    staffer = Browser(stack.gateway.url)
    assert staffer.sign_in(username, NEW_PASSWORD)[0] == 303  # it signs in

    # roles: set through the account's page
    action = f"/console/accounts/{username}/roles"
    status, headers, _ = admin.post(action, {
        "csrf": csrf_of(page), "request_id": field(page, "request_id", action),
        "role.organizations.read": "1", "role.organizations.write": "1"})
    assert (status, headers["Location"]) == (303, f"/console/accounts/{username}?done=roles")
    assert account_of(stack, username)["roles"] == ["organizations.read", "organizations.write"]
    page = admin.get(headers["Location"])[2]
    assert "角色已保存" in page

    # disabled: it can no longer sign in
    action = f"/console/accounts/{username}/disabled"
    status, headers, _ = admin.post(action, {
        "csrf": csrf_of(page), "request_id": field(page, "request_id", action),
        "disabled": "true"})
    assert (status, headers["Location"]) == (303, f"/console/accounts/{username}?done=disabled")
    assert account_of(stack, username)["status"] == "disabled"
    page = admin.get(headers["Location"])[2]
    assert "已停用" in page and "重新启用此账号" in page
    assert Browser(stack.gateway.url).sign_in(username, NEW_PASSWORD)[0] == 401

    # enabled again, with a new password
    action = f"/console/accounts/{username}/disabled"
    assert admin.post(action, {"csrf": csrf_of(page),
                               "request_id": field(page, "request_id", action),
                               "disabled": "false"})[0] == 303
    action = f"/console/accounts/{username}/password"
    status, headers, _ = admin.post(action, {
        "csrf": csrf_of(page), "request_id": field(page, "request_id", action),
        "new_password": "Another-pass-2026", "new_password_again": "Another-pass-2026"})
    assert (status, headers["Location"]) == (303, f"/console/accounts/{username}?done=password")
    assert Browser(stack.gateway.url).sign_in(username, NEW_PASSWORD)[0] == 401
    assert Browser(stack.gateway.url).sign_in(username, "Another-pass-2026")[0] == 303


def test_a_role_the_administrator_lacks_is_refused_and_nothing_changes(stack, admin):
    username = make_account(stack, stack.township, ["organizations.read"])
    status, _, page = admin.get(f"/console/accounts/{username}")
    assert status == 200
    assert 'name="role.cadres.read"' not in page  # not offered
    action = f"/console/accounts/{username}/roles"
    status, _, html = admin.post(action, {  # as a forged form would send it
        "csrf": csrf_of(page), "request_id": field(page, "request_id", action),
        "role.organizations.read": "1", "role.cadres.read": "1"})
    assert status == 403
    assert "只能授予或收回本账号拥有的角色：干部人才信息查询" in html
    assert f"账号 {username}" in html  # the account's page, the refusal on it
    assert account_of(stack, username)["roles"] == ["organizations.read"]
    # nor when creating one
    status, _, form = admin.get("/console/accounts/-/new")
    status, _, html = admin.post("/console/accounts/-/new", {
        "csrf": csrf_of(form), "request_id": field(form, "request_id"),
        "username": f"town.{uuid.uuid4().hex[:8]}", "display_name": "赵六",
        "department": "组织部", "place_code": stack.township, "role.cadres.read": "1",
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert status == 403 and 'id="roles-error">只能授予或收回本账号拥有的角色' in html


def test_another_countys_account_is_a_404_to_open_and_to_change(stack, admin):
    theirs = make_account(stack, XIHU, ["organizations.read"])
    outside = admin.get(f"/console/accounts/{theirs}")
    missing = admin.get("/console/accounts/no.such.account")
    assert outside[0] == missing[0] == 404
    assert outside[2].replace(theirs, "") == missing[2].replace("no.such.account", "")
    csrf = csrf_of(admin.get("/console/password")[2])  # (the dashboard asks services not run here)
    for action, form in (("roles", {"role.organizations.write": "1"}),
                         ("disabled", {"disabled": "true"}),
                         ("password", {"new_password": "Stolen-pass-2026",
                                       "new_password_again": "Stolen-pass-2026"})):
        status, _, html = admin.post(f"/console/accounts/{theirs}/{action}", {
            "csrf": csrf, "request_id": uuid.uuid4().hex, **form})
        assert status == 404 and "未找到该账号" in html, action
    account = account_of(stack, theirs)
    assert (account["roles"], account["status"]) == (["organizations.read"], "active")
    assert Browser(stack.gateway.url).sign_in(theirs)[0] == 303  # its password stands
    # its place is not one to create accounts at either, and it does not list them
    status, _, form = admin.get("/console/accounts/-/new")
    status, _, html = admin.post("/console/accounts/-/new", {
        "csrf": csrf_of(form), "request_id": field(form, "request_id"),
        "username": f"xihu.{uuid.uuid4().hex[:8]}", "display_name": "钱七",
        "department": "西湖区委组织部", "place_code": XIHU, "role.organizations.read": "1",
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert status == 403 and 'id="f-place_code-error">' in html
    assert admin.get(f"/console/accounts?place={XIHU}")[0] == 403
