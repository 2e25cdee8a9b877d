"""The console's dispatch, its sign-in pages and its error pages (the package docstring
says why the stack). The data pages are views/<area>.py, each given a View (context.py)
of the live session:

    GET  /console/login            the sign-in form (and its CSRF nonce cookie)
    POST /console/login            accounts.sign_in → the session cookie
    POST /console/logout           accounts.sign_out → the cookie cleared
    GET  /console/password         the change-password form
    POST /console/password         accounts.change_password
    GET  /console/static/<name>    the stylesheet and the icon, from this package

Order of work on a request, as on /v1 (limits.py): the route, then the session cookie's
token (signature, expiry, claims), then the form (bounded), its CSRF field, and only
then a question to a service. Every answer is a page in Chinese (never problem+json):
an error says what happened and what to do, next to the field it concerns.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import jwt
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.gateway.console import security, views
from services.gateway.console.context import View
from services.gateway.console.recent import RecentAnswers
from services.gateway.console.texts import chinese, notice, percent
from services.gateway.limits import read_body
from shared import contracts
from shared.contracts import accounts
from shared.contracts.roles import ROLES
from shared.errors import (
    Forbidden,
    JinweiError,
    ServiceUnavailable,
    TooLarge,
    Unauthenticated,
    ValidationError,
)
from shared.national import regions
from shared.platform import auth

log = logging.getLogger("jinwei.gateway.console")

PREFIX = "/console"
HERE = Path(__file__).resolve().parent
CONSOLE_SYSTEM = accounts.CONSOLE_SYSTEM  # the system of a session's token
DEFAULT_SIGN_IN_PLACE = "330000000000"
GATEWAY_TOKEN_TTL_S = 300
# A form here is a few short fields: a user name, passwords (at most 128 characters
# each, 9 bytes a character once percent-encoded) and the CSRF field.
FORM_BYTES = 16 * 1024
FORM_FIELDS = 16
# A data page's form may be larger (a plan of 5 000 characters, a township's grading sheet
# of many rows): View.form(max_bytes=, max_fields=) asks for more, never beyond these.
FORM_BYTES_MAX = 256 * 1024
FORM_FIELDS_MAX = 1024
MAX_COOKIE_TOKEN = 4096

views.load()
URLS = Map([
    *views.ROUTES,
    Rule("/console/login", endpoint="login", methods=["GET", "POST"]),
    Rule("/console/logout", endpoint="logout", methods=["POST"]),
    Rule("/console/password", endpoint="password", methods=["GET", "POST"]),
    Rule("/console/static/<name>", endpoint="static", methods=["GET"]),
], strict_slashes=False)

STATIC = {"console.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"}

# One answer for every failed sign-in — a wrong password, an unknown name, a locked or a
# disabled account — so the page tells no one which names exist (accounts contract).
SIGN_IN_FAILED = ("用户名或密码不正确。连续多次输错后账号将被暂时锁定；"
                  "如仍无法登录，请联系本单位的账号管理员。")
SIGN_IN_UNAVAILABLE = "登录服务暂不可用，请稍后再试。"
NEW_PASSWORD_RULE = (f"新密码须为 {accounts.PASSWORD_MIN}–{accounts.PASSWORD_MAX} 个字符，"
                     "不能包含用户名，不能全是同一个字符，也不能是常见的弱密码")


def owns(path: str) -> bool:
    """Whether a request path is the console's (the gateway hands it over whole)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


@dataclass(frozen=True)
class Session:
    token: str
    principal: auth.Principal
    expires: float


class SignedOut(Exception):
    """No live session: to the sign-in page, the cookie cleared."""


class Refused(Exception):
    """An error page: `status`, a title and what to do, in Chinese."""

    def __init__(self, status: int, title: str, message: str, outcome: str):
        super().__init__(title)
        self.status, self.title, self.message, self.outcome = status, title, message, outcome


def too_many_sign_ins() -> Refused:
    return Refused(429, "登录尝试过于频繁",
                   "请稍候一分钟再登录。如多次出现，请联系本单位的账号管理员。", "rate_limited")


def csrf_refused() -> Refused:
    return Refused(403, "请求未通过安全校验",
                   "页面已过期，或这次提交并非来自本站的页面，操作未执行。"
                   "请返回并刷新页面后重新提交（浏览器须允许本站使用 Cookie）。",
                   "csrf_refused")


