"""The cadres service: people with their identity numbers sealed, reserve cadres per
village, the talent pool of college-graduate village officials and their placements
(contract: shared/contracts/cadres.py and cadre_duties.py; domain.md §1, §3.6, §5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.cadres import domain, reach_service, store
from services.cadres.duties_service import CadreDuties
from shared import contracts
from shared.contracts import cadres as contract
from shared.contracts.common import encode_cursor
from shared.contracts.typed import cadres as typed
from shared.domain.shares import share
from shared.errors import NotFound, ValidationError
from shared.national import identity_number
from shared.platform import entrypoints
from shared.platform import place_copies as places
from shared.platform.auth import CallerIdentity
from shared.platform.db import Database, Transaction
from shared.platform.entrypoints import Call
from shared.platform.events import handles
from shared.platform.imports import Importer, ImportJobs, import_operations, without
from shared.platform.monitoring import Monitoring
from shared.platform.outbox import OutboxRelay
from shared.platform.owner_lookup import OwnerLookup
from shared.platform.personal_data import PersonalData
from shared.platform.place_copies import OrganizationDirectory, PlaceDirectory
from shared.platform.rules import RuleSet

operation = entrypoints.operations(contract.SERVICE)
PERSONAL_DATA_ROLE = contract.PERSONAL_DATA
ID_PURPOSE = b"people.id_number"
REPORT_LISTED = 500
SHORTFALL_MEASURES = ("villages", "short", "within", "over", "reserves",
                      "college_graduate_officials", "missing")


class CadresService(PlaceDirectory, OrganizationDirectory, CadreDuties):
    name = contract.SERVICE

    db = Database()
    caller = CallerIdentity()
    rules = RuleSet(domain.Rules)
    relay = OutboxRelay()
    monitoring = Monitoring()
    personal_data = PersonalData()
    imports = ImportJobs()
    owner = OwnerLookup()

    # -- people --------------------------------------------------------------------------
    def _show(self, call: Call, row: dict) -> dict:
        """The person as this caller may see it: the identity number whole only in the
        answer to a query, and only for the personal-data role (a command's result is
        kept for replays, so it is always masked)."""
        whole = not call.tx.writes and PERSONAL_DATA_ROLE in call.principal.roles
        shown = {k: v for k, v in row.items() if not k.startswith("id_number")}
        shown["identity_number"] = (
            self.personal_data.open(row["id_number_sealed"], purpose=ID_PURPOSE) if whole
            else row["id_number_masked"])
        shown["identity_number_whole"] = whole
        return shown

    def _sealed(self, number: str) -> dict:
        return {"id_number_sealed": self.personal_data.seal(number, purpose=ID_PURPOSE),
                "id_number_index": self.personal_data.index(number),
                "id_number_masked": identity_number.mask(number)}

    def _on_the_ledger(self, call: Call, person_id: int) -> dict:
        """A person to recommend, select or place: visible, and not withdrawn (locked, so
        a withdrawal waits for the recommendation, or the recommendation sees it)."""
        person = reach_service.person(call, person_id, lock=True)
        domain.check_on_the_ledger(person)
        return person

    # An identity number is unique within a jurisdiction, not across the province: a
    # number held only outside the caller's jurisdiction is registered again, and the
    # answer is the one for a number held nowhere — whether a citizen is registered in
    # another county is not the caller's to learn. The common superior of the two places
    # sees the clash (identity_clashes) and has it resolved (docs/platform.md).
    def _holders_in_reach(self, call: Call, number: str, *, lock: bool) -> list[dict]:
        """The people on the ledger with this number that the caller sees; with lock, no
        one else checks or registers the number until this transaction ends."""
        if lock:
            store.lock_identity_number(call.tx, self.personal_data.index(number))
        return [p for p in store.holders(call.tx, self.personal_data.indexes(number))
                if call.principal.covers(p["place_code"])]

    @operation
    def register_person(self, call: Call, params: typed.RegisterPersonParams):
        return self._show(call, store.person(call.tx, self._register_person(call, params)))

    def _register_person(self, call: Call, params) -> int:
        """register_person's whole path (an import runs it for each new person): the id."""
        call.principal.require_place(params["place_code"])
        reach_service.place_known(call, self.owner, params["place_code"])
        number = params["identity_number"]
        values = {**params, **self._sealed(number),
                  "birth_date": params["birth_date"] or identity_number.birth_date(number)}
        domain.check_unregistered(self._holders_in_reach(call, number, lock=True))
        person_id = store.insert_person(call.tx, values)
        call.tx.audit("person", person_id, {"registered": _audited(values)})
        return person_id

    @operation
    def update_person(self, call: Call, params: typed.UpdatePersonParams):
        person = reach_service.person(call, params["person_id"], lock=True)
        read_version = params["version"]
        changes: dict[str, Any] = {k: v for k, v in params.items()
                                   if k not in ("person_id", "version")}
        if "place_code" in changes:
            call.principal.require_place(changes["place_code"])
            reach_service.place_known(call, self.owner, changes["place_code"])
        number = changes.pop("identity_number", None)
        if number is not None:
            domain.check_unregistered([p for p in self._holders_in_reach(call, number, lock=True)
                                       if p["id"] != person["id"]])
            changes.update(self._sealed(number))
        else:
            number = self.personal_data.open(person["id_number_sealed"], purpose=ID_PURPOSE)
        if "birth_date" in changes and changes["birth_date"] is None:
            changes["birth_date"] = identity_number.birth_date(number)
        domain.check_agrees(number, {**person, **changes})
        if changes:
            store.update_person(call.tx, person["id"], changes, read_version)
            call.tx.audit("person", person["id"], {"updated": _audited(changes)})
        return self._show(call, store.person(call.tx, person["id"]))

    @operation
    def get_person(self, call: Call, params: typed.GetPersonParams):
        return self._show(call, reach_service.person(call, params["person_id"]))

    @operation
    def find_person(self, call: Call, params: typed.FindPersonParams):
        # Outside the caller's jurisdiction it is not found either: whether a citizen is
        # registered somewhere is not the caller's to learn.
        holders = self._holders_in_reach(call, params["identity_number"], lock=False)
        if not holders:
            raise NotFound("no person with this identity number in your jurisdiction", {})
        domain.check_registered_once(holders)
        return self._show(call, store.person(call.tx, holders[0]["id"]))

    @operation
    def identity_clashes(self, call: Call, params: typed.IdentityClashesParams):
        call.principal.require_place(params["place_code"])
        after = params["after"][0] if params["after"] else None
        with call.tx.snapshot():
            groups, last = store.clashes(call.tx, params["place_code"],
                                         limit=params["limit"], after=after)
        return {"items": [{"identity_number": self._show(call, people[0])["identity_number"],
                           "people": [{k: p[k] for k in ("id", "name", "place_code",
                                                         "place_name")} for p in people]}
                          for people in groups],
                "next_cursor": encode_cursor([last.hex()]) if last else None}

    @operation
    def withdraw_person(self, call: Call, params: typed.WithdrawPersonParams):
        person = self._on_the_ledger(call, params["person_id"])
        domain.check_withdrawable(store.dependents(call.tx, person["id"]))
        store.withdraw_person(call.tx, person["id"], params["version"],
                              params["withdrawn_on"], params["reason"])
        call.tx.audit("person", person["id"], {"withdrawn": {
            "on": params["withdrawn_on"], "reason": params["reason"]}})
        return self._show(call, store.person(call.tx, person["id"]))

    @operation
    def list_people(self, call: Call, params: typed.ListPeopleParams):
        call.principal.require_place(params["place_code"])
        filters = {k: params[k] for k in ("college_graduate_official", "post_category")}
        rows, cursor = store.people_page(call.tx, params["place_code"], filters,
                                         limit=params["limit"], after=params["after"])
        return {"items": [self._show(call, r) for r in rows],
                "next_cursor": encode_cursor(cursor) if cursor else None}

    # -- reserve cadres ----------------------------------------------------------------------
    # Outside the caller's jurisdiction, a reserve is the store's own NotFound, as a person
    # is (reach_service.person): whether it exists elsewhere is not the caller's to learn.
    def _reserve(self, call: Call, reserve_id: int, *, lock: bool = False) -> dict:
        reserve = store.reserve(call.tx, reserve_id, lock=lock)
        call.principal.require_visible(reserve["place_code"], store.reserve_absent(reserve_id))
        return reserve

    def _reserve_view(self, call: Call, reserve: dict) -> dict:
        reserve["best_assessment"] = domain.best_assessment(
            [a["result"] for a in reserve["assessments"]])
        return reserve

    def _locked_for_change(self, call: Call, reserve_id: int) -> tuple[dict, dict]:
        """The village's quota row, then the reserve, both locked (always in this order,
        so two changes in one village wait instead of deadlocking)."""
        place_code = self._reserve(call, reserve_id)["place_code"]
        quota = self._lock_quota(call.tx, place_code)
        return quota, self._reserve(call, reserve_id, lock=True)

    def _lock_quota(self, tx: Transaction, place_code: str) -> dict:
        return store.lock_village_quota(tx, place_code, domain.quota_status(0, self.rules))

    def _recount(self, tx: Transaction, quota: dict) -> None:
        """After a village's reserves changed: reserve_shortfall_changed if its quota
        status did. (After a change of the quota rules, a village's first change reports
        its status under the new rules against the one stored under the old.)"""
        reserves = store.count_reserves(tx, quota["place_code"])
        status = domain.quota_status(reserves, self.rules)
        if status != quota["status"]:
            tx.emit(domain.reserve_shortfall_changed(quota["place_code"], reserves,
                                                     quota["status"], self.rules))
        store.save_village_quota(tx, quota["place_code"], reserves, status)

    def _use_reserves(self, tx: Transaction, placement: dict) -> None:
        """A person who enters a village's two committees is a reserve cadre of that
        village no more: used (已使用)."""
        if placement["kind"] not in contract.TWO_COMMITTEES:
            return
        quota = None
        if domain.keeps_reserves(placement["place_code"], self.rules):
            quota = self._lock_quota(tx, placement["place_code"])
        for used in store.open_reserves_of(tx, placement["person_id"], placement["place_code"]):
            store.set_reserve_status(tx, used["id"], "appointed", on=placement["placed_on"],
                                     reason=contract.PLACEMENT_KINDS[placement["kind"]])
        if quota is not None:
            self._recount(tx, quota)

    @operation
    def recommend_reserve(self, call: Call, params: typed.RecommendReserveParams):
        reserve_id = self._recommend_reserve(call, params)
        return self._reserve_view(call, store.reserve(call.tx, reserve_id))

    def _recommend_reserve(self, call: Call, params) -> int:
        """recommend_reserve's whole path (an import runs it for each row): the id."""
        self._on_the_ledger(call, params["person_id"])
        call.principal.require_place(params["place_code"])
        domain.check_reserve_place(params["place_code"], self.rules)
        reach_service.place_known(call, self.owner, params["place_code"])
        reserve_id = store.insert_reserve(call.tx, params)
        call.tx.audit("reserve", reserve_id, {"recommended": {
            k: params[k] for k in ("person_id", "place_code", "recommended_by", "method",
                                   "recommended_on")}})
        return reserve_id

    # -- bulk import (shared/platform/imports.py) -------------------------------------------------
    start_import, get_import = import_operations(operation, lambda: IMPORTERS)

    def _import_reserve_cadre(self, call: Call, row: dict) -> None:
        """A reserve cadre row: the person (one on the ledger in the caller's jurisdiction
        is reused, else registered: one elsewhere is not the caller's to know of), then
        the recommendation to the person's place."""
        person = row["person"]
        person_id = domain.holder_to_reuse(
            self._holders_in_reach(call, person["identity_number"], lock=True))
        if person_id is None:
            person_id = self._register_person(call, person)
        self._recommend_reserve(call, {**row["reserve"], "person_id": person_id,
                                       "place_code": person["place_code"]})

    @operation
    def assess_reserve(self, call: Call, params: typed.AssessReserveParams):
        reserve = self._reserve(call, params["reserve_id"], lock=True)
        domain.check_assessment(reserve, params["assessed_on"])
        store.insert_assessment(call.tx, reserve["id"], params)
        call.tx.audit("reserve", reserve["id"], {"assessed": {
            k: params[k] for k in ("assessed_on", "assessor", "result")}})
        return self._reserve_view(call, store.reserve(call.tx, reserve["id"]))

    @operation
    def confirm_reserve(self, call: Call, params: typed.ConfirmReserveParams):
        quota, reserve = self._locked_for_change(call, params["reserve_id"])
        domain.check_confirmation(reserve, reserve["assessments"], params["confirmed_on"],
                                  self.rules)
        store.set_reserve_status(call.tx, reserve["id"], "reserve", on=params["confirmed_on"])
        self._recount(call.tx, quota)
        call.tx.audit("reserve", reserve["id"], {"confirmed_on": params["confirmed_on"]})
        return self._reserve_view(call, store.reserve(call.tx, reserve["id"]))

    @operation
    def withdraw_reserve(self, call: Call, params: typed.WithdrawReserveParams):
        quota, reserve = self._locked_for_change(call, params["reserve_id"])
        domain.check_withdrawal(reserve, params["withdrawn_on"])
        store.set_reserve_status(call.tx, reserve["id"], "withdrawn", on=params["withdrawn_on"],
                                 reason=params["reason"])
        self._recount(call.tx, quota)
        call.tx.audit("reserve", reserve["id"], {"withdrawn": {
            "on": params["withdrawn_on"], "reason": params["reason"]}})
        return self._reserve_view(call, store.reserve(call.tx, reserve["id"]))

    @operation
    def get_reserve(self, call: Call, params: typed.GetReserveParams):
        return self._reserve_view(call, self._reserve(call, params["reserve_id"]))

    @operation
    def village_reserves(self, call: Call, params: typed.VillageReservesParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        domain.check_reserve_place(place_code, self.rules)
        with call.tx.snapshot():
            rows = [self._reserve_view(call, r)
                    for r in store.village_reserves(call.tx, place_code)]
            name = places.name(call.tx, place_code)
        confirmed = sum(1 for r in rows if r["status"] == "reserve")
        return {"place_code": place_code, "place_name": name, "rules": self.rules.as_report(),
                "reserves": confirmed,
                "quota_status": domain.quota_status(confirmed, self.rules),
                "items": sorted(rows, key=domain.recommendation_order)}

    @operation
    def reserve_shortfall(self, call: Call, params: typed.ReserveShortfallParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        with call.tx.snapshot():
            found = store.reserve_shortfall(
                call.tx, place_code, village_blocks=domain.reserve_village_blocks(self.rules),
                below=self.rules.reserve_min, above=self.rules.reserve_max, listed=REPORT_LISTED)
            names = places.names(call.tx, [place_code, *places.children(call.tx, place_code)])
        rows: dict[str, dict] = {}
        for group in found["groups"]:  # villages of one child place with as many reserves
            villages, reserves = group["villages"], group["reserves"]
            status = domain.quota_status(reserves, self.rules)
            for key in (group["child"], "total"):
                row = rows.setdefault(key, dict.fromkeys(SHORTFALL_MEASURES, 0))
                row["villages"] += villages
                row[status] += villages
                row["reserves"] += reserves * villages
                row["college_graduate_officials"] += group["cgo"]
                row["missing"] += max(0, self.rules.reserve_min - reserves) * villages
        listed = {side: [{**village, "quota_status": domain.quota_status(village["reserves"],
                                                                         self.rules)}
                         for village in found[side]] for side in ("short", "over")}
        total = rows.pop("total", None) or dict.fromkeys(SHORTFALL_MEASURES, 0)
        return {"place_code": place_code, "place_name": names.get(place_code),
                "rules": self.rules.as_report(),
                "total": {"place_code": place_code, "place_name": names.get(place_code), **total},
                "by_child_place": [{"place_code": code, "place_name": names.get(code), **row}
                                   for code, row in sorted(rows.items())],
                "short_villages": listed["short"], "over_villages": listed["over"]}

    @operation
    def reserve_roster(self, call: Call, params: typed.ReserveRosterParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        after_village, numbered = params["after"] or (None, 0)
        with call.tx.snapshot():
            rows, more = store.roster(call.tx, place_code, params["status"],
                                      limit=params["limit"], after_village=after_village)
            names = places.names(call.tx, [place_code, *{r["place_code"] for r in rows}])
        rows = sorted((self._reserve_view(call, r) for r in rows),
                      key=lambda r: (r["place_code"], domain.recommendation_order(r)))
        role = PERSONAL_DATA_ROLE in call.principal.roles
        today = dt.date.today()
        for row in rows:
            # Whole only where the caller could read the person itself: a reserve cadre
            # of a village here may be managed in a place the caller does not cover.
            whole = role and call.principal.covers(row["person_place_code"])
            row["identity_number"] = (
                self.personal_data.open(row["id_number_sealed"], purpose=ID_PURPOSE) if whole
                else row["id_number_masked"])
        return {"title": f"{names.get(place_code) or place_code}村级后备干部花名册",
                "place_code": place_code, "place_name": names.get(place_code),
                "columns": [{"key": k, "title": t} for k, t in domain.ROSTER_COLUMNS],
                "rows": [domain.roster_row(n, r, names.get(r["place_code"]), today)
                         for n, r in enumerate(rows, start=numbered + 1)],
                "next_cursor": encode_cursor([rows[-1]["place_code"], numbered + len(rows)])
                if more else None}

    # -- the talent pool and placements ------------------------------------------------------
    @operation
    def select_for_pool(self, call: Call, params: typed.SelectForPoolParams):
        person = self._on_the_ledger(call, params["person_id"])
        domain.check_pool_selection(person, params["assessment"], self.rules)
        member_id = store.insert_pool_member(call.tx, person["id"], params)
        call.tx.audit("pool_member", member_id, {"selected": {
            k: params[k] for k in ("person_id", "selected_on", "assessment", "recommended_by")}})
        return store.pool_member(call.tx, member_id)

    @operation
    def leave_pool(self, call: Call, params: typed.LeavePoolParams):
        member = store.pool_member(call.tx, params["member_id"], lock=True)
        call.principal.require_visible(member["place_code"],
                                       store.member_absent(params["member_id"]))
        domain.check_leaving(member, params["left_on"])
        store.leave_pool(call.tx, member["id"], params["left_on"], params["reason"])
        call.tx.audit("pool_member", member["id"], {"left": {"on": params["left_on"],
                                                             "reason": params["reason"]}})
        return store.pool_member(call.tx, member["id"])

    @operation
    def record_placement(self, call: Call, params: typed.RecordPlacementParams):
        person = self._on_the_ledger(call, params["person_id"])
        call.principal.require_place(params["place_code"])
        values = domain.placement(params)
        reach_service.place_known(call, self.owner, values["place_code"])
        if values["organization_id"] is not None:
            self._check_organization(call, values)
        if values["status"] == "recorded":  # a party post: once the registry has applied it
            self._use_reserves(call.tx, values)
        placement_id = store.insert_placement(call.tx, values)
        if values["status"] == "pending":
            call.tx.emit(domain.cadre_placed(placement_id, values, person))
        call.tx.audit("placement", placement_id, {"placed": {
            k: values[k] for k in ("person_id", "kind", "placed_on", "place_code",
                                   "organization_id", "post")}})
        return store.placement(call.tx, placement_id)

    def _check_organization(self, call: Call, values: dict) -> None:
        org = store.organization(call.tx, values["organization_id"])
        if org is None and self.owner.organization(call, values["organization_id"]):
            org = store.organization(call.tx, values["organization_id"])  # just registered
        unknown = domain.unknown_organization(values["organization_id"])
        if org is None:
            raise unknown
        # One outside the jurisdiction is unknown too, before its state or place is told.
        call.principal.require_visible(org["place_code"], unknown)
        domain.check_village_organization(org, values["place_code"])

    @operation
    def person_placements(self, call: Call, params: typed.PersonPlacementsParams):
        person = reach_service.person(call, params["person_id"])
        with call.tx.snapshot():
            return {"person_id": person["id"], "pool": store.person_pool(call.tx, person["id"]),
                    "placements": store.person_placements(call.tx, person["id"])}

    @operation
    def pool_report(self, call: Call, params: typed.PoolReportParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        with call.tx.snapshot():
            townships = store.townships_under(call.tx, place_code)
            memberships = store.memberships_under(call.tx, place_code)
            placed = store.placements_of(call.tx, list({m["person_id"] for m in memberships}),
                                         params["since"])
            name = places.name(call.tx, place_code)
        items = domain.pool_townships(townships, memberships, placed)
        in_pool = sum(1 for m in memberships if m["status"] == "in_pool")
        entered = sum(r["entered_two_committees"] for r in items)
        with_ = sum(1 for r in items if r["target_met"])
        return {"place_code": place_code, "place_name": name, "since": params["since"],
                "in_pool": in_pool, "entered_two_committees": entered,
                "two_committees_rate": share(entered, in_pool),
                "chief_posts": sum(r["chief_posts"] for r in items),
                "townships": len(items), "townships_with": with_,
                "townships_without": len(items) - with_, "items": items}

    # -- events from the organizations service --------------------------------------------
    @handles("organizations", "cadre_placement_applied")
    def on_cadre_placement_applied(self, tx: Transaction, event):
        placement = store.placement(tx, _ours(event["data"]["external_ref"]) or 0, lock=True)
        if placement is not None and placement["status"] == "pending":
            store.set_placement_outcome(tx, placement["id"], "applied",
                                        f"leader {event['data']['leader_id']}")
            self._use_reserves(tx, placement)

    @handles("organizations", "cadre_placement_refused")
    def on_cadre_placement_refused(self, tx: Transaction, event):
        placement_id = _ours(event["data"]["external_ref"])
        if placement_id is not None:
            store.set_placement_outcome(tx, placement_id, "refused", event["data"]["message"])
            tx.audit("placement", placement_id, {"refused": event["data"]["details"]})


def _audited(values: dict) -> dict:
    """What the audit trail keeps of a change: the masked identity number only."""
    return {k: v for k, v in values.items()
            if k not in ("identity_number", "id_number_sealed", "id_number_index", "request_id")}


def _ours(external_ref: str | None) -> int | None:
    """The placement id in a cadres reference ("cadres:42"), or None."""
    prefix, _, number = (external_ref or "").partition(":")
    return int(number) if prefix == "cadres" and number.isdigit() else None


# What start_import takes, by kind. A reserve cadre row is register_person's params with
# recommend_reserve's beside them; each part loads through its own operation's schema.
_PERSON = without(contracts.rpc_contract(contract.SERVICE, "register_person"), "request_id")
_RESERVE = without(contracts.rpc_contract(contract.SERVICE, "recommend_reserve"),
                   "request_id", "person_id", "place_code")


def _load_reserve_cadre(values: dict) -> dict:
    reserve = {k: v for k, v in values.items() if k in _RESERVE.params.fields}
    person = {k: v for k, v in values.items() if k not in reserve}  # and any unknown ones
    parts: dict[str, dict] = {}
    errors: dict[str, list[str]] = {}
    for part, contract_of, given in (("person", _PERSON, person), ("reserve", _RESERVE, reserve)):
        try:
            parts[part] = contracts.load_params(contract_of, given)
        except ValidationError as exc:  # both parts' messages at once
            errors.update(exc.details)
    if errors:
        raise ValidationError("invalid input to a reserve cadre row", errors)
    return parts


IMPORTERS: dict[str, Importer] = {
    "reserve_cadres": Importer(
        load=_load_reserve_cadre, apply=CadresService._import_reserve_cadre,
        fields=frozenset(_PERSON.params.fields) | frozenset(_RESERVE.params.fields),
        key=lambda row: row["person"]["identity_number"], key_field="identity_number"),
}

SERVICE = CadresService
