"""The "seven ones" cycle across the organizations and evaluation services, through RPC
and events only, on the real broker and databases."""

import datetime as dt
import json
import random
import uuid
from decimal import ROUND_DOWN, Decimal

import kombu
import psycopg2
import pytest
from prometheus_client import REGISTRY

from services.evaluation import campaign_store, store
from shared.errors import Conflict, Forbidden, NotFound, ValidationError
from shared.platform import dead_letters
from tests.support import (
    LISHUI,
    SUICHANG,
    XIHU,
    as_sent,
    eventually,
    publish_event,
    refusal,
    rpc,
    sample_places,
    services_running,
    token,
)

TODAY = dt.date.today()
SOON = (TODAY + dt.timedelta(days=30)).isoformat()
INDICATORS = ("leader", "ideas", "systems", "venue", "guarantees", "results", "public_opinion")


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "loop", "organizations", "evaluation") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG))
        yield running


@pytest.fixture
def proxy(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        yield proxy


def villages(proxy, township):
    return [p["code"] for p in proxy.organizations.list_children(place_code=township)["items"]]


def townships(proxy, county=SUICHANG):
    return [p["code"] for p in proxy.organizations.list_children(place_code=county)["items"]
            if p["kind"] in ("town", "township")]


def register(proxy, place, name=None, sector="rural_village"):
    org = proxy.organizations.register_organization(
        name=name or f"村党支部{uuid.uuid4().hex[:6]}", kind="631", sector=sector,
        place_code=place, full_members=5, founded_on="2024-01-01")
    # evaluation learns of it from organization_registered
    eventually(lambda: _known(proxy, org["id"]))
    return org


def _known(proxy, organization_id):
    try:
        proxy.evaluation.acceptances_of(organization_id=organization_id)
        return True
    except NotFound:
        return False


def scores(value):
    return {name: value for name in INDICATORS}


def case_of(proxy, organization_id, **expect):
    """The organization's newest case, once it matches `expect` (events are asynchronous)."""
    def check():
        items = proxy.organizations.cases_of(organization_id=organization_id)["items"]
        return items and all(items[0][k] == v for k, v in expect.items()) and items[0]
    return eventually(check)


def moving_up(proxy, place):
    report = proxy.evaluation.moving_up_report(place_code=place)
    return {r["baseline_grade"]: r for r in report["total"]["rows"]}, report


def test_one_organization_round_the_whole_cycle(stack, proxy):
    township = townships(proxy)[0]
    org = register(proxy, villages(proxy, township)[0], name="梅坞村党支部")
    round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=2026, name="2026年度分类定级")
    assert round_["rules"]["cutoffs"] == {"good": "90", "fairly_good": "80", "average": "60"}

    # -- baseline poor: scores from three assessors, the weighted score, the grade
    for assessor, value in (("self", 70), ("members_public", 50), ("superior", 40)):
        proxy.evaluation.record_scores(round_id=round_["id"], organization_id=org["id"],
                                       assessor=assessor, scores=scores(value))
    graded = proxy.evaluation.grade_organization(round_id=round_["id"], organization_id=org["id"])
    assert graded["score"] == "49.00" and graded["grade"] == "poor" and graded["is_baseline"]
    assert graded["rules"]["assessor_weights"] == {"self": "0.2", "members_public": "0.3",
                                                   "superior": "0.5"}

    # grade_assigned opened a listed case, and the organization carries its grade
    case = case_of(proxy, org["id"], status="planning")
    assert case["listed"] and case["grade"] == "poor" and case["round"] == 1
    assert proxy.organizations.get_organization(organization_id=org["id"])["current_grade"] == "poor"
    assert org["id"] in [o["id"] for o in proxy.organizations.list_organizations(
        place_code=township, grade="poor")["items"]]
    rows, report = moving_up(proxy, township)
    assert (rows["poor"]["organizations"], rows["poor"]["moved_up"]) == (1, 0)
    assert rows["poor"]["met"] is False
    assert {r["grade"]: r["organizations"] for r in report["total"]["current"]} == {
        "good": 0, "fairly_good": 0, "average": 0, "poor": 1}
    assert report["total"]["current"][3]["grade_label"] == "较差"

    # -- plan, help, notice
    planned = proxy.organizations.set_plan(
        case_id=case["id"], main_problems="班子软弱涣散，阵地建设滞后",
        measures=["调整充实班子", "新建村级活动场所"],
        tasks=[{"content": "选优配强村党支部书记", "responsible": "乡镇组织委员", "deadline": SOON},
               {"content": "建成200平方米活动场所", "responsible": "村委会主任", "deadline": SOON}])
    assert planned["status"] == "in_progress" and len(planned["tasks"]) == 2
    proxy.organizations.assign_help(case_id=case["id"], kind="work_team", person="王组长",
                                    unit="县委组织部", assigned_on=TODAY.isoformat())
    notice = proxy.organizations.notice(case_id=case["id"])
    assert "梅坞村党支部" in notice["html"] and "较差" in notice["html"]
    assert "派驻工作组：王组长（县委组织部）" in notice["html"]
    posted = proxy.organizations.record_posting(case_id=case["id"], posted_on=TODAY.isoformat(),
                                                location="村务公开栏")
    assert posted["postings"] == [{"posted_on": TODAY.isoformat(), "location": "村务公开栏"}]
    ledger = proxy.organizations.ledger(place_code=SUICHANG)
    row = next(r for r in ledger["items"] if r["case_id"] == case["id"])
    assert (row["tasks"], row["done"], row["help"], row["listed"]) == (2, 0, ["work_team"], True)

    # -- all tasks done: submitted, and a survey opens in evaluation
    for task in planned["tasks"]:
        done = proxy.organizations.complete_task(task_id=task["id"], done_on=TODAY.isoformat())
    assert done["status"] == "submitted"
    row = next(r for r in proxy.organizations.ledger(place_code=township)["items"]
               if r["case_id"] == case["id"])
    assert (row["status"], row["done"], row["status_label"]) == ("submitted", 2, "整改完成待测评")
    survey = eventually(lambda: proxy.evaluation.surveys_of(organization_id=org["id"])["items"])[0]
    assert (survey["case_id"], survey["case_round"], survey["status"]) == (case["id"], 1, "open")

    # -- below 80 %: a second round of the same case (再整改)
    proxy.evaluation.record_counts(survey_id=survey["id"],
                                   counts={"satisfied": 30, "basically_satisfied": 20,
                                           "dissatisfied": 50})
    closed = proxy.evaluation.close_survey(survey_id=survey["id"])
    assert closed["rate"] == "0.5000" and closed["passed"] is False
    with pytest.raises(Conflict):  # closed twice
        proxy.evaluation.close_survey(survey_id=survey["id"])
    again = case_of(proxy, org["id"], round=2)
    assert again["status"] == "planning" and again["id"] == case["id"]

    # -- round two, a passed survey: accepted and crossed off (销号)
    round_two = proxy.organizations.set_plan(
        case_id=case["id"], main_problems="群众满意度不高", measures=["开展入户走访"],
        tasks=[{"content": "走访全部农户", "responsible": "村党支部书记", "deadline": SOON}])
    proxy.organizations.complete_task(task_id=round_two["tasks"][-1]["id"],
                                      done_on=TODAY.isoformat())
    second = eventually(lambda: [s for s in proxy.evaluation.surveys_of(
        organization_id=org["id"])["items"] if s["case_round"] == 2])[0]
    for answer in ["satisfied"] * 7 + ["fairly_satisfied", "basically_satisfied", "dissatisfied"]:
        proxy.evaluation.record_ballot(survey_id=second["id"], answer=answer)
    assert proxy.evaluation.close_survey(survey_id=second["id"])["rate"] == "0.9000"
    accepted = case_of(proxy, org["id"], status="accepted")
    assert accepted["crossed_off_on"] == TODAY.isoformat() and accepted["round"] == 2

    # -- the acceptance: stars inside the grade's range (poor: 0 or 1)
    acceptance = eventually(lambda: proxy.evaluation.acceptances_of(
        organization_id=org["id"])["items"])[0]
    assert acceptance["allowed_stars"] == [0, 1] and acceptance["case_id"] == case["id"]
    with pytest.raises(ValidationError) as caught:
        proxy.evaluation.rate_stars(acceptance_id=acceptance["id"], score=70, stars=2,
                                    reason="整改成效明显")
    assert "stars" in caught.value.details
    assert proxy.evaluation.acceptances_of(organization_id=org["id"])["items"][0]["status"] == \
        "awaiting_stars"
    assert proxy.evaluation.suggest_stars(acceptance_id=acceptance["id"], score=70)[
        "suggested_stars"] == 1
    rated = proxy.evaluation.rate_stars(acceptance_id=acceptance["id"], score=70, stars=1,
                                        reason="整改成效明显")
    assert (rated["stars"], rated["suggested_stars"], rated["status"]) == (1, 1, "rated")

    # -- next year: a superior's direct grade moves it up; a new case opens for average
    next_round = proxy.evaluation.open_round(place_code=SUICHANG, year=2027, name="2027年度")
    regraded = proxy.evaluation.set_grade(round_id=next_round["id"], organization_id=org["id"],
                                          grade="average", reason="后进转化，整顿成效明显")
    assert regraded["method"] == "set" and regraded["is_baseline"] is False
    rows, report = moving_up(proxy, township)
    assert (rows["poor"]["organizations"], rows["poor"]["moved_up"], rows["poor"]["met"]) == \
        (1, 1, True)
    assert report["rules"]["moving_up_targets"]["poor"] == "0.70"
    assert rows["poor"]["rate"] == "1.0000" and rows["poor"]["target"] == "0.7000"
    drill = proxy.evaluation.moving_up_organizations(place_code=township, baseline_grade="poor",
                                                     moved_up=True)
    assert [o["organization_id"] for o in drill["items"]] == [org["id"]]
    fresh = case_of(proxy, org["id"], status="planning")
    assert fresh["id"] != case["id"] and fresh["grade"] == "average" and not fresh["listed"]
    summary = proxy.organizations.ledger(place_code=township)["summary"]
    assert (summary["crossed_off"], summary["accepted"], summary["planning"]) == (1, 1, 1)


