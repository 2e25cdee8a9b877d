"""Staff accounts of the console (shared/contracts/accounts.py): the password rules, the
lockout after repeated failures, and what an account administrator may do. Pure: no I/O.

Hashing (argon2id) is not here: it is a library call at the edge (service.py), and the
domain only hears whether a password matched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields

from shared.contracts.accounts import (
    CONSOLE,
    OPERATOR_CLI_SYSTEM,
    PASSWORD_MAX,
    PASSWORD_MIN,
    SIGN_IN,
)
from shared.contracts.roles import ROLES
from shared.errors import Conflict, Forbidden, ValidationError

# Roles an account cannot hold: the gateway's (a system signs staff in, never a person)
# and the one every session is given at sign-in anyway.
NOT_HELD = (SIGN_IN, CONSOLE)
# What an account may hold: the first administrator gets all of them, so that it can
# hand each one on (an administrator grants only roles it holds itself).
HOLDABLE = tuple(role for role in ROLES if role not in NOT_HELD)

# Passwords every guessing list starts with (those of 10 characters or more; shorter ones
# are refused by length already). Compared without case. A short list on purpose: it
# stops the obvious, the lockout stops the rest.
WELL_KNOWN_PASSWORDS = frozenset({
    "0123456789", "1234567890", "12345678910", "123456789a", "1234567890a", "9876543210",
    "0987654321", "a123456789", "a1234567890", "aa123456789", "abc1234567", "abc123456789",
    "abcd123456", "abcdefghij", "qwertyuiop", "qwerty1234", "qwerty123456", "1q2w3e4r5t",
    "1qaz2wsx3edc", "zxcvbnm123", "asdfghjkl1", "password12", "password123", "password1234",
    "p@ssw0rd123", "passw0rd123", "admin12345", "admin123456", "administrator", "iloveyou12",
    "woaini1314", "5201314520", "1314520520", "qq123456789",
    "jinwei12345", "jinwei123456",
})

# Every refused sign-in gets this one answer: a wrong password, an unknown name, a
# disabled or a locked account must not be told apart by whoever tries.
REFUSED = ("sign-in refused: wrong user name or password, or the account cannot sign in "
           "now (用户名或密码错误，或账号暂时无法登录)")


@dataclass(frozen=True)
class Rules:
    """This province's choices (domain.md §9): configuration with these defaults."""

    # Failed sign-ins in a row that lock the account, and for how long (seconds).
    lockout_failures: int = 5
    lockout_seconds: int = 15 * 60
    # How long a console session (its token) lives: a working day.
    session_seconds: int = 8 * 3600

    @classmethod
    def from_config(cls, values: dict | None) -> Rules:
        values = dict(values or {})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown accounts rules: {', '.join(sorted(unknown))}")
        rules = cls(**values)
        for name in (f.name for f in fields(cls)):
            value = getattr(rules, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"accounts rule {name} must be a whole number above 0, "
                                 f"not {value!r}")
        return rules


# -- passwords ------------------------------------------------------------------------------
def password_problems(password: str, username: str) -> list[str]:
    """What is wrong with a new password (empty: nothing). The text is never repeated."""
    problems = []
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        problems.append(f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters "
                        f"(密码长度应为{PASSWORD_MIN}至{PASSWORD_MAX}个字符)")
    folded = password.casefold()
    if username and username.casefold() in folded:
        problems.append("a password must not contain the user name (密码不能包含登录名)")
    if len(set(password)) == 1:
        problems.append("a password is not one character repeated (密码不能由同一字符重复组成)")
    if folded in WELL_KNOWN_PASSWORDS:
        problems.append("a well-known password is guessed first (密码过于常见，请换一个)")
    return problems


def check_password(password: str, username: str, field: str = "password") -> None:
    problems = password_problems(password, username)
    if problems:
        raise ValidationError("the password does not meet the rules (密码不符合要求)",
                              {field: problems})


def normalize_username(text: str) -> str:
    """A user name as signed in with: login names are lower case, so `ZhangSan ` is
    zhangsan (a person types it from memory)."""
    return text.strip().lower()


