"""The console's account administration pages in-process (werkzeug's test client) over
a fake accounts service that keeps the contract's rules as the real one does (an
administrator acts at or below its place — another place's account is NotFound, as a
missing one — grants only roles it holds, not on its own account): the pages render
the service's answers and refusals in Chinese next to their fields, every form carries
the CSRF field and a request id, and a POST without the CSRF field asks nothing.
(tests/integration/test_console_accounts_admin.py runs them against the real services.)"""

from __future__ import annotations

import re
import uuid

import pytest

from services.gateway.console import pages
from shared import contracts
from shared.contracts.roles import ROLES
from shared.errors import Conflict, Forbidden, NotFound, ValidationError
from tests.unit.test_console_pages import field
from tests.unit.test_console_readonly import (
    SECRET,
    SUICHANG,
    XIHU,
    FakeServices,
    gateway_with,
    html_of,
    sign_in,
)

MIAOGAO = "331123001000"
ADMIN_ROLES = ("console.user", "accounts.admin", "organizations.read", "organizations.write",
               "evaluation.read")


class FakeAccounts(FakeServices):
    """accounts.* over a dict of accounts, by the contract's rules (services/accounts)."""

    def __init__(self, roles=ADMIN_ROLES):
        super().__init__(roles=roles, username="lisi")
        self.accounts: dict[str, dict] = {}
        self.request_ids: dict[str, str] = {}
        for method in ("create_account", "get_account", "list_accounts", "set_roles",
                       "set_disabled", "reset_password"):
            self.answers[("accounts", method)] = getattr(self, method)
        self.add("lisi", SUICHANG, list(ADMIN_ROLES[1:]))
        self.add("wangwu", MIAOGAO, ["organizations.read"])
        self.add("zhaoliu", XIHU, ["organizations.read"])
        self.add("boss", SUICHANG, ["organizations.read", "cadres.personal_data"])

    def add(self, username, place, roles, disabled=False, display_name="某干部"):
        self.accounts[username] = {"username": username, "display_name": display_name,
                                   "department": "组织部", "place_code": place,
                                   "place_name": {SUICHANG: "遂昌县", MIAOGAO: "妙高街道",
                                                  XIHU: "西湖区"}[place],
                                   "roles": sorted(roles), "disabled": disabled,
                                   "password": "initial password 1"}

    def view(self, account):
        return {**{k: v for k, v in account.items() if k not in ("disabled", "password")},
                "role_labels": [ROLES[r] for r in account["roles"]],
                "status": "disabled" if account["disabled"] else "active",
                "status_label": "已停用" if account["disabled"] else "正常",
                "locked_until": None, "last_sign_in_at": None,
                "created_at": "2026-05-01T08:00:00+00:00"}

    def once(self, params):
        """Done: its request id is kept (a refused call's is not, as in the service)."""
        assert params.get("request_id"), "a mutating call carries a request id"
        assert params["request_id"] not in self.request_ids, "one request id a call"
        self.request_ids[params["request_id"]] = params.get("username", "")

    def administered(self, principal, username):
        account = self.accounts.get(username)
        if account is None or not principal.covers(account["place_code"]):
            raise NotFound(f"no account {username} (未找到该账号)", {"username": username})
        return account

    @staticmethod
    def grant(principal, before, after):
        lacking = sorted((set(before) ^ set(after)) - principal.roles)
        if lacking:
            raise Forbidden("an administrator grants or removes only roles it holds itself "
                            "(只能授予或收回本账号拥有的角色)", {"roles": lacking})

    @staticmethod
    def acts_on(principal, account):
        if principal.subject == account["username"]:
            raise Conflict("an administrator does not do this to its own account "
                           "(不能对本人账号执行此操作)", {"username": account["username"]})
        lacking = sorted(set(account["roles"]) - principal.roles)
        if lacking:
            raise Forbidden("the account holds roles this administrator lacks "
                            "(该账号拥有本账号没有的角色，不能操作)", {"roles": lacking})

    @staticmethod
    def password_ok(password, username, name):
        if username in password:
            raise ValidationError("the password does not meet the rules (密码不符合要求)", {
                name: ["a password must not contain the user name (密码不能包含登录名)"]})

    def create_account(self, principal, params):
        # (a place outside the administrator's: FakeServices refuses it first, Forbidden)
        self.grant(principal, (), params["roles"])
        self.password_ok(params["password"], params["username"], "password")
        if params["username"] in self.accounts:
            raise Conflict(f"the user name {params['username']} is taken (该登录名已被使用)",
                           {"username": params["username"]})
        self.once(params)
        self.add(params["username"], params["place_code"], params["roles"],
                 display_name=params["display_name"])
        return self.view(self.accounts[params["username"]])

    def get_account(self, principal, params):
        return self.view(self.administered(principal, params["username"]))

    def list_accounts(self, principal, params):
        items = [self.view(a) for name, a in sorted(self.accounts.items())
                 if a["place_code"].startswith(params["place_code"].rstrip("0")[:6])]
        return {"items": items, "next_cursor": None}

    def set_roles(self, principal, params):
        account = self.administered(principal, params["username"])
        self.acts_on(principal, account)
        self.grant(principal, account["roles"], params["roles"])
        self.once(params)
        account["roles"] = sorted(set(params["roles"]))
        return self.view(account)

    def set_disabled(self, principal, params):
        account = self.administered(principal, params["username"])
        self.acts_on(principal, account)
        self.once(params)
        account["disabled"] = params["disabled"]
        return self.view(account)

    def reset_password(self, principal, params):
        self.password_ok(params["new_password"], params["username"], "new_password")
        account = self.administered(principal, params["username"])
        self.acts_on(principal, account)
        self.once(params)
        account["password"] = params["new_password"]
        return self.view(account)


