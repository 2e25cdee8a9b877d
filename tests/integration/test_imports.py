"""Bulk import jobs (shared/platform/imports.py) in organizations, npe and cadres, on the real broker
and databases: every bad row of a file listed with its fields, nothing written on a dry run
or on any error, all of a clean file written in one commit, progress seen while it runs."""

import datetime as dt
import random
import secrets
import time
import uuid
from urllib.parse import urlsplit

import psycopg2
import pytest

from shared.contracts.imports import MAX_ROWS
from shared.errors import NotFound, Unauthenticated, ValidationError
from shared.national import credit_code, identity_number, regions
from tests.support import (
    SUICHANG,
    XIHU,
    accounts_on,
    eventually,
    rpc,
    sample_places,
    services_running,
    token,
)
from tools.launcher import provision

TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
UNKNOWN_TOWNSHIP = "331123199000"  # a well-formed code the sample does not have
LIANDU = "331102000000"
SUICHANG_ROLES = ("organizations.read", "organizations.write", "npe.read", "npe.write",
                  "cadres.read", "cadres.write")


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "imp", "organizations", "evaluation",
                          "npe", "cadres") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG, LIANDU))
            eventually(lambda: proxy.npe.coverage_report(place_code=SUICHANG)["by_child_place"]
                       and proxy.cadres.reserve_shortfall(place_code=SUICHANG)["total"]["villages"])
        yield running


@pytest.fixture(scope="module")
def proxy(stack, token_secret):
    """A caller whose jurisdiction is 遂昌县 only."""
    with rpc(stack.settings, token(token_secret, place=SUICHANG, roles=SUICHANG_ROLES),
             timeout=60) as proxy:
        yield proxy


def count(url, sql, *, whole=False):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
            return row if whole or row is None else row[0]
    finally:
        conn.close()


def counts(stack, service, *tables):
    return {t: count(stack.urls[service], f"SELECT count(*) FROM {t}") for t in tables}


def finished(service_proxy, job, timeout=60.0):
    """Poll get_import until the job ends; the final job and every observation."""
    seen = [job]
    deadline = time.monotonic() + timeout
    while seen[-1]["status"] == "running":
        assert time.monotonic() < deadline, f"import still running: {seen[-1]}"
        time.sleep(0.05)
        seen.append(service_proxy.get_import(job_id=job["id"]))
    return seen[-1], seen


def bad_rows_by_field(job):
    return {e["row"]: set(e["fields"]) for e in job["errors"]}


# -- a container that stops ------------------------------------------------------------------
def test_a_stopping_container_marks_its_running_import_interrupted(databases, base_settings,
                                                                   token_secret):
    # A broker vhost of its own: this organizations service must not share an RPC queue
    # with the module's.
    amqp = urlsplit(base_settings.amqp_uri)
    name = f"{amqp.path.strip('/')}_stop"
    uri = f"amqp://{name}:{secrets.token_hex(8)}@{amqp.hostname}:{amqp.port or 5672}/{name}"
    provision.ensure_vhost(uri)
    try:
        settings = accounts_on(base_settings, uri)
        with services_running(databases, settings, "impstop", "organizations") as running:
            with rpc(running.settings, token(token_secret), timeout=60) as proxy:
                proxy.organizations.import_places(places=sample_places(SUICHANG))
                # The largest file: it takes seconds, progress is recorded once a second.
                job = proxy.organizations.start_import(kind="organizations", dry_run=True,
                                                       rows=organization_rows(MAX_ROWS))
                eventually(lambda: proxy.organizations.get_import(job_id=job["id"])["processed"],
                           timeout=30)
            url = running.url
        # The container killed the job's thread on its way out.
        row = eventually(lambda: count(url, "SELECT status, processed, finished_at FROM import_jobs"
                                            f" WHERE id = '{job['id']}' AND status <> 'running'",
                                       whole=True), timeout=10)
        assert row[0] == "interrupted" and 0 < row[1] < MAX_ROWS and row[2] is not None
    finally:
        provision.delete_vhost(uri, delete_user=True)


