"""账号: account administration (role accounts.admin), as the accounts service rules it
(shared/contracts/accounts.py, services/accounts/): an administrator acts only on accounts
at or below its place (another place's account is NotFound, the same answer as no account)
and grants or takes away only roles it holds itself. Those are the service's checks, asked
as the signed-in administrator; these pages never make them. A refusal is shown in Chinese
next to what it concerns, the form kept.

    GET       /console/accounts                       the accounts at or below a place (?place=)
    GET/POST  /console/accounts/-/new                 create one ("-" begins no user name)
    GET       /console/accounts/<username>            an account, with its forms:
    POST      /console/accounts/<username>/roles      set_roles
    POST      /console/accounts/<username>/disabled   set_disabled (disable, or enable again)
    POST      /console/accounts/<username>/password   reset_password

Every form carries the session's CSRF field (view.form(max_fields=ACCOUNT_FORM_FIELDS) checks it before anything is
asked) and, for a mutating call, a request id made when the form is rendered, so that a
form sent twice is done once. A form posts each field once (pages.read_form), so each role
is a checkbox of its own name, `role.<role>`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import quote

from services.gateway.console.context import field_errors, new_request_id, posted_request_id
from services.gateway.console.texts import chinese
from services.gateway.console.views import route
from shared.contracts.accounts import ADMIN, CONSOLE, PASSWORD_MAX, PASSWORD_MIN, SIGN_IN
from shared.contracts.roles import ROLES
from shared.errors import Conflict, Forbidden, JinweiError, ValidationError

SECTION = "/console/accounts"
PAGE = 50
CURSOR_CHARS = 2000
ROLE_FIELD = "role."
# Roles no account holds (the gateway's, and the one every session gets anyway): never
# offered as a checkbox.
NOT_OFFERED = (SIGN_IN, CONSOLE)
# The create form's fields other than the roles' checkboxes.
CREATE_FIELDS = ("csrf", "request_id", "username", "display_name", "department",
                 "place_code", "password", "password_again")
PASSWORD_RULE = (f"{PASSWORD_MIN}–{PASSWORD_MAX} 个字符，不能包含用户名，不能全是同一个字符，"
                 "也不能是常见的弱密码")
USERNAME_RULE = "3–64 个字符：小写英文字母、数字、“.”、“_”或“-”，以字母或数字开头；登录时使用"
NOTICES = {
    "created": "账号已创建。请把用户名和初始密码告知本人，并提醒其登录后修改密码。",
    "roles": "角色已保存。角色有变化时，该账号已有的登录全部退出，重新登录后按新角色使用。",
    "disabled": "账号已停用，其登录已全部退出，不能再登录。",
    "enabled": "账号已重新启用，可以登录。",
    "password": "密码已重置，该账号已有的登录全部退出。请把新密码告知本人。",
}
# What a refusal that names a field but says no Chinese of its own means there.
FALLBACK = {
    "place_code": "该地点不在您的管辖范围内：只能在本级或下级建立账号",
    "roles": "只能授予或收回您本人拥有的角色",
    "username": "该用户名不能使用",
}
MISMATCH = "两次输入的密码不一致"
EMPTY = "请填写此项"


# Every role a checkbox of its own (a name once per form), beside the form's other fields.
ACCOUNT_FORM_FIELDS = len(ROLES) + 16


def offered_roles(view, held: Collection[str] = ()) -> list[dict]:
    """The roles' checkboxes: the administrator's own roles (what it may grant), and
    those `held` by the account that the administrator lacks, shown but not its to change
    (kept as they are by a hidden field). Labels from the roles contract."""
    mine = view.principal.roles
    return [{"code": code, "label": label, "mine": code in mine,
             "checked": code in held, "field": ROLE_FIELD + code}
            for code, label in ROLES.items()
            if code not in NOT_OFFERED and (code in mine or code in held)]


def posted_roles(form: Mapping[str, str]) -> list[str]:
    return [code for code in ROLES if form.get(ROLE_FIELD + code)]


def refusal(error: JinweiError, fields: Collection[str]) -> dict[str, str]:
    """A service's refusal as {field: 中文} next to the field it names, else "form"."""
    if isinstance(error, ValidationError):
        found = field_errors(error)
    else:
        details = error.details if isinstance(error.details, dict) else {}
        named = [name for name in details if name in fields]
        text = chinese(error.message)
        if named:
            found = {named[0]: text or FALLBACK.get(named[0], "无法执行此操作")}
        elif isinstance(error, Forbidden) and details.get("role") in ROLES:  # require_role
            found = {"form": f"您的账号没有“{ROLES[details['role']]}”角色，不能进行此操作"}
        else:
            found = {"form": text or "无法执行此操作"}
        if isinstance(error, Forbidden) and isinstance(details.get("roles"), list):
            labels = [ROLES.get(role, role) for role in details["roles"]]
            key = "roles" if "roles" in fields else "form"
            found[key] = f"{found.get(key) or FALLBACK['roles']}：{'、'.join(labels)}"
    # A field the form does not have: said above the form.
    for name in [name for name in found if name not in fields and name != "form"]:
        text = found.pop(name)
        found["form"] = f"{found['form']}；{text}" if "form" in found else text
    return found


def account_path(username: str) -> str:
    return f"{SECTION}/{quote(username, safe='')}"


