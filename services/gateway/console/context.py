"""What a data page works with: the request, the signed-in staff member, and the services
asked with that member's own token (never the gateway's): `View`.

A view reads its query with `text`/`number`, asks the services with `ask`, answers with
`page`, `redirect` or `download`; a form is read with `form()`, which checks the CSRF
field first. A service's refusal (ValidationError, Conflict, NotFound, Forbidden)
propagates to pages.Console, which shows it as a page in Chinese, unless the view catches
it to show the errors next to their fields (`field_errors`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.gateway.console.texts import chinese, standard_message
from shared import contracts
from shared.errors import (
    Forbidden,
    JinweiError,
    ServiceUnavailable,
    Unauthenticated,
    ValidationError,
)
from shared.national import regions

if TYPE_CHECKING:
    from services.gateway.console.pages import Console, Session

_PLACE = re.compile(r"^[0-9]{12}$")
_DIGITS = re.compile(r"[0-9]{1,11}")  # not str.isdigit: that takes "²", which int() refuses


@dataclass
class View:
    console: Console
    request: Request
    request_id: str
    session: Session
    _form: dict[str, str] | None = field(default=None, repr=False)

    # -- who ------------------------------------------------------------------------
    @property
    def principal(self):
        return self.session.principal

    def may(self, role: str) -> bool:
        return role in self.principal.roles

    @property
    def home_place(self) -> str:
        return self.principal.place_code

    # -- the query ------------------------------------------------------------------
    def text(self, name: str, default: str = "", *, limit: int = 100) -> str:
        """A query parameter, stripped and cut to `limit` characters."""
        return (self.request.args.get(name) or default).strip()[:limit]

    def number(self, name: str, default: int | None = None) -> int | None:
        value = self.request.args.get(name, "")
        return int(value) if _DIGITS.fullmatch(value) else default

    def place(self, name: str = "place") -> str:
        """A place code from the query, or the member's own place. Whether it is within
        reach is the services' answer (NotFound), not this page's."""
        value = self.request.args.get(name, "")
        if _PLACE.match(value):
            try:
                regions.parse(value)
                return value
            except ValueError:
                pass
        return self.home_place

    # -- the services ---------------------------------------------------------------
    def ask(self, service: str, method: str, **params: Any) -> Any:
        """An RPC as the signed-in member (their token, roles and reach)."""
        return self.console.rpc.call(service, method, params, token=self.session.token,
                                     call_id=f"gateway.{self.request_id}")

    def ask_or_none(self, service: str, method: str, **params: Any) -> Any:
        """`ask`, or None where the member lacks the role (a part of a page left out). A
        place outside the member's reach is the page's refusal, not a part left out."""
        try:
            return self.ask(service, method, **params)
        except Forbidden as error:
            if not _role_refused(error):
                raise
            return None

    def ask_parts(self, parts: dict[str, tuple[str, str, dict]]) -> tuple[dict, list[str]]:
        """The parts of a page, each (service, method, params), asked at once: ({name:
        answer, or None where the member lacks the role or the service is down}, the
        names of the parts whose service did not answer). A page of several services'
        reports waits as long as the slowest, and shows what it has."""
        rpc, call_id = self.console.rpc, f"gateway.{self.request_id}"
        start = getattr(rpc, "call_async", None) or _call_now(rpc)
        pending: dict[str, Any] = {}
        for name, (service, method, params) in parts.items():
            try:
                pending[name] = start(service, method, params, token=self.session.token,
                                      call_id=call_id)
            except JinweiError as error:
                pending[name] = _Answered(error)
        answers: dict[str, Any] = {}
        unavailable: list[str] = []
        for name, reply in pending.items():  # every reply read (rpc_client's rule)
            try:
                answers[name] = reply.result()
            except Forbidden as error:
                answers[name] = None if _role_refused(error) else error
            except ServiceUnavailable:
                answers[name] = None
                unavailable.append(name)
            except JinweiError as error:
                answers[name] = error
        for answer in answers.values():
            if isinstance(answer, JinweiError):
                raise answer  # (a NotFound of the place, an ended session: the page's)
        return answers, unavailable

    def ask_each(self, service: str, method: str, calls: list[dict]) -> list[Any]:
        """`ask` for each parameter set: all sent first, the replies read after
        (rpc_client.call_async), so a page of fifty writes waits about as long as one.
        Each answer, or the service's error for that one. A session that ended ends the
        page (Unauthenticated); so does a service down for a read."""
        rpc, call_id = self.console.rpc, f"gateway.{self.request_id}"
        start = getattr(rpc, "call_async", None) or _call_now(rpc)
        pending: list[Any] = []
        for params in calls:
            try:
                pending.append(start(service, method, params, token=self.session.token,
                                     call_id=call_id))
            except JinweiError as error:
                pending.append(_Answered(error))
        answers: list[Any] = []
        for reply in pending:  # every reply read, even after an error (rpc_client's rule)
            try:
                answers.append(reply.result())
            except JinweiError as error:
                answers.append(error)
        for answer in answers:
            if isinstance(answer, Unauthenticated) or (
                    isinstance(answer, ServiceUnavailable)
                    and not contracts.RPC[(service, method)].mutating):
                raise answer
        return answers

    # -- forms ----------------------------------------------------------------------
    def form(self, *, max_bytes: int | None = None, max_fields: int | None = None
             ) -> dict[str, str]:
        """The posted form, its CSRF field checked before anything else is read; bounded
        by the console's defaults (16 KiB, 16 fields) unless the page asks for more."""
        if self._form is None:
            limits = {k: v for k, v in (("max_bytes", max_bytes), ("max_fields", max_fields))
                      if v is not None}
            self._form = self.console.checked_form(self.request, self.session, **limits)
        return self._form

    # -- answers --------------------------------------------------------------------
    def page(self, template: str, *, status: int = 200, **context: Any) -> Response:
        return self.console.page(template, self.session, status=status, view=self,
                                 **context)

    @staticmethod
    def redirect(path: str, **args: Any) -> Response:
        query = urlencode({k: v for k, v in args.items() if v not in (None, "")})
        return redirect(path + (f"?{query}" if query else ""), 303)

    def url(self, path: str, **args: Any) -> str:
        query = urlencode({k: v for k, v in args.items() if v not in (None, "")})
        return "/console" + path + (f"?{query}" if query else "")


