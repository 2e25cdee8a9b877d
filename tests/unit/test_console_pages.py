"""The console's pages in-process (werkzeug's test client), the services replaced by a
fake accounts service that keeps the contract's promises: sign-in, sessions, CSRF on every
form, the cookie's attributes, errors in Chinese, and /v1 deaf to the cookie.
(tests/integration/test_console_security.py does the same against the real services.)"""

from __future__ import annotations

import re

import jwt
import pytest
from werkzeug.test import Client

from services.gateway.app import Gateway
from services.gateway.console import pages, security
from shared import contracts
from shared.errors import ServiceUnavailable, Unauthenticated, ValidationError
from shared.platform import auth, config

SECRET = "console-pages-" + "x" * 40
SUICHANG = "331123000000"
PASSWORD = "correct horse battery"


class FakeAccounts:
    """accounts.* as the contract says (and organizations.get_place): every call's token
    verified and its role required, as a service would."""

    def __init__(self):
        self.verifier = auth.TokenVerifier((SECRET,))
        self.calls: list[tuple[str, str, dict, str]] = []
        self.ended: set[str] = set()
        self.password = PASSWORD
        self.down = False
        self.must_change = False
        self.reports = {
            ("organizations", "place_path"): lambda params: {"items": [
                {"code": "330000000000", "name": "浙江省"},
                {"code": params["place_code"], "name": "遂昌县"}]},
            ("organizations", "ledger"): lambda params: {
                "place_code": params["place_code"], "as_of": "2026-12-01", "items": [],
                "next_cursor": None, "summary": {"cases": 7, "accepted": 2, "overdue": 3,
                                                 "listed": 1}},
        }

    def call(self, service, method, params, *, token=None, call_id=None, timeout=None):
        principal = self.verifier.verify(token)
        self.calls.append((service, method, params, principal.system))
        if self.down:
            raise ServiceUnavailable("accounts is not running")
        if service != "accounts":  # the dashboard's reports: the contract's role first
            principal.require_role(contracts.RPC[(service, method)].role)
            return self.reports[(service, method)](params)

        if method == "sign_in":
            principal.require_role("accounts.sign_in")
            if (params["username"], params["password"]) != ("zhangsan", self.password):
                raise Unauthenticated("sign-in refused (用户名或密码错误，或账号暂时无法登录)")
            token = auth.issue_token(SECRET, subject="zhangsan", department="遂昌县委组织部",
                                     place_code=SUICHANG, system="console",
                                     roles=["console.user", "organizations.read"])
            return {"token": token, "token_id": jwt.decode(
                token, options={"verify_signature": False})["jti"],
                "account": {"must_change_password": self.must_change}}
        if method == "session_valid":
            principal.require_role("accounts.sign_in")
            return {"valid": params["token_id"] not in self.ended}
        if method == "sign_out":
            principal.require_role("console.user")
            self.ended.add(principal.token_id)
            return {"done": True}
        if method == "change_password":
            principal.require_role("console.user")
            if principal.token_id in self.ended:
                raise Unauthenticated("the session has ended (会话已结束，请重新登录)")
            if params["old_password"] != self.password:
                raise ValidationError("the current password is wrong", {"old_password": [
                    "当前密码不正确，或因多次输入错误账号已暂时锁定"]})
            if len(params["new_password"]) < 10:
                raise ValidationError("the password does not meet the rules", {
                    "new_password": ["a password has 10 to 128 characters "
                                     "(密码长度应为10至128个字符)"]})
            self.password = params["new_password"]
            if self.must_change:  # that session ends with the administrator's password
                self.ended.add(principal.token_id)
                self.must_change = False
            return {"done": True}
        raise AssertionError(f"unexpected call {service}.{method}")

    def methods(self) -> list[str]:
        return [method for _, method, _, _ in self.calls]


@pytest.fixture
def accounts():
    return FakeAccounts()


@pytest.fixture
def gateway(tmp_path, accounts):
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path), "JINWEI_TOKEN_SECRET": SECRET})
    return Gateway(settings, rpc=accounts)


@pytest.fixture
def client(gateway):
    return Client(gateway)


def field(html: str, name: str = "csrf") -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no field {name}"
    return match.group(1)


def login_form(client) -> str:
    response = client.get("/console/login")
    assert response.status_code == 200
    return field(response.get_data(as_text=True))