@pytest.fixture
def services():
    return FakeAccounts()


@pytest.fixture
def client(tmp_path, services):
    return gateway_with(tmp_path, services)


def mutations(services) -> list[str]:
    return [method for _, method, _ in services.calls
            if contracts.RPC.get(("accounts", method)) is not None
            and contracts.RPC[("accounts", method)].mutating
            and method not in ("sign_in",)]


def request_id(html: str, action: str) -> str:
    form = html[html.index(f'action="{action}"'):]
    return field(form, "request_id")


# -- the list and the new-account form ---------------------------------------------------------
def test_the_list_shows_the_accounts_each_linking_to_its_page(client, services):
    sign_in(client)
    response = client.get("/console/accounts")
    html = html_of(response)
    assert response.status_code == 200 and "<script" not in html
    assert services.asked("list_accounts") == [
        {"place_code": SUICHANG, "limit": 50, "after": None}]
    assert '<a href="/console/accounts/wangwu">wangwu</a>' in html and "妙高街道" in html
    assert 'href="/console/accounts/-/new?place=331123000000">新建账号' in html
    assert 'href="/console/accounts" aria-current="page"' in html
    client.get(f"/console/accounts?place={MIAOGAO}")
    assert services.asked("list_accounts")[-1]["place_code"] == MIAOGAO
    assert client.get(f"/console/accounts?place={XIHU}").status_code == 403  # the service's


def test_the_new_account_form_offers_only_the_administrators_roles(client, services):
    sign_in(client)
    response = client.get(f"/console/accounts/-/new?place={MIAOGAO}")
    html = html_of(response)
    assert response.status_code == 200
    assert field(html, "csrf") and len(field(html, "request_id")) >= 8
    assert f'name="place_code" type="text" value="{MIAOGAO}"' in html
    labels = re.findall(r'<label for="role-\d+">([^<]+)</label>', html)
    assert labels == ["党组织信息查询", "党组织信息维护", "考评信息查询", "账号管理"]
    assert "控制台用户" not in html and "登录验证" not in html  # no account holds them
    for name in ("username", "display_name", "department", "password", "password_again"):
        assert f'<label for="f-{name}">' in html, name
    assert mutations(services) == []


