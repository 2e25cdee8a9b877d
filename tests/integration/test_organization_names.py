"""An organization's name is unique among the active organizations of its place
(services/organizations/domain.py name_key, the unique index of migration 0007): one
call, calls at once, imports, renames and moves, and the organizations that were
registered twice before the rule."""

import threading
import uuid

import psycopg2
import pytest

from shared.errors import Conflict
from shared.platform import config
from shared.platform.containers import service_class
from shared.platform.migrate import PLATFORM_MIGRATIONS, migrate
from tests.support import SUICHANG, Running, rpc, sample_places, services_running, token

VILLAGE, OTHER_VILLAGE = "331123001001", "331123001002"  # 和桥社区, 和坑社区 (遂昌县)


# First, before the module's stack exists: its organizations service would share the
# RPC queue and answer for a database of its own.
def test_names_registered_twice_before_the_rule_are_flagged_until_renamed(
        databases, base_settings, token_secret, tmp_path):
    """A database at migration 0006 holding one name twice at a place: 0007 keeps both,
    flags the later one, and its rename clears the flag (the rule holds from then on)."""
    url = databases.create("names_migration")
    before = tmp_path / "organizations-0006"
    before.mkdir()
    for source in sorted((config.REPO_ROOT / "services" / "organizations" / "migrations")
                         .glob("000[1-6]-*.sql")):
        (before / source.name).write_text(source.read_text())
    migrate("organizations", url, sources=[PLATFORM_MIGRATIONS, before])
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO places (code, name, level, kind) VALUES"
                        " ('330000000000', '浙江省', 'province', 'province')")
            for _ in range(2):
                cur.execute(
                    "INSERT INTO organizations (name, kind, sector, place_code, full_members,"
                    " founded_on, elected_on, term_ends_on) VALUES ('省直重名党委', '631',"
                    " 'urban_community', '330000000000', 5, '2020-01-01', '2024-01-01',"
                    " '2029-01-01')")
        assert migrate("organizations", url)[0] == "0007-unique-active-names"
        with conn.cursor() as cur:
            cur.execute("SELECT id, name_clash FROM organizations ORDER BY id")
            (first, first_clash), (second, second_clash) = cur.fetchall()
    finally:
        conn.close()
    assert (first_clash, second_clash) == (False, True)
    settings = base_settings.with_overrides(database_urls={"organizations": url})
    with Running(settings, service_class("organizations")) as running, \
            rpc(running.settings, token(token_secret)) as proxy:
        flags = [f["code"] for f in proxy.organizations.get_organization(
            organization_id=second)["flags"]]
        assert "name_clash" in flags
        assert "name_clash" not in [f["code"] for f in proxy.organizations.get_organization(
            organization_id=first)["flags"]]
        with pytest.raises(Conflict):  # the rule holds for a new one
            proxy.organizations.register_organization(**values("省直重名党委", "330000000000"))
        flagged = proxy.organizations.get_organization(organization_id=second)
        renamed = proxy.organizations.update_organization(
            organization_id=second, version=flagged["version"], name="省直重名党委（二）")
        assert "name_clash" not in [f["code"] for f in renamed["flags"]]
        with pytest.raises(Conflict):  # and for the renamed one from then on
            proxy.organizations.update_organization(
                organization_id=second, version=renamed["version"], name="省直重名党委")


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "names", "organizations") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG))
        yield running


@pytest.fixture
def proxy(stack, token_secret):
    with rpc(stack.settings, token(token_secret), timeout=60) as proxy:
        yield proxy


def values(name: str, place: str = VILLAGE) -> dict:
    return {"name": name, "kind": "631", "sector": "urban_community", "place_code": place,
            "full_members": 5, "founded_on": "2024-01-01"}


