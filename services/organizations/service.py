"""The organizations service: places, party organizations, leadership and township
organizers over nameko RPC (contract: shared/contracts/organizations.py).

Thin on purpose: each method checks jurisdiction, calls domain rules and the store.
Rectification's entrypoints are mixed in from rectification_service.py.
Authentication, input validation, the transaction, idempotency and the result's shape
come from shared.platform.entrypoints; events leave through the outbox (shared.platform.outbox)."""

from __future__ import annotations

import datetime as dt

from services.organizations import domain, excellence_store, store
from services.organizations.excellence_service import ExcellenceEntrypoints
from services.organizations.rectification_service import RectificationEntrypoints
from shared.contracts import organizations as contract
from shared.contracts.common import encode_cursor
from shared.domain.events import Event
from shared.errors import Conflict, NotFound, ValidationError
from shared.national import regions
from shared.platform import entrypoints
from shared.platform.auth import CallerIdentity, Principal
from shared.platform.db import Database
from shared.platform.events import handles, ignore
from shared.platform.imports import Importer, ImportJobs, import_operations
from shared.platform.monitoring import Monitoring
from shared.platform.outbox import OutboxRelay
from shared.platform.rules import RuleSet

operation = entrypoints.operations(contract.SERVICE)
SNAPSHOT_BATCH = 1000  # places or organizations per snapshot event


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
    def import_places(self, call, params):
        rows, errors, seen = [], {}, set()
        for index, place in enumerate(params["places"]):
            code = regions.parse(place["code"])
            if code.code in seen:
                errors[index] = {"code": [f"{code.code} appears twice in this batch"]}
                continue
            seen.add(code.code)
            call.principal.require_place(code.code)
            rows.append({"code": code.code, "name": place["name"].strip(), "level": code.level,
                         "kind": code.kind, "parent_code": code.parent})
        parents = {r["parent_code"] for r in rows if r["parent_code"]} - seen
        known = store.place_names(call.tx, parents)
        for index, row in enumerate(rows):
            if row["parent_code"] and row["parent_code"] not in seen | known.keys():
                errors.setdefault(index, {})["code"] = [
                    f"parent {row['parent_code']} is neither known nor in this batch"]
        if errors:
            raise ValidationError("some places cannot be imported", {"places": errors})
        rows.sort(key=lambda r: r["code"])  # a parent's code sorts before its children's
        changed = store.upsert_places(call.tx, rows)
        call.tx.audit_many("place", [
            *((code, {"created": True}) for code in changed["created"]),
            *((code, {"name": diff}) for code, diff in changed["renamed"].items()),
        ])
        touched = set(changed["created"]) | changed["renamed"].keys()
        if touched:
            call.tx.emit(Event("places_imported", {"places": [
                {k: row[k] for k in ("code", "name", "level", "parent_code")}
                for row in rows if row["code"] in touched]}))
        return {"created": len(changed["created"]), "renamed": len(changed["renamed"]),
                "unchanged": changed["unchanged"]}

    @operation
    def publish_snapshot(self, call, params):
        """Places and organizations again, as events, for a service that came later."""
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        places = store.places_in(call.tx, place_code)
        orgs = store.organizations_in(call.tx, place_code)
        events = 0
        for start in range(0, len(places), SNAPSHOT_BATCH):
            call.tx.emit(Event("places_imported", {"places": places[start:start + SNAPSHOT_BATCH]}))
            events += 1
        for start in range(0, len(orgs), SNAPSHOT_BATCH):
            call.tx.emit(Event("organizations_snapshot", {
                "organizations": [org.snapshot() for org in orgs[start:start + SNAPSHOT_BATCH]]}))
            events += 1
        # The service-oriented creations too: evaluation surveys them (its handler
        # ignores a creation it holds already).
        for creation in excellence_store.creations_in(call.tx, place_code):
            call.tx.emit(Event("service_creation_entered", creation))
            events += 1
        call.tx.audit("place", place_code, {"snapshot_published": {
            "places": len(places), "organizations": len(orgs)}})
        return {"places": len(places), "organizations": len(orgs), "events": events}

    # Place names are reference data: any caller with the read role may look them up,
    # jurisdiction or not (a county's staff need their province's name in a path).
    @operation
    def get_place(self, call, params):
        return store.get_place(call.tx, params["place_code"])

    @operation
    def list_children(self, call, params):
        store.get_place(call.tx, params["place_code"])
        return {"items": store.children(call.tx, params["place_code"])}

    @operation
    def place_path(self, call, params):
        store.get_place(call.tx, params["place_code"])
        return {"items": store.path(call.tx, params["place_code"])}

    # -- organizations --------------------------------------------------------------
    def _dump(self, org: domain.Organization) -> dict:
        values = vars(org).copy()
        values["flags"] = org.flags(self.rules, dt.date.today())
        return values

    def _place_must_exist(self, call, code: str) -> dict:
        try:
            return store.get_place(call.tx, code)
        except NotFound:
            raise ValidationError("unknown place", {"place_code": [f"no place {code}"]}) from None

    def _check_parent(self, call, org: domain.Organization, *, named: bool) -> None:
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
            call.principal.require_visible(parent.place_code, _unknown_parent(parent.id))
        domain.check_parent(org, parent, store.ancestor_ids(call.tx, parent.id))

    def _check_new_parents(self, tx, orgs: list[domain.Organization],
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

    def _organization_in_reach(self, call, organization_id: int, *, lock: str | None = None):
        org = store.get_organization(call.tx, organization_id, lock=lock)
        call.principal.require_visible(org.place_code, store.missing_organization(organization_id))
        return org

    def _leader_in_reach(self, call, leader_id: int, *, lock: str | None = None):
        """The leader and its organization (locked with `lock`); a leader of an
        organization outside the jurisdiction is no such leader."""
        leader = store.get_leader(call.tx, leader_id)
        org = store.get_organization(call.tx, leader["organization_id"], lock=lock)
        call.principal.require_visible(org.place_code, store.missing_leader(leader_id))
        if lock:
            leader = store.get_leader(call.tx, leader_id)  # as it is under the lock
        return leader, org

    def _organizer_in_reach(self, call, organizer_id: int) -> dict:
        organizer = store.get_organizer(call.tx, organizer_id)
        call.principal.require_visible(organizer["place_code"], store.missing_organizer(organizer_id))
        return organizer

    @operation
    def register_organization(self, call, params):
        return self._dump(self._register_organization(call, params))

    def _register_organization(self, call, params) -> domain.Organization:
        """register_organization's whole path; an import runs it for a row it replays."""
        return self._register_organizations(call, [params])[0]

    def _register_organizations(self, call, rows: list[dict]) -> list[domain.Organization]:
        """register_organization's path for many (an import's chunk): all or an error."""
        for values in rows:
            call.principal.require_place(values["place_code"])
        return self._register(call.tx, rows, call.principal)

    def _register(self, tx, rows: list[dict],
                  principal: Principal | None = None) -> list[domain.Organization]:
        orgs = [domain.register(values, self.rules) for values in rows]
        self._check_new_parents(tx, orgs, principal)
        store.insert_organizations(tx, orgs)  # refuses an unknown place
        seats = {org.id: domain.vacancy_posts_to_open(org, [], []) for org in orgs}
        store.defer_vacancies(tx, seats, "unfilled", dt.date.today())
        tx.audit_many("organization", [
            (org.id, {"registered": org.snapshot(), "vacancies_opened": len(seats[org.id])})
            for org in orgs])
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
            if not store.place_names(tx, {values["place_code"]}):
                # refused here: the insert's foreign key would refuse it too, but leave
                # the transaction unusable for the refusal below
                raise ValidationError("unknown place", {"place_code": [
                    f"no place {values['place_code']}"]})
            self._register(tx, [values])  # Conflict: the name is taken at that place
        except (ValidationError, Conflict) as refusal:
            # No retry can change the answer: say so to npe instead of dead-lettering it.
            tx.emit(Event("enterprise_org_refused", {
                "external_ref": data["external_ref"], "message": refusal.message,
                "details": refusal.details}))
            ignore(self.name, "on_enterprise_org_established", "refused", event)

    @operation
    def update_organization(self, call, params):
        org = self._organization_in_reach(call, params.pop("organization_id"), lock="update")
        read_version = params.pop("version")
        _require_version(org, read_version)
        if "place_code" in params and params["place_code"] != org.place_code:
            call.principal.require_place(params["place_code"])
            self._place_must_exist(call, params["place_code"])
        new, diff = domain.update(org, params, self.rules)
        if not diff:
            return self._dump(org)
        if {"parent_id", "place_code", "kind"} & diff.keys():
            self._check_parent(call, new, named="parent_id" in diff)
        for changed in ("kind", "place_code"):
            if changed in diff:
                domain.check_children(new, store.active_children(call.tx, new.id), changed)
        if {"name", "place_code"} & diff.keys():
            store.require_name_free(call.tx, new)  # (the unique index holds it against a race)
        store.save_organization(call.tx, new, read_version)
        if "committee_size" in diff:
            diff["vacancies"] = self._reconcile_vacancies(call, new)
        call.tx.audit("organization", new.id, diff)
        return self._dump(store.get_organization(call.tx, new.id))

    def _reconcile_vacancies(self, call, org: domain.Organization) -> dict:
        """After the committee grew or shrank: open or cancel vacancies to match."""
        in_post = store.posts_in_post(call.tx, org.id)
        open_ = store.open_vacancy_rows(call.tx, org.id)
        opened = store.open_vacancies(
            call.tx, org.id, domain.vacancy_posts_to_open(org, in_post, [v["post"] for v in open_]),
            "unfilled", dt.date.today())
        surplus = domain.surplus_vacancies(org, in_post, [v["post"] for v in open_])
        newest_first = [v["id"] for v in reversed(open_) if v["post"] != "secretary"]
        cancelled = store.cancel_vacancies(call.tx, newest_first[:surplus])
        return {"opened": [v["id"] for v in opened], "cancelled": cancelled}

    @operation
    def dissolve_organization(self, call, params):
        org = self._organization_in_reach(call, params["organization_id"], lock="update")
        _require_version(org, params["version"])
        new, diff = domain.dissolve(org, params["effective_on"], params["reason"],
                                    len(store.active_children(call.tx, org.id)))
        store.save_organization(call.tx, new, params["version"])
        diff["leadership"] = store.end_all_leadership(call.tx, org.id, params["effective_on"])
        call.tx.audit("organization", org.id, diff)
        return self._dump(store.get_organization(call.tx, org.id))

    @operation
    def merge_organization(self, call, params):
        source_id, target_id = params["organization_id"], params["into_organization_id"]
        # Lock both rows in id order, so two crossing merges cannot deadlock.
        for organization_id in sorted({source_id, target_id}):
            self._organization_in_reach(call, organization_id, lock="update")
        source = store.get_organization(call.tx, source_id)
        target = store.get_organization(call.tx, target_id)
        _require_version(source, params["version"])
        merged, grown = domain.merge(source, target, params["effective_on"], params["reason"],
                                     len(store.active_children(call.tx, source.id)))
        store.save_organization(call.tx, merged, source.version)
        store.save_organization(call.tx, grown, target.version)
        leadership = store.end_all_leadership(call.tx, source.id, params["effective_on"])
        call.tx.audit("organization", source.id, {"merged_into": target.id,
                                                  "reason": params["reason"],
                                                  "leadership": leadership})
        call.tx.audit("organization", target.id, {
            "absorbed": source.id,
            "full_members": {"old": target.full_members, "new": grown.full_members}})
        return self._dump(store.get_organization(call.tx, target.id))

    @operation
    def get_organization(self, call, params):
        return self._dump(self._organization_in_reach(call, params["organization_id"]))

    @operation
    def list_organizations(self, call, params):
        call.principal.require_place(params["place_code"])
        items, cursor = store.organization_page(
            call.tx, params["place_code"], kind=params["kind"], sector=params["sector"],
            status=params["status"], grade=params["grade"], limit=params["limit"],
            after=params["after"])
        return {"items": [self._dump(org) for org in items], "next_cursor": _cursor(cursor)}

    @operation
    def reelection_due(self, call, params):
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
    def _leadership(self, call, org: domain.Organization) -> dict:
        people = store.leaders(call.tx, org.id)
        vacancies = store.vacancies(call.tx, org.id)
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
    def get_leadership(self, call, params):
        with call.tx.snapshot():
            org = self._organization_in_reach(call, params["organization_id"])
            return self._leadership(call, org)

    @operation
    def appoint_leader(self, call, params):
        org = self._organization_in_reach(call, params["organization_id"], lock="update")
        self._appoint(call.tx, org, params)
        return self._leadership(call, org)

    def _appoint(self, tx, org: domain.Organization, params: dict) -> tuple[dict, int | None]:
        """Put a person in a post of `org` (locked), filling the vacancy it fills; the
        leader and the vacancy filled (or None)."""
        in_post = store.posts_in_post(tx, org.id)
        domain.check_appointment(org, params["post"], params["method"], params["from_unit"], in_post)
        vacancy = self._vacancy_to_fill(tx, org, params)
        leader = store.insert_leader(tx, {"external_ref": None, **params,
                                          "organization_id": org.id})
        changes = {"appointed": {k: leader[k] for k in ("post", "name", "method", "started_on")}}
        if vacancy is not None:
            store.fill_vacancy(tx, vacancy["id"], leader)
            changes["filled_vacancy"] = vacancy["id"]
        tx.audit("leader", leader["id"], changes)
        return leader, vacancy and vacancy["id"]

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
            tx.emit(Event("cadre_placement_refused", {
                "external_ref": data["external_ref"], "message": refusal.message,
                "details": refusal.details}))
            ignore(self.name, "on_cadre_placed", "refused", event)
            return
        tx.emit(Event("cadre_placement_applied", {
            "external_ref": data["external_ref"], "organization_id": org.id,
            "leader_id": leader["id"], "filled_vacancy_id": vacancy_id}))

    def _vacancy_to_fill(self, tx, org, params) -> dict | None:
        if params["post"] == "first_secretary":
            return None
        open_ = store.open_vacancy_rows(tx, org.id)
        if params["vacancy_id"] is not None:
            chosen = next((v for v in open_ if v["id"] == params["vacancy_id"]), None)
            if chosen is None or not domain.vacancy_matches(chosen["post"], params["post"]):
                raise ValidationError("no such open vacancy for this post", {
                    "vacancy_id": [f"vacancy {params['vacancy_id']} is not an open "
                                   f"{params['post']} vacancy of organization {org.id}"]})
            return chosen
        exact = [v for v in open_ if v["post"] == params["post"]]
        matching = exact or [v for v in open_ if domain.vacancy_matches(v["post"], params["post"])]
        return matching[0] if matching else None

    @operation
    def end_leader(self, call, params):
        leader, org = self._leader_in_reach(call, params["leader_id"], lock="update")
        if leader["ended_on"] is not None:
            raise Conflict(f"leader {leader['id']} already left on {leader['ended_on']}",
                           {"leader_id": leader["id"]})
        if params["ended_on"] < leader["started_on"]:
            raise ValidationError("a post cannot end before it started",
                                  {"ended_on": [f"before started_on {leader['started_on']}"]})
        store.end_leader(call.tx, leader["id"], params["ended_on"], params["reason"])
        in_post = store.posts_in_post(call.tx, org.id)
        open_posts = [v["post"] for v in store.open_vacancy_rows(call.tx, org.id)]
        posts = domain.vacancies_after_leaving(org, leader["post"], in_post, open_posts)
        opened = store.open_vacancies(call.tx, org.id, posts, params["reason"], params["ended_on"])
        call.tx.audit("leader", leader["id"], {"ended_on": params["ended_on"],
                                               "reason": params["reason"],
                                               "vacancies_opened": [v["id"] for v in opened]})
        return self._leadership(call, org)

    @operation
    def incomplete_teams(self, call, params):
        place_code = params["place_code"]
        call.principal.require_place(place_code)
        with call.tx.snapshot():
            rows, cursor = store.incomplete_teams(call.tx, place_code, limit=params["limit"],
                                                  after=params["after"])
            by_child = store.team_counts_by_child(call.tx, place_code)
        items = [{**row, "problems": [{"code": p} for p in _team_problems(row)]} for row in rows]
        return {
            "place_code": place_code,
            "organizations": sum(c["organizations"] for c in by_child),
            "incomplete": sum(c["incomplete"] for c in by_child),
            "by_child_place": by_child, "items": items, "next_cursor": _cursor(cursor),
        }

    # -- township organizers -------------------------------------------------------------
    @operation
    def appoint_organizer(self, call, params):
        call.principal.require_place(params["place_code"])
        self._place_must_exist(call, params["place_code"])
        if regions.level_of(params["place_code"]) != "township":
            raise ValidationError("organizers serve townships", {
                "place_code": ["must be a township (乡镇、街道): organizers serve townships"]})
        organizer = store.insert_organizer(call.tx, params)
        call.tx.audit("organizer", organizer["id"], {"appointed": {
            "place_code": organizer["place_code"], "name": organizer["name"],
            "appointed_on": organizer["appointed_on"]}})
        return organizer

    @operation
    def end_organizer(self, call, params):
        organizer = self._organizer_in_reach(call, params["organizer_id"])
        if organizer["ended_on"] is not None:
            raise Conflict(f"organizer {organizer['id']} already left on {organizer['ended_on']}",
                           {"organizer_id": organizer["id"]})
        if params["ended_on"] < organizer["appointed_on"]:
            raise ValidationError("cannot leave before being appointed",
                                  {"ended_on": [f"before appointed_on {organizer['appointed_on']}"]})
        organizer = store.end_organizer(call.tx, organizer["id"], params["ended_on"])
        call.tx.audit("organizer", organizer["id"], {"ended_on": params["ended_on"]})
        return organizer

    @operation
    def list_organizers(self, call, params):
        call.principal.require_place(params["place_code"])
        return {"items": store.organizers_in_post(call.tx, params["place_code"])}

    @operation
    def townships_without_organizer(self, call, params):
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
    def audit_trail(self, call, params):
        entity_type, entity_id = params["entity_type"], params["entity_id"]
        self._audited_in_reach(call, entity_type, entity_id)
        return {"items": store.audit_trail(call.tx, entity_type, entity_id)}

    def _audited_in_reach(self, call, entity_type: str, entity_id: str) -> None:
        """The audited entity is the caller's to see: a place (public) within the
        jurisdiction, a record as each of its own methods finds it."""
        if entity_type == "place":
            call.principal.require_place(store.get_place(call.tx, entity_id)["code"])
            return
        if not entity_id.isdigit():
            raise ValidationError("bad entity id", {"entity_id": ["must be a number"]})
        number = int(entity_id)
        if entity_type == "organization":
            self._organization_in_reach(call, number)
        elif entity_type == "organizer":
            self._organizer_in_reach(call, number)
        elif entity_type == "rectification_case":
            self._case_in_reach(call, number)
        else:
            self._leader_in_reach(call, number)


def _unknown_parent(parent_id: int) -> ValidationError:
    """A parent that is not there, or not the caller's to see: one answer for both."""
    return ValidationError("unknown parent", {"parent_id": [f"no organization {parent_id}"]})


def _require_version(org: domain.Organization, read_version: int) -> None:
    if org.version != read_version:
        raise Conflict(
            f"organization {org.id} is at version {org.version}, you read {read_version}; "
            "read it again (数据已被他人修改，请刷新后重试)",
            {"organization_id": org.id, "current_version": org.version,
             "your_version": read_version})


def _team_problems(row: dict) -> list[str]:
    """domain.team_problems on a report row's counts."""
    in_post = ["secretary"] * row["secretaries"]
    in_post += ["committee_member"] * (row["committee"] - row["secretaries"])
    return domain.team_problems(row["committee_size"], in_post, row["open_vacancies"])


# What start_import takes, by kind: rows of register_organization's params. The
# database would let one file register an organization twice, so the file may not.
IMPORTERS = {
    "organizations": Importer.single(
        contract.SERVICE, "register_organization", OrganizationsService._register_organization,
        apply_many=OrganizationsService._register_organizations,
        key=lambda org: (org["place_code"], domain.name_key(org["name"])), key_field="name"),
}

SERVICE = OrganizationsService
