"""The npe service: non-public enterprises, their party coverage and the work around it
(contract: shared/contracts/npe.py; domain.md §6).

A party organization set up for enterprises is registered in the organizations
service by event (enterprise_org_established), so it exists once, in the registry; the
registry's organization_registered tells this service its id."""

from __future__ import annotations

import datetime as dt

from services.npe import domain, store
from shared import entrypoints, places, regions
from shared.auth import CallerIdentity
from shared.contracts import npe as contract
from shared.contracts.common import encode_cursor
from shared.db import Database
from shared.errors import ValidationError
from shared.events import handles
from shared.imports import Importer, ImportJobs, import_operations
from shared.monitoring import Monitoring
from shared.outbox import Event, OutboxRelay
from shared.places import PlaceDirectory
from shared.rules import RuleSet

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

    # -- enterprises -------------------------------------------------------------------
    def _view(self, enterprise: dict) -> dict:
        return {**enterprise, "due_own_organization": domain.due_own(enterprise, self.rules)}

    # A record named by its key and outside the caller's jurisdiction is the store's own
    # NotFound (require_visible): whether it exists elsewhere is not the caller's to learn.
    def _enterprise(self, call, credit_code: str, *, lock: bool = False) -> dict:
        enterprise = store.get_enterprise(call.tx, credit_code, lock=lock)
        call.principal.require_visible(enterprise["place_code"],
                                       store.enterprise_absent(credit_code))
        return enterprise

    def _enterprises(self, call, credit_codes: list[str], *, lock: bool = False) -> list[dict]:
        """Every one of these enterprises; those outside the jurisdiction are named among
        the missing ones, exactly as if they were."""
        found = [row for row in store.enterprises(call.tx, credit_codes, lock=lock)
                 if call.principal.covers(row["place_code"])]
        missing = sorted(set(credit_codes) - {row["credit_code"] for row in found})
        if missing:
            raise store.enterprises_absent(missing)
        return found

    def _establishment(self, call, establishment_id: int, *, lock: bool = False) -> dict:
        establishment = store.get_establishment(call.tx, establishment_id, lock=lock)
        call.principal.require_visible(establishment["place_code"],
                                       store.establishment_absent(establishment_id))
        return establishment

    def _place_known(self, call, code: str, field: str = "place_code") -> None:
        if places.name(call.tx, code) is None:
            raise ValidationError("unknown place", {field: [
                f"no place {code} known to npe (places arrive from the organizations service)"]})

    @operation
    def register_enterprise(self, call, params):
        self._register_enterprise(call, params)
        return self._view(store.get_enterprise(call.tx, params["credit_code"]))

    def _register_enterprise(self, call, params) -> None:
        """register_enterprise's whole path; an import runs it for each row."""
        call.principal.require_place(params["place_code"])
        self._place_known(call, params["place_code"])
        store.insert_enterprise(call.tx, params)
        call.tx.audit("enterprise", params["credit_code"], {"registered": {
            k: params[k] for k in ("name", "place_code", "full_members", "operating_status")}})

    # -- bulk import (shared/imports.py) -------------------------------------------------
    start_import, get_import = import_operations(operation, lambda: IMPORTERS)

    @operation
    def import_enterprises(self, call, params):
        rows, errors, seen = params["enterprises"], {}, set()
        known = places.names(call.tx, {row["place_code"] for row in rows})
        for index, row in enumerate(rows):
            call.principal.require_place(row["place_code"])
            if row["credit_code"] in seen:
                errors[index] = {"credit_code": ["appears twice in this batch"]}
            elif row["place_code"] not in known:
                errors[index] = {"place_code": [f"no place {row['place_code']} known to npe"]}
            seen.add(row["credit_code"])
        if errors:
            raise ValidationError("some enterprises cannot be imported", {"enterprises": errors})
        # An update may only touch enterprises in the caller's jurisdiction, wherever the
        # batch says they are now.
        current = store.places_of(call.tx, [row["credit_code"] for row in rows])
        for place_code in current.values():
            call.principal.require_place(place_code)
        counts = store.upsert_enterprises(call.tx, rows, set(current))
        call.tx.audit_many("enterprise", ((row["credit_code"], {"imported": True}) for row in rows))
        return counts

    @operation
    def update_enterprise(self, call, params):
        current = self._enterprise(call, params["credit_code"], lock=True)
        if "place_code" in params:
            call.principal.require_place(params["place_code"])
            self._place_known(call, params["place_code"])
        read_version = params.pop("version")
        changes = {k: v for k, v in params.items()
                   if k in store.ENTERPRISE_COLUMNS and k != "credit_code" and current[k] != v}
        if changes:
            store.save_enterprise(call.tx, {"credit_code": current["credit_code"], **changes},
                                  read_version)
            call.tx.audit("enterprise", current["credit_code"], {
                k: {"old": current[k], "new": v} for k, v in changes.items()})
        return self._view(store.get_enterprise(call.tx, current["credit_code"]))

    @operation
    def get_enterprise(self, call, params):
        return self._view(self._enterprise(call, params["credit_code"]))

    @operation
    def list_enterprises(self, call, params):
        call.principal.require_place(params["place_code"])
        rows, cursor = store.page(call.tx, params["place_code"], coverage=params["coverage"],
                                  industry=params["industry"],
                                  operating_status=params["operating_status"],
                                  limit=params["limit"], after=params["after"])
        return {"items": [self._view(row) for row in rows], "next_cursor": _cursor(cursor)}

    # -- coverage -------------------------------------------------------------------
    @operation
    def establish_organization(self, call, params):
        call.principal.require_place(params["place_code"])
        self._place_known(call, params["place_code"])
        codes = sorted(set(params["credit_codes"]))
        members = self._enterprises(call, codes, lock=True)
        for enterprise in members:
            if not regions.in_subtree(enterprise["place_code"], params["place_code"]):
                raise ValidationError("the enterprises lie outside the organization's place", {
                    "credit_codes": [f"{enterprise['credit_code']} is in {enterprise['place_code']}"]})
        org_kind = domain.registry_kind(params["kind"], params["org_kind"])
        domain.check_establishment(params["kind"], org_kind, members, params["full_members"],
                                   self.rules)
        establishment_id = store.insert_establishment(call.tx, {**params, "org_kind": org_kind})
        store.add_members(call.tx, establishment_id, codes)
        store.refresh_coverage(call.tx, codes)
        call.tx.emit(Event("enterprise_org_established", {
            "establishment_id": establishment_id, "external_ref": f"npe:{establishment_id}",
            "kind": org_kind, "name": params["name"], "place_code": params["place_code"],
            "full_members": params["full_members"],
            "committee_size": domain.committee_size(org_kind, params["full_members"]),
            "units": domain.unit_names(members) if params["kind"] == "joint" else [],
            "founded_on": params["founded_on"]}))
        call.tx.audit("establishment", establishment_id, {"established": {
            "kind": params["kind"], "name": params["name"], "credit_codes": codes}})
        return store.get_establishment(call.tx, establishment_id)

    @operation
    def join_organization(self, call, params):
        # Both records seen before anything is said of either.
        establishment = self._establishment(call, params["establishment_id"], lock=True)
        enterprise = self._enterprise(call, params["credit_code"], lock=True)
        if establishment["kind"] == "own":
            raise ValidationError("an own organization is one enterprise's",
                                  {"establishment_id": ["own organizations take no others"]})
        if establishment["status"] not in domain.COVERING:
            raise ValidationError("that organization covers no one", {
                "establishment_id": [f"it is {establishment['status']}"]})
        if not regions.in_subtree(enterprise["place_code"], establishment["place_code"]):
            raise ValidationError("the enterprise lies outside the organization's place", {
                "credit_code": [f"{enterprise['place_code']} is outside {establishment['place_code']}"]})
        domain.check_members(establishment["kind"], [enterprise])
        if establishment["kind"] == "joint":
            domain.check_joint_size(len(establishment["credit_codes"]) + 1, self.rules)
        store.add_members(call.tx, establishment["id"], [enterprise["credit_code"]])
        store.refresh_coverage(call.tx, [enterprise["credit_code"]])
        call.tx.audit("establishment", establishment["id"], {"joined": enterprise["credit_code"]})
        return store.get_establishment(call.tx, establishment["id"])

    @operation
    def leave_organization(self, call, params):
        establishment = self._establishment(call, params["establishment_id"], lock=True)
        self._enterprise(call, params["credit_code"], lock=True)
        store.remove_member(call.tx, establishment["id"], params["credit_code"])
        store.refresh_coverage(call.tx, [params["credit_code"]])
        call.tx.audit("establishment", establishment["id"], {"left": params["credit_code"]})
        return store.get_establishment(call.tx, establishment["id"])

    @operation
    def get_establishment(self, call, params):
        return self._establishment(call, params["establishment_id"])

    @operation
    def assign_work_coverage(self, call, params):
        self._enterprise(call, params["credit_code"], lock=True)
        assignment = store.insert_assignment(call.tx, params)
        store.refresh_coverage(call.tx, [params["credit_code"]])
        call.tx.audit("enterprise", params["credit_code"], {"work_coverage": {
            "role": params["role"], "person": params["person"]}})
        return assignment

    @operation
    def end_work_coverage(self, call, params):
        assignment = store.assignment(call.tx, params["assignment_id"])
        # Its enterprise's place is the assignment's: outside, the assignment is not found
        # (not its enterprise, whose code the caller did not give).
        call.principal.require_visible(assignment["place_code"],
                                       store.assignment_absent(params["assignment_id"]))
        store.get_enterprise(call.tx, assignment["credit_code"], lock=True)
        ended = store.end_assignment(call.tx, assignment["id"], params["ended_on"])
        store.refresh_coverage(call.tx, [assignment["credit_code"]])
        call.tx.audit("enterprise", assignment["credit_code"], {"work_coverage_ended": assignment["id"]})
        return ended

    @operation
    def coverage_report(self, call, params):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        minimum = self.rules.own_min_members
        with call.tx.snapshot():
            rows = store.coverage_counts(call.tx, place_code, minimum)
            uncovered, _ = store.named(call.tx, place_code, "uncovered", minimum,
                                       limit=NAMED_IN_REPORT)
            due, _ = store.named(call.tx, place_code, "due_own", minimum, limit=NAMED_IN_REPORT)
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
                "uncovered": uncovered, "due_own": due}

    def _named(self, call, params, which):
        call.principal.require_place(params["place_code"])
        rows, cursor = store.named(call.tx, params["place_code"], which,
                                   self.rules.own_min_members, limit=params["limit"],
                                   after=params["after"])
        return {"items": rows, "next_cursor": _cursor(cursor)}

    @operation
    def uncovered_enterprises(self, call, params):
        return self._named(call, params, "uncovered")

    @operation
    def due_own_organization(self, call, params):
        return self._named(call, params, "due_own")

    # -- standardization ----------------------------------------------------------------
    def _standardization(self, call, establishment_id: int) -> dict:
        items, completion = domain.standardization(
            store.standard_checks(call.tx, establishment_id), self.rules)
        return {"establishment_id": establishment_id, "items": items, "completion": completion}

    @operation
    def record_standard(self, call, params):
        self._establishment(call, params["establishment_id"])
        if params["item"] not in self.rules.standard_items:
            raise ValidationError("not an item of the checklist", {
                "item": [f"one of {', '.join(self.rules.standard_items)}"]})
        store.save_standard(call.tx, params["establishment_id"], params["item"], params["met"],
                            params["checked_on"])
        call.tx.audit("establishment", params["establishment_id"], {
            "standard": {"item": params["item"], "met": params["met"]}})
        return self._standardization(call, params["establishment_id"])

    @operation
    def standardization(self, call, params):
        self._establishment(call, params["establishment_id"])
        return self._standardization(call, params["establishment_id"])

    # -- the advanced end: double strong, dual-managed contacts ---------------------------------
    @operation
    def apply_double_strong(self, call, params):
        self._enterprise(call, params["credit_code"])
        application_id = store.insert_application(call.tx, params["credit_code"], params["year"])
        store.record_step(call.tx, application_id, "applied", params["applied_on"], None)
        call.tx.audit("double_strong", application_id, {"applied": params["year"]})
        return store.application(call.tx, application_id)

    @operation
    def advance_double_strong(self, call, params):
        application = store.application(call.tx, params["application_id"], lock=True)
        call.principal.require_visible(application["place_code"],
                                       store.application_absent(params["application_id"]))
        domain.check_double_strong_step(application["status"], params["status"])
        store.record_step(call.tx, application["id"], params["status"], params["on"],
                          params["note"])
        call.tx.audit("double_strong", application["id"], {"status": params["status"]})
        return store.application(call.tx, application["id"])

    @operation
    def double_strong(self, call, params):
        call.principal.require_place(params["place_code"])
        return {"items": [store.application(call.tx, application_id) for application_id in
                          store.applications(call.tx, params["place_code"], params["year"],
                                             params["status"])]}

    @operation
    def record_contact(self, call, params):
        enterprise = self._enterprise(call, params["credit_code"])
        if not enterprise["dual_managed"]:
            raise ValidationError("key contact and direct guidance are for dual-managed enterprises",
                                  {"credit_code": ["not a dual-managed (双管) enterprise"]})
        contact = store.insert_contact(call.tx, params)
        call.tx.audit("enterprise", params["credit_code"], {"contact": {
            "kind": params["kind"], "leader": params["leader"]}})
        return contact

    @operation
    def contacts_of(self, call, params):
        self._enterprise(call, params["credit_code"])
        return {"items": store.contacts_of(call.tx, params["credit_code"])}

    # -- the lagging end ---------------------------------------------------------------------
    @operation
    def mark_lagging(self, call, params):
        self._establishment(call, params["establishment_id"])
        lagging_id = store.insert_lagging(call.tx, params)
        call.tx.audit("establishment", params["establishment_id"], {"lagging": params["cause"]})
        return store.lagging(call.tx, lagging_id)

    @operation
    def transform_lagging(self, call, params):
        record = store.lagging(call.tx, params["lagging_id"])
        call.principal.require_visible(record["place_code"],
                                       store.lagging_absent(params["lagging_id"]))
        store.transform(call.tx, record["id"], params["transformed_on"], params["note"])
        call.tx.audit("establishment", record["establishment_id"], {"transformed": record["id"]})
        return store.lagging(call.tx, record["id"])

    @operation
    def lagging(self, call, params):
        call.principal.require_place(params["place_code"])
        items = store.laggings(call.tx, params["place_code"])
        by_cause: dict[str, int] = {}
        for item in items:
            if item["status"] == "rectifying":
                by_cause[item["cause"]] = by_cause.get(item["cause"], 0) + 1
        return {"items": items, "by_cause": by_cause}

    # -- double strong, six good ------------------------------------------------------------------
    @operation
    def enter_six_good(self, call, params):
        self._establishment(call, params["establishment_id"])
        entry_id = store.insert_six_good(call.tx, params["establishment_id"], params["year"])
        call.tx.audit("establishment", params["establishment_id"], {"six_good": params["year"]})
        return store.six_good(call.tx, entry_id)

    @operation
    def recognize_six_good(self, call, params):
        entry = store.six_good(call.tx, params["entry_id"])
        call.principal.require_visible(entry["place_code"],
                                       store.six_good_absent(params["entry_id"]))
        store.recognize(call.tx, entry["id"])
        call.tx.audit("establishment", entry["establishment_id"], {"six_good_recognized": entry["year"]})
        return store.six_good(call.tx, entry["id"])

    @operation
    def six_good(self, call, params):
        call.principal.require_place(params["place_code"])
        return {"items": store.six_goods(call.tx, params["place_code"], params["year"])}

    # -- training classes and the association --------------------------------------------------
    def _class(self, call, class_id: int, *, lock: bool = False) -> dict:
        training = store.training_class(call.tx, class_id, lock=lock)
        call.principal.require_visible(training["place_code"], store.class_absent(class_id))
        for enrolment in training["enrolments"]:
            enrolment["attendance_rate"] = domain.attendance_rate(enrolment["attended"],
                                                                  training["sessions_held"])
        return training

    @operation
    def open_training_class(self, call, params):
        call.principal.require_place(params["place_code"])
        class_id = store.insert_class(call.tx, params)
        call.tx.audit("training_class", class_id, {"opened": params["title"]})
        return self._class(call, class_id)

    @operation
    def enrol(self, call, params):
        self._class(call, params["class_id"], lock=True)
        self._enterprise(call, params["credit_code"])
        store.enrol(call.tx, params["class_id"], params["person"], params["credit_code"])
        call.tx.audit("training_class", params["class_id"], {"enrolled": params["person"]})
        return self._class(call, params["class_id"])

    @operation
    def record_attendance(self, call, params):
        training = self._class(call, params["class_id"], lock=True)
        if params["session"] > training["sessions"]:
            raise ValidationError("no such session", {
                "session": [f"the class has {training['sessions']} sessions"]})
        store.record_attendance(call.tx, training["id"], params["session"], set(params["present"]))
        call.tx.audit("training_class", training["id"], {"session": params["session"],
                                                         "present": len(params["present"])})
        return self._class(call, training["id"])

    @operation
    def get_training_class(self, call, params):
        return self._class(call, params["class_id"])

    @operation
    def join_association(self, call, params):
        enterprise = self._enterprise(call, params["credit_code"])
        member_id = store.join_association(call.tx, params)
        call.tx.audit("enterprise", params["credit_code"], {"association": params["person"]})
        return store.association_members(call.tx, enterprise["place_code"], member_id)[0]

    @operation
    def association_members(self, call, params):
        call.principal.require_place(params["place_code"])
        return {"items": store.association_members(call.tx, params["place_code"])}

    # -- events from the organizations service --------------------------------------------------
    @handles("organizations", "organization_registered")
    def on_organization_registered(self, tx, event):
        """The registry registered an organization we asked for: remember its id."""
        organization = event["data"]["organization"]
        establishment_id = _ours(organization.get("external_ref"))
        if establishment_id is not None:
            store.set_status(tx, establishment_id, "registered",
                             organization_id=organization["id"])

    @handles("organizations", "enterprise_org_refused")
    def on_enterprise_org_refused(self, tx, event):
        """The registry refused it (its party rules): it covers no one."""
        establishment_id = _ours(event["data"]["external_ref"])
        if establishment_id is not None:
            members = store.set_status(tx, establishment_id, "refused", event["data"]["message"])
            store.refresh_coverage(tx, members)
            tx.audit("establishment", establishment_id, {"refused": event["data"]["details"]})

    @handles("organizations", "organization_status_changed")
    def on_organization_status_changed(self, tx, event):
        """Dissolved or merged in the registry: it covers no one any more."""
        data = event["data"]
        establishment_id = _ours(data["organization"].get("external_ref"))
        if establishment_id is not None and data["new_status"] != "active":
            members = store.set_status(tx, establishment_id, "dissolved", data["reason"])
            store.refresh_coverage(tx, members)
            tx.audit("establishment", establishment_id, {"dissolved": data["reason"]})


def _ours(external_ref: str | None) -> int | None:
    """The establishment id in an npe reference ("npe:42"), or None."""
    prefix, _, number = (external_ref or "").partition(":")
    return int(number) if prefix == "npe" and number.isdigit() else None


# What start_import takes, by kind: rows of register_enterprise's params. (The database
# refuses a credit code twice too; the file's own check names the earlier row.)
IMPORTERS = {
    "enterprises": Importer.single(contract.SERVICE, "register_enterprise",
                                   NpeService._register_enterprise,
                                   key=lambda enterprise: enterprise["credit_code"],
                                   key_field="credit_code"),
}

SERVICE = NpeService
