"""What is asked of cadres in post, mixed into the cadres service: secretaries' rotational
training and forums, commitments, 双述双评, and problems of not being at post, not
performing, not acting (contract: shared/contracts/cadre_duties.py; domain.md §1)."""

from __future__ import annotations

from services.cadres import duties_store as store
from shared.contracts.cadres import SERVICE
from shared.domain.shares import share
from shared.errors import Conflict, ValidationError
from shared.national import places, regions
from shared.platform import entrypoints

operation = entrypoints.operations(SERVICE)


class CadreDuties:
    """Methods of CadresService (which provides db, caller, _person and _place_known)."""

    # -- training classes and forums ------------------------------------------------------
    # A record named by its id and outside the caller's jurisdiction is the store's own
    # NotFound (require_visible): whether it exists elsewhere is not the caller's to learn.
    def _class(self, call, class_id: int, *, lock: bool = False) -> dict:
        row = store.training_class(call.tx, class_id, lock=lock)
        call.principal.require_visible(row["place_code"], store.class_absent(class_id))
        return row

    @operation
    def create_class(self, call, params):
        call.principal.require_place(params["place_code"])
        self._place_known(call, params["place_code"])
        class_id = store.insert_class(call.tx, params)
        call.tx.audit("class", class_id, {"created": {
            k: params[k] for k in ("place_code", "kind", "title", "starts_on", "ends_on")}})
        return store.training_class(call.tx, class_id)

    @operation
    def record_attendance(self, call, params):
        held = self._class(call, params["class_id"], lock=True)
        person = self._person(call, params["person_id"])
        if not regions.in_subtree(person["place_code"], held["place_code"]):
            # Its attendance list shows who came to whoever holds the class.
            raise ValidationError("not a cadre of the class's place", {"person_id": [
                f"person {person['id']} is managed outside {held['place_code']}"]})
        if not params["attended"] and not params["absence_reason"]:
            raise ValidationError("an absence gives its reason", {
                "absence_reason": ["required when attended is false (请假或缺席原因)"]})
        store.record_attendance(call.tx, held["id"], params)
        call.tx.audit("class", held["id"], {"attendance": {
            k: params[k] for k in ("person_id", "attended", "absence_reason")}})
        return store.training_class(call.tx, held["id"])

    @operation
    def get_class(self, call, params):
        return self._class(call, params["class_id"])

    @operation
    def training_report(self, call, params):
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
    def record_commitment(self, call, params):
        self._person(call, params["person_id"])
        commitment_id = store.insert_commitment(call.tx, params)
        call.tx.audit("commitment", commitment_id, {"signed": {
            k: params[k] for k in ("person_id", "kind", "signed_on")}})
        return store.commitment(call.tx, commitment_id)

    @operation
    def settle_commitment(self, call, params):
        commitment = store.commitment(call.tx, params["commitment_id"], lock=True)
        # Its person's place is the commitment's: outside, the commitment is not found.
        call.principal.require_visible(commitment["place_code"],
                                       store.commitment_absent(params["commitment_id"]))
        if commitment["status"] != "signed":
            raise Conflict(f"commitment {commitment['id']} was settled on "
                           f"{commitment['settled_on']} ({commitment['status']})", {})
        if params["settled_on"] < commitment["signed_on"]:
            raise ValidationError("settled before signed", {
                "settled_on": [f"before {commitment['signed_on']}"]})
        store.settle_commitment(call.tx, commitment["id"], params)
        call.tx.audit("commitment", commitment["id"], {"settled": {
            k: params[k] for k in ("status", "settled_on", "note")}})
        return store.commitment(call.tx, commitment["id"])

    # -- 双述双评 --------------------------------------------------------------------------
    @operation
    def record_dual_review(self, call, params):
        person = self._person(call, params["person_id"])
        if person["post_category"] != "village_party_secretary":
            raise ValidationError("双述双评 is held for village party secretaries", {
                "person_id": ["not a village party secretary (非村党组织书记)"]})
        if params["held_on"].year != params["year"]:
            raise ValidationError("held in another year", {
                "held_on": [f"not in {params['year']}"]})
        review_id = store.insert_dual_review(call.tx, params)
        call.tx.audit("dual_review", review_id, {"recorded": {
            k: params[k] for k in ("person_id", "year", "rating")}})
        return store.dual_review(call.tx, review_id)

    # -- problems ---------------------------------------------------------------------------
    @operation
    def record_problem(self, call, params):
        self._person(call, params["person_id"])
        problem_id = store.insert_problem(call.tx, params)
        call.tx.audit("problem", problem_id, {"found": {
            k: params[k] for k in ("person_id", "kind", "found_on")}})
        return store.problem(call.tx, problem_id)

    @operation
    def follow_up_problem(self, call, params):
        problem = store.problem(call.tx, params["problem_id"], lock=True)
        call.principal.require_visible(problem["place_code"],
                                       store.problem_absent(params["problem_id"]))
        if problem["status"] != "open":
            raise Conflict(f"problem {problem['id']} was closed on {problem['closed_on']}", {})
        if params["taken_on"] < problem["found_on"]:
            raise ValidationError("before the problem was found", {
                "taken_on": [f"before {problem['found_on']}"]})
        store.follow_up(call.tx, problem["id"], params)
        call.tx.audit("problem", problem["id"], {"follow_up": {
            k: params[k] for k in ("action", "taken_on", "closes")}})
        return store.problem(call.tx, problem["id"])

    @operation
    def problems_report(self, call, params):
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
    def person_duties(self, call, params):
        person = self._person(call, params["person_id"])
        with call.tx.snapshot():
            return {"person_id": person["id"],
                    "classes": store.person_classes(call.tx, person["id"]),
                    "commitments": store.person_commitments(call.tx, person["id"]),
                    "dual_reviews": store.person_dual_reviews(call.tx, person["id"]),
                    "problems": store.person_problems(call.tx, person["id"])}

