"""The accounts service with the organizations registry, on the real broker and databases:
signing in (a console token the other services take), refusals that cannot be told apart,
the lockout, sessions that end (sign-out, disabled, new password, new roles), account
administrators kept to their place and their own roles, and the first administrator made
by `jinwei admin create` and `make admin`."""

import os
import subprocess
import time
import uuid

import argon2
import jwt
import psycopg2
import pytest
from click.testing import CliRunner

from services.accounts import domain
from shared.contracts.accounts import OPERATOR_CLI_SYSTEM
from shared.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationError
from tests.support import (
    SUICHANG,
    XIHU,
    rpc,
    sample_places,
    services_running,
    sql_value,
    token,
)
from tools import cli

# Small values, so that a lock is seen to end within the test (the defaults: 5, 15 min).
FAILURES, LOCK_S = 3, 4
PASSWORD = "梅坞村-党建-2026"
COUNTY_ADMIN_ROLES = ["accounts.admin", "organizations.read", "organizations.write"]


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret, tmp_path_factory):
    rules = tmp_path_factory.mktemp("accounts") / "rules.yaml"
    rules.write_text(f"accounts:\n  lockout_failures: {FAILURES}\n"
                     f"  lockout_seconds: {LOCK_S}\n")
    settings = base_settings.with_overrides(rules_file=rules)
    with services_running(databases, settings, "acc", "organizations", "accounts") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG))
        yield running


@pytest.fixture
def operator(stack, token_secret):
    """The province's operator at its command line: every role (creates the accounts the
    tests start from; a password it sets need not be changed)."""
    with rpc(stack.settings, token(token_secret, subject="operator-cli",
                                   system=OPERATOR_CLI_SYSTEM)) as proxy:
        yield proxy.accounts


@pytest.fixture
def gateway(stack, token_secret):
    """What the gateway holds: accounts.sign_in only."""
    with rpc(stack.settings, token(token_secret, roles=("accounts.sign_in",),
                                   subject="gateway", system="gateway")) as proxy:
        yield proxy.accounts


def new_account(operator, place=SUICHANG, roles=("organizations.read",), **overrides):
    values = {"username": f"u{uuid.uuid4().hex[:10]}", "display_name": "张三",
              "department": "遂昌县委组织部", "place_code": place, "roles": list(roles),
              "password": PASSWORD}
    values.update(overrides)
    operator.create_account(**values)
    return values["username"]


def sign_in(gateway, username, password=PASSWORD, client="10.0.0.7"):
    return gateway.sign_in(username=username, password=password, client=client)


def refusal(gateway, username, password=PASSWORD):
    with pytest.raises(Unauthenticated) as caught:
        sign_in(gateway, username, password)
    return caught.value.to_dict()


def as_session(stack, session):
    return rpc(stack.settings, session["token"])


