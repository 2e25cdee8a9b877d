"""A service that starts after places and organizations were made learns them from
publish_snapshot, on a vhost of its own (no earlier events reach it)."""

import secrets

import psycopg2
import pytest

from services.evaluation.service import EvaluationService
from services.organizations.service import OrganizationsService
from shared.platform.migrate import migrate
from tests.support import (
    SUICHANG,
    XIHU,
    Running,
    accounts_on,
    eventually,
    rpc,
    sample_places,
    token,
)
from tools.launcher import provision


@pytest.fixture
def own_vhost(amqp_uri):
    uri = amqp_uri.rsplit("/", 1)[0] + f"/snapshot_{secrets.token_hex(4)}"
    provision.ensure_vhost(uri)
    yield uri
    provision.delete_vhost(uri)


def test_a_late_service_catches_up_from_a_snapshot(databases, base_settings, token_secret,
                                                   own_vhost):
    urls = {service: databases.create(f"snapshot_{service}")
            for service in ("organizations", "evaluation")}
    for service, url in urls.items():
        migrate(service, url)
    settings = accounts_on(base_settings, own_vhost).with_overrides(database_urls=urls)
    admin = token(token_secret)
    with Running(settings, OrganizationsService):  # evaluation is not deployed yet
        with rpc(settings, admin) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG, XIHU))
            village = proxy.organizations.list_children(place_code="331123102000")["items"][0]["code"]
            made = [proxy.organizations.register_organization(
                name=f"党支部{i}", kind="631", sector="rural_village", place_code=village,
                full_members=5, founded_on="2024-01-01")["id"] for i in range(3)]
            proxy.organizations.enter_service_creation(
                organization_id=made[0], year=2026, focus="general", entered_on="2026-01-05",
                measures="亮身份")
    with Running(settings, OrganizationsService, EvaluationService):
        with rpc(settings, admin) as proxy:
            report = proxy.evaluation.township_reports(place_code=SUICHANG, period="2026-11")
            assert report["townships"] == 0  # it knows no place yet
            published = proxy.organizations.publish_snapshot(place_code=SUICHANG)
            assert published["organizations"] == 3 and published["places"] > 300
            eventually(lambda: proxy.evaluation.township_reports(
                place_code=SUICHANG, period="2026-11")["townships"] > 0)
            for organization_id in made:  # graded like any other now
                eventually(lambda oid=organization_id: proxy.evaluation.acceptances_of(
                    organization_id=oid) == {"items": []})
            round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=2026, name="补录")
            graded = proxy.evaluation.set_grade(round_id=round_["id"], organization_id=made[0],
                                                grade="good", reason="补录")
            assert graded["grade"] == "good"
            # and the service-oriented creation made before it came: in its survey
            eventually(lambda: _creations(urls["evaluation"]) == 1)
            campaign = proxy.evaluation.open_service_survey(place_code=SUICHANG, year=2026)
            assert campaign["total"]["organizations"] == 1
            again = proxy.organizations.publish_snapshot(place_code=SUICHANG)  # harmless twice
            assert again["organizations"] == 3


def _creations(url) -> int:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM service_creations")
            return cur.fetchone()[0]
    finally:
        conn.close()