def test_the_moving_up_report_matches_numbers_computed_here(stack, proxy):
    """A township with organizations in several villages and at its own level, graded
    twice at random, one dissolved; the report's counts, rates and met flags against an
    independent count here."""
    rng = random.Random(29)
    township = townships(proxy)[1]
    places = villages(proxy, township)[:4] + [township]
    grades = ["good", "fairly_good", "average", "poor"]
    rank = {g: 3 - i for i, g in enumerate(grades)}
    first = proxy.evaluation.open_round(place_code=township, year=2026, name="基线")
    second = proxy.evaluation.open_round(place_code=township, year=2027, name="复评")
    orgs = []
    for index in range(45):
        org = register(proxy, places[index % len(places)])
        baseline, current = rng.choice(grades), rng.choice(grades)
        proxy.evaluation.set_grade(round_id=first["id"], organization_id=org["id"],
                                   grade=baseline, reason="基线定级")
        stars = []
        if baseline == "good":  # ratings while good: the "new improvement" of good ones
            for value in rng.choice([[4], [4, 5], [5], [4, 4]]):
                acceptance = proxy.evaluation.open_acceptance(organization_id=org["id"])
                proxy.evaluation.rate_stars(acceptance_id=acceptance["id"], score=90,
                                            stars=value, reason="星级评定")
                stars.append(value)
        proxy.evaluation.set_grade(round_id=second["id"], organization_id=org["id"],
                                   grade=current, reason="年度复评")
        orgs.append((org, baseline, current, stars))
    gone = orgs.pop(0)[0]  # a dissolved organization leaves the report
    proxy.organizations.dissolve_organization(organization_id=gone["id"], version=1,
                                              effective_on=TODAY.isoformat(), reason="撤并")

    def moved(baseline, current, stars):
        if baseline == "good":
            return current == "good" and bool(stars) and (stars[-1] > stars[0] or 5 in stars)
        return rank[current] > rank[baseline]

    targets = {"fairly_good": Decimal("0.5"), "average": Decimal("0.6"), "poor": Decimal("0.7")}

    def expected(selection):
        result = {}
        for grade in grades:
            chosen = [o for o in selection if o[1] == grade]
            up = sum(moved(b, c, s) for _, b, c, s in chosen)
            rate = (Decimal(up) / len(chosen)).quantize(Decimal("0.0001"), ROUND_DOWN) if chosen else None
            met = None if rate is None or grade not in targets else up >= targets[grade] * len(chosen)
            result[grade] = (len(chosen), up, None if rate is None else str(rate), met)
        return result

    def got(rows):
        return {r["baseline_grade"]: (r["organizations"], r["moved_up"], r["rate"], r["met"])
                for r in rows}

    report = eventually(lambda: (lambda r: r if r["total"]["graded"] == len(orgs) else None)(
        proxy.evaluation.moving_up_report(place_code=township)))  # the dissolution arrived
    assert got(report["total"]["rows"]) == expected(orgs)
    by_child = {c["place_code"]: c for c in report["by_child_place"]}
    assert set(by_child) == set(villages(proxy, township)) | {township}
    def current(selection):
        return {grade: sum(1 for o in selection if o[2] == grade) for grade in grades}

    assert {r["grade"]: r["organizations"] for r in report["total"]["current"]} == \
        current(orgs)
    for code, child in by_child.items():
        mine = [o for o in orgs if o[0]["place_code"] == code]
        assert got(child["rows"]) == expected(mine), code
        assert child["graded"] == len(mine) and child["place_name"]
        assert {r["grade"]: r["organizations"] for r in child["current"]} == current(mine)
    poor_up = {o[0]["id"] for o in orgs if o[1] == "poor" and moved(*o[1:])}
    drill = proxy.evaluation.moving_up_organizations(place_code=township, baseline_grade="poor",
                                                     moved_up=True, limit=1000)
    assert {o["organization_id"] for o in drill["items"]} == poor_up
    # The county's report holds this township as one child row, with the same numbers.
    county = proxy.evaluation.moving_up_report(place_code=SUICHANG)
    row = next(r for r in county["by_child_place"] if r["place_code"] == township)
    assert row["rows"] == report["total"]["rows"]


