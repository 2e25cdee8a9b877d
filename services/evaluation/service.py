"""The evaluation service: grading rounds, satisfaction surveys, acceptance and stars,
the moving-up report and joint reviews (contract: shared/contracts/evaluation.py).

It knows places and organizations from the organizations service's events (its own
tables, never the other service's database), and hands off by events:
rectification_submitted opens a survey, survey_closed tells whether the case passes,
rectification_accepted opens an acceptance, grade_assigned opens cases there."""

from __future__ import annotations

import datetime as dt

from services.evaluation import domain, store
from services.evaluation.campaign_service import (
    ServiceSurveyEntrypoints,
    survey_creations_that_came_first,
)
from shared.contracts import evaluation as contract
from shared.contracts.common import encode_cursor
from shared.contracts.typed import evaluation as typed
from shared.errors import NotFound
from shared.national import regions
from shared.platform import entrypoints
from shared.platform import place_copies as places
from shared.platform.auth import CallerIdentity
from shared.platform.db import Database
from shared.platform.entrypoints import Call
from shared.platform.events import handles
from shared.platform.imports import Importer, ImportJobs, import_operations
from shared.platform.monitoring import Monitoring
from shared.platform.outbox import OutboxRelay
from shared.platform.owner_lookup import OwnerLookup
from shared.platform.place_copies import OrganizationDirectory, PlaceDirectory
from shared.platform.rules import RuleSet

operation = entrypoints.operations(contract.SERVICE)