# -- the list -------------------------------------------------------------------------------
@route("/accounts", name="accounts.list")
def accounts_list(view):
    place = view.place()
    cursor = view.text("after", limit=CURSOR_CHARS) or None
    page = view.ask("accounts", "list_accounts", place_code=place, limit=PAGE, after=cursor)
    more = page.get("next_cursor")
    return view.page(
        "accounts_list.html", section=SECTION, place=place, items=page.get("items") or [],
        more=view.url("/accounts", place=place, after=more) if more else None,
        first=view.url("/accounts", place=place) if cursor else None)


# -- creating one ---------------------------------------------------------------------------
@route("/accounts/-/new", methods=("GET", "POST"), name="accounts.create")
def create(view):
    if view.request.method == "GET":
        if not view.may(ADMIN):  # a form its submit would be refused (by the service)
            raise Forbidden(f"lacks the role {ADMIN} (您的账号没有“{ROLES[ADMIN]}”角色)")
        return _create_form(view, {"place_code": view.place(), "request_id": new_request_id()},
                            [], {})
    form = view.form(max_fields=ACCOUNT_FORM_FIELDS)
    values = {name: form.get(name, "").strip()
              for name in ("username", "display_name", "department", "place_code")}
    values["request_id"] = posted_request_id(form.get("request_id"))
    roles = posted_roles(form)
    password = form.get("password", "")
    if password != form.get("password_again", ""):
        return _create_form(view, values, roles, {"password_again": MISMATCH}, status=400)
    try:
        account = view.ask("accounts", "create_account", request_id=values["request_id"],
                           username=values["username"], display_name=values["display_name"],
                           department=values["department"], place_code=values["place_code"],
                           roles=roles, password=password)
    except (ValidationError, Conflict, Forbidden) as error:
        errors = refusal(error, ("username", "display_name", "department", "place_code",
                                 "roles", "password"))
        for name in [name for name in errors if values.get(name) == "" or (
                name == "password" and not password)]:
            errors[name] = EMPTY  # the schema's word for a missing value is English only
        return _create_form(view, values, roles, errors, status=error.http_status)
    return view.redirect(account_path(account["username"]), done="created")


def _create_form(view, values: dict, roles: list[str], errors: dict, *, status: int = 200):
    return view.page("accounts_create.html", status=status, section=SECTION, values=values,
                     roles=offered_roles(view, roles), errors=errors,
                     password_rule=PASSWORD_RULE,
                     username_rule=USERNAME_RULE)


# -- an account -----------------------------------------------------------------------------
@route("/accounts/<username>", name="accounts.detail")
def detail(view, username: str):
    return _detail(view, username)


def _detail(view, username: str, *, form: str | None = None, errors: dict | None = None,
            request_id: str | None = None, status: int = 200):
    """The account's page; after a refused POST, `form` is the one refused, with its
    `errors` and its own request id again."""
    account = view.ask("accounts", "get_account", username=username)
    ids = {name: new_request_id() for name in ("roles", "disabled", "password")}
    if form and request_id:
        ids[form] = request_id
    done = view.text("done")
    return view.page(
        "accounts_detail.html", status=status, section=SECTION, account=account,
        path=account_path(account["username"]),
        roles=offered_roles(view, account.get("roles") or ()),
        held_labels=account.get("role_labels") or [],
        own=account["username"] == view.principal.subject, ids=ids, form=form,
        errors=errors or {}, notice=NOTICES.get(done) if status == 200 else None,
        password_rule=PASSWORD_RULE)


def _posted(view, username: str, name: str, method: str, fields: Collection[str],
            **params):
    """A POST of the account page's form `name`: `method` asked, then back to the page
    with a notice, or the page again with the refusal next to the form."""
    form = view.form(max_fields=ACCOUNT_FORM_FIELDS)
    request_id = posted_request_id(form.get("request_id"))
    try:
        account = view.ask("accounts", method, request_id=request_id, username=username,
                           **params)
    except (ValidationError, Conflict, Forbidden) as error:
        return _detail(view, username, form=name, errors=refusal(error, fields),
                       request_id=request_id, status=error.http_status)
    done = name
    if name == "disabled":
        done = "disabled" if params["disabled"] else "enabled"
    return view.redirect(account_path(account["username"]), done=done)


@route("/accounts/<username>/roles", methods=("POST",), name="accounts.roles")
def set_roles(view, username: str):
    return _posted(view, username, "roles", "set_roles", ("roles",),
                   roles=posted_roles(view.form(max_fields=ACCOUNT_FORM_FIELDS)))


@route("/accounts/<username>/disabled", methods=("POST",), name="accounts.disabled")
def set_disabled(view, username: str):
    disabled = view.form(max_fields=ACCOUNT_FORM_FIELDS).get("disabled")
    if disabled not in ("true", "false"):
        return _detail(view, username, form="disabled", status=400,
                       errors={"form": "请通过页面上的按钮停用或启用账号"})
    return _posted(view, username, "disabled", "set_disabled", (),
                   disabled=disabled == "true")


@route("/accounts/<username>/password", methods=("POST",), name="accounts.password")
def reset_password(view, username: str):
    form = view.form(max_fields=ACCOUNT_FORM_FIELDS)
    password = form.get("new_password", "")
    if password != form.get("new_password_again", ""):
        return _detail(view, username, form="password", status=400,
                       errors={"new_password_again": MISMATCH},
                       request_id=posted_request_id(form.get("request_id")))
    return _posted(view, username, "password", "reset_password", ("new_password",),
                   new_password=password)