def test_the_moving_up_rule_in_sql_agrees_with_the_domain(stack):
    """store.MOVED_UP aggregates in the database what domain.moved_up and improved_good
    decide in Python: every combination, compared one by one."""
    from itertools import product

    from services.evaluation import domain, store

    grades = ["good", "fairly_good", "average", "poor", None]
    stars = [None, 4, 5]
    cases = list(product(grades[:4], grades[:4], stars, stars, stars))
    conn = psycopg2.connect(stack.urls["evaluation"])
    try:
        with conn, conn.cursor() as cur:
            for n, (baseline, current, first, last, best) in enumerate(cases, start=1):
                cur.execute(
                    "INSERT INTO organizations (id, name, kind, sector, place_code, status, version,"
                    " baseline_grade, current_grade, first_good_stars, last_good_stars,"
                    " max_good_stars) VALUES (%s, 'x', '631', 'rural_village', '999999999999',"
                    " 'deleted-test-row', 1, %s, %s, %s, %s, %s)",
                    (900_000_000 + n, baseline, current, first, last, best))
            cur.execute(f"SELECT id - 900000000, {store.MOVED_UP} FROM organizations"
                        " WHERE id > 900000000 ORDER BY id")
            in_sql = dict(cur.fetchall())
            cur.execute("DELETE FROM organizations WHERE id > 900000000")
    finally:
        conn.close()
    for n, (baseline, current, first, last, best) in enumerate(cases, start=1):
        in_python = (domain.improved_good(current, first, last, best) if baseline == "good"
                     else domain.moved_up(baseline, current))
        assert in_sql[n] == in_python, (baseline, current, first, last, best)


def captured(amqp_uri, exchange, routing_keys):
    """A queue of our own on an event exchange: what was published, to replay it."""
    queue = kombu.Queue(f"capture-{uuid.uuid4().hex[:8]}", durable=True,
                        exchange=kombu.Exchange(exchange, type="topic", durable=True),
                        routing_key="#")
    with kombu.Connection(amqp_uri) as conn:
        queue(conn.channel()).declare()
    return queue


def drain(amqp_uri, queue):
    bodies = []
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(queue.name, no_ack=True)) is not None:
            bodies.append(json.loads(message.body))
    return bodies