# -- signing in ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Standing:
    """What signing in depends on, as stored (None: no such account)."""

    disabled: bool
    failed_attempts: int
    locked_until: dt.datetime | None


@dataclass(frozen=True)
class Attempt:
    """A sign-in's outcome (for the audit; the caller hears only success or REFUSED) and
    what to store for the account afterwards."""

    outcome: str  # success | wrong_password | locked | disabled | unknown
    failed_attempts: int
    locked_until: dt.datetime | None

    @property
    def succeeded(self) -> bool:
        return self.outcome == "success"


def locked(standing: Standing, now: dt.datetime) -> bool:
    return standing.locked_until is not None and standing.locked_until > now


def attempt(standing: Standing | None, password_matches: bool, now: dt.datetime,
            rules: Rules) -> Attempt:
    """Sign-in rules: an unknown or disabled account never signs in; a locked one not even
    with the right password, and attempts while locked neither count nor prolong the
    lock; the right password otherwise signs in and clears the failures; a wrong one
    counts, and the `lockout_failures`-th in a row locks the account for
    `lockout_seconds` (the count starts again after the lock)."""
    if standing is None:
        return Attempt("unknown", 0, None)
    if standing.disabled:
        return Attempt("disabled", standing.failed_attempts, standing.locked_until)
    if locked(standing, now):
        return Attempt("locked", standing.failed_attempts, standing.locked_until)
    if password_matches:
        return Attempt("success", 0, None)
    failures = standing.failed_attempts + 1
    if failures >= rules.lockout_failures:
        return Attempt("wrong_password", 0, now + dt.timedelta(seconds=rules.lockout_seconds))
    return Attempt("wrong_password", failures, None)


def session_roles(roles: Iterable[str], *, must_change_password: bool = False) -> list[str]:
    """A console session's roles: the account's, and console.user (its own account). While
    the password is one an administrator set, console.user alone: the session can change
    the password and nothing else, whatever service it calls."""
    return [CONSOLE] if must_change_password else sorted({*roles, CONSOLE})


def set_by_administrator(setter_system: str | None) -> bool:
    """Whether a password set for an account must be changed at its first use: yes,
    whoever set it (an administrator in the console, another system with the role),
    but the operator's command line (`make admin`: the first administrator types their
    own)."""
    return setter_system != OPERATOR_CLI_SYSTEM


# -- administration -------------------------------------------------------------------------
def check_holdable(roles: Collection[str]) -> None:
    wrong = sorted(set(roles) & set(NOT_HELD))
    if wrong:
        raise ValidationError("roles an account cannot hold", {"roles": [
            f"{role} ({ROLES[role]}) is not given to an account (该角色不能授予账号)"
            for role in wrong]})


def check_grant(admin_roles: Collection[str], before: Collection[str],
                after: Collection[str]) -> None:
    """An administrator grants or takes away only roles it holds itself (so no account
    can hand out more than it has); roles it lacks stay as they were."""
    check_holdable(after)
    changed = set(before) ^ set(after)
    lacking = sorted(changed - set(admin_roles))
    if lacking:
        raise Forbidden("an administrator grants or removes only roles it holds itself "
                        "(只能授予或收回本账号拥有的角色)", {"roles": lacking})


def check_acts_on(admin_roles: Collection[str], account_roles: Collection[str]) -> None:
    """An administrator resets, disables or re-roles only accounts that hold no role it
    lacks: otherwise a new password it set would be its way into roles it was never
    given, and a lesser administrator could strip a greater one."""
    lacking = sorted(set(account_roles) - set(admin_roles))
    if lacking:
        raise Forbidden("the account holds roles this administrator lacks "
                        "(该账号拥有本账号没有的角色，不能操作)", {"roles": lacking})


def check_not_self(admin_subject: str, username: str) -> None:
    """An administrator does not disable, re-role or reset its own account (it would
    lock itself out; its own password is changed with change_password)."""
    if admin_subject == username:
        raise Conflict("an administrator does not do this to its own account "
                       "(不能对本人账号执行此操作)", {"username": username})

