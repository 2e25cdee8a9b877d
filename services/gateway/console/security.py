"""The console's security parts that need no request and no broker: CSRF tokens, the
cookies' attributes, the headers of every page, and the short memory of live sessions.
Pure (stdlib and werkzeug.http only), so tests/unit/test_console_csrf.py and test_console_limits.py check
each one alone.

CSRF. Every POST carries a hidden field `csrf`, compared in constant time:
- signed in: HMAC-SHA256(the gateway's token secret, "console-csrf" ‖ the session's token
  id). Tied to the session (another session's field is refused) and unforgeable without
  the secret; nothing to store, so every gunicorn worker checks it alike.
- on the sign-in form (no session yet): a signed double submit. GET sets a random nonce in
  a cookie (HttpOnly, SameSite=Strict, Path=/console/login, an hour) and puts
  HMAC(secret, "login-csrf" ‖ nonce) in the form; POST needs both to agree. A site that
  can plant a cookie (a sibling subdomain) still cannot make the field without the secret.
Each purpose has its own label inside the MAC, so one kind of token never passes for the
other, nor for a JWT signature made with the same secret. Every configured secret is
tried, as the TokenVerifier does, so a page rendered just before a rotation still posts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets as _secrets
import threading
import time
from collections.abc import Callable, Iterable

from werkzeug.http import dump_cookie

SESSION_COOKIE = "jinwei_session"
LOGIN_COOKIE = "jinwei_login_csrf"
LOGIN_PATH = "/console/login"
LOGIN_NONCE_TTL_S = 3600  # the sign-in form may stay open this long before it must reload
# A live session is believed this long after the accounts service said so: a signed-out
# (or disabled) session can open pages in another gunicorn worker for at most this long.
# The worker that signed it out forgets it at once.
SESSION_CHECK_S = 5.0
CSRF_FIELD = "csrf"

_NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_MAC_TEXT = re.compile(r"^[A-Za-z0-9_-]{1,100}$")

# Every console page: no script runs (there is none), nothing loads but the gateway's own
# stylesheet and icon, forms post only to the gateway, no other site frames a page.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; "
                           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Pages name the staff member, the place and the roles (and, later, personal data):
    # never kept by the browser's cache nor a proxy's, nor shown again by Back after
    # signing out.
    "Cache-Control": "no-store",
}


def _mac(secret: str, purpose: bytes, value: str) -> str:
    digest = hmac.new(secret.encode(), purpose + b"\x00" + value.encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _matches(expected: Iterable[str], given: object) -> bool:
    if not isinstance(given, str) or not _MAC_TEXT.match(given):
        return False  # (compare_digest refuses text that is not ASCII)
    found = False
    for candidate in expected:  # every one compared: the time does not tell which matched
        found |= hmac.compare_digest(candidate.encode(), given.encode())
    return found


def session_csrf(secret: str, token_id: str) -> str:
    """The hidden field of every form of the session whose token id is `token_id`."""
    return _mac(secret, b"jinwei console-csrf", token_id)


def session_csrf_ok(secrets: Iterable[str], token_id: str, given: object) -> bool:
    return bool(token_id) and _matches((session_csrf(s, token_id) for s in secrets), given)


def new_login_nonce() -> str:
    return _secrets.token_urlsafe(32)


def login_nonce_ok(nonce: object) -> bool:
    """A nonce this gateway could have made (a cookie is the client's to write)."""
    return isinstance(nonce, str) and bool(_NONCE.match(nonce))


def login_csrf(secret: str, nonce: str) -> str:
    return _mac(secret, b"jinwei console-login-csrf", nonce)


def login_csrf_ok(secrets: Iterable[str], nonce: object, given: object) -> bool:
    if not login_nonce_ok(nonce):
        return False
    assert isinstance(nonce, str)
    return _matches((login_csrf(s, nonce) for s in secrets), given)


def wants_secure(scheme: str, forced: bool) -> bool:
    """Secure cookies over HTTPS (gunicorn sets the scheme from X-Forwarded-Proto when the
    proxy is one it trusts: forwarded_allow_ips), or always when the setting says so (a
    proxy that ends TLS without saying: JINWEI_CONSOLE_SECURE_COOKIES=true)."""
    return forced or scheme == "https"


# The session cookie goes to the console's pages only: /v1 never reads it, and a page of
# another part of the site (the API reference's try-it page runs script) never gets it.
SESSION_PATH = "/console/"


def cookie(name: str, value: str, *, max_age: int, secure: bool,
           path: str = SESSION_PATH) -> str:
    """A Set-Cookie value: never readable by a script (HttpOnly), never sent with a
    request another site starts (SameSite=Strict), no Domain (this host only)."""
    return dump_cookie(name, value, max_age=max(0, int(max_age)), path=path, secure=secure,
                       httponly=True, samesite="Strict")


def cleared(name: str, *, secure: bool, path: str = SESSION_PATH) -> str:
    """The Set-Cookie value that removes the cookie `name` of `path`."""
    return dump_cookie(name, "", max_age=0, expires=0, path=path, secure=secure,
                       httponly=True, samesite="Strict")


class LiveSessions:
    """Whether a session is still live (accounts.session_valid), a "yes" remembered for
    `seconds` (and never past the token's own expiry); a "no" is not remembered, since a
    dead session stays dead. Shared by a worker's threads."""

    def __init__(self, *, seconds: float = SESSION_CHECK_S, size: int = 10_000,
                 clock: Callable[[], float] = time.time):
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._live: dict[str, float] = {}
        self._lock = threading.Lock()

    def valid(self, token_id: str, expires: float, ask: Callable[[], bool]) -> bool:
        """Live, as remembered or as `ask()` (the question to the service) answers."""
        now = self.clock()
        with self._lock:
            if self._live.get(token_id, 0.0) > now:
                return True
        live = bool(ask())
        if live:
            self.remember(token_id, expires)
        else:
            self.forget(token_id)
        return live

    def remember(self, token_id: str, expires: float) -> None:
        with self._lock:
            if len(self._live) >= self.size:
                self._live.clear()  # a burst of sessions: ask again rather than grow
            self._live[token_id] = min(self.clock() + self.seconds, expires)

    def forget(self, token_id: str) -> None:
        with self._lock:
            self._live.pop(token_id, None)


class SignInLimits:
    """How often sign-in may be tried, per gateway worker: at most `per_address` attempts
    a minute from one client address, and `at_once` attempts in flight. Each attempt costs
    the accounts service an argon2 check (~0.3 s of a core, 64 MiB): without a bound, a
    flood of posts would fill its workers and every session check behind them. Memory is
    bounded too: at most `addresses` addresses are remembered (the oldest forgotten).
    Behind a proxy every client has the proxy's address, so the per-address bound is then
    the proxy's: set it for the number of staff behind one."""

    WINDOW_S = 60.0

    def __init__(self, per_address: int = 30, at_once: int = 4, addresses: int = 10_000):
        self.per_address, self.addresses = per_address, addresses
        self._attempts: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(at_once)

    def admit(self, address: str, now: float | None = None) -> bool:
        """Whether an attempt from `address` may start now (it is counted if so)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [t for t in self._attempts.pop(address, []) if now - t < self.WINDOW_S]
            if len(recent) >= self.per_address:
                self._attempts[address] = recent
                return False
            recent.append(now)
            self._attempts[address] = recent  # re-inserted: the newest are last
            while len(self._attempts) > self.addresses:
                del self._attempts[next(iter(self._attempts))]
            return True

    def in_flight(self):
        """A context manager: one of the attempts in flight, or None when all are taken
        (the caller answers 429 without waiting)."""
        if not self._in_flight.acquire(blocking=False):
            return None
        return _Release(self._in_flight)


class _Release:
    def __init__(self, semaphore: threading.BoundedSemaphore):
        self.semaphore = semaphore

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.semaphore.release()