def audit(stack, username):
    conn = psycopg2.connect(stack.urls["accounts"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT subject, system, operation, changes FROM audit_log"
                        " WHERE entity_type = 'account' AND entity_id = %s ORDER BY id",
                        (username,))
            return cur.fetchall()
    finally:
        conn.close()


# -- signing in -----------------------------------------------------------------------------
def test_signing_in_gives_a_console_token_the_other_services_take(stack, operator, gateway,
                                                                  token_secret):
    username = new_account(operator)
    session = sign_in(gateway, username.upper())  # a name is typed in any case
    claims = jwt.decode(session["token"], token_secret, algorithms=["HS256"], issuer="jinwei")
    assert (claims["sub"], claims["place"], claims["sys"], claims["dept"]) == (
        username, SUICHANG, "console", "遂昌县委组织部")
    assert claims["roles"] == ["console.user", "organizations.read"]
    assert claims["jti"] == session["token_id"] and claims["exp"] - claims["iat"] == 8 * 3600
    account = session["account"]
    assert (account["place_name"], account["status"], account["status_label"]) == (
        "遂昌县", "active", "正常")
    assert account["role_labels"] == ["党组织信息查询"] and account["last_sign_in_at"]
    assert gateway.session_valid(token_id=session["token_id"]) == {"valid": True}
    with as_session(stack, session) as proxy:  # jurisdiction and roles: the token's
        assert proxy.organizations.list_children(place_code=SUICHANG)["items"]
        with pytest.raises(Forbidden):
            proxy.organizations.list_organizations(place_code=XIHU)
    # Every attempt audited with the client's address; the password nowhere.
    assert audit(stack, username)[-1][3] == {"sign_in": "success", "client": "10.0.0.7"}
    for table in ("audit_log", "request_log", "accounts", "sessions"):
        assert not sql_value(stack.urls["accounts"], f"SELECT count(*) FROM {table}"
                             f" WHERE {table}::text LIKE %s", (f"%{PASSWORD}%",)), table
    stored = sql_value(stack.urls["accounts"],
                       "SELECT password_hash FROM accounts WHERE username = %s", (username,))
    assert stored.startswith("$argon2id$")


def test_a_hash_made_under_older_parameters_is_renewed_at_sign_in(stack, operator, gateway):
    username = new_account(operator)
    old = argon2.PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    sql = "UPDATE accounts SET password_hash = %s WHERE username = %s"
    conn = psycopg2.connect(stack.urls["accounts"])
    with conn, conn.cursor() as cur:
        cur.execute(sql, (old, username))
    conn.close()
    assert sign_in(gateway, username)
    renewed = sql_value(stack.urls["accounts"],
                        "SELECT password_hash FROM accounts WHERE username = %s", (username,))
    assert renewed != old and not argon2.PasswordHasher().check_needs_rehash(renewed)
    assert sign_in(gateway, username)


def test_only_the_gateways_role_signs_in(stack, operator, token_secret):
    username = new_account(operator)
    with rpc(stack.settings, token(token_secret, roles=("accounts.admin",))) as proxy:
        with pytest.raises(Forbidden):
            proxy.accounts.sign_in(username=username, password=PASSWORD)


def test_wrong_password_unknown_name_and_disabled_account_are_answered_alike(
        stack, operator, gateway):
    username = new_account(operator)
    disabled = new_account(operator)
    operator.set_disabled(username=disabled, disabled=True)
    answers = [refusal(gateway, username, "not-the-password-1"),
               refusal(gateway, f"nobody-{uuid.uuid4().hex[:6]}"),
               refusal(gateway, disabled)]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["message"] == domain.REFUSED
    assert audit(stack, username)[-1][3]["sign_in"] == "wrong_password"
    assert audit(stack, disabled)[-1][3]["sign_in"] == "disabled"


def test_failures_in_a_row_lock_the_account_then_it_unlocks(stack, operator, gateway):
    username = new_account(operator)
    # A success clears the count: FAILURES - 1 wrong, the right one, FAILURES - 1 wrong.
    for _ in range(2):
        for _ in range(FAILURES - 1):
            refusal(gateway, username, "not-the-password-1")
        assert operator.get_account(username=username)["locked_until"] is None
        sign_in(gateway, username)
    for _ in range(FAILURES):
        refusal(gateway, username, "not-the-password-1")
    locked = operator.get_account(username=username)
    assert locked["locked_until"]
    # The right password, while locked: the same answer as a wrong one, and it is audited.
    assert refusal(gateway, username)["message"] == domain.REFUSED
    assert audit(stack, username)[-1][3]["sign_in"] == "locked"
    assert operator.get_account(username=username)["locked_until"] == locked["locked_until"]
    time.sleep(LOCK_S + 0.5)
    assert sign_in(gateway, username)["account"]["locked_until"] is None


def test_an_administrator_reset_unlocks(stack, operator, gateway):
    username = new_account(operator)
    for _ in range(FAILURES):
        refusal(gateway, username, "not-the-password-1")
    operator.reset_password(username=username, new_password="新的密码-遂昌-01")
    assert sign_in(gateway, username, "新的密码-遂昌-01")
    refusal(gateway, username)  # the old one is gone


# -- sessions -------------------------------------------------------------------------------
def test_signing_out_ends_the_session(stack, operator, gateway):
    username = new_account(operator)
    session, other = sign_in(gateway, username), sign_in(gateway, username)
    with as_session(stack, session) as proxy:
        assert proxy.accounts.sign_out() == {"done": True}
        assert proxy.accounts.sign_out() == {"done": True}  # out already: out all the same
        assert gateway.session_valid(token_id=session["token_id"]) == {"valid": False}
        with pytest.raises(Unauthenticated):  # its token outlives it; the session does not
            proxy.accounts.change_password(old_password=PASSWORD,
                                           new_password="另一个密码-2026-01")
    assert gateway.session_valid(token_id=other["token_id"]) == {"valid": True}
    assert gateway.session_valid(token_id="no-such-session") == {"valid": False}


def test_changing_the_password_ends_the_other_sessions(stack, operator, gateway):
    username = new_account(operator)
    mine, elsewhere = sign_in(gateway, username), sign_in(gateway, username)
    with as_session(stack, mine) as proxy:
        with pytest.raises(ValidationError) as caught:
            proxy.accounts.change_password(old_password="not-the-password-1",
                                           new_password="另一个密码-2026-01")
        assert list(caught.value.details) == ["old_password"]
        for weak in ("1234567890", username + "-2026", "x" * 12, "short"):
            with pytest.raises(ValidationError) as caught:
                proxy.accounts.change_password(old_password=PASSWORD, new_password=weak)
            assert list(caught.value.details) == ["new_password"], weak
        assert proxy.accounts.change_password(old_password=PASSWORD,
                                              new_password="另一个密码-2026-01") == {"done": True}
    assert gateway.session_valid(token_id=mine["token_id"]) == {"valid": True}
    assert gateway.session_valid(token_id=elsewhere["token_id"]) == {"valid": False}
    refusal(gateway, username)
    assert sign_in(gateway, username, "另一个密码-2026-01")
    # The wrong current password counted, and the success cleared it.
    outcomes = [c.get("password_change") for _, _, _, c in audit(stack, username)]
    assert "wrong_password" in outcomes and "success" in outcomes


def test_a_wrong_current_password_counts_towards_the_lock(stack, operator, gateway):
    username = new_account(operator)
    with as_session(stack, sign_in(gateway, username)) as proxy:
        for _ in range(FAILURES):
            with pytest.raises(ValidationError):
                proxy.accounts.change_password(old_password="not-the-password-1",
                                               new_password="另一个密码-2026-01")
    assert operator.get_account(username=username)["locked_until"]
    refusal(gateway, username)


def test_disabling_ends_the_sessions_and_enabling_lets_it_sign_in_again(stack, operator,
                                                                        gateway):
    username = new_account(operator, roles=COUNTY_ADMIN_ROLES)
    session = sign_in(gateway, username)
    disabled = operator.set_disabled(username=username, disabled=True)
    assert (disabled["status"], disabled["status_label"]) == ("disabled", "已停用")
    assert gateway.session_valid(token_id=session["token_id"]) == {"valid": False}
    with as_session(stack, session) as proxy:  # an administrator's token: dead here too
        with pytest.raises(Unauthenticated):
            proxy.accounts.list_accounts(place_code=SUICHANG)
    refusal(gateway, username)
    operator.set_disabled(username=username, disabled=False)
    assert gateway.session_valid(token_id=session["token_id"]) == {"valid": False}  # ended
    assert sign_in(gateway, username)


def test_new_roles_end_the_sessions_that_carry_the_old(stack, operator, gateway):
    username = new_account(operator)
    session = sign_in(gateway, username)
    changed = operator.set_roles(username=username, roles=["organizations.read", "cadres.read"])
    assert changed["roles"] == ["cadres.read", "organizations.read"]
    assert gateway.session_valid(token_id=session["token_id"]) == {"valid": False}
    assert sign_in(gateway, username)["account"]["roles"] == changed["roles"]


# -- administrators -------------------------------------------------------------------------
@pytest.fixture
def county_admin(stack, operator, gateway):
    """A county account administrator, signed in: its console session."""
    username = new_account(operator, roles=COUNTY_ADMIN_ROLES)
    with as_session(stack, sign_in(gateway, username)) as proxy:
        proxy.username = username
        yield proxy


def test_an_administrator_grants_only_roles_it_holds(county_admin, operator):
    admin = county_admin.accounts
    created = admin.create_account(username=f"t{uuid.uuid4().hex[:8]}", display_name="李四",
                                   department="妙高街道", place_code="331123001000",
                                   roles=["organizations.read"], password=PASSWORD)
    assert (created["place_name"], created["roles"]) == ("妙高街道", ["organizations.read"])
    with pytest.raises(Forbidden) as caught:
        admin.create_account(username=f"t{uuid.uuid4().hex[:8]}", display_name="李四",
                             department="妙高街道", place_code="331123001000",
                             roles=["organizations.read", "cadres.personal_data"],
                             password=PASSWORD)
    assert caught.value.details == {"roles": ["cadres.personal_data"]}
    with pytest.raises(Forbidden):
        admin.set_roles(username=created["username"], roles=["organizations.read",
                                                             "evaluation.read"])
    # Given by the province a role the county lacks: the county can no longer re-role that
    # account (not even roles it holds), reset its password (its way into that role) nor
    # disable it.
    operator.set_roles(username=created["username"], roles=["organizations.read",
                                                             "cadres.read"])
    with pytest.raises(Forbidden):
        admin.set_roles(username=created["username"], roles=["organizations.read"])
    for act in (lambda: admin.set_roles(username=created["username"], roles=[
                    "cadres.read", "organizations.read", "organizations.write"]),
                lambda: admin.reset_password(username=created["username"],
                                             new_password="别人的密码-2026-01"),
                lambda: admin.set_disabled(username=created["username"], disabled=True)):
        with pytest.raises(Forbidden):
            act()
    with pytest.raises(ValidationError):
        admin.create_account(username=f"t{uuid.uuid4().hex[:8]}", display_name="网关",
                             department="x", place_code=SUICHANG, roles=["accounts.sign_in"],
                             password=PASSWORD)


def test_a_password_an_administrator_set_opens_nothing_until_the_holder_changes_it(
        county_admin, operator, gateway, stack, token_secret):
    admin = county_admin.accounts
    username = f"t{uuid.uuid4().hex[:8]}"
    created = admin.create_account(username=username, display_name="李四", department="妙高街道",
                                   place_code="331123001000", roles=["organizations.read"],
                                   password=PASSWORD)
    assert created["must_change_password"] is True
    first = sign_in(gateway, username)
    claims = jwt.decode(first["token"], token_secret, algorithms=["HS256"], issuer="jinwei")
    assert claims["roles"] == ["console.user"]  # its own account, nothing else
    with as_session(stack, first) as proxy:
        with pytest.raises(Forbidden):
            proxy.organizations.list_children(place_code="331123001000")
        with pytest.raises(ValidationError) as same:  # not the administrator's again
            proxy.accounts.change_password(old_password=PASSWORD, new_password=PASSWORD)
        assert same.value.details == {"new_password": ["新密码不能与当前密码相同"]}
        proxy.accounts.change_password(old_password=PASSWORD, new_password="李四自己的密码-2026")
    # That session ends with the administrator's password; the next carries the roles.
    assert gateway.session_valid(token_id=first["token_id"]) == {"valid": False}
    second = sign_in(gateway, username, "李四自己的密码-2026")
    assert second["account"]["must_change_password"] is False
    with as_session(stack, second) as proxy:
        assert proxy.organizations.list_children(place_code="331123001000")["items"]
    # A reset by the administrator, or by another system holding the role, asks for a
    # change again; the operator's command line (its holder typing their own) does not.
    assert admin.reset_password(username=username, new_password="管理员重设-2026-02")[
        "must_change_password"] is True
    with rpc(stack.settings, token(token_secret)) as other_system:
        assert other_system.accounts.reset_password(
            username=username, new_password="系统重设-2026-04")["must_change_password"] is True
    assert operator.reset_password(username=username, new_password="本人在场重设-2026-03")[
        "must_change_password"] is False


def test_an_account_outside_the_administrators_place_is_one_that_does_not_exist(
        county_admin, operator):
    admin = county_admin.accounts
    elsewhere = new_account(operator, place=XIHU)
    nowhere = f"nobody-{uuid.uuid4().hex[:6]}"
    for act in ("get", "roles", "disable", "reset"):
        answers = []
        for username in (elsewhere, nowhere):
            with pytest.raises(NotFound) as caught:
                {"get": lambda u: admin.get_account(username=u),
                 "roles": lambda u: admin.set_roles(username=u, roles=[]),
                 "disable": lambda u: admin.set_disabled(username=u, disabled=True),
                 "reset": lambda u: admin.reset_password(username=u,
                                                         new_password="别人的密码-2026-01"),
                 }[act](username)
            answers.append(caught.value.to_dict())
        # Word for word, but for the name asked about.
        assert answers[0]["message"].replace(elsewhere, nowhere) == answers[1]["message"], act
        assert (answers[0]["details"], answers[1]["details"]) == (
            {"username": elsewhere}, {"username": nowhere}), act
    # A place is public: naming one outside is Forbidden, as everywhere.
    with pytest.raises(Forbidden):
        admin.create_account(username=f"t{uuid.uuid4().hex[:8]}", display_name="王五",
                             department="西湖区委组织部", place_code=XIHU,
                             roles=["organizations.read"], password=PASSWORD)
    with pytest.raises(Forbidden):
        admin.list_accounts(place_code=XIHU)
    listed = admin.list_accounts(place_code=SUICHANG, limit=500)["items"]
    assert listed and all(a["place_code"].startswith("331123") for a in listed)
    assert elsewhere not in {a["username"] for a in listed}
    assert "password_hash" not in listed[0]


def test_an_administrator_does_not_administer_itself_and_names_are_taken_once(county_admin,
                                                                              operator):
    admin = county_admin.accounts
    with pytest.raises(Conflict):
        admin.set_disabled(username=county_admin.username, disabled=True)
    with pytest.raises(Conflict):
        admin.set_roles(username=county_admin.username, roles=["accounts.admin"])
    taken = new_account(operator, place=XIHU)
    with pytest.raises(Conflict):  # one namespace: a person signs in by name alone
        new_account(operator, username=taken)
    with pytest.raises(ValidationError) as caught:  # the registry has no such place
        new_account(operator, place="331123999000")
    assert list(caught.value.details) == ["place_code"]


def test_accounts_are_listed_by_name_a_page_at_a_time(county_admin, operator):
    township = "331123102000"
    made = sorted(new_account(operator, place=township) for _ in range(5))
    pages, after = [], None
    while True:
        page = county_admin.accounts.list_accounts(place_code=township, limit=2,
                                                   **({"after": after} if after else {}))
        pages.append([a["username"] for a in page["items"]])
        after = page["next_cursor"]
        if not after:
            break
    assert [u for p in pages for u in p] == made and len(pages) == 3


# -- the first administrator ----------------------------------------------------------------
def cli_env(stack, token_secret, **extra):
    return {"AMQP_URI": stack.settings.amqp_uri, "JINWEI_TOKEN_SECRET": token_secret,
            "JINWEI_BROKER_ACCOUNT_PREFIX": stack.settings.broker_account_prefix,
            "GATEWAY_HTTP_PORT": "18080", "JINWEI_TOKEN": "", **extra}


def test_jinwei_admin_create_makes_the_first_administrator(stack, gateway, token_secret):
    def admin_create(username, **env):
        return CliRunner().invoke(cli.main, ["admin", "create", "--place", SUICHANG,
                                             "--username", username, "--name", "赵六"],
                                  env=cli_env(stack, token_secret, **env))

    username = f"first.{uuid.uuid4().hex[:6]}"
    missing = admin_create(username)  # no terminal to ask on
    assert missing.exit_code == 2 and "JINWEI_ADMIN_PASSWORD" in missing.output
    done = admin_create(username, JINWEI_ADMIN_PASSWORD=PASSWORD)
    assert done.exit_code == 0, done.output
    assert "http://127.0.0.1:18080/" in done.output and "遂昌县" in done.output
    account = sign_in(gateway, username)["account"]
    assert set(account["roles"]) == set(domain.HOLDABLE) and account["display_name"] == "赵六"
    weak = admin_create(f"x{username}", JINWEI_ADMIN_PASSWORD="1234567890")
    assert weak.exit_code == 2 and "密码过于常见" in weak.output
    assert admin_create(username, JINWEI_ADMIN_PASSWORD=PASSWORD).exit_code == 2  # taken


def test_make_admin(stack, gateway, token_secret):
    username = f"make.{uuid.uuid4().hex[:6]}"
    env = {**os.environ, **cli_env(stack, token_secret, JINWEI_ADMIN_PASSWORD=PASSWORD)}
    env.pop("JINWEI_TOKEN")

    def make(*args):
        return subprocess.run(["make", "--no-print-directory", "-s", "admin", *args], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120, cwd=str(cli.config.REPO_ROOT))

    forgot = make(f"PLACE={SUICHANG}")  # USER comes from the shell otherwise: refused
    assert forgot.returncode != 0 and "USER=<login name>" in forgot.stderr
    made = make(f"PLACE={SUICHANG}", f"USER={username}", "NAME=县管理员",
                "DEPARTMENT=遂昌县委组织部")
    assert made.returncode == 0, made.stdout + made.stderr
    assert "http://127.0.0.1:18080/" in made.stdout
    account = sign_in(gateway, username)["account"]
    assert (account["department"], account["place_code"]) == ("遂昌县委组织部", SUICHANG)
    assert "accounts.admin" in account["roles"]


def test_a_gateway_signs_in_only_its_own_places_accounts(stack, operator, gateway,
                                                         token_secret):
    """A county's gateway (its token's place: the county) signs in the county's accounts;
    to it, an account of another county is as unknown as no account at all."""
    suichang, xihu = new_account(operator, SUICHANG), new_account(operator, XIHU)
    county_gateway = rpc(stack.settings, token(
        token_secret, place=SUICHANG, roles=("accounts.sign_in",), subject="gateway",
        system="gateway"))
    with county_gateway as proxy:
        assert proxy.accounts.sign_in(username=suichang, password=PASSWORD,
                                      client="10.0.0.8")["account"]["username"] == suichang
        with pytest.raises(Unauthenticated) as caught:
            proxy.accounts.sign_in(username=xihu, password=PASSWORD, client="10.0.0.8")
    assert caught.value.to_dict() == refusal(gateway, f"nobody{uuid.uuid4().hex[:6]}")
    assert sign_in(gateway, xihu)["account"]["username"] == xihu  # the province's takes it


def test_an_administrator_does_not_re_role_an_account_holding_a_role_it_lacks(
        stack, operator, token_secret):
    """A lesser administrator cannot strip a greater one's roles, even those it holds."""
    greater = new_account(operator, roles=("accounts.admin", "organizations.read",
                                           "cadres.personal_data"))
    lesser_token = token(token_secret, place=SUICHANG, subject="lesser",
                         roles=("accounts.admin", "organizations.read"))
    with rpc(stack.settings, lesser_token) as proxy:
        with pytest.raises(Forbidden) as caught:
            proxy.accounts.set_roles(username=greater, roles=["accounts.admin"])
    assert caught.value.details == {"roles": ["cadres.personal_data"]}
    with rpc(stack.settings, token(token_secret)) as proxy:
        assert "organizations.read" in proxy.accounts.get_account(username=greater)["roles"]