def state(stack):
    """What the events may change in both databases: row counts, and the grades, stars
    and cases as they stand."""
    queries = {
        "organizations": {
            "tasks": "SELECT count(*) FROM rectification_tasks",
            "audit": "SELECT count(*) FROM audit_log",
            "cases": "SELECT array_agg((id, status, round, grade, listed, crossed_off_on)"
                     " ORDER BY id)::text FROM rectification_cases",
            "grades": "SELECT array_agg((id, current_grade, baseline_grade, grade_event)"
                      " ORDER BY id)::text FROM organizations"},
        "evaluation": {
            "gradings": "SELECT count(*) FROM gradings",
            "audit": "SELECT count(*) FROM audit_log",
            "surveys": "SELECT array_agg((id, status, case_id, case_round) ORDER BY id)::text"
                       " FROM surveys",
            "acceptances": "SELECT array_agg((id, status, case_id, stars) ORDER BY id)::text"
                           " FROM acceptances",
            "organizations": "SELECT array_agg((id, version, status, baseline_grade,"
                             " current_grade, stars) ORDER BY id)::text FROM organizations"},
    }
    result = {}
    for service, named in queries.items():
        conn = psycopg2.connect(stack.urls[service])
        try:
            with conn.cursor() as cur:
                for name, statement in named.items():
                    cur.execute(statement)
                    result[f"{service}.{name}"] = cur.fetchone()[0]
        finally:
            conn.close()
    return result


def duplicates_seen():
    return sum(sample.value for metric in REGISTRY.collect()
               if metric.name == "jinwei_events_duplicate"
               for sample in metric.samples if sample.name.endswith("_total"))


def subscribers():
    """(source, event type) → how many handlers of the two services listen for it."""
    from shared.platform.containers import service_class

    counts = {}
    for service in ("organizations", "evaluation"):
        cls = service_class(service)
        for name in dir(cls):
            for entrypoint in getattr(getattr(cls, name), "nameko_entrypoints", ()):
                if hasattr(entrypoint, "event_type"):
                    key = (entrypoint.source_service, entrypoint.event_type)
                    counts[key] = counts.get(key, 0) + 1
    return counts


def ignored(handler, reason):
    return REGISTRY.get_sample_value("jinwei_events_ignored_total", {
        "service": "organizations", "handler": handler, "reason": reason}) or 0


def test_every_event_delivered_twice_changes_nothing_and_a_late_one_is_ignored(stack, proxy):
    amqp = stack.settings.amqp_uri
    from_evaluation = captured(amqp, "evaluation.events", "#")
    from_organizations = captured(amqp, "organizations.events", "#")
    org = register(proxy, villages(proxy, townships(proxy)[2])[0])
    round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=2026, name="重放测试")
    proxy.evaluation.set_grade(round_id=round_["id"], organization_id=org["id"], grade="average",
                               reason="测试")
    case = case_of(proxy, org["id"], status="planning")
    plan = proxy.organizations.set_plan(case_id=case["id"], main_problems="制度不健全",
                                        measures=["健全制度"],
                                        tasks=[{"content": "建立三会一课制度",
                                                "responsible": "书记", "deadline": SOON}])
    proxy.organizations.complete_task(task_id=plan["tasks"][0]["id"], done_on=TODAY.isoformat())
    survey = eventually(lambda: proxy.evaluation.surveys_of(organization_id=org["id"])["items"])[0]
    proxy.evaluation.record_counts(survey_id=survey["id"], counts={"satisfied": 9,
                                                                   "dissatisfied": 1})
    proxy.evaluation.close_survey(survey_id=survey["id"])
    case_of(proxy, org["id"], status="accepted")
    eventually(lambda: proxy.evaluation.acceptances_of(organization_id=org["id"])["items"])

    events = drain(amqp, from_evaluation) + drain(amqp, from_organizations)
    kinds = {e["type"] for e in events}
    assert {"grade_assigned", "survey_closed", "rectification_submitted",
            "rectification_accepted", "organization_registered"} <= kinds
    before = state(stack)
    listening = subscribers()
    expected = sum(listening.get((body["source"], body["type"]), 0) for body in events)
    assert expected >= 5
    seen = duplicates_seen()
    for body in events:
        publish_event(stack.settings, body)
    # every handler has had its repeat, and skipped it
    eventually(lambda: duplicates_seen() >= seen + expected)
    assert duplicates_seen() == seen + expected
    assert state(stack) == before

    # A survey_closed that arrives after its case was accepted (a new event, not a
    # repeat): ignored with a log line and a metric, not retried into the dead letters.
    closed = next(e for e in events if e["type"] == "survey_closed"
                  and e["data"]["case_id"] == case["id"])
    late = {**closed, "id": str(uuid.uuid4()), "data": {**closed["data"], "passed": False}}
    before_ignored = ignored("on_survey_closed", "late")
    publish_event(stack.settings, late)
    eventually(lambda: ignored("on_survey_closed", "late") == before_ignored + 1)
    assert state(stack) == before
    assert dead_letters.list_dead_letters(stack.settings, "organizations") == []


MISSING = 9_000_000_001  # an id no record has


