"""A round's grades imported at scale (evaluation.start_import, kind gradings): each row
set as set_grade sets it — the superior's jurisdiction, the round's place, the grade —
bad rows listed by row, all or nothing, and the grade_assigned events go out as for
single grades (organizations opens the cases)."""

import time

import pytest

from tests.support import (
    SUICHANG,
    eventually,
    rpc,
    sample_places,
    services_running,
    sql_value,
    token,
)


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "gradeimp", "organizations",
                          "evaluation") as running:
        yield running


def finished(proxy, job):
    deadline = time.monotonic() + 60
    while job["status"] == "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = proxy.evaluation.get_import(job_id=job["id"])
    return job


def test_a_rounds_grades_imported_all_or_nothing(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        proxy.organizations.import_places(places=sample_places(SUICHANG))
        townships = [t["code"] for t in
                     proxy.organizations.list_children(place_code=SUICHANG)["items"]]
        orgs = [proxy.organizations.register_organization(
            name=f"党支部{n}", kind="631", sector="rural_village",
            place_code=townships[n % len(townships)], full_members=5,
            founded_on="2020-05-01")["id"] for n in range(30)]
        eventually(lambda: sql_value(stack.urls["evaluation"], "SELECT count(*) FROM organizations")
                   == len(orgs), timeout=20)
        round_id = proxy.evaluation.open_round(place_code=SUICHANG, year=2026,
                                               name="批量定级")["id"]
        grades = ["good", "fairly_good", "average", "poor"]
        rows = [{"row": n + 2, "values": {"round_id": round_id, "organization_id": org,
                                          "grade": grades[n % 4], "reason": "年度定级"}}
                for n, org in enumerate(orgs)]
        bad = [dict(r, values=dict(r["values"])) for r in rows]
        bad[5]["values"]["organization_id"] = 999_999  # row 7: no such organization
        bad[10]["values"]["grade"] = "excellent"  # row 12: no such grade
        bad[18]["values"]["organization_id"] = orgs[0]  # row 20: graded twice in the file

        checked = finished(proxy, proxy.evaluation.start_import(kind="gradings", rows=bad,
                                                                dry_run=True))
        assert checked["status"] == "invalid"
        assert {e["row"]: set(e["fields"]) for e in checked["errors"]} == {
            7: {"organization_id"}, 12: {"grade"}, 20: {"organization_id"}}
        refused = finished(proxy, proxy.evaluation.start_import(kind="gradings", rows=bad))
        assert (refused["status"], refused["applied"]) == ("invalid", 0)
        assert sql_value(stack.urls["evaluation"], "SELECT count(*) FROM gradings") == 0

        done = finished(proxy, proxy.evaluation.start_import(kind="gradings", rows=rows))
        assert (done["status"], done["applied"]) == ("applied", len(orgs))
        assert sql_value(stack.urls["evaluation"], "SELECT count(*) FROM gradings"
                     " WHERE round_id = %s", (round_id,)) == len(orgs)
        report = proxy.evaluation.moving_up_report(place_code=SUICHANG)
        assert sum(r["organizations"] for r in report["total"]["rows"]) == len(orgs)
        # The events went out as for single grades: a case per average or poor grade.
        to_rectify = sum(r["values"]["grade"] in ("average", "poor") for r in rows)
        eventually(lambda: sql_value(stack.urls["organizations"], "SELECT count(*) FROM"
                                 " rectification_cases") == to_rectify, timeout=20)

        # Later and earlier rounds in one file, the same organizations in both (graded one
        # after the other), and a later round alone (graded a chunk at once): baseline is
        # the earliest round by year, current the latest, whatever the order of entry.
        earlier = proxy.evaluation.open_round(place_code=SUICHANG, year=2025, name="补录")["id"]
        later = proxy.evaluation.open_round(place_code=SUICHANG, year=2027, name="次年")["id"]
        both = [{"row": 2 + 2 * n + k, "values": {"round_id": r, "organization_id": org,
                                                  "grade": g, "reason": "补录"}}
                for n, org in enumerate(orgs[:10])
                for k, (r, g) in enumerate(((later, "good"), (earlier, "poor")))]
        alone = [{"row": n + 2, "values": {"round_id": later, "organization_id": org,
                                           "grade": "good", "reason": "次年"}}
                 for n, org in enumerate(orgs[10:20])]
        for file in (both, alone):
            job = finished(proxy, proxy.evaluation.start_import(kind="gradings", rows=file))
            assert (job["status"], job["applied"]) == ("applied", len(file))
        url = stack.urls["evaluation"]
        for group, baseline in ((orgs[:10], earlier), (orgs[10:20], round_id)):
            assert sql_value(url, "SELECT count(*) FROM organizations WHERE id = ANY(%s)"
                             " AND baseline_round_id = %s AND current_round_id = %s"
                             " AND current_grade = 'good'", (group, baseline, later)) == 10
            assert sql_value(url, "SELECT count(*) FROM gradings WHERE organization_id = ANY(%s)"
                             " AND is_baseline AND round_id = %s", (group, baseline)) == 10
            assert sql_value(url, "SELECT count(*) FROM gradings WHERE organization_id = ANY(%s)"
                             " AND is_baseline", (group,)) == 10

    with rpc(stack.settings, token(token_secret, place=townships[0])) as township:
        own = finished(township, township.evaluation.start_import(
            kind="gradings", rows=rows[:1], dry_run=True))
        assert own["status"] == "invalid"  # a place does not grade its own organizations