# -- npe: enterprises ------------------------------------------------------------------------
def new_code(rng):
    return credit_code.with_check_character(
        "91331123" + "".join(rng.choice(credit_code.CHARSET) for _ in range(9)))


def enterprise_rows(rng, places, n):
    return [{"row": i + 2, "values": {
        "credit_code": new_code(rng), "name": f"遂昌企业{i}", "place_code": rng.choice(places),
        "industry": "C", "size": "small", "employees": 40, "full_members": rng.randrange(0, 6)}}
        for i in range(n)]


def test_enterprises_all_or_nothing(stack, proxy):
    rng = random.Random(6)
    places = [p["code"] for p in sample_places(SUICHANG) if regions.in_subtree(p["code"], SUICHANG)]
    good = enterprise_rows(rng, places, 200)
    bad = [dict(r, values=dict(r["values"])) for r in good]
    code = bad[10]["values"]["credit_code"]
    wrong = next(c for c in credit_code.CHARSET if c != code[-1])
    bad[10]["values"]["credit_code"] = code[:-1] + wrong             # check character
    bad[50]["values"]["credit_code"] = bad[20]["values"]["credit_code"]  # twice in the file
    bad[90]["values"]["place_code"] = XIHU                            # outside the jurisdiction
    bad[120]["values"]["place_code"] = UNKNOWN_TOWNSHIP               # unknown to npe
    bad[199]["values"]["industry"] = "Z"
    expected = {12: {"credit_code"}, 52: {"credit_code"}, 92: {"place_code"},
                122: {"place_code"}, 201: {"industry"}}
    before = counts(stack, "npe", "enterprises", "outbox", "audit_log")

    for dry_run in (True, False):
        job, _ = finished(proxy.npe, proxy.npe.start_import(kind="enterprises", rows=bad,
                                                            dry_run=dry_run))
        assert (job["status"], job["status_label"], job["applied"]) == ("invalid", "有错误未导入", 0)
        assert bad_rows_by_field(job) == expected
        assert "与第22行重复" in job["errors"][1]["fields"]["credit_code"][0]
        assert counts(stack, "npe", "enterprises", "outbox", "audit_log") == before

    job, _ = finished(proxy.npe, proxy.npe.start_import(kind="enterprises", rows=good,
                                                        dry_run=True))
    assert (job["status"], job["status_label"], job["errors"]) == ("valid", "校验通过", [])
    assert counts(stack, "npe", "enterprises", "outbox", "audit_log") == before
    job, _ = finished(proxy.npe, proxy.npe.start_import(kind="enterprises", rows=good))
    assert (job["status"], job["applied"], job["kind_label"]) == ("applied", 200, "非公企业")
    after = counts(stack, "npe", "enterprises", "audit_log")
    assert after == {"enterprises": before["enterprises"] + 200,
                     "audit_log": before["audit_log"] + 200}
    # The same file again: every code is registered now (the single operation's Conflict).
    job, _ = finished(proxy.npe, proxy.npe.start_import(kind="enterprises", rows=good[:3]))
    assert job["status"] == "invalid" and bad_rows_by_field(job) == {
        2: {"credit_code"}, 3: {"credit_code"}, 4: {"credit_code"}}