class Console:
    def __init__(self, settings, verifier: auth.TokenVerifier, rpc,
                 env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        self.secrets = tuple(settings.token_secrets)
        self.max_ttl = settings.token_max_ttl_seconds
        self.verifier = verifier
        self.rpc = rpc
        self.secure_forced = _flag(env, "JINWEI_CONSOLE_SECURE_COOKIES")
        self.sign_in_place = env.get("JINWEI_CONSOLE_SIGN_IN_PLACE") or DEFAULT_SIGN_IN_PLACE
        regions.parse(self.sign_in_place)  # a bad setting: the gateway does not start
        self.sessions = security.LiveSessions()
        self.recent_answers = RecentAnswers()  # province and city dashboards' reports
        self.sign_in_limits = security.SignInLimits()
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=True, undefined=StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True,
                                     auto_reload=False)  # read once: no stat per page
        self.templates.filters["pct"] = percent
        self._token: tuple[str, float] = ("", 0.0)
        self._token_lock = threading.Lock()

    # -- dispatch ---------------------------------------------------------------------
    def handle(self, request: Request, request_id: str) -> tuple[str, str, Response]:
        """(metrics label, outcome, response) of a request under /console."""
        label, outcome = "console", "success"
        adapter = URLS.bind_to_environ(request.environ)
        try:
            if request.method == "OPTIONS":
                response = self._options(adapter)
            else:
                endpoint, args = adapter.match()
                label = f"console.{endpoint}"
                if endpoint in views.HANDLERS:
                    view = View(self, request, request_id, self._session(request, request_id))
                    response = views.HANDLERS[endpoint](view, **args)
                else:
                    response = getattr(self, f"on_{endpoint}")(request, request_id, **args)
        except (SignedOut, Unauthenticated):  # (a service refused the session's token)
            outcome = "signed_out"
            response = self._to_login(request)
        except Refused as refused:
            outcome = refused.outcome
            response = self._error(request, refused.status, refused.title, refused.message)
        except MethodNotAllowed as error:
            outcome = "method_not_allowed"
            response = self._error(request, 405, "不支持的请求方式",
                                   "该页面不接受这种请求方式。")
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods or ()))
        except NotFound:
            outcome = "not_found"
            response = self._error(request, 404, "页面不存在", "没有这个页面，请从首页进入。")
        except TooLarge:
            outcome = TooLarge.code
            response = self._error(request, 413, "提交的内容过长", "请检查填写的内容后重新提交。")
        except ServiceUnavailable as error:
            log.warning("console %s: %s (request %s)", request.path, error, request_id)
            outcome = ServiceUnavailable.code
            response = self._error(request, 503, "服务暂不可用",
                                   "系统暂时没有应答，请稍后再试。")
        except Forbidden as error:
            outcome = Forbidden.code
            response = self._error(request, 403, "无权操作", _refusal(error))
        except JinweiError as error:
            log.warning("console %s: %s (request %s)", request.path, error, request_id)
            outcome = error.code
            status = error.http_status if 400 <= error.http_status < 500 else 500
            response = self._error(request, status, "操作未完成", chinese(error.message)
                                   or "请求有误，请返回后重试。")
        except Exception:  # noqa: BLE001 - a page, never a stack trace
            log.exception("console error on %s %s (request %s)", request.method, request.path,
                          request_id)
            outcome = "error"
            response = self._error(request, 500, "系统出错",
                                   f"请稍后再试；如一再出现，请把请求编号 {request_id} "
                                   "告诉系统管理员。")
        if label != "console.static":
            for name, value in security.PAGE_HEADERS.items():  # a page may say stricter
                response.headers.setdefault(name, value)
        return label, outcome, response

    @staticmethod
    def _options(adapter) -> Response:
        try:
            allowed = adapter.allowed_methods()
        except NotFound:
            allowed = []
        if not allowed:
            raise NotFound()
        return Response(status=204, headers={"Allow": ", ".join(sorted(allowed))})

    # -- pages ------------------------------------------------------------------------
    def on_login(self, request: Request, request_id: str) -> Response:
        secure = self._secure(request)
        if request.method == "GET":
            if request.cookies.get(security.SESSION_COOKIE):
                try:
                    self._session(request, request_id)
                    return redirect(f"{PREFIX}/", 303)
                except SignedOut:
                    response = self._login_form(request, notice=notice(request))
                    response.headers.add("Set-Cookie", security.cleared(
                        security.SESSION_COOKIE, secure=secure))
                    return response
            return self._login_form(request, notice=notice(request))
        nonce = request.cookies.get(security.LOGIN_COOKIE)
        if not security.login_nonce_ok(nonce):
            raise csrf_refused()  # before the body is read: nothing to read it for
        form = read_form(request)
        if not security.login_csrf_ok(self.secrets, nonce, form.get(security.CSRF_FIELD)):
            raise csrf_refused()
        username, password = form.get("username", "").strip(), form.get("password", "")
        errors = {}
        if not username:
            errors["username"] = "请输入用户名"
        if not password:
            errors["password"] = "请输入密码"
        if errors:
            return self._login_form(request, status=400, username=username, errors=errors)
        address = (request.remote_addr or "")[:64]
        if not self.sign_in_limits.admit(address):
            raise too_many_sign_ins()
        turn = self.sign_in_limits.in_flight()
        if turn is None:
            raise too_many_sign_ins()
        try:
            with turn:
                if len(username) > 64 or len(password) > accounts.PASSWORD_MAX:
                    raise Unauthenticated("no account has such a name or password")
                result = self.rpc.call("accounts", "sign_in", {
                    "username": username, "password": password, "client": address,
                }, token=self._gateway_token(), call_id=f"gateway.{request_id}")
        except (Unauthenticated, ValidationError):
            return self._login_form(request, status=401, username=username,
                                    failed=SIGN_IN_FAILED)
        except ServiceUnavailable as error:
            log.warning("sign-in unavailable: %s (request %s)", error, request_id)
            return self._login_form(request, status=503, username=username,
                                    failed=SIGN_IN_UNAVAILABLE)
        except Forbidden as error:
            raise self._misconfigured("accounts.sign_in", error) from None
        token = result.get("token") if isinstance(result, dict) else None
        try:
            principal = self.verifier.verify(token)
        except Unauthenticated as error:
            raise self._misconfigured("accounts.sign_in's token", error) from None
        if principal.system != CONSOLE_SYSTEM:
            raise self._misconfigured("accounts.sign_in's token",
                                      f"system {principal.system!r}, not {CONSOLE_SYSTEM!r}")
        assert isinstance(token, str)
        expires = _expires(token)
        self.sessions.remember(principal.token_id, expires)
        account = result.get("account") or {}
        # A password an administrator set: the session carries console.user alone until
        # the holder chooses their own, so the first page is the one to do that on.
        first = f"{PREFIX}/password?first=1" if account.get("must_change_password") else None
        response = redirect(first or f"{PREFIX}/", 303)
        response.headers.add("Set-Cookie", security.cookie(
            security.SESSION_COOKIE, token, max_age=int(expires - time.time()), secure=secure))
        response.headers.add("Set-Cookie", security.cleared(
            security.LOGIN_COOKIE, secure=secure, path=security.LOGIN_PATH))
        return response

    def on_logout(self, request: Request, request_id: str) -> Response:
        session = self._session(request, request_id, live=False)
        self.checked_form(request, session)
        try:
            self.rpc.call("accounts", "sign_out", {"request_id": f"console-{uuid.uuid4().hex}"},
                          token=session.token, call_id=f"gateway.{request_id}")
        except Unauthenticated:
            pass  # over already (signed out elsewhere, the account disabled): clear it here
        self.sessions.forget(session.principal.token_id)
        response = redirect(f"{security.LOGIN_PATH}?signed_out=1", 303)
        response.headers.add("Set-Cookie", security.cleared(
            security.SESSION_COOKIE, secure=self._secure(request)))
        return response

    def on_password(self, request: Request, request_id: str) -> Response:
        if request.method == "GET":
            return self.page("password.html", self._session(request, request_id),
                             errors={}, rule=NEW_PASSWORD_RULE, notice=notice(request))
        session = self._session(request, request_id, live=False)
        form = self.checked_form(request, session)
        self._require_live(session, request_id)
        old, new = form.get("old_password", ""), form.get("new_password", "")
        errors = {}
        if not old:
            errors["old_password"] = "请输入当前密码"
        if not new:
            errors["new_password"] = "请输入新密码"
        elif new != form.get("new_password_again", ""):
            errors["new_password_again"] = "两次输入的新密码不一致"
        if not errors:
            params = {"old_password": old, "new_password": new}
            try:
                contracts.load_params(contracts.RPC[("accounts", "change_password")],
                                      dict(params))  # its rules, said before a round trip
                self.rpc.call("accounts", "change_password", params, token=session.token,
                              call_id=f"gateway.{request_id}")
                self.sessions.forget(session.principal.token_id)
                try:  # a session opened with an administrator's password ends with it
                    self._require_live(session, request_id)
                except SignedOut:
                    response = redirect(f"{security.LOGIN_PATH}?password=chosen", 303)
                    response.headers.add("Set-Cookie", security.cleared(
                        security.SESSION_COOKIE, secure=self._secure(request)))
                    return response
                return redirect(f"{PREFIX}/?password=changed", 303)
            except ValidationError as error:
                errors = _password_errors(error.details)
            except Unauthenticated:  # the session ended meanwhile (a wrong current
                self.sessions.forget(session.principal.token_id)  # password is a 400)
                raise SignedOut() from None
        return self.page("password.html", session, status=400, errors=errors,
                         rule=NEW_PASSWORD_RULE, notice=None)

    def on_static(self, request: Request, request_id: str, name: str) -> Response:
        if name not in STATIC:
            raise NotFound()
        return Response(_static(name), content_type=STATIC[name], headers={
            "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "same-origin"})

    # -- the session ------------------------------------------------------------------
    def _session(self, request: Request, request_id: str, *, live: bool = True) -> Session:
        """The session of the cookie: its token verified as every service verifies one,
        from the console, and (with `live`) not signed out since."""
        token = request.cookies.get(security.SESSION_COOKIE)
        if not token or len(token) > MAX_COOKIE_TOKEN:
            raise SignedOut()
        try:
            principal = self.verifier.verify(token)
        except Unauthenticated:
            raise SignedOut() from None
        if principal.system != CONSOLE_SYSTEM:
            raise SignedOut()  # an API token is not a console session
        session = Session(token, principal, _expires(token))
        if live:
            self._require_live(session, request_id)
        return session

    def require_live_api_token(self, token: str, principal: auth.Principal,
                               request_id: str) -> None:
        """A console session's token sent to /v1 (as a Bearer token) is good only while
        the session is: signing out ends it there too, not only in the console. Other
        tokens (systems', operators') have no session and pass."""
        if principal.system != CONSOLE_SYSTEM:
            return
        try:
            self._require_live(Session(token, principal, _expires(token)), request_id)
        except SignedOut:
            raise Unauthenticated("the console session has ended (已退出登录，请重新登录)",
                                  {"token": "signed out"}) from None

    def _require_live(self, session: Session, request_id: str) -> None:
        def ask() -> bool:
            try:
                answer = self.rpc.call("accounts", "session_valid",
                                       {"token_id": session.principal.token_id},
                                       token=self._gateway_token(),
                                       call_id=f"gateway.{request_id}")
            except (Forbidden, Unauthenticated) as error:
                raise self._misconfigured("accounts.session_valid", error) from None
            return isinstance(answer, dict) and answer.get("valid") is True

        if not self.sessions.valid(session.principal.token_id, session.expires, ask):
            raise SignedOut()

    def _gateway_token(self) -> str:
        """The gateway's own token for accounts.sign_in and session_valid: that role
        only, kept while it has a minute left (the service's verifier caches it)."""
        now = time.time()
        with self._token_lock:
            token, expires = self._token
            if expires - now < 60:
                ttl = min(GATEWAY_TOKEN_TTL_S, self.max_ttl)
                token = auth.issue_token(self.secrets[0], subject="service:gateway",
                                         department="jinwei", place_code=self.sign_in_place,
                                         roles=(accounts.SIGN_IN,), system="gateway",
                                         ttl_seconds=ttl, now=now)
                self._token = (token, now + ttl)
            return token

    def checked_form(self, request: Request, session: Session, *,
                     max_bytes: int = FORM_BYTES, max_fields: int = FORM_FIELDS
                     ) -> dict[str, str]:
        form = read_form(request, min(max_bytes, FORM_BYTES_MAX),
                         min(max_fields, FORM_FIELDS_MAX))
        if not security.session_csrf_ok(self.secrets, session.principal.token_id,
                                        form.get(security.CSRF_FIELD)):
            raise csrf_refused()
        return form

    def _secure(self, request: Request) -> bool:
        return security.wants_secure(request.scheme, self.secure_forced)

    @staticmethod
    def _misconfigured(what: str, error) -> Refused:
        log.error("the console cannot use %s: %s (the gateway's token secret, "
                  "JINWEI_CONSOLE_SIGN_IN_PLACE or the accounts service's version)", what,
                  error)
        return Refused(500, "登录服务配置有误", "请联系系统管理员。", "misconfigured")

    # -- rendering --------------------------------------------------------------------
    def _render(self, template: str, **context) -> str:
        return self.templates.get_template(template).render(**context)

    def page(self, template: str, session: Session | None, *, status: int = 200,
              **context) -> Response:
        csrf = (security.session_csrf(self.secrets[0], session.principal.token_id)
                if session else "")
        context.setdefault("section", None)
        context.setdefault("view", None)
        html = self._render(template, principal=session.principal if session else None,
                            csrf=csrf, **context)
        return Response(html, status=status, content_type="text/html; charset=utf-8")

    def _login_form(self, request: Request, *, status: int = 200, username: str = "",
                    errors: dict | None = None, failed: str | None = None,
                    notice: str | None = None) -> Response:
        nonce = request.cookies.get(security.LOGIN_COOKIE)
        if not security.login_nonce_ok(nonce):
            nonce = security.new_login_nonce()
        assert isinstance(nonce, str)
        response = self.page("login.html", None, status=status, username=username,
                              errors=errors or {}, failed=failed, notice=notice,
                              login_csrf=security.login_csrf(self.secrets[0], nonce))
        response.headers.add("Set-Cookie", security.cookie(
            security.LOGIN_COOKIE, nonce, max_age=security.LOGIN_NONCE_TTL_S,
            secure=self._secure(request), path=security.LOGIN_PATH))
        return response

    def _to_login(self, request: Request) -> Response:
        had_cookie = security.SESSION_COOKIE in request.cookies
        response = redirect(security.LOGIN_PATH + ("?session=ended" if had_cookie else ""),
                            303)
        if had_cookie:
            response.headers.add("Set-Cookie", security.cleared(
                security.SESSION_COOKIE, secure=self._secure(request)))
        return response

    def _error(self, request: Request, status: int, title: str, message: str) -> Response:
        html = self._render("error.html", principal=None, csrf="", status=status, title=title,
                            message=message, section=None, view=None)
        return Response(html, status=status, content_type="text/html; charset=utf-8")


def read_form(request: Request, max_bytes: int = FORM_BYTES,
              max_fields: int = FORM_FIELDS) -> dict[str, str]:
    """An HTML form's fields (application/x-www-form-urlencoded, UTF-8), read no further
    than `max_bytes` and `max_fields`; each name once."""
    if request.mimetype != "application/x-www-form-urlencoded":
        if not request.mimetype and not request.content_length and "chunked" not in (
                request.headers.get("Transfer-Encoding") or "").lower():
            return {}  # nothing posted: no field, no CSRF field either
        raise Refused(400, "无法处理的提交", "请通过页面上的表单提交。", "bad_form")
    raw = read_body(request, max_bytes, "form")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                          errors="strict", max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "无法处理的提交", "提交的内容格式不对，请通过页面上的表单提交。",
                      "bad_form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form or "\x00" in value:
            raise Refused(400, "无法处理的提交", "提交的内容格式不对，请通过页面上的表单提交。",
                          "bad_form")
        form[name] = value
    return form


def _expires(token: str) -> float:
    """The expiry of a token the verifier has just accepted."""
    return float(jwt.decode(token, options={"verify_signature": False})["exp"])


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = (env.get(name) or "false").strip().lower()
    if value not in ("true", "false"):
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return value == "true"


def _password_errors(details) -> dict[str, str]:
    """A ValidationError of change_password, said in Chinese next to its field."""
    errors: dict[str, str] = {}
    for field, messages in (details or {}).items():
        hint = chinese(messages)
        if field == "old_password":
            errors[field] = hint or "当前密码不正确"
        elif field == "new_password":
            errors[field] = hint or NEW_PASSWORD_RULE
        else:
            errors["form"] = hint or "输入有误，请检查后重新提交"
    return errors or {"form": "输入有误，请检查后重新提交"}


@functools.cache
def _static(name: str) -> bytes:
    return (HERE / "static" / name).read_bytes()


def _refusal(error: Forbidden) -> str:
    """A Forbidden said to a person: the role the account lacks, or the place outside its
    reach, in words (the services' messages name them in English with the label)."""
    details = error.details if isinstance(error.details, dict) else {}
    role = details.get("role")
    if isinstance(role, str):
        return (f"您的账号没有“{ROLES.get(role, role)}”角色，不能进行此操作。"
                "如需要，请联系本单位的账号管理员。")
    if "jurisdiction" in details:
        return "该地区不在您的管辖范围内：只能查看和办理本级及下级的事项。"
    return chinese(error.message) or "您的账号没有进行此操作的权限。"
