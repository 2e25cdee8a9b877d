"""Who is calling: signed tokens, principals, roles and jurisdiction.

Every RPC carries a JWT (HS256, PyJWT) in nameko's context data under `auth_token`
(nameko.constants.AUTH_TOKEN_CONTEXT_KEY): ClusterRpcProxy(config,
context_data={"auth_token": token}). The principal it names has a subject, a
department, the system it calls from, a place code (its jurisdiction: that place's
subtree) and roles. No or bad token → Unauthenticated; outside the subtree or without
the role → Forbidden.

Tokens are issued by `make token` (python -m shared.platform.auth issue ...).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import dataclass

import jwt
from nameko.constants import AUTH_TOKEN_CONTEXT_KEY
from nameko.extensions import DependencyProvider

from shared.contracts.roles import ROLES
from shared.errors import Forbidden, Unauthenticated
from shared.national import regions
from shared.platform import config

ISSUER = "jinwei"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    subject: str
    department: str
    system: str
    place_code: str
    roles: frozenset[str]
    token_id: str

    def require_role(self, role: str) -> None:
        if role not in self.roles:
            raise Forbidden(
                f"{self.subject} lacks the role {role} ({ROLES.get(role, role)})",
                {"role": role},
            )

    def covers(self, place_code: str) -> bool:
        return regions.in_subtree(place_code, self.place_code)

    def require_place(self, place_code: str) -> None:
        if not self.covers(place_code):
            raise Forbidden(
                f"place {place_code} is outside the jurisdiction of {self.subject} "
                f"({self.place_code})",
                {"place_code": place_code, "jurisdiction": self.place_code},
            )

    def require_visible(self, place_code: str, absent: Exception) -> None:
        """A record the caller named (by its id or key): outside the caller's jurisdiction
        it is `absent` — the very NotFound the store raises when there is no such record —
        so that "not yours" and "not there" are one answer, and no caller learns that a
        record exists outside its subtree. (A place the caller names is public: outside
        the subtree it is Forbidden, `require_place`.)"""
        if not self.covers(place_code):
            raise absent

    def require_superior(self, place_code: str) -> None:
        """The caller is above the place (a superior grades, surveys and rates stars): in
        its jurisdiction and not the place itself."""
        self.require_place(place_code)
        if place_code == self.place_code:
            raise Forbidden(
                f"only a superior of {place_code} may do this, not {self.subject} at the same"
                " place (须由上级党组织进行)", {"place_code": place_code})

    def as_audit(self) -> dict:
        return {"subject": self.subject, "department": self.department, "system": self.system}


def issue_token(
    secret: str,
    *,
    subject: str,
    department: str,
    place_code: str,
    roles: list[str] | tuple[str, ...],
    system: str = "operator",
    ttl_seconds: int = 8 * 3600,
    now: float | None = None,
    max_ttl_seconds: int | None = None,
) -> str:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(unknown)}; known: {', '.join(ROLES)}")
    if ttl_seconds <= 0 or (max_ttl_seconds is not None and ttl_seconds > max_ttl_seconds):
        raise ValueError(f"a token lives 1 to {max_ttl_seconds} seconds "
                         f"(JINWEI_TOKEN_MAX_TTL_SECONDS), not {ttl_seconds}")
    regions.parse(place_code)  # a jurisdiction must be a real place code
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "dept": department,
        "sys": system,
        "place": place_code,
        "roles": sorted(set(roles)),
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


# What a call without a token is told, over RPC (the gateway words it for HTTP:
# services/gateway/http.py).
NO_TOKEN = ("no token: send a signed token in the message header nameko.auth_token "
            "(shared.platform.rpc_client does; with nameko's own proxies, context_data={'auth_token': "
            "token})")


class TokenVerifier:
    """Verifies tokens against every configured secret (the first signs; the others
    are still accepted during a rotation). Verified tokens are cached until they
    expire, so a busy caller pays for the HMAC once."""

    CLOCK_SKEW_S = 60  # issued a little in the future by a machine whose clock is ahead

    def __init__(self, secrets: tuple[str, ...], cache_size: int = 4096,
                 max_ttl_seconds: int = 7 * 24 * 3600):
        if not secrets:
            raise ValueError("no token secret configured")
        self.secrets = secrets
        self.cache: dict[str, tuple[float, Principal]] = {}
        self.cache_size = cache_size
        self.max_ttl_seconds = max_ttl_seconds

    def verify(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated(NO_TOKEN)
        if not isinstance(token, str):
            raise Unauthenticated(f"bad token: a token is a string, not {type(token).__name__}")
        cached = self.cache.get(token)
        if cached and cached[0] > time.time():
            return cached[1]
        claims = self._decode(token)
        principal = Principal(
            subject=claims["sub"],
            department=claims["dept"],
            system=claims["sys"],
            place_code=claims["place"],
            roles=frozenset(claims["roles"]),
            token_id=claims["jti"],
        )
        if len(self.cache) >= self.cache_size:
            self.cache.clear()
        self.cache[token] = (claims["exp"], principal)
        return principal

    def _decode(self, token: str) -> dict:
        required = ["exp", "iat", "sub", "iss"]
        last_error: Exception | None = None
        for secret in self.secrets:
            try:
                claims = jwt.decode(
                    token,
                    secret,
                    algorithms=[ALGORITHM],
                    issuer=ISSUER,
                    options={"require": required},
                )
            except jwt.InvalidSignatureError as exc:
                last_error = exc
                continue
            except jwt.PyJWTError as exc:
                raise Unauthenticated(f"bad token: {exc}") from None
            missing = [c for c in ("dept", "sys", "place", "roles", "jti") if c not in claims]
            if missing:
                raise Unauthenticated(f"bad token: missing claims {', '.join(missing)}")
            _check_claims(claims)
            if claims["exp"] - claims["iat"] > self.max_ttl_seconds:
                raise Unauthenticated(f"bad token: it lives longer than the "
                                      f"{self.max_ttl_seconds} s a token may")
            if claims["iat"] > time.time() + self.CLOCK_SKEW_S:
                raise Unauthenticated("bad token: issued in the future")
            return claims
        raise Unauthenticated(f"bad token: {last_error}")


def _check_claims(claims: dict) -> None:
    """Claims of the types the principal is made of: a token signed with our secret but
    made by hand (a digit string for exp, a list for sub) is refused, not a 500 later."""
    wrong = [name for name in ("sub", "dept", "sys", "place", "jti")
             if not isinstance(claims[name], str) or not claims[name]]
    wrong += [name for name in ("exp", "iat")
              if not isinstance(claims[name], int) or isinstance(claims[name], bool)]
    roles = claims["roles"]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        wrong.append("roles")
    if wrong:
        raise Unauthenticated(f"bad token: claims of the wrong type: {', '.join(wrong)}")
    try:
        regions.parse(claims["place"])
    except (regions.RegionCodeError, ValueError):
        raise Unauthenticated("bad token: place is not a place code") from None


class CallerIdentity(DependencyProvider):
    """`self.caller.principal()` — the verified principal of the current call."""

    def setup(self):
        settings: config.Settings = self.container.config["JINWEI"]
        self.verifier = TokenVerifier(settings.token_secrets,
                                      max_ttl_seconds=settings.token_max_ttl_seconds)

    def get_dependency(self, worker_ctx):
        return _Caller(self.verifier, worker_ctx.data.get(AUTH_TOKEN_CONTEXT_KEY))


class _Caller:
    __slots__ = ("_verifier", "_token")

    def __init__(self, verifier: TokenVerifier, token: str | None):
        self._verifier = verifier
        self._token = token

    def principal(self, role: str | None = None) -> Principal:
        principal = self._verifier.verify(self._token)
        if role is not None:
            principal.require_role(role)
        return principal


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Issue a signed token for an operator or a system.")
    sub = parser.add_subparsers(dest="command", required=True)
    issue = sub.add_parser("issue", help="print a new token")
    issue.add_argument("--subject", required=True, help="who: a person or a system account")
    issue.add_argument("--department", required=True, help="e.g. 杭州市委组织部")
    issue.add_argument("--place", required=True, help="12-digit place code of the jurisdiction")
    issue.add_argument("--roles", required=True, help="comma-separated; see `roles`")
    issue.add_argument("--system", default="operator", help="the calling system")
    issue.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    sub.add_parser("roles", help="list the roles")
    args = parser.parse_args(argv)
    if args.command == "roles":
        for role, label in ROLES.items():
            print(f"{role}\t{label}")
        return 0
    settings = config.load()
    if not settings.token_secrets:
        print("no token secret: set JINWEI_TOKEN_SECRET or run `make run` once", file=sys.stderr)
        return 2
    try:
        token = issue_token(
            settings.token_secrets[0],
            subject=args.subject,
            department=args.department,
            place_code=args.place,
            roles=[r.strip() for r in args.roles.split(",") if r.strip()],
            system=args.system,
            ttl_seconds=args.ttl or settings.token_ttl_seconds,
            max_ttl_seconds=settings.token_max_ttl_seconds,
        )
    except (ValueError, regions.RegionCodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