def field_errors(error: ValidationError) -> dict[str, str]:
    """A service's ValidationError as {field: 中文} (its Chinese where it has one), plus
    "form" for what names no field: shown next to the field it concerns."""
    errors: dict[str, str] = {}
    details = error.details if isinstance(error.details, dict) else {}
    for name, messages in details.items():
        listed = messages if isinstance(messages, list) else [messages]
        standard = [said for m in listed if isinstance(m, str)
                    for said in [standard_message(m)] if said]
        errors[str(name)] = chinese(messages) or "；".join(standard) or "填写有误，请检查"
    if not errors:
        errors["form"] = chinese(error.message) or "填写有误，请检查后重新提交"
    return errors


class _Answered:
    """A reply already in hand, read like a pending one."""

    def __init__(self, value):
        self.value = value

    def result(self):
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


def _call_now(rpc):
    """A client without call_async (tests' fakes): each call made at once, its answer or
    error kept to be read like a pending reply's."""
    def start(service, method, params, **options):
        try:
            return _Answered(rpc.call(service, method, params, **options))
        except JinweiError as error:
            return _Answered(error)
    return start


def _role_refused(error: Forbidden) -> bool:
    """A refusal for a role the member lacks (Principal.require_role), not for a place."""
    return isinstance(error.details, dict) and "role" in error.details


# A mutating form's idempotency key (the contract's request_id: 8 to 100 characters), made
# when the page is drawn: a form posted twice is applied once.
_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,100}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def posted_request_id(value: str | None) -> str:
    """The form's own request id, or a new one where it has none fit to send."""
    return value if value and _REQUEST_ID.fullmatch(value) else new_request_id()
