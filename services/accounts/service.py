"""The accounts service: the staff console's accounts, sign-in and sessions
(contract: shared/contracts/accounts.py; rules: domain.py).

Passwords are hashed here, at the edge, with argon2-cffi's PasswordHasher (argon2id, the
library's defaults; a stored hash made under older parameters is replaced at the next
sign-in). A hash costs ~0.3 s of CPU and 64 MiB: it runs in an OS thread (eventlet's
tpool), so the service's other calls go on meanwhile, and at most HASHES_AT_ONCE at a
time, so a burst of sign-ins cannot take memory by the gigabyte."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets

import argon2
import eventlet.semaphore
import eventlet.tpool
import jwt
from nameko.extensions import DependencyProvider

from services.accounts import domain, store
from shared import contracts
from shared.contracts import accounts as contract
from shared.contracts.common import encode_cursor
from shared.contracts.typed import accounts as typed
from shared.errors import JinweiError, Unauthenticated, ValidationError
from shared.platform import auth, entrypoints
from shared.platform.auth import CallerIdentity, Principal
from shared.platform.broker.rpc_server import CORRELATION_KEY, Rpc
from shared.platform.db import Database, retry_once
from shared.platform.entrypoints import Call
from shared.platform.monitoring import Monitoring
from shared.platform.owner_lookup import OwnerLookup
from shared.platform.rules import RuleSet

log = logging.getLogger(__name__)

operation = entrypoints.operations(contract.SERVICE)
HASHES_AT_ONCE = 2  # the machine's cores are the limit anyway; 64 MiB each
SYSTEM = contract.CONSOLE_SYSTEM
SESSION_ENDED = "the session has ended: sign in again (会话已结束，请重新登录)"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Passwords(DependencyProvider):
    """`self.passwords`: argon2id hashing off the event loop, and the console's tokens
    (signed with the first configured secret, as every token of the deployment)."""

    def setup(self):
        settings = self.container.config["JINWEI"]
        if not settings.token_secrets:
            raise RuntimeError("accounts signs console sessions: configure the token secret "
                               "(JINWEI_TOKEN_SECRET, or var/token-secret from make run)")
        self.secret = settings.token_secrets[0]
        self.max_ttl_seconds = settings.token_max_ttl_seconds
        self.hasher = argon2.PasswordHasher()
        self.turns = eventlet.semaphore.Semaphore(HASHES_AT_ONCE)
        # What an unknown name's password is checked against (see `matches`).
        self.dummy = self.hasher.hash(secrets.token_urlsafe(32))

    def get_dependency(self, worker_ctx):
        return self

    def _off_loop(self, fn, *args):
        with self.turns:
            return eventlet.tpool.execute(fn, *args)

    def hash(self, password: str) -> str:
        return self._off_loop(self.hasher.hash, password)

    def matches(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` is the one hashed. With no hash (no such account) a hash of
        nothing anyone knows is checked instead, so that an unknown name takes as long to
        refuse as a wrong password."""
        try:
            return self._off_loop(self.hasher.verify, password_hash or self.dummy, password)
        except argon2.exceptions.VerifyMismatchError:
            return False
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            log.error("an account's stored password hash is not an argon2 hash it can check")
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

    def session_token(self, account: dict, now: dt.datetime,
                      ttl_seconds: int) -> tuple[str, dict]:
        """A console session's signed token, and its claims (jti, exp)."""
        token = auth.issue_token(
            self.secret, subject=account["username"], department=account["department"],
            place_code=account["place_code"],
            roles=domain.session_roles(account["roles"],
                                       must_change_password=account["must_change_password"]),
            system=SYSTEM, ttl_seconds=min(ttl_seconds, self.max_ttl_seconds),
            now=now.timestamp(), max_ttl_seconds=self.max_ttl_seconds)
        return token, jwt.decode(token, options={"verify_signature": False})


def answered_after_commit(fn):
    """The entrypoint of a method whose refusal must still be written: a failed sign-in
    counts towards the lockout and is audited, then the caller hears Unauthenticated.

    `@operation` rolls the transaction back on any error, so here the method returns the
    error instead of raising it: the transaction commits (failure count, audit row), and
    the error is raised after. Otherwise as `@operation` (token, role, params, one
    transaction, result schema), but without the request log's replay: a sign-in's result
    is a live token, which must not rest in a table, nor be handed to a repeat of the
    request id (the password is left out of its fingerprint, so a repeat with any password
    would get it). A retried sign-in is a new session; a retried change of password is
    answered as one with a wrong current password."""
    method = contracts.rpc_contract(contract.SERVICE, fn.__name__)

    @functools.wraps(fn)
    def entrypoint(self, **params):
        principal = self.caller.principal(method.role)
        values = contracts.load_params(method, params)
        # The message's correlation id names the transaction in the audit; nothing replays it.
        request_id = self.db.worker_ctx.data.get(CORRELATION_KEY)

        def unit_of_work():
            with self.db.transaction(actor=principal.as_audit(), operation=method.method,
                                     request_id=request_id) as tx:
                return fn(self, Call(tx, principal), values)

        result = retry_once(unit_of_work)
        if isinstance(result, JinweiError):
            raise result
        return method.result.dump(result)

    return Rpc.decorator(entrypoint)