def test_refusals_are_typed_and_write_nothing(stack, proxy, token_secret):
    org = register(proxy, villages(proxy, townships(proxy)[3])[0])
    round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=2026, name="错误测试")
    proxy.evaluation.set_grade(round_id=round_["id"], organization_id=org["id"], grade="poor",
                               reason="测试")
    case = case_of(proxy, org["id"])
    xihu_round = proxy.evaluation.open_round(place_code=XIHU, year=2026, name="西湖")
    before = state(stack)
    with pytest.raises(ValidationError) as caught:
        proxy.organizations.set_plan(
            case_id=case["id"], main_problems="x", measures=["y"],
            tasks=[{"content": "已过期的任务", "responsible": "某人",
                    "deadline": (TODAY - dt.timedelta(days=1)).isoformat()}])
    assert "tasks" in caught.value.details
    with pytest.raises(ValidationError):
        proxy.evaluation.record_scores(round_id=round_["id"], organization_id=org["id"],
                                       assessor="self", scores={**scores(90), "leader": 101})
    with pytest.raises(Conflict):  # not every assessor has scored
        proxy.evaluation.grade_organization(round_id=round_["id"], organization_id=org["id"])
    with pytest.raises(Conflict):  # nothing to close on
        survey = proxy.evaluation.open_survey(kind="service_oriented", organization_id=org["id"])
        proxy.evaluation.close_survey(survey_id=survey["id"])
    with pytest.raises(ValidationError):  # a round only grades its own place
        proxy.evaluation.set_grade(round_id=xihu_round["id"], organization_id=org["id"],
                                   grade="good", reason="越界")
    after = state(stack)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"evaluation.surveys", "evaluation.audit"}  # the survey opened by hand
    assert after["evaluation.audit"] == before["evaluation.audit"] + 1
    acceptance = proxy.evaluation.open_acceptance(organization_id=org["id"])  # poor: 0 or 1 star
    campaign = proxy.evaluation.open_service_survey(place_code=SUICHANG, year=2026)
    xihu_org = register(proxy, "330106002001")  # a community of Xihu
    settled = state(stack)
    with rpc(stack.settings, token(token_secret, place="330106000000",
                                   roles=("evaluation.read", "evaluation.write",
                                          "organizations.read", "organizations.write"))) as xihu:
        with pytest.raises(NotFound):  # another county's round and organization: no such round
            xihu.evaluation.set_grade(round_id=round_["id"], organization_id=org["id"],
                                      grade="good", reason="越权")
        # A record of another county is no such record: the same NotFound, word for word,
        # as the store's for an id that does not exist — reads and writes alike, and before
        # any other check (the round's place, a closed or empty survey, the stars' range).
        named = {
            "round": (store.round_absent, round_["id"], [
                lambda i: xihu.evaluation.get_round(round_id=i),
                # its own organization in another county's round: not "the organization is
                # not in the round's place", which told that the round exists, and where
                lambda i: xihu.evaluation.set_grade(round_id=i, organization_id=xihu_org["id"],
                                                    grade="good", reason="越界"),
                lambda i: xihu.evaluation.record_scores(round_id=i,
                                                        organization_id=xihu_org["id"],
                                                        assessor="self", scores=scores(90)),
                lambda i: xihu.evaluation.get_grading(round_id=i,
                                                      organization_id=xihu_org["id"]),
                lambda i: xihu.evaluation.round_gradings(round_id=i,
                                                         organization_ids=[xihu_org["id"]])]),
            "organization": (store.organization_absent, org["id"], [
                lambda i: xihu.evaluation.surveys_of(organization_id=i),
                lambda i: xihu.evaluation.acceptances_of(organization_id=i),
                lambda i: xihu.evaluation.open_survey(kind="service_oriented",
                                                      organization_id=i),
                lambda i: xihu.evaluation.open_acceptance(organization_id=i),
                lambda i: xihu.evaluation.set_grade(round_id=xihu_round["id"],
                                                    organization_id=i, grade="good",
                                                    reason="越界")]),
            "survey": (store.survey_absent, survey["id"], [
                lambda i: xihu.evaluation.get_survey(survey_id=i),
                lambda i: xihu.evaluation.record_ballot(survey_id=i, answer="satisfied"),
                lambda i: xihu.evaluation.record_counts(survey_id=i, counts={"satisfied": 1}),
                lambda i: xihu.evaluation.close_survey(survey_id=i)]),  # no ballots: Conflict
            "acceptance": (store.acceptance_absent, acceptance["id"], [
                lambda i: xihu.evaluation.suggest_stars(acceptance_id=i, score=70),
                lambda i: xihu.evaluation.rate_stars(acceptance_id=i, score=70, stars=2,
                                                     reason="越权")]),  # 2: out of range
            "campaign": (campaign_store.campaign_absent, campaign["id"], [
                lambda i: xihu.evaluation.service_survey_report(campaign_id=i),
                lambda i: xihu.evaluation.close_service_survey(campaign_id=i)]),
        }
        for kind, (absent, record_id, calls) in named.items():
            for call in calls:
                there = refusal(lambda call=call, record_id=record_id: call(record_id))
                assert there == (NotFound, *as_sent(absent(record_id))), kind
                assert refusal(lambda call=call: call(MISSING)) \
                    == (NotFound, *as_sent(absent(MISSING))), kind
        with pytest.raises(Forbidden):
            xihu.evaluation.moving_up_report(place_code=LISHUI)
        with pytest.raises(Forbidden):
            xihu.organizations.ledger(place_code=SUICHANG)
        with pytest.raises(NotFound):  # a case of another county: no such case
            xihu.organizations.get_case(case_id=case["id"])
    assert state(stack) == settled


def test_joint_reviews_and_township_reports(stack, proxy):
    tws = townships(proxy)
    review = proxy.evaluation.record_joint_review(
        place_code=tws[0], year=2026, secretary="赵书记", reported_on=TODAY.isoformat(),
        review_score=92.5, exam_result="excellent")
    assert review["level"] == "township" and review["place_name"]
    proxy.evaluation.record_joint_review(place_code=SUICHANG, year=2026, secretary="钱书记",
                                         reported_on=TODAY.isoformat(), review_score=88,
                                         exam_result="good")
    with pytest.raises(Conflict):
        proxy.evaluation.record_joint_review(place_code=SUICHANG, year=2026, secretary="又一次",
                                             reported_on=TODAY.isoformat(), review_score=80,
                                             exam_result="pass")
    with pytest.raises(ValidationError):
        proxy.evaluation.record_joint_review(place_code=villages(proxy, tws[0])[0], year=2026,
                                             secretary="村", reported_on=TODAY.isoformat(),
                                             review_score=80, exam_result="pass")
    listed = proxy.evaluation.joint_reviews(place_code=SUICHANG, year=2026)["items"]
    assert [(r["level"], r["secretary"]) for r in listed] == \
        [("county", "钱书记"), ("township", "赵书记")]
    period = TODAY.strftime("%Y-%m")
    proxy.evaluation.record_township_report(place_code=tws[0], period=period,
                                            submitted_on=TODAY.isoformat(), summary="本月推进情况")
    status = proxy.evaluation.township_reports(place_code=SUICHANG, period=period)
    all_townships = [p for p in proxy.organizations.list_children(place_code=SUICHANG)["items"]]
    assert status["townships"] == len(all_townships) and status["reported"] == 1
    with pytest.raises(ValidationError):
        proxy.evaluation.record_township_report(place_code=SUICHANG, period=period,
                                                submitted_on=TODAY.isoformat(), summary="县")


