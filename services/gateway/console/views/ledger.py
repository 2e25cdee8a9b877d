"""台账: the rectification ledger (工作台账) of a place, each case's page with the forms
that move it on, and its printable public notice (公示) — domain.md §3.1–§3.7.

    GET  /console/ledger                                  ledger.list
    GET  /console/ledger/cases/<id>                       ledger.case
    GET  /console/ledger/cases/<id>/notice                ledger.notice
    POST /console/ledger/cases/<id>/plan                  ledger.set_plan
    POST /console/ledger/cases/<id>/tasks                 ledger.add_task
    POST /console/ledger/cases/<id>/tasks/<t>/complete    ledger.complete_task
    POST /console/ledger/cases/<id>/help                  ledger.assign_help
    POST /console/ledger/cases/<id>/postings              ledger.record_posting
    POST /console/ledger/cases/<id>/surveys               ledger.open_survey
    POST /console/ledger/cases/<id>/surveys/<s>/counts    ledger.record_counts
    POST /console/ledger/cases/<id>/surveys/<s>/close     ledger.close_survey
    POST /console/ledger/cases/<id>/acceptances           ledger.open_acceptance
    POST /console/ledger/cases/<id>/acceptances/<a>/stars ledger.rate_stars

Every question is the services' (organizations for the case, evaluation for its surveys
and acceptance), asked as the member: a case outside the member's reach is the service's
NotFound, the very answer for a case that does not exist. Which forms a page shows follows
the member's roles and the case's state machine (shared/contracts/rectification.py); the
rules themselves are the services', their refusals shown next to the field concerned.

Each form carries the CSRF field and a request_id of its own (a new one each time the
page is drawn), so a double submit is applied once. A success redirects to the case page
with a notice (`?done=`); a ValidationError (400) or a Conflict (409) draws the page again
with the error next to the field of the form concerned, and a summary at the top.

The ledger RPC has no overdue filter: `?overdue=1` keeps the overdue rows of its pages.
That is exact, not a sample: the ledger lists overdue cases first (rectification_store.
ledger), so the first page with a row that is not overdue is the last page that has any.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.gateway.console.context import new_request_id, posted_request_id
from services.gateway.console.texts import chinese_all, standard_message
from services.gateway.console.views import route
from shared.contracts.evaluation import ANSWERS, SURVEY_KINDS
from shared.contracts.rectification import CASE_MACHINE, CASE_STATUSES, HELP_KINDS
from shared.errors import Conflict, NotFound, ValidationError

SECTION = "/console/ledger"
PAGE_SIZE = 50
PLAN_TASK_ROWS = 3  # task rows of the plan form; more are added one by one after
TASK_FIELDS = ("content", "responsible", "deadline")
WRITE, EVALUATE = "organizations.write", "evaluation.write"

# Which case forms the case's state allows: the contract's state machine says it.
PLAN_FROM = CASE_MACHINE.sources("set_plan")
TASKS_FROM = CASE_MACHINE.sources("add_task")
HELP_FROM = CASE_MACHINE.sources("assign_help")
COMPLETE_FROM = CASE_MACHINE.sources("complete_task")

LISTED = {"1": "挂牌整改", "0": "未挂牌"}

# The notices after a redirect (texts.notice knows only the sign-in ones).
DONE = {
    "plan": "整改方案已保存，案件转入整改中。",
    "task": "整改任务已添加。",
    "complete": "任务已标记为完成。",
    "submitted": "本轮整改任务已全部完成，案件已提交上级进行满意度测评。",
    "help": "帮扶措施已登记。",
    "posting": "公示张贴情况已登记。",
    "survey": "满意度测评已开启。",
    "counts": "测评票数已登记。",
    "passed": "测评已结束，满意率达到要求：案件将转为已验收（稍后刷新本页可见）。",
    "failed": "测评已结束，满意率未达到要求：案件将进入下一轮整改（稍后刷新本页可见）。",
    "closed": "测评已结束。",
    "acceptance": "验收定星已开启。",
    "stars": "星级已评定。",
}

FORM_FAILED = "填写有误，请检查后重新提交"
FIELD_FAILED = "填写有误，请检查"
REUSED_FORM = "这张表单已经提交过，不能再用于另一次提交。请刷新页面后重新填写。"
STATE_CONFLICT = "案件或测评的状态已不允许此操作，请刷新页面查看最新状态。"


# -- the ledger ---------------------------------------------------------------------------
@route("/ledger", name="ledger.list")
def ledger_list(view):
    place = view.place()
    status = view.text("status")
    status = status if status in CASE_STATUSES else ""
    listed = view.text("listed")
    listed = listed if listed in LISTED else ""
    overdue = view.text("overdue") == "1"
    after = view.text("after", limit=400) or None
    ledger = view.ask("organizations", "ledger", place_code=place, status=status or None,
                      listed=None if not listed else listed == "1", limit=PAGE_SIZE,
                      after=after)
    rows, next_cursor = ledger["items"], ledger.get("next_cursor")
    if overdue:  # overdue rows come first: past the first other row there are none
        kept = [row for row in rows if row.get("overdue")]
        if len(kept) < len(rows):
            next_cursor = None
        rows = kept
    path = _path_from_home(view, view.ask("organizations", "place_path", place_code=place))
    children = view.ask("organizations", "list_children", place_code=place)["items"]
    filters = {"place": place if place != view.home_place else "", "status": status,
               "listed": listed, "overdue": "1" if overdue else ""}
    return view.page(
        "ledger_list.html", section=SECTION, ledger=ledger, rows=rows, place=place,
        place_name=path[-1]["name"] if path else place, path=path, children=children,
        statuses=list(CASE_STATUSES.items()), listed_options=list(LISTED.items()),
        filters=filters, overdue=overdue, first_page=after is None,
        next_url=next_cursor and view.url("/ledger", **filters, after=next_cursor),
        first_url=view.url("/ledger", **filters))


def _path_from_home(view, path) -> list[dict]:
    """The places from the member's own down to this one (the breadcrumb): a place above
    the member's own is not theirs to open."""
    items = [p for p in (path or {}).get("items", []) if isinstance(p, dict)]
    codes = [p.get("code") for p in items]
    return items[codes.index(view.home_place):] if view.home_place in codes else items