def sign_in(client, password=PASSWORD, username="zhangsan"):
    return client.post("/console/login", data={"csrf": login_form(client),
                                               "username": username, "password": password})


def set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def signed_in(client) -> str:
    """Signs in; the home page's CSRF field."""
    assert sign_in(client).status_code == 303
    home = client.get("/console/")
    assert home.status_code == 200
    return field(home.get_data(as_text=True))


def test_the_root_and_every_page_lead_to_the_sign_in_page(client, accounts):
    assert (client.get("/").status_code, client.get("/").headers["Location"]) == (
        302, "/console/")
    for path in ("/console/", "/console", "/console/password"):
        response = client.get(path)
        assert (response.status_code, response.headers["Location"]) == (303, "/console/login")
    assert accounts.calls == []  # no cookie: nothing asked


def test_the_sign_in_page_is_chinese_scriptless_and_sets_a_csrf_nonce(client):
    response = client.get("/console/login")
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "登录" in html and "<script" not in html
    assert 'href="/console/static/console.css"' in html and "http" not in html.split(
        "<body>")[0].replace('http-equiv', '')
    cookie = set_cookies(response)[security.LOGIN_COOKIE]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/console/login" in cookie and "Secure" not in cookie
    for name, value in security.PAGE_HEADERS.items():
        assert response.headers[name] == value
    css = client.get("/console/static/console.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert client.get("/console/static/../pages.py").status_code == 404


def test_a_sign_in_without_the_csrf_pair_is_refused_before_anything_is_asked(client,
                                                                              accounts):
    fresh = Client(client.application)
    response = fresh.post("/console/login", data={"username": "zhangsan", "password": PASSWORD})
    assert response.status_code == 403 and "安全校验" in response.get_data(as_text=True)
    login_form(client)
    for csrf in ("", "forged", security.login_csrf(SECRET, security.new_login_nonce())):
        response = client.post("/console/login", data={"csrf": csrf, "username": "zhangsan",
                                                       "password": PASSWORD})
        assert response.status_code == 403, csrf
        assert response.mimetype == "text/html" and "{" not in response.get_data(as_text=True)
    assert accounts.calls == []


def test_every_failed_sign_in_gets_one_generic_message(client, accounts):
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, username="nobody")
    # (That a locked or disabled account is refused alike is the service's:
    # tests/integration/test_console_security.py signs in against the real one.)
    for response in (wrong, unknown):
        html = response.get_data(as_text=True)
        assert response.status_code == 401 and pages.SIGN_IN_FAILED in html
        assert "WWW-Authenticate" not in response.headers
        assert security.SESSION_COOKIE not in set_cookies(response)
    # the pages differ only in the name typed back into the field
    assert (wrong.get_data(as_text=True).replace('value="zhangsan"', "")
            == unknown.get_data(as_text=True).replace('value="nobody"', ""))
    assert "not the password" not in wrong.get_data(as_text=True)  # never echoed
    # the gateway asked with its own token: system gateway, accounts.sign_in only
    token_systems = {system for _, method, _, system in accounts.calls if method == "sign_in"}
    assert token_systems == {"gateway"}


def test_the_gateways_token_holds_only_the_sign_in_role(gateway):
    principal = auth.TokenVerifier((SECRET,)).verify(gateway.console._gateway_token())
    assert principal.roles == {"accounts.sign_in"} and principal.system == "gateway"
    assert principal.place_code == "330000000000"
    assert gateway.console._gateway_token() == gateway.console._gateway_token()  # kept