def test_a_township_reports_on_a_month_begun(stack, proxy):
    """A month that has not begun is not reported on (issue 26): refused, nothing written,
    and the month's status does not show the township as reported."""
    township = townships(proxy)[1]
    this_month = TODAY.strftime("%Y-%m")
    next_month = (TODAY.replace(day=1) + dt.timedelta(days=32)).strftime("%Y-%m")
    before = eventually(lambda: (status := proxy.evaluation.township_reports(
        place_code=SUICHANG, period=next_month))["townships"] and status)  # places arrived
    with pytest.raises(ValidationError) as refused:
        proxy.evaluation.record_township_report(place_code=township, period=next_month,
                                                submitted_on=TODAY.isoformat(), summary="下月")
    assert refused.value.details == {"period": [
        f"a month up to {this_month} (this month) (报告月份不得晚于本月)"]}
    assert proxy.evaluation.township_reports(place_code=SUICHANG, period=next_month) == before
    assert before["reported"] == 0
    reported = proxy.evaluation.record_township_report(  # this month, and an earlier one
        place_code=township, period=this_month, submitted_on=TODAY.isoformat(), summary="本月")
    assert reported["place_code"] == township
    proxy.evaluation.record_township_report(place_code=township, period="2025-01",
                                            submitted_on=TODAY.isoformat(), summary="补报")


def test_a_campaign_survey_without_ballots_is_not_counted_closed(stack, proxy):
    """Closing a service-oriented campaign closes each survey with valid ballots; one
    without any lapses (无票结束), so `closed` is passed + failed in total, by township
    and by focus (issue 26), and the lapsed survey takes no ballots afterwards."""
    year = TODAY.year - 1
    first, second = townships(proxy)[6:8]
    orgs = {}
    for key, township, sector, focus in (
            ("passes", first, "government_agency", "window_unit"),
            ("unballoted", first, "public_institution", "service_industry"),
            ("fails", second, "rural_village", "general")):
        orgs[key] = register(proxy, township, sector=sector)
        proxy.organizations.enter_service_creation(
            organization_id=orgs[key]["id"], year=year, focus=focus,
            entered_on=f"{year}-06-01", measures="亮身份、践承诺、优服务")
    campaign = proxy.evaluation.open_service_survey(place_code=SUICHANG, year=year)
    eventually(lambda: proxy.evaluation.service_survey_report(
        campaign_id=campaign["id"])["total"]["organizations"] == 3)

    def survey_of(org):
        return next(s for s in proxy.evaluation.surveys_of(organization_id=org["id"])["items"]
                    if s["kind"] == "service_oriented")

    blank = {"satisfied": 0, "fairly_satisfied": 0, "basically_satisfied": 0, "dissatisfied": 0}
    proxy.evaluation.record_counts(survey_id=survey_of(orgs["passes"])["id"],
                                   counts={**blank, "satisfied": 9, "dissatisfied": 1})
    proxy.evaluation.record_counts(survey_id=survey_of(orgs["fails"])["id"],
                                   counts={**blank, "satisfied": 1, "dissatisfied": 3})
    closed = proxy.evaluation.close_service_survey(campaign_id=campaign["id"])
    assert closed["status"] == "closed"
    rows = [closed["total"], *closed["by_child_place"], *closed["by_focus"]]
    assert all(r["closed"] == r["passed"] + r["failed"] for r in rows), rows
    measures = ("organizations", "closed", "valid_ballots", "satisfied", "passed", "failed")
    assert [closed["total"][m] for m in measures] == [3, 2, 14, 10, 1, 1]
    by_place = {r["place_code"]: r for r in closed["by_child_place"]}
    assert [by_place[first][m] for m in measures] == [2, 1, 10, 9, 1, 0]
    assert [by_place[second][m] for m in measures] == [1, 1, 4, 1, 0, 1]
    by_focus = {r["focus"]: r for r in closed["by_focus"]}
    assert [by_focus["service_industry"][m] for m in measures] == [1, 0, 0, 0, 0, 0]
    assert by_focus["service_industry"]["rate"] is None
    lapsed = survey_of(orgs["unballoted"])
    assert (lapsed["status"], lapsed["status_label"], lapsed["valid_ballots"],
            lapsed["passed"], lapsed["rate"]) == ("lapsed", "无票结束", 0, None, None)
    assert lapsed["closed_on"] == closed["closed_on"]
    with pytest.raises(Conflict):
        proxy.evaluation.record_counts(survey_id=lapsed["id"], counts={"satisfied": 9})
    with pytest.raises(Conflict):
        proxy.evaluation.close_survey(survey_id=lapsed["id"])
    assert survey_of(orgs["unballoted"]) == lapsed
    assert proxy.evaluation.service_survey_report(campaign_id=campaign["id"])["total"] \
        == closed["total"]