# -- a case ---------------------------------------------------------------------------------
@dataclass
class Failed:
    """A form the service refused: which one, its errors by field, what was typed."""
    key: str
    errors: dict[str, str]
    values: dict[str, str]


class Forms:
    """What a form of the case page needs from the request being answered: its errors
    and values (the form that failed), and a new request_id each time it is drawn."""

    def __init__(self, failed: Failed | None):
        self.failed = failed

    def errors(self, key: str) -> dict[str, str]:
        return self.failed.errors if self.failed and self.failed.key == key else {}

    def value(self, key: str, name: str, default="") -> str:
        if self.failed and self.failed.key == key:
            return self.failed.values.get(name, "")
        return default

    @staticmethod
    def request_id() -> str:
        return new_request_id()


@route("/ledger/cases/<int:case_id>", name="ledger.case")
def case_page(view, case_id: int):
    return _case_page(view, case_id)


def _case_page(view, case_id: int, *, failed: Failed | None = None,
               status: int = 200) -> Response:
    case = view.ask("organizations", "get_case", case_id=case_id)
    organization_id = case["organization_id"]
    surveys = _evaluation(view, "surveys_of", organization_id)
    acceptances = _evaluation(view, "acceptances_of", organization_id)
    suggestion, suggest_errors, suggest_for = None, {}, None
    if failed is None and acceptances and view.number("suggest"):
        suggest_for = view.number("suggest")
        try:
            suggestion = view.ask("evaluation", "suggest_stars", acceptance_id=suggest_for,
                                  score=view.text("score", limit=20))
        except ValidationError as error:
            suggest_errors = _errors(error, _locator(("score",)))
            status = 400
    current = [t for t in case["tasks"] if t["round"] == case["round"]]
    earlier = [t for t in case["tasks"] if t["round"] != case["round"]]
    may_write, may_evaluate = view.may(WRITE), view.may(EVALUATE)
    own_acceptance = any(a.get("case_id") == case["id"] for a in acceptances or ())
    return view.page(
        "ledger_case.html", status=status, section=SECTION, case=case, current=current,
        earlier=earlier, surveys=surveys, acceptances=acceptances, forms=Forms(failed),
        failed=failed, done=DONE.get(view.text("done")), today=dt.date.today().isoformat(),
        may_plan=may_write and case["status"] in PLAN_FROM,
        may_add_task=may_write and case["status"] in TASKS_FROM,
        may_help=may_write and case["status"] in HELP_FROM,
        may_complete=may_write and case["status"] in COMPLETE_FROM,
        may_post=may_write, may_evaluate=may_evaluate,
        may_open_acceptance=may_evaluate and case["status"] == "accepted"
        and acceptances is not None and not own_acceptance,
        plan_rows=range(1, PLAN_TASK_ROWS + 1), help_kinds=list(HELP_KINDS.items()),
        survey_kinds=list(SURVEY_KINDS.items()), answers=list(ANSWERS.items()),
        suggestion=suggestion, suggest_errors=suggest_errors, suggest_for=suggest_for,
        suggest_score=view.text("score", limit=20))


