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

from services.resources import domain, store
from shared.errors import Conflict, Forbidden, NotFound, ValidationError
from shared.platform.db import Transaction
from tests.support import (
    SUICHANG,
    XIHU,
    as_sent,
    eventually,
    refusal,
    rpc,
    sample_places,
    services_running,
    token,
)

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
    townships = [p["code"] for p in proxy.organizations.list_children(place_code=county)["items"]]
    return {t: [v["code"] for v in proxy.organizations.list_children(place_code=t)["items"]]
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


def money(value):
    return str(Decimal(value).quantize(Decimal("0.01")))


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
    with pytest.raises(ValidationError):  # a township is not a village or community
        proxy.resources.allocate(program_id=program["id"], year=2026,
                                 place_code=rural(county)[0], amount="1.00", purpose="乡镇")
    url = stack.urls["resources"]
    before = rows(url, "SELECT count(*), sum(amount) FROM disbursements")
    for amount, paid_on, error in (
            ("1000.01", TODAY, Conflict), ("-1", TODAY, ValidationError),
            ("10.005", TODAY, ValidationError), ("0", TODAY, ValidationError),
            ("1e30", TODAY, ValidationError), ("1000000000000", TODAY, ValidationError),
            ("10.00", dt.date(2025, 12, 31), ValidationError)):  # before the allocation's year
        with pytest.raises(error):
            proxy.resources.disburse(allocation_id=allocation["id"], amount=amount,
                                     paid_on=paid_on.isoformat(), document="县财〔2026〕1号")
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
    program = proxy.resources.create_program(kind="property_economy", name="物业经济扶持",
                                             place_code=SUICHANG)
    budgets = {2024: "3000000.00", 2025: "5000000.00"}
    for year, amount in budgets.items():
        proxy.resources.set_budget(program_id=program["id"], year=year, amount=amount)
    pension = proxy.resources.create_program(kind="retired_cadre_pension", name="离任村干部补助",
                                             place_code=townships[0])
    proxy.resources.set_budget(program_id=pension["id"], year=2025, amount="80000.00")
    made = []    # (year, township, village, amount, paid)
    raised = []  # (year raised, year funded, township, income)
    for year in budgets:
        for township in townships:
            for village in villages_only(county[township])[:3]:
                amount = Decimal(rng.randrange(10_000_00, 90_000_00)) / 100
                allocation = proxy.resources.allocate(program_id=program["id"], year=year,
                                                      place_code=village, amount=str(amount),
                                                      purpose="物业用房")
                paid = Decimal(0)
                for _ in range(rng.randrange(0, 3)):
                    part = (amount / 3).quantize(Decimal("0.01"))
                    proxy.resources.disburse(allocation_id=allocation["id"], amount=str(part),
                                             paid_on=TODAY.isoformat(), document="拨付")
                    paid += part
                # a project funded in 2024 raises income in 2024 and again in 2025
                for income_year in range(year, 2026):
                    income = Decimal(rng.randrange(1_00, 20_000_00)) / 100
                    proxy.resources.record_income(allocation_id=allocation["id"],
                                                  year=income_year, income=str(income))
                    raised.append((income_year, year, township, income))
                made.append((year, township, village, amount, paid))

    def expected(year, in_row, budget):
        mine = [m for m in made if m[0] == year and in_row(m[1])]
        allocated = sum((m[3] for m in mine), Decimal(0))
        disbursed = sum((m[4] for m in mine), Decimal(0))
        income = sum((r[3] for r in raised if r[0] == year and in_row(r[2])), Decimal(0))
        return {"budget": money(budget), "allocated": money(allocated),
                "disbursed": money(disbursed), "undisbursed": money(allocated - disbursed),
                "income": money(income)}

    def figures(row):
        return {k: row[k] for k in ("budget", "allocated", "disbursed", "undisbursed", "income")}

    for year, budget in budgets.items():
        report = proxy.resources.funding_report(place_code=SUICHANG, year=year,
                                                kind="property_economy")
        assert report["kind_label"] == "村级物业经济扶持"
        assert figures(report["total"]) == expected(year, lambda t: True, budget)
        # the program's budget is the county's own; the money is the townships'
        assert report["own"]["place_code"] == SUICHANG
        assert figures(report["own"]) == expected(year, lambda t: False, budget)
        # every child place once, in code order, and never the county itself
        assert [r["place_code"] for r in report["by_child_place"]] == sorted(county)
        for row in report["by_child_place"]:
            code = row["place_code"]
            assert figures(row) == expected(year, lambda t, code=code: t == code, 0), code
    # the 2025 income of projects funded in 2024 is in the 2025 report, and only there
    from_2024 = sum(r[3] for r in raised if r[:2] == (2025, 2024))
    assert from_2024 > 0
    assert Decimal(proxy.resources.funding_report(place_code=SUICHANG, year=2025)["total"]["income"]) \
        == sum(r[3] for r in raised if r[0] == 2025)

    # every kind: the pension budget is set at a township, so it shows there
    everything = proxy.resources.funding_report(place_code=SUICHANG, year=2025)
    assert everything["total"]["budget"] == "5080000.00" and everything["kind_label"] is None
    township_row = next(r for r in everything["by_child_place"] if r["place_code"] == townships[0])
    assert figures(township_row) == expected(2025, lambda t: t == townships[0], "80000.00")

    # undisbursed, a page at a time: each allocation with its own payments and income
    items, after = [], {}
    while True:
        page = proxy.resources.undisbursed(place_code=SUICHANG, year=2024, limit=5, **after)
        items += page["items"]
        if not page["next_cursor"]:
            break
        after = {"after": page["next_cursor"]}
    assert [(a["place_code"], a["amount"], a["disbursed"]) for a in items] == \
        sorted((m[2], money(m[3]), money(m[4])) for m in made if m[0] == 2024 and m[4] < m[3])
    for item in items:
        assert money(sum((Decimal(d["amount"]) for d in item["disbursements"]), Decimal(0))) \
            == item["disbursed"]
        assert [i["year"] for i in item["income"]] == [2024, 2025]
        assert item["program_kind_label"] == "村级物业经济扶持"


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


def test_subsidies_are_for_months_after_leaving_and_judged_as_of_then(stack, proxy):
    county = tree(proxy)
    township = rural(county)[7]
    villages = villages_only(county[township])
    # 60 on 2025-06-20, out of office since March 2024
    person = dict(name="王守业", place_code=villages[0], birth_date="1965-06-20", years_served=12,
                  left_on="2024-03-15")
    cadre = proxy.resources.register_retired_cadre(**person)
    assert cadre["eligible"]
    with pytest.raises(Conflict):  # the same person twice would be paid twice
        proxy.resources.register_retired_cadre(**{**person, "years_served": 13})

    def pay(period):
        return proxy.resources.pay_subsidy(cadre_id=cadre["id"], period=period, amount="300.00",
                                           paid_on=TODAY.isoformat())

    next_month = f"{(TODAY.replace(day=28) + dt.timedelta(days=4)):%Y-%m}"
    for period in ("2024-02", next_month, "2099-12", "2001-01"):  # before leaving; to come
        with pytest.raises(ValidationError):
            pay(period)
    with pytest.raises(Conflict):  # in May 2025 he was 59
        pay("2025-05")
    pay("2025-06")
    paid = pay("2025-07")["paid"]
    assert paid == [{"period": "2025-06", "amount": "300.00", "paid_on": TODAY.isoformat()},
                    {"period": "2025-07", "amount": "300.00", "paid_on": TODAY.isoformat()}]
    # retired this year: not a retired cadre in 2025's report
    proxy.resources.register_retired_cadre(name="李新退", place_code=villages[1],
                                           birth_date="1950-01-01", years_served=8,
                                           left_on=f"{TODAY.year}-01-01")

    def totals(year):
        total = proxy.resources.pension_report(place_code=township, year=year)["total"]
        return total["cadres"], total["eligible"], total["paid_cadres"], total["paid"]

    assert totals(2024) == (1, 0, 0, "0.00")  # retired, but not 60 by the year's end
    assert totals(2025) == (1, 1, 1, "600.00")
    assert totals(TODAY.year) == (2, 2, 0, "0.00")


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
    assert small["function_labels"] == ["便民服务", "文化娱乐", "教育培训", "党员活动"]  # by code
    with pytest.raises(ValidationError):  # 199.995 is not rounded to 200
        proxy.resources.register_venue(place_code=villages_only(places)[2], name="四舍五入",
                                       area="199.995", functions=full)
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
    project = upgraded["projects"][0]
    assert (project["kind_label"], project["status_label"], project["planned_area"],
            project["budget"]) == ("改造提升", "在建", "220.00", "300000.00")
    project_id = project["id"]
    with pytest.raises(ValidationError):  # finished the day before it started
        proxy.resources.complete_project(project_id=project_id, area="220", functions=full,
                                         completed_on=(TODAY - dt.timedelta(days=1)).isoformat())
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


def test_the_venue_report_applies_the_rules_in_force(stack, proxy):
    """No verdict is stored: the SQL the report counts with and the shortfalls of each
    venue are the same test, whatever the standard."""
    county = tree(proxy)
    township = rural(county)[9]
    places = county[township]
    full = ["party_activities", "education_training", "convenience_services"]
    villages = villages_only(places)
    communities = [c for c in places if int(c[9:]) < 200]
    registered = [(villages[0], "200", full), (villages[1], "250", full),
                  (villages[2], "199.99", full), (villages[3], "400", full[:2]),
                  (villages[4], "230", [*full, "culture"]),
                  (communities[0], "300", full), (communities[1], "310", full)]
    for code, area, functions in registered:
        proxy.resources.register_venue(place_code=code, name="活动场所", area=area,
                                       functions=functions)
    conn = psycopg2.connect(stack.urls["resources"])
    conn.autocommit = True
    tx = Transaction(conn, service="resources", actor={}, request_id=None, operation="test",
                     call_id=None, writes=False)
    try:
        for config in ({}, {"venue_min_area": {"village": "240", "community": "305"}},
                       {"venue_required_functions": ["culture"]}):
            rules = domain.Rules.from_config(config)
            standard = domain.venue_standard(rules)
            venues = tx.all("SELECT place_code, area, functions FROM venues"
                            " WHERE place_code LIKE %s", (township[:9] + "%",))
            meets = [not domain.venue_shortfalls(v["place_code"], v["area"], v["functions"], rules)
                     for v in venues]
            counts = store.venue_counts(tx, township, standard)
            assert sum(r["venues"] for r in counts) == len(venues) >= 5
            assert sum(r["compliant"] for r in counts) == sum(meets), config
            below = store.below_standard(tx, township, 100, standard)
            assert len(below) == meets.count(False), config
    finally:
        conn.close()
    report = proxy.resources.venue_report(place_code=township)
    assert all(v["shortfalls"] for v in report["below_standard"])
    assert report["total"]["below_standard"] == len(report["below_standard"])


def test_only_the_programs_place_pays_out_and_records_income(stack, proxy, token_secret):
    county = tree(proxy)
    township = rural(county)[8]
    village = villages_only(county[township])[0]
    program = proxy.resources.create_program(kind="property_economy", name="县级物业经济扶持",
                                             place_code=SUICHANG)
    proxy.resources.set_budget(program_id=program["id"], year=2026, amount="1000.00")
    allocation = proxy.resources.allocate(program_id=program["id"], year=2026, place_code=village,
                                          amount="1000.00", purpose="物业用房")
    assert allocation["program_place_code"] == SUICHANG
    url = stack.urls["resources"]
    written = ("SELECT (SELECT count(*) FROM disbursements WHERE allocation_id = %(a)s),"
               " (SELECT count(*) FROM project_income WHERE allocation_id = %(a)s),"
               " (SELECT disbursed FROM allocations WHERE id = %(a)s)")
    before = rows(url, written, {"a": allocation["id"]})
    for place in (village, township):
        with rpc(stack.settings, token(token_secret, place=place,
                                       roles=("resources.read", "resources.write"))) as local:
            # it sees the money allocated to it, but does not pay it out to itself
            assert local.resources.get_allocation(allocation_id=allocation["id"])["id"] \
                == allocation["id"]
            with pytest.raises(Forbidden):
                local.resources.disburse(allocation_id=allocation["id"], amount="1000.00",
                                         paid_on=TODAY.isoformat(), document="自行拨付")
            with pytest.raises(Forbidden):
                local.resources.record_income(allocation_id=allocation["id"], year=2026,
                                              income="5000.00")
    assert rows(url, written, {"a": allocation["id"]}) == before
    with rpc(stack.settings, token(token_secret, place=SUICHANG,
                                   roles=("resources.read", "resources.write"))) as county_staff:
        paid = county_staff.resources.disburse(allocation_id=allocation["id"], amount="10.00",
                                               paid_on=TODAY.isoformat(), document="县财拨付")
    assert paid["disbursed"] == "10.00"


MISSING = 9_000_000_001  # an id no record has


def test_jurisdiction(stack, proxy, token_secret):
    county = tree(proxy)
    village = villages_only(county[rural(county)[0]])[-1]
    full = ["party_activities", "education_training", "convenience_services", "culture"]
    program = proxy.resources.create_program(kind="other", name="测试", place_code=SUICHANG)
    proxy.resources.set_budget(program_id=program["id"], year=2026, amount="100.00")
    allocation = proxy.resources.allocate(program_id=program["id"], year=2026, place_code=village,
                                          amount="100.00", purpose="x")
    venue = proxy.resources.register_venue(place_code=village, name="活动室", area="120",
                                           functions=full)
    project = proxy.resources.start_project(venue_id=venue["id"], kind="upgrade",
                                            budget="1000.00", started_on=TODAY.isoformat(),
                                            planned_area="220", planned_functions=full)["projects"][0]
    cadre = proxy.resources.register_retired_cadre(name="跨区测试", place_code=village,
                                                   birth_date="1990-01-01", years_served=2,
                                                   left_on="2020-01-01")  # not eligible
    url = stack.urls["resources"]
    written = ("SELECT (SELECT array_agg((year, amount)) FROM budgets WHERE program_id = %(p)s)::text,"
               " (SELECT count(*) FROM allocations WHERE program_id = %(p)s),"
               " (SELECT count(*) FROM disbursements WHERE allocation_id = %(a)s),"
               " (SELECT count(*) FROM project_income WHERE allocation_id = %(a)s),"
               " (SELECT count(*) FROM venue_projects WHERE venue_id = %(v)s AND status = 'in_progress'),"
               " (SELECT count(*) FROM subsidies WHERE cadre_id = %(c)s)")
    ids = {"p": program["id"], "a": allocation["id"], "v": venue["id"], "c": cadre["id"]}
    before = rows(url, written, ids)
    xihu_village = "330106002201"
    with rpc(stack.settings, token(token_secret, place=XIHU,
                                   roles=("resources.read", "resources.write"))) as xihu:
        # A record of another county is no such record: the same NotFound, word for word,
        # as the store's for an id that does not exist — reads and writes alike, and
        # before any check of its state (over the budget, not under way, not eligible).
        named = {
            "program": (store.program_absent, program["id"], [
                lambda i: xihu.resources.set_budget(program_id=i, year=2026, amount="0.00"),
                lambda i: xihu.resources.allocate(program_id=i, year=2026,
                                                  place_code=xihu_village, amount="1000.00",
                                                  purpose="x")]),
            "allocation": (store.allocation_absent, allocation["id"], [
                lambda i: xihu.resources.get_allocation(allocation_id=i),
                lambda i: xihu.resources.disburse(allocation_id=i, amount="1000.00",
                                                  paid_on=TODAY.isoformat(), document="x"),
                lambda i: xihu.resources.record_income(allocation_id=i, year=2026,
                                                       income="1.00")]),
            "venue": (store.venue_absent, venue["id"], [
                lambda i: xihu.resources.get_venue(venue_id=i),
                lambda i: xihu.resources.start_project(  # one is under way already
                    venue_id=i, kind="upgrade", budget="1.00", started_on=TODAY.isoformat(),
                    planned_area="220", planned_functions=full)]),
            "project": (store.project_absent, project["id"], [
                lambda i: xihu.resources.complete_project(project_id=i, area="220",
                                                          functions=full,
                                                          completed_on=TODAY.isoformat()),
                lambda i: xihu.resources.cancel_project(project_id=i, reason="x")]),
            "cadre": (store.cadre_absent, cadre["id"], [
                lambda i: xihu.resources.get_retired_cadre(cadre_id=i),
                lambda i: xihu.resources.pay_subsidy(cadre_id=i, period="2026-01",
                                                     amount="300.00",
                                                     paid_on=TODAY.isoformat())]),
        }
        for kind, (absent, record_id, calls) in named.items():
            for call in calls:
                there = refusal(lambda call=call, record_id=record_id: call(record_id))
                missing = refusal(lambda call=call: call(MISSING))
                assert there == (NotFound, *as_sent(absent(record_id))), kind
                assert missing == (NotFound, *as_sent(absent(MISSING))), kind

        # Places are public: a report or a record under a place outside the subtree is
        # Forbidden, as is a missing role.
        for call in (lambda: xihu.resources.funding_report(place_code=SUICHANG, year=2026),
                     lambda: xihu.resources.venue_report(place_code=SUICHANG),
                     lambda: xihu.resources.create_program(kind="other", name="x",
                                                           place_code=SUICHANG)):
            with pytest.raises(Forbidden):
                call()
    with rpc(stack.settings, token(token_secret, place=XIHU,
                                   roles=("resources.read",))) as reader:
        with pytest.raises(Forbidden):  # the role first: nothing is looked up without it
            reader.resources.set_budget(program_id=program["id"], year=2026, amount="0.00")
    assert rows(url, written, ids) == before
    assert proxy.resources.get_allocation(allocation_id=allocation["id"])["disbursed"] == "0.00"
