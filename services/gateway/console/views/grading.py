"""定级: grading rounds and the score sheet (issue 19; docs/domain.md §2).

    GET  /console/grading                      轮次: the place's rounds, open one, go to one by id
    POST /console/grading                      evaluation.open_round
    GET  /console/grading/rounds/<id>          the round; without ?township= its rules and
                                               a choice of township, with it the sheet
    POST /console/grading/rounds/<id>          the sheet saved: record_scores per filled row,
                                               then grade_organization where asked
    GET  /console/grading/rounds/<id>/organizations/<org>/grade   更正等级 (set_grade)
    POST (the same)

The sheet is one page of a township's organizations (organizations.list_organizations of
its subtree, SHEET_ROWS a page), a row each with the seven indicator scores of one
assessor (评分方, chosen above the sheet) and the grading so far (evaluation.round_gradings:
the page's rows in one call; saving sends every row's call at once, View.ask_each). A
row is saved when it was filled and differs
from what is recorded; each row carries request ids made when the sheet was rendered, so
a form posted twice applies nothing twice. A row the service refuses keeps what was typed
and shows the error next to its input; the other rows are saved all the same.

Every rule (the round's place, who is the superior, the scores' range, the grade) is the
evaluation service's: the page asks as the member and shows the answer.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from werkzeug.exceptions import NotFound

from services.gateway import spreadsheets
from services.gateway.console.context import new_request_id, posted_request_id
from services.gateway.console.texts import chinese
from services.gateway.console.views import route
from shared import contracts
from shared.contracts.enums import GRADES
from shared.contracts.evaluation import ASSESSORS, GRADE_METHODS, INDICATORS
from shared.errors import (
    Conflict,
    Forbidden,
    JinweiError,
    ServiceUnavailable,
    ValidationError,
)
from shared.national import regions

SECTION = "/console/grading"
SHEET_ROWS = 50  # organizations on one page of the sheet
# The sheet's form: per row seven scores and two request ids (about 400 bytes), plus a
# few fields: more than a short form's default bounds (View.form asks for these).
SHEET_FIELDS = SHEET_ROWS * (len(INDICATORS) + 2) + 10
SHEET_BYTES = 96 * 1024
DEFAULT_ASSESSOR = "superior"  # a township scores its villages' organizations as their superior
_PLACE = re.compile(r"^\d{12}$")

FIELD_HINTS = {
    "place_code": "请填写 12 位统计用区划代码（本单位或下级地区）",
    "year": "请填写 2000–2100 之间的年份",
    "name": "请填写轮次名称（不超过 200 字）",
    "grade": "请选择等级",
    "reason": "请填写理由（2–1000 字）",
}
SCORE_HINT = "应为 0 到 100 之间的数（如 85 或 92.5）"


# -- rounds --------------------------------------------------------------------------------
@route("/grading", methods=("GET", "POST"), name="grading.rounds")
def rounds(view):
    """The rounds the member's place takes part in (its own, those above it, those below
    it), a form to open one, and a field to go to one by its number."""
    if view.request.method == "GET":
        wanted = view.number("round")
        if wanted:
            return view.redirect(f"/console/grading/rounds/{wanted}")
        year = dt.date.today().year
        return _rounds_page(view, values={"place_code": view.home_place, "year": str(year),
                                          "name": f"{year}年度分类定级",
                                          "request_id": new_request_id()})
    form = view.form()
    values = {name: form.get(name, "").strip() for name in
              ("place_code", "year", "name", "request_id")}
    year = values["year"]
    params = {"request_id": posted_request_id(values["request_id"]),
              "place_code": values["place_code"],
              "year": int(year) if re.fullmatch(r"[0-9]{1,5}", year) else year,
              "name": values["name"]}
    try:
        opened = view.ask("evaluation", "open_round", **params)
    except ValidationError as error:
        return _rounds_page(view, values=values, errors=_errors(error), status=400)
    except Forbidden as error:  # the place is outside the member's jurisdiction
        return _rounds_page(view, values=values, status=403, errors={
            "place_code": chinese(error.message) or "该地区不在您的管辖范围内"})
    return view.redirect(f"/console/grading/rounds/{opened['id']}", opened=1)


def _rounds_page(view, *, values: dict, errors: dict | None = None, status: int = 200):
    listed = view.ask_or_none("evaluation", "rounds", place_code=view.home_place, year=None,
                              limit=100)
    return view.page("grading_rounds.html", section=SECTION, status=status,
                     values=values, errors=errors or {}, rounds=_items(listed),
                     may_open=view.may("evaluation.write"))


# -- one round: its rules and the choice of township ---------------------------------------
@route("/grading/rounds/<int:round_id>", name="grading.sheet")
def sheet(view, round_id: int):
    round_ = _round(view, round_id)
    township = _place_arg(view, "township")
    if township is None:
        return _round_page(view, round_id, round_)
    return _sheet(view, round_id, round_, township, _assessor(view))


def _round(view, round_id: int) -> dict | None:
    """The round (a township reads the county's round it takes part in), or None where
    the member lacks evaluation.read. A round that is not there, or not the member's
    business, is the service's NotFound: an error page."""
    return view.ask_or_none("evaluation", "get_round", round_id=round_id)


def _round_page(view, round_id: int, round_: dict | None):
    """The round's rules and its places, down to a township, whose sheet is a link."""
    home = view.home_place
    start = _place_arg(view, "place")
    if start is None:
        start = home if round_ is None or regions.in_subtree(
            home, round_["place_code"]) else round_["place_code"]
    if regions.level_of(start) in ("township", "village"):
        return view.redirect(f"/console/grading/rounds/{round_id}", township=start,
                             assessor=view.text("assessor") or None,
                             opened="1" if view.request.args.get("opened") == "1" else None)
    children = view.ask("organizations", "list_children", place_code=start)
    path = view.ask_or_none("organizations", "place_path", place_code=start) or {}
    places = [{"code": p["code"], "name": p.get("name") or p["code"],
               "level": p.get("level") or regions.level_of(p["code"]),
               "level_label": p.get("level_label") or
               regions.LEVEL_LABELS[regions.level_of(p["code"])]}
              for p in _items(children)]
    return view.page("grading_round.html", section=SECTION, round_id=round_id, round=round_,
                     rules=_rules(round_), places=places, path=_items(path), start=start,
                     opened=view.request.args.get("opened") == "1",
                     gradings_import="gradings" in spreadsheets.IMPORTS)


def _rules(round_: dict | None) -> dict | None:
    """The round's weights and cut-offs, in words."""
    rules = (round_ or {}).get("rules") or {}
    if not rules:
        return None
    cutoffs = rules.get("cutoffs") or {}
    bands = []
    for grade in ("good", "fairly_good", "average"):
        if grade in cutoffs:
            bands.append(f"{GRADES[grade]}：{_number(cutoffs[grade])} 分及以上")
    if cutoffs:
        bands.append(f"{GRADES['poor']}：低于 {_number(cutoffs.get('average', '60'))} 分")
    return {
        "assessors": [(ASSESSORS.get(k, k), _percent(v))
                      for k, v in (rules.get("assessor_weights") or {}).items()],
        "indicators": [(INDICATORS.get(k, k), _number(v))
                       for k, v in (rules.get("indicator_weights") or {}).items()],
        "bands": bands,
    }


# -- the sheet -------------------------------------------------------------------------------
@route("/grading/rounds/<int:round_id>", methods=("POST",), name="grading.save")
def save(view, round_id: int):
    form = view.form(max_bytes=SHEET_BYTES, max_fields=SHEET_FIELDS)  # CSRF checked first
    township = _place_arg(view, "township")
    if township is None:
        raise NotFound()
    assessor = _assessor(view)
    round_ = _round(view, round_id)
    rows, next_cursor = _rows(view, round_id, township)
    outcome = {"saved": 0, "graded": 0, "errors": 0, "not_graded": 0}

    # 1. every row filled and changed: its scores as the contract takes them
    record = contracts.RPC[("evaluation", "record_scores")]
    to_save = []
    for row in rows:
        oid = row["id"]
        entered = {name: form.get(f"s-{oid}-{name}", "").strip() for name in INDICATORS}
        row["request_id"] = posted_request_id(form.get(f"r-{oid}"))
        row["grade_request_id"] = posted_request_id(form.get(f"g-{oid}"))
        if not any(entered.values()):
            continue  # not filled: left as it is
        recorded = ((row["grading"] or {}).get("scores") or {}).get(assessor) or {}
        if recorded and all(_same(entered[name], recorded.get(name)) for name in INDICATORS):
            continue  # as recorded: nothing to save
        row["values"] = entered
        params = {"request_id": row["request_id"], "round_id": round_id,
                  "organization_id": oid, "assessor": assessor, "scores": entered}
        try:
            contracts.load_params(record, dict(params))  # its rules, said before a round trip
        except ValidationError as error:
            _row_errors(row, error, entered)
            continue
        to_save.append((row, params))

    # 2. saved together; each row's answer or error kept with it
    for (row, _), answer in zip(to_save, view.ask_each(
            "evaluation", "record_scores", [p for _, p in to_save]), strict=True):
        if isinstance(answer, JinweiError):
            _row_errors(row, answer, row["values"])
        else:
            row["grading"], row["saved"], row["values"] = answer, True, None
            row["request_id"] = new_request_id()  # the next save of this row is another request
            outcome["saved"] += 1

    # 3. graded where asked: rows saved now or not yet graded, all three assessors in
    if form.get("grade") == "1":
        to_grade = [row for row in rows if not row["errors"] and not row["error"]
                    and row["grading"] and set(ASSESSORS) <= set(row["grading"].get("scores") or {})
                    and (row["saved"] or not row["grading"].get("grade"))]
        answers = view.ask_each("evaluation", "grade_organization", [
            {"request_id": row["grade_request_id"], "round_id": round_id,
             "organization_id": row["id"]} for row in to_grade])
        for row, answer in zip(to_grade, answers, strict=True):
            if isinstance(answer, JinweiError):
                row["grade_error"] = _message(answer, "未能评定等级")
                outcome["not_graded"] += 1
            else:
                row["grading"], row["graded"] = answer, True
                row["grade_request_id"] = new_request_id()
                outcome["graded"] += 1
    outcome["errors"] = sum(1 for row in rows if row["errors"] or row["error"])
    return _sheet_page(view, round_id, round_, township, assessor, rows, next_cursor,
                       outcome=outcome, status=400 if outcome["errors"] else 200)


def _sheet(view, round_id: int, round_: dict | None, township: str, assessor: str):
    rows, next_cursor = _rows(view, round_id, township)
    return _sheet_page(view, round_id, round_, township, assessor, rows, next_cursor,
                       outcome=None)


def _rows(view, round_id: int, township: str) -> tuple[list[dict], str | None]:
    """This page of the township's organizations, each with its grading in the round."""
    after = view.text("after", limit=500) or None
    page = view.ask("organizations", "list_organizations", place_code=township,
                    limit=SHEET_ROWS, after=after)
    organizations = _items(page)[:SHEET_ROWS]
    answer = view.ask("evaluation", "round_gradings", round_id=round_id,
                      organization_ids=[org["id"] for org in organizations]) \
        if organizations else {"items": []}
    by_id = {item["organization_id"]: item for item in answer["items"]}
    rows = []
    for org in organizations:
        grading = by_id.get(org["id"])
        row = {"id": org["id"], "name": org.get("name") or str(org["id"]),
               "place_name": org.get("place_name"), "kind_label": org.get("kind_label"),
               "grading": None, "note": None, "error": None, "errors": {}, "values": None,
               "saved": False, "graded": False, "grade_error": None,
               "request_id": new_request_id(), "grade_request_id": new_request_id()}
        if grading is None:  # outside the round's place: not graded in it
            row["note"] = "该组织不在本轮定级的范围内"
        else:
            row["grading"] = grading
        rows.append(row)
    return rows, page.get("next_cursor") if isinstance(page, dict) else None


def _sheet_page(view, round_id: int, round_: dict | None, township: str, assessor: str,
                rows: list[dict], next_cursor: str | None, *, outcome: dict | None,
                status: int = 200):
    place = view.ask_or_none("organizations", "get_place", place_code=township) or {}
    for row in rows:
        grading = row["grading"] or {}
        scores = grading.get("scores") or {}
        recorded = scores.get(assessor) or {}
        if row["values"] is None:  # as recorded (a row in error keeps what was typed)
            row["values"] = {name: _shown(recorded.get(name)) for name in INDICATORS}
        row["scored_by"] = [label for code, label in ASSESSORS.items() if code in scores]
        row["waiting_for"] = [label for code, label in ASSESSORS.items() if code not in scores]
        row["grade_label"] = GRADES.get(grading.get("grade") or "", None)
        row["score"] = grading.get("score")
        row["method_label"] = GRADE_METHODS.get(grading.get("method") or "", None)
        row["reason"] = grading.get("reason")
    corrected = view.number("corrected")
    corrected_name = next((row["name"] for row in rows if row["id"] == corrected), None)
    return view.page(
        "grading_sheet.html", section=SECTION, status=status, round_id=round_id, round=round_,
        rules=_rules(round_), township=township,
        township_name=place.get("name") or township, assessor=assessor,
        assessor_label=ASSESSORS[assessor], assessors=list(ASSESSORS.items()),
        indicators=list(INDICATORS.items()), rows=rows, outcome=outcome,
        next_url=next_cursor and view.url(f"/grading/rounds/{round_id}", township=township,
                                          assessor=assessor, after=next_cursor),
        first_url=view.text("after") and view.url(f"/grading/rounds/{round_id}",
                                                  township=township, assessor=assessor),
        action=view.url(f"/grading/rounds/{round_id}", township=township, assessor=assessor,
                        after=view.text("after", limit=500) or None),
        corrected=corrected and (corrected_name or True),
        opened=view.request.args.get("opened") == "1",
        gradings_import="gradings" in spreadsheets.IMPORTS)


def _row_errors(row: dict, error: JinweiError, entered: dict) -> None:
    """A refusal said next to the inputs it concerns (a score), or for the row."""
    details = error.details if isinstance(error, ValidationError) else None
    scores = details.get("scores") if isinstance(details, dict) else None
    if isinstance(scores, dict):
        for name, messages in scores.items():
            if name in INDICATORS:
                row["errors"][name] = chinese(messages) or (
                    "请填写" if not entered.get(name) else SCORE_HINT)
        rest = {k: v for k, v in details.items() if k != "scores"}  # type: ignore[union-attr]
        if rest:
            row["error"] = chinese(rest) or "填写有误，请检查"
    elif isinstance(error, ServiceUnavailable):  # it may have been saved: the same request
        row["error"] = ("系统暂时没有应答，这一行可能已保存也可能没有。"
                        "请稍后再点“保存”（同一行不会重复保存）。")
    else:
        row["error"] = _message(error, "这一行未能保存")
    if not row["errors"] and not row["error"]:
        row["error"] = "这一行未能保存，请检查"


# -- correcting a grade --------------------------------------------------------------------
@route("/grading/rounds/<int:round_id>/organizations/<int:organization_id>/grade",
       methods=("GET", "POST"), name="grading.correct")
def correct(view, round_id: int, organization_id: int):
    if view.request.method == "POST":
        view.form()  # the CSRF field checked before anything is asked
    township = _place_arg(view, "township")
    organization = view.ask("organizations", "get_organization",
                            organization_id=organization_id)
    grading = view.ask("evaluation", "get_grading", round_id=round_id,
                       organization_id=organization_id)
    values = {"grade": grading.get("grade") or "", "reason": "", "request_id": new_request_id()}
    errors: dict[str, str] = {}
    status = 200
    if view.request.method == "POST":
        form = view.form()
        values = {"grade": form.get("grade", ""), "reason": form.get("reason", "").strip(),
                  "request_id": posted_request_id(form.get("request_id"))}
        try:
            view.ask("evaluation", "set_grade", request_id=values["request_id"],
                     round_id=round_id, organization_id=organization_id,
                     grade=values["grade"], reason=values["reason"])
        except ValidationError as error:
            errors, status = _errors(error), 400
        except (Forbidden, Conflict) as error:  # e.g. not a superior of its place
            errors = {"form": _message(error, "您不能更正这个组织的等级")}
            status = 403 if isinstance(error, Forbidden) else 409
        else:
            back = township or organization.get("place_code")
            return view.redirect(f"/console/grading/rounds/{round_id}", township=back,
                                 corrected=organization_id)
    return view.page(
        "grading_correct.html", section=SECTION, status=status, round_id=round_id,
        organization=organization, grading=grading, township=township,
        grade_label=GRADES.get(grading.get("grade") or ""),
        method_label=GRADE_METHODS.get(grading.get("method") or ""),
        grades=list(GRADES.items()), values=values, errors=errors,
        action=view.url(f"/grading/rounds/{round_id}/organizations/{organization_id}/grade",
                        township=township),
        back=view.url(f"/grading/rounds/{round_id}",
                      township=township or organization.get("place_code")))


# -- helpers ---------------------------------------------------------------------------------
def _place_arg(view, name: str) -> str | None:
    value = view.request.args.get(name, "")
    if not _PLACE.match(value):
        return None
    try:
        regions.parse(value)
    except ValueError:
        return None
    return value


def _assessor(view) -> str:
    value = view.text("assessor")
    return value if value in ASSESSORS else DEFAULT_ASSESSOR


def _errors(error: ValidationError) -> dict[str, str]:
    details = error.details if isinstance(error.details, dict) else {}
    errors = {str(name): chinese(messages) or FIELD_HINTS.get(str(name), "填写有误，请检查")
              for name, messages in details.items()}
    return errors or {"form": chinese(error.message) or "填写有误，请检查后重新提交"}


def _message(error: JinweiError, fallback: str) -> str:
    return chinese(error.message) or chinese(error.details) or fallback


def _same(entered: str, recorded: object) -> bool:
    if recorded is None:
        return False
    try:
        return Decimal(entered) == Decimal(str(recorded))
    except InvalidOperation:
        return entered == str(recorded)


def _shown(value: object) -> str:
    return "" if value is None else _number(value)


def _number(value: object) -> str:
    """85.00 → 85, 92.50 → 92.5: a score as people write it."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(value: object) -> str:
    try:
        return _number(Decimal(str(value)) * 100) + "%"
    except InvalidOperation:
        return str(value)


def _items(result) -> list[dict]:
    items = result.get("items") if isinstance(result, dict) else result
    return [item for item in (items or []) if isinstance(item, dict)]