def new_account(client, csrf, html, **overrides):
    form = {"csrf": csrf, "request_id": field(html, "request_id"), "username": "zhangsan",
            "display_name": "张三", "department": "妙高街道党工委", "place_code": MIAOGAO,
            "role.organizations.read": "1", "password": "Miaogao-2026-x",
            "password_again": "Miaogao-2026-x"}
    form.update(overrides)
    return client.post("/console/accounts/-/new", data={k: v for k, v in form.items()
                                                      if v is not None})


def test_creating_an_account_leads_to_its_page_with_a_notice(client, services):
    csrf = sign_in(client)
    page = html_of(client.get("/console/accounts/-/new"))
    response = new_account(client, csrf, page, **{"role.evaluation.read": "1"})
    assert (response.status_code, response.headers["Location"]) == (
        303, "/console/accounts/zhangsan?done=created")
    created = services.asked("create_account")[-1]
    assert created == {"request_id": field(page, "request_id"), "username": "zhangsan",
                       "display_name": "张三", "department": "妙高街道党工委",
                       "place_code": MIAOGAO, "roles": ["organizations.read", "evaluation.read"],
                       "password": "Miaogao-2026-x"}
    html = html_of(client.get(response.headers["Location"]))
    assert "账号已创建" in html and "张三" in html and "考评信息查询" in html


def test_the_services_refusals_are_said_next_to_their_fields(client, services):
    csrf = sign_in(client)
    page = html_of(client.get("/console/accounts/-/new"))
    mismatch = new_account(client, csrf, page, password_again="something else 1")
    assert mismatch.status_code == 400
    assert 'id="f-password_again-error">两次输入的密码不一致<' in html_of(mismatch)
    assert services.asked("create_account") == []  # not asked with two passwords
    taken = new_account(client, csrf, page, username="wangwu")
    html = html_of(taken)
    assert taken.status_code == 409 and 'id="f-username-error">该登录名已被使用<' in html
    assert 'value="wangwu"' in html and 'value="张三"' in html  # the form kept
    assert "Miaogao-2026-x" not in html  # a password is never typed back
    weak = new_account(client, csrf, page, password="zhangsan-2026", password_again="zhangsan-2026")
    assert weak.status_code == 400
    assert 'id="f-password-error">密码不能包含登录名<' in html_of(weak)
    outside = new_account(client, csrf, page, place_code=XIHU)
    assert outside.status_code == 403
    assert 'id="f-place_code-error">该地点不在您的管辖范围内' in html_of(outside)
    lacking = new_account(client, csrf, page, **{"role.cadres.personal_data": "1"})
    assert lacking.status_code == 403
    assert ('id="roles-error">只能授予或收回本账号拥有的角色：干部个人敏感信息查看<'
            in html_of(lacking))
    # the refused form keeps its request id: the service never stored a refused one
    assert field(html_of(lacking), "request_id") == field(page, "request_id")
    assert set(services.accounts) == {"lisi", "wangwu", "zhaoliu", "boss"}


def test_a_post_without_the_csrf_field_asks_nothing(client, services):
    sign_in(client)
    page = html_of(client.get("/console/accounts/wangwu"))
    before = len(services.calls)
    for path, form in (
            ("/console/accounts/-/new", {"username": "x.y.z", "display_name": "x",
                                        "department": "x", "place_code": MIAOGAO,
                                        "password": "p" * 12, "password_again": "p" * 12}),
            ("/console/accounts/wangwu/roles", {"role.organizations.write": "1"}),
            ("/console/accounts/wangwu/disabled", {"disabled": "true"}),
            ("/console/accounts/wangwu/password", {"new_password": "Another-pass-1",
                                                   "new_password_again": "Another-pass-1"})):
        for csrf in (None, "forged", pages.security.session_csrf(SECRET, "another session")):
            data = {**form, "request_id": uuid.uuid4().hex}
            if csrf is not None:
                data["csrf"] = csrf
            response = client.post(path, data=data)
            assert response.status_code == 403, (path, csrf)
            assert "安全校验" in html_of(response)
    assert len(services.calls) == before  # not even get_account
    assert "request_id" in page


