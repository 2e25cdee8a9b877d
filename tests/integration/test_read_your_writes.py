"""Read-your-writes across services (shared.platform.owner_lookup): once the organizations
service has answered a write, every other service accepts what was written at once,
whether or not its event has arrived; the owner not answering is a retryable
ServiceUnavailable, never NotFound or "unknown place"."""

import datetime as dt
import time

import pytest

from shared.errors import NotFound, ServiceUnavailable, ValidationError
from shared.national import credit_code
from tests.support import SUICHANG, rpc, sample_places, services_running, token

TOWNSHIP, VILLAGE = "331123001000", "331123001001"  # 妙高街道, 和桥社区 (遂昌县)
YEAR = dt.date.today().year


def _register(proxy, name: str, place: str = VILLAGE) -> dict:
    return proxy.organizations.register_organization(
        name=name, kind="631", sector="urban_community", place_code=place, full_members=5,
        founded_on="2024-01-01")


def _enterprise(place: str, number: int) -> dict:
    first17 = "91331123MA" + f"{number:07d}"
    return {"credit_code": credit_code.with_check_character(first17),
            "name": f"即时登记企业{number}", "place_code": place, "industry": "C",
            "size": "small", "employees": 20, "full_members": 0}


# First, before the module's stack below exists: its evaluation's event queues would
# take the events this test must not deliver.
def test_a_service_that_never_had_the_event_asks_and_the_owner_stopped_is_503(
        databases, base_settings, token_secret):
    """evaluation starts after the organization was registered (its event went to no
    queue of evaluation's): it grades it all the same. Then the owner stops: an
    organization evaluation has not seen is 503 within the lookup's timeout, not 404."""
    owner_running = services_running(databases, base_settings, "ryw_owner", "organizations")
    owner = owner_running.__enter__()
    try:
        with rpc(owner.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG))
            early = _register(proxy, "先于考评登记的党支部")
            unseen = _register(proxy, "考评未见的党支部")
        with services_running(databases, base_settings, "ryw_late", "evaluation") as late, \
                rpc(late.settings, token(token_secret)) as proxy:
            round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=YEAR, name="后启动")
            proxy.evaluation.set_grade(round_id=round_["id"], organization_id=early["id"],
                                       grade="average", reason="先登记后启动")
            assert proxy.evaluation.get_grading(round_id=round_["id"], organization_id=early[
                "id"])["grade"] == "average"
            owner_running.__exit__(None, None, None)  # the owner stops; evaluation runs on
            owner_running = None
            started = time.monotonic()
            with pytest.raises(ServiceUnavailable):
                proxy.evaluation.set_grade(round_id=round_["id"], organization_id=unseen["id"],
                                           grade="good", reason="所有者已停止")
            waited = time.monotonic() - started
            # An import meeting it stops, interrupted (to be run again): no row is blamed.
            job = proxy.evaluation.start_import(kind="gradings", rows=[{"row": 2, "values": {
                "round_id": round_["id"], "organization_id": unseen["id"], "grade": "good",
                "reason": "所有者已停止"}}])
            while job["status"] == "running":
                time.sleep(0.1)
                job = proxy.evaluation.get_import(job_id=job["id"])
            assert (job["status"], job["errors"]) == ("interrupted", [])
    finally:
        if owner_running is not None:
            owner_running.__exit__(None, None, None)
    assert waited < base_settings.owner_lookup_timeout_s + 2


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "ryw", "organizations", "evaluation",
                          "npe") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG))
        yield running


@pytest.fixture
def proxy(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        yield proxy


def test_a_grade_set_right_after_registration_always_lands(proxy):
    """register → set_grade at once, 200 times over several organizations: none fails."""
    round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=YEAR, name="即时定级")
    villages = [p["code"] for p in proxy.organizations.list_children(place_code=TOWNSHIP)["items"]]
    failures = []
    for index in range(200):
        org = _register(proxy, f"即时定级党支部{index}", villages[index % len(villages)])
        try:
            proxy.evaluation.set_grade(round_id=round_["id"], organization_id=org["id"],
                                       grade="good", reason="即时定级测试")
        except Exception as exc:  # noqa: BLE001 - every failure counted, whatever its type
            failures.append(f"{org['id']}: {type(exc).__name__}: {exc}")
    assert failures == []


def test_an_enterprise_registered_right_after_its_place_always_lands(proxy):
    """import_places → register_enterprise at once, 200 new villages: none fails."""
    failures = []
    for index in range(200):
        village = f"{TOWNSHIP[:9]}{200 + index:03d}"
        proxy.organizations.import_places(places=[{"code": village, "name": f"即时村{index}"}])
        try:
            proxy.npe.register_enterprise(**_enterprise(village, index))
        except Exception as exc:  # noqa: BLE001 - every failure counted, whatever its type
            failures.append(f"{village}: {type(exc).__name__}: {exc}")
    assert failures == []


def test_what_the_owner_does_not_know_is_still_not_there(proxy):
    round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=YEAR, name="不存在的组织")
    with pytest.raises(NotFound):
        proxy.evaluation.set_grade(round_id=round_["id"], organization_id=987654321,
                                   grade="good", reason="不存在的组织")
    with pytest.raises(ValidationError) as refused:
        proxy.npe.register_enterprise(**_enterprise(f"{TOWNSHIP[:9]}598", 999))
    assert "place_code" in refused.value.details


@pytest.mark.parametrize("satisfied, shown, passed", [
    (15_999, "0.7999", False),  # 79.995 %: rounded half-up it would read 0.8000
    (16_000, "0.8000", True),   # 80 %
    (16_001, "0.8000", True),   # 80.005 %
])
def test_a_survey_rate_never_reads_across_its_threshold(proxy, satisfied, shown, passed):
    """A survey of an organization registered a moment before, 20 000 ballots counted:
    the rate shown is cut to four places, so it agrees with the verdict."""
    org = _register(proxy, f"满意度显示党支部{satisfied}")
    survey = proxy.evaluation.open_survey(kind="service_oriented", organization_id=org["id"])
    proxy.evaluation.record_counts(survey_id=survey["id"], counts={
        "satisfied": satisfied, "dissatisfied": 20_000 - satisfied})
    closed = proxy.evaluation.close_survey(survey_id=survey["id"])
    assert (closed["rate"], closed["rule"]["threshold"], closed["passed"]) == (shown, "0.80", passed)
