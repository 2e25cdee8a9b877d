"""Rectification entrypoints of the organizations service (contract:
shared/contracts/rectification.py), mixed into OrganizationsService.

Grades arrive from evaluation (grade_assigned) and open cases; finished cases go out
(rectification_submitted) to be surveyed; survey results come back (survey_closed)
and either start another round or accept the case (rectification_accepted)."""

from __future__ import annotations

import datetime as dt

from services.organizations import reach_service, rectification, store
from services.organizations import rectification_store as cases
from services.organizations.domain import Organization
from services.organizations.rectification import Case
from shared.contracts.common import encode_cursor
from shared.contracts.typed import organizations as typed
from shared.errors import NotFound
from shared.national import regions
from shared.platform import entrypoints
from shared.platform.entrypoints import Call
from shared.platform.events import handles, ignore

operation = entrypoints.operations("organizations")


class RectificationEntrypoints:
    """Methods of OrganizationsService. Needs from its host only its nameko dependencies
    (`db` and `caller`, for @operation) and its `name` (the handlers' dead letters)."""

    def _case_view(self, call: Call, case: Case, org: Organization) -> dict:
        today = dt.date.today()
        tasks = cases.tasks(call.tx, case.stored_id)
        for task in tasks:
            task["overdue"] = rectification.overdue(task, today)
        return {**vars(case), "organization_name": org.name, "place_code": org.place_code,
                "place_name": org.place_name, "tasks": tasks,
                "help": cases.help_for(call.tx, case.stored_id),
                "postings": cases.postings(call.tx, case.stored_id)}

    @operation
    def get_case(self, call: Call, params: typed.GetCaseParams):
        with call.tx.snapshot():
            case, org = reach_service.case(call, params["case_id"])
            return self._case_view(call, case, org)

    @operation
    def cases_of(self, call: Call, params: typed.CasesOfParams):
        with call.tx.snapshot():
            org = reach_service.organization(call, params["organization_id"])
            return {"items": [self._case_view(call, cases.get_case(call.tx, case_id), org)
                              for case_id in cases.case_ids_of(call.tx, org.stored_id)]}

    @operation
    def set_plan(self, call: Call, params: typed.SetPlanParams):
        case, org = reach_service.case(call, params["case_id"], lock=True)
        planned = rectification.set_plan(case, params["main_problems"], params["measures"])
        cases.add_tasks(call.tx, planned, params["tasks"])
        cases.save_case(call.tx, planned)
        call.tx.audit("rectification_case", case.id, {
            "plan": {"round": planned.round, "measures": planned.measures,
                     "tasks": len(params["tasks"])}})
        return self._case_view(call, planned, org)

    @operation
    def add_task(self, call: Call, params: typed.AddTaskParams):
        case, org = reach_service.case(call, params["case_id"], lock=True)
        rectification.check_can_add_tasks(case)
        cases.add_tasks(call.tx, case, [params])
        cases.save_case(call.tx, case)
        call.tx.audit("rectification_case", case.id, {"task_added": params["content"]})
        return self._case_view(call, case, org)

    @operation
    def complete_task(self, call: Call, params: typed.CompleteTaskParams):
        task = cases.get_task(call.tx, params["task_id"])
        case, org = reach_service.case(call, task["case_id"], lock=True,
                                       absent=cases.missing_task(params["task_id"]))
        rectification.check_can_complete_tasks(case)
        rectification.check_task_of_round(case, task)
        cases.complete_task(call.tx, task["id"], params["done_on"])
        after = rectification.after_task_done(case, cases.open_tasks(call.tx, case),
                                              dt.date.today(), org.place_code)
        cases.save_case(call.tx, after)
        call.tx.audit("rectification_case", case.id, {"task_done": task["id"],
                                                       "status": after.status})
        return self._case_view(call, after, org)

    @operation
    def assign_help(self, call: Call, params: typed.AssignHelpParams):
        case, org = reach_service.case(call, params["case_id"], lock=True)
        rectification.check_can_assign_help(case)  # for a case still being worked on
        cases.add_help(call.tx, case.stored_id, params)
        call.tx.audit("rectification_case", case.id, {"help": {"kind": params["kind"],
                                                               "person": params["person"]}})
        return self._case_view(call, case, org)

    @operation
    def ledger(self, call: Call, params: typed.LedgerParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        today = dt.date.today()
        with call.tx.snapshot():
            rows, cursor = cases.ledger(call.tx, place_code, today, status=params["status"],
                                        listed=params["listed"], limit=params["limit"],
                                        after=params["after"])
            summary = cases.ledger_summary(call.tx, place_code, today)
        return {"place_code": place_code, "as_of": today, "summary": summary, "items": rows,
                "next_cursor": encode_cursor(cursor) if cursor else None}

    @operation
    def notice(self, call: Call, params: typed.NoticeParams):
        with call.tx.snapshot():
            case, org = reach_service.case(call, params["case_id"])
            if not rectification.can_post_notice(regions.level_of(org.place_code)):
                # The request is well formed and the case exists: this case has no notice.
                raise NotFound(f"case {case.id} has no public notice: notices are for village "
                               "and township organizations (仅村级、乡镇级党组织的整改需公示)",
                               {"case_id": case.id})
            path = [p["name"] for p in store.path(call.tx, org.place_code)]
            tasks = [t for t in cases.tasks(call.tx, case.stored_id) if t["round"] == case.round]
            title, html = rectification.render_notice(case, {"name": org.name}, path, tasks,
                                                      cases.help_for(call.tx, case.stored_id),
                                                      dt.date.today())
        return {"case_id": case.id, "title": title, "html": html}

    @operation
    def record_posting(self, call: Call, params: typed.RecordPostingParams):
        case, org = reach_service.case(call, params["case_id"], lock=True)
        cases.add_posting(call.tx, case.stored_id, params["posted_on"], params["location"])
        call.tx.audit("rectification_case", case.id, {"notice_posted": {
            "posted_on": params["posted_on"], "location": params["location"]}})
        return self._case_view(call, case, org)

    # -- exemplars and demonstration sites ---------------------------------------------
    @operation
    def add_exemplar(self, call: Call, params: typed.AddExemplarParams):
        org = reach_service.organization(call, params["organization_id"])
        rectification.check_publishing_level(call.principal.place_code, params["level"])
        exemplar_id = cases.insert_exemplar(call.tx, params)
        call.tx.audit("organization", org.id, {"exemplar": {"id": exemplar_id,
                                                            "title": params["title"]}})
        return cases.exemplars(call.tx, org.place_code, exemplar_id=exemplar_id)[0]

    @operation
    def exemplars(self, call: Call, params: typed.ExemplarsParams):
        call.principal.require_place(params["place_code"])
        return {"items": cases.exemplars(call.tx, params["place_code"], params["level"],
                                         params["sector"])}

    @operation
    def designate_demonstration_site(self, call: Call,
                                     params: typed.DesignateDemonstrationSiteParams):
        org = reach_service.organization(call, params["organization_id"])
        rectification.check_publishing_level(call.principal.place_code, params["level"])
        site_id = cases.insert_site(call.tx, params)
        call.tx.audit("organization", org.id, {"demonstration_site": {
            "level": params["level"], "year": params["year"]}})
        return cases.sites(call.tx, org.place_code, site_id=site_id)[0]

    @operation
    def demonstration_sites(self, call: Call, params: typed.DemonstrationSitesParams):
        call.principal.require_place(params["place_code"])
        return {"items": cases.sites(call.tx, params["place_code"], params["level"],
                                     params["sector"])}

    # -- events from evaluation ------------------------------------------------------------
    @handles("evaluation", "grade_assigned")
    def on_grade_assigned(self, tx, event):
        """Mirror the grades; an average or poor grade opens a case (poor: listed, 挂牌),
        or changes the case in progress (rectification.regrade)."""
        data = event["data"]
        organization_id = data["organization_id"]
        if not cases.set_grades(tx, organization_id, data["sequence"], data["current_grade"],
                                data["baseline_grade"]):
            ignore(self.name, "on_grade_assigned", "older_event", event)
            return
        active = cases.active_case(tx, organization_id)
        if active is not None:
            after, outcome = rectification.regrade(active, data["grade"], data["round_id"],
                                                   data["is_current"])
            if outcome != "unchanged":
                cases.save_case(tx, after)
                tx.audit("rectification_case", active.id, {outcome: {
                    "grade": data["grade"], "round_id": data["round_id"]}})
            return
        if not data["is_current"] or cases.has_case_for_round(tx, organization_id,
                                                               data["round_id"]):
            return  # an old round entered late, or this grading's case has run its course
        case = rectification.open_case(organization_id, data["grade"], data["round_id"],
                                       dt.date.today())
        if case is not None:
            cases.insert_case(tx, case)
            tx.audit("rectification_case", case.id, {"opened": {
                "grade": case.grade, "listed": case.listed, "round_id": data["round_id"]}})

    @handles("evaluation", "survey_closed")
    def on_survey_closed(self, tx, event):
        data = event["data"]
        if data["kind"] != "rectification" or data["case_id"] is None:
            return  # a survey of service-oriented organizations: nothing to do here
        case = cases.get_case(tx, data["case_id"], lock=True)
        org = store.get_organization(tx, case.organization_id)
        after, outcome = rectification.after_survey(case, data["case_round"], data["passed"],
                                                    dt.date.today(), org.place_code)
        if after is None:
            ignore(self.name, "on_survey_closed", outcome, event)
            return
        cases.save_case(tx, after)
        tx.audit("rectification_case", case.id, {"survey": {
            "survey_id": data["survey_id"], "rate": data["rate"], "passed": data["passed"],
            "outcome": outcome}})