class AccountsService:
    name = contract.SERVICE

    db = Database()
    caller = CallerIdentity()
    rules = RuleSet(domain.Rules)
    monitoring = Monitoring()
    owner = OwnerLookup(asks=("place_path",))  # an account's place's name, from the registry
    passwords = Passwords()

    # -- signing in -----------------------------------------------------------------------
    @answered_after_commit
    def sign_in(self, call: Call, params: typed.SignInParams) -> dict | JinweiError:
        username = domain.normalize_username(params["username"])
        now = _now()
        # The slow check first, holding no lock: a flood of attempts on one name must not
        # queue on its row while workers wait for argon2. Checked whatever the account's
        # state, so that no answer comes sooner than another.
        seen = store.account(call.tx, username)
        if seen is not None and not call.principal.covers(seen["place_code"]):
            seen = None  # a gateway signs in its own place's accounts only: to it, no such one
        checked = seen["password_hash"] if seen else None
        matches = self.passwords.matches(checked, params["password"])
        # Then counted in turn, on the row as it is now (a password changed meanwhile is
        # not the one checked).
        account = store.account(call.tx, username, lock=True) if seen else None
        matches = matches and account is not None and account["password_hash"] == checked
        attempt = domain.attempt(_standing(account), matches, now, self.rules)
        if account is not None and (attempt.succeeded or _changed(account, attempt)):
            store.record_attempt(call.tx, username, attempt, now)
        call.tx.audit("account", username, {"sign_in": attempt.outcome,
                                            "client": params["client"]})
        if not attempt.succeeded:
            return Unauthenticated(domain.REFUSED)
        assert account is not None  # only an account signs in
        if self.passwords.needs_rehash(account["password_hash"]):
            store.rehash(call.tx, username, self.passwords.hash(params["password"]))
        token, claims = self.passwords.session_token(account, now, self.rules.session_seconds)
        expires = dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
        store.insert_session(call.tx, claims["jti"], username, now, expires)
        return {"token": token, "token_id": claims["jti"], "expires_at": expires,
                "account": store.view(call.tx, username, now)}

    @operation
    def session_valid(self, call: Call, params: typed.SessionValidParams) -> dict:
        return {"valid": store.session_live(call.tx, params["token_id"], None, _now())}

    @operation
    def sign_out(self, call: Call, params: typed.SignOutParams) -> dict:
        principal = call.principal
        if store.end_session(call.tx, principal.token_id, principal.subject, _now()):
            call.tx.audit("account", principal.subject, {"signed_out": principal.token_id})
        return {"done": True}  # signed out already, or never in: out all the same

    @answered_after_commit
    def change_password(self, call: Call,
                        params: typed.ChangePasswordParams) -> dict | JinweiError:
        username, now = call.principal.subject, _now()
        if call.principal.system != SYSTEM:
            raise Unauthenticated("only a console session changes its own password "
                                  "(请在控制台登录后修改密码)")
        domain.check_password(params["new_password"], username, "new_password")
        account = store.account(call.tx, username, lock=True)
        if account is None or not store.session_live(call.tx, call.principal.token_id,
                                                     username, now):
            raise Unauthenticated(SESSION_ENDED)
        # The current password, asked again, under the sign-in's lockout: a session left
        # open is not a way to guess the password at leisure.
        matches = self.passwords.matches(account["password_hash"], params["old_password"])
        attempt = domain.attempt(_standing(account), matches, now, self.rules)
        # The same password again changes nothing (and would keep one an administrator
        # set, known to two people).
        same = attempt.succeeded and self.passwords.matches(account["password_hash"],
                                                            params["new_password"])
        call.tx.audit("account", username, {
            "password_change": "same_password" if same else attempt.outcome})
        if same:
            return ValidationError("the new password is the current one", {"new_password": [
                "新密码不能与当前密码相同"]})
        if not attempt.succeeded:
            if _changed(account, attempt):
                store.record_attempt(call.tx, username, attempt, now)
            return ValidationError("the current password is wrong, or the account is locked "
                                   "for a while after repeated failures", {"old_password": [
                                       "当前密码不正确，或因多次输入错误账号已暂时锁定"]})
        store.set_password(call.tx, username, self.passwords.hash(params["new_password"]), now,
                           unlock=True, must_change=False)
        # A session opened with an administrator's password carries console.user alone: it
        # ends too, and the next sign-in carries the account's roles.
        keep = None if account["must_change_password"] else call.principal.token_id
        ended = store.end_sessions(call.tx, username, now, keep=keep)
        call.tx.audit("account", username, {"password_changed": True, "sessions_ended": ended})
        return {"done": True}

    # -- administration ---------------------------------------------------------------------
    def _administrator(self, call: Call) -> Principal:
        """The caller, if a console session: still signed in (its token outlives a sign-out,
        a disabled account or new roles; the session does not)."""
        principal = call.principal
        if principal.system == SYSTEM and not store.session_live(
                call.tx, principal.token_id, principal.subject, _now()):
            raise Unauthenticated(SESSION_ENDED)
        return principal

    def _administered(self, call: Call, username: str, *, lock: bool = True) -> dict:
        """An account within the administrator's jurisdiction (locked, with `lock`):
        outside it, the answer for a name no account has. Locked only once seen to be
        within it, so that no one times its waits on other jurisdictions' rows."""
        principal = self._administrator(call)
        absent = store.account_absent(username)
        account = store.account(call.tx, username)
        if account is None:
            raise absent
        principal.require_visible(account["place_code"], absent)
        if lock:  # a place never changes: the row locked is still within reach
            account = store.account(call.tx, username, lock=True) or account
        return account

    @operation
    def create_account(self, call: Call, params: typed.CreateAccountParams) -> dict:
        principal = self._administrator(call)
        principal.require_place(params["place_code"])  # a place code is public: Forbidden
        domain.check_grant(principal.roles, (), params["roles"])
        domain.check_password(params["password"], params["username"])
        place_name = self._place_name(call, params["place_code"])
        password_hash = self.passwords.hash(params["password"])
        now = _now()
        store.insert_account(call.tx, dict(params), password_hash, place_name, now,
                             must_change_password=domain.set_by_administrator(
                                 principal.system))
        call.tx.audit("account", params["username"], {"created": {
            key: params[key] for key in ("display_name", "department", "place_code", "roles")}})
        return store.view(call.tx, params["username"], now)

    def _place_name(self, call: Call, place_code: str) -> str:
        """The place's name in the registry (the organizations service), asked within the
        administrator's jurisdiction; a place the registry does not have is refused."""
        name = self.owner.registered_name(call, place_code)
        if name is None:
            raise ValidationError("unknown place", {"place_code": [
                f"no place {place_code} in the registry: import the places first "
                "(行政区划中没有该地点，请先导入行政区划)"]})
        return name

    @operation
    def get_account(self, call: Call, params: typed.GetAccountParams) -> dict:
        account = self._administered(call, params["username"], lock=False)
        return store.view(call.tx, account["username"], _now())

    @operation
    def list_accounts(self, call: Call, params: typed.ListAccountsParams) -> dict:
        self._administrator(call).require_place(params["place_code"])
        items, cursor = store.accounts_page(call.tx, params["place_code"], params["limit"],
                                            params["after"], _now())
        return {"items": items, "next_cursor": encode_cursor(cursor) if cursor else None}

    @operation
    def set_roles(self, call: Call, params: typed.SetRolesParams) -> dict:
        account = self._administered(call, params["username"])
        domain.check_not_self(call.principal.subject, account["username"])
        domain.check_acts_on(call.principal.roles, account["roles"])
        domain.check_grant(call.principal.roles, account["roles"], params["roles"])
        now = _now()
        before, after = sorted(account["roles"]), sorted(set(params["roles"]))
        if before != after:
            store.set_roles(call.tx, account["username"], after)
            # A token carries the roles it was issued with: the old ones end with it.
            ended = store.end_sessions(call.tx, account["username"], now)
            call.tx.audit("account", account["username"], {
                "roles": {"from": before, "to": after}, "sessions_ended": ended})
        return store.view(call.tx, account["username"], now)

    @operation
    def set_disabled(self, call: Call, params: typed.SetDisabledParams) -> dict:
        account = self._administered(call, params["username"])
        domain.check_not_self(call.principal.subject, account["username"])
        domain.check_acts_on(call.principal.roles, account["roles"])
        now = _now()
        if account["disabled"] != params["disabled"]:
            store.set_disabled(call.tx, account["username"], params["disabled"])
            ended = (store.end_sessions(call.tx, account["username"], now)
                     if params["disabled"] else 0)
            call.tx.audit("account", account["username"], {
                "disabled": params["disabled"], "sessions_ended": ended})
        return store.view(call.tx, account["username"], now)

    @operation
    def reset_password(self, call: Call, params: typed.ResetPasswordParams) -> dict:
        username = params["username"]
        domain.check_password(params["new_password"], username, "new_password")
        account = self._administered(call, username)
        domain.check_not_self(call.principal.subject, username)
        domain.check_acts_on(call.principal.roles, account["roles"])
        password_hash = self.passwords.hash(params["new_password"])
        now = _now()
        store.set_password(call.tx, username, password_hash, now, unlock=True,
                           must_change=domain.set_by_administrator(call.principal.system))
        ended = store.end_sessions(call.tx, username, now)
        call.tx.audit("account", username, {"password_reset": True, "sessions_ended": ended})
        return store.view(call.tx, username, now)


def _standing(account: dict | None) -> domain.Standing | None:
    if account is None:
        return None
    return domain.Standing(account["disabled"], account["failed_attempts"],
                           account["locked_until"])


def _changed(account: dict, attempt: domain.Attempt) -> bool:
    """Whether the attempt changed the account's failures or lock (written only then)."""
    return ((attempt.failed_attempts, attempt.locked_until)
            != (account["failed_attempts"], account["locked_until"]))


SERVICE = AccountsService
