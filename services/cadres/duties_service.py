"""What is asked of cadres in post, mixed into the cadres service: secretaries' rotational
training and forums, commitments, 双述双评, and problems of not being at post, not
performing, not acting (contract: shared/contracts/cadre_duties.py; domain.md §1)."""

from __future__ import annotations

from services.cadres import duties, reach_service
from services.cadres import duties_store as store
from shared.contracts.cadres import SERVICE
from shared.contracts.typed import cadres as typed
from shared.domain.shares import share
from shared.platform import entrypoints
from shared.platform import place_copies as places
from shared.platform.entrypoints import Call
from shared.platform.owner_lookup import Lookup

operation = entrypoints.operations(SERVICE)


class CadreDuties:
    """Entrypoints of CadresService (rules: duties.py). Of its host they need the nameko
    dependencies only: `db` and `caller` (for @operation) and `owner` (for a place
    imported a moment ago)."""

    owner: Lookup  # what the host's OwnerLookup dependency gives a worker

    # -- training classes and forums ------------------------------------------------------
    # A record named by its id and outside the caller's jurisdiction is the store's own
    # NotFound (require_visible): whether it exists elsewhere is not the caller's to learn.
    def _class(self, call: Call, class_id: int, *, lock: bool = False) -> dict:
        row = store.training_class(call.tx, class_id, lock=lock)
        call.principal.require_visible(row["place_code"], store.class_absent(class_id))
        return row

    @operation
    def create_class(self, call: Call, params: typed.CreateClassParams):
        call.principal.require_place(params["place_code"])
        reach_service.place_known(call, self.owner, params["place_code"])
        class_id = store.insert_class(call.tx, params)
        call.tx.audit("class", class_id, {"created": {
            k: params[k] for k in ("place_code", "kind", "title", "starts_on", "ends_on")}})
        return store.training_class(call.tx, class_id)

    @operation
    def record_attendance(self, call: Call, params: typed.RecordAttendanceParams):
        held = self._class(call, params["class_id"], lock=True)
        person = reach_service.person(call, params["person_id"])
        duties.check_attendance(person, held["place_code"], params["attended"],
                                params["absence_reason"])
        store.record_attendance(call.tx, held["id"], params)
        call.tx.audit("class", held["id"], {"attendance": {
            k: params[k] for k in ("person_id", "attended", "absence_reason")}})
        return store.training_class(call.tx, held["id"])

    @operation
    def get_class(self, call: Call, params: typed.GetClassParams):
        return self._class(call, params["class_id"])

    @operation
    def training_report(self, call: Call, params: typed.TrainingReportParams):
        call.principal.require_place(params["place_code"])
        with call.tx.snapshot():
            figures = store.training_figures(call.tx, params["place_code"], params["year"])
        secretaries = figures.pop("secretaries")
        trained = sum(1 for s in secretaries if s["trained"])
        return {**figures, "place_code": params["place_code"], "year": params["year"],
                "secretaries": len(secretaries), "secretaries_trained": trained,
                "training_rate": share(trained, len(secretaries)),
                "untrained": [s for s in secretaries if not s["trained"]][:store.REPORT_LISTED]}

    # -- commitments ----------------------------------------------------------------------
    @operation
    def record_commitment(self, call: Call, params: typed.RecordCommitmentParams):
        reach_service.person(call, params["person_id"])
        commitment_id = store.insert_commitment(call.tx, params)
        call.tx.audit("commitment", commitment_id, {"signed": {
            k: params[k] for k in ("person_id", "kind", "signed_on")}})
        return store.commitment(call.tx, commitment_id)

    @operation
    def settle_commitment(self, call: Call, params: typed.SettleCommitmentParams):
        commitment = store.commitment(call.tx, params["commitment_id"], lock=True)
        # Its person's place is the commitment's: outside, the commitment is not found.
        call.principal.require_visible(commitment["place_code"],
                                       store.commitment_absent(params["commitment_id"]))
        duties.check_settling(commitment, params["settled_on"])
        store.settle_commitment(call.tx, commitment["id"], params)
        call.tx.audit("commitment", commitment["id"], {"settled": {
            k: params[k] for k in ("status", "settled_on", "note")}})
        return store.commitment(call.tx, commitment["id"])

    # -- 双述双评 --------------------------------------------------------------------------
    @operation
    def record_dual_review(self, call: Call, params: typed.RecordDualReviewParams):
        person = reach_service.person(call, params["person_id"])
        duties.check_dual_review(person, params["year"], params["held_on"])
        review_id = store.insert_dual_review(call.tx, params)
        call.tx.audit("dual_review", review_id, {"recorded": {
            k: params[k] for k in ("person_id", "year", "rating")}})
        return store.dual_review(call.tx, review_id)

    # -- problems ---------------------------------------------------------------------------
    @operation
    def record_problem(self, call: Call, params: typed.RecordProblemParams):
        reach_service.person(call, params["person_id"])
        problem_id = store.insert_problem(call.tx, params)
        call.tx.audit("problem", problem_id, {"found": {
            k: params[k] for k in ("person_id", "kind", "found_on")}})
        return store.problem(call.tx, problem_id)

    @operation
    def follow_up_problem(self, call: Call, params: typed.FollowUpProblemParams):
        problem = store.problem(call.tx, params["problem_id"], lock=True)
        call.principal.require_visible(problem["place_code"],
                                       store.problem_absent(params["problem_id"]))
        duties.check_follow_up(problem, params["taken_on"])
        store.follow_up(call.tx, problem["id"], params)
        call.tx.audit("problem", problem["id"], {"follow_up": {
            k: params[k] for k in ("action", "taken_on", "closes")}})
        return store.problem(call.tx, problem["id"])

    @operation
    def problems_report(self, call: Call, params: typed.ProblemsReportParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        with call.tx.snapshot():
            rows = store.problem_counts(call.tx, place_code)
            listed = store.open_problems(call.tx, place_code)
            names = places.names(call.tx, [place_code, *(r["place_code"] for r in rows)])
        measures = ("open", "closed", "not_at_post", "not_performing", "not_acting")
        total = {m: sum(r[m] for r in rows) for m in measures}
        return {"place_code": place_code,
                "total": {"place_code": place_code, "place_name": names.get(place_code), **total},
                "by_child_place": [{**r, "place_name": names.get(r["place_code"])} for r in rows],
                "open_problems": listed}

    @operation
    def person_duties(self, call: Call, params: typed.PersonDutiesParams):
        person = reach_service.person(call, params["person_id"])
        with call.tx.snapshot():
            return {"person_id": person["id"],
                    "classes": store.person_classes(call.tx, person["id"]),
                    "commitments": store.person_commitments(call.tx, person["id"]),
                    "dual_reviews": store.person_dual_reviews(call.tx, person["id"]),
                    "problems": store.person_problems(call.tx, person["id"])}