def test_empty_fields_are_said_next_to_the_field(client, accounts):
    response = client.post("/console/login", data={"csrf": login_form(client),
                                                   "username": " ", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="username-error">请输入用户名<' in html and 'id="password-error">请输入密码<' in html
    assert accounts.calls == []


def test_sign_in_sets_the_session_cookie_for_the_tokens_life(client, accounts):
    response = sign_in(client)
    assert (response.status_code, response.headers["Location"]) == (303, "/console/")
    cookies = set_cookies(response)
    session = cookies[security.SESSION_COOKIE]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/console/;"):
        assert attribute in session + ";"
    assert "Secure" not in session and "Domain" not in session
    max_age = int(re.search(r"Max-Age=(\d+)", session).group(1))
    assert 8 * 3600 - 5 <= max_age <= 8 * 3600  # the token's life
    assert "Max-Age=0" in cookies[security.LOGIN_COOKIE]  # the nonce is spent
    sign_in_call = next(c for c in accounts.calls if c[1] == "sign_in")
    assert sign_in_call[2]["username"] == "zhangsan" and "request_id" not in sign_in_call[2]


@pytest.mark.parametrize("https, forced", [(True, False), (False, True)])
def test_the_cookies_are_secure_over_https_or_by_setting(tmp_path, accounts, https, forced,
                                                         monkeypatch):
    if forced:
        monkeypatch.setenv("JINWEI_CONSOLE_SECURE_COOKIES", "true")
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path), "JINWEI_TOKEN_SECRET": SECRET})
    client = Client(Gateway(settings, rpc=accounts))
    base = "https://localhost" if https else "http://localhost"
    form = client.get("/console/login", base_url=base)
    assert "; Secure" in set_cookies(form)[security.LOGIN_COOKIE]
    nonce = re.search(r"jinwei_login_csrf=([^;]+)", set_cookies(form)[security.LOGIN_COOKIE])
    client.set_cookie(security.LOGIN_COOKIE, nonce.group(1), path="/console/login")
    response = client.post("/console/login", base_url=base, data={
        "csrf": field(form.get_data(as_text=True)), "username": "zhangsan",
        "password": PASSWORD})
    assert response.status_code == 303
    assert "; Secure" in set_cookies(response)[security.SESSION_COOKIE]


def test_a_bad_secure_setting_stops_the_gateway(tmp_path, accounts, monkeypatch):
    monkeypatch.setenv("JINWEI_CONSOLE_SECURE_COOKIES", "yes")
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path), "JINWEI_TOKEN_SECRET": SECRET})
    with pytest.raises(ValueError, match="JINWEI_CONSOLE_SECURE_COOKIES"):
        Gateway(settings, rpc=accounts)


def test_the_home_page_names_the_person_the_place_and_the_roles(client):
    signed_in(client)
    response = client.get("/console/")
    html = response.get_data(as_text=True)
    assert "zhangsan" in html and "遂昌县委组织部" in html and "遂昌县" in html
    assert SUICHANG in html and "县(市、区)" in html
    assert "党组织信息查询" in html and "控制台用户" in html  # roles in Chinese
    assert "organizations.read" not in html
    assert response.headers["Cache-Control"] == "no-store"
    assert 'action="/console/logout"' in html and 'href="/console/password"' in html
    # The ledger's figures link to the list behind them; the parts whose role the member
    # lacks (evaluation, npe, cadres, resources) are left out, not refused.
    assert re.search(r'href="/console/ledger\?place=331123000000&amp;overdue=1">'
                     r'<span class="figure-n">3</span>', html)
    assert "晋位升级进度" not in html and "未覆盖企业" not in html
    assert response.status_code == 200


def test_every_request_asks_whether_the_session_is_live(client, accounts, gateway):
    gateway.console.sessions.seconds = 0  # believe nothing: ask every time
    signed_in(client)
    before = accounts.methods().count("session_valid")
    client.get("/console/")
    assert accounts.methods().count("session_valid") == before + 1
    token_id = auth.TokenVerifier((SECRET,)).verify(
        client.get_cookie(security.SESSION_COOKIE, path=security.SESSION_PATH).value).token_id
    accounts.ended.add(token_id)  # signed out elsewhere, or disabled
    response = client.get("/console/")
    assert (response.status_code, response.headers["Location"]) == (
        303, "/console/login?session=ended")
    assert "Max-Age=0" in set_cookies(response)[security.SESSION_COOKIE]


def test_a_token_that_is_not_a_console_session_opens_nothing(client, accounts):
    api_token = auth.issue_token(SECRET, subject="t", department="d", place_code=SUICHANG,
                                 roles=["console.user"], system="county-portal")
    for token in (api_token, "not-a-token", api_token[:-2] + "xx"):
        client.set_cookie(security.SESSION_COOKIE, token)
        response = client.get("/console/")
        assert (response.status_code, response.headers["Location"]) == (
            303, "/console/login?session=ended")
    assert accounts.calls == []


