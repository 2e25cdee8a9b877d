"""The resources service: funding programs and where their money went, economically weak
villages, retired village cadres' subsidies, and activity venues
(contract: shared/contracts/resources.py; domain.md §7)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.resources import domain, store
from shared.contracts import resources as contract
from shared.contracts.common import encode_cursor
from shared.contracts.typed import resources as typed
from shared.platform import entrypoints
from shared.platform import place_copies as places
from shared.platform.auth import CallerIdentity
from shared.platform.db import Database
from shared.platform.entrypoints import Call
from shared.platform.monitoring import Monitoring
from shared.platform.outbox import OutboxRelay
from shared.platform.owner_lookup import OwnerLookup
from shared.platform.place_copies import PlaceDirectory
from shared.platform.rules import RuleSet

operation = entrypoints.operations(contract.SERVICE)
ZERO = Decimal("0.00")
BELOW_STANDARD_LISTED = 500  # venues below standard named in a report (the first, by place)


def _sum_rows(rows: list[dict], fields: tuple[str, ...]) -> dict:
    return {name: sum((row.get(name) or ZERO for row in rows), ZERO) for name in fields}


class ResourcesService(PlaceDirectory):
    name = contract.SERVICE

    db = Database()
    caller = CallerIdentity()
    rules = RuleSet(domain.Rules)
    relay = OutboxRelay()
    monitoring = Monitoring()
    owner = OwnerLookup()

    def _place_known(self, call: Call, code: str) -> None:
        domain.require_known_place(code, self.owner.place_names(call, [code]))

    # -- programs, budgets, allocations ---------------------------------------------------
    def _program(self, call: Call, program_id: int, *, lock: bool = False) -> dict:
        program = store.program(call.tx, program_id, lock=lock)
        call.principal.require_visible(program["place_code"], store.program_absent(program_id))
        return program

    @operation
    def create_program(self, call: Call, params: typed.CreateProgramParams):
        call.principal.require_place(params["place_code"])
        self._place_known(call, params["place_code"])
        program_id = store.insert_program(call.tx, params)
        call.tx.audit("program", program_id, {"created": {k: params[k] for k in
                                                          ("kind", "name", "place_code")}})
        return store.program(call.tx, program_id)

    @operation
    def set_budget(self, call: Call, params: typed.SetBudgetParams):
        program = self._program(call, params["program_id"], lock=True)
        _, allocated = store.budget_and_allocated(call.tx, program["id"], params["year"])
        domain.check_budget(params["amount"], allocated)
        store.set_budget(call.tx, program["id"], params["year"], params["amount"])
        call.tx.audit("program", program["id"], {"budget": {"year": params["year"],
                                                            "amount": params["amount"]}})
        return store.program(call.tx, program["id"])

    @operation
    def allocate(self, call: Call, params: typed.AllocateParams):
        # The place first: it may be asked of its owner (shared.platform.owner_lookup), which is
        # not done while the program's lock makes every other allocation of it wait.
        call.principal.require_place(params["place_code"])
        self._place_known(call, params["place_code"])
        # The program row is the lock: allocations of one program take turns, so two
        # at once cannot both fit in what is left of the budget.
        program = self._program(call, params["program_id"], lock=True)
        domain.check_allocated_within(params["place_code"], program["place_code"])
        budget, allocated = store.budget_and_allocated(call.tx, program["id"], params["year"])
        domain.check_allocation(budget, allocated, params["amount"])
        allocation_id = store.insert_allocation(call.tx, params)
        call.tx.audit("allocation", allocation_id, {"allocated": {
            k: params[k] for k in ("program_id", "year", "place_code", "amount", "purpose")}})
        return store.allocation(call.tx, allocation_id)

    def _allocation(self, call: Call, allocation_id: int, *, lock: bool = False,
                    program_too: bool = False) -> dict:
        allocation = store.allocation(call.tx, allocation_id, lock=lock)
        call.principal.require_visible(allocation["place_code"],
                                       store.allocation_absent(allocation_id))
        if program_too:
            # Paying out and recording what the money raised are the program's business,
            # as allocating is: the village's own principal sees its allocation but must
            # not pay a county program's money out to itself. Forbidden, not NotFound:
            # the allocation it sees names the program already.
            call.principal.require_place(allocation["program_place_code"])
        return allocation

    @operation
    def disburse(self, call: Call, params: typed.DisburseParams):
        # FOR UPDATE on the allocation: concurrent disbursements take turns, each sees
        # what the others paid, and none can overspend (the table's CHECK backs it).
        allocation = self._allocation(call, params["allocation_id"], lock=True, program_too=True)
        domain.check_paid_on(allocation["year"], params["paid_on"])
        domain.check_disbursement(allocation["amount"], allocation["disbursed"], params["amount"])
        store.disburse(call.tx, allocation["id"], params)
        call.tx.audit("allocation", allocation["id"], {"disbursed": {
            k: params[k] for k in ("amount", "paid_on", "document")}})
        return store.allocation(call.tx, allocation["id"])

    @operation
    def record_income(self, call: Call, params: typed.RecordIncomeParams):
        allocation = self._allocation(call, params["allocation_id"], lock=True, program_too=True)
        domain.check_income(allocation, params["year"], dt.date.today())
        store.record_income(call.tx, allocation["id"], params["year"], params["income"])
        call.tx.audit("allocation", allocation["id"], {"income": {"year": params["year"],
                                                                  "income": params["income"]}})
        return store.allocation(call.tx, allocation["id"])

    @operation
    def get_allocation(self, call: Call, params: typed.GetAllocationParams):
        return self._allocation(call, params["allocation_id"])

    @operation
    def funding_report(self, call: Call, params: typed.FundingReportParams):
        place_code, year = params["place_code"], params["year"]
        call.principal.require_place(place_code)
        with call.tx.snapshot():
            counts = store.funding_counts(call.tx, place_code, year, params["kind"])
            children = places.children(call.tx, place_code)
            codes = {row["place_code"] for rows in counts.values() for row in rows}
            names = places.names(call.tx, [place_code, *children, *codes])
        # Rows at the place itself (store.funding_counts gives them the place's own code:
        # a program the county runs, its budget) are its `own`, not a child's.
        rows: dict[str, dict] = {code: {"place_code": code}
                                 for code in [place_code, *children, *codes]}
        for row in counts["budgets"]:
            rows[row["place_code"]]["budget"] = row["budget"]
        for row in counts["money"]:
            rows[row["place_code"]].update(row)
        for row in counts["income"]:
            rows[row["place_code"]]["income"] = row["income"]
        fields = ("budget", "allocated", "disbursed", "income")

        def finish(row):
            sums = _sum_rows([row], fields)
            return {"place_code": row["place_code"], "place_name": names.get(row["place_code"]),
                    **sums, "undisbursed": sums["allocated"] - sums["disbursed"]}

        own = finish(rows.pop(place_code))
        by_child = [finish(rows[code]) for code in sorted(rows)]
        total = {"place_code": place_code, **_sum_rows([own, *by_child], fields)}
        return {"place_code": place_code, "year": year, "kind": params["kind"],
                "total": finish(total), "own": own, "by_child_place": by_child}

    @operation
    def undisbursed(self, call: Call, params: typed.UndisbursedParams):
        call.principal.require_place(params["place_code"])
        with call.tx.snapshot():  # the page and its payments as of one moment
            items, cursor = store.undisbursed(call.tx, params["place_code"], params["year"],
                                              limit=params["limit"], after=params["after"])
        return {"items": items, "next_cursor": encode_cursor(cursor) if cursor else None}

    # -- economically weak villages ---------------------------------------------------------
    @operation
    def record_village_income(self, call: Call, params: typed.RecordVillageIncomeParams):
        call.principal.require_place(params["place_code"])
        self._place_known(call, params["place_code"])
        domain.check_village(params["place_code"])
        store.record_village_income(call.tx, params["place_code"], params["year"],
                                    params["income"])
        call.tx.audit("place", params["place_code"], {"income": {"year": params["year"],
                                                                 "income": params["income"]}})
        return {"place_code": params["place_code"],
                "place_name": places.name(call.tx, params["place_code"]),
                "income": params["income"]}

    @operation
    def weak_villages(self, call: Call, params: typed.WeakVillagesParams):
        call.principal.require_place(params["place_code"])
        villages = store.village_incomes(call.tx, params["place_code"], params["year"])
        return {"place_code": params["place_code"], "year": params["year"],
                "rule": self.rules.as_report("weak_village_income_below"),
                "weak": [v for v in villages
                         if v["income"] is not None and domain.is_weak(v["income"], self.rules)],
                "without_figure": [v for v in villages if v["income"] is None]}

    # -- retired village cadres --------------------------------------------------------------
    def _cadre(self, call: Call, cadre_id: int, *, lock: bool = False) -> dict:
        cadre = store.cadre(call.tx, cadre_id, lock=lock)
        call.principal.require_visible(cadre["place_code"], store.cadre_absent(cadre_id))
        why = domain.pension_shortfalls(cadre["years_served"], cadre["birth_date"],
                                        dt.date.today(), self.rules)
        return {**cadre, "eligible": not why, "why_not": why}

    @operation
    def register_retired_cadre(self, call: Call, params: typed.RegisterRetiredCadreParams):
        call.principal.require_place(params["place_code"])
        self._place_known(call, params["place_code"])
        domain.check_cadre_place(params["place_code"])
        cadre_id = store.insert_cadre(call.tx, params)
        call.tx.audit("retired_cadre", cadre_id, {"registered": {
            k: params[k] for k in ("name", "place_code", "years_served")}})
        return self._cadre(call, cadre_id)

    @operation
    def pay_subsidy(self, call: Call, params: typed.PaySubsidyParams):
        cadre = self._cadre(call, params["cadre_id"], lock=True)
        domain.check_subsidy(cadre, params["period"], dt.date.today(), self.rules)
        store.pay(call.tx, cadre["id"], params)
        call.tx.audit("retired_cadre", cadre["id"], {"paid": {
            k: params[k] for k in ("period", "amount", "paid_on")}})
        return self._cadre(call, cadre["id"])

    @operation
    def get_retired_cadre(self, call: Call, params: typed.GetRetiredCadreParams):
        return self._cadre(call, params["cadre_id"])

    @operation
    def pension_report(self, call: Call, params: typed.PensionReportParams):
        place_code, year = params["place_code"], params["year"]
        call.principal.require_place(place_code)
        # The year as it ended (or stands, for this year): who had retired and was eligible.
        as_of = domain.pension_as_of(year, dt.date.today())
        with call.tx.snapshot():
            cadres = store.cadres_with_payments(call.tx, place_code, year, as_of)
            children = places.children(call.tx, place_code)
        rows: dict[str, dict] = {}
        for code in children:
            rows[code] = {"place_code": code, "cadres": 0, "eligible": 0, "paid_cadres": 0,
                          "paid": ZERO}
        for cadre in cadres:
            code = places.child_code(cadre["place_code"], place_code)
            row = rows.setdefault(code, {"place_code": code, "cadres": 0, "eligible": 0,
                                         "paid_cadres": 0, "paid": ZERO})
            eligible = not domain.pension_shortfalls(cadre["years_served"], cadre["birth_date"],
                                                     as_of, self.rules)
            row["cadres"] += 1
            row["eligible"] += eligible
            row["paid_cadres"] += bool(eligible and cadre["payments"])
            row["paid"] += cadre["paid"]
        names = places.names(call.tx, [place_code, *rows])
        by_child = [{**rows[c], "place_name": names.get(c)} for c in sorted(rows)]
        total = {"place_code": place_code, "place_name": names.get(place_code),
                 **{k: sum((r[k] for r in by_child), ZERO if k == "paid" else 0)
                    for k in ("cadres", "eligible", "paid_cadres", "paid")}}
        return {"place_code": place_code, "year": year,
                "rules": self.rules.as_report("pension_min_years_served", "pension_min_age"),
                "total": total, "by_child_place": by_child}

    # -- venues ----------------------------------------------------------------------------
    def _venue(self, call: Call, venue_id: int, *, lock: bool = False) -> dict:
        venue = store.venue(call.tx, venue_id, lock=lock)
        call.principal.require_visible(venue["place_code"], store.venue_absent(venue_id))
        venue["shortfalls"] = domain.venue_shortfalls(venue["place_code"], venue["area"],
                                                      venue["functions"], self.rules)
        venue["compliant"] = not venue["shortfalls"]  # by the rules in force, as reports count
        return venue

    @operation
    def register_venue(self, call: Call, params: typed.RegisterVenueParams):
        call.principal.require_place(params["place_code"])
        self._place_known(call, params["place_code"])
        domain.venue_place_check(params["place_code"], self.rules)
        functions = sorted(set(params["functions"]))
        venue_id = store.insert_venue(call.tx, {**params, "functions": functions})
        call.tx.audit("venue", venue_id, {"registered": {
            "place_code": params["place_code"], "area": params["area"], "functions": functions}})
        return self._venue(call, venue_id)

    @operation
    def get_venue(self, call: Call, params: typed.GetVenueParams):
        return self._venue(call, params["venue_id"])

    @operation
    def start_project(self, call: Call, params: typed.StartProjectParams):
        venue = self._venue(call, params["venue_id"], lock=True)
        store.insert_project(call.tx, venue["id"], {
            **params, "planned_functions": sorted(set(params["planned_functions"]))})
        call.tx.audit("venue", venue["id"], {"project_started": {
            "kind": params["kind"], "budget": params["budget"]}})
        return self._venue(call, venue["id"])

    def _project_venue(self, call: Call, project_id: int) -> tuple[dict, dict]:
        project = store.project(call.tx, project_id)
        # Named by the project's id: outside the jurisdiction it is no such project (its
        # venue's NotFound would tell that the project exists, and its venue).
        call.principal.require_visible(project["place_code"], store.project_absent(project_id))
        return project, self._venue(call, project["venue_id"], lock=True)

    @operation
    def complete_project(self, call: Call, params: typed.CompleteProjectParams):
        project, venue = self._project_venue(call, params["project_id"])
        domain.check_completion(project["started_on"], params["completed_on"])
        store.close_project(call.tx, project["id"], "completed",
                            completed_on=params["completed_on"])
        functions = sorted(set(params["functions"]))
        store.update_venue(call.tx, venue["id"], params["area"], functions)
        call.tx.audit("venue", venue["id"], {"project_completed": project["id"],
                                             "area": params["area"], "functions": functions})
        change = domain.compliance_change(venue, params["area"], functions, self.rules)
        if change is not None:
            call.tx.emit(change)
        return self._venue(call, venue["id"])

    @operation
    def cancel_project(self, call: Call, params: typed.CancelProjectParams):
        project, venue = self._project_venue(call, params["project_id"])
        store.close_project(call.tx, project["id"], "cancelled", reason=params["reason"])
        call.tx.audit("venue", venue["id"], {"project_cancelled": project["id"],
                                             "reason": params["reason"]})
        return self._venue(call, venue["id"])

    @operation
    def venue_report(self, call: Call, params: typed.VenueReportParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        standard = domain.venue_standard(self.rules)
        with call.tx.snapshot():
            counts = {row["place_code"]: row
                      for row in store.venue_counts(call.tx, place_code, standard)}
            for child in places.children(call.tx, place_code):
                counts.setdefault(child, {"place_code": child, "venues": 0, "compliant": 0,
                                          "below_standard": 0, "in_progress": 0})
            names = places.names(call.tx, [place_code, *counts])
            below = store.below_standard(call.tx, place_code, BELOW_STANDARD_LISTED, standard)
        for venue in below:
            venue["shortfalls"] = domain.venue_shortfalls(venue["place_code"], venue["area"],
                                                          venue["functions"], self.rules)
        by_child = [{**counts[c], "place_name": names.get(c),
                     "compliance_rate": domain.rate(counts[c]["compliant"], counts[c]["venues"])}
                    for c in sorted(counts)]
        total = {"place_code": place_code, "place_name": names.get(place_code),
                 **{k: sum(r[k] for r in by_child)
                    for k in ("venues", "compliant", "below_standard", "in_progress")}}
        total["compliance_rate"] = domain.rate(total["compliant"], total["venues"])
        return {"place_code": place_code,
                "rules": self.rules.as_report("venue_min_area", "venue_required_functions"),
                "total": total, "by_child_place": by_child, "below_standard": below}


SERVICE = ResourcesService
