"""The console's security parts alone (services/gateway/console/security.py): CSRF tokens
made and checked, the cookies' attributes, and how long a live session is believed."""

from __future__ import annotations

import pytest

from services.gateway.console import security

SECRET, OLD_SECRET = "console-secret-" + "a" * 40, "console-secret-" + "b" * 40


def test_a_session_csrf_token_is_tied_to_its_session_and_the_secret():
    field = security.session_csrf(SECRET, "jti-1")
    assert security.session_csrf_ok((SECRET,), "jti-1", field)
    assert not security.session_csrf_ok((SECRET,), "jti-2", field)  # another session's
    assert not security.session_csrf_ok((OLD_SECRET,), "jti-1", field)  # another secret's
    assert not security.session_csrf_ok((SECRET,), "", security.session_csrf(SECRET, ""))
    # during a rotation every configured secret is accepted, as by the token verifier
    assert security.session_csrf_ok((OLD_SECRET, SECRET), "jti-1", field)
    assert security.session_csrf(SECRET, "jti-1") == field  # nothing stored: remade alike


@pytest.mark.parametrize("given", [None, "", 7, ["x"], "é" * 43, "x" * 101, "a b",
                                   "A" * 43])
def test_a_missing_or_malformed_csrf_field_is_refused(given):
    assert not security.session_csrf_ok((SECRET,), "jti-1", given)


def test_a_truncated_or_altered_field_is_refused():
    field = security.session_csrf(SECRET, "jti-1")
    assert not security.session_csrf_ok((SECRET,), "jti-1", field[:-1])
    altered = field[:-1] + ("A" if field[-1] != "A" else "B")
    assert not security.session_csrf_ok((SECRET,), "jti-1", altered)


def test_the_sign_in_form_is_a_signed_double_submit():
    nonce = security.new_login_nonce()
    assert security.login_nonce_ok(nonce) and nonce != security.new_login_nonce()
    field = security.login_csrf(SECRET, nonce)
    assert security.login_csrf_ok((SECRET,), nonce, field)
    # the field of another nonce, a nonce without its field, a planted cookie
    assert not security.login_csrf_ok((SECRET,), security.new_login_nonce(), field)
    assert not security.login_csrf_ok((SECRET,), nonce, None)
    assert not security.login_csrf_ok((SECRET,), nonce, nonce)
    for planted in (None, "", "short", "x" * 65, "bad nonce with spaces" * 3, "é" * 40):
        assert not security.login_csrf_ok((SECRET,), planted, field)


def test_one_kind_of_token_never_passes_for_the_other():
    value = "A" * 43  # a string that is both a well-formed nonce and a token id
    assert security.login_csrf(SECRET, value) != security.session_csrf(SECRET, value)
    assert not security.session_csrf_ok((SECRET,), value, security.login_csrf(SECRET, value))
    assert not security.login_csrf_ok((SECRET,), value, security.session_csrf(SECRET, value))


def _attributes(header: str) -> dict[str, str]:
    parts = [part.strip() for part in header.split(";")]
    return {name.lower(): value for name, _, value in (p.partition("=") for p in parts[1:])}


def test_the_session_cookie_is_httponly_samesite_strict_host_only():
    header = security.cookie(security.SESSION_COOKIE, "tok.en.value", max_age=28800,
                             secure=False)
    assert header.startswith("jinwei_session=tok.en.value;")
    attributes = _attributes(header)
    assert "httponly" in attributes and attributes["samesite"] == "Strict"
    assert attributes["path"] == "/console/" and attributes["max-age"] == "28800"
    assert "domain" not in attributes and "secure" not in attributes
    assert "secure" in _attributes(security.cookie("c", "v", max_age=5, secure=True))
    assert _attributes(security.cookie("c", "v", max_age=-3, secure=False))["max-age"] == "0"


def test_a_cleared_cookie_expires_at_once_on_its_own_path():
    attributes = _attributes(security.cleared(security.LOGIN_COOKIE, secure=True,
                                              path=security.LOGIN_PATH))
    assert attributes["max-age"] == "0" and attributes["path"] == "/console/login"
    assert "secure" in attributes and "httponly" in attributes


def test_cookies_are_secure_over_https_or_when_the_setting_says_so():
    assert security.wants_secure("https", False)
    assert not security.wants_secure("http", False)
    assert security.wants_secure("http", True)


def test_the_page_headers_allow_no_script_and_no_framing():
    policy = security.PAGE_HEADERS["Content-Security-Policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert security.PAGE_HEADERS["X-Frame-Options"] == "DENY"
    assert security.PAGE_HEADERS["Cache-Control"] == "no-store"
    assert security.PAGE_HEADERS["Referrer-Policy"] == "no-referrer"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_live_session_is_believed_for_a_few_seconds_at_most():
    clock, asked = Clock(), []
    sessions = security.LiveSessions(seconds=5, clock=clock)

    def ask(answer):
        return lambda: asked.append(answer) or answer

    assert sessions.valid("jti", 1e9, ask(True)) and asked == [True]
    clock.now += 4.9
    assert sessions.valid("jti", 1e9, ask(False)) and asked == [True]  # remembered
    clock.now += 0.2  # past the bound: asked again, and a "no" is the answer
    assert not sessions.valid("jti", 1e9, ask(False)) and asked == [True, False]
    assert not sessions.valid("jti", 1e9, ask(False)) and asked == [True, False, False]


def test_a_live_session_is_never_believed_past_its_token_and_is_forgotten_at_sign_out():
    clock = Clock()
    sessions = security.LiveSessions(seconds=5, clock=clock)
    sessions.remember("jti", expires=clock.now + 1)
    assert sessions.valid("jti", clock.now + 1, lambda: False)
    clock.now += 1.5  # the token expired before the bound
    assert not sessions.valid("jti", clock.now, lambda: False)
    sessions.remember("other", expires=1e9)
    sessions.forget("other")
    assert not sessions.valid("other", 1e9, lambda: False)


def test_the_memory_of_sessions_is_bounded():
    sessions = security.LiveSessions(size=3, clock=Clock())
    for index in range(10):
        sessions.remember(f"jti-{index}", 1e9)
    assert len(sessions._live) <= 3