def active_named(stack, name_like: str) -> int:
    conn = psycopg2.connect(stack.url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM organizations WHERE status = 'active'"
                        " AND name LIKE %s", (name_like,))
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_a_name_taken_at_a_place_is_a_conflict_naming_the_holder(proxy):
    name = f"社区党支部{uuid.uuid4().hex[:6]}"
    first = proxy.organizations.register_organization(**values(name))
    for spelled in (name, f" {name} ", name.replace("社区", "社 区"),
                    name.replace("社区", "社\u200b区"), f"{name}\u3000"):  # zero-width, 全角空格
        with pytest.raises(Conflict) as refused:
            proxy.organizations.register_organization(**values(spelled))
        assert refused.value.details["existing_organization_id"] == str(first["id"])
        assert "同一地点已有同名" in refused.value.message
    # full-width and half-width brackets are one name (NFKC)
    bracketed = proxy.organizations.register_organization(**values(f"{name}（一）"))
    with pytest.raises(Conflict) as refused:
        proxy.organizations.register_organization(**values(f"{name}(一)"))
    assert refused.value.details["existing_organization_id"] == str(bracketed["id"])
    # another place may have the name; a dissolved holder frees it
    proxy.organizations.register_organization(**values(name, OTHER_VILLAGE))
    proxy.organizations.dissolve_organization(organization_id=first["id"],
                                              version=first["version"],
                                              effective_on="2025-06-30", reason="撤销测试")
    again = proxy.organizations.register_organization(**values(name))
    assert again["id"] != first["id"]


def test_registrations_of_one_name_at_once_register_it_once(stack, token_secret):
    name = f"同时登记党支部{uuid.uuid4().hex[:6]}"
    outcomes, barrier = [], threading.Barrier(8)

    def register():
        with rpc(stack.settings, token(token_secret), timeout=60) as proxy:
            barrier.wait()
            try:
                outcomes.append(proxy.organizations.register_organization(**values(name))["id"])
            except Conflict as exc:
                outcomes.append(exc)

    threads = [threading.Thread(target=register) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    registered = [o for o in outcomes if isinstance(o, int)]
    assert len(registered) == 1 and len(outcomes) == 8
    assert all(isinstance(o, Conflict) for o in outcomes if o not in registered)
    assert active_named(stack, name) == 1


def test_a_rename_or_move_onto_a_taken_name_is_refused(proxy):
    name = f"更名党支部{uuid.uuid4().hex[:6]}"
    holder = proxy.organizations.register_organization(**values(name))
    other = proxy.organizations.register_organization(**values(f"{name}乙"))
    with pytest.raises(Conflict) as refused:
        proxy.organizations.update_organization(organization_id=other["id"],
                                                version=other["version"], name=name)
    assert refused.value.details["existing_organization_id"] == str(holder["id"])
    elsewhere = proxy.organizations.register_organization(**values(name, OTHER_VILLAGE))
    with pytest.raises(Conflict):
        proxy.organizations.update_organization(organization_id=elsewhere["id"],
                                                version=elsewhere["version"],
                                                place_code=VILLAGE)
    assert proxy.organizations.get_organization(organization_id=other["id"])["name"] == f"{name}乙"


def _finished(proxy, job):
    while job["status"] == "running":
        job = proxy.organizations.get_import(job_id=job["id"])
    return job


def test_an_import_reports_names_taken_and_the_same_file_twice_doubles_nothing(stack, proxy):
    stem = f"导入党支部{uuid.uuid4().hex[:6]}"
    named = [f"{stem}{n}" for n in range(5)] + [f"{stem}2"]  # the file names one twice
    rows = [{"row": number, "values": values(name)}  # row 1 is the heading
            for number, name in enumerate(named, start=2)]
    job = _finished(proxy, proxy.organizations.start_import(kind="organizations", rows=rows))
    assert job["status"] == "invalid" and job["applied"] == 0
    assert [(e["row"], set(e["fields"])) for e in job["errors"]] == [(7, {"name"})]
    job = _finished(proxy, proxy.organizations.start_import(kind="organizations", rows=rows[:5]))
    assert (job["status"], job["applied"]) == ("applied", 5)
    again = _finished(proxy, proxy.organizations.start_import(kind="organizations",
                                                              rows=rows[:5]))
    assert again["status"] == "invalid" and again["applied"] == 0
    assert [e["row"] for e in again["errors"]] == [2, 3, 4, 5, 6]
    assert all("同一地点已有同名" in e["message"] for e in again["errors"])
    assert active_named(stack, f"{stem}%") == 5
