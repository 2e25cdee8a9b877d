"""Contract of the accounts service: the staff console's sign-in accounts.

An account belongs to a place (its jurisdiction: that place's subtree, as a token's) and
holds roles (shared.contracts.roles). Signing in gives the same signed token the API
uses (system `console`), so what a staff member may see and do is decided by the services'
own checks, never by the console. The gateway asks `sign_in` with its own token (role
accounts.sign_in) and keeps the token in an HttpOnly cookie; `session_valid` tells it a
signed-out session's token is dead before it expires.

Passwords are never stored, logged, kept in a request's fingerprint or returned: argon2id
hashes only (argon2-cffi). Repeated failures lock an account for a while; every sign-in,
failed or not, is audited. Whether an account exists is never told to a caller who cannot
administer it: a wrong password, an unknown name, a disabled or a locked account all get
the same Unauthenticated answer. (User names are one namespace for the province, so an
administrator creating an account learns that a name is taken — not where, nor by whom.)

A province's single sign-on (OIDC) replaces `sign_in` later without changing the rest: the
gateway verifies the identity provider's ID token, and asks `sign_in_federated` (to come)
for the same console token by the account's user name; roles and places stay here."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts import rpc_method
from shared.contracts.common import (
    Enum,
    Pattern,
    PlaceCode,
    StrictBoolean,
    label_of,
    labels_of,
    page_fields,
    request_id_field,
    text,
)
from shared.contracts.roles import ROLES

SERVICE = "accounts"

# The roles this contract adds (shared.contracts.roles labels them).
ADMIN = "accounts.admin"        # 账号管理: accounts at or below its place, its own roles only
SIGN_IN = "accounts.sign_in"    # 登录验证: the gateway's, to sign staff in and check sessions
CONSOLE_SYSTEM = "console"   # the `system` of every console session's token
CONSOLE = "console.user"        # 控制台用户: every signed-in staff member, for its own account
# The `system` of the operator's command line (`make admin`, `jinwei --as-operator`): a
# password it sets was typed by its holder; one set by anyone else must be changed.
OPERATOR_CLI_SYSTEM = "jinwei-cli"

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"
PASSWORD_MIN, PASSWORD_MAX = 10, 128
ACCOUNT_STATUSES = {"active": "正常", "disabled": "已停用"}


def _username(**kw):
    return fields.String(validate=Pattern(USERNAME_PATTERN), metadata={
        "description": "3-64 lower-case ASCII letters, digits, '.', '_' or '-' (登录名)"}, **kw)


def _password(description: str, **kw):
    # personal: never stored whole outside the service, not even in a request fingerprint
    return fields.String(load_only=True, validate=validate.Length(1, PASSWORD_MAX), metadata={
        "personal": True, "description": description}, **kw)


def _new_password(**kw):
    # The length is the schema's (documents state it); the rest needs the user name and
    # the list of well-known passwords: the service's domain checks them.
    field = _password(f"{PASSWORD_MIN}-{PASSWORD_MAX} characters, not the user name, not "
                      "one character repeated, not a well-known password (密码规则)", **kw)
    field.validators = [validate.Length(PASSWORD_MIN, PASSWORD_MAX, error=(
        f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters "
        f"(密码长度应为{PASSWORD_MIN}至{PASSWORD_MAX}个字符)"))]
    return field


def _roles(**kw):
    return fields.List(Enum(ROLES), validate=validate.Length(max=len(ROLES)), metadata={
        "description": "roles the account holds; an administrator grants only roles it holds"},
        **kw)


class SignIn(Schema):
    # No request_id: a sign-in is not replayed (its result is a live token, which must not
    # rest in the request log); a repeat is another attempt.
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = _password("the account's password", required=True)
    client = text(64, load_default="", metadata={
        "description": "the staff member's address as the gateway saw it, for the audit"})


class AccountView(Schema):
    username = fields.String()
    display_name = fields.String()
    department = fields.String()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    role_labels = labels_of(ROLES)("roles")
    status = fields.String()
    status_label = label_of(ACCOUNT_STATUSES)("status")
    locked_until = fields.AwareDateTime(format="iso", allow_none=True, metadata={
        "description": "signing in is refused until then (repeated failures)"})
    last_sign_in_at = fields.AwareDateTime(format="iso", allow_none=True)
    created_at = fields.AwareDateTime(format="iso")
    must_change_password = fields.Boolean(metadata={
        "description": "the password was set by an administrator (a new account, a reset): "
                       "until the holder changes it, a session carries console.user alone"})


class Session(Schema):
    token = fields.String(metadata={"description": "the signed token (JWT) of the session"})
    token_id = fields.String()
    expires_at = fields.AwareDateTime(format="iso")
    account = fields.Nested(AccountView)


class SessionRef(Schema):
    token_id = fields.String(required=True, validate=validate.Length(1, 64))


class SessionState(Schema):
    valid = fields.Boolean(metadata={"description": "not signed out, not disabled since"})


class SignOut(Schema):
    request_id = request_id_field()


class Done(Schema):
    done = fields.Boolean()


class ChangePassword(Schema):
    # No request_id: not replayed, as sign_in (a repeat is another attempt).
    old_password = _password("the current password", required=True)
    new_password = _new_password(required=True)


class CreateAccount(Schema):
    request_id = request_id_field()
    username = _username(required=True)
    display_name = text(50, required=True)
    department = text(100, required=True)
    place_code = PlaceCode(required=True, metadata={
        "description": "its jurisdiction: at or below the administrator's place"})
    roles = _roles(required=True)
    password = _new_password(required=True)


class AccountRef(Schema):
    username = _username(required=True)


class SetRoles(AccountRef):
    request_id = request_id_field()
    roles = _roles(required=True)


class SetDisabled(AccountRef):
    request_id = request_id_field()
    disabled = StrictBoolean(required=True, metadata={
        "description": "true: its sessions end and it cannot sign in; false: it can again"})


class ResetPassword(AccountRef):
    request_id = request_id_field()
    new_password = _new_password(required=True)


class ListAccounts(Schema):
    place_code = PlaceCode(required=True)
    limit, after = page_fields(default=100, maximum=500, shape=(str,)).values()


class AccountPage(Schema):
    items = fields.List(fields.Nested(AccountView))
    next_cursor = fields.String(allow_none=True)


rpc_method(SERVICE, "sign_in", params=SignIn, result=Session, role=SIGN_IN, mutating=True,
           summary="Sign a staff member in: the console session's token. Only accounts within "
                   "the calling gateway's place sign in through it.\n"
                   "A wrong password, an unknown name, a disabled or a locked account get the "
                   "same Unauthenticated answer; failures in a row lock the account for a while. "
                   "Every attempt is audited. Not replayed by request id: a repeat is another "
                   "attempt, and another session.")
rpc_method(SERVICE, "session_valid", params=SessionRef, result=SessionState, role=SIGN_IN,
           mutating=False,
           summary="Whether a session's token is still good: not signed out, its account not "
                   "disabled since it was issued.")
rpc_method(SERVICE, "sign_out", params=SignOut, result=Done, role=CONSOLE, mutating=True,
           summary="End the caller's session: its token is refused from now on.")
rpc_method(SERVICE, "change_password", params=ChangePassword, result=Done, role=CONSOLE,
           mutating=True,
           summary="Change the caller's own password (the current one is asked again); the "
                   "caller's other sessions end — and this one too when it was opened with a "
                   "password an administrator set (it carried console.user alone: sign in "
                   "again for the account's roles). A wrong current password counts towards "
                   "the lockout. Not replayed by request id: a repeat is another attempt.")
rpc_method(SERVICE, "create_account", params=CreateAccount, result=AccountView, role=ADMIN,
           mutating=True,
           summary="A staff account at or below the administrator's place, with roles the "
                   "administrator holds itself. Created in a console session, its password "
                   "must be changed at the first sign-in (must_change_password).")
rpc_method(SERVICE, "get_account", params=AccountRef, result=AccountView, role=ADMIN,
           mutating=False, summary="An account at or below the administrator's place.")
rpc_method(SERVICE, "list_accounts", params=ListAccounts, result=AccountPage, role=ADMIN,
           mutating=False, summary="Accounts at or below a place, by user name.")
rpc_method(SERVICE, "set_roles", params=SetRoles, result=AccountView, role=ADMIN,
           mutating=True,
           summary="Replace an account's roles; only roles the administrator holds may be "
                   "granted or taken away, and only on an account holding no role it lacks. "
                   "Its sessions end.")
rpc_method(SERVICE, "set_disabled", params=SetDisabled, result=AccountView, role=ADMIN,
           mutating=True, summary="Disable an account (its sessions end) or enable it again.")
rpc_method(SERVICE, "reset_password", params=ResetPassword, result=AccountView, role=ADMIN,
           mutating=True,
           summary="Set a new password for an account (and unlock it); its sessions end. Set "
                   "in a console session, it must be changed at the next sign-in.")
