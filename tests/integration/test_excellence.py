"""Creating excellence and publicity (organizations) and the satisfaction survey of
service-oriented organizations (evaluation), on the real broker and databases: reports
over a generated county checked against numbers computed here, jurisdiction, bad input."""

import datetime as dt
import random
import uuid
from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from shared.errors import Conflict, Forbidden, NotFound, ValidationError
from tests.support import (
    NOWHERE,
    SUICHANG,
    XIHU,
    answer,
    eventually,
    publish_event,
    rpc,
    sample_places,
    services_running,
    sql_value,
    token,
)

TODAY = dt.date.today()
YEAR = TODAY.year
LIANDU = "331102000000"  # 莲都区: the generated county of the report tests


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "exc", "organizations",
                          "evaluation") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG, LIANDU))
            # The sample has LIANDU's townships only: generate villages under each, so the
            # reports roll figures up from villages to their townships.
            townships = proxy.organizations.list_children(place_code=LIANDU)["items"]
            proxy.organizations.import_places(places=[
                {"code": t["code"][:9] + f"{200 + n:03d}", "name": f"{t['name']}第{n}村"}
                for t in townships for n in range(1, 5)])
            eventually(lambda: sql_value(running.urls["evaluation"], "SELECT count(*) FROM places"
                                     " WHERE code = %s", (LIANDU,)))
        yield running