def _evaluation(view, method: str, organization_id: int) -> list[dict] | None:
    """An organization's surveys or acceptances; None where the member may not read
    evaluation's (that part of the page is left out)."""
    try:
        answer = view.ask_or_none("evaluation", method, organization_id=organization_id)
    except NotFound:  # evaluation has not heard of the organization yet
        return []
    return None if answer is None else answer["items"]


@route("/ledger/cases/<int:case_id>/notice", name="ledger.notice")
def notice_page(view, case_id: int):
    """The service's printable notice, as /v1/notices/<id> serves it: its own HTML (the
    service escapes what it puts in), whole, under the console's page headers."""
    notice = view.ask("organizations", "notice", case_id=case_id)
    html = notice["html"]
    # The notice carries its print styling in a <style> of its own; the console's policy
    # allows that exact text (its hash) and nothing else — no script, no other source.
    styles = " ".join(f"'sha256-{_sha256(text)}'" for text in _STYLE.findall(html))
    return Response(html, content_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": f"default-src 'none'; style-src {styles or 'none'}; "
                                   "base-uri 'none'; form-action 'none'; "
                                   "frame-ancestors 'none'"})


# A plan's problems and measures run to 5 000 characters each (the contract), 9 bytes a
# character once percent-encoded.
PLAN_FORM_BYTES = 96 * 1024
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


# -- the case's forms ---------------------------------------------------------------------
def _submit(view, case_id: int, key: str, act: Callable[[dict], tuple[int, str, str]],
            locate: Callable[[tuple[str, ...]], str]) -> Response:
    """Read the form (CSRF first), `act` on it: (case to show, notice, anchor) → 303
    there; a refusal → the case page again with the errors next to their fields."""
    form = view.form(max_bytes=PLAN_FORM_BYTES, max_fields=64)
    try:
        where, flag, anchor = act(form)
    except ValidationError as error:
        status, errors = 400, _errors(error, locate)
    except Conflict as error:
        status, errors = 409, {"form": _conflict(error)}
    else:
        return redirect(f"/console/ledger/cases/{where}?done={flag}#{anchor}", 303)
    values = {k: v for k, v in form.items() if k not in ("csrf", "request_id")}
    return _case_page(view, case_id, failed=Failed(key, errors, values), status=status)


@route("/ledger/cases/<int:case_id>/plan", methods=("POST",), name="ledger.set_plan")
def set_plan(view, case_id: int):
    rows: list[int] = []

    def act(form):
        tasks = []
        for n in range(1, PLAN_TASK_ROWS + 1):
            task = {f: form.get(f"task{n}_{f}", "").strip() for f in TASK_FIELDS}
            if any(task.values()):
                rows.append(n)
                tasks.append(task)
        case = view.ask("organizations", "set_plan", request_id=posted_request_id(form.get("request_id")),
                        case_id=case_id, main_problems=form.get("main_problems", ""),
                        measures=_lines(form.get("measures", "")), tasks=tasks)
        return case["id"], "plan", "plan"

    def locate(path):
        if path[:1] == ("tasks",) and len(path) >= 3 and path[1].isascii() and path[1].isdigit() \
                and int(path[1]) < len(rows) and path[2] in TASK_FIELDS:
            return f"task{rows[int(path[1])]}_{path[2]}"
        if path[:1] == ("tasks",):
            return "tasks"
        return path[0] if path and path[0] in ("main_problems", "measures") else "form"

    return _submit(view, case_id, "plan", act, locate)