# -- an account's page ---------------------------------------------------------------------------
def test_the_accounts_page_has_its_three_forms_with_csrf_and_request_ids(client, services):
    csrf = sign_in(client)
    response = client.get("/console/accounts/wangwu")
    html = html_of(response)
    assert response.status_code == 200
    assert services.asked("get_account") == [{"username": "wangwu"}]
    ids = set()
    for action in ("roles", "disabled", "password"):
        form = html[html.index(f'action="/console/accounts/wangwu/{action}"'):]
        assert field(form, "csrf") == csrf
        ids.add(field(form, "request_id"))
    assert len(ids) == 3  # one per form
    assert re.search(r'name="role\.organizations\.read" value="1" checked>', html)
    assert re.search(r'name="role\.organizations\.write" value="1">', html)
    assert 'name="disabled" value="true"' in html and "停用此账号" in html
    assert '<label for="f-new_password">' in html


def test_setting_roles_disabling_and_resetting(client, services):
    csrf = sign_in(client)
    page = html_of(client.get("/console/accounts/wangwu"))
    response = client.post("/console/accounts/wangwu/roles", data={
        "csrf": csrf, "request_id": request_id(page, "/console/accounts/wangwu/roles"),
        "role.organizations.read": "1", "role.organizations.write": "1"})
    assert (response.status_code, response.headers["Location"]) == (
        303, "/console/accounts/wangwu?done=roles")
    assert services.accounts["wangwu"]["roles"] == ["organizations.read", "organizations.write"]
    assert "角色已保存" in html_of(client.get(response.headers["Location"]))

    response = client.post("/console/accounts/wangwu/disabled", data={
        "csrf": csrf, "request_id": request_id(page, "/console/accounts/wangwu/disabled"),
        "disabled": "true"})
    assert response.headers["Location"] == "/console/accounts/wangwu?done=disabled"
    html = html_of(client.get(response.headers["Location"]))
    assert services.accounts["wangwu"]["disabled"] and "已停用" in html
    assert 'name="disabled" value="false"' in html and "重新启用此账号" in html
    assert services.asked("set_disabled")[-1]["disabled"] is True

    response = client.post("/console/accounts/wangwu/password", data={
        "csrf": csrf, "request_id": request_id(page, "/console/accounts/wangwu/password"),
        "new_password": "Fresh-pass-2026", "new_password_again": "Fresh-pass-2026"})
    assert response.headers["Location"] == "/console/accounts/wangwu?done=password"
    assert services.accounts["wangwu"]["password"] == "Fresh-pass-2026"
    assert "密码已重置" in html_of(client.get(response.headers["Location"]))


def test_a_role_the_administrator_lacks_is_refused_with_the_services_message(client, services):
    csrf = sign_in(client)
    page = html_of(client.get("/console/accounts/wangwu"))
    response = client.post("/console/accounts/wangwu/roles", data={
        "csrf": csrf, "request_id": request_id(page, "/console/accounts/wangwu/roles"),
        "role.organizations.read": "1", "role.cadres.read": "1"})  # a forged checkbox
    html = html_of(response)
    assert response.status_code == 403
    assert 'id="roles-error" role="alert">只能授予或收回本账号拥有的角色：干部人才信息查询<' in html
    assert "账号 wangwu" in html  # the account's page again, not an error page
    assert services.accounts["wangwu"]["roles"] == ["organizations.read"]


def test_an_account_holding_a_role_the_administrator_lacks_keeps_it_on_the_form(client,
                                                                                services):
    csrf = sign_in(client)
    html = html_of(client.get("/console/accounts/boss"))
    assert '<input type="hidden" name="role.cadres.personal_data" value="1">' in html
    assert re.search(r'id="role-\d+" checked disabled', html) and "您没有此角色" in html
    response = client.post("/console/accounts/boss/disabled", data={
        "csrf": csrf, "request_id": request_id(html, "/console/accounts/boss/disabled"),
        "disabled": "true"})
    assert response.status_code == 403
    assert "该账号拥有本账号没有的角色，不能操作：干部个人敏感信息查看" in html_of(response)
    assert not services.accounts["boss"]["disabled"]