def test_logout_needs_the_sessions_csrf_field_and_revokes(client, accounts):
    csrf = signed_in(client)
    old_cookie = client.get_cookie(security.SESSION_COOKIE, path=security.SESSION_PATH).value
    for forged in ({}, {"csrf": "forged"}, {"csrf": security.session_csrf(SECRET, "other")}):
        response = client.post("/console/logout", data=forged)
        assert response.status_code == 403 and "安全校验" in response.get_data(as_text=True)
    assert "sign_out" not in accounts.methods()
    assert client.get("/console/").status_code == 200  # still signed in
    response = client.post("/console/logout", data={"csrf": csrf})
    assert (response.status_code, response.headers["Location"]) == (
        303, "/console/login?signed_out=1")
    assert "Max-Age=0" in set_cookies(response)[security.SESSION_COOKIE]
    assert "sign_out" in accounts.methods()
    assert "您已退出登录" in client.get("/console/login?signed_out=1").get_data(as_text=True)
    # the old cookie no longer opens anything, even in the worker that remembered it
    client.set_cookie(security.SESSION_COOKIE, old_cookie)
    assert client.get("/console/").status_code == 303


def test_a_post_is_refused_with_another_sessions_csrf_field(client, accounts):
    other = Client(client.application)
    other_csrf = signed_in(other)
    signed_in(client)
    response = client.post("/console/password", data={
        "csrf": other_csrf, "old_password": PASSWORD, "new_password": "a new password 1",
        "new_password_again": "a new password 1"})
    assert response.status_code == 403
    assert "change_password" not in accounts.methods()


def test_change_password_errors_are_chinese_and_next_to_their_field(client, accounts):
    csrf = signed_in(client)
    page = client.get("/console/password").get_data(as_text=True)
    assert "修改密码" in page and field(page) == csrf

    def change(old, new, again=None):
        return client.post("/console/password", data={
            "csrf": csrf, "old_password": old, "new_password": new,
            "new_password_again": new if again is None else again})

    mismatch = change(PASSWORD, "a new password 1", "a new password 2")
    assert mismatch.status_code == 400
    assert 'id="new_password_again-error">两次输入的新密码不一致<' in mismatch.get_data(
        as_text=True)
    wrong = change("not it", "a new password 1")
    assert 'id="old_password-error">当前密码不正确' in wrong.get_data(as_text=True)
    short = change(PASSWORD, "short")
    assert 'id="new_password-error">密码长度应为10至128个字符<' in short.get_data(as_text=True)
    assert "{" not in short.get_data(as_text=True)  # never raw JSON
    done = change(PASSWORD, "a new password 1")
    assert (done.status_code, done.headers["Location"]) == (303, "/console/?password=changed")
    assert "密码已修改" in client.get("/console/?password=changed").get_data(as_text=True)


def test_a_form_is_bounded_and_must_be_a_form(client, accounts):
    csrf = signed_in(client)
    calls = len(accounts.calls)
    too_large = client.post("/console/logout", data={"csrf": csrf, "x": "y" * 20_000})
    assert too_large.status_code == 413 and "过长" in too_large.get_data(as_text=True)
    as_json = client.post("/console/logout", json={"csrf": csrf})
    assert as_json.status_code == 400
    many = "&".join(f"f{i}=1" for i in range(pages.FORM_FIELDS + 1))
    response = client.post("/console/logout", data=f"csrf={csrf}&{many}",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    twice = client.post("/console/logout", data=f"csrf={csrf}&csrf={csrf}",
                        content_type="application/x-www-form-urlencoded")
    assert twice.status_code == 400
    assert len(accounts.calls) == calls and client.get("/console/").status_code == 200


def test_the_api_never_reads_the_session_cookie(client):
    signed_in(client)
    response = client.get(f"/v1/organizations/get_place?place_code={SUICHANG}")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_an_unavailable_accounts_service_is_said_in_chinese(client, accounts):
    csrf = login_form(client)
    accounts.down = True
    response = client.post("/console/login", data={"csrf": csrf, "username": "zhangsan",
                                                   "password": PASSWORD})
    assert response.status_code == 503 and pages.SIGN_IN_UNAVAILABLE in response.get_data(
        as_text=True)


def test_unknown_pages_and_methods_answer_in_chinese(client):
    missing = client.get("/console/nowhere")
    assert missing.status_code == 404 and "页面不存在" in missing.get_data(as_text=True)
    assert missing.headers["X-Frame-Options"] == "DENY"
    wrong = client.get("/console/logout")
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "POST")
    options = client.options("/console/login")
    assert (options.status_code, options.headers["Allow"]) == (204, "GET, HEAD, POST")


