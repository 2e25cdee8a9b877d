"""Rectification of organizations graded average or poor (docs/domain.md §3.1–§3.5, §3.7).

Pure: no I/O. A case opens when a grade says so, gets a plan decomposed into tasks, is
submitted when every task of its round is done, and then either goes round again
(satisfaction below the threshold: 再整改) or is accepted — and, if it was listed
(挂牌, a poor organization), crossed off (销号).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field, replace

from shared.contracts.enums import GRADES
from shared.contracts.rectification import CASE_MACHINE, HELP_KINDS
from shared.domain.events import Event
from shared.errors import Conflict, Forbidden, ValidationError
from shared.national import regions

NEEDS_RECTIFICATION = ("average", "poor")


@dataclass
class Case:
    organization_id: int
    grade: str
    grade_round_id: int
    listed: bool
    opened_on: dt.date
    status: str = "planning"
    round: int = 1
    main_problems: str | None = None
    measures: list[str] = field(default_factory=list)
    submitted_on: dt.date | None = None
    accepted_on: dt.date | None = None
    crossed_off_on: dt.date | None = None
    id: int | None = None
    version: int = 0
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @property
    def stored_id(self) -> int:
        """The id of a case the store has read or inserted (`id` is None only before
        that): for the statements that name it."""
        assert self.id is not None, "a case not stored yet"
        return self.id


def open_case(organization_id: int, grade: str, round_id: int, today: dt.date) -> Case | None:
    """A grade of average or poor opens a case; poor is listed (后进, 挂牌)."""
    if grade not in NEEDS_RECTIFICATION:
        return None
    return Case(organization_id=organization_id, grade=grade, grade_round_id=round_id,
                listed=grade == "poor", opened_on=today)


def regrade(case: Case, grade: str, round_id: int, is_current: bool) -> tuple[Case, str]:
    """A case in progress meets a new grade: what it becomes, and what happened.

    A correction of the grading that opened it decides the case: it follows the grade
    (average ↔ poor, listed with poor), or is withdrawn if no rectification is needed.
    A later round's poor lists a case that was not listed (every poor organization is);
    a later, better grade leaves the case to run to its acceptance."""
    if round_id == case.grade_round_id:
        if grade not in NEEDS_RECTIFICATION:
            return replace(case, status="withdrawn", events=[]), "withdrawn"
        if grade == case.grade:
            return case, "unchanged"
        return replace(case, grade=grade, listed=grade == "poor", events=[]), "corrected"
    if is_current and grade == "poor" and not case.listed:
        return replace(case, grade="poor", listed=True, events=[]), "listed"
    return case, "unchanged"


def _require(case: Case, command: str, doing: str) -> None:
    """`command` is allowed from the case's status by the contract's table of the case's
    transitions (shared/contracts/rectification.py CASE_MACHINE, docs/contract.md)."""
    if case.status in CASE_MACHINE.sources(command):
        return
    if case.status == "planning":  # a new round (再整改) starts with its plan
        hint = (f"; round {case.round} needs its plan first: set_plan with the round's "
                "tasks, then complete them (请先制定本轮整改方案)")
    else:
        hint = " (整改状态不允许此操作)"
    raise Conflict(f"case {case.id} is {case.status}: cannot {doing}{hint}",
                   {"case_id": case.id, "status": case.status, "round": case.round})


def set_plan(case: Case, main_problems: str, measures: list[str]) -> Case:
    _require(case, "set_plan", doing="change its plan")
    return replace(case, main_problems=main_problems.strip(),
                   measures=[m.strip() for m in measures], status="in_progress", events=[])


def check_can_add_tasks(case: Case) -> None:
    _require(case, "add_task", doing="take new tasks")


def check_can_assign_help(case: Case) -> None:
    _require(case, "assign_help", doing="take help")


def check_can_complete_tasks(case: Case) -> None:
    _require(case, "complete_task", doing="complete tasks")


def check_task_of_round(case: Case, task: dict) -> None:
    """A task is completed in the round it was set for: an earlier round's is history."""
    if task["round"] != case.round:
        raise ValidationError("the task belongs to an earlier round",
                              {"task_id": [f"round {task['round']}, the case is in {case.round}"]})


def after_task_done(case: Case, open_tasks: int, today: dt.date, place_code: str) -> Case:
    """When the round's last task is done the case is submitted for the survey."""
    if open_tasks:
        return case
    submitted = replace(case, status="submitted", submitted_on=today, events=[])
    submitted.events.append(Event("rectification_submitted", {
        "case_id": case.id, "organization_id": case.organization_id, "place_code": place_code,
        "round": case.round, "grade": case.grade}))
    return submitted