@route("/ledger/cases/<int:case_id>/tasks", methods=("POST",), name="ledger.add_task")
def add_task(view, case_id: int):
    def act(form):
        case = view.ask("organizations", "add_task", request_id=posted_request_id(form.get("request_id")),
                        case_id=case_id, **{f: form.get(f, "").strip() for f in TASK_FIELDS})
        return case["id"], "task", "tasks"

    return _submit(view, case_id, "task", act, _locator(TASK_FIELDS))


@route("/ledger/cases/<int:case_id>/tasks/<int:task_id>/complete", methods=("POST",),
       name="ledger.complete_task")
def complete_task(view, case_id: int, task_id: int):
    def act(form):
        case = view.ask("organizations", "complete_task", request_id=posted_request_id(form.get("request_id")),
                        task_id=task_id, done_on=form.get("done_on", "").strip())
        return case["id"], "submitted" if case["status"] == "submitted" else "complete", \
            "tasks"

    return _submit(view, case_id, f"complete-{task_id}", act, _locator(("done_on",)))


@route("/ledger/cases/<int:case_id>/help", methods=("POST",), name="ledger.assign_help")
def assign_help(view, case_id: int):
    def act(form):
        case = view.ask("organizations", "assign_help", request_id=posted_request_id(form.get("request_id")),
                        case_id=case_id, kind=form.get("kind", ""),
                        person=form.get("person", "").strip(),
                        unit=form.get("unit", "").strip() or None,
                        assigned_on=form.get("assigned_on", "").strip())
        return case["id"], "help", "help"

    return _submit(view, case_id, "help", act,
                   _locator(("kind", "person", "unit", "assigned_on")))


@route("/ledger/cases/<int:case_id>/postings", methods=("POST",),
       name="ledger.record_posting")
def record_posting(view, case_id: int):
    def act(form):
        case = view.ask("organizations", "record_posting", request_id=posted_request_id(form.get("request_id")),
                        case_id=case_id, posted_on=form.get("posted_on", "").strip(),
                        location=form.get("location", "").strip())
        return case["id"], "posting", "notice"

    return _submit(view, case_id, "posting", act, _locator(("posted_on", "location")))


def _organization_of(view, case_id: int) -> int:
    """The case's organization (the surveys and acceptances are the organization's)."""
    return view.ask("organizations", "get_case", case_id=case_id)["organization_id"]


@route("/ledger/cases/<int:case_id>/surveys", methods=("POST",), name="ledger.open_survey")
def open_survey(view, case_id: int):
    def act(form):
        view.ask("evaluation", "open_survey", request_id=posted_request_id(form.get("request_id")),
                 kind=form.get("kind", ""), organization_id=_organization_of(view, case_id),
                 title=form.get("title", "").strip() or None)
        return case_id, "survey", "surveys"

    return _submit(view, case_id, "survey", act, _locator(("kind", "title")))


@route("/ledger/cases/<int:case_id>/surveys/<int:survey_id>/counts", methods=("POST",),
       name="ledger.record_counts")
def record_counts(view, case_id: int, survey_id: int):
    def act(form):
        counts = {answer: _integer(form.get(answer, "")) for answer in ANSWERS
                  if form.get(answer, "").strip()}
        view.ask("evaluation", "record_counts", request_id=posted_request_id(form.get("request_id")),
                 survey_id=survey_id, counts=counts)
        return case_id, "counts", f"survey-{survey_id}"

    def locate(path):
        if path[:1] == ("counts",) and len(path) >= 2 and path[1] in ANSWERS:
            return path[1]
        return "form"

    return _submit(view, case_id, f"counts-{survey_id}", act, locate)


@route("/ledger/cases/<int:case_id>/surveys/<int:survey_id>/close", methods=("POST",),
       name="ledger.close_survey")
