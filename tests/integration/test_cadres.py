"""The cadres service with the organizations registry, on the real broker and databases:
identity numbers sealed and masked, the reserve shortfall report against counts made here,
placements that fill the registry's vacancies once, and jurisdiction."""

import datetime as dt
import json
import logging
import random
import threading
import uuid
from collections import Counter

import kombu
import psycopg2
import pytest

from shared.errors import Conflict, Forbidden, JinweiError, NotFound, ValidationError
from shared.national import identity_number
from tests.support import (
    ALL_ROLES,
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

TODAY = dt.date.today()
WITHOUT_PERSONAL_DATA = tuple(r for r in ALL_ROLES if r != "cadres.personal_data")


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "cad", "organizations", "cadres") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG))
            eventually(lambda: proxy.cadres.reserve_shortfall(place_code=SUICHANG)["total"]["villages"])
        yield running


@pytest.fixture
def proxy(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        yield proxy


@pytest.fixture
def masked_proxy(stack, token_secret):
    """A caller with every role but cadres.personal_data."""
    with rpc(stack.settings, token(token_secret, roles=WITHOUT_PERSONAL_DATA)) as proxy:
        yield proxy


def new_number(rng=random, *, sex="male", born=None, region="331123") -> str:
    born = born or dt.date(rng.randrange(1975, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
    sequence = rng.randrange(0, 100) * 10 + rng.choice([1, 3, 5, 7, 9] if sex == "male"
                                                        else [0, 2, 4, 6, 8])
    return identity_number.with_check_character(f"{region}{born:%Y%m%d}{sequence:03d}")


def person(place, rng=random, **overrides):
    sex = overrides.pop("sex", rng.choice(["male", "female"]))
    values = {"name": f"干部{uuid.uuid4().hex[:6]}", "sex": sex, "ethnicity": "汉族",
              "education": "bachelor", "political_status": "party_member", "place_code": place,
              "identity_number": new_number(rng, sex=sex), "school": "浙江农林大学 农学",
              "native_place": "浙江遂昌", "current_post": "村委委员",
              "post_category": "two_committees_member"}
    values.update(overrides)
    return values


def rural_townships(proxy, county=SUICHANG) -> dict[str, list[str]]:
    """Townships with villages (村委会, codes 200–399), and their villages."""
    found = {}
    for township in proxy.organizations.list_children(place_code=county)["items"]:
        villages = [v["code"] for v in proxy.organizations.list_children(
            place_code=township["code"])["items"] if 200 <= int(v["code"][9:]) <= 399]
        if villages:
            found[township["code"]] = villages
    return found


def as_reserve(proxy, person_id, village, *, confirm=True, result="competent"):
    reserve = proxy.cadres.recommend_reserve(person_id=person_id, place_code=village,
                                             recommended_by="村党组织", method="democratic",
                                             recommended_on="2026-03-01", votes=40)
    proxy.cadres.assess_reserve(reserve_id=reserve["id"], assessed_on="2026-03-15",
                                assessor="镇考察组", result=result)
    if confirm:
        return proxy.cadres.confirm_reserve(reserve_id=reserve["id"], confirmed_on="2026-04-01")
    return reserve


def capture(amqp, exchange, routing_key="#"):
    queue = kombu.Queue(f"cadres-capture-{uuid.uuid4().hex[:6]}", durable=False,
                        auto_delete=False, exchange=kombu.Exchange(exchange, type="topic",
                                                                   durable=True),
                        routing_key=routing_key)
    with kombu.Connection(amqp) as conn:
        queue(conn.channel()).declare()
    return queue


def drain(amqp, queue) -> list[dict]:
    bodies = []
    with kombu.Connection(amqp) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(queue.name, no_ack=True)) is not None:
            bodies.append(json.loads(message.body))
        queue(channel).delete()
    return bodies


def table_text(url, table):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {table} t")
            return cur.fetchone()[0]
    finally:
        conn.close()


# -- identity numbers ---------------------------------------------------------------------
@pytest.mark.parametrize("number, says", [
    (identity_number.with_check_character("33112319900101123")[:-1] + "0", "校验码"),
    (identity_number.with_check_character("33112319900230123"), "出生日期"),   # 30 February
    (identity_number.with_check_character("33112320990101123"), "出生日期"),   # not born yet
    ("33112319900101123", "18位"),                                              # 17 digits
    (identity_number.with_check_character("99112319900101123"), "地址码"),     # no province 99
])
def test_invalid_identity_numbers_are_refused_per_field_and_write_nothing(stack, proxy, number,
                                                                           says):
    before = table_text(stack.urls["cadres"], "people")
    with pytest.raises(ValidationError) as refused:
        proxy.cadres.register_person(**person(SUICHANG, identity_number=number))
    assert says in refused.value.details["identity_number"][0]
    assert number not in json.dumps(refused.value.details, ensure_ascii=False)
    assert number not in refused.value.message
    assert table_text(stack.urls["cadres"], "people") == before


def test_an_identity_number_is_whole_only_for_the_personal_data_role(stack, proxy, masked_proxy,
                                                                     caplog):
    caplog.set_level(logging.DEBUG)  # every log line of both services and this caller
    amqp = stack.settings.amqp_uri
    events = capture(amqp, "cadres.events")
    village = next(iter(rural_townships(proxy).values()))[0]
    org = village_branch(stack, proxy, village)
    number = new_number(sex="female")
    masked = identity_number.mask(number)

    # Everything a caller without cadres.personal_data does with the person.
    created = masked_proxy.cadres.register_person(**person(village, identity_number=number,
                                                          sex="female",
                                                          college_graduate_official=True))
    assert created["identity_number"] == masked and created["identity_number_whole"] is False
    assert created["birth_date"] == identity_number.birth_date(number).isoformat()
    assert masked_proxy.cadres.get_person(person_id=created["id"])["identity_number"] == masked
    with pytest.raises(Forbidden):  # a lookup by the whole number would be an oracle
        masked_proxy.cadres.find_person(identity_number=number)
    listed = {p["id"]: p for p in masked_proxy.cadres.list_people(place_code=village)["items"]}
    assert listed[created["id"]]["identity_number"] == masked
    reserve = as_reserve(masked_proxy, created["id"], village)
    roster = masked_proxy.cadres.reserve_roster(place_code=village)
    assert [r["identity_number"] for r in roster["rows"]] == [masked]
    with pytest.raises(Conflict) as twice:
        masked_proxy.cadres.register_person(**person(village, identity_number=number, sex="female"))
    assert number not in str(twice.value)
    with pytest.raises(ValidationError) as disagreeing:  # the number says female
        masked_proxy.cadres.update_person(person_id=created["id"], version=1, sex="male")
    assert "sex" in disagreeing.value.details
    masked_proxy.cadres.withdraw_reserve(reserve_id=reserve["id"], withdrawn_on=TODAY.isoformat(),
                                         reason="外出务工")
    masked_proxy.cadres.record_placement(person_id=created["id"], kind="party_committee_member",
                                         post="deputy_secretary", placed_on=TODAY.isoformat(),
                                         place_code=village, organization_id=org["id"])
    eventually(lambda: masked_proxy.cadres.person_placements(
        person_id=created["id"])["placements"][0]["status"] == "applied")

    # ... leaves the whole number in no event, log line, audit row, replay or outbox row.
    published = json.dumps(drain(amqp, events), ensure_ascii=False)
    assert created["name"] in published  # the placement's event is about this person
    assert number not in published
    assert any("expected" in r.getMessage() for r in caplog.records)  # refusals were logged
    assert number not in caplog.text
    assert not any(number in record.getMessage() for record in caplog.records)
    url = stack.urls["cadres"]
    for table in ("people", "audit_log", "request_log", "outbox", "reserves", "placements"):
        assert number not in table_text(url, table), table
    assert masked in table_text(url, "people")  # the masked form is what is kept in clear
    for table in ("leaders", "outbox", "inbox", "audit_log"):
        assert number not in table_text(stack.urls["organizations"], table), table

    # The role shows it whole in answers to queries; a command's answer (kept for
    # replays) stays masked for everyone.
    assert proxy.cadres.get_person(person_id=created["id"])["identity_number"] == number
    listed = {p["id"]: p for p in proxy.cadres.list_people(place_code=village)["items"]}
    assert listed[created["id"]]["identity_number"] == number
    assert proxy.cadres.find_person(identity_number=number)["identity_number_whole"] is True
    updated = proxy.cadres.update_person(person_id=created["id"], version=1,
                                         current_post="村党组织副书记")
    assert (updated["identity_number"], updated["version"]) == (masked, 2)
    with pytest.raises(Conflict):  # a stale version
        proxy.cadres.update_person(person_id=created["id"], version=1, current_post="x")
    withdrawn = proxy.cadres.reserve_roster(place_code=village, status="withdrawn")
    assert [r["identity_number"] for r in withdrawn["rows"]] == [number]


# -- reserve cadres -----------------------------------------------------------------------
def test_the_shortfall_report_matches_counts_made_here(stack, proxy):
    rng = random.Random(5)
    townships = rural_townships(proxy)
    chosen = dict(list(townships.items())[1:4])
    amqp = stack.settings.amqp_uri
    events = capture(amqp, "cadres.events", "reserve_shortfall_changed")
    confirmed, cgo = Counter(), Counter()
    crossings_expected = {}

    def status(count):
        return "short" if count < 2 else "over" if count > 3 else "within"

    def changed(village, before):
        if status(confirmed[village]) != status(before):
            crossings_expected.setdefault(village, []).append(
                (status(before), status(confirmed[village])))

    for villages in chosen.values():
        for village in villages:
            for _ in range(rng.choice([0, 1, 2, 2, 3, 4, 5])):
                graduate = rng.random() < 0.3
                someone = proxy.cadres.register_person(**person(
                    village, rng, college_graduate_official=graduate))
                outcome = rng.choice(["confirmed", "confirmed", "confirmed", "candidate",
                                      "withdrawn"])
                reserve = as_reserve(proxy, someone["id"], village,
                                     confirm=outcome != "candidate")
                if outcome != "candidate":  # confirmed (withdrawn ones leave again below)
                    confirmed[village] += 1
                    changed(village, confirmed[village] - 1)
                if outcome == "withdrawn":
                    proxy.cadres.withdraw_reserve(reserve_id=reserve["id"],
                                                  withdrawn_on=TODAY.isoformat(), reason="迁出")
                    confirmed[village] -= 1
                    changed(village, confirmed[village] + 1)
                else:
                    cgo[village] += outcome == "confirmed" and graduate

    for township, villages in chosen.items():
        report = proxy.cadres.reserve_shortfall(place_code=township)
        expected = Counter(status(confirmed[v]) for v in villages)
        assert report["rules"]["reserve_min"] == 2 and report["rules"]["reserve_max"] == 3
        total = report["total"]
        assert (total["villages"], total["short"], total["within"], total["over"]) == \
            (len(villages), expected["short"], expected["within"], expected["over"])
        assert total["reserves"] == sum(confirmed[v] for v in villages)
        assert total["college_graduate_officials"] == sum(cgo[v] for v in villages)
        assert total["missing"] == sum(max(0, 2 - confirmed[v]) for v in villages)
        assert {v["place_code"] for v in report["short_villages"]} == \
            {v for v in villages if confirmed[v] < 2}
        assert {v["place_code"]: v["reserves"] for v in report["over_villages"]} == \
            {v: confirmed[v] for v in villages if confirmed[v] > 3}
    county = proxy.cadres.reserve_shortfall(place_code=SUICHANG)
    by_township = {row["place_code"]: row for row in county["by_child_place"]}
    for township, villages in chosen.items():
        assert by_township[township]["reserves"] == sum(confirmed[v] for v in villages)
        assert by_township[township]["villages"] == len(villages)

    crossings = [e["data"] for e in drain(amqp, events)]
    for village in {v for vs in chosen.values() for v in vs}:
        mine = [(c["previous_status"], c["quota_status"]) for c in crossings
                if c["place_code"] == village]
        assert mine == crossings_expected.get(village, []), village
    assert crossings  # some village did cross


def test_recommendation_order_confirmation_and_the_roster(stack, proxy):
    township, villages = list(rural_townships(proxy).items())[4]
    village = villages[0]
    plain = proxy.cadres.register_person(**person(village, name="王一"))
    graduate = proxy.cadres.register_person(**person(village, name="李二",
                                                     college_graduate_official=True))
    weak = proxy.cadres.register_person(**person(village, name="赵三"))
    first = as_reserve(proxy, plain["id"], village, result="excellent")
    second = as_reserve(proxy, graduate["id"], village, result="competent")
    with pytest.raises(Conflict):  # not competent: stays a candidate
        as_reserve(proxy, weak["id"], village, result="incompetent")
    with pytest.raises(Conflict):  # recommended to this village already
        proxy.cadres.recommend_reserve(person_id=plain["id"], place_code=village,
                                       recommended_by="x", method="self",
                                       recommended_on="2026-03-01")
    with pytest.raises(ValidationError):  # a township keeps no reserve cadres
        proxy.cadres.recommend_reserve(person_id=plain["id"], place_code=township,
                                       recommended_by="x", method="self",
                                       recommended_on="2026-03-01")
    listing = proxy.cadres.village_reserves(place_code=village)
    assert [r["name"] for r in listing["items"]] == ["李二", "王一", "赵三"]
    assert (listing["reserves"], listing["quota_status"], listing["quota_status_label"]) == \
        (2, "within", "达标")
    assert listing["items"][2]["status_label"] == "推荐人选"

    roster = proxy.cadres.reserve_roster(place_code=township)
    titles = [c["title"] for c in roster["columns"]]
    assert titles[:4] == ["序号", "所在村", "姓名", "性别"] and "身份证号码" in titles
    assert roster["title"].endswith("村级后备干部花名册")
    mine = [r for r in roster["rows"] if r["village"] == listing["place_name"]]
    assert [(r["name"], r["college_graduate_official"], r["assessment"]) for r in mine] == \
        [("李二", "是", "称职"), ("王一", "否", "优秀")]
    assert all(r["sex"] in ("男", "女") and r["education"] == "大学本科" for r in mine)
    assert {first["id"], second["id"]} <= {r["id"] for r in listing["items"]}


# -- the talent pool and placements --------------------------------------------------------
def village_branch(stack, proxy, village):
    """A village party branch with a committee of 3, once cadres has heard of it."""
    org = proxy.organizations.register_organization(
        name=f"村党支部{uuid.uuid4().hex[:6]}", kind="631", sector="rural_village",
        place_code=village, full_members=12, committee_size=3, founded_on="2021-05-01")
    eventually(lambda: sql_value(stack.urls["cadres"],
                             "SELECT count(*) FROM organizations WHERE id = %s", (org["id"],)))
    return org




def registry_leaders(stack, external_ref):
    return sql_value(stack.urls["organizations"],
                 "SELECT count(*) FROM leaders WHERE external_ref = %s", (external_ref,))


def handled(stack, event_id):
    return sql_value(stack.urls["organizations"],
                 "SELECT count(*) FROM inbox WHERE event_id = %s", (event_id,)) == 1


def test_a_placement_fills_the_registry_vacancy_once_even_delivered_twice(stack, proxy):
    amqp = stack.settings.amqp_uri
    placed_events = capture(amqp, "cadres.events", "cadre_placed")
    township, villages = list(rural_townships(proxy).items())[5]
    village = villages[0]
    org = village_branch(stack, proxy, village)
    open_before = proxy.organizations.get_leadership(organization_id=org["id"])["open_vacancies"]
    graduate = proxy.cadres.register_person(**person(village, name="陈大学",
                                                     college_graduate_official=True))
    reserve = as_reserve(proxy, graduate["id"], village)
    placement = proxy.cadres.record_placement(
        person_id=graduate["id"], kind="party_committee_member", post="committee_member",
        placed_on=TODAY.isoformat(), place_code=village, organization_id=org["id"])
    assert placement["status"] == "pending" and placement["kind_label"] == "进入村党组织班子"
    applied = eventually(lambda: [p for p in proxy.cadres.person_placements(
        person_id=graduate["id"])["placements"] if p["status"] == "applied"])
    assert applied[0]["status_label"] == "已配入班子"
    leadership = proxy.organizations.get_leadership(organization_id=org["id"])
    mine = [leader for leader in leadership["leaders"] if leader["name"] == "陈大学"]
    assert [(m["post"], m["method"]) for m in mine] == [("committee_member",
                                                          "college_graduate_official")]
    assert len(leadership["open_vacancies"]) == len(open_before) - 1
    filled = [v for v in leadership["filled_vacancies"] if v["filled_by_leader_id"] == mine[0]["id"]]
    assert len(filled) == 1
    assert proxy.cadres.get_reserve(reserve_id=reserve["id"])["status"] == "appointed"
    ref = f"cadres:{placement['id']}"
    assert registry_leaders(stack, ref) == 1

    body = drain(amqp, placed_events)[0]
    assert "identity_number" not in json.dumps(body)
    for event_id in (body["id"], str(uuid.uuid4())):  # the same delivery, and a new one
        publish_event(stack.settings, {**body, "id": event_id})
    eventually(lambda: handled(stack, event_id))
    assert registry_leaders(stack, ref) == 1
    again = proxy.organizations.get_leadership(organization_id=org["id"])
    assert len(again["leaders"]) == len(leadership["leaders"])
    assert len(again["open_vacancies"]) == len(leadership["open_vacancies"])

    # The registry refuses what its rules forbid, and says so to cadres; the refused
    # person stays a reserve cadre of the village.
    for name in ("书记甲", "书记乙"):
        someone = proxy.cadres.register_person(**person(village, name=name))
        hopeful = as_reserve(proxy, someone["id"], village)
        proxy.cadres.record_placement(person_id=someone["id"], kind="party_secretary",
                                      placed_on=TODAY.isoformat(), place_code=village,
                                      organization_id=org["id"])
    outcome = eventually(lambda: [p for p in proxy.cadres.person_placements(
        person_id=someone["id"])["placements"] if p["status"] != "pending"])
    assert outcome[0]["status"] == "refused" and "secretary" in outcome[0]["outcome"]
    assert proxy.cadres.get_reserve(reserve_id=hopeful["id"])["status"] == "reserve"
    assert proxy.cadres.village_reserves(place_code=village)["reserves"] == 1  # 书记乙 only
    with pytest.raises(ValidationError):  # a party post names its organization
        proxy.cadres.record_placement(person_id=someone["id"], kind="party_secretary",
                                      placed_on=TODAY.isoformat(), place_code=village)
    with pytest.raises(ValidationError):  # and one at that village
        proxy.cadres.record_placement(person_id=someone["id"], kind="party_secretary",
                                      placed_on=TODAY.isoformat(), place_code=villages[1],
                                      organization_id=org["id"])


def test_the_talent_pool_and_the_township_target(stack, proxy):
    townships = list(rural_townships(proxy).items())[6:9]
    (with_code, with_villages), (without_code, without_villages) = townships[0], townships[1]
    star = proxy.cadres.register_person(**person(with_villages[0], college_graduate_official=True))
    other = proxy.cadres.register_person(**person(without_villages[0],
                                                  college_graduate_official=True))
    plain = proxy.cadres.register_person(**person(without_villages[0]))
    with pytest.raises(ValidationError):  # the pool is for college-graduate officials
        proxy.cadres.select_for_pool(person_id=plain["id"], selected_on="2026-01-10",
                                     assessment="excellent", recommended_by="镇党委")
    for someone in (star, other):
        proxy.cadres.select_for_pool(person_id=someone["id"], selected_on="2026-01-10",
                                     assessment="excellent", recommended_by="镇党委")
    with pytest.raises(Conflict):
        proxy.cadres.select_for_pool(person_id=star["id"], selected_on="2026-01-10",
                                     assessment="excellent", recommended_by="镇党委")
    proxy.cadres.record_placement(person_id=star["id"], kind="village_director",
                                  placed_on="2026-02-01", place_code=with_villages[0])
    proxy.cadres.record_placement(person_id=star["id"], kind="township_leadership",
                                  placed_on="2026-03-01", place_code=with_code, position="副镇长")
    proxy.cadres.record_placement(person_id=other["id"], kind="village_committee_member",
                                  placed_on="2026-02-01", place_code=without_villages[0])
    with pytest.raises(ValidationError):  # township leadership names the township
        proxy.cadres.record_placement(person_id=other["id"], kind="township_leadership",
                                      placed_on="2026-03-01", place_code=without_villages[0])
    report = proxy.cadres.pool_report(place_code=SUICHANG)
    rows = {r["place_code"]: r for r in report["items"]}
    assert rows[with_code]["target_met"] and rows[with_code]["entered_township_leadership"] == 1
    assert rows[with_code]["chief_posts"] == 1
    assert not rows[without_code]["target_met"]
    assert rows[without_code]["entered_two_committees"] == 1
    assert report["townships"] == len(proxy.organizations.list_children(place_code=SUICHANG)["items"])
    # Only this test puts anyone into township leadership: one township meets the target.
    assert (report["townships_with"], report["townships_without"]) == \
        (1, report["townships"] - 1)
    assert (report["in_pool"], report["entered_two_committees"]) == (2, 2)
    later = proxy.cadres.pool_report(place_code=SUICHANG, since="2026-02-15")
    assert {r["place_code"]: r["entered_two_committees"] for r in later["items"]}[without_code] == 0
    # Leaving the pool later does not undo what was done in it.
    member = proxy.cadres.person_placements(person_id=star["id"])["pool"][0]
    proxy.cadres.leave_pool(member_id=member["id"], left_on=TODAY.isoformat(), reason="调任")
    after = proxy.cadres.pool_report(place_code=SUICHANG)
    assert {r["place_code"]: r["target_met"] for r in after["items"]}[with_code] is True
    assert after["in_pool"] == 1
    with pytest.raises(ValidationError):  # the pool is of excellent officials
        proxy.cadres.select_for_pool(person_id=star["id"], selected_on="2026-01-10",
                                     assessment="incompetent", recommended_by="镇党委")


def test_the_pool_report_counts_members_already_in_the_two_committees(stack, proxy):
    """S§18: a member placed in the village committee before joining the pool is in the
    two committees while in it: 4 of 6, not 3 of 6. One placed after leaving is not."""
    township, villages = list(rural_townships(proxy).items())[17]
    graduates = [proxy.cadres.register_person(**person(villages[n % len(villages)],
                                                       college_graduate_official=True))
                 for n in range(7)]
    for graduate in graduates:
        proxy.cadres.select_for_pool(person_id=graduate["id"], selected_on="2026-01-10",
                                     assessment="excellent", recommended_by="镇党委")
    for graduate, placed_on in zip(graduates[:4], ("2026-02-01", "2026-02-01", "2026-03-01",
                                                   "2025-06-01"), strict=True):  # the last before
        proxy.cadres.record_placement(person_id=graduate["id"], kind="village_committee_member",
                                      placed_on=placed_on, place_code=graduate["place_code"])
    leaver = graduates[6]  # left the pool, then entered the village committee
    member = proxy.cadres.person_placements(person_id=leaver["id"])["pool"][0]
    proxy.cadres.leave_pool(member_id=member["id"], left_on="2026-01-20", reason="调任")
    proxy.cadres.record_placement(person_id=leaver["id"], kind="village_committee_member",
                                  placed_on="2026-02-01", place_code=leaver["place_code"])

    def row(**since):
        report = proxy.cadres.pool_report(place_code=SUICHANG, **since)
        assert report["entered_two_committees"] == sum(r["entered_two_committees"]
                                                       for r in report["items"])
        found = {r["place_code"]: r for r in report["items"]}[township]
        return found["in_pool"], found["entered_two_committees"]

    assert row() == (6, 4)
    # From the current term's start, the 2025 placement is of an earlier term.
    assert row(since="2026-01-01") == (6, 3)


# -- what is asked of cadres in post -------------------------------------------------------
def test_training_commitments_reviews_and_problems(stack, proxy):
    township, villages = list(rural_townships(proxy).items())[9]
    secretaries = [proxy.cadres.register_person(**person(v, post_category="village_party_secretary"))
                   for v in villages[:3]]
    rotation = proxy.cadres.create_class(place_code=township, kind="rotational_training",
                                         title="村党组织书记集中轮训", starts_on="2026-05-10",
                                         ends_on="2026-05-12", hours="24")
    proxy.cadres.record_attendance(class_id=rotation["id"], person_id=secretaries[0]["id"],
                                   attended=True)
    with pytest.raises(ValidationError):
        proxy.cadres.record_attendance(class_id=rotation["id"], person_id=secretaries[1]["id"],
                                       attended=False)
    held = proxy.cadres.record_attendance(class_id=rotation["id"], person_id=secretaries[1]["id"],
                                          attended=False, absence_reason="病假")
    assert (held["enrolled"], held["attended"]) == (2, 1)
    report = proxy.cadres.training_report(place_code=township, year=2026)
    assert (report["secretaries"], report["secretaries_trained"]) == (3, 1)
    assert {s["person_id"] for s in report["untrained"]} == {s["id"] for s in secretaries[1:]}

    pledge = proxy.cadres.record_commitment(person_id=secretaries[0]["id"], kind="resignation",
                                            signed_on="2026-01-05", content="不能兑现承诺即辞职")
    kept = proxy.cadres.settle_commitment(commitment_id=pledge["id"], status="fulfilled",
                                          settled_on="2026-06-30", note="年中检查兑现")
    assert (kept["status"], kept["status_label"], kept["kind_label"]) == \
        ("fulfilled", "已兑现", "辞职承诺")
    with pytest.raises(Conflict):
        proxy.cadres.settle_commitment(commitment_id=pledge["id"], status="broken",
                                       settled_on="2026-07-01", note="x")
    proxy.cadres.record_dual_review(person_id=secretaries[0]["id"], year=2026,
                                    held_on="2026-01-20", rating="good", approval="0.95")
    with pytest.raises(Conflict):  # once a year
        proxy.cadres.record_dual_review(person_id=secretaries[0]["id"], year=2026,
                                        held_on="2026-01-21", rating="average")

    found = [proxy.cadres.record_problem(person_id=s["id"], kind=kind, found_on="2026-04-01",
                                         description="走访发现")
             for s, kind in zip(secretaries, ("not_at_post", "not_acting", "not_acting"),
                                strict=True)]
    proxy.cadres.follow_up_problem(problem_id=found[0]["id"], action="reminder_talk",
                                   taken_on="2026-04-02", note="谈话提醒")
    closed = proxy.cadres.follow_up_problem(problem_id=found[0]["id"], action="rectified",
                                            taken_on="2026-04-20", note="已到岗", closes=True)
    assert closed["status"] == "closed" and len(closed["follow_ups"]) == 2
    problems = proxy.cadres.problems_report(place_code=township)
    assert (problems["total"]["open"], problems["total"]["closed"],
            problems["total"]["not_acting"], problems["total"]["not_at_post"]) == (2, 1, 2, 0)
    assert {p["id"] for p in problems["open_problems"]} == {found[1]["id"], found[2]["id"]}
    duties = proxy.cadres.person_duties(person_id=secretaries[0]["id"])
    assert (len(duties["classes"]), len(duties["commitments"]), len(duties["dual_reviews"]),
            len(duties["problems"])) == (1, 1, 1, 1)


# -- jurisdiction --------------------------------------------------------------------------
def error_of(call) -> tuple:
    """What a call raises, all a caller can tell of it: the type, the message, the details."""
    with pytest.raises(JinweiError) as raised:
        call()
    return type(raised.value), raised.value.message, raised.value.details


def test_jurisdiction(stack, proxy, token_secret):
    village = next(iter(rural_townships(proxy).values()))[-1]
    theirs = proxy.cadres.register_person(**person(village))
    with rpc(stack.settings, token(token_secret, place=XIHU,
                                   roles=("cadres.read", "cadres.write",
                                          "cadres.personal_data"))) as xihu:
        # a place the caller names is public: outside its jurisdiction, Forbidden
        for call in (lambda: xihu.cadres.register_person(**person(village)),
                     lambda: xihu.cadres.reserve_shortfall(place_code=SUICHANG),
                     lambda: xihu.cadres.reserve_roster(place_code=SUICHANG),
                     lambda: xihu.cadres.pool_report(place_code=SUICHANG)):
            with pytest.raises(Forbidden):
                call()
        # a person it names there is not found, as if there were none
        for call in (lambda: xihu.cadres.get_person(person_id=theirs["id"]),
                     lambda: xihu.cadres.update_person(person_id=theirs["id"], version=1,
                                                         name="改名"),
                     lambda: xihu.cadres.recommend_reserve(
                         person_id=theirs["id"], place_code=village, recommended_by="x",
                         method="self", recommended_on="2026-03-01")):
            with pytest.raises(NotFound):
                call()
        with pytest.raises(NotFound):  # not even whether the citizen is registered elsewhere
            xihu.cadres.find_person(identity_number=proxy.cadres.get_person(
                person_id=theirs["id"])["identity_number"])
    with rpc(stack.settings, token(token_secret, roles=("cadres.read",))) as reader:
        with pytest.raises(Forbidden):
            reader.cadres.register_person(**person(village))
    assert proxy.cadres.get_person(person_id=theirs["id"])["name"] == theirs["name"]


def test_jurisdiction_across_townships_of_one_county(stack, proxy, token_secret):
    (town_a, villages_a), (town_b, villages_b) = list(rural_townships(proxy).items())[10:12]
    mover = proxy.cadres.register_person(**person(villages_a[0]))
    whole = proxy.cadres.get_person(person_id=mover["id"])["identity_number"]
    roles = ("cadres.read", "cadres.write", "cadres.personal_data")
    with rpc(stack.settings, token(token_secret, place=town_a, roles=roles)) as a:
        with pytest.raises(Forbidden):  # A's person, B's village
            a.cadres.recommend_reserve(person_id=mover["id"], place_code=villages_b[0],
                                       recommended_by="x", method="self",
                                       recommended_on="2026-03-01")
        with pytest.raises(Forbidden):
            a.cadres.record_placement(person_id=mover["id"], kind="village_director",
                                      placed_on=TODAY.isoformat(), place_code=villages_b[0])
        b_class = proxy.cadres.create_class(place_code=town_b, kind="forum", title="座谈会",
                                            starts_on="2026-06-01", ends_on="2026-06-01",
                                            hours="3")
        with pytest.raises(NotFound):  # B's class, as if there were none
            a.cadres.record_attendance(class_id=b_class["id"], person_id=mover["id"],
                                       attended=True)
    with pytest.raises(ValidationError):  # the county may, but B's class is for B's cadres
        proxy.cadres.record_attendance(class_id=b_class["id"], person_id=mover["id"],
                                       attended=True)
    # The county recommends A's person to B's village: B sees the cadre in its roster,
    # but the identity number whole only where it may read the person.
    as_reserve(proxy, mover["id"], villages_b[0])
    with rpc(stack.settings, token(token_secret, place=town_b, roles=roles)) as b:
        with pytest.raises(NotFound):
            b.cadres.get_person(person_id=mover["id"])
        rows = [r for r in b.cadres.reserve_roster(place_code=villages_b[0])["rows"]
                if r["name"] == mover["name"]]
        assert [r["identity_number"] for r in rows] == [identity_number.mask(whole)]
    rows = [r for r in proxy.cadres.reserve_roster(place_code=villages_b[0])["rows"]
            if r["name"] == mover["name"]]
    assert [r["identity_number"] for r in rows] == [whole]


def test_an_id_in_another_township_is_answered_as_one_that_does_not_exist(stack, proxy,
                                                                         token_secret):
    (town_a, villages_a), (town_b, villages_b) = list(rural_townships(proxy).items())[12:14]
    mine = proxy.cadres.register_person(**person(villages_a[0]))["id"]
    someone = proxy.cadres.register_person(**person(villages_b[0]))["id"]
    last_reserve = as_reserve(proxy, someone, villages_b[0], confirm=False)["id"]
    person_id, reserve_id = someone + 1, last_reserve + 1  # ids yet to be given

    def attempts(a):
        return [
            lambda: a.cadres.get_person(person_id=person_id),
            lambda: a.cadres.update_person(person_id=person_id, version=1, name="改名"),
            lambda: a.cadres.person_placements(person_id=person_id),
            lambda: a.cadres.person_duties(person_id=person_id),
            lambda: a.cadres.select_for_pool(person_id=person_id, selected_on="2026-03-01",
                                             assessment="excellent", recommended_by="x"),
            lambda: a.cadres.record_commitment(person_id=person_id, kind="start_up",
                                               signed_on="2026-03-01", content="x"),
            lambda: a.cadres.record_problem(person_id=person_id, kind="not_at_post",
                                            found_on="2026-03-01", description="x"),
            # a person named inside a reserve registration, to a village of the caller's
            lambda: a.cadres.recommend_reserve(person_id=person_id, place_code=villages_a[0],
                                               recommended_by="x", method="self",
                                               recommended_on="2026-03-01"),
            lambda: a.cadres.get_reserve(reserve_id=reserve_id),
            lambda: a.cadres.assess_reserve(reserve_id=reserve_id, assessed_on="2026-03-15",
                                            assessor="x", result="competent"),
            lambda: a.cadres.confirm_reserve(reserve_id=reserve_id, confirmed_on="2026-04-01"),
            lambda: a.cadres.withdraw_reserve(reserve_id=reserve_id,
                                              withdrawn_on=TODAY.isoformat(), reason="x"),
        ]

    roles = ("cadres.read", "cadres.write", "cadres.personal_data")
    with rpc(stack.settings, token(token_secret, place=town_a, roles=roles)) as a:
        absent = [error_of(call) for call in attempts(a)]
        # now they exist, in B: the person, and the person as B's reserve cadre
        made = proxy.cadres.register_person(**person(villages_b[1]))["id"]
        made_reserve = as_reserve(proxy, made, villages_b[1])["id"]
        assert (made, made_reserve) == (person_id, reserve_id)
        elsewhere = [error_of(call) for call in attempts(a)]
        # an organization named in a placement: B's is as unknown as none at all
        org = village_branch(stack, proxy, villages_b[0])

        def placed_in(organization_id):
            kind, message, details = error_of(lambda: a.cadres.record_placement(
                person_id=mine, kind="party_secretary", placed_on=TODAY.isoformat(),
                place_code=villages_a[0], organization_id=organization_id))
            return kind, message, json.dumps(details).replace(str(organization_id), "<id>")

        assert placed_in(org["id"]) == placed_in(org["id"] + 10**6)
    assert all(kind is NotFound for kind, _, _ in absent)
    assert elsewhere == absent
    assert absent[0][2] == {"person_id": str(person_id)}  # nameko sends details as str()
    assert absent[-1][2] == {"reserve_id": str(reserve_id)}
    assert proxy.cadres.get_person(person_id=made)["name"] != "改名"


def test_an_identity_number_is_unique_within_a_jurisdiction_and_a_clash_is_resolved_above(
        stack, proxy, token_secret):
    """A township registering a resident another township holds is answered as for any new
    number; the county above both sees the clash and has one record withdrawn."""
    (town_a, villages_a), (town_b, villages_b) = list(rural_townships(proxy).items())[14:16]
    roles = ("cadres.read", "cadres.write", "cadres.personal_data")
    rng = random.Random(16)
    with rpc(stack.settings, token(token_secret, place=town_a, roles=roles)) as a, \
            rpc(stack.settings, token(token_secret, place=town_b, roles=roles)) as b, \
            rpc(stack.settings, token(token_secret, place=SUICHANG, roles=roles)) as county:
        held_by_a = [a.cadres.register_person(**person(villages_a[0], rng)) for _ in range(2)]
        numbers = [a.cadres.get_person(person_id=p["id"])["identity_number"] for p in held_by_a]

        # B registers A's residents as it registers numbers held nowhere: the same answer
        def registered(values):
            answer = b.cadres.register_person(**values)
            return answer, sorted(answer), answer["identity_number_whole"]

        fresh, fresh_keys, fresh_whole = registered(person(villages_b[0], rng))
        doubles = [registered(person(villages_b[0], rng, identity_number=n, sex=p["sex"]))
                   for n, p in zip(numbers, held_by_a, strict=True)]
        assert all((keys, whole) == (fresh_keys, fresh_whole) for _, keys, whole in doubles)
        assert [d[0]["place_code"] for d in doubles] == [villages_b[0]] * 2
        # ... and so is a correction of a number to one A holds
        third = new_number(rng, sex=fresh["sex"], born=dt.date.fromisoformat(fresh["birth_date"]))
        a.cadres.register_person(**person(villages_a[1], rng, identity_number=third,
                                          sex=fresh["sex"]))
        changed = b.cadres.update_person(person_id=fresh["id"], version=1, identity_number=third)
        assert changed["version"] == 2
        # inside B's jurisdiction the number is taken
        with pytest.raises(Conflict) as taken:
            b.cadres.register_person(**person(villages_b[1], rng, identity_number=numbers[0],
                                              sex=held_by_a[0]["sex"]))
        assert taken.value.details["person_ids"] == [str(doubles[0][0]["id"])]  # as nameko sends
        # each township finds its own; the county sees both, and the clash
        assert a.cadres.find_person(identity_number=numbers[0])["id"] == held_by_a[0]["id"]
        assert b.cadres.find_person(identity_number=numbers[0])["id"] == doubles[0][0]["id"]
        with pytest.raises(Conflict) as twice:
            county.cadres.find_person(identity_number=numbers[0])
        assert "identity_clashes" in twice.value.message
        assert a.cadres.identity_clashes(place_code=town_a)["items"] == []
        pages, after = [], None
        while True:  # a page of one clash at a time
            page = county.cadres.identity_clashes(place_code=SUICHANG, limit=1,
                                                  **({"after": after} if after else {}))
            pages.append(page["items"])
            after = page["next_cursor"]
            if not after:
                break
        clashes = {c["identity_number"]: c["people"] for items in pages for c in items}
        assert all(len(items) <= 1 for items in pages)
        for number, mine, double in zip(numbers, held_by_a, doubles, strict=True):
            assert [(p["id"], p["place_code"]) for p in clashes[number]] == [
                (mine["id"], villages_a[0]), (double[0]["id"], villages_b[0])]

        # Resolved: B's record goes, once nothing keeps it on the ledger
        duplicate = doubles[0][0]
        reserve = as_reserve(b, duplicate["id"], villages_b[0], confirm=False)
        before = table_text(stack.urls["cadres"], "people")
        with pytest.raises(Conflict) as kept:
            b.cadres.withdraw_person(person_id=duplicate["id"], version=1,
                                     withdrawn_on=TODAY.isoformat(), reason="与甲乡重复登记")
        assert kept.value.details == {"reserves": [str(reserve["id"])]}
        assert table_text(stack.urls["cadres"], "people") == before
        with pytest.raises(NotFound):  # A cannot touch B's record: there is none for A
            a.cadres.withdraw_person(person_id=duplicate["id"], version=1,
                                     withdrawn_on=TODAY.isoformat(), reason="x")
        b.cadres.withdraw_reserve(reserve_id=reserve["id"], withdrawn_on=TODAY.isoformat(),
                                  reason="重复登记")
        gone = b.cadres.withdraw_person(person_id=duplicate["id"], version=1,
                                        withdrawn_on=TODAY.isoformat(), reason="与甲乡重复登记")
        assert (gone["withdrawn_on"], gone["version"]) == (TODAY.isoformat(), 2)
        assert county.cadres.find_person(identity_number=numbers[0])["id"] == held_by_a[0]["id"]
        left = county.cadres.identity_clashes(place_code=SUICHANG)["items"]
        assert numbers[0] not in {c["identity_number"] for c in left}
        assert numbers[1] in {c["identity_number"] for c in left}
        listed = b.cadres.list_people(place_code=villages_b[0])["items"]
        assert duplicate["id"] not in {p["id"] for p in listed}
        with pytest.raises(Conflict):  # off the ledger: not recommended again
            as_reserve(b, duplicate["id"], villages_b[0], confirm=False)
        # the number is B's to register again, now that B holds it no more
        again = b.cadres.register_person(**person(villages_b[1], rng, identity_number=numbers[0],
                                                  sex=held_by_a[0]["sex"]))
        assert again["place_code"] == villages_b[1]


def test_one_number_registered_twice_at_once_in_one_jurisdiction_is_one_person(
        stack, proxy, token_secret):
    village = list(rural_townships(proxy).values())[16][0]
    values = person(village)
    answers = []

    def register():
        with rpc(stack.settings, token(token_secret)) as own:
            try:
                answers.append(own.cadres.register_person(**values)["id"])
            except Conflict:
                answers.append("conflict")

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers, key=str).count("conflict") == 3, answers
    assert proxy.cadres.find_person(identity_number=values["identity_number"])["id"] in answers


@pytest.mark.parametrize("field, value", [("votes", 2**31), ("recommended_by", "村\x00党组织"),
                                          ("remarks", "x" * 501)])
def test_out_of_range_input_is_a_validation_error_and_writes_nothing(stack, proxy, field, value):
    village = next(iter(rural_townships(proxy).values()))[0]
    someone = proxy.cadres.register_person(**person(village))
    before = table_text(stack.urls["cadres"], "reserves")
    with pytest.raises(ValidationError) as refused:
        proxy.cadres.recommend_reserve(**{
            "person_id": someone["id"], "place_code": village, "recommended_by": "村党组织",
            "method": "democratic", "recommended_on": "2026-03-01", field: value})
    assert field in refused.value.details
    assert table_text(stack.urls["cadres"], "reserves") == before


def test_a_roster_pages_by_whole_villages(stack, proxy):
    township, villages = list(rural_townships(proxy).items())[12]
    for village in villages[:3]:
        for _ in range(2):
            as_reserve(proxy, proxy.cadres.register_person(**person(village))["id"], village)
    pages, after = [], None
    while True:
        page = proxy.cadres.reserve_roster(place_code=township, limit=3, after=after)
        pages.append(page["rows"])
        after = page["next_cursor"]
        if after is None:
            break
    assert [len(p) for p in pages] == [2, 2, 2]  # 3 rows do not fit two villages of 2
    numbers = [r["number"] for p in pages for r in p]
    assert numbers == [str(n) for n in range(1, 7)]
    assert len({r["village"] for p in pages for r in p}) == 3


# -- key rotation --------------------------------------------------------------------------
def test_rekey_seals_everything_under_the_new_key(databases):
    from services.cadres.cli import PURPOSE, rekey
    from shared.platform.migrate import migrate
    from shared.platform.personal_data import Protector, new_key

    url = databases.create("cad_rekey")
    migrate("cadres", url)
    old, new = new_key(), new_key()
    before = Protector((old,))
    numbers = [new_number() for _ in range(3)]
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            for number in numbers:
                cur.execute(
                    "INSERT INTO people (name, sex, ethnicity, birth_date, education,"
                    " political_status, post_category, place_code, id_number_sealed,"
                    " id_number_index, id_number_masked, college_graduate_official) VALUES"
                    " ('某', 'male', '汉族', '1990-01-01', 'bachelor', 'masses', 'other',"
                    " '331123102201', %s, %s, %s, false)",
                    (before.seal(number, purpose=PURPOSE), before.index(number),
                     identity_number.mask(number)))
        rotated = Protector((new, old))
        assert rekey(url, rotated) == 3
        assert rekey(url, rotated) == 0  # again: nothing left to do
        after = Protector((new,))  # the old key can go now
        with conn, conn.cursor() as cur:
            cur.execute("SELECT id_number_sealed, id_number_index FROM people ORDER BY id")
            rows = cur.fetchall()
        assert [after.open(sealed, purpose=PURPOSE) for sealed, _ in rows] == numbers
        assert [bytes(index) for _, index in rows] == [after.index(n) for n in numbers]
    finally:
        conn.close()
