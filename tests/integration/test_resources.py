"""The resources service on the real broker and database: money that never overspends,
reports against sums computed here, venues and their compliance events."""

import datetime as dt
import json
import random
import uuid
from decimal import Decimal

import eventlet
import kombu
import psycopg2
import pytest

from shared.errors import Conflict, Forbidden, ValidationError
from tests.support import SUICHANG, XIHU, eventually, rpc, sample_places, services_running, token

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "res", "organizations", "resources") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG))
            eventually(lambda: proxy.resources.venue_report(place_code=SUICHANG)["by_child_place"])
        yield running


@pytest.fixture
def proxy(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        yield proxy


def tree(proxy, county=SUICHANG):
    townships = [p["code"] for p in proxy.organizations.list_children(code=county)["items"]]
    return {t: [v["code"] for v in proxy.organizations.list_children(code=t)["items"]]
            for t in townships}


def villages_only(codes):
    return [c for c in codes if int(c[9:]) >= 200]


def rural(county):
    """The townships that have villages (a sub-district may have only communities)."""
    return [t for t in county if len(villages_only(county[t])) >= 3]


def rows(url, sql, params=()):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def test_money_refusals_write_nothing_and_concurrent_payments_never_overspend(stack, proxy,
                                                                              token_secret):
    county = tree(proxy)
    villages = villages_only(county[rural(county)[0]])
    program = proxy.resources.create_program(kind="property_economy", name="物业经济扶持",
                                             place_code=SUICHANG)
    proxy.resources.set_budget(program_id=program["id"], year=2026, amount="1500.00")
    allocation = proxy.resources.allocate(program_id=program["id"], year=2026,
                                          place_code=villages[0], amount="1000.00",
                                          purpose="标准厂房")
    with pytest.raises(Conflict):  # more than the budget left
        proxy.resources.allocate(program_id=program["id"], year=2026, place_code=villages[1],
                                 amount="500.01", purpose="超出")
    url = stack.urls["resources"]
    before = rows(url, "SELECT count(*), sum(amount) FROM disbursements")
    for amount, error in (("1000.01", Conflict), ("-1", ValidationError), ("10.005", ValidationError),
                          ("0", ValidationError)):
        with pytest.raises(error):
            proxy.resources.disburse(allocation_id=allocation["id"], amount=amount,
                                     paid_on=TODAY.isoformat(), document="县财〔2026〕1号")
    assert rows(url, "SELECT count(*), sum(amount) FROM disbursements") == before

    outcomes = []

    def pay():
        with rpc(stack.settings, token(token_secret)) as caller:
            try:
                caller.resources.disburse(allocation_id=allocation["id"], amount="150.00",
                                          paid_on=TODAY.isoformat(), document="分批拨付")
                outcomes.append("paid")
            except Conflict:
                outcomes.append("refused")

    threads = [eventlet.spawn(pay) for _ in range(10)]
    for thread in threads:
        thread.wait()
    assert sorted(outcomes) == ["paid"] * 6 + ["refused"] * 4  # 6 × 150 = 900 ≤ 1 000
    final = proxy.resources.get_allocation(allocation_id=allocation["id"])
    assert (final["disbursed"], final["remaining"]) == ("900.00", "100.00")
    assert rows(url, "SELECT sum(amount) FROM disbursements WHERE allocation_id = %s",
                (allocation["id"],)) == [(Decimal("900.00"),)]


def test_the_funding_report_matches_sums_computed_here(stack, proxy):
    rng = random.Random(37)
    county = tree(proxy)
    townships = rural(county)[1:5]
    program = proxy.resources.create_program(kind="property_economy", name="2025年物业经济",
                                             place_code=SUICHANG)
    proxy.resources.set_budget(program_id=program["id"], year=2025, amount="5000000.00")
    pension = proxy.resources.create_program(kind="retired_cadre_pension", name="离任村干部补助",
                                             place_code=townships[0])
    proxy.resources.set_budget(program_id=pension["id"], year=2025, amount="80000.00")
    made = []
    for township in townships:
        for village in villages_only(county[township])[:3]:
            amount = Decimal(rng.randrange(10_000_00, 90_000_00)) / 100
            allocation = proxy.resources.allocate(program_id=program["id"], year=2025,
                                                  place_code=village, amount=str(amount),
                                                  purpose="物业用房")
            paid = Decimal(0)
            for _ in range(rng.randrange(0, 3)):
                part = (amount / 3).quantize(Decimal("0.01"))
                proxy.resources.disburse(allocation_id=allocation["id"], amount=str(part),
                                         paid_on=TODAY.isoformat(), document="拨付")
                paid += part
            income = Decimal(rng.randrange(0, 20_000_00)) / 100
            proxy.resources.record_income(allocation_id=allocation["id"], year=2025,
                                          income=str(income))
            made.append((village, township, amount, paid, income))

    def money(value):
        return str(Decimal(value).quantize(Decimal("0.01")))

    report = proxy.resources.funding_report(place_code=SUICHANG, year=2025,
                                            kind="property_economy")
    total = report["total"]
    assert total["budget"] == "5000000.00"
    assert total["allocated"] == money(sum(m[2] for m in made))
    assert total["disbursed"] == money(sum(m[3] for m in made))
    assert total["undisbursed"] == money(sum(m[2] - m[3] for m in made))
    assert total["income"] == money(sum(m[4] for m in made))
    for row in report["by_child_place"]:
        mine = [m for m in made if m[1] == row["place_code"]]
        assert row["allocated"] == money(sum((m[2] for m in mine), Decimal(0)))
        assert row["disbursed"] == money(sum((m[3] for m in mine), Decimal(0)))
    # every kind: the pension budget is set at a township, so it shows there
    everything = proxy.resources.funding_report(place_code=SUICHANG, year=2025)
    assert everything["total"]["budget"] == "5080000.00"
    township_row = next(r for r in everything["by_child_place"] if r["place_code"] == townships[0])
    assert Decimal(township_row["budget"]) == Decimal("80000.00")
    undisbursed = proxy.resources.undisbursed(place_code=SUICHANG, year=2025, limit=1000)["items"]
    assert {(a["place_code"], a["amount"]) for a in undisbursed} == \
        {(m[0], money(m[2])) for m in made if m[3] < m[2]}


def test_weak_villages_and_retired_cadres(stack, proxy):
    county = tree(proxy)
    township = rural(county)[5]
    villages = villages_only(county[township])
    proxy.resources.record_village_income(place_code=villages[0], year=2026, income="99999.99")
    proxy.resources.record_village_income(place_code=villages[1], year=2026, income="100000.00")
    weak = proxy.resources.weak_villages(place_code=township, year=2026)
    assert [v["place_code"] for v in weak["weak"]] == [villages[0]]
    assert weak["rule"] == {"weak_village_income_below": "100000.00"}
    assert set(v["place_code"] for v in weak["without_figure"]) == set(villages[2:])

    old = proxy.resources.register_retired_cadre(name="老支书", place_code=villages[0],
                                                 birth_date="1950-03-01", years_served=20,
                                                 left_on="2015-01-01")
    young = proxy.resources.register_retired_cadre(name="年轻人", place_code=villages[1],
                                                   birth_date="1990-03-01", years_served=3,
                                                   left_on="2020-01-01")
    assert old["eligible"] and not young["eligible"] and len(young["why_not"]) == 2
    for month in ("2026-01", "2026-02"):
        proxy.resources.pay_subsidy(cadre_id=old["id"], period=month, amount="300.00",
                                    paid_on=TODAY.isoformat())
    with pytest.raises(Conflict):  # a month once
        proxy.resources.pay_subsidy(cadre_id=old["id"], period="2026-02", amount="300.00",
                                    paid_on=TODAY.isoformat())
    with pytest.raises(Conflict):  # not eligible
        proxy.resources.pay_subsidy(cadre_id=young["id"], period="2026-01", amount="300.00",
                                    paid_on=TODAY.isoformat())
    report = proxy.resources.pension_report(place_code=township, year=2026)
    assert (report["total"]["cadres"], report["total"]["eligible"],
            report["total"]["paid_cadres"], report["total"]["paid"]) == (2, 1, 1, "600.00")
    by_village = {r["place_code"]: r for r in report["by_child_place"]}
    assert by_village[villages[0]]["paid"] == "600.00" and by_village[villages[1]]["paid"] == "0.00"


def test_venues_their_projects_and_the_compliance_event(stack, proxy):
    amqp = stack.settings.amqp_uri
    queue = kombu.Queue(f"venue-capture-{uuid.uuid4().hex[:6]}", durable=True,
                        exchange=kombu.Exchange("resources.events", type="topic", durable=True),
                        routing_key="venue_compliance_changed")
    with kombu.Connection(amqp) as conn:
        queue(conn.channel()).declare()
    county = tree(proxy)
    township = rural(county)[6]
    places = county[township]
    village = villages_only(places)[0]
    community = next((c for c in places if int(c[9:]) < 200), None)
    full = ["party_activities", "education_training", "convenience_services", "culture"]
    small = proxy.resources.register_venue(place_code=village, name="村级活动室", area="120",
                                           functions=full)
    assert small["compliant"] is False and "面积不足200平方米" in small["shortfalls"][0]
    with pytest.raises(Conflict):
        proxy.resources.register_venue(place_code=village, name="第二个", area="500",
                                       functions=full)
    with pytest.raises(ValidationError):
        proxy.resources.register_venue(place_code=township, name="乡镇", area="500",
                                       functions=full)
    good = villages_only(places)[1]
    proxy.resources.register_venue(place_code=good, name="党群服务中心", area="260", functions=full)
    report = proxy.resources.venue_report(place_code=township)
    assert (report["total"]["venues"], report["total"]["compliant"],
            report["total"]["below_standard"], report["total"]["in_progress"]) == (2, 1, 1, 0)

    upgraded = proxy.resources.start_project(venue_id=small["id"], kind="upgrade",
                                             budget="300000.00", started_on=TODAY.isoformat(),
                                             planned_area="220", planned_functions=full)
    assert proxy.resources.venue_report(place_code=township)["total"]["in_progress"] == 1
    project_id = upgraded["projects"][0]["id"]
    done = proxy.resources.complete_project(project_id=project_id,
                                            completed_on=TODAY.isoformat(), area="220",
                                            functions=full)
    assert done["compliant"] is True and done["shortfalls"] == []
    after = proxy.resources.venue_report(place_code=township)
    assert (after["total"]["compliant"], after["total"]["below_standard"],
            after["total"]["compliance_rate"]) == (2, 0, "1.0000")
    with pytest.raises(Conflict):
        proxy.resources.complete_project(project_id=project_id, completed_on=TODAY.isoformat(),
                                         area="220", functions=full)
    with kombu.Connection(amqp) as conn:
        message = eventually(lambda: conn.channel().basic_get(queue.name, no_ack=True))
    body = json.loads(message.body)
    assert body["data"]["venue_id"] == small["id"] and body["data"]["compliant"] is True
    if community:
        shared_room = proxy.resources.register_venue(place_code=community, name="社区用房",
                                                     area="250", functions=full)
        assert shared_room["compliant"] is False  # a community needs 300 m²


def test_jurisdiction(stack, proxy, token_secret):
    county = tree(proxy)
    village = villages_only(county[rural(county)[0]])[-1]
    program = proxy.resources.create_program(kind="other", name="测试", place_code=SUICHANG)
    proxy.resources.set_budget(program_id=program["id"], year=2026, amount="100.00")
    allocation = proxy.resources.allocate(program_id=program["id"], year=2026, place_code=village,
                                          amount="100.00", purpose="x")
    with rpc(stack.settings, token(token_secret, place=XIHU,
                                   roles=("resources.read", "resources.write"))) as xihu:
        for call in (lambda: xihu.resources.get_allocation(allocation_id=allocation["id"]),
                     lambda: xihu.resources.disburse(allocation_id=allocation["id"], amount="1",
                                                     paid_on=TODAY.isoformat(), document="x"),
                     lambda: xihu.resources.funding_report(place_code=SUICHANG, year=2026),
                     lambda: xihu.resources.allocate(program_id=program["id"], year=2026,
                                                     place_code="330106002201", amount="1",
                                                     purpose="x"),
                     lambda: xihu.resources.venue_report(place_code=SUICHANG)):
            with pytest.raises(Forbidden):
                call()
    assert proxy.resources.get_allocation(allocation_id=allocation["id"])["disbursed"] == "0.00"
