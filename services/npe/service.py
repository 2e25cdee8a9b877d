"""The npe service: non-public enterprises, their party coverage and the work around it
(contract: shared/contracts/npe.py; domain.md §6).

A party organization set up for enterprises is registered in the organizations
service by event (enterprise_org_established), so it exists once, in the registry; the
registry's organization_registered tells this service its id."""

from __future__ import annotations

import datetime as dt

from services.npe import domain, store
from shared.contracts import npe as contract
from shared.contracts.common import encode_cursor
from shared.contracts.typed import npe as typed
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
from shared.platform.place_copies import PlaceDirectory
from shared.platform.rules import RuleSet

operation = entrypoints.operations(contract.SERVICE)
NAMED_IN_REPORT = 200  # uncovered and due enterprises listed in the report itself


def _cursor(key):
    return encode_cursor(key) if key is not None else None


class NpeService(PlaceDirectory):
    name = contract.SERVICE

    db = Database()
    caller = CallerIdentity()
    rules = RuleSet(domain.Rules)
    relay = OutboxRelay()
    monitoring = Monitoring()
    imports = ImportJobs()
    owner = OwnerLookup()

    # -- enterprises -------------------------------------------------------------------
    def _view(self, enterprise: dict) -> dict:
        return {**enterprise, "due_own_organization": domain.due_own(enterprise, self.rules)}

    # A credit code is resolved among the records the caller sees (its jurisdiction): none
    # there is the store's own NotFound, word for word the answer for a code registered
    # nowhere (whether it exists elsewhere is not the caller's to learn); more than one is
    # a clash only a superior of both places sees, a Conflict naming them.
    def _visible(self, call: Call, credit_codes, *, lock: bool = False) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for row in store.visible(call.tx, credit_codes, call.principal.place_code, lock=lock):
            if call.principal.covers(row["place_code"]):
                found.setdefault(row["credit_code"], []).append(row)
        return found

    def _enterprise(self, call: Call, credit_code: str, *, lock: bool = False,
                    enterprise_id: int | None = None) -> dict:
        """The record the code names for the caller (`enterprise_id`: which one of a
        clash, from credit_code_clashes)."""
        records = self._visible(call, [credit_code], lock=lock).get(credit_code, [])
        if enterprise_id is not None:
            records = [r for r in records if r["id"] == enterprise_id]
        if not records:
            raise store.enterprise_absent(credit_code)
        if len(records) > 1:
            raise store.credit_code_clash({credit_code: records})
        return records[0]

    def _enterprises(self, call: Call, credit_codes: list[str], *,
                     lock: bool = False) -> list[dict]:
        """The record each code names; codes with none in the jurisdiction are named among
        the missing ones, exactly as codes registered nowhere are."""
        found = self._visible(call, credit_codes, lock=lock)
        missing = sorted(set(credit_codes) - set(found))
        if missing:
            raise store.enterprises_absent(missing)
        clashing = {code: rows for code, rows in found.items() if len(rows) > 1}
        if clashing:
            raise store.credit_code_clash(clashing, batch=True)
        return [rows[0] for _, rows in sorted(found.items())]

    def _establishment(self, call: Call, establishment_id: int, *, lock: bool = False) -> dict:
        establishment = store.get_establishment(call.tx, establishment_id, lock=lock)
        call.principal.require_visible(establishment["place_code"],
                                       store.establishment_absent(establishment_id))
        return establishment

    def _place_known(self, call: Call, code: str) -> None:
        domain.require_known_place(code, self.owner.place_names(call, [code]))

    @operation
    def register_enterprise(self, call: Call, params: typed.RegisterEnterpriseParams):
        enterprise_id = self._register_enterprise(call, params)
        return self._view(store.enterprise(call.tx, enterprise_id))

    def _register_enterprise(self, call: Call, params) -> int:
        """register_enterprise's whole path (an import row's, when rows come one by one)."""
        return self._register_enterprises(call, [params])[0]

    def _register_enterprises(self, call: Call, rows: list[dict]) -> list[int]:
        """Register these (an import's chunk: all or an error). A code is unique among the
        records the caller sees: one registered only outside its jurisdiction is
        registered again, in the caller's place, exactly as a code registered nowhere
        (the common superior sees the clash: credit_code_clashes)."""
        for row in rows:
            call.principal.require_place(row["place_code"])
        known = self.owner.place_names(call, {row["place_code"] for row in rows})
        domain.check_registrations(rows, known)
        codes = [row["credit_code"] for row in rows]
        store.lock_credit_codes(call.tx, codes)
        created = store.insert_enterprises(call.tx, rows, call.principal.place_code)
        if len(created) < len(rows):
            code = next(code for code in codes if code not in created)
            there = self._visible(call, [code])[code]
            raise store.registered_already(code, there[0]["place_code"])
        call.tx.audit_many("enterprise", ((row["credit_code"], {"registered": {
            "enterprise_id": created[row["credit_code"]],
            **{k: row[k] for k in ("name", "place_code", "full_members", "operating_status")}}})
            for row in rows))
        return [created[code] for code in codes]

    # -- bulk import (shared/platform/imports.py) -------------------------------------------------
    start_import, get_import = import_operations(operation, lambda: IMPORTERS)

    @operation
    def import_enterprises(self, call: Call, params: typed.ImportEnterprisesParams):
        rows = params["enterprises"]
        known = self.owner.place_names(call, {row["place_code"] for row in rows})
        for row in rows:
            call.principal.require_place(row["place_code"])
        domain.check_import(rows, known)
        codes = {row["credit_code"] for row in rows}
        # Each code is resolved among the records the caller sees, as the single calls do:
        # one there is updated (moved, too, within the jurisdiction); none there is a new
        # record, whether or not another place has one.
        store.lock_credit_codes(call.tx, codes)
        current = self._visible(call, codes, lock=True)
        clashing = {code: found for code, found in current.items() if len(found) > 1}
        if clashing:
            raise store.credit_code_clash(clashing, batch=True)
        known_ids = {code: found[0]["id"] for code, found in current.items()}
        store.overwrite_enterprises(call.tx, [{**row, "id": known_ids[row["credit_code"]]}
                                              for row in rows if row["credit_code"] in known_ids])
        created = store.insert_enterprises(
            call.tx, [row for row in rows if row["credit_code"] not in known_ids],
            call.principal.place_code)
        ids = {**known_ids, **created}
        call.tx.audit_many("enterprise", ((row["credit_code"], {
            "imported": True, "enterprise_id": ids[row["credit_code"]]}) for row in rows))
        return {"created": len(created), "updated": len(known_ids)}

    @operation
    def update_enterprise(self, call: Call, params: typed.UpdateEnterpriseParams):
        current = self._enterprise(call, params["credit_code"], lock=True)
        if "place_code" in params:
            call.principal.require_place(params["place_code"])
            self._place_known(call, params["place_code"])
        read_version = params["version"]
        changes = {k: v for k, v in params.items()
                   if k in store.ENTERPRISE_COLUMNS and k != "credit_code" and current[k] != v}
        if changes:
            store.save_enterprise(call.tx, current["id"], current["credit_code"], changes,
                                  read_version)
            call.tx.audit("enterprise", current["credit_code"], {
                "enterprise_id": current["id"],
                **{k: {"old": current[k], "new": v} for k, v in changes.items()}})
        return self._view(store.enterprise(call.tx, current["id"]))

    @operation
    def get_enterprise(self, call: Call, params: typed.GetEnterpriseParams):
        """The record the code names for the caller; with none on the ledger there, its
        last withdrawn one (a withdrawn record stays readable, with why it was withdrawn)."""
        code, wanted = params["credit_code"], params["enterprise_id"]
        records = [r for r in store.records_of(call.tx, code, call.principal.place_code)
                   if call.principal.covers(r["place_code"])]
        if wanted is not None:
            records = [r for r in records if r["id"] == wanted]
        on_ledger = [r for r in records if r["withdrawn_on"] is None]
        if len(on_ledger) > 1:
            raise store.credit_code_clash({code: on_ledger})
        if not records:
            raise store.enterprise_absent(code)
        return self._view(records[0])  # on the ledger first, else the last withdrawn

    @operation
    def list_enterprises(self, call: Call, params: typed.ListEnterprisesParams):
        call.principal.require_place(params["place_code"])
        rows, cursor = store.page(call.tx, params["place_code"], coverage=params["coverage"],
                                  industry=params["industry"],
                                  operating_status=params["operating_status"],
                                  limit=params["limit"], after=params["after"])
        return {"items": [self._view(row) for row in rows], "next_cursor": _cursor(cursor)}

    @operation
    def withdraw_enterprise(self, call: Call, params: typed.WithdrawEnterpriseParams):
        """The place that holds a wrong record (one of a clash) takes it off the ledger;
        its history stays. Refused while anything active hangs on it."""
        code = params["credit_code"]
        store.lock_credit_codes(call.tx, [code])
        enterprise = self._enterprise(call, code, lock=True, enterprise_id=params["enterprise_id"])
        if enterprise["version"] != params["version"]:
            raise store.stale_enterprise(code)
        domain.check_withdrawal(code, store.dependents(call.tx, enterprise["id"]))
        store.withdraw(call.tx, enterprise["id"], code, params["version"], params["reason"])
        call.tx.audit("enterprise", code, {"withdrawn": {
            "enterprise_id": enterprise["id"], "place_code": enterprise["place_code"],
            "reason": params["reason"]}})
        return self._view(store.enterprise(call.tx, enterprise["id"]))

    @operation
    def credit_code_clashes(self, call: Call, params: typed.CreditCodeClashesParams):
        call.principal.require_place(params["place_code"])
        after = params["after"][0] if params["after"] is not None else None
        groups, last = store.clashes(call.tx, params["place_code"], limit=params["limit"],
                                     after=after)
        return {"items": [{"credit_code": code, "records": records} for code, records in groups],
                "next_cursor": _cursor([last] if last is not None else None)}

    # -- coverage -------------------------------------------------------------------
    @operation
    def establish_organization(self, call: Call, params: typed.EstablishOrganizationParams):
        call.principal.require_place(params["place_code"])
        self._place_known(call, params["place_code"])
        codes = sorted(set(params["credit_codes"]))
        members = self._enterprises(call, codes, lock=True)
        domain.check_within_place(members, params["place_code"])
        org_kind = domain.registry_kind(params["kind"], params["org_kind"])
        domain.check_establishment(params["kind"], org_kind, members, params["full_members"],
                                   self.rules)
        establishment = {**params, "org_kind": org_kind}
        establishment_id = store.insert_establishment(call.tx, establishment)
        ids = [enterprise["id"] for enterprise in members]
        store.add_members(call.tx, establishment_id, ids)
        store.refresh_coverage(call.tx, ids)
        call.tx.emit(domain.organization_established(establishment_id, establishment, members))
        call.tx.audit("establishment", establishment_id, {"established": {
            "kind": params["kind"], "name": params["name"], "credit_codes": codes}})
        return store.get_establishment(call.tx, establishment_id)

    @operation
    def join_organization(self, call: Call, params: typed.JoinOrganizationParams):
        # Both records seen before anything is said of either.
        establishment = self._establishment(call, params["establishment_id"], lock=True)
        enterprise = self._enterprise(call, params["credit_code"], lock=True)
        domain.check_joining(establishment, enterprise, self.rules)
        store.add_members(call.tx, establishment["id"], [enterprise["id"]])
        store.refresh_coverage(call.tx, [enterprise["id"]])
        call.tx.audit("establishment", establishment["id"], {"joined": enterprise["credit_code"]})
        return store.get_establishment(call.tx, establishment["id"])

    @operation
    def leave_organization(self, call: Call, params: typed.LeaveOrganizationParams):
        establishment = self._establishment(call, params["establishment_id"], lock=True)
        enterprise = self._enterprise(call, params["credit_code"], lock=True)
        store.remove_member(call.tx, establishment["id"], enterprise)
        store.refresh_coverage(call.tx, [enterprise["id"]])
        call.tx.audit("establishment", establishment["id"], {"left": params["credit_code"]})
        return store.get_establishment(call.tx, establishment["id"])

    @operation
    def get_establishment(self, call: Call, params: typed.GetEstablishmentParams):
        return self._establishment(call, params["establishment_id"])

    @operation
    def assign_work_coverage(self, call: Call, params: typed.AssignWorkCoverageParams):
        enterprise = self._enterprise(call, params["credit_code"], lock=True)
        assignment = store.insert_assignment(call.tx, enterprise, params)
        store.refresh_coverage(call.tx, [enterprise["id"]])
        call.tx.audit("enterprise", params["credit_code"], {"work_coverage": {
            "enterprise_id": enterprise["id"], "role": params["role"],
            "person": params["person"]}})
        return assignment

    @operation
    def end_work_coverage(self, call: Call, params: typed.EndWorkCoverageParams):
        assignment = store.assignment(call.tx, params["assignment_id"])
        # Its enterprise's place is the assignment's: outside, the assignment is not found
        # (not its enterprise, whose code the caller did not give).
        call.principal.require_visible(assignment["place_code"],
                                       store.assignment_absent(params["assignment_id"]))
        store.enterprise(call.tx, assignment["enterprise_id"], lock=True)
        ended = store.end_assignment(call.tx, assignment["id"], params["ended_on"])
        store.refresh_coverage(call.tx, [assignment["enterprise_id"]])
        call.tx.audit("enterprise", assignment["credit_code"],
                      {"work_coverage_ended": assignment["id"]})
        return ended

    @operation
    def coverage_report(self, call: Call, params: typed.CoverageReportParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        minimum = self.rules.own_min_members
        with call.tx.snapshot():
            rows = store.coverage_counts(call.tx, place_code, minimum)
            uncovered, _ = store.named(call.tx, place_code, "uncovered", minimum,
                                       limit=NAMED_IN_REPORT)
            due, _ = store.named(call.tx, place_code, "due_own", minimum, limit=NAMED_IN_REPORT)
            duplicates = store.duplicate_credit_codes(call.tx, place_code)
            children = places.children(call.tx, place_code)
            names = places.names(call.tx, [place_code, *children])
        by_child = {row["place_code"]: row for row in rows}
        counted = [k for k in rows[0] if k != "place_code"] if rows else [
            "enterprises", "operating", "own", "joint", "regional", "industry", "work",
            "uncovered", "due_own"]
        for child in children:  # every child place, with or without enterprises
            by_child.setdefault(child, {"place_code": child, **dict.fromkeys(counted, 0)})
        total = {"place_code": place_code, **{k: sum(r[k] for r in by_child.values())
                                              for k in counted}}

        def row(values):
            return {**domain.rates(values), "place_name": names.get(values["place_code"])}

        return {"place_code": place_code, "as_of": dt.date.today(),
                "rules": self.rules.as_report("own_min_members"), "total": row(total),
                "by_child_place": [row(by_child[code]) for code in sorted(by_child)],
                "uncovered": uncovered, "due_own": due, "duplicate_credit_codes": duplicates}

    def _named(self, call: Call, params, which):
        call.principal.require_place(params["place_code"])
        rows, cursor = store.named(call.tx, params["place_code"], which,
                                   self.rules.own_min_members, limit=params["limit"],
                                   after=params["after"])
        return {"items": rows, "next_cursor": _cursor(cursor)}

    @operation
    def uncovered_enterprises(self, call: Call, params: typed.UncoveredEnterprisesParams):
        return self._named(call, params, "uncovered")

    @operation
    def due_own_organization(self, call: Call, params: typed.DueOwnOrganizationParams):
        return self._named(call, params, "due_own")

    # -- standardization ----------------------------------------------------------------
    def _standardization(self, call: Call, establishment_id: int) -> dict:
        items, completion = domain.standardization(
            store.standard_checks(call.tx, establishment_id), self.rules)
        return {"establishment_id": establishment_id, "items": items, "completion": completion}

    @operation
    def record_standard(self, call: Call, params: typed.RecordStandardParams):
        self._establishment(call, params["establishment_id"])
        domain.check_standard_item(params["item"], self.rules)
        store.save_standard(call.tx, params["establishment_id"], params["item"], params["met"],
                            params["checked_on"])
        call.tx.audit("establishment", params["establishment_id"], {
            "standard": {"item": params["item"], "met": params["met"]}})
        return self._standardization(call, params["establishment_id"])

    @operation
    def standardization(self, call: Call, params: typed.StandardizationParams):
        self._establishment(call, params["establishment_id"])
        return self._standardization(call, params["establishment_id"])

    # -- the advanced end: double strong, dual-managed contacts ---------------------------------
    @operation
    def apply_double_strong(self, call: Call, params: typed.ApplyDoubleStrongParams):
        enterprise = self._enterprise(call, params["credit_code"])
        application_id = store.insert_application(call.tx, enterprise, params["year"])
        store.record_step(call.tx, application_id, "applied", params["applied_on"], None)
        call.tx.audit("double_strong", application_id, {"applied": params["year"]})
        return store.application(call.tx, application_id)

    @operation
    def advance_double_strong(self, call: Call, params: typed.AdvanceDoubleStrongParams):
        application = store.application(call.tx, params["application_id"], lock=True)
        call.principal.require_visible(application["place_code"],
                                       store.application_absent(params["application_id"]))
        domain.check_double_strong_step(application["status"], params["status"])
        store.record_step(call.tx, application["id"], params["status"], params["on"],
                          params["note"])
        call.tx.audit("double_strong", application["id"], {"status": params["status"]})
        return store.application(call.tx, application["id"])

    @operation
    def double_strong(self, call: Call, params: typed.DoubleStrongParams):
        call.principal.require_place(params["place_code"])
        return {"items": [store.application(call.tx, application_id) for application_id in
                          store.applications(call.tx, params["place_code"], params["year"],
                                             params["status"])]}

    @operation
    def record_contact(self, call: Call, params: typed.RecordContactParams):
        enterprise = self._enterprise(call, params["credit_code"])
        domain.check_contact(enterprise)
        contact = store.insert_contact(call.tx, enterprise, params)
        call.tx.audit("enterprise", params["credit_code"], {"contact": {
            "kind": params["kind"], "leader": params["leader"]}})
        return contact

    @operation
    def contacts_of(self, call: Call, params: typed.ContactsOfParams):
        enterprise = self._enterprise(call, params["credit_code"])
        return {"items": store.contacts_of(call.tx, enterprise)}

    # -- the lagging end ---------------------------------------------------------------------
    @operation
    def mark_lagging(self, call: Call, params: typed.MarkLaggingParams):
        self._establishment(call, params["establishment_id"])
        lagging_id = store.insert_lagging(call.tx, params)
        call.tx.audit("establishment", params["establishment_id"], {"lagging": params["cause"]})
        return store.lagging(call.tx, lagging_id)

    @operation
    def transform_lagging(self, call: Call, params: typed.TransformLaggingParams):
        record = store.lagging(call.tx, params["lagging_id"])
        call.principal.require_visible(record["place_code"],
                                       store.lagging_absent(params["lagging_id"]))
        store.transform(call.tx, record["id"], params["transformed_on"], params["note"])
        call.tx.audit("establishment", record["establishment_id"], {"transformed": record["id"]})
        return store.lagging(call.tx, record["id"])

    @operation
    def lagging(self, call: Call, params: typed.LaggingParams):
        call.principal.require_place(params["place_code"])
        items = store.laggings(call.tx, params["place_code"])
        by_cause: dict[str, int] = {}
        for item in items:
            if item["status"] == "rectifying":
                by_cause[item["cause"]] = by_cause.get(item["cause"], 0) + 1
        return {"items": items, "by_cause": by_cause}

    # -- double strong, six good ------------------------------------------------------------------
    @operation
    def enter_six_good(self, call: Call, params: typed.EnterSixGoodParams):
        self._establishment(call, params["establishment_id"])
        entry_id = store.insert_six_good(call.tx, params["establishment_id"], params["year"])
        call.tx.audit("establishment", params["establishment_id"], {"six_good": params["year"]})
        return store.six_good(call.tx, entry_id)

    @operation
    def recognize_six_good(self, call: Call, params: typed.RecognizeSixGoodParams):
        entry = store.six_good(call.tx, params["entry_id"])
        call.principal.require_visible(entry["place_code"],
                                       store.six_good_absent(params["entry_id"]))
        store.recognize(call.tx, entry["id"])
        call.tx.audit("establishment", entry["establishment_id"],
                      {"six_good_recognized": entry["year"]})
        return store.six_good(call.tx, entry["id"])

    @operation
    def six_good(self, call: Call, params: typed.SixGoodParams):
        call.principal.require_place(params["place_code"])
        return {"items": store.six_goods(call.tx, params["place_code"], params["year"])}

    # -- training classes and the association --------------------------------------------------
    def _class(self, call: Call, class_id: int, *, lock: bool = False) -> dict:
        training = store.training_class(call.tx, class_id, lock=lock)
        call.principal.require_visible(training["place_code"], store.class_absent(class_id))
        for enrolment in training["enrolments"]:
            enrolment["attendance_rate"] = domain.attendance_rate(enrolment["attended"],
                                                                  training["sessions_held"])
        return training

    @operation
    def open_training_class(self, call: Call, params: typed.OpenTrainingClassParams):
        call.principal.require_place(params["place_code"])
        class_id = store.insert_class(call.tx, params)
        call.tx.audit("training_class", class_id, {"opened": params["title"]})
        return self._class(call, class_id)

    @operation
    def enrol(self, call: Call, params: typed.EnrolParams):
        self._class(call, params["class_id"], lock=True)
        enterprise = self._enterprise(call, params["credit_code"])
        store.enrol(call.tx, params["class_id"], params["person"], enterprise["id"])
        call.tx.audit("training_class", params["class_id"], {"enrolled": params["person"]})
        return self._class(call, params["class_id"])

    @operation
    def record_attendance(self, call: Call, params: typed.RecordAttendanceParams):
        training = self._class(call, params["class_id"], lock=True)
        domain.check_session(training, params["session"])
        store.record_attendance(call.tx, training["id"], params["session"], set(params["present"]))
        call.tx.audit("training_class", training["id"], {"session": params["session"],
                                                         "present": len(params["present"])})
        return self._class(call, training["id"])

    @operation
    def get_training_class(self, call: Call, params: typed.GetTrainingClassParams):
        return self._class(call, params["class_id"])

    @operation
    def join_association(self, call: Call, params: typed.JoinAssociationParams):
        enterprise = self._enterprise(call, params["credit_code"])
        member_id = store.join_association(call.tx, enterprise["id"], params)
        call.tx.audit("enterprise", params["credit_code"], {"association": params["person"]})
        return store.association_members(call.tx, enterprise["place_code"], member_id)[0]

    @operation
    def association_members(self, call: Call, params: typed.AssociationMembersParams):
        call.principal.require_place(params["place_code"])
        return {"items": store.association_members(call.tx, params["place_code"])}

    # -- events from the organizations service --------------------------------------------------
    @handles("organizations", "organization_registered")
    def on_organization_registered(self, tx, event):
        """The registry registered an organization we asked for: remember its id."""
        organization = event["data"]["organization"]
        establishment_id = domain.establishment_of(organization.get("external_ref"))
        if establishment_id is not None:
            store.set_status(tx, establishment_id, "registered",
                             organization_id=organization["id"])

    @handles("organizations", "enterprise_org_refused")
    def on_enterprise_org_refused(self, tx, event):
        """The registry refused it (its party rules): it covers no one."""
        establishment_id = domain.establishment_of(event["data"]["external_ref"])
        if establishment_id is not None:
            members = store.set_status(tx, establishment_id, "refused", event["data"]["message"])
            store.refresh_coverage(tx, members)
            tx.audit("establishment", establishment_id, {"refused": event["data"]["details"]})

    @handles("organizations", "organization_status_changed")
    def on_organization_status_changed(self, tx, event):
        """Dissolved or merged in the registry: it covers no one any more."""
        data = event["data"]
        establishment_id = domain.establishment_of(data["organization"].get("external_ref"))
        if establishment_id is not None and data["new_status"] != "active":
            members = store.set_status(tx, establishment_id, "dissolved", data["reason"])
            store.refresh_coverage(tx, members)
            tx.audit("establishment", establishment_id, {"dissolved": data["reason"]})


# What start_import takes, by kind: rows of register_enterprise's params, registered 500
# at a time by _register_enterprises (a chunk that fails is replayed row by row). (The
# uniqueness check refuses a code twice too; the file's own check names the earlier row.)
IMPORTERS: dict[str, Importer] = {
    "enterprises": Importer.single(contract.SERVICE, "register_enterprise",
                                   NpeService._register_enterprise,
                                   apply_many=NpeService._register_enterprises,
                                   key=lambda enterprise: enterprise["credit_code"],
                                   key_field="credit_code"),
}

SERVICE = NpeService