def test_an_account_of_another_place_is_the_same_404_as_a_missing_one(client, services):
    csrf = sign_in(client)
    outside, missing = client.get("/console/accounts/zhaoliu"), client.get(
        "/console/accounts/nobody")
    assert outside.status_code == missing.status_code == 404
    assert html_of(outside).replace("zhaoliu", "") == html_of(missing).replace("nobody", "")
    assert "未找到该账号" in html_of(outside)
    for action, form in (("roles", {"role.organizations.read": "1"}),
                         ("disabled", {"disabled": "true"}),
                         ("password", {"new_password": "Fresh-pass-2026",
                                       "new_password_again": "Fresh-pass-2026"})):
        response = client.post(f"/console/accounts/zhaoliu/{action}", data={
            "csrf": csrf, "request_id": uuid.uuid4().hex, **form})
        assert response.status_code == 404, action
    assert services.accounts["zhaoliu"]["roles"] == ["organizations.read"]
    assert not services.accounts["zhaoliu"]["disabled"]


def test_the_reset_password_form_says_its_errors_at_its_fields(client, services):
    csrf = sign_in(client)
    page = html_of(client.get("/console/accounts/wangwu"))
    rid = request_id(page, "/console/accounts/wangwu/password")
    mismatch = client.post("/console/accounts/wangwu/password", data={
        "csrf": csrf, "request_id": rid, "new_password": "Fresh-pass-2026",
        "new_password_again": "Fresh-pass-2027"})
    assert mismatch.status_code == 400
    assert 'id="f-new_password_again-error">两次输入的密码不一致<' in html_of(mismatch)
    assert services.asked("reset_password") == []
    weak = client.post("/console/accounts/wangwu/password", data={
        "csrf": csrf, "request_id": rid, "new_password": "wangwu-2026-pass",
        "new_password_again": "wangwu-2026-pass"})
    html = html_of(weak)
    assert weak.status_code == 400 and 'id="f-new_password-error">密码不能包含登录名<' in html
    assert request_id(html, "/console/accounts/wangwu/password") == rid
    assert "wangwu-2026-pass" not in html


def test_the_administrators_own_account_has_no_forms(client, services):
    sign_in(client)
    html = html_of(client.get("/console/accounts/lisi"))
    assert "本人账号" in html and 'action="/console/accounts/lisi/roles"' not in html
    assert 'href="/console/password"' in html


def test_a_member_without_the_admin_role_is_refused(tmp_path):
    services = FakeAccounts(roles=("console.user", "organizations.read"))
    client = gateway_with(tmp_path, services)
    sign_in(client)
    for path in ("/console/accounts", "/console/accounts/-/new", "/console/accounts/wangwu"):
        response = client.get(path)
        assert response.status_code == 403 and "无权操作" in html_of(response), path
    page = html_of(client.get("/console/password"))
    assert 'href="/console/accounts"' not in page  # not in the menu
    response = client.post("/console/accounts/-/new", data={
        "csrf": field(page), "request_id": uuid.uuid4().hex, "username": "zhangsan",
        "display_name": "张三", "department": "组织部", "place_code": SUICHANG,
        "role.organizations.read": "1", "password": "Miaogao-2026-x",
        "password_again": "Miaogao-2026-x"})
    assert response.status_code == 403
    assert "您的账号没有“账号管理”角色" in html_of(response)
    assert "zhangsan" not in services.accounts


def test_the_create_form_takes_every_role_the_administrator_may_grant(tmp_path):
    many = ("console.user", "accounts.admin", *[r for r in ROLES
                                                 if r.endswith((".read", ".write"))])
    services = FakeAccounts(roles=many)
    client = gateway_with(tmp_path, services)
    csrf = sign_in(client)
    page = html_of(client.get("/console/accounts/-/new"))
    grantable = [r for r in many if r != "console.user"]
    response = new_account(client, csrf, page, username="all.roles",
                           **{f"role.{role}": "1" for role in grantable})
    assert response.status_code == 303, html_of(response)
    assert sorted(services.asked("create_account")[-1]["roles"]) == sorted(grantable)