def after_survey(case: Case, survey_round: int | None, passed: bool, today: dt.date,
                 place_code: str) -> tuple[Case | None, str]:
    """The case after its survey closed, and what happened: "accepted", "new_round", or
    why the survey was ignored (it is not this case's open round: it came too late)."""
    if case.status != "submitted" or survey_round != case.round:
        return None, "late" if case.status == "accepted" else "not_this_round"
    if not passed:  # 满意率低于80%: 再整改再落实 — a new round of the same case
        return replace(case, status="planning", round=case.round + 1, submitted_on=None,
                       events=[]), "new_round"
    accepted = replace(case, status="accepted", accepted_on=today,
                       crossed_off_on=today if case.listed else None, events=[])
    accepted.events.append(Event("rectification_accepted", {
        "case_id": case.id, "organization_id": case.organization_id, "place_code": place_code,
        "grade": case.grade, "rounds": case.round, "listed": case.listed, "accepted_on": today}))
    return accepted, "accepted"


def overdue(task: dict, today: dt.date) -> bool:
    return task["status"] == "open" and task["deadline"] < today


def check_publishing_level(caller_place_code: str, level: str) -> None:
    """Who publishes an exemplar or designates a demonstration site (S§2: the province,
    the cities and the counties each their own): a caller at its own level or below it,
    never above — a county publishes county ones, a city city or county ones."""
    caller_level = regions.level_of(caller_place_code)
    if regions.LEVELS.index(caller_level) > regions.LEVELS.index(level):
        raise Forbidden(f"a {caller_level} publishes exemplars and designates demonstration "
                        f"sites of its own level or below, not {level} ones", {"level": level})


def can_post_notice(place_level: str) -> bool:
    """§3.3: the notice is for village (and township) organizations (乡村党组织)."""
    return place_level in ("village", "township")


def render_notice(case: Case, organization: dict, place_path: list[str], tasks: list[dict],
                  help_given: list[dict], today: dt.date) -> tuple[str, str]:
    """The printable public notice (公示): title and a self-contained HTML page."""
    e = html.escape
    title = f"{organization['name']}分类定级及整改情况公示"
    deadline = max((t["deadline"] for t in tasks), default=None)
    responsible = sorted({t["responsible"] for t in tasks})
    rows = "".join(
        f"<tr><td>{i}</td><td>{e(t['content'])}</td><td>{e(t['responsible'])}</td>"
        f"<td>{t['deadline']:%Y年%m月%d日}</td></tr>" for i, t in enumerate(tasks, 1))
    measures = "".join(f"<li>{e(m)}</li>" for m in case.measures)
    helpers = "".join(f"<li>{e(HELP_KINDS[h['kind']])}：{e(h['person'])}"
                      f"{'（' + e(h['unit']) + '）' if h.get('unit') else ''}</li>"
                      for h in help_given)
    body = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body {{ font-family: "SimSun", "Songti SC", serif; margin: 2cm; line-height: 1.8; }}
h1 {{ text-align: center; font-size: 22pt; }} table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #000; padding: 4px 8px; }} .sign {{ text-align: right; margin-top: 2em; }}
@media print {{ body {{ margin: 1.5cm; }} }}
</style></head><body>
<h1>{e(title)}</h1>
<p>根据基层组织建设年活动安排，经分类定级，{e(' '.join(place_path))}{e(organization['name'])}
定为<strong>“{e(GRADES[case.grade])}”</strong>等次{'，列为后进党组织挂牌整顿' if case.listed else ''}。
现将存在的主要问题、整改措施、完成时限和责任人员公示如下，请广大党员和干部群众监督。</p>
<h2>一、存在的主要问题</h2><p>{e(case.main_problems or '')}</p>
<h2>二、整改措施</h2><ol>{measures}</ol>
<h2>三、整改任务、责任人员和完成时限</h2>
<table><tr><th>序号</th><th>任务</th><th>责任人</th><th>完成时限</th></tr>{rows}</table>
<p>整改完成时限：{f'{deadline:%Y年%m月%d日}' if deadline else '—'}；
责任人员：{e('、'.join(responsible)) or '—'}。</p>
{f'<h2>四、帮扶措施</h2><ul>{helpers}</ul>' if helpers else ''}
<p>公示期间，如有意见和建议，请向上级党组织反映。</p>
<p class="sign">{e(organization['name'])}<br>{today:%Y年%m月%d日}</p>
</body></html>
"""
    return title, body
