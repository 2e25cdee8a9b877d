"""The organizations service: places, party organizations, leadership and township
organizers over nameko RPC (contract: shared/contracts/organizations.py).

Thin on purpose: each method checks jurisdiction, calls domain rules and the store.
Rectification's and creating excellence's entrypoints are mixed in from
rectification_service.py and excellence_service.py; the lookups of a record in the
caller's reach, which they share, are reach_service.py's.
Authentication, input validation, the transaction, idempotency and the result's shape
come from shared.platform.entrypoints; events leave through the outbox (shared.platform.outbox)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from services.organizations import domain, excellence_store, places, reach_service, store
from services.organizations.excellence_service import ExcellenceEntrypoints
from services.organizations.rectification_service import RectificationEntrypoints
from shared.contracts import organizations as contract
from shared.contracts.common import encode_cursor
from shared.contracts.typed import organizations as typed
from shared.errors import Conflict, NotFound, ValidationError
from shared.platform import entrypoints
from shared.platform.auth import CallerIdentity, Principal
from shared.platform.db import Database, Transaction
from shared.platform.entrypoints import Call
from shared.platform.events import handles, ignore
from shared.platform.imports import Importer, ImportJobs, import_operations
from shared.platform.monitoring import Monitoring
from shared.platform.outbox import OutboxRelay
from shared.platform.rules import RuleSet

operation = entrypoints.operations(contract.SERVICE)


def _cursor(key):
    return encode_cursor(key) if key is not None else None


class OrganizationsService(RectificationEntrypoints, ExcellenceEntrypoints):
    name = contract.SERVICE

    db = Database()
    caller = CallerIdentity()
    rules = RuleSet(domain.Rules)
    relay = OutboxRelay()
    monitoring = Monitoring()
    imports = ImportJobs()

    # -- places -------------------------------------------------------------------
    @operation
    def import_places(self, call: Call, params: typed.ImportPlacesParams):
        rows, errors = places.rows_to_import(params["places"])
        for row in rows:
            call.principal.require_place(row["code"])
        places.check_import(rows, errors, store.place_names(call.tx, places.parents_outside(rows)))
        rows.sort(key=lambda r: r["code"])  # a parent's code sorts before its children's
        changed = store.upsert_places(call.tx, rows)
        call.tx.audit_many("place", [
            *((code, {"created": True}) for code in changed["created"]),
            *((code, {"name": diff}) for code, diff in changed["renamed"].items()),
        ])
        imported = places.places_imported(rows, {*changed["created"], *changed["renamed"]})
        if imported is not None:
            call.tx.emit(imported)
        return {"created": len(changed["created"]), "renamed": len(changed["renamed"]),
                "unchanged": changed["unchanged"]}

    @operation
    def publish_snapshot(self, call: Call, params: typed.PublishSnapshotParams):
        """Places and organizations again, as events, for a service that came later."""
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        in_place = store.places_in(call.tx, place_code)
        orgs = store.organizations_in(call.tx, place_code)
        events = places.snapshot(in_place, orgs, excellence_store.creations_in(call.tx, place_code))
        for event in events:
            call.tx.emit(event)
        call.tx.audit("place", place_code, {"snapshot_published": {
            "places": len(in_place), "organizations": len(orgs)}})
        return {"places": len(in_place), "organizations": len(orgs), "events": len(events)}

    # Place names are reference data: any caller with the read role may look them up,
    # jurisdiction or not (a county's staff need their province's name in a path).
    @operation
    def get_place(self, call: Call, params: typed.GetPlaceParams):
        return store.get_place(call.tx, params["place_code"])

    @operation
    def list_children(self, call: Call, params: typed.ListChildrenParams):
        store.get_place(call.tx, params["place_code"])
        return {"items": store.children(call.tx, params["place_code"])}

    @operation
    def place_path(self, call: Call, params: typed.PlacePathParams):
        store.get_place(call.tx, params["place_code"])
        return {"items": store.path(call.tx, params["place_code"])}

    # -- organizations --------------------------------------------------------------
    def _dump(self, org: domain.Organization) -> dict:
        values = vars(org).copy()
        values["flags"] = org.flags(self.rules, dt.date.today())
        return values

    def _check_parent(self, call: Call, org: domain.Organization, *, named: bool) -> None:
        """`named`: the caller chose this parent now, so it must be one the caller sees."""
        if org.parent_id is None:
            return
        try:
            # FOR SHARE: a parent dissolved meanwhile would count no children and leave
            # this one under a dissolved organization.
            parent = store.get_organization(call.tx, org.parent_id, lock="share")
        except NotFound:
            raise _unknown_parent(org.parent_id) from None
        if named:
            call.principal.require_visible(parent.place_code, _unknown_parent(org.parent_id))
        domain.check_parent(org, parent, store.ancestor_ids(call.tx, org.parent_id))

    def _check_new_parents(self, tx: Transaction, orgs: list[domain.Organization],
                           principal: Principal | None) -> None:
        """_check_parent for organizations being registered, their parents read (and
        share-locked) in one statement: an import's chunk names the same few committees
        again and again. `principal`: the caller, who must see each parent (None: an
        event's)."""
        wanted = {org.parent_id for org in orgs if org.parent_id is not None}
        if not wanted:
            return
        parents = store.organizations_by_id(tx, wanted, lock="share")
        for org in orgs:
            if org.parent_id is None:
                continue
            if org.parent_id not in parents:
                raise _unknown_parent(org.parent_id)
            if principal is not None:
                principal.require_visible(parents[org.parent_id].place_code,
                                          _unknown_parent(org.parent_id))
            domain.check_parent(org, parents[org.parent_id], [])  # a new one is under nothing

    @operation
    def register_organization(self, call: Call, params: typed.RegisterOrganizationParams):
        return self._dump(self._register_organization(call, params))

    def _register_organization(self, call: Call, params) -> domain.Organization:
        """register_organization's whole path; an import runs it for a row it replays."""
        return self._register_organizations(call, [params])[0]

    def _register_organizations(self, call: Call, rows: list[dict]) -> list[domain.Organization]:
        """register_organization's path for many (an import's chunk): all or an error."""
        for values in rows:
            call.principal.require_place(values["place_code"])
        return self._register(call.tx, rows, call.principal)

    def _register(self, tx, rows: list[dict],
                  principal: Principal | None = None) -> list[domain.Organization]:
        orgs = [domain.register(values, self.rules) for values in rows]
        self._check_new_parents(tx, orgs, principal)
        store.insert_organizations(tx, orgs)  # refuses an unknown place
        seats = [(org, *domain.initial_vacancies(org)) for org in orgs]
        store.defer_vacancies(tx, seats, "unfilled")
        tx.audit_many("organization", [
            (org.id, {"registered": org.snapshot(), "vacancies_opened": len(posts)})
            for org, posts, _ in seats])
        return orgs

    @handles("npe", "enterprise_org_established")
    def on_enterprise_org_established(self, tx, event):
        """An enterprise's party organization (own, joint, regional, industry) exists once,
        here: registered at npe's request, once per reference."""
        data = event["data"]
        store.lock_reference(tx, data["external_ref"])  # two deliveries at once take turns
        if store.organization_id_by_ref(tx, data["external_ref"]) is not None:
            return  # registered already (the same request, delivered anew)
        values = {
            "name": data["name"], "kind": data["kind"], "sector": "non_public_enterprise",
            "place_code": data["place_code"], "full_members": data["full_members"],
            "committee_size": data["committee_size"], "units": data["units"],
            "founded_on": data["founded_on"], "external_ref": data["external_ref"]}
        try:
            domain.register(values, self.rules)  # the party rules, before anything is written
            # Refused here: the insert's foreign key would refuse it too, but leave the
            # transaction unusable for the refusal below.
            reach_service.known_place(tx, values["place_code"])
            self._register(tx, [values])  # Conflict: the name is taken at that place
        except (ValidationError, Conflict) as refusal:
            # No retry can change the answer: say so to npe instead of dead-lettering it.
            tx.emit(domain.enterprise_org_refused(data["external_ref"], refusal))
            ignore(self.name, "on_enterprise_org_established", "refused", event)

    @operation
    def update_organization(self, call: Call, params: typed.UpdateOrganizationParams):
        org = reach_service.organization(call, params["organization_id"], lock="update")
        read_version = params["version"]
        domain.require_version(org, read_version)
        if "place_code" in params and params["place_code"] != org.place_code:
            call.principal.require_place(params["place_code"])
            reach_service.known_place(call.tx, params["place_code"])
        new, diff = domain.update(org, params, self.rules)
        if not diff:
            return self._dump(org)
        if {"parent_id", "place_code", "kind"} & diff.keys():
            self._check_parent(call, new, named="parent_id" in diff)
        for changed in ("kind", "place_code"):
            if changed in diff:
                domain.check_children(new, store.active_children(call.tx, new.stored_id),
                                      changed)
        if {"name", "place_code"} & diff.keys():
            store.require_name_free(call.tx, new)  # (the unique index holds it against a race)
        store.save_organization(call.tx, new, read_version)
        if "committee_size" in diff:
            diff["vacancies"] = self._reconcile_vacancies(call, new)
        call.tx.audit("organization", new.id, diff)
        return self._dump(store.get_organization(call.tx, new.stored_id))

    def _reconcile_vacancies(self, call: Call, org: domain.Organization) -> dict:
        """After the committee grew or shrank: open or cancel vacancies to match."""
        in_post = store.posts_in_post(call.tx, org.stored_id)
        open_ = store.open_vacancy_rows(call.tx, org.stored_id)
        opened = store.open_vacancies(
            call.tx, org.stored_id,
            domain.vacancy_posts_to_open(org, in_post, [v["post"] for v in open_]),
            "unfilled", dt.date.today())
        surplus = domain.surplus_vacancies(org, in_post, [v["post"] for v in open_])
        newest_first = [v["id"] for v in reversed(open_) if v["post"] != "secretary"]
        cancelled = store.cancel_vacancies(call.tx, newest_first[:surplus])
        return {"opened": [v["id"] for v in opened], "cancelled": cancelled}

    @operation
    def dissolve_organization(self, call: Call, params: typed.DissolveOrganizationParams):
        org = reach_service.organization(call, params["organization_id"], lock="update")
        domain.require_version(org, params["version"])
        new, diff = domain.dissolve(org, params["effective_on"], params["reason"],
                                    len(store.active_children(call.tx, org.stored_id)))
        store.save_organization(call.tx, new, params["version"])
        diff["leadership"] = store.end_all_leadership(call.tx, org.stored_id,
                                                      params["effective_on"])
        call.tx.audit("organization", org.id, diff)
        return self._dump(store.get_organization(call.tx, org.stored_id))

    @operation
    def merge_organization(self, call: Call, params: typed.MergeOrganizationParams):
        source_id, target_id = params["organization_id"], params["into_organization_id"]
        # Lock both rows in id order, so two crossing merges cannot deadlock.
        for organization_id in sorted({source_id, target_id}):
            reach_service.organization(call, organization_id, lock="update")
        source = store.get_organization(call.tx, source_id)
        target = store.get_organization(call.tx, target_id)
        domain.require_version(source, params["version"])
        merged, grown = domain.merge(source, target, params["effective_on"], params["reason"],
                                     len(store.active_children(call.tx, source.stored_id)))
        store.save_organization(call.tx, merged, source.version)
        store.save_organization(call.tx, grown, target.version)
        leadership = store.end_all_leadership(call.tx, source.stored_id, params["effective_on"])
        call.tx.audit("organization", source.id, {"merged_into": target.id,
                                                  "reason": params["reason"],
                                                  "leadership": leadership})
        call.tx.audit("organization", target.id, {
            "absorbed": source.id,
            "full_members": {"old": target.full_members, "new": grown.full_members}})
        return self._dump(store.get_organization(call.tx, target.stored_id))

    @operation
    def get_organization(self, call: Call, params: typed.GetOrganizationParams):
        return self._dump(reach_service.organization(call, params["organization_id"]))

    @operation
    def list_organizations(self, call: Call, params: typed.ListOrganizationsParams):
        call.principal.require_place(params["place_code"])
        items, cursor = store.organization_page(
            call.tx, params["place_code"], kind=params["kind"], sector=params["sector"],
            status=params["status"], grade=params["grade"],
            name=domain.name_search(params["name"]), limit=params["limit"],
            after=params["after"])
        return {"items": [self._dump(org) for org in items], "next_cursor": _cursor(cursor)}

    @operation
    def reelection_due(self, call: Call, params: typed.ReelectionDueParams):
        call.principal.require_place(params["place_code"])
        today = dt.date.today()
        window = params["within_days"]
        if window is None:
            window = self.rules.reelection_window_days
        rows, cursor = store.reelection_due(call.tx, params["place_code"],
                                            today + dt.timedelta(days=window),
                                            limit=params["limit"],
                                            after=params["after"])  # [date, id]: the contract's
        for row in rows:
            row["days_left"] = (row["term_ends_on"] - today).days
            row["overdue"] = row["days_left"] < 0
        return {"place_code": params["place_code"], "as_of": today, "within_days": window,
                "rules": self.rules.as_report("reelection_window_days", "term_years_by_sector",
                                              "default_term_years"),
                "items": rows, "next_cursor": _cursor(cursor)}

    # -- leadership -------------------------------------------------------------------
    def _leadership(self, call: Call, org: domain.Organization) -> dict:
        people = store.leaders(call.tx, org.stored_id)
        vacancies = store.vacancies(call.tx, org.stored_id)
        in_post = [p for p in people if p["ended_on"] is None]
        open_ = [v for v in vacancies if v["status"] == "open"]
        problems = domain.team_problems(org.committee_size, [p["post"] for p in in_post],
                                        len(open_))
        return {
            "organization_id": org.id, "committee_size": org.committee_size,
            "complete": not problems, "problems": [{"code": p} for p in problems],
            "leaders": in_post, "open_vacancies": open_,
            "filled_vacancies": [v for v in vacancies if v["status"] == "filled"],
            "former_leaders": [p for p in people if p["ended_on"] is not None],
        }

    @operation
    def get_leadership(self, call: Call, params: typed.GetLeadershipParams):
        with call.tx.snapshot():
            org = reach_service.organization(call, params["organization_id"])
            return self._leadership(call, org)

    @operation
    def appoint_leader(self, call: Call, params: typed.AppointLeaderParams):
        org = reach_service.organization(call, params["organization_id"], lock="update")
        self._appoint(call.tx, org, params)
        return self._leadership(call, org)

    def _appoint(self, tx, org: domain.Organization,
                 params: Mapping[str, Any]) -> tuple[dict, int | None]:
        """Put a person in a post of `org` (locked), filling the vacancy it fills; the
        leader and the vacancy filled (or None)."""
        in_post = store.posts_in_post(tx, org.stored_id)
        domain.check_appointment(org, params["post"], params["method"], params["from_unit"], in_post)
        vacancy = domain.vacancy_to_fill(org, params["post"], params["vacancy_id"],
                                         store.open_vacancy_rows(tx, org.stored_id),
                                         params["started_on"])
        leader = store.insert_leader(tx, {"external_ref": None, **params,
                                          "organization_id": org.id})
        changes = {"appointed": {k: leader[k] for k in ("post", "name", "method", "started_on")}}
        if vacancy is not None:
            store.fill_vacancy(tx, vacancy["id"], leader)
            changes["filled_vacancy"] = vacancy["id"]
        tx.audit("leader", leader["id"], changes)
        return leader, None if vacancy is None else vacancy["id"]

    @handles("cadres", "cadre_placed")
    def on_cadre_placed(self, tx, event):
        """The cadres service placed a person in a village party organization's post:
        appointed here once per placement, however often the event is delivered."""
        data = event["data"]
        store.lock_reference(tx, data["external_ref"])  # two deliveries at once take turns
        if store.leader_id_by_ref(tx, data["external_ref"]) is not None:
            return  # appointed already (the same placement, delivered anew)
        params = {"post": data["post"], "name": data["name"], "sex": data["sex"],
                  "birth_date": data["birth_date"], "from_unit": None,
                  "method": "college_graduate_official" if data["college_graduate_official"]
                  else "election", "started_on": data["placed_on"], "vacancy_id": None,
                  "external_ref": data["external_ref"]}
        try:
            org = store.get_organization(tx, data["organization_id"], lock="update")
            leader, vacancy_id = self._appoint(tx, org, params)
        except (ValidationError, Conflict, NotFound) as refusal:
            # No retry can change the answer: tell cadres instead of dead-lettering it.
            tx.emit(domain.cadre_placement_refused(data["external_ref"], refusal))
            ignore(self.name, "on_cadre_placed", "refused", event)
            return
        tx.emit(domain.cadre_placement_applied(data["external_ref"], org.stored_id, leader["id"],
                                               vacancy_id))

    @operation
    def end_leader(self, call: Call, params: typed.EndLeaderParams):
        leader, org = reach_service.leader(call, params["leader_id"], lock="update")
        domain.check_leader_leaving(leader, params["ended_on"])
        store.end_leader(call.tx, leader["id"], params["ended_on"], params["reason"])
        in_post = store.posts_in_post(call.tx, org.stored_id)
        open_posts = [v["post"] for v in store.open_vacancy_rows(call.tx, org.stored_id)]
        posts = domain.vacancies_after_leaving(org, leader["post"], in_post, open_posts)
        opened = store.open_vacancies(call.tx, org.stored_id, posts, params["reason"],
                                      params["ended_on"])
        call.tx.audit("leader", leader["id"], {"ended_on": params["ended_on"],
                                               "reason": params["reason"],
                                               "vacancies_opened": [v["id"] for v in opened]})
        return self._leadership(call, org)

    @operation
    def incomplete_teams(self, call: Call, params: typed.IncompleteTeamsParams):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        with call.tx.snapshot():
            rows, cursor = store.incomplete_teams(call.tx, place_code, limit=params["limit"],
                                                  after=params["after"])
            by_child = store.team_counts_by_child(call.tx, place_code)
        items = [{**row, "problems": [{"code": p} for p in domain.team_problems_of_row(row)]}
                 for row in rows]
        return {
            "place_code": place_code,
            "organizations": sum(c["organizations"] for c in by_child),
            "incomplete": sum(c["incomplete"] for c in by_child),
            "by_child_place": by_child, "items": items, "next_cursor": _cursor(cursor),
        }

    # -- township organizers -------------------------------------------------------------
    @operation
    def appoint_organizer(self, call: Call, params: typed.AppointOrganizerParams):
        call.principal.require_place(params["place_code"])
        reach_service.known_place(call.tx, params["place_code"])
        domain.check_organizer_place(params["place_code"])
        organizer = store.insert_organizer(call.tx, params)
        call.tx.audit("organizer", organizer["id"], {"appointed": {
            "place_code": organizer["place_code"], "name": organizer["name"],
            "appointed_on": organizer["appointed_on"]}})
        return organizer

    @operation
    def end_organizer(self, call: Call, params: typed.EndOrganizerParams):
        organizer = reach_service.organizer(call, params["organizer_id"])
        domain.check_organizer_leaving(organizer, params["ended_on"])
        organizer = store.end_organizer(call.tx, organizer["id"], params["ended_on"])
        call.tx.audit("organizer", organizer["id"], {"ended_on": params["ended_on"]})
        return organizer

    @operation
    def list_organizers(self, call: Call, params: typed.ListOrganizersParams):
        call.principal.require_place(params["place_code"])
        return {"items": store.organizers_in_post(call.tx, params["place_code"])}

    @operation
    def townships_without_organizer(self, call: Call,
                                    params: typed.TownshipsWithoutOrganizerParams):
        call.principal.require_place(params["place_code"])
        townships, short = domain.organizer_coverage(
            store.townships_with_organizer_counts(call.tx, params["place_code"]), self.rules)
        return {"place_code": params["place_code"],
                "rules": self.rules.as_report("organizers_per_township", "organizer_township_kinds"),
                "townships": len(townships), "short": len(short), "items": short}

    # -- bulk import (shared/platform/imports.py) -------------------------------------------------
    start_import, get_import = import_operations(operation, lambda: IMPORTERS)

    # -- audit trail ---------------------------------------------------------------------
    @operation
    def audit_trail(self, call: Call, params: typed.AuditTrailParams):
        entity_type, entity_id = params["entity_type"], params["entity_id"]
        reach_service.audited(call, entity_type, entity_id)
        return {"items": store.audit_trail(call.tx, entity_type, entity_id)}


def _unknown_parent(parent_id: int) -> ValidationError:
    """A parent that is not there, or not the caller's to see: one answer for both."""
    return ValidationError("unknown parent", {"parent_id": [f"no organization {parent_id}"]})


# What start_import takes, by kind: rows of register_organization's params. The
# database would let one file register an organization twice, so the file may not.
IMPORTERS: dict[str, Importer] = {
    "organizations": Importer.single(
        contract.SERVICE, "register_organization", OrganizationsService._register_organization,
        apply_many=OrganizationsService._register_organizations,
        key=lambda org: (org["place_code"], domain.name_key(org["name"])), key_field="name"),
}

SERVICE = OrganizationsService