# -- cadres: reserve cadres ------------------------------------------------------------------
def new_number(rng, sex):
    born = dt.date(rng.randrange(1975, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
    sequence = rng.randrange(0, 100) * 10 + rng.choice([1, 3, 5, 7, 9] if sex == "male"
                                                        else [0, 2, 4, 6, 8])
    return identity_number.with_check_character(f"331123{born:%Y%m%d}{sequence:03d}")


def reserve_rows(rng, villages, n):
    rows = []
    for i in range(n):
        sex = rng.choice(["male", "female"])
        rows.append({"row": i + 2, "values": {
            "name": f"后备{i}", "sex": sex, "ethnicity": "汉族", "education": "bachelor",
            "political_status": "party_member", "place_code": rng.choice(villages),
            "identity_number": new_number(rng, sex), "post_category": "two_committees_member",
            "recommended_by": "村党支部", "method": "democratic", "recommended_on": "2024-03-01",
            "votes": rng.randrange(10, 200)}})
    return rows


def test_reserve_cadres_all_or_nothing_and_a_known_person_reused(stack, proxy):
    rng = random.Random(7)
    villages = [p["code"] for p in sample_places(SUICHANG)
                if regions.level_of(p["code"]) == "village" and 200 <= int(p["code"][9:]) <= 399]
    good = reserve_rows(rng, villages, 200)
    bad = [dict(r, values=dict(r["values"])) for r in good]
    number = bad[5]["values"]["identity_number"]
    bad[5]["values"]["identity_number"] = number[:-1] + ("0" if number[-1] != "0" else "1")
    bad[40]["values"] = dict(bad[30]["values"], name="另一人")   # the same number twice
    bad[41]["values"]["method"] = "lottery"
    bad[42]["values"]["person_id"] = 1                        # not a column of the file
    bad[60]["values"]["sex"] = "female" if bad[60]["values"]["sex"] == "male" else "male"
    bad[61]["values"]["place_code"] = SUICHANG                # a county keeps no reserves
    expected = {7: {"identity_number"}, 42: {"identity_number"}, 43: {"method"},
                44: {"person_id"}, 62: {"sex"}, 63: {"place_code"}}
    # One person of the file is registered already, in the caller's jurisdiction.
    known = {k: v for k, v in good[0]["values"].items()
             if k not in ("recommended_by", "method", "recommended_on", "votes")}
    proxy.cadres.register_person(**known)
    before = counts(stack, "cadres", "people", "reserves", "outbox", "audit_log")

    for dry_run in (True, False):
        job, _ = finished(proxy.cadres, proxy.cadres.start_import(kind="reserve_cadres", rows=bad,
                                                                  dry_run=dry_run))
        assert job["status"] == "invalid" and bad_rows_by_field(job) == expected
        assert counts(stack, "cadres", "people", "reserves", "outbox", "audit_log") == before
        text = repr(job["errors"])  # messages never repeat an identity number
        assert not any(r["values"]["identity_number"] in text for r in bad)

    job, _ = finished(proxy.cadres, proxy.cadres.start_import(kind="reserve_cadres", rows=good))
    assert (job["status"], job["applied"], job["kind_label"]) == ("applied", 200, "后备干部")
    after = counts(stack, "cadres", "people", "reserves")
    assert after == {"people": before["people"] + 199, "reserves": before["reserves"] + 200}


def test_an_import_of_the_most_rows_registers_every_person(stack, proxy):
    """Each registration locks its identity number until the import commits: as row
    locks, not advisory locks, which share a table of max_locks_per_transaction ×
    (max_connections + max_prepared_transactions) entries and some slack (here 64 × 100:
    between 12 000 and 15 000 in one transaction, then "out of shared memory")."""
    villages = [p["code"] for p in sample_places(SUICHANG)
                if regions.level_of(p["code"]) == "village" and 200 <= int(p["code"][9:]) <= 399]
    wanted, seen, rows = MAX_ROWS, set(), []
    for row in reserve_rows(random.Random(16), villages, wanted * 2):  # numbers may repeat
        if len(rows) < wanted and row["values"]["identity_number"] not in seen:
            seen.add(row["values"]["identity_number"])
            rows.append(dict(row, row=len(rows) + 2))
    before = counts(stack, "cadres", "people")
    job, _ = finished(proxy.cadres, proxy.cadres.start_import(kind="reserve_cadres", rows=rows),
                      timeout=300)  # ~70 s here
    assert (job["status"], job["applied"]) == ("applied", len(rows)), job.get("errors")
    assert counts(stack, "cadres", "people")["people"] == before["people"] + len(rows)


# -- get_import and bad input ----------------------------------------------------------------
def test_get_import_not_found_forbidden_unauthenticated(stack, proxy, token_secret):
    rows = [{"row": 2, "values": {"name": "x"}}]
    job = proxy.organizations.start_import(kind="organizations", rows=rows, dry_run=True)
    assert (job["status"], job["kind_label"], job["total"]) == ("running", "党组织", 1)
    with pytest.raises(NotFound):
        proxy.organizations.get_import(job_id=str(uuid.uuid4()))
    with rpc(stack.settings, token(token_secret, place=LIANDU)) as other_county:
        with pytest.raises(NotFound) as elsewhere:  # as if there were no such job
            other_county.organizations.get_import(job_id=job["id"])
    assert elsewhere.value.message == f"no import job {job['id']} (未找到该导入任务)"
    with rpc(stack.settings, None) as anonymous:
        with pytest.raises(Unauthenticated):
            anonymous.organizations.get_import(job_id=job["id"])
    with rpc(stack.settings, token(token_secret)) as province:  # above the job's place
        assert province.organizations.get_import(job_id=job["id"])["id"] == job["id"]
    done, _ = finished(proxy.organizations, job)
    assert done["status"] == "invalid" and done["finished_at"] is not None


def test_bad_input_creates_no_job(stack, proxy):
    before = count(stack.urls["organizations"], "SELECT count(*) FROM import_jobs")
    one = [{"row": 2, "values": {}}]
    for kwargs, field in [
        ({"kind": "enterprises", "rows": one}, "kind"),  # npe's kind, not this service's
        ({"kind": "organizations", "rows": []}, "rows"),
        ({"kind": "organizations", "rows": one * 20_001}, "rows"),
        ({"kind": "organizations", "rows": [{"row": 2}]}, "rows"),
        ({"kind": "organizations", "rows": [{"row": 0, "values": {}}]}, "rows"),
        ({"rows": one}, "kind"),
    ]:
        with pytest.raises(ValidationError) as caught:
            proxy.organizations.start_import(**kwargs)
        assert field in caught.value.details, (kwargs.get("kind"), caught.value.details)
    assert count(stack.urls["organizations"], "SELECT count(*) FROM import_jobs") == before


def test_a_repeated_request_id_returns_the_same_job_and_starts_nothing(stack, proxy):
    before = count(stack.urls["organizations"], "SELECT count(*) FROM import_jobs")
    request_id = str(uuid.uuid4())
    rows = [{"row": 2, "values": {"name": "x"}}]
    first = proxy.organizations.start_import(kind="organizations", rows=rows, dry_run=True,
                                             request_id=request_id)
    again = proxy.organizations.start_import(kind="organizations", rows=rows, dry_run=True,
                                             request_id=request_id)
    assert again["id"] == first["id"]
    assert count(stack.urls["organizations"], "SELECT count(*) FROM import_jobs") == before + 1
    finished(proxy.organizations, first)


def test_a_running_job_without_heartbeat_reads_interrupted(stack, proxy):
    job = proxy.organizations.start_import(kind="organizations", dry_run=True,
                                           rows=[{"row": 2, "values": {"name": "x"}}])
    finished(proxy.organizations, job)
    url = stack.urls["organizations"]
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:  # as a process that died mid-run leaves it
            cur.execute("UPDATE import_jobs SET status = 'running', finished_at = NULL,"
                        " heartbeat_at = now() - interval '59 seconds' WHERE id = %s", (job["id"],))
        assert proxy.organizations.get_import(job_id=job["id"])["status"] == "running"
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE import_jobs SET heartbeat_at = now() - interval '61 seconds'"
                        " WHERE id = %s", (job["id"],))
    finally:
        conn.close()
    stale = proxy.organizations.get_import(job_id=job["id"])
    assert (stale["status"], stale["status_label"]) == ("interrupted", "已中断")


# -- organizations: 10 000 rows --------------------------------------------------------------
def organization_rows(n):
    places = [p["code"] for p in sample_places(SUICHANG)
              if regions.level_of(p["code"]) in ("township", "village")]
    rows = []
    for i in range(n):
        place = places[i % len(places)]
        village = regions.level_of(place) == "village"
        rows.append({"row": i + 2, "values": {
            "name": f"第{i}党支部", "kind": "631",
            "sector": "rural_village" if village else "government_agency", "place_code": place,
            "full_members": 3 + i % 4, "founded_on": "2021-07-01"}})
    return rows


def plant(good):
    """The file with bad rows planted; the row numbers and fields they must be reported on."""
    rows = [dict(r, values=dict(r["values"])) for r in good]

    def at(index, field=None, value=None, *, drop=None, fields=None, **more):
        values = rows[index]["values"]
        if drop:
            del values[drop]
        if field:
            values[field] = value
        values.update(more)
        expected[rows[index]["row"]] = fields or {field or drop}

    expected: dict[int, set] = {}
    at(0, "place_code", UNKNOWN_TOWNSHIP)          # the first row: fails in the database
    at(1, "kind", "999")
    at(700, drop="name")
    at(1400, "place_code", XIHU)                   # outside the caller's jurisdiction
    at(2100, "founded_on", TOMORROW)
    at(2800, "name", good[2000]["values"]["name"], place_code=good[2000]["values"]["place_code"])
    at(3500, "committee_size", 3)                  # 3 full members: no committee
    at(4200, "full_members", 9, fields={"committee_size"})  # 9 need a committee
    at(4900, "full_members", 1)
    at(5600, "kind", "632", fields={"units"})      # a joint branch lists its units
    at(6300, "elected_on", "2020-01-01")           # before founded_on
    at(7000, "place_code", "12345")
    at(7700, "parent_id", 999_999_999)
    at(8400, "place_code", "331123001599")         # a well-formed village nobody has
    at(9100, "surprise", "x")
    at(9999, "full_members", "three")              # the last row
    return rows, expected


def test_ten_thousand_organizations(stack, proxy):
    org_url, eval_url = stack.urls["organizations"], stack.urls["evaluation"]
    good = organization_rows(10_000)
    bad, expected = plant(good)
    before = counts(stack, "organizations", "organizations", "outbox", "audit_log", "vacancies")

    started = time.monotonic()
    job, _ = finished(proxy.organizations, proxy.organizations.start_import(
        kind="organizations", rows=bad, dry_run=True))
    dry_s = time.monotonic() - started
    assert (job["status"], job["dry_run"], job["processed"]) == ("invalid", True, 10_000)
    assert bad_rows_by_field(job) == expected
    assert job["errors_total"] == len(expected) and job["applied"] == 0
    assert counts(stack, "organizations", "organizations", "outbox", "audit_log",
                  "vacancies") == before

    job, _ = finished(proxy.organizations, proxy.organizations.start_import(
        kind="organizations", rows=bad))
    assert (job["status"], job["dry_run"], job["applied"]) == ("invalid", False, 0)
    assert bad_rows_by_field(job) == expected
    assert counts(stack, "organizations", "organizations", "outbox", "audit_log",
                  "vacancies") == before

    evaluated = count(eval_url, "SELECT count(*) FROM organizations")
    started = time.monotonic()
    job, seen = finished(proxy.organizations, proxy.organizations.start_import(
        kind="organizations", rows=good))
    real_s = time.monotonic() - started
    print(f"\n10 000 organizations: dry run {dry_s:.1f} s, real {real_s:.1f} s")
    assert (job["status"], job["status_label"], job["applied"]) == ("applied", "已导入", 10_000)
    assert job["errors"] == [] and job["finished_at"] is not None
    assert real_s < 60  # a guard against a gross regression; the figures: bench/import_bench.py
    assert any(0 < s["processed"] < s["total"] for s in seen), [s["processed"] for s in seen]
    after = counts(stack, "organizations", "organizations", "audit_log")
    assert after == {"organizations": before["organizations"] + 10_000,
                     "audit_log": before["audit_log"] + 10_000}
    assert count(org_url, "SELECT count(*) FROM audit_log WHERE request_id = "
                          f"'{job['id']}' AND operation = 'start_import'") == 10_000
    # The events leave through the outbox and every one reaches evaluation's copy of the
    # registry (waited for, too, so the tests after this one meet no backlog).
    started = time.monotonic()
    eventually(lambda: count(eval_url, "SELECT count(*) FROM organizations")
               == evaluated + 10_000, timeout=120)
    print(f"10 000 organization_registered events applied by evaluation in "
          f"{time.monotonic() - started:.1f} s after the commit")
