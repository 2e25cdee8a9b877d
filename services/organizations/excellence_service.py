"""Creating excellence and publicity entrypoints of the organizations service (contract:
shared/contracts/excellence.py), mixed into OrganizationsService: one-sentence
commitments, shining words and deeds, organizational systems, service-oriented creation
(announced to evaluation, which surveys satisfaction with it), publicity."""

from __future__ import annotations

from services.organizations import excellence, reach_service, store
from services.organizations import excellence_store as records
from services.organizations.domain import Organization, Rules
from shared.contracts.excellence import SERVICE
from shared.contracts.typed import organizations as typed
from shared.platform import entrypoints
from shared.platform.entrypoints import Call

operation = entrypoints.operations(SERVICE)


class ExcellenceEntrypoints:
    """Methods of OrganizationsService. Needs from its host only its nameko dependencies:
    `db` and `caller` (for @operation) and `rules` (domain.Rules)."""

    rules: Rules  # what the host's RuleSet dependency gives a worker

    def _active_in_reach(self, call: Call, organization_id: int) -> Organization:
        org = reach_service.organization(call, organization_id)
        excellence.require_active(org)
        return org

    def _place_in_reach(self, call: Call, place_code: str) -> dict:
        call.principal.require_place(place_code)
        return reach_service.known_place(call.tx, place_code)

    def _by_child(self, call: Call, place_code: str, rows: list[dict]) -> tuple[dict, list[dict]]:
        names = store.place_names(call.tx, [place_code, *(r["place_code"] for r in rows)])
        for row in rows:
            row["place_name"] = names.get(row["place_code"])
        return {"place_code": place_code, "place_name": names.get(place_code)}, rows

    # -- one-sentence commitments --------------------------------------------------------
    @operation
    def make_commitment(self, call: Call, params: typed.MakeCommitmentParams):
        org = self._active_in_reach(call, params["organization_id"])
        excellence.check_one_sentence(params["sentence"])
        commitment_id = records.insert_commitment(call.tx, params)
        call.tx.audit("organization", org.id, {"commitment": {
            k: params[k] for k in ("committer", "member_name", "sentence", "year")}})
        return records.commitment(call.tx, commitment_id)

    @operation
    def check_commitment(self, call: Call, params: typed.CheckCommitmentParams):
        commitment = records.commitment(call.tx, params["commitment_id"], lock=True)
        call.principal.require_visible(commitment["place_code"],
                                       records.missing_commitment(params["commitment_id"]))
        excellence.not_before(params["checked_on"], commitment["made_on"], "checked_on",
                              "it was made")
        records.check_commitment(call.tx, commitment["id"], params)
        call.tx.audit("commitment", commitment["id"], {"checked": {
            k: params[k] for k in ("checked_on", "result", "note")}})
        return records.commitment(call.tx, commitment["id"])

    @operation
    def commitments_of(self, call: Call, params: typed.CommitmentsOfParams):
        org = reach_service.organization(call, params["organization_id"])
        return {"items": records.commitments_of(call.tx, org.stored_id, params["year"])}

    @operation
    def commitment_report(self, call: Call, params: typed.CommitmentReportParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        with call.tx.snapshot():
            rows = records.commitment_counts(call.tx, place_code, params["year"])
            total, rows = self._by_child(call, place_code, rows)
        for name in ("organizations", "committed", "member_commitments", "checked",
                     "fulfilled"):
            total[name] = sum(r[name] for r in rows)
        for row in [*rows, total]:
            row["commitment_rate"] = excellence.rate(row["committed"], row["organizations"])
        return {"place_code": place_code, "year": params["year"], "total": total,
                "by_child_place": rows}

    # -- shining words and deeds -----------------------------------------------------------
    def _deed(self, call: Call, deed_id: int, *, lock: bool = False) -> dict:
        deed = records.deed(call.tx, deed_id, lock=lock)
        call.principal.require_visible(deed["place_code"], records.missing_deed(deed_id))
        return deed

    @operation
    def submit_deed(self, call: Call, params: typed.SubmitDeedParams):
        org = self._active_in_reach(call, params["organization_id"])
        deed_id = records.insert_deed(call.tx, params)
        call.tx.audit("organization", org.id, {"deed": {
            k: params[k] for k in ("member_name", "title", "happened_on")}})
        return records.deed(call.tx, deed_id)

    @operation
    def display_deed(self, call: Call, params: typed.DisplayDeedParams):
        deed = self._deed(call, params["deed_id"], lock=True)
        excellence.check_display(deed, params["displayed_on"])
        records.display_deed(call.tx, deed["id"], params)
        call.tx.audit("deed", deed["id"], {"displayed": {"on": params["displayed_on"],
                                                         "where": params["where"]}})
        return records.deed(call.tx, deed["id"])

    @operation
    def rate_deed(self, call: Call, params: typed.RateDeedParams):
        deed = self._deed(call, params["deed_id"], lock=True)
        excellence.check_rating(deed, params["rated_on"])
        records.rate_deed(call.tx, deed["id"], params)
        call.tx.audit("deed", deed["id"], {"rated": {
            k: params[k] for k in ("rating", "rated_on", "rated_by")}})
        return records.deed(call.tx, deed["id"])

    @operation
    def deeds(self, call: Call, params: typed.DeedsParams):
        call.principal.require_place(params["place_code"])
        with call.tx.snapshot():
            items, by_rating = records.deeds(call.tx, params["place_code"], params["year"],
                                             params["status"], params["limit"])
        return {"items": items, "by_rating": by_rating}

    # -- organizational systems --------------------------------------------------------------
    @operation
    def record_system(self, call: Call, params: typed.RecordSystemParams):
        org = self._active_in_reach(call, params["organization_id"])
        excellence.not_before(params["established_on"], org.founded_on, "established_on",
                              "the organization was founded")
        system_id = records.insert_system(call.tx, params)
        call.tx.audit("organization", org.id, {"system": {
            k: params[k] for k in ("name", "category", "established_on")}})
        return records.systems_of(call.tx, org.stored_id, system_id)[0]

    @operation
    def systems_of(self, call: Call, params: typed.SystemsOfParams):
        org = reach_service.organization(call, params["organization_id"])
        return {"organization_id": org.id, "items": records.systems_of(call.tx, org.stored_id)}

    @operation
    def systems_report(self, call: Call, params: typed.SystemsReportParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        kinds, minimum = list(self.rules.system_branch_kinds), self.rules.systems_per_branch
        with call.tx.snapshot():
            rows, without = records.systems_counts(call.tx, place_code, kinds, minimum)
            total, rows = self._by_child(call, place_code, rows)
        for name in ("branches", "with_systems", "without", "systems"):
            total[name] = sum(r[name] for r in rows)
        return {"place_code": place_code,
                "rules": self.rules.as_report("systems_per_branch", "system_branch_kinds"),
                "total": total, "by_child_place": rows, "without": without}

    # -- service-oriented creation -----------------------------------------------------------
    @operation
    def enter_service_creation(self, call: Call, params: typed.EnterServiceCreationParams):
        org = self._active_in_reach(call, params["organization_id"])
        excellence.check_creation_year(params["year"], params["entered_on"])
        creation_id = records.insert_creation(call.tx, params)
        call.tx.audit("organization", org.id, {"service_creation": {
            k: params[k] for k in ("year", "focus", "entered_on")}})
        call.tx.emit(excellence.service_creation_entered(creation_id, org.stored_id,
                                                         params["year"], params["focus"]))
        return records.creation(call.tx, creation_id)

    @operation
    def recognize_service_organization(self, call: Call,
                                       params: typed.RecognizeServiceOrganizationParams):
        creation = records.creation(call.tx, params["creation_id"], lock=True)
        call.principal.require_visible(creation["place_code"],
                                       records.missing_creation(params["creation_id"]))
        call.principal.require_superior(creation["place_code"])  # named by the superior
        excellence.check_recognition(creation, params["recognized_on"])
        records.recognize(call.tx, creation["id"], params["recognized_on"])
        call.tx.audit("service_creation", creation["id"], {
            "recognized_on": params["recognized_on"]})
        return records.creation(call.tx, creation["id"])

    @operation
    def service_creation_report(self, call: Call, params: typed.ServiceCreationReportParams):
        call.principal.require_place(params["place_code"])
        rows = records.creation_counts(call.tx, params["place_code"], params["year"])
        total = {name: sum(r[name] for r in rows) for name in (
            "organizations", "entered", "recognized", "window_units", "service_industries")}
        return {"place_code": params["place_code"], "year": params["year"], "total": total,
                "by_sector": rows}

    # -- publicity ------------------------------------------------------------------------------
    def _publicity(self, call: Call, what: str, record_id: int, place: dict, details: dict) -> dict:
        call.tx.audit("place", place["code"], {what: details})
        return {"id": record_id, "place_code": place["code"], "place_name": place["name"],
                "what": what, "details": details}

    @operation
    def issue_publicity_cards(self, call: Call, params: typed.IssuePublicityCardsParams):
        place = self._place_in_reach(call, params["place_code"])
        record_id = records.insert_cards(call.tx, params)
        return self._publicity(call, "cards", record_id, place, {
            k: params[k] for k in ("year", "cards", "issued_on")})

    @operation
    def hold_publicity_campaign(self, call: Call, params: typed.HoldPublicityCampaignParams):
        place = self._place_in_reach(call, params["place_code"])
        record_id = records.insert_campaign(call.tx, params)
        return self._publicity(call, "campaign", record_id, place, {
            k: params[k] for k in ("kind", "title", "held_on", "participants")})

    @operation
    def record_awareness_survey(self, call: Call, params: typed.RecordAwarenessSurveyParams):
        place = self._place_in_reach(call, params["place_code"])
        excellence.check_survey_year(params["year"], params["surveyed_on"])
        record_id = records.insert_awareness(call.tx, params)
        return self._publicity(call, "awareness", record_id, place, {
            k: params[k] for k in ("year", "surveyed_on", "surveyed", "aware", "participating")})

    @operation
    def publicity_report(self, call: Call, params: typed.PublicityReportParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        with call.tx.snapshot():
            counts = records.publicity_counts(call.tx, place_code, params["year"])
            rows = sorted(excellence.publicity_rows(counts).values(),
                          key=lambda r: r["place_code"])
            head, rows = self._by_child(call, place_code, rows)
        total = excellence.total_of(rows, place_code)
        return {"place_code": place_code, "year": params["year"],
                "total": {**total, **head},
                "by_child_place": [excellence.with_rates(r) for r in rows]}