def close_survey(view, case_id: int, survey_id: int):
    def act(form):
        survey = view.ask("evaluation", "close_survey", request_id=posted_request_id(form.get("request_id")),
                          survey_id=survey_id)
        flag = "closed"
        if survey.get("case_id") is not None and survey.get("passed") is not None:
            flag = "passed" if survey["passed"] else "failed"
        return case_id, flag, f"survey-{survey_id}"

    return _submit(view, case_id, f"close-{survey_id}", act, _locator(()))


@route("/ledger/cases/<int:case_id>/acceptances", methods=("POST",),
       name="ledger.open_acceptance")
def open_acceptance(view, case_id: int):
    def act(form):
        view.ask("evaluation", "open_acceptance", request_id=posted_request_id(form.get("request_id")),
                 organization_id=_organization_of(view, case_id))
        return case_id, "acceptance", "acceptance"

    return _submit(view, case_id, "acceptance", act, _locator(()))


@route("/ledger/cases/<int:case_id>/acceptances/<int:acceptance_id>/stars",
       methods=("POST",), name="ledger.rate_stars")
def rate_stars(view, case_id: int, acceptance_id: int):
    def act(form):
        view.ask("evaluation", "rate_stars", request_id=posted_request_id(form.get("request_id")),
                 acceptance_id=acceptance_id, score=form.get("score", "").strip(),
                 stars=_integer(form.get("stars", "")), reason=form.get("reason", "").strip())
        return case_id, "stars", "acceptance"

    return _submit(view, case_id, f"stars-{acceptance_id}", act,
                   _locator(("score", "stars", "reason")))


# -- reading a form, saying an error ----------------------------------------------------------
def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _integer(text: str) -> int | str:
    """A number typed into a form, as the RPC's integer; anything else as typed, for the
    service to refuse next to its field."""
    text = text.strip()
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else text


def _locator(fields: tuple[str, ...]) -> Callable[[tuple[str, ...]], str]:
    def locate(path: tuple[str, ...]) -> str:
        return path[0] if path and path[0] in fields else "form"
    return locate


def _errors(error: ValidationError, locate: Callable[[tuple[str, ...]], str]) -> dict[str, str]:
    """A ValidationError as {field of the form: 中文}, "form" for what names none of its
    fields. The services' messages in Chinese where they have it; marshmallow's English
    ones said in Chinese here."""
    found: dict[str, list[str]] = {}
    overall = _chinese(error.message)  # a rule's refusal says it there, its fields not
    details = error.details if isinstance(error.details, dict) else {}
    for path, messages in _flat(details):
        texts = found.setdefault(locate(path), [])
        for message in messages:
            said = _chinese(message) or overall or _said(message, path) or FIELD_FAILED
            if said not in texts:
                texts.append(said)
    if not found:
        found["form"] = [overall or FORM_FAILED]
    return {name: "；".join(t for t in texts if not any(o != t and o.startswith(t)
                                                        for o in texts))
            for name, texts in found.items()}  # "不能为空" in "不能为空，最多 …" once


def _chinese(message) -> str | None:
    """The Chinese of one service message: "English (中文)" says it last (the English
    may quote a Chinese label on the way: "a poor (较差) organization is …")."""
    texts = chinese_all(message)
    return texts[-1] if texts else None


def _flat(details, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    if isinstance(details, dict):
        for key, value in details.items():
            yield from _flat(value, (*path, str(key)))
    elif isinstance(details, list | tuple) and all(isinstance(m, str) for m in details):
        yield path, list(details)
    elif isinstance(details, list | tuple):
        for value in details:
            yield from _flat(value, path)
    else:
        yield path, [str(details)]


_LISTS = ("measures", "tasks")
def _said(message: str, path: tuple[str, ...]) -> str | None:
    return standard_message(message, list_field=len(path) == 1 and path[0] in _LISTS)


def _conflict(error: Conflict) -> str:
    details = error.details if isinstance(error.details, dict) else {}
    if "request_id" in details:  # the same form's id, sent with other values
        return REUSED_FORM
    return _chinese(error.message) or STATE_CONFLICT