def test_a_session_ended_within_the_check_bound_is_refused_by_the_service(client, accounts):
    csrf = signed_in(client)
    token_id = auth.TokenVerifier((SECRET,)).verify(
        client.get_cookie(security.SESSION_COOKIE, path=security.SESSION_PATH).value).token_id
    accounts.ended.add(token_id)  # this worker still believes it live for a few seconds
    response = client.post("/console/password", data={
        "csrf": csrf, "old_password": PASSWORD, "new_password": "a new password 1",
        "new_password_again": "a new password 1"})
    assert (response.status_code, response.headers["Location"]) == (
        303, "/console/login?session=ended")
    assert client.get("/console/").status_code == 303  # forgotten: asked again, and dead


def test_a_password_an_administrator_set_is_changed_first_then_signed_in_again(client,
                                                                              accounts):
    accounts.must_change = True
    response = sign_in(client)
    assert (response.status_code, response.headers["Location"]) == (
        303, "/console/password?first=1")
    page = client.get("/console/password?first=1").get_data(as_text=True)
    assert "账号管理员设置的" in page
    response = client.post("/console/password", data={
        "csrf": field(page), "old_password": PASSWORD, "new_password": "a-new-one-2026",
        "new_password_again": "a-new-one-2026"})
    assert (response.status_code, response.headers["Location"]) == (
        303, "/console/login?password=chosen")
    assert "Max-Age=0" in set_cookies(response)[security.SESSION_COOKIE]
    assert "请用新密码重新登录" in client.get("/console/login?password=chosen").get_data(
        as_text=True)
    assert sign_in(client, "a-new-one-2026").headers["Location"] == "/console/"


def test_the_dashboard_shows_what_it_has_when_a_service_does_not_answer(client, accounts):
    signed_in(client)

    def down(params):
        raise ServiceUnavailable("organizations did not answer")

    accounts.reports[("organizations", "ledger")] = down
    response = client.get("/console/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "以下数据暂时无法取得" in html and "整改台账" in html
    assert "遂昌县" in html  # the parts that answered
    assert "逾期未完成" not in html


def test_marshmallows_standard_messages_are_said_in_chinese():
    from services.gateway.console import texts
    from services.gateway.console.context import field_errors

    assert texts.standard_message("Not a valid date.") == \
        "日期格式不对，应为 年-月-日（如 2026-03-01）"
    assert texts.standard_message("Must be one of: 611, 621.", choices=["党委", "党总支"]) == \
        "应为以下之一：党委、党总支"
    assert texts.standard_message("Length must be between 1 and 3.", list_field=True) == \
        "应填写 1 至 3 项"
    assert texts.standard_message("something else") is None
    assert field_errors(ValidationError("bad", {"year": ["Not a valid integer."],
                                                "name": ["名称已被使用"]})) == {
        "year": "请填写整数", "name": "名称已被使用"}


def test_range_messages_with_one_or_two_bounds_are_said_in_chinese():
    from services.gateway.console import texts

    assert texts.standard_message(
        "Must be greater than or equal to 0 and less than or equal to 100.") == "应在 0 至 100 之间"
    assert texts.standard_message("Must be greater than or equal to 1.") == "不能小于 1"
    assert texts.standard_message("Must be less than or equal to 500.") == "不能大于 500"


def test_a_place_outside_reach_is_refused_not_shown_empty(client, accounts):
    signed_in(client)

    def outside(params):
        principal = auth.Principal(subject="zhangsan", department="d", place_code=SUICHANG,
                                    roles=frozenset(), system="console", token_id="t")
        principal.require_place(params["place_code"])

    accounts.reports[("organizations", "ledger")] = outside
    response = client.get("/console/?place=331124000000")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "该地区不在您的管辖范围内" in html


def test_a_missing_role_is_named_in_chinese(client, accounts):
    signed_in(client)
    response = client.get("/console/enterprises")  # npe.read: not among the member's roles
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "您的账号没有“非公企业党建信息查询”角色，不能进行此操作" in html


def test_digits_that_are_not_ascii_are_not_numbers(client):
    signed_in(client)
    assert client.get("/console/grading?round=%C2%B2").status_code != 500