def test_exemplars_and_demonstration_sites(stack, proxy):
    org = register(proxy, villages(proxy, townships(proxy)[4])[0])
    exemplar = proxy.organizations.add_exemplar(
        organization_id=org["id"], title="“党建+民宿”带富一方", practice="支部领办合作社……",
        level="county", published_on=TODAY.isoformat())
    assert exemplar["level_label"] == "县级" and exemplar["sector_label"] == "农村"
    assert exemplar["id"] in [e["id"] for e in proxy.organizations.exemplars(
        place_code=SUICHANG)["items"]]
    site = proxy.organizations.designate_demonstration_site(organization_id=org["id"],
                                                            level="county", year=TODAY.year)
    with pytest.raises(Conflict):
        proxy.organizations.designate_demonstration_site(organization_id=org["id"],
                                                         level="county", year=TODAY.year)
    found = proxy.organizations.demonstration_sites(place_code=SUICHANG, level="county",
                                                    sector="rural_village")["items"]
    assert site["id"] in [s["id"] for s in found]
    assert proxy.organizations.demonstration_sites(place_code=SUICHANG, level="city")["items"] == []


def test_the_ledger_puts_overdue_cases_first(stack, proxy):
    township = townships(proxy)[5]
    round_ = proxy.evaluation.open_round(place_code=township, year=2026, name="台账测试")
    made = []
    for place in villages(proxy, township)[:3]:
        org = register(proxy, place)
        proxy.evaluation.set_grade(round_id=round_["id"], organization_id=org["id"],
                                   grade="average", reason="测试")
        case = case_of(proxy, org["id"])
        made.append(proxy.organizations.set_plan(
            case_id=case["id"], main_problems="问题", measures=["措施"],
            tasks=[{"content": "任务", "responsible": "书记", "deadline": SOON}]))
    # Time passes for the last case: its task's deadline is now behind it (the case's
    # earliest open deadline, which the ledger sorts by, follows by a trigger).
    conn = psycopg2.connect(stack.urls["organizations"])
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE rectification_tasks SET deadline = current_date - 3 WHERE id = %s",
                    (made[-1]["tasks"][0]["id"],))
    conn.close()
    ledger = proxy.organizations.ledger(place_code=township, limit=2)
    assert ledger["items"][0]["case_id"] == made[-1]["id"] and ledger["items"][0]["overdue"] == 1
    rest = proxy.organizations.ledger(place_code=township, limit=2, after=ledger["next_cursor"])
    assert [r["case_id"] for r in ledger["items"] + rest["items"]] == \
        [made[-1]["id"], made[0]["id"], made[1]["id"]]
    assert ledger["summary"]["overdue"] == 1 and ledger["summary"]["in_progress"] == 3
    assert [r["next_deadline"] for r in ledger["items"][1:] + rest["items"]] == [SOON, SOON]
    assert proxy.organizations.get_case(case_id=made[-1]["id"])["tasks"][0]["overdue"] is True

    # Its task done, the case is overdue no more and takes its place by place again.
    proxy.organizations.complete_task(task_id=made[-1]["tasks"][0]["id"],
                                      done_on=TODAY.isoformat())
    ledger = proxy.organizations.ledger(place_code=township)
    assert ledger["summary"]["overdue"] == 0
    assert {r["case_id"] for r in ledger["items"]} == {m["id"] for m in made}
    assert ledger["items"] == sorted(ledger["items"], key=lambda r: (r["place_code"], r["case_id"]))
    done = next(r for r in ledger["items"] if r["case_id"] == made[-1]["id"])
    assert (done["overdue"], done["done"], done["next_deadline"]) == (0, 1, None)

    # An organization moved to another township takes its case to that one's ledger.
    moved = proxy.organizations.get_organization(organization_id=made[0]["organization_id"])
    elsewhere = townships(proxy)[7]
    proxy.organizations.update_organization(organization_id=moved["id"], version=moved["version"],
                                            place_code=villages(proxy, elsewhere)[0])
    assert made[0]["id"] not in [r["case_id"] for r in
                                 proxy.organizations.ledger(place_code=township)["items"]]
    there = proxy.organizations.ledger(place_code=elsewhere)
    assert made[0]["id"] in [r["case_id"] for r in there["items"]]
    assert there["summary"]["cases"] >= 1


def test_a_case_follows_later_grades_and_corrections(stack, proxy):
    amqp = stack.settings.amqp_uri
    grades_out = captured(amqp, "evaluation.events", "#")
    township = townships(proxy)[6]
    first = proxy.evaluation.open_round(place_code=township, year=2026, name="年度")
    later = proxy.evaluation.open_round(place_code=township, year=2027, name="次年")
    worse, corrected = (register(proxy, place) for place in villages(proxy, township)[:2])

    # average opens an unlisted case; a later round's poor lists the same case
    proxy.evaluation.set_grade(round_id=first["id"], organization_id=worse["id"],
                               grade="average", reason="定级")
    case = case_of(proxy, worse["id"], listed=False)
    proxy.evaluation.set_grade(round_id=later["id"], organization_id=worse["id"],
                               grade="poor", reason="复评")
    listed = case_of(proxy, worse["id"], listed=True)
    assert (listed["id"], listed["grade"]) == (case["id"], "poor")

    # a correction of the grading that opened a case decides it: withdrawn
    proxy.evaluation.set_grade(round_id=first["id"], organization_id=corrected["id"],
                               grade="poor", reason="定级")
    opened = case_of(proxy, corrected["id"], listed=True)
    proxy.evaluation.set_grade(round_id=first["id"], organization_id=corrected["id"],
                               grade="fairly_good", reason="上级复核更正")
    assert case_of(proxy, corrected["id"], status="withdrawn")["id"] == opened["id"]
    assert proxy.organizations.get_organization(organization_id=corrected["id"])[
        "current_grade"] == "fairly_good"

    # an older grade event arriving after a newer one is ignored: grades stay as they are
    old = next(e for e in drain(amqp, grades_out) if e["type"] == "grade_assigned"
               and e["data"]["organization_id"] == worse["id"] and e["data"]["grade"] == "average")
    before = ignored("on_grade_assigned", "older_event")
    publish_event(stack.settings, {**old, "id": str(uuid.uuid4())})
    eventually(lambda: ignored("on_grade_assigned", "older_event") == before + 1)
    assert proxy.organizations.get_organization(organization_id=worse["id"])["current_grade"] == "poor"
    assert case_of(proxy, worse["id"])["listed"] is True


