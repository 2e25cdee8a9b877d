"""Contract of rectification in the organizations service (docs/domain.md §3.1–§3.5):
cases, plans and tasks, help for lagging organizations, the ledger, public notices,
exemplars and demonstration sites; and the rectification events."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts import NEW, event, rpc_method, state_machine
from shared.contracts.common import (
    Enum,
    FutureDate,
    NotAfterNextYear,
    PastDate,
    PlaceCode,
    StrictBoolean,
    label_of,
    page_fields,
    request_id_field,
    text,
)
from shared.contracts.enums import GRADES
from shared.contracts.organizations import SECTORS

SERVICE = "organizations"

CASE_STATUSES = {
    "planning": "制定整改方案",
    "in_progress": "整改中",
    "submitted": "整改完成待测评",
    "accepted": "已验收",
    "withdrawn": "已撤销（定级更正）",
}
TASK_STATUSES = {"open": "进行中", "done": "已完成"}

_W = "organizations.write, the organization in the caller's jurisdiction"
_GRADED = "the system, on evaluation's grade_assigned"
_SURVEYED = "the system, on evaluation's survey_closed for the case's current round"
# The case's life (domain.md §3.1–§3.7). services/organizations/rectification.py refuses
# a command from any state this table does not list it from.
CASE_MACHINE = state_machine(
    SERVICE, "rectification case", field="Case.status, LedgerRow.status",
    statuses=CASE_STATUSES, transitions=[
        (NEW, "event evaluation.grade_assigned", "planning", _GRADED,
         "a current grade of average or poor and no case in progress (poor: listed, 挂牌)"),
        ("planning", "set_plan", "in_progress", _W,
         "the plan of the current round with its tasks"),
        ("in_progress", "set_plan", "in_progress", _W,
         "the plan changed; the tasks given are added to the round"),
        ("planning", "add_task", "planning", _W,
         "a task of the current round; the case stays in planning until set_plan"),
        ("in_progress", "add_task", "in_progress", _W, ""),
        ("planning", "assign_help", "planning", _W, ""),
        ("in_progress", "assign_help", "in_progress", _W, ""),
        ("in_progress", "complete_task", "in_progress", _W,
         "other tasks of the round are still open"),
        ("in_progress", "complete_task", "submitted", _W,
         "the round's last open task: rectification_submitted, and evaluation opens the "
         "round's satisfaction survey"),
        ("submitted", "event evaluation.survey_closed", "planning", _SURVEYED,
         "not passed (below the threshold, 再整改): round + 1; call set_plan again with "
         "the new round's tasks"),
        ("submitted", "event evaluation.survey_closed", "accepted", _SURVEYED,
         "passed: rectification_accepted; a listed case is crossed off (销号)"),
        ("planning", "event evaluation.grade_assigned", "withdrawn", _GRADED,
         "the grading that opened it corrected to good or fairly good"),
        ("in_progress", "event evaluation.grade_assigned", "withdrawn", _GRADED,
         "the same"),
        ("submitted", "event evaluation.grade_assigned", "withdrawn", _GRADED, "the same"),
    ],
    notes="A correction of the opening grading to the other of average and poor keeps the "
          "status and changes `grade` and `listed`; a later round's poor lists a case that "
          "was not. Tasks belong to a round (`Task.round`): complete_task takes only the "
          "current round's. accepted and withdrawn are final; a new grade of average or "
          "poor in a later round opens a new case.")
state_machine(SERVICE, "rectification task", field="Task.status", statuses=TASK_STATUSES,
              transitions=[
                  (NEW, "set_plan", "open", _W, "each task given"),
                  (NEW, "add_task", "open", _W, ""),
                  ("open", "complete_task", "done", _W,
                   "a task of the case's current round, the case in_progress"),
              ])
# S§9: how a lagging organization is helped to transform.
HELP_KINDS = {
    "leader_leads": "市县领导领衔破解",
    "township_leader": "乡镇领导联系包干",
    "department_pairing": "机关部门结对帮扶",
    "work_team": "派驻工作组",
}
LEVELS = {"province": "省级", "city": "市级", "county": "县级"}

_grade_label = label_of(GRADES)


def _id(**kw):
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kw)




class TaskInput(Schema):
    content = text(1000, required=True)
    responsible = text(100, required=True, metadata={"description": "责任人"})
    deadline = FutureDate(required=True)


class Task(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    round = fields.Integer()
    content = fields.String()
    responsible = fields.String()
    deadline = fields.Date()
    status = fields.String()
    status_label = label_of(TASK_STATUSES)("status")
    done_on = fields.Date(allow_none=True)
    overdue = StrictBoolean()


class Help(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = label_of(HELP_KINDS)("kind")
    person = fields.String()
    unit = fields.String(allow_none=True)
    assigned_on = fields.Date()


class Posting(Schema):
    posted_on = fields.Date()
    location = fields.String()


class Case(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    organization_name = fields.String()
    place_code = fields.String()
    place_name = fields.String()
    grade = fields.String()
    grade_label = _grade_label("grade")
    grade_round_id = fields.Integer(metadata={"description": "the grading round that opened it"})
    listed = StrictBoolean(metadata={"description": "挂牌: a lagging (poor) organization"})
    status = fields.String()
    status_label = label_of(CASE_STATUSES)("status")
    round = fields.Integer(metadata={"description": "1, then 2… for each 再整改"})
    main_problems = fields.String(allow_none=True)
    measures = fields.List(fields.String())
    opened_on = fields.Date()
    submitted_on = fields.Date(allow_none=True)
    accepted_on = fields.Date(allow_none=True)
    crossed_off_on = fields.Date(allow_none=True, metadata={"description": "销号: a listed case, on acceptance"})
    tasks = fields.List(fields.Nested(Task))
    help = fields.List(fields.Nested(Help))
    postings = fields.List(fields.Nested(Posting))
    version = fields.Integer()


class CaseRef(Schema):
    case_id = _id(required=True)


class CasesOf(Schema):
    organization_id = _id(required=True)


class CaseList(Schema):
    items = fields.List(fields.Nested(Case))


class SetPlan(Schema):
    request_id = request_id_field()
    case_id = _id(required=True)
    main_problems = text(5000, required=True)
    measures = fields.List(text(1000), required=True, validate=validate.Length(min=1, max=50))
    tasks = fields.List(fields.Nested(TaskInput), required=True,
                        validate=validate.Length(min=1, max=200),
                        metadata={"description": "逐项分解: each measure's tasks"})


class AddTask(TaskInput):
    request_id = request_id_field()
    case_id = _id(required=True)


class CompleteTask(Schema):
    request_id = request_id_field()
    task_id = _id(required=True)
    done_on = PastDate(required=True)


class AssignHelp(Schema):
    request_id = request_id_field()
    case_id = _id(required=True)
    kind = Enum(HELP_KINDS, required=True)
    person = text(100, required=True)
    unit = text(200, load_default=None, allow_none=True)
    assigned_on = PastDate(required=True)


class LedgerQuery(Schema):
    place_code = PlaceCode(required=True, metadata={"description": "a city, county or township"})
    status = Enum(CASE_STATUSES, load_default=None)
    listed = StrictBoolean(load_default=None, allow_none=True)
    limit, after = page_fields(default=100, maximum=500, shape=(int, str, int)).values()


class LedgerRow(Schema):
    case_id = fields.Integer()
    organization_id = fields.Integer()
    organization_name = fields.String()
    place_code = fields.String()
    place_name = fields.String()
    grade = fields.String()
    grade_label = _grade_label("grade")
    listed = StrictBoolean()
    status = fields.String()
    status_label = label_of(CASE_STATUSES)("status")
    round = fields.Integer()
    tasks = fields.Integer()
    done = fields.Integer()
    overdue = fields.Integer()
    next_deadline = fields.Date(allow_none=True)
    help = fields.List(fields.String(), metadata={"description": "help kinds assigned"})
    opened_on = fields.Date()
    crossed_off_on = fields.Date(allow_none=True)


class Ledger(Schema):
    place_code = fields.String()
    as_of = fields.Date()
    summary = fields.Dict(metadata={"description": "cases by status; listed; crossed off; overdue"})
    items = fields.List(fields.Nested(LedgerRow), metadata={"description": "overdue first"})
    next_cursor = fields.String(allow_none=True)


class Notice(Schema):
    case_id = fields.Integer()
    title = fields.String()
    html = fields.String(metadata={"description": "the printable notice (公示), in Chinese"})


class RecordPosting(Schema):
    request_id = request_id_field()
    case_id = _id(required=True)
    posted_on = PastDate(required=True)
    location = text(200, required=True, metadata={"description": "where it was posted (上墙)"})


class AddExemplar(Schema):
    request_id = request_id_field()
    organization_id = _id(required=True)
    title = text(200, required=True)
    practice = text(10000, required=True, metadata={"description": "the good practice"})
    level = Enum(LEVELS, required=True, metadata={"description": (
        "who publishes it: the province, a city or a county. A caller publishes at its own "
        "level or below (a county: `county`; a city: `city` or `county`); a higher level is "
        "Forbidden, as for designate_demonstration_site.")})
    published_on = PastDate(required=True)


class Exemplar(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    organization_name = fields.String()
    place_code = fields.String()
    sector = fields.String()
    sector_label = label_of(SECTORS)("sector")
    title = fields.String()
    practice = fields.String()
    level = fields.String()
    level_label = label_of(LEVELS)("level")
    published_on = fields.Date()


class PlaceListing(Schema):
    place_code = PlaceCode(required=True)
    level = Enum(LEVELS, load_default=None)
    sector = Enum(SECTORS, load_default=None)


class ExemplarList(Schema):
    items = fields.List(fields.Nested(Exemplar))


class DesignateSite(Schema):
    request_id = request_id_field()
    organization_id = _id(required=True)
    level = Enum(LEVELS, required=True, metadata={"description": (
        "who designates it (S§2: the province, the cities and the counties each their own "
        "batch). A caller designates at its own level or below (a county: `county`; a city: "
        "`city` or `county`); a higher level is Forbidden, as for add_exemplar.")})
    year = fields.Integer(strict=True, required=True,
                          validate=[validate.Range(2000, 2100), NotAfterNextYear()])


class Site(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    organization_name = fields.String()
    place_code = fields.String()
    sector = fields.String()
    sector_label = label_of(SECTORS)("sector")
    level = fields.String()
    level_label = label_of(LEVELS)("level")
    year = fields.Integer()


class SiteList(Schema):
    items = fields.List(fields.Nested(Site))


# -- events ---------------------------------------------------------------------------
class RectificationSubmitted(Schema):
    case_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    place_code = fields.String(required=True)
    round = fields.Integer(required=True)
    grade = fields.String(required=True)


class RectificationAccepted(Schema):
    case_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    place_code = fields.String(required=True)
    grade = fields.String(required=True)
    rounds = fields.Integer(required=True)
    listed = StrictBoolean(required=True)
    accepted_on = fields.Date(required=True)


READ, WRITE = "organizations.read", "organizations.write"

rpc_method(SERVICE, "get_case", params=CaseRef, result=Case,
           role=READ, mutating=False, summary="A rectification case with its tasks and help.")
rpc_method(SERVICE, "cases_of", params=CasesOf, result=CaseList,
           role=READ, mutating=False, summary="An organization's rectification cases.")
rpc_method(SERVICE, "set_plan", params=SetPlan, result=Case,
           role=WRITE, mutating=True,
           summary="The rectification plan (整改方案): problems, measures, tasks decomposed item by "
                   "item.\n"
                   "Takes a case in planning to in_progress, the tasks given being the current "
                   "round's. Each round needs it: after a survey that did not pass the case is "
                   "back in planning with round + 1, and its tasks are done only once set_plan "
                   "has given that round's plan (add_task alone leaves it in planning). In "
                   "in_progress it replaces the problems and measures and adds the tasks given.")
rpc_method(SERVICE, "add_task", params=AddTask, result=Case,
           role=WRITE, mutating=True,
           summary="One more task in the current round.\n"
                   "Allowed in planning and in_progress; it does not change the status (a case in "
                   "planning needs set_plan before any task can be completed).")
rpc_method(SERVICE, "complete_task", params=CompleteTask, result=Case,
           role=WRITE, mutating=True,
           summary="A task is done; when all are, the case is submitted "
                   "(rectification_submitted).\n"
                   "Only in in_progress (a case in planning is a Conflict: set_plan first) and "
                   "only for a task of the current round.")
rpc_method(SERVICE, "assign_help", params=AssignHelp, result=Case,
           role=WRITE, mutating=True,
           summary="Help for a lagging organization: a leader, a township leader, a department, a "
                   "work team.")
rpc_method(SERVICE, "ledger", params=LedgerQuery, result=Ledger,
           role=READ, mutating=False,
           summary="The rectification ledger (工作台账) of a place: every case under it, overdue "
                   "first.")
rpc_method(SERVICE, "notice", params=CaseRef, result=Notice,
           role=READ, mutating=False,
           summary="The public notice (公示) of a village or township organization's case, "
                   "printable.")
rpc_method(SERVICE, "record_posting", params=RecordPosting, result=Case,
           role=WRITE, mutating=True, summary="When and where the notice was posted.")
rpc_method(SERVICE, "add_exemplar", params=AddExemplar, result=Exemplar,
           role=WRITE, mutating=True,
           summary="Publish an exemplar (先进典型) and its practice, at the caller's level or "
                   "below (see `level`).")
rpc_method(SERVICE, "exemplars", params=PlaceListing, result=ExemplarList,
           role=READ, mutating=False, summary="Exemplars in a subtree.")
rpc_method(SERVICE, "designate_demonstration_site", params=DesignateSite, result=Site,
           role=WRITE, mutating=True,
           summary="Designate a demonstration site (示范点) of a level for a year, at the "
                   "caller's level or below (see `level`).")
rpc_method(SERVICE, "demonstration_sites", params=PlaceListing, result=SiteList,
           role=READ, mutating=False,
           summary="Demonstration sites in a subtree, by level and sector.")

event(SERVICE, "rectification_submitted", data=RectificationSubmitted,
      summary="Every task of a case's round is done: the superior surveys satisfaction.")
event(SERVICE, "rectification_accepted", data=RectificationAccepted,
      summary="The survey passed: the case is accepted and, if listed, crossed off (销号).")
