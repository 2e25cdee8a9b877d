"""The npe service with the organizations registry, on the real broker and databases."""

import datetime as dt
import json
import random
import shutil
import threading
import uuid
from decimal import ROUND_DOWN, Decimal

import kombu
import psycopg2
import psycopg2.errors
import pytest

from shared.errors import Conflict, Forbidden, JinweiError, NotFound, ValidationError
from shared.national import credit_code
from shared.platform import config
from tests.support import (
    PROVINCE,
    SUICHANG,
    XIHU,
    eventually,
    publish_event,
    rpc,
    sample_places,
    services_running,
    sql_value,
    token,
)

TODAY = dt.date.today().isoformat()
INDUSTRIES = ["C", "F", "I", "E", "H"]
LIANDU = "331102000000"  # 莲都区: the report test's own county, so other tests cannot skew it


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "npe", "organizations", "npe") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG, LIANDU))
            eventually(lambda: _npe_knows(proxy, SUICHANG) and _npe_knows(proxy, LIANDU))
        yield running


def _npe_knows(proxy, place):
    return proxy.npe.coverage_report(place_code=place)["by_child_place"]


@pytest.fixture
def proxy(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        yield proxy


def new_code(rng=random):
    first17 = "91" + "331123" + "".join(rng.choice(credit_code.CHARSET) for _ in range(9))
    return credit_code.with_check_character(first17)


def enterprise(place, code=None, **overrides):
    values = {"credit_code": code or new_code(), "name": f"企业{uuid.uuid4().hex[:8]}",
              "place_code": place, "industry": "C", "size": "small", "employees": 50,
              "full_members": 2}
    values.update(overrides)
    return values


def village_places(proxy, county=SUICHANG):
    townships = [p["code"] for p in proxy.organizations.list_children(place_code=county)["items"]]
    return townships, {t: [v["code"] for v in proxy.organizations.list_children(place_code=t)["items"]]
                       for t in townships}


def test_a_generated_county_coverage_report_matches_numbers_computed_here(stack, proxy):
    rng = random.Random(2012)
    townships = [p["code"] for p in proxy.organizations.list_children(place_code=LIANDU)["items"]]
    spots = townships + [LIANDU]  # enterprises at township level, and some at the county
    rows = []
    for _ in range(2500):
        rows.append(enterprise(rng.choice(spots), new_code(rng),
                               industry=rng.choice(INDUSTRIES),
                               operating_status=rng.choices(["operating", "suspended", "closed"],
                                                            [85, 10, 5])[0],
                               full_members=rng.choices([0, 1, 2, 3, 5, 9], [30, 20, 15, 15, 12, 8])[0],
                               employees=rng.randrange(5, 2000)))
    for start in range(0, len(rows), 1250):
        imported = proxy.npe.import_enterprises(enterprises=rows[start:start + 1250])
        assert imported == {"created": 1250, "updated": 0}
    operating = [r for r in rows if r["operating_status"] == "operating"]
    coverage = {r["credit_code"]: set() for r in rows}
    work = set()

    # own organizations for some with ≥ 3 members
    for row in rng.sample([r for r in operating if r["full_members"] >= 3], 120):
        proxy.npe.establish_organization(kind="own", name=f"{row['name']}党支部",
                                         place_code=row["place_code"],
                                         credit_codes=[row["credit_code"]],
                                         full_members=row["full_members"], founded_on=TODAY)
        coverage[row["credit_code"]].add("own")
    # joint branches of small ones in the same township
    free = [r for r in operating if not coverage[r["credit_code"]]]
    for township in townships[:6]:
        local = [r for r in free if r["place_code"] == township][:4]
        if len(local) >= 2:
            proxy.npe.establish_organization(kind="joint", name="联合党支部", place_code=township,
                                             credit_codes=[r["credit_code"] for r in local],
                                             full_members=4, founded_on=TODAY)
            for r in local:
                coverage[r["credit_code"]].add("joint")
    # a regional organization in a township's park, an industry one across the county
    park = [r for r in operating if r["place_code"] == townships[7]][:30]
    proxy.npe.establish_organization(kind="regional", name="工业园区党委", place_code=townships[7],
                                     credit_codes=[r["credit_code"] for r in park],
                                     full_members=40, org_kind="611", founded_on=TODAY)
    for r in park:
        coverage[r["credit_code"]].add("regional")
    trade = rng.sample([r for r in operating if r["industry"] == "H"], 25)
    proxy.npe.establish_organization(kind="industry", name="餐饮行业党支部", place_code=LIANDU,
                                     credit_codes=[r["credit_code"] for r in trade],
                                     full_members=12, founded_on=TODAY)
    for r in trade:
        coverage[r["credit_code"]].add("industry")
    # instructors for some of the rest
    for row in rng.sample([r for r in operating if not coverage[r["credit_code"]]], 200):
        proxy.npe.assign_work_coverage(credit_code=row["credit_code"], role="instructor",
                                       person="指导员", assigned_on=TODAY)
        work.add(row["credit_code"])

    order = ["own", "joint", "regional", "industry"]

    def best(row):
        kinds = coverage[row["credit_code"]]
        return next((k for k in order if k in kinds),
                    "work" if row["credit_code"] in work else "none")

    def expected(selection):
        ops = [r for r in selection if r["operating_status"] == "operating"]
        counts = {k: sum(1 for r in ops if best(r) == k) for k in [*order, "work", "none"]}
        organizational = sum(counts[k] for k in order)

        def rate(n):
            return str((Decimal(n) / len(ops)).quantize(Decimal("0.0001"), ROUND_DOWN)) if ops else None

        return {"enterprises": len(selection), "operating": len(ops), "own": counts["own"],
                "organizational": organizational, "work": counts["work"],
                "uncovered": counts["none"],
                "due_own": sum(1 for r in ops if r["full_members"] >= 3 and best(r) != "own"),
                "own_rate": rate(counts["own"]), "organizational_rate": rate(organizational),
                "work_rate": rate(counts["work"]),
                "total_rate": rate(organizational + counts["work"])}

    def got(row):
        return {k: row[k] for k in ("enterprises", "operating", "own", "organizational", "work",
                                    "uncovered", "due_own", "own_rate", "organizational_rate",
                                    "work_rate", "total_rate")}

    report = proxy.npe.coverage_report(place_code=LIANDU)
    assert got(report["total"]) == expected(rows)
    for child in report["by_child_place"]:
        mine = [r for r in rows if r["place_code"] == child["place_code"]]
        assert got(child) == expected(mine), child["place_code"]
    assert {c["place_code"] for c in report["by_child_place"]} == set(townships) | {LIANDU}
    uncovered = sorted((r["name"], r["credit_code"]) for r in operating if best(r) == "none")
    assert [(u["name"], u["credit_code"]) for u in report["uncovered"]] == uncovered[:200]
    assert paged(proxy.npe.uncovered_enterprises, LIANDU) == uncovered
    due = sorted((r["name"], r["credit_code"]) for r in operating
                 if r["full_members"] >= 3 and best(r) != "own")
    assert [(d["name"], d["credit_code"]) for d in report["due_own"]] == due[:200]
    assert paged(proxy.npe.due_own_organization, LIANDU) == due


def paged(listing, place):
    seen, cursor = [], None
    while True:
        page = listing(place_code=place, limit=150, after=cursor)
        seen += [(item["name"], item["credit_code"]) for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            return seen


def test_invalid_credit_codes_are_refused_per_field_and_duplicates_conflict(stack, proxy):
    townships, villages = village_places(proxy)
    good = enterprise(villages[townships[0]][0], "91350100M000100Y43")
    for bad, says in (("91350100M000100Y44", "check character"),
                      ("91350100M000100Y4", "18 characters"),
                      ("91350100m000100y43", "capitals")):
        with pytest.raises(ValidationError) as caught:
            proxy.npe.register_enterprise(**{**good, "credit_code": bad})
        assert says in caught.value.details["credit_code"][0]
    created = proxy.npe.register_enterprise(**good)
    assert created["coverage"] == "none" and created["coverage_label"] == "未覆盖"
    with pytest.raises(Conflict):
        proxy.npe.register_enterprise(**{**good, "name": "另一家"})
    with pytest.raises(ValidationError) as caught:
        proxy.npe.import_enterprises(enterprises=[good, good])
    assert "enterprises" in caught.value.details
    updated = proxy.npe.update_enterprise(credit_code=good["credit_code"], version=1,
                                          full_members=4)
    assert updated["version"] == 2 and updated["due_own_organization"] is True
    with pytest.raises(Conflict):
        proxy.npe.update_enterprise(credit_code=good["credit_code"], version=1, full_members=5)


def registry_count(stack, external_ref):
    conn = psycopg2.connect(stack.urls["organizations"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM organizations WHERE external_ref = %s", (external_ref,))
            return cur.fetchone()[0]
    finally:
        conn.close()


def handled(stack, event_id):
    conn = psycopg2.connect(stack.urls["organizations"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM inbox WHERE event_id = %s", (event_id,))
            return cur.fetchone()[0] == 1
    finally:
        conn.close()


def test_an_enterprise_organization_exists_once_in_the_registry(stack, proxy):
    amqp = stack.settings.amqp_uri
    queue = kombu.Queue(f"npe-capture-{uuid.uuid4().hex[:6]}", durable=True,
                        exchange=kombu.Exchange("npe.events", type="topic", durable=True),
                        routing_key="enterprise_org_established")
    with kombu.Connection(amqp) as conn:
        queue(conn.channel()).declare()
    townships, villages = village_places(proxy)
    small = [proxy.npe.register_enterprise(**enterprise(villages[townships[2]][i]))
             for i in range(3)]
    joint = proxy.npe.establish_organization(
        kind="joint", name="三家企业联合党支部", place_code=townships[2],
        credit_codes=[e["credit_code"] for e in small], full_members=5, founded_on=TODAY)
    ref = f"npe:{joint['id']}"
    linked = eventually(lambda: proxy.npe.get_establishment(
        establishment_id=joint["id"])["organization_id"])
    registered = proxy.organizations.get_organization(organization_id=linked)
    assert (registered["kind"], registered["sector"]) == ("632", "non_public_enterprise")
    assert sorted(registered["units"]) == sorted(f"{e['name']}（{e['credit_code']}）"
                                                 for e in small)
    assert registry_count(stack, ref) == 1
    assert all(proxy.npe.get_enterprise(credit_code=e["credit_code"])["coverage"] == "joint"
               for e in small)

    with kombu.Connection(amqp) as conn:
        message = conn.channel().basic_get(queue.name, no_ack=True)
    body = json.loads(message.body)
    for event_id in (body["id"], str(uuid.uuid4())):  # the same delivery, and a new one
        publish_event(stack.settings, {**body, "id": event_id})
    new_id = event_id
    eventually(lambda: handled(stack, new_id))  # the new delivery has been through
    assert registry_count(stack, ref) == 1


def error_of(call) -> tuple:
    """What a call raises, all a caller can tell of it: the type, the message, the details."""
    with pytest.raises(JinweiError) as raised:
        call()
    return type(raised.value), raised.value.message, raised.value.details


def test_a_county_principal_sees_and_changes_only_its_own_enterprises(stack, proxy, token_secret):
    townships, villages = village_places(proxy)
    mine = proxy.npe.register_enterprise(**enterprise(villages[townships[3]][0]))
    xihu_village = proxy.organizations.list_children(place_code="330106002000")["items"][0]["code"]
    theirs = proxy.npe.register_enterprise(**enterprise(xihu_village, full_members=3))
    also_theirs = proxy.npe.register_enterprise(**enterprise(xihu_village))
    with rpc(stack.settings, token(token_secret, place=SUICHANG,
                                   roles=("npe.read", "npe.write"))) as county:
        assert county.npe.get_enterprise(credit_code=mine["credit_code"])["name"] == mine["name"]
        # a place the caller names is public: outside its jurisdiction, Forbidden
        for call in (lambda: county.npe.coverage_report(place_code=XIHU),
                     lambda: county.npe.register_enterprise(**enterprise("330106002001"))):
            with pytest.raises(Forbidden):
                call()
        # a record it names there is not found, as if it did not exist
        for call in (lambda: county.npe.get_enterprise(credit_code=theirs["credit_code"]),
                     lambda: county.npe.update_enterprise(credit_code=theirs["credit_code"],
                                                          version=1, employees=1),
                     lambda: county.npe.assign_work_coverage(
                         credit_code=theirs["credit_code"], role="liaison", person="x",
                         assigned_on=TODAY),
                     lambda: county.npe.establish_organization(
                         kind="regional", name="跨县", place_code=SUICHANG,
                         credit_codes=[mine["credit_code"], theirs["credit_code"]],
                         full_members=5, founded_on=TODAY)):
            with pytest.raises(NotFound):
                call()
        # importing another county's code with a place of ours takes nothing over: it is
        # a record of our own, as for a code registered nowhere (a clash for the province)
        assert county.npe.import_enterprises(enterprises=[{
            **enterprise(mine["place_code"]), "credit_code": also_theirs["credit_code"]}]) == {
            "created": 1, "updated": 0}
        assert county.npe.get_enterprise(credit_code=also_theirs["credit_code"])[
            "place_code"] == mine["place_code"]
        listed = county.npe.list_enterprises(place_code=SUICHANG, limit=1000)["items"]
        assert all(e["place_code"].startswith("331123") for e in listed)
    assert proxy.npe.get_enterprise(credit_code=theirs["credit_code"])["version"] == 1
    untouched = proxy.npe.get_enterprise(credit_code=also_theirs["credit_code"],
                                         enterprise_id=also_theirs["id"])
    assert {k: untouched[k] for k in also_theirs} == also_theirs
    # calls that name a record by id check the record's place
    xihu_org = proxy.npe.establish_organization(
        kind="regional", name="西湖园区", place_code=XIHU, credit_codes=[theirs["credit_code"]],
        full_members=3, founded_on=TODAY)
    application = proxy.npe.apply_double_strong(credit_code=theirs["credit_code"], year=2026,
                                                applied_on=TODAY)
    training = proxy.npe.open_training_class(kind="other", title="西湖班", place_code=XIHU,
                                             starts_on=TODAY, sessions=1)
    assignment = proxy.npe.assign_work_coverage(credit_code=theirs["credit_code"],
                                                role="liaison", person="联络员",
                                                assigned_on=TODAY)
    lagging = proxy.npe.mark_lagging(establishment_id=xihu_org["id"], cause="other",
                                     noted_on=TODAY)
    entry = proxy.npe.enter_six_good(establishment_id=xihu_org["id"], year=2026)
    ours = proxy.npe.open_training_class(kind="other", title="遂昌班", place_code=SUICHANG,
                                         starts_on=TODAY, sessions=1)
    with rpc(stack.settings, token(token_secret, place=SUICHANG,
                                   roles=("npe.read", "npe.write"))) as county:
        for call in (lambda: county.npe.get_establishment(establishment_id=xihu_org["id"]),
                     lambda: county.npe.join_organization(establishment_id=xihu_org["id"],
                                                          credit_code=mine["credit_code"]),
                     lambda: county.npe.record_standard(establishment_id=xihu_org["id"],
                                                        item="team", met=True, checked_on=TODAY),
                     lambda: county.npe.advance_double_strong(application_id=application["id"],
                                                              status="cultivating", on=TODAY),
                     lambda: county.npe.get_training_class(class_id=training["id"]),
                     lambda: county.npe.enrol(class_id=ours["id"], person="x",
                                              credit_code=theirs["credit_code"]),
                     lambda: county.npe.end_work_coverage(assignment_id=assignment["id"],
                                                          ended_on=TODAY),
                     # a Conflict (being rectified already, recognized already) would say
                     # it exists: visibility comes first
                     lambda: county.npe.mark_lagging(establishment_id=xihu_org["id"],
                                                     cause="other", noted_on=TODAY),
                     lambda: county.npe.transform_lagging(lagging_id=lagging["id"],
                                                          transformed_on=TODAY),
                     lambda: county.npe.recognize_six_good(entry_id=entry["id"])):
            with pytest.raises(NotFound):
                call()
    # and changed nothing there
    assert proxy.npe.get_training_class(class_id=ours["id"])["enrolments"] == []
    assert proxy.npe.get_establishment(establishment_id=xihu_org["id"])["credit_codes"] == [
        theirs["credit_code"]]


def test_a_key_in_another_county_is_answered_as_one_that_does_not_exist(stack, proxy,
                                                                        token_secret):
    townships, villages = village_places(proxy)
    mine = proxy.npe.register_enterprise(**enterprise(villages[townships[6]][0]))["credit_code"]
    xihu_village = proxy.organizations.list_children(place_code="330106002000")["items"][1]["code"]
    anchor = proxy.npe.register_enterprise(**enterprise(xihu_village))["credit_code"]
    last = proxy.npe.establish_organization(kind="regional", name="西湖园区甲", place_code=XIHU,
                                            credit_codes=[anchor], full_members=3,
                                            founded_on=TODAY)["id"]
    code, never, establishment_id = new_code(), new_code(), last + 1

    def attempts(county):
        return [
            lambda: county.npe.get_enterprise(credit_code=code),
            lambda: county.npe.update_enterprise(credit_code=code, version=1, employees=1),
            lambda: county.npe.assign_work_coverage(credit_code=code, role="liaison",
                                                    person="x", assigned_on=TODAY),
            lambda: county.npe.apply_double_strong(credit_code=code, year=2026,
                                                   applied_on=TODAY),
            lambda: county.npe.contacts_of(credit_code=code),
            lambda: county.npe.record_contact(credit_code=code, kind="key_contact", leader="x",
                                              contact_on=TODAY, content="y"),
            lambda: county.npe.join_association(person="x", credit_code=code, joined_on=TODAY,
                                                role="council"),
            # several keys: the one elsewhere is listed with the missing, as a missing one
            lambda: county.npe.establish_organization(
                kind="regional", name="跨县", place_code=SUICHANG,
                credit_codes=[mine, code, never], full_members=5, founded_on=TODAY),
            lambda: county.npe.get_establishment(establishment_id=establishment_id),
            lambda: county.npe.standardization(establishment_id=establishment_id),
            lambda: county.npe.record_standard(establishment_id=establishment_id, item="team",
                                               met=True, checked_on=TODAY),
            lambda: county.npe.join_organization(establishment_id=establishment_id,
                                                 credit_code=mine),
            lambda: county.npe.leave_organization(establishment_id=establishment_id,
                                                  credit_code=code),
            lambda: county.npe.mark_lagging(establishment_id=establishment_id, cause="other",
                                            noted_on=TODAY),
            lambda: county.npe.enter_six_good(establishment_id=establishment_id, year=2026),
        ]

    with rpc(stack.settings, token(token_secret, place=SUICHANG,
                                   roles=("npe.read", "npe.write"))) as county:
        absent = [error_of(call) for call in attempts(county)]
        # now they exist, in Xihu: the enterprise, and an establishment that has it
        proxy.npe.register_enterprise(**enterprise(xihu_village, code=code))
        established = proxy.npe.establish_organization(
            kind="regional", name="西湖园区乙", place_code=XIHU, credit_codes=[code],
            full_members=3, founded_on=TODAY)
        assert established["id"] == establishment_id
        elsewhere = [error_of(call) for call in attempts(county)]
    assert all(kind is NotFound for kind, _, _ in absent)
    assert elsewhere == absent
    assert absent[0][2] == {"credit_code": code}
    assert absent[7][2] == {"credit_codes": sorted([code, never])}
    assert absent[8][2] == {"establishment_id": str(establishment_id)}  # nameko sends str()


def test_the_two_ends_standardization_training_and_the_association(stack, proxy):
    townships, villages = village_places(proxy)
    strong = proxy.npe.register_enterprise(**enterprise(villages[townships[4]][0], full_members=8,
                                                        dual_managed=True))
    plain = proxy.npe.register_enterprise(**enterprise(villages[townships[4]][1]))
    own = proxy.npe.establish_organization(kind="own", name="强企党支部",
                                           place_code=strong["place_code"],
                                           credit_codes=[strong["credit_code"]], full_members=8,
                                           founded_on=TODAY)
    # standardization
    check = proxy.npe.record_standard(establishment_id=own["id"], item="team", met=True,
                                      checked_on=TODAY)
    assert check["completion"] == "0.1666" and len(check["items"]) == 6  # 1 of 6, cut
    with pytest.raises(ValidationError):
        proxy.npe.record_standard(establishment_id=own["id"], item="nonsense", met=True,
                                  checked_on=TODAY)
    # double strong, step by step, with history
    application = proxy.npe.apply_double_strong(credit_code=strong["credit_code"], year=2026,
                                                applied_on=TODAY)
    with pytest.raises(Conflict):
        proxy.npe.advance_double_strong(application_id=application["id"], status="recognized",
                                        on=TODAY)
    proxy.npe.advance_double_strong(application_id=application["id"], status="cultivating",
                                    on=TODAY, note="列入培育")
    done = proxy.npe.advance_double_strong(application_id=application["id"], status="recognized",
                                           on=TODAY)
    assert [h["status"] for h in done["history"]] == ["applied", "cultivating", "recognized"]
    assert [a["id"] for a in proxy.npe.double_strong(place_code=SUICHANG, year=2026,
                                                     status="recognized")["items"]] == [done["id"]]
    # key contact only for dual-managed enterprises
    proxy.npe.record_contact(credit_code=strong["credit_code"], kind="key_contact",
                             leader="县委常委", contact_on=TODAY, content="走访调研")
    with pytest.raises(ValidationError):
        proxy.npe.record_contact(credit_code=plain["credit_code"], kind="direct_guidance",
                                 leader="x", contact_on=TODAY, content="y")
    # the lagging end
    lagging = proxy.npe.mark_lagging(establishment_id=own["id"], cause="weak_leadership",
                                     noted_on=TODAY)
    with pytest.raises(Conflict):
        proxy.npe.mark_lagging(establishment_id=own["id"], cause="other", noted_on=TODAY)
    assert proxy.npe.lagging(place_code=SUICHANG)["by_cause"]["weak_leadership"] >= 1
    assert proxy.npe.transform_lagging(lagging_id=lagging["id"],
                                       transformed_on=TODAY)["status"] == "transformed"
    # 双强六好
    entry = proxy.npe.enter_six_good(establishment_id=own["id"], year=2026)
    assert proxy.npe.recognize_six_good(entry_id=entry["id"])["status_label"] == "已命名"
    # a training class with attendance
    training = proxy.npe.open_training_class(kind="investors", title="新生代党员出资人示范培训班",
                                             place_code=SUICHANG, starts_on=TODAY, sessions=4)
    training = proxy.npe.enrol(class_id=training["id"], person="张总",
                               credit_code=strong["credit_code"])
    training = proxy.npe.enrol(class_id=training["id"], person="李总",
                               credit_code=plain["credit_code"])
    first, second = (e["id"] for e in training["enrolments"])
    proxy.npe.record_attendance(class_id=training["id"], session=1, present=[first, second])
    training = proxy.npe.record_attendance(class_id=training["id"], session=2, present=[first])
    rates = {e["person"]: e["attendance_rate"] for e in training["enrolments"]}
    assert rates == {"张总": "1.0000", "李总": "0.5000"} and training["sessions_held"] == 2
    with pytest.raises(ValidationError):
        proxy.npe.record_attendance(class_id=training["id"], session=5, present=[first])
    # the association of party workers
    member = proxy.npe.join_association(person="王党务", credit_code=strong["credit_code"],
                                        joined_on=TODAY, role="council")
    assert member["role_label"] == "理事"
    assert member["id"] in [m["id"] for m in proxy.npe.association_members(
        place_code=SUICHANG)["items"]]


def test_coverage_follows_joining_leaving_assignments_and_status(stack, proxy):
    townships, villages = village_places(proxy)
    township = townships[5]
    firms = [proxy.npe.register_enterprise(**enterprise(villages[township][i], full_members=n))
             for i, n in enumerate((1, 2, 4))]
    codes = [f["credit_code"] for f in firms]

    def coverage():
        return [proxy.npe.get_enterprise(credit_code=c)["coverage"] for c in codes]

    def counts():
        row = next(r for r in proxy.npe.coverage_report(place_code=township)["total"].items()
                   if r[0] == "operating")
        return row[1]

    joint = proxy.npe.establish_organization(kind="joint", name="联合党支部", place_code=township,
                                             credit_codes=codes[:2], full_members=3,
                                             founded_on=TODAY)
    proxy.npe.join_organization(establishment_id=joint["id"], credit_code=codes[2])
    assert coverage() == ["joint", "joint", "joint"]
    # the largest grows its own: it leaves the joint branch first
    with pytest.raises(Conflict):
        proxy.npe.establish_organization(kind="own", name="自建党支部", place_code=township,
                                         credit_codes=[codes[2]], full_members=4, founded_on=TODAY)
    proxy.npe.leave_organization(establishment_id=joint["id"], credit_code=codes[2])
    proxy.npe.establish_organization(kind="own", name="自建党支部", place_code=township,
                                     credit_codes=[codes[2]], full_members=4, founded_on=TODAY)
    assert coverage() == ["joint", "joint", "own"]
    # work coverage comes and goes
    proxy.npe.leave_organization(establishment_id=joint["id"], credit_code=codes[1])
    assignment = proxy.npe.assign_work_coverage(credit_code=codes[1], role="liaison",
                                                person="联络员", assigned_on=TODAY)
    assert coverage()[1] == "work"
    proxy.npe.end_work_coverage(assignment_id=assignment["id"], ended_on=TODAY)
    assert coverage()[1] == "none"
    # a closed enterprise leaves the operating count
    before = counts()
    current = proxy.npe.get_enterprise(credit_code=codes[1])
    proxy.npe.update_enterprise(credit_code=codes[1], version=current["version"],
                                operating_status="closed")
    assert counts() == before - 1
    with pytest.raises(ValidationError):  # and cannot join an organization
        proxy.npe.join_organization(establishment_id=joint["id"], credit_code=codes[1])


def test_a_registry_refusal_or_dissolution_uncovers_the_enterprises(databases, base_settings,
                                                                    token_secret, amqp_uri,
                                                                    tmp_path):
    """Registry and npe disagree (here: the registry's rules ask for 4 full members, npe's
    for 3). The registry refuses, says so, and npe stops counting the enterprise as covered;
    an organization dissolved in the registry later uncovers its enterprises too."""
    from services.npe.service import NpeService
    from services.organizations.service import OrganizationsService
    from shared.platform.migrate import migrate
    from tests.support import Running, accounts_on
    from tools.launcher import provision

    vhost = amqp_uri.rsplit("/", 1)[0] + f"/refusal_{uuid.uuid4().hex[:6]}"
    provision.ensure_vhost(vhost)
    rules = tmp_path / "rules.yaml"
    rules.write_text("organizations:\n  min_full_members: 4\n", encoding="utf-8")
    try:
        urls = {s: databases.create(f"refusal_{s}") for s in ("organizations", "npe")}
        for service, url in urls.items():
            migrate(service, url)
        settings = accounts_on(base_settings, vhost).with_overrides(database_urls=urls,
                                                                    rules_file=rules)
        with Running(settings, OrganizationsService, NpeService):
            with rpc(settings, token(token_secret)) as proxy:
                proxy.organizations.import_places(places=sample_places(SUICHANG))
                eventually(lambda: _npe_knows(proxy, SUICHANG))
                place = proxy.organizations.list_children(place_code="331123102000")["items"][0]["code"]
                three = proxy.npe.register_enterprise(**enterprise(place, full_members=3))
                refused = proxy.npe.establish_organization(
                    kind="own", name="三人党支部", place_code=place,
                    credit_codes=[three["credit_code"]], full_members=3, founded_on=TODAY)
                assert proxy.npe.get_enterprise(credit_code=three["credit_code"])["coverage"] == "own"
                eventually(lambda: proxy.npe.get_establishment(
                    establishment_id=refused["id"])["status"] == "refused")
                assert proxy.npe.get_enterprise(credit_code=three["credit_code"])["coverage"] == "none"
                assert "不符合党内规定" in proxy.npe.get_establishment(
                    establishment_id=refused["id"])["status_reason"]

                five = proxy.npe.register_enterprise(**enterprise(place, full_members=5))
                accepted = proxy.npe.establish_organization(
                    kind="own", name="五人党支部", place_code=place,
                    credit_codes=[five["credit_code"]], full_members=5, founded_on=TODAY)
                organization_id = eventually(lambda: proxy.npe.get_establishment(
                    establishment_id=accepted["id"])["organization_id"])
                proxy.organizations.dissolve_organization(organization_id=organization_id,
                                                          version=1, effective_on=TODAY,
                                                          reason="企业注销")
                eventually(lambda: proxy.npe.get_establishment(
                    establishment_id=accepted["id"])["status"] == "dissolved")
                assert proxy.npe.get_enterprise(credit_code=five["credit_code"])["coverage"] == "none"
    finally:
        provision.delete_vhost(vhost)


# -- a credit code is unique within a jurisdiction (issue 16) ----------------------------------
NPE_ROLES = ("npe.read", "npe.write")
XIHU_TOWNSHIP = "330106002000"


def county(stack, token_secret, place):
    return rpc(stack.settings, token(token_secret, place=place, roles=NPE_ROLES,
                                     subject=f"county {place}"))


def but_the_record(answer: dict) -> dict:
    """An answer about an enterprise, less what names its record (the code, the id)."""
    return {k: v for k, v in answer.items() if k not in ("credit_code", "id")}


def xihu_village(proxy, index):
    return proxy.organizations.list_children(place_code=XIHU_TOWNSHIP)["items"][index]["code"]


def import_job(proxy, rows):
    job = proxy.npe.start_import(kind="enterprises",
                                 rows=[{"row": i + 2, "values": v} for i, v in enumerate(rows)])
    return eventually(lambda: (lambda j: j if j["status"] != "running" else None)(
        proxy.npe.get_import(job_id=job["id"])), timeout=30)


def test_a_code_registered_in_another_county_is_registered_again_as_if_nowhere(
        stack, proxy, token_secret):
    townships, villages = village_places(proxy)
    here, there = villages[townships[7]][0], xihu_village(proxy, 2)
    elsewhere, nowhere = new_code(), new_code()
    with county(stack, token_secret, XIHU) as xihu, \
            county(stack, token_secret, SUICHANG) as suichang:
        theirs = xihu.npe.register_enterprise(**enterprise(there, elsewhere, name="西湖某公司"))
        answers = [suichang.npe.register_enterprise(**enterprise(here, code, name="遂昌某公司",
                                                                 full_members=4))
                   for code in (elsewhere, nowhere)]
        assert [a["credit_code"] for a in answers] == [elsewhere, nowhere]
        assert but_the_record(answers[0]) == but_the_record(answers[1])
        assert answers[0]["id"] != theirs["id"] and answers[0]["place_code"] == here
        # a repeat inside its own jurisdiction is the Conflict it always was, for both alike
        repeats = [error_of(lambda c=code: suichang.npe.register_enterprise(**enterprise(here, c)))
                   for code in (elsewhere, nowhere)]
        assert repeats[0][0] is Conflict and "该企业已在本辖区登记" in repeats[0][1]
        assert (repeats[0][0], repeats[0][1].replace(elsewhere, "C")) == (
            repeats[1][0], repeats[1][1].replace(nowhere, "C"))
        assert [r[2] for r in repeats] == [{"credit_code": elsewhere}, {"credit_code": nowhere}]
        # each county reads its own record; Xihu's is untouched
        assert xihu.npe.get_enterprise(credit_code=elsewhere) == theirs
        assert suichang.npe.get_enterprise(credit_code=elsewhere) == answers[0]

        # import_enterprises alike: created, then updated (its own record), as if nowhere
        elsewhere, nowhere = new_code(), new_code()
        assert xihu.npe.import_enterprises(enterprises=[enterprise(there, elsewhere)]) == {
            "created": 1, "updated": 0}
        rows = [enterprise(here, code, name="遂昌导入100%公司") for code in (elsewhere, nowhere)]
        assert [suichang.npe.import_enterprises(enterprises=[row]) for row in rows] == [
            {"created": 1, "updated": 0}] * 2
        assert [suichang.npe.import_enterprises(enterprises=[{**row, "employees": 99}])
                for row in rows] == [{"created": 0, "updated": 1}] * 2
        views = [suichang.npe.get_enterprise(credit_code=row["credit_code"]) for row in rows]
        assert but_the_record(views[0]) == but_the_record(views[1])
        assert views[0]["employees"] == 99 and views[0]["version"] == 2
        assert xihu.npe.get_enterprise(credit_code=elsewhere)["employees"] == 50
        # both in one batch, and through an import job (register_enterprise's path per row)
        elsewhere, nowhere = new_code(), new_code()
        xihu.npe.register_enterprise(**enterprise(there, elsewhere))
        assert suichang.npe.import_enterprises(enterprises=[
            enterprise(here, elsewhere), enterprise(here, nowhere)]) == {"created": 2, "updated": 0}
        elsewhere, nowhere = new_code(), new_code()
        xihu.npe.register_enterprise(**enterprise(there, elsewhere))
        job = import_job(suichang, [enterprise(here, elsewhere, name="%s公司"),
                                    enterprise(here, nowhere, name="%(lo)s公司")])
        assert (job["status"], job["applied"]) == ("applied", 2)
        assert suichang.npe.get_enterprise(credit_code=nowhere)["name"] == "%(lo)s公司"
        job = import_job(suichang, [enterprise(here, nowhere)])  # now a repeat: its Conflict
        assert job["status"] == "invalid" and "该企业已在本辖区登记" in job["errors"][0]["message"]


def all_clashes(caller, place):
    """Every clash under `place`, paged one code at a time: {code: records}."""
    seen, cursor = {}, None
    while True:
        page = caller.npe.credit_code_clashes(place_code=place, limit=1, after=cursor)
        for clash in page["items"]:
            assert clash["credit_code"] not in seen
            seen[clash["credit_code"]] = clash["records"]
        if not (cursor := page["next_cursor"]):
            assert list(seen) == sorted(seen)
            return seen


def test_the_common_superior_sees_a_clash_and_the_wrong_record_is_withdrawn(
        stack, proxy, token_secret):
    townships, villages = village_places(proxy)
    township = townships[8]
    here, there = villages[township][0], xihu_village(proxy, 3)
    clashing = sorted([new_code(), new_code()])
    code, other = clashing
    before = {place: proxy.npe.coverage_report(place_code=place)["duplicate_credit_codes"]
              for place in (PROVINCE, SUICHANG)}
    with county(stack, token_secret, XIHU) as xihu, \
            county(stack, token_secret, SUICHANG) as suichang:
        ours = {c: suichang.npe.register_enterprise(**enterprise(here, c, full_members=5))
                for c in clashing}
        theirs = {c: xihu.npe.register_enterprise(**enterprise(there, c)) for c in clashing}

        # the province, above both, sees the clashes; the counties see none
        assert proxy.npe.coverage_report(place_code=PROVINCE)["duplicate_credit_codes"] == (
            before[PROVINCE] + 2)
        assert suichang.npe.coverage_report(place_code=SUICHANG)["duplicate_credit_codes"] == (
            before[SUICHANG])
        listed = all_clashes(proxy, PROVINCE)
        for c in clashing:
            assert [(r["id"], r["place_code"], r["name"]) for r in listed[c]] == sorted(
                (e["id"], e["place_code"], e["name"]) for e in (ours[c], theirs[c]))
            assert all(r["place_name"] and r["operating_status_label"] == "在营" and r["created_at"]
                       for r in listed[c])
        assert not set(clashing) & set(all_clashes(suichang, SUICHANG))
        assert not set(clashing) & set(all_clashes(xihu, XIHU))
        # a superior naming the code is told of both records; each county reads its own
        for call in (lambda: proxy.npe.get_enterprise(credit_code=code),
                     lambda: proxy.npe.update_enterprise(credit_code=code, version=1, employees=7),
                     lambda: proxy.npe.withdraw_enterprise(credit_code=code, version=1,
                                                           reason="x")):
            kind, message, details = error_of(call)
            assert kind is Conflict and "credit_code_clashes" in message
            assert here in message and there in message and "重复登记" in message
            assert details["credit_code"] == code
            assert sorted(r["place_code"] for r in details["records"]) == sorted([here, there])
        kind, _, details = error_of(lambda: proxy.npe.establish_organization(
            kind="regional", name="跨区", place_code=PROVINCE, credit_codes=clashing,
            full_members=5, founded_on=TODAY))
        assert kind is Conflict and details["credit_codes"] == clashing
        assert suichang.npe.get_enterprise(credit_code=code) == ours[code]
        assert xihu.npe.get_enterprise(credit_code=code) == theirs[code]
        assert proxy.npe.get_enterprise(credit_code=code,
                                        enterprise_id=ours[code]["id"]) == ours[code]

        # Suichang's is the wrong record: refused while anything active hangs on it
        org = suichang.npe.establish_organization(kind="own", name="自建党支部", place_code=here,
                                                  credit_codes=[code], full_members=5,
                                                  founded_on=TODAY)
        assignment = suichang.npe.assign_work_coverage(credit_code=code, role="instructor",
                                                       person="指导员", assigned_on=TODAY)
        application = suichang.npe.apply_double_strong(credit_code=code, year=2026,
                                                       applied_on=TODAY)
        current = suichang.npe.get_enterprise(credit_code=code)
        counted = suichang.npe.coverage_report(place_code=township)["total"]["enterprises"]
        reason = "属西湖区企业，重复登记"
        kind, message, details = error_of(lambda: suichang.npe.withdraw_enterprise(
            credit_code=code, version=current["version"], reason=reason))
        assert kind is Conflict and "不能撤回登记" in message
        assert details == {"credit_code": code, "establishments": [str(org["id"])],
                           "work_assignments": [str(assignment["id"])],
                           "double_strong_applications": [str(application["id"])]}
        for ending in ("leave_organization", "end_work_coverage", "advance_double_strong"):
            assert ending in message
        assert suichang.npe.get_enterprise(credit_code=code) == current  # nothing changed
        assert code in all_clashes(proxy, PROVINCE)
        suichang.npe.leave_organization(establishment_id=org["id"], credit_code=code)
        suichang.npe.end_work_coverage(assignment_id=assignment["id"], ended_on=TODAY)
        suichang.npe.advance_double_strong(application_id=application["id"], status="rejected",
                                           on=TODAY, note="重复登记")
        with pytest.raises(Conflict):  # a stale version
            suichang.npe.withdraw_enterprise(credit_code=code, version=current["version"] - 1,
                                             reason=reason)
        gone = suichang.npe.withdraw_enterprise(credit_code=code, version=current["version"],
                                                reason=reason)
        assert (gone["id"], gone["withdrawn_on"], gone["withdrawn_reason"], gone["version"]) == (
            ours[code]["id"], TODAY, reason, current["version"] + 1)

        # off the ledger: the clash is gone and the remaining record resolves
        assert code not in all_clashes(proxy, PROVINCE) and other in all_clashes(proxy, PROVINCE)
        assert proxy.npe.coverage_report(place_code=PROVINCE)["duplicate_credit_codes"] == (
            before[PROVINCE] + 1)
        assert proxy.npe.get_enterprise(credit_code=code) == theirs[code]
        assert suichang.npe.get_enterprise(credit_code=code) == gone  # readable, with why
        assert suichang.npe.coverage_report(place_code=township)["total"]["enterprises"] == (
            counted - 1)
        assert ours[code]["id"] not in {e["id"] for e in suichang.npe.list_enterprises(
            place_code=township, limit=1000)["items"]}
        # and writes no longer find it there, word for word as a code registered nowhere
        never = new_code()

        def writes(c):
            return [lambda: suichang.npe.update_enterprise(credit_code=c, version=2, employees=1),
                    lambda: suichang.npe.assign_work_coverage(credit_code=c, role="liaison",
                                                              person="x", assigned_on=TODAY),
                    lambda: suichang.npe.withdraw_enterprise(credit_code=c, version=2,
                                                             reason="x")]
        for withdrawn, absent in zip(writes(code), writes(never), strict=True):
            (kind, message, details), absent_error = error_of(withdrawn), error_of(absent)
            assert kind is NotFound and (kind, message.replace(code, "C"), details) == (
                absent_error[0], absent_error[1].replace(never, "C"), {"credit_code": code})

        # a superior may withdraw one record of a clash itself, naming it
        proxy.npe.withdraw_enterprise(credit_code=other, enterprise_id=theirs[other]["id"],
                                      version=1, reason="属遂昌县企业")
        assert other not in all_clashes(proxy, PROVINCE)
        assert proxy.npe.get_enterprise(credit_code=other) == ours[other]
        assert proxy.npe.coverage_report(place_code=PROVINCE)["duplicate_credit_codes"] == (
            before[PROVINCE])
        # a code withdrawn in Suichang is Suichang's to register again
        again = suichang.npe.register_enterprise(**enterprise(here, code))
        assert again["id"] not in (gone["id"], theirs[code]["id"])
        assert suichang.npe.get_enterprise(credit_code=code) == again


def test_withdrawing_a_record_outside_the_jurisdiction_is_not_found(stack, proxy, token_secret):
    townships, villages = village_places(proxy)
    code = new_code()
    with county(stack, token_secret, XIHU) as xihu, \
            county(stack, token_secret, SUICHANG) as suichang:
        def attempts():
            return [lambda: suichang.npe.withdraw_enterprise(credit_code=code, version=1,
                                                             reason="不属本县"),
                    lambda: suichang.npe.get_enterprise(credit_code=code)]

        absent = [error_of(call) for call in attempts()]
        theirs = xihu.npe.register_enterprise(**enterprise(xihu_village(proxy, 4), code))
        elsewhere = [error_of(call) for call in attempts()]
        assert absent[0] == (NotFound, f"no enterprise {code} (未找到该企业)", {"credit_code": code})
        assert elsewhere == absent
        # naming Xihu's record by its id changes nothing either
        mine = suichang.npe.register_enterprise(**enterprise(villages[townships[9]][0], code))
        for call in (lambda: suichang.npe.withdraw_enterprise(
                         credit_code=code, enterprise_id=theirs["id"], version=1, reason="x"),
                     lambda: suichang.npe.get_enterprise(credit_code=code,
                                                         enterprise_id=theirs["id"])):
            assert error_of(call) == absent[0]
        assert xihu.npe.get_enterprise(credit_code=code) == theirs
        assert suichang.npe.get_enterprise(credit_code=code) == mine


def test_one_code_registered_at_once_within_one_jurisdiction_is_one_record(
        stack, proxy, token_secret):
    townships, villages = village_places(proxy)
    places = villages[townships[10]][:2]
    for _attempt in range(3):
        code, answers = new_code(), []
        start = threading.Barrier(4)

        def register(index, code=code, answers=answers, start=start):
            with county(stack, token_secret, SUICHANG) as own:
                values = enterprise(places[index % 2], code)
                start.wait()
                try:
                    if index < 2:
                        answers.append(("registered", own.npe.register_enterprise(**values)["id"]))
                    else:
                        answers.append(("imported", own.npe.import_enterprises(
                            enterprises=[values])["created"]))
                except Conflict:
                    answers.append(("conflict", None))

        threads = [threading.Thread(target=register, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        created = (sum(1 for kind, _ in answers if kind == "registered")
                   + sum(n for kind, n in answers if kind == "imported"))
        assert len(answers) == 4 and created == 1, answers
        assert npe_value(stack, "SELECT count(*) FROM enterprises WHERE credit_code = %s",
                         (code,)) == 1
        assert npe_value(stack, "SELECT registered FROM credit_codes WHERE credit_code = %s",
                         (code,)) == 1


def npe_value(stack, statement, params=()):
    return sql_value(stack.urls["npe"], statement, params)


def test_the_migration_links_existing_rows_by_enterprise_id(databases, tmp_path):
    """0002 on a database that has 0001's shape and data: every row that named an
    enterprise by its code names its record, and the code may then repeat."""
    from shared.platform.migrate import PLATFORM_MIGRATIONS, migrate
    from tools.launcher import provision

    migrations = config.REPO_ROOT / "services" / "npe" / "migrations"
    old = tmp_path / "npe-0001"
    old.mkdir()
    shutil.copy(migrations / "0001-npe.sql", old)
    url = databases.create(f"npe_upgrade_{uuid.uuid4().hex[:6]}")
    codes = sorted(new_code() for _ in range(3))
    try:
        migrate("npe", url, sources=[PLATFORM_MIGRATIONS, old])
        conn = psycopg2.connect(url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM information_schema.columns"
                        " WHERE table_name = 'enterprises' AND column_name = 'id'")
            assert cur.fetchone()[0] == 0  # the old shape
            for index, code in enumerate(codes):
                cur.execute("INSERT INTO enterprises (credit_code, name, place_code, industry,"
                            " size, operating_status, employees, full_members, coverage)"
                            " VALUES (%s, %s, '331123102201', 'C', 'small', 'operating', 20,"
                            " %s, %s)", (code, f"旧企业{index}", 3 + index,
                                         ["own", "work", "none"][index]))
            cur.execute("INSERT INTO establishments (kind, org_kind, name, place_code,"
                        " full_members, founded_on, status) VALUES ('own', '631', '旧党支部',"
                        " '331123102201', 3, '2020-01-01', 'registered') RETURNING id")
            establishment = cur.fetchone()[0]
            cur.execute("INSERT INTO establishment_members (establishment_id, credit_code)"
                        " VALUES (%s, %s)", (establishment, codes[0]))
            cur.execute("INSERT INTO work_coverage (credit_code, role, person, assigned_on)"
                        " VALUES (%s, 'instructor', '指导员', '2021-01-01')", (codes[1],))
            cur.execute("INSERT INTO double_strong (credit_code, year) VALUES (%s, 2024),"
                        " (%s, 2025)", (codes[0], codes[0]))
            cur.execute("INSERT INTO contacts (credit_code, kind, leader, contact_on, content)"
                        " VALUES (%s, 'key_contact', '县委常委', '2024-05-01', '走访')",
                        (codes[2],))
            cur.execute("INSERT INTO training_classes (kind, title, place_code, starts_on,"
                        " sessions) VALUES ('other', '旧班', '331123000000', '2024-01-01', 2)"
                        " RETURNING id")
            training = cur.fetchone()[0]
            cur.execute("INSERT INTO enrolments (class_id, person, credit_code) VALUES"
                        " (%s, '张三', %s)", (training, codes[1]))
            cur.execute("INSERT INTO association_members (person, credit_code, role, joined_on)"
                        " VALUES ('李四', %s, 'member', '2023-01-01')", (codes[2],))

            assert migrate("npe", url) == ["0002-enterprise-records-by-jurisdiction"]

            cur.execute("SELECT credit_code, id FROM enterprises ORDER BY credit_code")
            ids = dict(cur.fetchall())
            assert sorted(ids) == codes and len(set(ids.values())) == 3
            linked = {}
            for table in ("establishment_members", "work_coverage", "double_strong", "contacts",
                          "enrolments", "association_members"):
                cur.execute("SELECT column_name FROM information_schema.columns"
                            " WHERE table_name = %s AND column_name = 'credit_code'", (table,))
                assert cur.fetchall() == [], f"{table} still names enterprises by code"
                cur.execute(f"SELECT e.credit_code FROM {table} t"
                            " JOIN enterprises e ON e.id = t.enterprise_id ORDER BY 1")
                linked[table] = [row[0] for row in cur.fetchall()]
            assert linked == {"establishment_members": [codes[0]], "work_coverage": [codes[1]],
                              "double_strong": [codes[0], codes[0]], "contacts": [codes[2]],
                              "enrolments": [codes[1]], "association_members": [codes[2]]}
            cur.execute("SELECT credit_code, registered FROM credit_codes ORDER BY 1")
            assert cur.fetchall() == [(code, 1) for code in codes]
            cur.execute("SELECT count(*) FROM enterprises WHERE withdrawn_on IS NULL"
                        " AND coverage <> 'none'")
            assert cur.fetchone()[0] == 2
            # the keys now hold on the record: a second record of a code is allowed, a row
            # naming no record is not, and a record applies once a year
            cur.execute("INSERT INTO enterprises (credit_code, name, place_code, industry, size,"
                        " operating_status, employees, full_members) VALUES (%s, '另一处登记',"
                        " '330106002001', 'C', 'small', 'operating', 5, 0)", (codes[0],))
            with pytest.raises(psycopg2.errors.ForeignKeyViolation):
                cur.execute("INSERT INTO contacts (enterprise_id, kind, leader, contact_on,"
                            " content) VALUES (-1, 'key_contact', 'x', '2024-01-01', 'y')")
            with pytest.raises(psycopg2.errors.UniqueViolation):
                cur.execute("INSERT INTO double_strong (enterprise_id, year) VALUES (%s, 2024)",
                            (ids[codes[0]],))
            with pytest.raises(psycopg2.errors.UniqueViolation):
                cur.execute("INSERT INTO establishment_members (establishment_id, enterprise_id)"
                            " VALUES (%s, %s)", (establishment, ids[codes[0]]))
        conn.close()
    finally:
        provision.drop_database(databases.admin_url, url)