def test_only_a_superior_grades_surveys_and_rates(stack, proxy, token_secret):
    township = townships(proxy)[7]
    village_org = register(proxy, villages(proxy, township)[0])
    township_org = proxy.organizations.register_organization(
        name="乡镇党委", kind="611", sector="rural_village", place_code=township,
        full_members=120, committee_size=7, founded_on="2020-01-01")
    eventually(lambda: _known(proxy, township_org["id"]))
    round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=2026, name="上级测试")
    roles = ("evaluation.read", "evaluation.write")
    with rpc(stack.settings, token(token_secret, place=township, roles=roles)) as local:
        local.evaluation.set_grade(round_id=round_["id"], organization_id=village_org["id"],
                                   grade="good", reason="乡镇党委评定")  # it is the superior
        with pytest.raises(Forbidden):  # but not of itself
            local.evaluation.set_grade(round_id=round_["id"], organization_id=township_org["id"],
                                       grade="good", reason="自定")
        local.evaluation.record_scores(round_id=round_["id"], organization_id=township_org["id"],
                                       assessor="self", scores=scores(95))  # self-assessment
        with pytest.raises(Forbidden):
            local.evaluation.record_scores(round_id=round_["id"],
                                           organization_id=township_org["id"],
                                           assessor="superior", scores=scores(95))


def test_an_organizations_grades_over_the_rounds(stack, proxy, token_secret):
    township = townships(proxy)[1]
    org = register(proxy, villages(proxy, township)[0])
    first = proxy.evaluation.open_round(place_code=SUICHANG, year=2025, name="2025年度分类定级")
    second = proxy.evaluation.open_round(place_code=SUICHANG, year=2026, name="2026年度分类定级")
    for assessor, value in (("self", 70), ("members_public", 50), ("superior", 40)):
        proxy.evaluation.record_scores(round_id=first["id"], organization_id=org["id"],
                                       assessor=assessor, scores=scores(value))
    proxy.evaluation.grade_organization(round_id=first["id"], organization_id=org["id"])
    proxy.evaluation.set_grade(round_id=second["id"], organization_id=org["id"],
                               grade="average", reason="整改后班子健全，晋为一般")
    items = proxy.evaluation.gradings_of(organization_id=org["id"])["items"]
    assert [(i["round_name"], i["year"], i["grade_label"], i["method_label"], i["score"],
             i["is_baseline"]) for i in items] == [
        ("2026年度分类定级", 2026, "一般", "上级直接确定", None, False),
        ("2025年度分类定级", 2025, "较差", "按得分评定", "49.00", True)]
    assert items[0]["reason"] == "整改后班子健全，晋为一般"
    # Outside the caller's reach: the answer for an organization that does not exist.
    with rpc(stack.settings, token(token_secret, place=XIHU)) as elsewhere:
        with pytest.raises(NotFound) as outside:
            elsewhere.evaluation.gradings_of(organization_id=org["id"])
        with pytest.raises(NotFound) as missing:
            elsewhere.evaluation.gradings_of(organization_id=10**9)
    assert type(outside.value) is type(missing.value)


def test_a_township_lists_the_rounds_it_takes_part_in_and_reads_its_sheet(stack, proxy,
                                                                         token_secret):
    mine, other = townships(proxy)[2:4]
    ours = [register(proxy, village) for village in villages(proxy, mine)[:2]]
    theirs = register(proxy, villages(proxy, other)[0])
    county_round = proxy.evaluation.open_round(place_code=SUICHANG, year=2024,
                                               name="2024年度分类定级")
    own_round = proxy.evaluation.open_round(place_code=mine, year=2024, name="乡镇自评")
    for assessor, value in (("self", 95), ("members_public", 92), ("superior", 90)):
        proxy.evaluation.record_scores(round_id=county_round["id"], organization_id=ours[0]["id"],
                                       assessor=assessor, scores=scores(value))
    proxy.evaluation.grade_organization(round_id=county_round["id"],
                                        organization_id=ours[0]["id"])
    proxy.evaluation.record_scores(round_id=county_round["id"], organization_id=theirs["id"],
                                   assessor="self", scores=scores(60))
    with rpc(stack.settings, token(token_secret, place=mine,
                                   roles=("evaluation.read",))) as township:
        listed = township.evaluation.rounds(place_code=mine, year=2024)["items"]
        assert [r["id"] for r in listed] == [own_round["id"], county_round["id"]]
        # the county's round, its name and rules, to a township that takes part in it
        assert township.evaluation.get_round(round_id=county_round["id"])["name"] == \
            "2024年度分类定级"
        sheet = township.evaluation.round_gradings(
            round_id=county_round["id"],
            organization_ids=[ours[1]["id"], theirs["id"], ours[0]["id"], 10**9])["items"]
        # in the order asked; another township's and an unknown one left out alike
        assert [row["organization_id"] for row in sheet] == [ours[1]["id"], ours[0]["id"]]
        assert (sheet[0]["scores"], sheet[0]["grade"]) == ({}, None)
        assert (sheet[1]["grade"], sheet[1]["grade_label"], sheet[1]["score"]) == (
            "good", "好", "91.60")
        assert set(sheet[1]["scores"]) == {"self", "members_public", "superior"}
        with pytest.raises(Forbidden):
            township.evaluation.rounds(place_code=other)
