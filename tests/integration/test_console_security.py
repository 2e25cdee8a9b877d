"""The console's sign-in against the real gateway (gunicorn) and the real accounts and
organizations services: CSRF refused without or with a wrong token, the cookies' flags,
one generic message for a wrong password and for a locked account, sign-out revoking
the cookie, changing the password, and a township account's token confined to its
township (issue 19, "Security tests")."""

from __future__ import annotations

import http.client
import re
import uuid
from urllib.parse import urlencode, urlsplit

import pytest

from services.gateway.console import pages, security
from shared.platform import auth
from tests.support import (
    SUICHANG,
    Gateway,
    operator_token,
    rpc,
    sample_places,
    services_running,
    token,
)

PASSWORD = "Suichang-2024-staff"
# A single gunicorn worker: a signed-out session is refused at once (another worker may
# believe a live session for security.SESSION_CHECK_S seconds more).
WORKERS = 1


class Browser:
    """What a browser does with the console, by hand: keeps cookies (sending each only on
    its path), follows no redirect, posts forms."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, tuple[str, str]] = {}  # name → (value, path)

    def request(self, method: str, path: str, form: dict | None = None,
                headers: dict | None = None):
        """(status, headers, text)."""
        all_headers = dict(headers or {})
        sent = [f"{name}={value}" for name, (value, where) in self.cookies.items()
                if path.split("?")[0].startswith(where)]
        if sent:
            all_headers["Cookie"] = "; ".join(sent)
        body = None
        if form is not None:
            body = urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            attributes = attributes_of(header)
            if attributes.get("max-age") == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = (value, attributes.get("path", "/"))
        return response.status, response.headers, text

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict, **kw):
        return self.request("POST", path, form=form, **kw)

    def cookie(self, name: str) -> str | None:
        return self.cookies.get(name, (None, ""))[0]

    def sign_in(self, username: str, password: str = PASSWORD, **kw):
        status, _, html = self.get("/console/login")
        assert status == 200
        return self.post("/console/login", {"csrf": csrf_of(html), "username": username,
                                            "password": password}, **kw)

    def home_csrf(self) -> str:
        status, _, html = self.get("/console/")
        assert status == 200, html[:500]
        return csrf_of(html)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def attributes_of(header: str) -> dict[str, str]:
    parts = [part.strip() for part in header.split(";")]
    return {name.lower(): value for name, _, value in (p.partition("=") for p in parts[1:])}


def set_cookie(headers, name: str) -> str:
    found = [h for h in headers.get_all("Set-Cookie") or () if h.startswith(f"{name}=")]
    assert len(found) == 1, headers.get_all("Set-Cookie")
    return found[0]


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret, tmp_path_factory):
    with services_running(databases, base_settings, "console", "organizations",
                          "accounts") as running:
        admin = token(token_secret)  # the province, every role: the tests' administrator
        with rpc(running.settings, admin) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG))
            townships = [p["code"] for p in proxy.organizations.list_children(
                place_code=SUICHANG)["items"][:2]]
            running.townships = townships
            running.proxy_token = admin
        with Gateway(running.settings, tmp_path_factory.mktemp("console"),
                     workers=WORKERS, threads=4) as gateway:
            running.gateway = gateway
            yield running


def account(stack, place: str = SUICHANG, roles=("organizations.read",)) -> str:
    """A new account at `place`; its user name (the password is PASSWORD)."""
    username = f"staff.{uuid.uuid4().hex[:10]}"
    with rpc(stack.settings, operator_token(stack.settings.token_secrets[0])) as proxy:
        proxy.accounts.create_account(
            request_id=str(uuid.uuid4()), username=username, display_name="测试干部",
            department="遂昌县委组织部", place_code=place, roles=list(roles),
            password=PASSWORD)
    return username


def session_valid(stack, token_id: str) -> bool:
    gateway_token = auth.issue_token(stack.settings.token_secrets[0], subject="test",
                                     department="d", place_code="330000000000",
                                     roles=["accounts.sign_in"], system="gateway")
    with rpc(stack.settings, gateway_token) as proxy:
        return proxy.accounts.session_valid(token_id=token_id)["valid"]


@pytest.fixture
def browser(stack):
    return Browser(stack.gateway.url)


def test_the_root_leads_to_the_console_and_the_console_to_its_sign_in(browser):
    status, headers, _ = browser.get("/")
    assert (status, headers["Location"]) == (302, "/console/")
    status, headers, _ = browser.get("/console/")
    assert (status, headers["Location"]) == (303, "/console/login")


def test_the_cookies_flags_and_the_pages_headers(stack, browser):
    status, headers, html = browser.get("/console/login")
    nonce = attributes_of(set_cookie(headers, security.LOGIN_COOKIE))
    assert {"httponly", "samesite", "path"} <= nonce.keys() and "secure" not in nonce
    assert (nonce["samesite"], nonce["path"]) == ("Strict", "/console/login")
    assert headers["Content-Security-Policy"] == security.CONTENT_SECURITY_POLICY
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer" and "<script" not in html
    assert browser.get("/console/static/console.css")[0] == 200  # served here, no CDN

    status, headers, _ = browser.post("/console/login", {
        "csrf": csrf_of(html), "username": account(stack), "password": PASSWORD})
    assert (status, headers["Location"]) == (303, "/console/")
    cookie = set_cookie(headers, security.SESSION_COOKIE)
    flags = attributes_of(cookie)
    assert "httponly" in flags and flags["samesite"] == "Strict" and flags["path"] == "/console/"
    assert "secure" not in flags and "domain" not in flags  # plain HTTP, this host only
    principal = auth.TokenVerifier(stack.settings.token_secrets).verify(
        browser.cookie(security.SESSION_COOKIE))
    assert principal.system == "console"
    assert 8 * 3600 - 30 <= int(flags["max-age"]) <= 8 * 3600  # the token's life
    status, headers, html = browser.get("/console/")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert "控制台用户" in html and "党组织信息查询" in html  # roles in Chinese


def test_behind_a_tls_proxy_the_cookies_are_secure(stack):
    browser = Browser(stack.gateway.url)
    https = {"X-Forwarded-Proto": "https"}  # from 127.0.0.1: a proxy gunicorn trusts
    _, headers, html = browser.get("/console/login", headers=https)
    assert "secure" in attributes_of(set_cookie(headers, security.LOGIN_COOKIE))
    status, headers, _ = browser.post("/console/login", {
        "csrf": csrf_of(html), "username": account(stack), "password": PASSWORD},
        headers=https)
    assert status == 303
    assert "secure" in attributes_of(set_cookie(headers, security.SESSION_COOKIE))


def test_csrf_is_refused_without_or_with_a_wrong_token(stack, browser):
    username = account(stack)
    # the sign-in form: no nonce cookie, or a field that is not the nonce's
    status, _, html = browser.post("/console/login", {"username": username,
                                                      "password": PASSWORD})
    assert status == 403 and "安全校验" in html and "{" not in html
    browser.get("/console/login")
    for csrf in (None, "forged", security.login_csrf("another secret", "x" * 43)):
        form = {"username": username, "password": PASSWORD}
        if csrf is not None:
            form["csrf"] = csrf
        assert browser.post("/console/login", form)[0] == 403
    assert security.SESSION_COOKIE not in browser.cookies  # never signed in
    # signed in: sign-out and the password form need the session's own field
    assert browser.sign_in(username)[0] == 303
    csrf = browser.home_csrf()
    other = Browser(stack.gateway.url)
    assert other.sign_in(username)[0] == 303
    for form in ({}, {"csrf": "forged"}, {"csrf": other.home_csrf()}):
        status, _, html = browser.post("/console/logout", form)
        assert status == 403 and "安全校验" in html
        assert browser.post("/console/password", {
            **form, "old_password": PASSWORD, "new_password": "Another-pass-2024",
            "new_password_again": "Another-pass-2024"})[0] == 403
    assert browser.get("/console/")[0] == 200  # nothing was done: still signed in
    assert browser.get("/console/")[2].count(csrf) == 1  # the same session
    assert Browser(stack.gateway.url).sign_in(username)[0] == 303  # the password unchanged


def test_a_wrong_password_and_a_locked_account_get_one_generic_message(stack, browser):
    username = account(stack)
    wrong = browser.sign_in(username, password="Not-the-password-1")
    unknown = browser.sign_in("nobody.here", password="Not-the-password-1")
    for status, headers, html in (wrong, unknown):
        assert status == 401 and pages.SIGN_IN_FAILED in html
        assert "Not-the-password-1" not in html and "{" not in html
        assert security.SESSION_COOKIE not in (headers.get("Set-Cookie") or "")
    for _ in range(5):  # the accounts service's lockout (domain.Rules.lockout_failures)
        browser.sign_in(username, password="Not-the-password-1")
    locked = browser.sign_in(username)  # the right password, while locked
    assert locked[0] == 401 and pages.SIGN_IN_FAILED in locked[2]
    assert locked[2].replace(username, "") == wrong[2].replace(username, "")
    assert security.SESSION_COOKIE not in browser.cookies


def test_sign_out_revokes_the_cookie_and_the_token(stack, browser):
    username = account(stack)
    assert browser.sign_in(username)[0] == 303
    old_cookie = browser.cookie(security.SESSION_COOKIE)
    token_id = auth.TokenVerifier(stack.settings.token_secrets).verify(old_cookie).token_id
    assert session_valid(stack, token_id)
    api = f"/v1/organizations/list_organizations?place_code={SUICHANG}"
    assert stack.gateway.get(api, token=old_cookie)[0] == 200
    old_csrf = browser.home_csrf()  # the session's own form token, kept too
    status, headers, _ = browser.post("/console/logout", {"csrf": old_csrf})
    assert (status, headers["Location"]) == (303, "/console/login?signed_out=1")
    assert attributes_of(set_cookie(headers, security.SESSION_COOKIE))["max-age"] == "0"
    assert security.SESSION_COOKIE not in browser.cookies
    assert not session_valid(stack, token_id)
    # the old cookie, kept by someone: it opens nothing any more
    def thief():
        someone = Browser(stack.gateway.url)
        someone.cookies[security.SESSION_COOKIE] = (old_cookie, "/console/")
        return someone

    status, headers, _ = thief().get("/console/")
    assert (status, headers["Location"]) == (303, "/console/login?session=ended")
    # a form with the session's valid CSRF field changes nothing either
    status, headers, _ = thief().post("/console/password", {
        "csrf": old_csrf, "old_password": PASSWORD, "new_password": "Stolen-pass-2024x",
        "new_password_again": "Stolen-pass-2024x"})
    assert (status, headers["Location"]) == (303, "/console/login?session=ended")
    assert Browser(stack.gateway.url).sign_in(username)[0] == 303  # the password stands
    # nor the API: a console token is good on /v1 only while its session is
    status, _, problem = stack.gateway.get(api, token=old_cookie)
    assert (status, problem.get("code")) == (401, "unauthenticated"), problem


def test_changing_the_password(stack, browser):
    username = account(stack)
    assert browser.sign_in(username)[0] == 303
    csrf = browser.home_csrf()
    status, _, html = browser.post("/console/password", {
        "csrf": csrf, "old_password": "Not-the-password-1",
        "new_password": "Fresh-pass-2024x", "new_password_again": "Fresh-pass-2024x"})
    assert status == 400 and 'id="old_password-error">当前密码不正确' in html
    status, _, html = browser.post("/console/password", {
        "csrf": csrf, "old_password": PASSWORD, "new_password": "short",
        "new_password_again": "short"})
    assert status == 400 and 'id="new_password-error">' in html and "密码长度" in html
    status, headers, _ = browser.post("/console/password", {
        "csrf": csrf, "old_password": PASSWORD, "new_password": "Fresh-pass-2024x",
        "new_password_again": "Fresh-pass-2024x"})
    assert (status, headers["Location"]) == (303, "/console/?password=changed")
    assert browser.get("/console/")[0] == 200  # this session goes on
    assert Browser(stack.gateway.url).sign_in(username)[0] == 401
    assert Browser(stack.gateway.url).sign_in(username, password="Fresh-pass-2024x")[0] == 303


def test_a_township_account_is_confined_to_its_township(stack, browser):
    mine, theirs = stack.townships
    assert browser.sign_in(account(stack, place=mine))[0] == 303
    status, _, html = browser.get("/console/")
    assert status == 200 and mine in html and "乡镇(街道)" in html
    session_token = browser.cookie(security.SESSION_COOKIE)
    assert auth.TokenVerifier(stack.settings.token_secrets).verify(
        session_token).place_code == mine
    gateway = stack.gateway
    # the session's token is what the services see: its place is the township (the
    # place tree is public; the organizations at a place are the jurisdiction's)
    assert gateway.get(f"/v1/organizations/list_organizations?place_code={mine}",
                       token=session_token)[0] == 200
    status, _, problem = gateway.get(
        f"/v1/organizations/list_organizations?place_code={theirs}", token=session_token)
    assert (status, problem.get("code")) == (403, "forbidden"), problem
    # and /v1 never takes the cookie itself
    status, _, problem = gateway.get(
        f"/v1/organizations/list_organizations?place_code={mine}",
        headers={"Cookie": f"{security.SESSION_COOKIE}={session_token}"})
    assert (status, problem.get("code")) == (401, "unauthenticated"), problem
