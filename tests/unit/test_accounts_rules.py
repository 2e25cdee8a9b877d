"""The accounts rules (services/accounts/domain.py): the password policy, the lockout after
failures in a row, and what an account administrator may grant and touch."""

import datetime as dt

import pytest

from services.accounts import domain
from shared.contracts.accounts import ADMIN, CONSOLE, PASSWORD_MAX, PASSWORD_MIN, SIGN_IN
from shared.contracts.roles import ROLES
from shared.errors import Conflict, Forbidden, ValidationError

RULES = domain.Rules()
NOW = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
FRESH = domain.Standing(disabled=False, failed_attempts=0, locked_until=None)


# -- passwords ------------------------------------------------------------------------------
def test_a_good_password_passes():
    assert domain.password_problems("遂昌-梅坞村-2026春", "zhangsan") == []
    domain.check_password("correct horse battery", "zhangsan")


def test_length_comes_from_the_contract():
    assert domain.password_problems("x7" * (PASSWORD_MIN // 2), "zhangsan") == []
    assert domain.password_problems("ab3" * 50, "zhangsan") != []  # 150 > PASSWORD_MAX
    assert domain.password_problems("k9#" * (PASSWORD_MAX // 3) + "kk", "zhangsan") == []
    short = domain.password_problems("s3cr#t", "zhangsan")
    assert len(short) == 1 and f"{PASSWORD_MIN} to {PASSWORD_MAX}" in short[0]


def test_not_the_user_name():
    assert domain.password_problems("zhangsan", "zhangsan")  # short, and the name
    problems = domain.password_problems("ZhangSan2026!", "zhangsan")
    assert problems == ["a password must not contain the user name (密码不能包含登录名)"]


def test_not_one_character_repeated():
    assert domain.password_problems("a" * 12, "zhangsan") == [
        "a password is not one character repeated (密码不能由同一字符重复组成)"]
    assert domain.password_problems("aaaaaaaaaab", "zhangsan") == []


def test_not_a_well_known_password_whatever_its_case():
    for password in ("1234567890", "Password123", "QWERTYUIOP", "woaini1314"):
        assert domain.password_problems(password, "zhangsan") == [
            "a well-known password is guessed first (密码过于常见，请换一个)"], password


def test_the_list_holds_only_what_the_length_rule_lets_through():
    assert all(len(p) >= PASSWORD_MIN and p == p.casefold() for p in domain.WELL_KNOWN_PASSWORDS)


def test_a_refused_password_is_a_validation_error_on_its_field_never_repeating_it():
    with pytest.raises(ValidationError) as caught:
        domain.check_password("1234567890", "zhangsan", "new_password")
    assert list(caught.value.details) == ["new_password"]
    assert "1234567890" not in str(caught.value.to_dict())


def test_user_names_are_signed_in_with_in_lower_case():
    assert domain.normalize_username("  ZhangSan ") == "zhangsan"


# -- the lockout ----------------------------------------------------------------------------
def fail(standing, times, now=NOW, rules=RULES):
    for _ in range(times):
        attempt = domain.attempt(standing, False, now, rules)
        standing = domain.Standing(False, attempt.failed_attempts, attempt.locked_until)
    return standing, attempt


def test_the_right_password_signs_in_and_clears_the_failures():
    standing, _ = fail(FRESH, RULES.lockout_failures - 1)
    assert standing.failed_attempts == RULES.lockout_failures - 1
    attempt = domain.attempt(standing, True, NOW, RULES)
    assert (attempt.outcome, attempt.failed_attempts, attempt.locked_until) == ("success", 0, None)
    assert attempt.succeeded


def test_failures_in_a_row_lock_the_account_for_a_while():
    standing, attempt = fail(FRESH, RULES.lockout_failures)
    until = NOW + dt.timedelta(seconds=RULES.lockout_seconds)
    assert (attempt.outcome, standing.locked_until) == ("wrong_password", until)
    assert domain.locked(standing, NOW)
    # Locked: even the right password is refused, and attempts neither count nor prolong.
    during = domain.attempt(standing, True, until - dt.timedelta(seconds=1), RULES)
    assert (during.outcome, during.locked_until, during.succeeded) == ("locked", until, False)
    assert domain.attempt(standing, False, NOW, RULES).locked_until == until
    # After it, the right password signs in again.
    assert domain.attempt(standing, True, until, RULES).succeeded


def test_after_a_lock_the_count_starts_again():
    standing, _ = fail(FRESH, RULES.lockout_failures)
    later = standing.locked_until + dt.timedelta(seconds=1)
    again, attempt = fail(standing, 1, now=later)
    assert (attempt.outcome, again.failed_attempts, domain.locked(again, later)) == (
        "wrong_password", 1, False)


def test_unknown_and_disabled_accounts_never_sign_in():
    assert domain.attempt(None, True, NOW, RULES).outcome == "unknown"
    disabled = domain.Standing(True, 0, None)
    attempt = domain.attempt(disabled, True, NOW, RULES)
    assert (attempt.outcome, attempt.succeeded) == ("disabled", False)


def test_the_rules_come_from_the_province_file_and_refuse_what_they_do_not_know():
    assert domain.Rules.from_config(None) == RULES
    assert (RULES.lockout_failures, RULES.lockout_seconds, RULES.session_seconds) == (
        5, 900, 8 * 3600)
    rules = domain.Rules.from_config({"lockout_failures": 3, "lockout_seconds": 60})
    assert fail(FRESH, 3, rules=rules)[0].locked_until == NOW + dt.timedelta(seconds=60)
    with pytest.raises(ValueError, match="unknown accounts rules: lockout_minutes"):
        domain.Rules.from_config({"lockout_minutes": 15})
    for bad in (0, -1, "5", True, 1.5):
        with pytest.raises(ValueError, match="whole number above 0"):
            domain.Rules.from_config({"lockout_failures": bad})


def test_a_session_carries_the_accounts_roles_and_console_user():
    assert domain.session_roles(["organizations.read", ADMIN]) == sorted(
        [ADMIN, CONSOLE, "organizations.read"])


# -- administration -------------------------------------------------------------------------
def test_an_administrator_grants_only_roles_it_holds():
    mine = {ADMIN, "organizations.read", "organizations.write"}
    domain.check_grant(mine, [], ["organizations.read"])
    with pytest.raises(Forbidden) as caught:
        domain.check_grant(mine, [], ["organizations.read", "cadres.personal_data"])
    assert caught.value.details == {"roles": ["cadres.personal_data"]}


def test_and_takes_away_only_roles_it_holds_leaving_the_others_as_they_were():
    mine = {ADMIN, "organizations.read"}
    # The account keeps cadres.read, which this administrator lacks: that is allowed.
    domain.check_grant(mine, ["cadres.read", "organizations.read"], ["cadres.read"])
    with pytest.raises(Forbidden) as caught:
        domain.check_grant(mine, ["cadres.read", "organizations.read"], ["organizations.read"])
    assert caught.value.details == {"roles": ["cadres.read"]}


def test_no_account_holds_the_gateways_role_or_console_user():
    for role in (SIGN_IN, CONSOLE):
        with pytest.raises(ValidationError) as caught:
            domain.check_grant(set(ROLES), [], [role])
        assert list(caught.value.details) == ["roles"]
    assert set(domain.HOLDABLE) == set(ROLES) - {SIGN_IN, CONSOLE}


def test_an_administrator_resets_or_disables_only_accounts_within_its_roles():
    domain.check_acts_on({ADMIN, "organizations.read"}, ["organizations.read"])
    with pytest.raises(Forbidden) as caught:
        domain.check_acts_on({ADMIN, "organizations.read"}, [ADMIN, "cadres.personal_data"])
    assert caught.value.details == {"roles": ["cadres.personal_data"]}


def test_an_administrator_does_not_administer_itself():
    domain.check_not_self("admin.county", "zhangsan")
    with pytest.raises(Conflict):
        domain.check_not_self("admin.county", "admin.county")