class EvaluationService(PlaceDirectory, OrganizationDirectory, ServiceSurveyEntrypoints):
    name = contract.SERVICE

    db = Database()
    caller = CallerIdentity()
    rules = RuleSet(domain.Rules)
    relay = OutboxRelay()
    monitoring = Monitoring()
    imports = ImportJobs()
    owner = OwnerLookup()

    def _organization(self, call: Call, organization_id: int, *, lock: bool = False) -> dict:
        try:
            org = store.organization(call.tx, organization_id, lock=lock)
        except NotFound:
            # Registered a moment ago, its event still on its way: the owner is asked.
            if not self.owner.organization(call, organization_id):
                raise
            org = store.organization(call.tx, organization_id, lock=lock)
        call.principal.require_visible(org["place_code"],
                                       store.organization_absent(organization_id))
        return org

    def _require_visible_through(self, call: Call, organization_id: int, absent) -> None:
        """A survey or an acceptance is its organization's: outside the caller's
        jurisdiction it is `absent` — its own NotFound, not the organization's, which
        would tell that it exists (and whose it is)."""
        org = store.organization(call.tx, organization_id)
        call.principal.require_visible(org["place_code"], absent)

    def organization_registered(self, tx, organization: dict) -> None:
        survey_creations_that_came_first(tx, organization)

    def _require_superior_of(self, call: Call, organization_id: int) -> None:
        call.principal.require_superior(store.organization(call.tx, organization_id)["place_code"])

    # -- grading rounds ---------------------------------------------------------------
    @operation
    def open_round(self, call: Call, params: typed.OpenRoundParams):
        call.principal.require_place(params["place_code"])
        round_ = store.insert_round(call.tx, params, self.rules.grading())
        call.tx.audit("round", round_["id"], {"opened": {k: params[k] for k in
                                                         ("place_code", "year", "name")}})
        return round_

    def _round(self, call: Call, round_id: int) -> dict:
        """The round, if the caller may know of it: a round is the business of the places
        under it and of those that cover its place (a township grades its villages in
        the county's round). Elsewhere it is no such round."""
        round_ = store.get_round(call.tx, round_id)
        if not regions.in_subtree(call.principal.place_code, round_["place_code"]):
            call.principal.require_visible(round_["place_code"], store.round_absent(round_id))
        return round_

    @operation
    def get_round(self, call: Call, params: typed.GetRoundParams):
        # A place under the round takes part in it: it reads the round's name and the
        # rules it is graded by.
        return self._round(call, params["round_id"])

    @operation
    def rounds(self, call: Call, params: typed.RoundsParams):
        call.principal.require_place(params["place_code"])
        return {"items": store.rounds_of(call.tx, params["place_code"], params["year"],
                                         params["limit"])}

    @operation
    def round_gradings(self, call: Call, params: typed.RoundGradingsParams):
        round_ = self._round(call, params["round_id"])  # the caller is under it, or over it
        caller = call.principal.place_code
        # Organizations both in the round and within the caller's reach: the deeper place.
        inner = caller if regions.in_subtree(caller, round_["place_code"]) \
            else round_["place_code"]
        lo, hi = regions.subtree_bounds(inner)
        return {"round_id": round_["id"], "items": store.round_gradings(
            call.tx, round_["id"], params["organization_ids"], lo, hi)}

    def _round_and_organization(self, call: Call, round_id: int, organization_id: int):
        # Both named records are checked for visibility before the place mismatch, which
        # would tell where a round of another jurisdiction is.
        round_ = self._round(call, round_id)
        org = self._organization(call, organization_id, lock=call.tx.writes)
        domain.require_in_round(org, round_)
        return round_, org

    def _grading(self, call: Call, round_: dict, organization_id: int) -> dict:
        recorded = store.scores(call.tx, round_["id"], organization_id)
        graded = store.grading(call.tx, round_["id"], organization_id) or {}
        return {"round_id": round_["id"], "organization_id": organization_id, "scores": recorded,
                "score": graded.get("score"), "grade": graded.get("grade"),
                "method": graded.get("method"), "reason": graded.get("reason"),
                "is_baseline": graded.get("is_baseline", False),
                "rules": graded.get("rules", round_["rules"])}

    @operation
    def record_scores(self, call: Call, params: typed.RecordScoresParams):
        round_, org = self._round_and_organization(call, params["round_id"],
                                                   params["organization_id"])
        if params["assessor"] == "superior":
            call.principal.require_superior(org["place_code"])
        store.save_scores(call.tx, round_["id"], org["id"], params["assessor"], params["scores"])
        call.tx.audit("organization", org["id"], {
            "scores": {"round_id": round_["id"], "assessor": params["assessor"],
                       "scores": {k: str(v) for k, v in params["scores"].items()}}})
        return self._grading(call, round_, org["id"])

    @operation
    def grade_organization(self, call: Call, params: typed.GradeOrganizationParams):
        round_, org = self._round_and_organization(call, params["round_id"],
                                                   params["organization_id"])
        call.principal.require_superior(org["place_code"])
        scores = store.scores(call.tx, round_["id"], org["id"])
        self._assign(call, [domain.computed_grade(round_, org, scores)])
        return self._grading(call, round_, org["id"])

    @operation
    def set_grade(self, call: Call, params: typed.SetGradeParams):
        round_ = self._set_grade(call, params)
        return self._grading(call, round_, params["organization_id"])

    def _set_grade(self, call: Call, params) -> dict:
        """set_grade but its answer (an import's row needs none); the round."""
        return self._set_grades(call, [params])[0]

    def _set_grades(self, call: Call, rows: list[dict]) -> list[dict]:
        """set_grade's path for many (a gradings import's chunk), all or an error; their
        rounds. Rounds, organizations (locked, in id order) and scores are read once
        for all, the grades written in one statement."""
        if len({r["organization_id"] for r in rows}) < len(rows):
            # One organization in two rounds: graded one after the other, as by single
            # calls, so that each grade_assigned tells what that grade made of it; in
            # id order (each one's rows in file order), as every other path locks them.
            ordered = sorted(rows, key=lambda r: r["organization_id"])
            return [self._set_grades(call, [params])[0] for params in ordered]
        rounds = {round_id: self._round(call, round_id)
                  for round_id in sorted({r["round_id"] for r in rows})}
        ids = [r["organization_id"] for r in rows]
        if len(set(ids)) > 1:
            # Those registered a moment ago (their events on their way) are asked of the
            # owner before any is locked: the locks below are then taken in id order, as
            # every other path takes them, not the known ones first.
            known = store.organizations_by_id(call.tx, ids)
            for unknown in sorted(set(ids) - known.keys()):
                if not self.owner.organization(call, unknown):  # one is enough to refuse
                    raise store.organization_absent(unknown)
        orgs = store.organizations_by_id(call.tx, ids, lock=True)
        if not orgs and self.owner.organization(call, ids[0]):  # one, not here yet
            orgs = store.organizations_by_id(call.tx, ids, lock=True)
        chosen = []
        for params in rows:
            round_ = rounds[params["round_id"]]
            absent = store.organization_absent(params["organization_id"])
            org = orgs.get(params["organization_id"])
            if org is None:
                raise absent
            call.principal.require_visible(org["place_code"], absent)
            domain.require_in_round(org, round_)
            call.principal.require_superior(org["place_code"])  # the superior sets a grade
            chosen.append((round_, org, params))
        recorded = store.scores_of(call.tx,
                                   [(round_["id"], org["id"]) for round_, org, _ in chosen])
        self._assign(call, [
            domain.set_grade(round_, org, recorded.get((round_["id"], org["id"]), {}),
                             params["grade"], params["reason"])
            for round_, org, params in chosen])
        return [round_ for round_, _, _ in chosen]

    def _assign(self, call: Call, assignments: list[domain.Assignment]) -> None:
        """Grades of organizations that are all different: the gradings, the
        organizations' baseline and current grades, the audit rows and one grade_assigned
        each."""
        sequences = store.save_gradings(call.tx, [
            {"round_id": a.round["id"], "organization_id": a.organization["id"],
             "score": a.score, "grade": a.grade, "method": a.method, "reason": a.reason,
             "rules": a.round["rules"]}
            for a in assignments])
        refreshed = store.refresh_grades(call.tx, [a.organization["id"] for a in assignments])
        entries = []
        for a in assignments:
            standing = refreshed[a.organization["id"]]
            entries.append((a.organization["id"], {"graded": {
                "round_id": a.round["id"], "grade": a.grade, "score": a.score,
                "method": a.method, "reason": a.reason, "is_baseline": a.is_baseline(standing)}}))
            call.tx.emit(domain.grade_assigned(
                a, standing, sequences[(a.round["id"], a.organization["id"])]))
        call.tx.audit_many("organization", entries)

    # -- bulk import (shared/platform/imports.py) -------------------------------------------------
    start_import, get_import = import_operations(operation, lambda: IMPORTERS)

    @operation
    def get_grading(self, call: Call, params: typed.GetGradingParams):
        round_, _ = self._round_and_organization(call, params["round_id"],
                                                 params["organization_id"])
        return self._grading(call, round_, params["organization_id"])

    # -- satisfaction surveys ------------------------------------------------------------
    def _survey(self, call: Call, survey_id: int, *, lock: bool = False) -> dict:
        survey = store.get_survey(call.tx, survey_id, lock=lock)
        self._require_visible_through(call, survey["organization_id"],
                                      store.survey_absent(survey_id))
        return survey

    @operation
    def open_survey(self, call: Call, params: typed.OpenSurveyParams):
        org = self._organization(call, params["organization_id"])
        survey_id = store.insert_survey(call.tx, {
            "kind": params["kind"], "organization_id": org["id"], "case_id": None,
            "case_round": None,
            "title": domain.survey_title(org["name"], params["kind"], params["title"])})
        call.tx.audit("survey", survey_id, {"opened": {"kind": params["kind"]}})
        return store.get_survey(call.tx, survey_id)

    @operation
    def get_survey(self, call: Call, params: typed.GetSurveyParams):
        return self._survey(call, params["survey_id"])

    @operation
    def surveys_of(self, call: Call, params: typed.SurveysOfParams):
        self._organization(call, params["organization_id"])
        return {"items": [store.get_survey(call.tx, survey_id)
                          for survey_id in store.surveys_of(call.tx, params["organization_id"])]}

    def _add_ballots(self, call: Call, survey_id: int, counts: dict) -> dict:
        survey = self._survey(call, survey_id, lock=True)
        domain.accept_ballots(survey)
        store.add_ballots(call.tx, survey_id, counts)
        call.tx.audit("survey", survey_id, {"ballots": counts})
        return store.get_survey(call.tx, survey_id)

    @operation
    def record_ballot(self, call: Call, params: typed.RecordBallotParams):
        return self._add_ballots(call, params["survey_id"], {params["answer"]: 1})

    @operation
    def record_counts(self, call: Call, params: typed.RecordCountsParams):
        return self._add_ballots(call, params["survey_id"], params["counts"])

    @operation
    def close_survey(self, call: Call, params: typed.CloseSurveyParams):
        survey = self._survey(call, params["survey_id"], lock=True)
        self._require_superior_of(call, survey["organization_id"])  # §3.7: the superior's survey
        result = domain.close(survey, self.rules)
        store.close_survey(call.tx, survey["id"], result)
        call.tx.audit("survey", survey["id"], {"closed": {
            "rate": result.rate, "passed": result.passed, "rule": result.rule}})
        call.tx.emit(domain.survey_closed(survey, result))
        return store.get_survey(call.tx, survey["id"])

    # -- acceptance and stars -------------------------------------------------------------
    def _acceptance(self, call: Call, acceptance_id: int, *, lock: bool = False) -> dict:
        acceptance = store.get_acceptance(call.tx, acceptance_id, lock=lock)
        self._require_visible_through(call, acceptance["organization_id"],
                                      store.acceptance_absent(acceptance_id))
        acceptance["allowed_stars"] = domain.allowed_stars(acceptance["grade"], self.rules)
        return acceptance

    @operation
    def open_acceptance(self, call: Call, params: typed.OpenAcceptanceParams):
        org = self._organization(call, params["organization_id"])
        grade = domain.grade_to_accept(org)
        acceptance_id = store.insert_acceptance(call.tx, org["id"], grade)
        call.tx.audit("acceptance", acceptance_id, {"opened": {"grade": grade}})
        return self._acceptance(call, acceptance_id)

    @operation
    def gradings_of(self, call: Call, params: typed.GradingsOfParams):
        self._organization(call, params["organization_id"])  # within reach, or NotFound
        return {"items": store.gradings_of(call.tx, params["organization_id"])}

    @operation
    def acceptances_of(self, call: Call, params: typed.AcceptancesOfParams):
        self._organization(call, params["organization_id"])
        items = store.acceptances_of(call.tx, params["organization_id"])
        for item in items:
            item["allowed_stars"] = domain.allowed_stars(item["grade"], self.rules)
        return {"items": items}

    @operation
    def suggest_stars(self, call: Call, params: typed.SuggestStarsParams):
        acceptance = self._acceptance(call, params["acceptance_id"])
        return {"acceptance_id": acceptance["id"], "grade": acceptance["grade"],
                "allowed_stars": acceptance["allowed_stars"], "score": params["score"],
                "suggested_stars": domain.suggest_stars(acceptance["grade"], params["score"],
                                                        self.rules),
                "rule": self.rules.as_report("star_ranges", "star_thresholds")}

    @operation
    def rate_stars(self, call: Call, params: typed.RateStarsParams):
        acceptance = self._acceptance(call, params["acceptance_id"], lock=True)
        self._require_superior_of(call, acceptance["organization_id"])
        suggested = domain.rate_stars(acceptance, params["stars"], params["score"], self.rules)
        store.rate(call.tx, acceptance["id"], {
            "score": params["score"], "suggested_stars": suggested, "stars": params["stars"],
            "reason": params["reason"], "rated_by": call.principal.subject,
            "rules": self.rules.as_report("star_ranges", "star_thresholds")})
        store.record_stars(call.tx, acceptance["organization_id"], params["stars"],
                           acceptance["grade"])
        call.tx.audit("acceptance", acceptance["id"], {"stars": params["stars"],
                                                       "suggested": suggested,
                                                       "reason": params["reason"]})
        call.tx.emit(domain.star_rated(acceptance, params["stars"], suggested, params["reason"]))
        return self._acceptance(call, acceptance["id"])

    # -- the moving-up report ----------------------------------------------------------------
    @operation
    def moving_up_report(self, call: Call, params: typed.MovingUpReportParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        counts = store.moving_up_counts(call.tx, place_code)
        children, total = domain.tally_moving_up(counts)
        current_children, current_total = domain.tally_current_grades(counts)
        for child in places.children(call.tx, place_code):
            children.setdefault(child, {})  # none graded there yet: a row of zeros
        names = places.names(call.tx, [place_code, *children])

        def place_row(code, by_grade, current):
            return {"place_code": code, "place_name": names.get(code),
                    "graded": sum(n for n, _ in by_grade.values()),
                    "rows": domain.moving_up_rows(by_grade, self.rules),
                    "current": domain.current_grade_rows(current)}

        return {"place_code": place_code, "place_name": names.get(place_code),
                "as_of": dt.date.today(),
                "rules": self.rules.as_report("moving_up_targets"),
                "total": place_row(place_code, total, current_total),
                "by_child_place": [place_row(code, children[code],
                                             current_children.get(code, {}))
                                   for code in sorted(children)]}

    @operation
    def moving_up_organizations(self, call: Call, params: typed.MovingUpOrganizationsParams):
        call.principal.require_place(params["place_code"])
        rows, cursor = store.moving_up_page(call.tx, params["place_code"],
                                            params["baseline_grade"], params["moved_up"],
                                            limit=params["limit"], after=params["after"])
        return {"items": rows, "next_cursor": encode_cursor(cursor) if cursor else None}

    # -- joint reviews and township reports ------------------------------------------------------
    @operation
    def record_joint_review(self, call: Call, params: typed.RecordJointReviewParams):
        call.principal.require_place(params["place_code"])
        level = domain.joint_review_level(regions.level_of(params["place_code"]))
        review = store.insert_joint_review(call.tx, {**params, "level": level})
        call.tx.audit("joint_review", review["id"], {"recorded": {
            "place_code": review["place_code"], "year": review["year"],
            "exam_result": review["exam_result"]}})
        review["place_name"] = places.name(call.tx, review["place_code"])
        return review

    @operation
    def joint_reviews(self, call: Call, params: typed.JointReviewsParams):
        call.principal.require_place(params["place_code"])
        return {"items": store.joint_reviews(call.tx, params["place_code"], params["year"],
                                             params["level"])}

    @operation
    def record_township_report(self, call: Call, params: typed.RecordTownshipReportParams):
        call.principal.require_place(params["place_code"])
        domain.require_township(regions.level_of(params["place_code"]))
        domain.check_report_period(params["period"], dt.date.today())
        report = store.save_township_report(call.tx, params)
        call.tx.audit("township_report", f"{report['place_code']}/{report['period']}",
                      {"submitted_on": report["submitted_on"]})
        report["place_name"] = places.name(call.tx, report["place_code"])
        return report

    @operation
    def township_reports(self, call: Call, params: typed.TownshipReportsParams):
        call.principal.require_place(params["place_code"])
        items = store.township_reports(call.tx, params["place_code"], params["period"])
        return {"place_code": params["place_code"], "period": params["period"],
                "townships": len(items),
                "reported": sum(1 for item in items if item["submitted_on"] is not None),
                "items": items}

    # -- events from the organizations service -------------------------------------------

    @handles("organizations", "rectification_submitted")
    def on_rectification_submitted(self, tx, event):
        """A case's round is done: its satisfaction survey opens (§3.7)."""
        data = event["data"]
        org = store.organization(tx, data["organization_id"])
        survey_id = store.insert_case_survey(tx, {
            "kind": "rectification", "organization_id": org["id"], "case_id": data["case_id"],
            "case_round": data["round"], "title": domain.case_survey_title(org["name"],
                                                                           data["round"])})
        if survey_id:
            tx.audit("survey", survey_id, {"opened": {"case_id": data["case_id"],
                                                          "round": data["round"]}})

    @handles("organizations", "rectification_accepted")
    def on_rectification_accepted(self, tx, event):
        """An accepted case awaits its stars, in the range of the organization's grade."""
        data = event["data"]
        org = store.organization(tx, data["organization_id"])
        grade = org["current_grade"] or data["grade"]
        acceptance_id = store.insert_case_acceptance(tx, org["id"], data["case_id"], grade)
        if acceptance_id:
            tx.audit("acceptance", acceptance_id, {"opened": {"case_id": data["case_id"],
                                                              "grade": grade}})



# What start_import takes, by kind: rows of set_grade's params, an organization once per
# round in a file.
IMPORTERS: dict[str, Importer] = {
    "gradings": Importer.single(contract.SERVICE, "set_grade", EvaluationService._set_grade,
                                apply_many=EvaluationService._set_grades,
                                key=lambda row: (row["round_id"], row["organization_id"]),
                                key_field="organization_id"),
}

SERVICE = EvaluationService