@pytest.fixture
def proxy(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        yield proxy




def county_tree(proxy, county):
    return {t["code"]: [v["code"] for v in proxy.organizations.list_children(
        place_code=t["code"])["items"]] for t in proxy.organizations.list_children(place_code=county)["items"]}


def register(proxy, place, kind="631", sector="rural_village", **overrides):
    values = {"name": f"党组织{uuid.uuid4().hex[:6]}", "kind": kind, "sector": sector,
              "place_code": place, "full_members": 5, "founded_on": "2020-05-01"}
    if kind == "632":
        values.update(units=["甲公司", "乙公司"], sector="non_public_enterprise")
    if kind == "611":
        values.update(full_members=60, committee_size=5)
    values.update(overrides)
    return proxy.organizations.register_organization(**values)


def rate(part, whole):
    """Four decimals, cut (shared.domain.shares), computed here by integer arithmetic."""
    return f"{part * 10_000 // whole / 10_000:.4f}" if whole else None


def test_branches_without_a_system_match_counts_made_here(stack, proxy):
    rng = random.Random(11)
    tree = county_tree(proxy, LIANDU)
    branches: dict[str, list] = defaultdict(list)  # township → (org id, systems)
    dissolved = None
    for township, villages in list(tree.items())[:8]:
        assert len(villages) == 4
        for place in [township, *villages[:2]]:
            for _ in range(rng.randrange(1, 9)):
                kind = rng.choice(["631", "631", "631", "632", "611"])
                org = register(proxy, place, kind)
                systems = rng.choice([0, 0, 1, 1, 2, 3])
                for n in range(systems):
                    proxy.organizations.record_system(
                        organization_id=org["id"], name=f"制度{n}", category="study",
                        established_on="2023-01-01")
                if kind != "611":
                    branches[township].append((org["id"], systems))
                if dissolved is None and kind == "631" and systems:
                    proxy.organizations.dissolve_organization(
                        organization_id=org["id"], version=org["version"],
                        effective_on=TODAY.isoformat(), reason="撤并")
                    dissolved = org["id"]
                    branches[township].pop()
    report = proxy.organizations.systems_report(place_code=LIANDU)
    assert report["rules"] == {"systems_per_branch": 1, "system_branch_kinds": ["631", "632"]}
    rows = {r["place_code"]: r for r in report["by_child_place"]}
    for township, found in branches.items():
        row = rows[township]
        assert (row["branches"], row["with_systems"], row["without"], row["systems"]) == (
            len(found), sum(1 for _, n in found if n), sum(1 for _, n in found if not n),
            sum(n for _, n in found)), township
    everything = [b for found in branches.values() for b in found]
    assert len(everything) > 20
    assert (report["total"]["branches"], report["total"]["without"]) == \
        (len(everything), sum(1 for _, n in everything if not n))
    assert {w["organization_id"] for w in report["without"]} == \
        {org_id for org_id, n in everything if not n}
    assert dissolved not in {w["organization_id"] for w in report["without"]}
    with pytest.raises(Conflict):  # a name once per organization
        proxy.organizations.record_system(organization_id=everything[0][0], name="制度0",
                                          category="study", established_on="2023-01-01")
    with pytest.raises(ValidationError):  # before the organization was founded
        proxy.organizations.record_system(organization_id=everything[0][0], name="新制度",
                                          category="other", established_on="2019-01-01")


def test_awareness_and_participation_rates_match_counts_made_here(stack, proxy):
    rng = random.Random(23)
    tree = county_tree(proxy, LIANDU)
    expected: dict[str, Counter] = defaultdict(Counter)
    for township, villages in list(tree.items())[8:15]:
        for place in [township, *villages[:3]]:
            if rng.random() < 0.5:
                cards = rng.randrange(1, 500)
                proxy.organizations.issue_publicity_cards(place_code=place, year=YEAR,
                                                          cards=cards, issued_on=TODAY.isoformat())
                expected[township]["cards"] += cards
            for _ in range(rng.randrange(0, 5)):
                kind = rng.choice(["broadcast", "notice_board", "slogan", "quiz"])
                proxy.organizations.hold_publicity_campaign(
                    place_code=place, kind=kind, title="基层组织建设年宣传",
                    held_on=TODAY.isoformat(), participants=rng.randrange(10, 200))
                expected[township][kind] += 1
            for _ in range(rng.randrange(0, 4)):
                surveyed = rng.randrange(20, 200)
                aware, part = rng.randrange(0, surveyed + 1), rng.randrange(0, surveyed + 1)
                proxy.organizations.record_awareness_survey(
                    place_code=place, year=YEAR, surveyed_on=TODAY.isoformat(),
                    surveyed=surveyed, aware=aware, participating=part)
                expected[township].update(surveyed=surveyed, aware=aware, participating=part)
    report = proxy.organizations.publicity_report(place_code=LIANDU, year=YEAR)
    rows = {r["place_code"]: r for r in report["by_child_place"]}
    labels = {"broadcast": "广播", "notice_board": "宣传栏", "slogan": "标语", "quiz": "知识问答"}
    for township, want in expected.items():
        row = rows[township]
        assert (row["cards"], row["surveyed"], row["aware"], row["participating"]) == \
            (want["cards"], want["surveyed"], want["aware"], want["participating"])
        assert row["awareness_rate"] == rate(want["aware"], want["surveyed"])
        assert row["participation_rate"] == rate(want["participating"], want["surveyed"])
        assert row["campaigns_by_kind"] == {labels[k]: want[k] for k in labels if want[k]}
    total = sum(expected.values(), Counter())
    assert total["surveyed"] and len(expected) >= 5
    assert report["total"]["awareness_rate"] == rate(total["aware"], total["surveyed"])
    assert report["total"]["campaigns"] == sum(total[k] for k in labels)

    before = sql_value(stack.urls["organizations"], "SELECT count(*) FROM awareness_surveys")
    for bad in ({"aware": 30}, {"surveyed": 0}, {"participating": -1}, {"year": YEAR - 1}):
        with pytest.raises(ValidationError):
            proxy.organizations.record_awareness_survey(**{
                "place_code": LIANDU, "year": YEAR, "surveyed_on": TODAY.isoformat(),
                "surveyed": 20, "aware": 10, "participating": 5, **bad})
    with pytest.raises(ValidationError):  # no such place
        proxy.organizations.issue_publicity_cards(place_code="331102999999", year=YEAR,
                                                  cards=5, issued_on=TODAY.isoformat())
    assert sql_value(stack.urls["organizations"], "SELECT count(*) FROM awareness_surveys") == before


def test_commitments_and_shining_deeds(stack, proxy):
    township = list(county_tree(proxy, SUICHANG))[3]
    orgs = [register(proxy, township) for _ in range(3)]
    for org in orgs[:2]:
        proxy.organizations.make_commitment(organization_id=org["id"], committer="organization",
                                            sentence="办好十件民生实事", year=YEAR,
                                            made_on=TODAY.isoformat())
    member = proxy.organizations.make_commitment(
        organization_id=orgs[0]["id"], committer="member", member_name="张党员",
        sentence="每月走访十户群众", year=YEAR, made_on=TODAY.isoformat())
    with pytest.raises(Conflict):  # once a year
        proxy.organizations.make_commitment(organization_id=orgs[0]["id"],
                                            committer="organization", sentence="又一句",
                                            year=YEAR, made_on=TODAY.isoformat())
    with pytest.raises(ValidationError):  # a member's commitment names the member
        proxy.organizations.make_commitment(organization_id=orgs[2]["id"], committer="member",
                                            sentence="x", year=YEAR, made_on=TODAY.isoformat())
    checked = proxy.organizations.check_commitment(commitment_id=member["id"],
                                                   checked_on=TODAY.isoformat(),
                                                   result="fulfilled", note="已走访")
    assert (checked["result"], checked["result_label"]) == ("fulfilled", "已兑现")
    report = proxy.organizations.commitment_report(place_code=township, year=YEAR)
    total = report["total"]
    assert (total["organizations"], total["committed"], total["member_commitments"],
            total["checked"], total["fulfilled"], total["commitment_rate"]) == \
        (3, 2, 1, 1, 1, rate(2, 3))

    deed = proxy.organizations.submit_deed(organization_id=orgs[1]["id"], member_name="李党员",
                                           title="抗洪抢险", story="连续三昼夜守护堤坝",
                                           happened_on=TODAY.isoformat())
    with pytest.raises(Conflict):  # displayed before it is rated
        proxy.organizations.rate_deed(deed_id=deed["id"], rated_on=TODAY.isoformat(),
                                      rating="excellent", rated_by="镇党委")
    proxy.organizations.display_deed(deed_id=deed["id"], displayed_on=TODAY.isoformat(),
                                     where="村务公开栏")
    rated = proxy.organizations.rate_deed(deed_id=deed["id"], rated_on=TODAY.isoformat(),
                                          rating="excellent", rated_by="镇党委")
    assert (rated["status_label"], rated["rating_label"]) == ("已考评", "优秀")
    with pytest.raises(Conflict):  # once
        proxy.organizations.rate_deed(deed_id=deed["id"], rated_on=TODAY.isoformat(),
                                      rating="fair", rated_by="镇党委")
    listed = proxy.organizations.deeds(place_code=township, year=YEAR)
    assert [d["id"] for d in listed["items"]] == [deed["id"]]
    assert listed["by_rating"] == {"excellent": 1}


def test_a_commitment_of_more_than_one_sentence_is_refused(stack, proxy):
    org = register(proxy, list(county_tree(proxy, SUICHANG))[4])
    for text in ("办好十件民生实事。每月走访十户群众。建强一支党员队伍。",
                 "办好十件民生实事；每月走访十户群众", "Serve the people! Visit ten homes"):
        with pytest.raises(ValidationError) as caught:  # 一句话承诺: one sentence
            proxy.organizations.make_commitment(organization_id=org["id"],
                                                committer="organization", sentence=text,
                                                year=YEAR, made_on=TODAY.isoformat())
        assert list(caught.value.details) == ["sentence"], caught.value.details
        assert "一句话承诺" in caught.value.message
    assert proxy.organizations.commitments_of(organization_id=org["id"])["items"] == []
    made = proxy.organizations.make_commitment(organization_id=org["id"],
                                               committer="organization",
                                               sentence="办好十件民生实事！", year=YEAR,
                                               made_on=TODAY.isoformat())
    assert made["sentence"] == "办好十件民生实事！"


def test_service_oriented_creation_and_its_satisfaction_survey(stack, proxy, token_secret):
    rng = random.Random(3)
    tree = county_tree(proxy, SUICHANG)
    townships = list(tree)[5:8]
    entered, sectors = [], Counter()
    for township in townships:
        for sector, focus in (("government_agency", "window_unit"),
                              ("public_institution", "service_industry"),
                              ("rural_village", "general"), ("urban_community", None)):
            org = register(proxy, township, sector=sector)
            sectors[sector] += 1
            if focus:
                created = proxy.organizations.enter_service_creation(
                    organization_id=org["id"], year=YEAR, focus=focus,
                    entered_on=TODAY.isoformat(), measures="亮身份、践承诺、优服务")
                entered.append((org, township, focus, created))
    with pytest.raises(Conflict):  # once a year
        proxy.organizations.enter_service_creation(
            organization_id=entered[0][0]["id"], year=YEAR, focus="general",
            entered_on=TODAY.isoformat(), measures="x")
    with rpc(stack.settings, token(token_secret, place=townships[0])) as own_township:
        with pytest.raises(Forbidden):  # named by a superior, not by itself
            own_township.organizations.recognize_service_organization(
                creation_id=entered[0][3]["id"], recognized_on=TODAY.isoformat())
    proxy.organizations.recognize_service_organization(creation_id=entered[0][3]["id"],
                                                       recognized_on=TODAY.isoformat())
    creation = proxy.organizations.service_creation_report(place_code=townships[0], year=YEAR)
    by_sector = {r["sector"]: r for r in creation["by_sector"]}
    assert (by_sector["government_agency"]["window_units"],
            by_sector["government_agency"]["recognized"],
            by_sector["urban_community"]["entered"]) == (1, 1, 0)
    assert creation["total"]["entered"] == 3

    eventually(lambda: sql_value(stack.urls["evaluation"], "SELECT count(*) FROM service_creations")
               >= len(entered))
    campaign = proxy.evaluation.open_service_survey(place_code=SUICHANG, year=YEAR)
    assert campaign["total"]["organizations"] == len(entered)
    assert campaign["title"].endswith("服务型基层党组织建设满意度测评")
    with pytest.raises(Conflict) as above:  # a township of the county: surveyed this year
        proxy.evaluation.open_service_survey(place_code=townships[0], year=YEAR)
    assert above.value.details == {"campaign_id": str(campaign["id"])}  # the caller's own
    with rpc(stack.settings, token(token_secret, place=townships[0])) as own_township:
        with pytest.raises(Conflict) as above:  # the county's campaign is not the township's
            own_township.evaluation.open_service_survey(place_code=townships[0], year=YEAR)
    assert above.value.details == {"place_code": townships[0]}
    assert "campaign" not in above.value.message and SUICHANG not in above.value.message

    answers = ["satisfied", "fairly_satisfied", "basically_satisfied", "dissatisfied"]
    tally = defaultdict(Counter)
    for org, township, focus, _ in entered[:-1]:  # the last one gets no ballots
        survey = next(s for s in proxy.evaluation.surveys_of(organization_id=org["id"])["items"]
                      if s["kind"] == "service_oriented")
        counts = {a: rng.randrange(0, 30) for a in answers}
        counts["satisfied"] += 1
        proxy.evaluation.record_counts(survey_id=survey["id"], counts=counts)
        valid, satisfied = sum(counts.values()), sum(counts[a] for a in answers[:3])
        for key in (township, focus, "total"):
            tally[key].update(valid=valid, satisfied=satisfied, closed=1,
                              passed=int(satisfied >= Decimal("0.80") * valid),
                              failed=int(satisfied < Decimal("0.80") * valid))
    closed = proxy.evaluation.close_service_survey(campaign_id=campaign["id"])
    assert closed["status_label"] == "已结束"  # closed: the unballoted survey lapsed
    total = closed["total"]
    assert (total["organizations"], total["closed"], total["valid_ballots"], total["satisfied"],
            total["passed"], total["failed"]) == (
        len(entered), len(entered) - 1, tally["total"]["valid"],
        tally["total"]["satisfied"], tally["total"]["passed"], tally["total"]["failed"])
    assert total["rate"] == rate(tally["total"]["satisfied"], tally["total"]["valid"])
    rows = {r["place_code"]: r for r in closed["by_child_place"]}
    for township in townships:
        assert rows[township]["valid_ballots"] == tally[township]["valid"]
        assert rows[township]["rate"] == rate(tally[township]["satisfied"],
                                              tally[township]["valid"])
    focus_rows = {r["focus"]: r for r in closed["by_focus"]}
    assert focus_rows["window_unit"]["focus_label"] == "窗口单位"
    assert focus_rows["window_unit"]["satisfied"] == tally["window_unit"]["satisfied"]
    with pytest.raises(Conflict):
        proxy.evaluation.close_service_survey(campaign_id=campaign["id"])
    # The survey without ballots lapsed with the campaign (not counted closed: closed ==
    # passed + failed); nothing changes its figures now.
    assert total["closed"] == total["passed"] + total["failed"]
    unballoted = next(s for s in proxy.evaluation.surveys_of(
        organization_id=entered[-1][0]["id"])["items"] if s["kind"] == "service_oriented")
    assert (unballoted["status"], unballoted["valid_ballots"], unballoted["passed"]) == (
        "lapsed", 0, None)
    with pytest.raises(Conflict):
        proxy.evaluation.record_counts(survey_id=unballoted["id"], counts={"satisfied": 9})
    with pytest.raises(Conflict):
        proxy.evaluation.close_survey(survey_id=unballoted["id"])
    assert proxy.evaluation.service_survey_report(campaign_id=campaign["id"])["total"] == total
    with pytest.raises(ValidationError) as unknown:
        proxy.evaluation.open_service_survey(place_code="331199999000", year=YEAR)
    assert "place_code" in unknown.value.details


def test_concurrent_campaign_opens_and_late_creations(stack, proxy, token_secret):
    """A county and one of its townships opened at the same moment: one campaign only.
    A creation entered after the campaign opened is surveyed in it too."""
    import eventlet

    year = YEAR - 1
    tree = county_tree(proxy, SUICHANG)
    township = list(tree)[10]
    first = register(proxy, township, sector="government_agency")
    proxy.organizations.enter_service_creation(organization_id=first["id"], year=year,
                                               focus="window_unit", entered_on=f"{year}-06-01",
                                               measures="x")
    eventually(lambda: sql_value(stack.urls["evaluation"], "SELECT count(*) FROM service_creations"
                             " WHERE organization_id = %s", (first["id"],)))

    def open_at(place):
        with rpc(stack.settings, token(token_secret)) as own:
            try:
                return own.evaluation.open_service_survey(place_code=place, year=year)
            except Conflict as refused:
                return refused

    outcomes = [eventlet.spawn(open_at, place) for place in (SUICHANG, township) * 3]
    results = [o.wait() for o in outcomes]
    opened = [r for r in results if isinstance(r, dict)]
    assert len(opened) == 1 and all(isinstance(r, Conflict) for r in results if r not in opened)
    assert sql_value(stack.urls["evaluation"], "SELECT count(*) FROM surveys WHERE organization_id"
                 " = %s AND campaign_id IS NOT NULL", (first["id"],)) == 1

    late = register(proxy, township, sector="public_institution")
    proxy.organizations.enter_service_creation(organization_id=late["id"], year=year,
                                               focus="service_industry",
                                               entered_on=f"{year}-06-01", measures="x")
    eventually(lambda: proxy.evaluation.service_survey_report(
        campaign_id=opened[0]["id"])["total"]["organizations"] == 2)


def service_event(stack, source, event_type, data):
    """An event as the `source` service's relay would publish it."""

    body = {"id": str(uuid.uuid4()), "type": event_type, "source": source,
            "occurred_at": dt.datetime.now(dt.UTC).isoformat(), "schema_version": 1,
            "actor": {"subject": "test", "department": "test", "system": "test"}, "data": data}
    publish_event(stack.settings, body)


def test_a_creation_that_arrives_before_its_organization_is_surveyed_when_it_arrives(stack, proxy):
    """Events of different types travel on different queues: evaluation may learn of a
    service creation before it knows the organization. Found by a load run, where the
    creation's survey was silently never made."""
    year, township = YEAR - 3, list(county_tree(proxy, XIHU))[0]
    campaign = proxy.evaluation.open_service_survey(place_code=XIHU, year=year)
    organization_id = 2_000_000_000 + random.randrange(1_000_000)  # unknown to evaluation
    service_event(stack, "organizations", "service_creation_entered", {
        "creation_id": organization_id, "organization_id": organization_id, "year": year,
        "focus": "window_unit"})
    eventually(lambda: sql_value(stack.urls["evaluation"], "SELECT count(*) FROM service_creations"
                                 " WHERE organization_id = %s", (organization_id,)))
    surveys = ("SELECT count(*) FROM surveys WHERE organization_id = %s AND campaign_id = %s",
               (organization_id, campaign["id"]))
    assert sql_value(stack.urls["evaluation"], *surveys) == 0  # not known: none yet

    service_event(stack, "organizations", "organization_registered", {"organization": {
        "id": organization_id, "name": "迟到的党支部", "kind": "631",
        "sector": "government_agency", "place_code": township, "parent_id": None,
        "full_members": 5, "committee_size": 0, "status": "active",
        "term_ends_on": f"{YEAR + 2}-01-01", "version": 1}})
    eventually(lambda: sql_value(stack.urls["evaluation"], *surveys) == 1)


def test_jurisdiction(stack, proxy, token_secret):
    township = list(county_tree(proxy, SUICHANG))[9]
    org = register(proxy, township)
    # A poor grade opens a rectification case (as evaluation's grade_assigned would).
    service_event(stack, "evaluation", "grade_assigned", {
        "organization_id": org["id"], "place_code": township, "round_id": NOWHERE,
        "year": YEAR, "grade": "poor", "baseline_grade": "poor", "current_grade": "poor",
        "is_baseline": True, "is_current": True, "sequence": 1, "method": "set",
        "score": None, "reason": "测试"})
    case = eventually(lambda: proxy.organizations.cases_of(organization_id=org["id"])["items"])[0]
    soon = (TODAY + dt.timedelta(days=30)).isoformat()
    task = proxy.organizations.set_plan(
        case_id=case["id"], main_problems="x", measures=["x"],
        tasks=[{"content": "x", "responsible": "x", "deadline": soon}])["tasks"][0]
    commitment = proxy.organizations.make_commitment(
        organization_id=org["id"], committer="organization", sentence="x", year=YEAR,
        made_on=TODAY.isoformat())
    deed = proxy.organizations.submit_deed(organization_id=org["id"], member_name="x",
                                           title="x", story="x", happened_on=TODAY.isoformat())
    creation = proxy.organizations.enter_service_creation(
        organization_id=org["id"], year=YEAR, focus="general", entered_on=TODAY.isoformat(),
        measures="x")
    today = TODAY.isoformat()
    with rpc(stack.settings, token(token_secret, place=XIHU)) as xihu:
        own = xihu.organizations
        # Suichang's records, named by id from Xihu, are not there: the same NotFound as
        # an id nobody has, before anything else about them (a deed not yet displayed, a
        # case's state) is checked.
        for call, record_id in [
                (lambda i: own.make_commitment(organization_id=i, committer="organization",
                                               sentence="x", year=YEAR, made_on=today),
                 org["id"]),
                (lambda i: own.record_system(organization_id=i, name="x", category="other",
                                             established_on=today), org["id"]),
                (lambda i: own.submit_deed(organization_id=i, member_name="x", title="x",
                                           story="x", happened_on=today), org["id"]),
                (lambda i: own.enter_service_creation(organization_id=i, year=YEAR,
                                                      focus="general", entered_on=today,
                                                      measures="x"), org["id"]),
                (lambda i: own.commitments_of(organization_id=i), org["id"]),
                (lambda i: own.systems_of(organization_id=i), org["id"]),
                (lambda i: own.check_commitment(commitment_id=i, checked_on=today,
                                                result="fulfilled", note="x"), commitment["id"]),
                (lambda i: own.display_deed(deed_id=i, displayed_on=today, where="x"),
                 deed["id"]),
                (lambda i: own.rate_deed(deed_id=i, rated_on=today, rating="excellent",
                                         rated_by="x"), deed["id"]),
                (lambda i: own.recognize_service_organization(creation_id=i,
                                                              recognized_on=today),
                 creation["id"]),
                (lambda i: own.get_case(case_id=i), case["id"]),
                (lambda i: own.set_plan(case_id=i, main_problems="x", measures=["x"], tasks=[
                    {"content": "x", "responsible": "x", "deadline": soon}]), case["id"]),
                (lambda i: own.add_task(case_id=i, content="x", responsible="x", deadline=soon),
                 case["id"]),
                (lambda i: own.assign_help(case_id=i, kind="work_team", person="x", unit="x",
                                           assigned_on=today), case["id"]),
                (lambda i: own.notice(case_id=i), case["id"]),
                (lambda i: own.record_posting(case_id=i, posted_on=today, location="x"),
                 case["id"]),
                (lambda i: own.audit_trail(entity_type="rectification_case", entity_id=str(i)),
                 case["id"]),
                (lambda i: own.complete_task(task_id=i, done_on=today), task["id"])]:
            theirs = answer(call, record_id)
            assert theirs == answer(call, NOWHERE) and theirs[0] is NotFound
        # A place the caller names is public: outside the jurisdiction it is Forbidden.
        for call in (
                lambda: xihu.organizations.systems_report(place_code=SUICHANG),
                lambda: xihu.organizations.publicity_report(place_code=SUICHANG, year=YEAR),
                lambda: xihu.organizations.issue_publicity_cards(
                    place_code=township, year=YEAR, cards=1, issued_on=TODAY.isoformat()),
                lambda: xihu.organizations.commitment_report(place_code=SUICHANG, year=YEAR),
                lambda: xihu.organizations.ledger(place_code=SUICHANG),
                lambda: xihu.evaluation.open_service_survey(place_code=SUICHANG, year=YEAR + 1)):
            with pytest.raises(Forbidden):
                call()
    # Nothing of it was written.
    after = proxy.organizations.get_case(case_id=case["id"])
    assert ([t["status"] for t in after["tasks"]], after["help"], after["postings"]) == \
        (["open"], [], [])
    assert proxy.organizations.commitments_of(organization_id=org["id"])["items"][0]["checks"] == []
    assert proxy.organizations.systems_of(organization_id=org["id"])["items"] == []
    assert [d["status"] for d in proxy.organizations.deeds(place_code=township,
                                                           year=YEAR)["items"]] == ["submitted"]
    assert proxy.organizations.service_creation_report(
        place_code=township, year=YEAR)["total"]["recognized"] == 0
