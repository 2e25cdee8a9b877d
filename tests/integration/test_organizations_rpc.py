"""The organizations registry through ClusterRpcProxy, on the real broker and database:
what another department's system does with a token."""

import datetime as dt
import uuid

import eventlet
import psycopg2
import pytest

from shared.contracts.common import encode_cursor
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationError,
)
from tests.support import (
    HANGZHOU,
    LISHUI,
    NOWHERE,
    PROVINCE,
    READ,
    SUICHANG,
    WRITE,
    XIHU,
    RawRpc,
    answer,
    organizations_service,
    rpc,
    sample_places,
    token,
)

TOWNSHIP = "330106002000"  # 北山街道, 西湖区
VILLAGE_TOWNSHIP = "331123102000"  # 新路湾镇, 遂昌县
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with organizations_service(databases, base_settings, "org_rpc") as running:
        with rpc(running.settings, token(token_secret)) as admin:
            admin.organizations.import_places(places=sample_places(XIHU, SUICHANG))
        yield running


@pytest.fixture
def admin(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        yield proxy.organizations


def counts(url: str) -> dict:
    """Rows in every table a change writes (the outbox drains by itself; a refused call
    emitting nothing is shown in test_events)."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        result = {}
        for table in ("organizations", "leaders", "vacancies", "organizers", "places",
                      "audit_log", "request_log"):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            result[table] = cur.fetchone()[0]
    conn.close()
    return result


def branch(place=TOWNSHIP, **overrides):
    values = {"name": f"党支部{uuid.uuid4().hex[:6]}", "kind": "631", "sector": "urban_community",
              "place_code": place, "full_members": 5, "founded_on": "2024-05-01"}
    values.update(overrides)
    return values


def committee(place=TOWNSHIP, **overrides):
    return branch(place, **{"kind": "611", "full_members": 120, "committee_size": 7, **overrides})


# -- places ----------------------------------------------------------------------------
def test_place_tree_children_and_path(admin):
    path = admin.place_path(place_code=TOWNSHIP)["items"]
    assert [p["code"] for p in path] == [PROVINCE, HANGZHOU, XIHU, TOWNSHIP]
    assert path[-1]["kind"] == "sub_district" and path[-1]["kind_label"] == "街道"
    children = admin.list_children(place_code=TOWNSHIP)["items"]
    assert children and all(c["parent_code"] == TOWNSHIP and c["level"] == "village"
                            for c in children)
    assert admin.get_place(place_code=XIHU)["name"] == "西湖区"


def test_the_deprecated_code_parameter_still_works(admin):
    """Until the next release a place is still named by `code` where that was its name
    (get_place, list_children, place_path, list_organizers, townships_without_organizer)."""
    assert admin.get_place(code=XIHU)["name"] == "西湖区"
    assert admin.list_children(code=TOWNSHIP) == admin.list_children(place_code=TOWNSHIP)
    assert admin.place_path(code=TOWNSHIP)["items"][-1]["code"] == TOWNSHIP
    assert admin.list_organizers(code=XIHU) == admin.list_organizers(place_code=XIHU)
    with pytest.raises(ValidationError) as both:
        admin.get_place(code=XIHU, place_code=XIHU)
    assert "code" in both.value.details


def test_import_places_is_idempotent_and_renames(admin, stack):
    again = admin.import_places(places=sample_places(XIHU))
    assert again["created"] == 0 and again["renamed"] == 0 and again["unchanged"] > 100
    renamed = admin.import_places(places=[{"code": XIHU, "name": "西湖区（新）"}])
    assert renamed["renamed"] == 1
    admin.import_places(places=[{"code": XIHU, "name": "西湖区"}])


def test_import_places_refuses_orphans_and_bad_codes(admin, stack):
    before = counts(stack.url)
    with pytest.raises(ValidationError) as caught:
        admin.import_places(places=[{"code": "330106598201", "name": "无主村"}])
    assert "places" in caught.value.details
    with pytest.raises(ValidationError) as caught:
        admin.import_places(places=[{"code": "33010600100", "name": "短码"}])
    assert "places" in caught.value.details
    assert counts(stack.url) == before


# -- organizations ----------------------------------------------------------------------
def test_register_get_and_the_committee_opens_a_vacancy_per_seat(admin):
    parent = admin.register_organization(**committee(name="北山街道党工委"))
    assert parent["kind_label"] == "党委" and parent["place_name"] == "北山街道"
    assert parent["version"] == 1 and parent["status"] == "active"
    leadership = admin.get_leadership(organization_id=parent["id"])
    assert [v["post"] for v in leadership["open_vacancies"]] == \
        ["secretary"] + ["committee_member"] * 6
    assert leadership["complete"] is False
    assert admin.get_organization(organization_id=parent["id"]) == parent


def test_branch_under_a_committee_and_a_joint_branch(admin):
    parent = admin.register_organization(**committee())
    child = admin.register_organization(**branch(parent_id=parent["id"]))
    assert child["parent_id"] == parent["id"]
    joint = admin.register_organization(**branch(kind="632", sector="non_public_enterprise",
                                                 units=["甲科技", "乙贸易", "丙物流"]))
    assert joint["units"] == ["甲科技", "乙贸易", "丙物流"] and joint["kind_label"] == "联合党支部"


@pytest.mark.parametrize("values, field", [
    (branch(full_members=2), "full_members"),
    (branch(kind="632", units=["一家"]), "units"),
    (branch(kind="632", units=["甲", "乙", "丙", "丁", "戊", "己"]), "units"),
    (branch(units=["甲", "乙"]), "units"),
    (branch(full_members=8), "committee_size"),
    (branch(full_members=9, committee_size=8), "committee_size"),
    (branch(full_members=5, committee_size=3), "committee_size"),
    (branch(kind="699"), "kind"),
    (branch(sector="moon"), "sector"),
    (branch(place="330106598000"), "place_code"),
    (branch(place="3301"), "place_code"),
    (branch(founded_on="2999-01-01"), "founded_on"),
    (branch(elected_on="2020-01-01"), "elected_on"),
    (branch(parent_id=99999999), "parent_id"),
    (branch(full_members="5"), "full_members"),
    ({**branch(), "colour": "red"}, "colour"),
])
def test_each_party_rule_is_refused_per_field_and_nothing_is_written(admin, stack, values, field):
    before = counts(stack.url)
    with pytest.raises(ValidationError) as caught:
        admin.register_organization(**values)
    assert field in caught.value.details, caught.value.details
    assert counts(stack.url) == before


def test_a_parent_that_is_a_branch_is_refused(admin):
    parent = admin.register_organization(**branch())
    with pytest.raises(ValidationError) as caught:
        admin.register_organization(**branch(parent_id=parent["id"]))
    assert "parent_id" in caught.value.details


def test_over_fifty_members_is_flagged_not_refused(admin):
    big = admin.register_organization(**branch(full_members=60, committee_size=5))
    assert {"code": "over_50_members", "label": "党员超过50人，可考虑设立党总支"} in big["flags"]


def test_update_with_version_and_stale_update_conflicts(admin, stack):
    org = admin.register_organization(**branch())
    updated = admin.update_organization(organization_id=org["id"], version=1, full_members=9,
                                        committee_size=3)
    assert updated["version"] == 2 and updated["full_members"] == 9
    assert len(admin.get_leadership(organization_id=org["id"])["open_vacancies"]) == 3
    before = counts(stack.url)
    with pytest.raises(Conflict) as caught:
        admin.update_organization(organization_id=org["id"], version=1, name="迟到的修改")
    assert caught.value.details["current_version"] == "2"  # nameko sends exc args as text
    with pytest.raises(ValidationError) as caught:
        admin.update_organization(organization_id=org["id"], version=2, committee_size=0)
    assert "committee_size" in caught.value.details
    assert counts(stack.url) == before


def test_a_new_term_moves_the_term_end(admin):
    org = admin.register_organization(**branch(sector="government_agency", founded_on="2020-01-01"))
    assert org["term_ends_on"] == "2023-01-01"
    assert "reelection_overdue" in {f["code"] for f in org["flags"]}
    renewed = admin.update_organization(organization_id=org["id"], version=1,
                                        elected_on=TODAY.isoformat())
    assert renewed["term_ends_on"] == TODAY.replace(year=TODAY.year + 3).isoformat()


def test_merge_moves_members_and_dissolve_needs_no_children(admin):
    target = admin.register_organization(**branch(full_members=4))
    source = admin.register_organization(**branch(full_members=3))
    admin.appoint_leader(organization_id=source["id"], post="secretary", name="王五",
                         method="election", started_on="2024-06-01")
    grown = admin.merge_organization(organization_id=source["id"], version=1,
                                     into_organization_id=target["id"],
                                     effective_on=TODAY.isoformat(), reason="村社合并")
    assert grown["full_members"] == 7 and grown["version"] == 2
    assert "committee_required" in {f["code"] for f in grown["flags"]}
    merged = admin.get_organization(organization_id=source["id"])
    assert merged["status"] == "merged" and merged["merged_into_id"] == target["id"]
    assert admin.get_leadership(organization_id=source["id"])["leaders"] == []
    with pytest.raises(Conflict):
        admin.update_organization(organization_id=source["id"], version=2, name="x")

    parent = admin.register_organization(**committee())
    admin.register_organization(**branch(parent_id=parent["id"]))
    with pytest.raises(Conflict):
        admin.dissolve_organization(organization_id=parent["id"], version=1,
                                    effective_on=TODAY.isoformat(), reason="撤销")
    lone = admin.register_organization(**branch())
    gone = admin.dissolve_organization(organization_id=lone["id"], version=1,
                                       effective_on=TODAY.isoformat(), reason="单位撤销")
    assert gone["status"] == "dissolved" and gone["status_label"] == "已撤销"


def test_subtree_listing_with_filters_and_keyset_pages(admin):
    village_places = [p["code"] for p in admin.list_children(place_code=VILLAGE_TOWNSHIP)["items"]][:4]
    made = [admin.register_organization(**branch(place=code, sector="rural_village"))["id"]
            for code in village_places for _ in range(3)]
    seen, cursor = [], None
    while True:
        page = admin.list_organizations(place_code=VILLAGE_TOWNSHIP, limit=5, after=cursor)
        seen += [o["id"] for o in page["items"]]
        assert len(page["items"]) <= 5
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    assert admin.list_organizations(place_code=SUICHANG, kind="611")["items"] == []
    county = admin.list_organizations(place_code=SUICHANG, sector="rural_village", limit=500)
    assert set(made) <= {o["id"] for o in county["items"]}
    assert all(o["place_code"].startswith("331123") for o in county["items"])
    with pytest.raises(ValidationError) as caught:
        admin.list_organizations(place_code=SUICHANG, after="not-a-cursor")
    assert "after" in caught.value.details


def test_reelection_reminder_list(admin):
    village = admin.list_children(place_code=VILLAGE_TOWNSHIP)["items"][5]["code"]
    soon = TODAY.replace(year=TODAY.year - 5) + dt.timedelta(days=30)
    due = admin.register_organization(**branch(place=village, sector="rural_village",
                                               founded_on=soon.isoformat()))
    fresh = admin.register_organization(**branch(place=village, sector="rural_village",
                                                 founded_on=TODAY.isoformat()))
    report = admin.reelection_due(place_code=village)
    ids = {item["organization_id"] for item in report["items"]}
    assert due["id"] in ids and fresh["id"] not in ids
    item = next(i for i in report["items"] if i["organization_id"] == due["id"])
    assert item["days_left"] == 30 and item["overdue"] is False
    assert report["rules"]["reelection_window_days"] == 180


# -- leadership ---------------------------------------------------------------------------
def test_leadership_vacancies_and_how_they_were_filled(admin):
    org = admin.register_organization(**branch(full_members=12, committee_size=3))
    team = admin.appoint_leader(organization_id=org["id"], post="secretary", name="李书记",
                                sex="female", method="election", started_on="2024-06-01")
    deputy = admin.appoint_leader(organization_id=org["id"], post="deputy_secretary",
                                  name="赵副书记", method="college_graduate_official",
                                  started_on="2024-06-01")
    assert team["complete"] is False
    full = admin.appoint_leader(organization_id=org["id"], post="committee_member", name="钱委员",
                                method="cross_unit", from_unit="县农业局",
                                started_on="2024-06-02")
    assert full["complete"] is True and full["open_vacancies"] == []
    assert {v["fill_method"] for v in full["filled_vacancies"]} == \
        {"election", "college_graduate_official", "cross_unit"}
    with pytest.raises(Conflict):
        admin.appoint_leader(organization_id=org["id"], post="committee_member", name="多余",
                             method="election", started_on="2024-06-03")
    dispatched = admin.appoint_leader(organization_id=org["id"], post="first_secretary",
                                      name="孙第一书记", method="first_secretary",
                                      from_unit="省财政厅", started_on="2024-07-01")
    assert dispatched["complete"] is True  # a first secretary takes no seat
    secretary = next(p for p in full["leaders"] if p["post"] == "secretary")
    after = admin.end_leader(leader_id=secretary["id"], ended_on="2025-01-01",
                             reason="lacks_ability")
    assert after["complete"] is False
    assert [(v["post"], v["reason"], v["reason_label"]) for v in after["open_vacancies"]] == \
        [("secretary", "lacks_ability", "能力素质不高调整")]
    refilled = admin.appoint_leader(organization_id=org["id"], post="secretary", name="周书记",
                                    method="open_recruitment", started_on="2025-02-01")
    assert refilled["complete"] is True
    assert "open_recruitment" in {v["fill_method"] for v in refilled["filled_vacancies"]}
    assert [p["name"] for p in refilled["former_leaders"]] == ["李书记"]
    assert {p["name"] for p in deputy["leaders"]} == {"李书记", "赵副书记"}
    with pytest.raises(Conflict):  # already left
        admin.end_leader(leader_id=secretary["id"], ended_on="2025-01-02", reason="resigned")


def test_a_post_does_not_start_before_its_vacancy_opened(admin, stack):
    # A registration records an organization founded in the past: its seats are open since
    # its founding, so its leaders in post are entered with the dates they started.
    org = admin.register_organization(**branch(full_members=12, committee_size=3,
                                               founded_on="2024-05-01"))
    opened = admin.get_leadership(organization_id=org["id"])["open_vacancies"]
    assert {v["opened_on"] for v in opened} == {"2024-05-01"}
    before = counts(stack.url)
    with pytest.raises(ValidationError) as caught:  # before the organization was founded
        admin.appoint_leader(organization_id=org["id"], post="secretary", name="早书记",
                             method="election", started_on="2024-04-01")
    assert "2024-04-01" in caught.value.details["started_on"][0]
    assert "2024-05-01" in caught.value.details["started_on"][0]
    assert counts(stack.url) == before
    team = admin.appoint_leader(organization_id=org["id"], post="secretary", name="李书记",
                                method="election", started_on="2024-05-01")
    secretary = team["leaders"][0]
    left = admin.end_leader(leader_id=secretary["id"], ended_on="2025-01-01", reason="resigned")
    vacancy = next(v for v in left["open_vacancies"] if v["post"] == "secretary")
    assert vacancy["opened_on"] == "2025-01-01"
    before = counts(stack.url)
    with pytest.raises(ValidationError) as caught:  # before the predecessor left
        admin.appoint_leader(organization_id=org["id"], post="secretary", name="周书记",
                             method="election", started_on="2024-12-01",
                             vacancy_id=vacancy["id"])
    assert "2024-12-01" in caught.value.details["started_on"][0]
    assert "2025-01-01" in caught.value.details["started_on"][0]
    assert counts(stack.url) == before
    admin.appoint_leader(organization_id=org["id"], post="secretary", name="周书记",
                         method="election", started_on="2025-01-01")
    admin.appoint_leader(organization_id=org["id"], post="committee_member", name="钱委员",
                         method="election", started_on="2024-06-01")
    filled = admin.get_leadership(organization_id=org["id"])["filled_vacancies"]
    assert len(filled) == 3
    assert all(v["filled_on"] >= v["opened_on"] for v in filled), filled


def test_incomplete_teams_report_counts_by_child_place(admin):
    township = admin.list_children(place_code=SUICHANG)["items"][3]["code"]
    villages = [p["code"] for p in admin.list_children(place_code=township)["items"][:2]]
    complete = admin.register_organization(**branch(place=villages[0], sector="rural_village"))
    admin.appoint_leader(organization_id=complete["id"], post="secretary", name="甲",
                         method="election", started_on="2024-06-01")
    incomplete = admin.register_organization(**branch(place=villages[1], sector="rural_village"))
    report = admin.incomplete_teams(place_code=township)
    assert report["organizations"] == 2 and report["incomplete"] == 1
    assert [i["organization_id"] for i in report["items"]] == [incomplete["id"]]
    assert {p["code"] for p in report["items"][0]["problems"]} == {"no_secretary", "open_vacancies"}
    by_child = {c["place_code"]: c for c in report["by_child_place"]}
    assert by_child[villages[0]]["incomplete"] == 0 and by_child[villages[1]]["incomplete"] == 1
    # The same rule as get_leadership's `complete`:
    assert admin.get_leadership(organization_id=incomplete["id"])["complete"] is False


def test_township_organizers_and_the_report_of_townships_without_one(admin):
    townships = admin.list_children(place_code=SUICHANG)["items"]
    before = admin.townships_without_organizer(place_code=SUICHANG)
    assert before["rules"] == {"organizers_per_township": 1,
                               "organizer_township_kinds": ["sub_district", "town", "township"]}
    eligible = [t for t in townships if t["kind"] in ("sub_district", "town", "township")]
    assert before["townships"] == len(eligible) and before["short"] == len(eligible)
    organizer = admin.appoint_organizer(place_code=eligible[0]["code"], name="组织员甲",
                                        appointed_on="2024-01-01")
    after = admin.townships_without_organizer(place_code=SUICHANG)
    assert after["short"] == before["short"] - 1
    assert eligible[0]["code"] not in {t["place_code"] for t in after["items"]}
    assert organizer["id"] in {o["id"] for o in admin.list_organizers(place_code=SUICHANG)["items"]}
    admin.end_organizer(organizer_id=organizer["id"], ended_on="2025-01-01")
    assert admin.townships_without_organizer(place_code=SUICHANG)["short"] == before["short"]
    with pytest.raises(ValidationError):
        admin.appoint_organizer(place_code=SUICHANG, name="县级", appointed_on="2024-01-01")


# -- idempotency, audit -------------------------------------------------------------------
def test_a_repeated_request_id_returns_the_first_result_and_does_nothing_twice(admin, stack):
    request_id = str(uuid.uuid4())
    values = branch()
    first = admin.register_organization(request_id=request_id, **values)
    before = counts(stack.url)
    again = admin.register_organization(request_id=request_id, **values)
    assert again == first
    assert counts(stack.url) == before
    with pytest.raises(Conflict):
        admin.appoint_organizer(request_id=request_id, place_code=TOWNSHIP, name="x",
                                appointed_on="2024-01-01")


def test_a_request_id_reused_with_other_arguments_is_a_conflict(admin, stack):
    request_id = str(uuid.uuid4())
    admin.register_organization(request_id=request_id, **branch(name="第一次"))
    before = counts(stack.url)
    with pytest.raises(Conflict):
        admin.register_organization(request_id=request_id, **branch(name="换了名字"))
    assert counts(stack.url) == before


def test_concurrent_duplicates_of_one_request_do_the_work_once(stack, token_secret):
    request_id, values = str(uuid.uuid4()), branch()
    results = []

    def call():
        with rpc(stack.settings, token(token_secret)) as proxy:
            results.append(proxy.organizations.register_organization(request_id=request_id,
                                                                       **values))

    threads = [eventlet.spawn(call) for _ in range(5)]
    for thread in threads:
        thread.wait()
    assert len({r["id"] for r in results}) == 1 and len(results) == 5
    with psycopg2.connect(stack.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM organizations WHERE name = %s", (values["name"],))
        assert cur.fetchone()[0] == 1
    conn.close()


def test_a_redelivered_message_without_request_id_is_applied_once(stack, token_secret):
    """The broker redelivers an unacknowledged request with its correlation id: the
    service answers the repeat from the request log instead of registering twice."""
    values = branch()
    with RawRpc(stack.settings.amqp_uri) as caller:
        for _ in range(2):  # the same message, twice: what a redelivery looks like
            caller.publish("organizations.register_organization",
                           {"args": [], "kwargs": values}, reply_to="amq.rabbitmq.reply-to",
                           correlation_id="redelivered-0001",
                           headers={"nameko.auth_token": token(token_secret)})
        replies = caller.replies(2)
    assert len(replies) == 2 and replies[0]["error"] is None
    assert replies[0]["result"]["id"] == replies[1]["result"]["id"]


def test_a_malformed_cursor_is_a_validation_error(admin):
    for bad in ("not-a-cursor", encode_cursor(["x"]), encode_cursor([1, 2]),
                encode_cursor({"a": 1})):
        with pytest.raises(ValidationError) as caught:
            admin.list_organizations(place_code=SUICHANG, after=bad)
        assert "after" in caught.value.details
    with pytest.raises(ValidationError):
        admin.reelection_due(place_code=SUICHANG, after=encode_cursor(["not-a-date", 1]))


def test_a_change_of_kind_that_would_strand_its_children_is_refused(admin):
    committee_ = admin.register_organization(**committee())
    admin.register_organization(**committee(parent_id=committee_["id"], full_members=60,
                                            committee_size=5))
    with pytest.raises(ValidationError) as caught:
        admin.update_organization(organization_id=committee_["id"], version=1, kind="621")
    assert "kind" in caught.value.details
    assert admin.get_organization(organization_id=committee_["id"])["kind"] == "611"


def test_the_audit_trail_records_who_changed_what(admin, stack, token_secret):
    org = admin.register_organization(**branch())
    admin.update_organization(organization_id=org["id"], version=1, name="改名后的党支部")
    trail = admin.audit_trail(entity_type="organization", entity_id=str(org["id"]))["items"]
    assert [e["operation"] for e in trail] == ["register_organization", "update_organization"]
    assert trail[1]["changes"]["name"]["new"] == "改名后的党支部"
    assert {(e["subject"], e["department"], e["system"]) for e in trail} == \
        {("tester", "浙江省委组织部", "test-suite")}
    with psycopg2.connect(stack.url) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.Error):
            cur.execute("DELETE FROM audit_log")
    conn.close()


# -- who may do what ------------------------------------------------------------------------
def test_a_county_principal_cannot_read_or_change_another_countys_organizations(stack, admin,
                                                                              token_secret):
    xihu_org = admin.register_organization(**committee())
    xihu_leader = admin.appoint_leader(organization_id=xihu_org["id"], post="secretary",
                                       name="西湖书记", method="election",
                                       started_on="2024-06-01")["leaders"][0]
    xihu_organizer = admin.appoint_organizer(place_code=TOWNSHIP, name="西湖组织员",
                                             appointed_on="2024-01-01")
    suichang_org = admin.register_organization(**branch(place=VILLAGE_TOWNSHIP))
    with rpc(stack.settings, token(token_secret, place=SUICHANG, roles=(*WRITE, "audit.read"),
                                   subject="遂昌县委组织部")) as proxy:
        county = proxy.organizations
        assert county.get_organization(organization_id=suichang_org["id"])["id"] == suichang_org["id"]
        assert county.audit_trail(entity_type="organization",
                                  entity_id=str(suichang_org["id"]))["items"]
        # Another county's record, named by its id, is not there: the same NotFound as an
        # id nobody has, checked before anything else about it (its version, its state).
        for call, record_id in [
            (lambda i: county.get_organization(organization_id=i), xihu_org["id"]),
            (lambda i: county.update_organization(organization_id=i, version=9, name="越权"),
             xihu_org["id"]),
            (lambda i: county.dissolve_organization(organization_id=i, version=1,
                                                    effective_on="2025-01-01", reason="越权"),
             xihu_org["id"]),
            (lambda i: county.merge_organization(organization_id=suichang_org["id"], version=1,
                                                 into_organization_id=i,
                                                 effective_on="2025-01-01", reason="越权"),
             xihu_org["id"]),
            (lambda i: county.get_leadership(organization_id=i), xihu_org["id"]),
            (lambda i: county.appoint_leader(organization_id=i, post="secretary", name="越权",
                                             method="election", started_on="2025-01-01"),
             xihu_org["id"]),
            (lambda i: county.cases_of(organization_id=i), xihu_org["id"]),
            (lambda i: county.add_exemplar(organization_id=i, title="越权", practice="越权",
                                           level="county", published_on="2025-01-01"),
             xihu_org["id"]),
            (lambda i: county.designate_demonstration_site(organization_id=i, level="county",
                                                           year=2025), xihu_org["id"]),
            (lambda i: county.end_leader(leader_id=i, ended_on="2025-01-01", reason="resigned"),
             xihu_leader["id"]),
            (lambda i: county.end_organizer(organizer_id=i, ended_on="2025-01-01"),
             xihu_organizer["id"]),
            (lambda i: county.audit_trail(entity_type="organization", entity_id=str(i)),
             xihu_org["id"]),
            (lambda i: county.audit_trail(entity_type="leader", entity_id=str(i)),
             xihu_leader["id"]),
            (lambda i: county.audit_trail(entity_type="organizer", entity_id=str(i)),
             xihu_organizer["id"]),
        ]:
            theirs = answer(call, record_id)
            assert theirs == answer(call, NOWHERE) and theirs[0] is NotFound
        # A parent named in the parameters too: "unknown parent", as for one nobody has,
        # not whether (and why) another county's committee would fit.
        for call in (
                lambda i: county.register_organization(**branch(place=VILLAGE_TOWNSHIP,
                                                                parent_id=i)),
                lambda i: county.update_organization(organization_id=suichang_org["id"],
                                                     version=1, parent_id=i)):
            theirs = answer(call, xihu_org["id"])
            assert theirs == answer(call, NOWHERE) and theirs[0] is ValidationError
        # Places are public: one outside the jurisdiction, or a missing role, is Forbidden.
        with pytest.raises(Forbidden):
            county.list_organizations(place_code=XIHU)
        with pytest.raises(Forbidden):
            county.register_organization(**branch())
        with pytest.raises(Forbidden):
            county.import_places(places=[{"code": SUICHANG, "name": "遂昌县"}])  # no places.admin
        assert county.place_path(place_code=TOWNSHIP)["items"]  # place names are reference data
        for method, kwargs in [
            ("incomplete_teams", {"place_code": XIHU}),
            ("reelection_due", {"place_code": XIHU}),
            ("townships_without_organizer", {"place_code": XIHU}),
            ("list_organizers", {"place_code": XIHU}),
            ("appoint_organizer", {"place_code": TOWNSHIP, "name": "越权",
                                   "appointed_on": "2025-01-01"}),
            ("audit_trail", {"entity_type": "place", "entity_id": TOWNSHIP}),
        ]:
            with pytest.raises(Forbidden):
                getattr(county, method)(**kwargs)
    assert admin.get_organization(organization_id=xihu_org["id"])["version"] == 1
    assert admin.get_organization(organization_id=suichang_org["id"])["version"] == 1
    assert [p["id"] for p in admin.get_leadership(organization_id=xihu_org["id"])["leaders"]] == \
        [xihu_leader["id"]]
    assert xihu_organizer["id"] in {o["id"] for o in admin.list_organizers(place_code=XIHU)["items"]}
    with rpc(stack.settings, token(token_secret, place=LISHUI, roles=READ)) as proxy:
        with pytest.raises(Forbidden):  # reads only
            proxy.organizations.register_organization(**branch(place=VILLAGE_TOWNSHIP))


def test_a_caller_publishes_exemplars_and_sites_at_its_own_level_or_below(stack, admin,
                                                                         token_secret):
    org = admin.register_organization(**branch(place=VILLAGE_TOWNSHIP, sector="rural_village"))
    with rpc(stack.settings, token(token_secret, place=SUICHANG, roles=WRITE)) as proxy:
        county = proxy.organizations
        for level in ("province", "city"):  # published by a province or a city, not a county
            with pytest.raises(Forbidden) as exemplar:
                county.add_exemplar(organization_id=org["id"], title="越级", practice="越级",
                                    level=level, published_on=TODAY.isoformat())
            with pytest.raises(Forbidden) as site:
                county.designate_demonstration_site(organization_id=org["id"], level=level,
                                                    year=TODAY.year)
            assert exemplar.value.details == site.value.details == {"level": level}
        for listing in (county.exemplars, county.demonstration_sites):  # nothing was written
            assert org["id"] not in {r["organization_id"] for r in listing(
                place_code=VILLAGE_TOWNSHIP)["items"]}
        published = county.add_exemplar(organization_id=org["id"], title="本级", practice="本级",
                                        level="county", published_on=TODAY.isoformat())
        assert published["level"] == "county"
    # The province publishes at any level.
    assert admin.add_exemplar(organization_id=org["id"], title="省级", practice="省级",
                              level="province", published_on=TODAY.isoformat())["level_label"] \
        == "省级"


def test_no_or_bad_token_is_unauthenticated(stack, token_secret):
    with rpc(stack.settings, None) as proxy:
        with pytest.raises(Unauthenticated):
            proxy.organizations.get_place(place_code=PROVINCE)
    forged = token("another-secret-of-at-least-thirty-two-bytes!")
    with rpc(stack.settings, forged) as proxy:
        with pytest.raises(Unauthenticated):
            proxy.organizations.get_place(place_code=PROVINCE)


def test_not_found_is_typed(admin):
    with pytest.raises(NotFound):
        admin.get_organization(organization_id=987654321)
    with pytest.raises(NotFound):
        admin.get_place(place_code="330106598000")
