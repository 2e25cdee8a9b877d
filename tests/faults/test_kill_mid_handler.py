"""kill -9 of a service in the middle of an event handler: the event was not
acknowledged, so the broker delivers it again to the restarted service, and its effect
is applied once (the inbox records the event id in the same commit as the effect).

The evaluation service runs as its own process (`python -m shared.platform.runner evaluation`);
its handler for organization_registered is held mid-transaction by a table lock the test
takes on its database, then the process is killed with SIGKILL."""

import psycopg2
import pytest

from shared.platform.migrate import migrate
from tests.ops.support import ServiceProcess
from tests.support import (
    XIHU,
    accounts_on,
    eventually,
    free_ports,
    rpc,
    sample_places,
    services_running,
    sql_value,
    token,
)
from tools.launcher import provision

pytestmark = pytest.mark.timeout(150)

TOWNSHIP = "330106002000"




@pytest.fixture
def own_vhost(base_settings):
    """A vhost of this test's own: a killed consumer's messages must not reach the other
    tests' evaluation services, which share queue names on the run's vhost."""
    uri = f"{base_settings.amqp_uri}_kill"  # the run's vhost name + _kill
    provision.ensure_vhost(uri)
    yield accounts_on(base_settings, uri)
    provision.delete_vhost(uri)


def test_a_handler_killed_mid_transaction_is_redelivered_and_applied_once(
        databases, own_vhost, token_secret, tmp_path):
    base_settings = own_vhost
    evaluation_url = databases.create("kill_evaluation")
    migrate("evaluation", evaluation_url)

    def evaluation():
        return ServiceProcess("evaluation", settings=base_settings,
                              database_url=evaluation_url, port=free_ports(1)[0],
                              token_secret=token_secret, var_dir=tmp_path)

    first = evaluation().start()
    try:
        with services_running(databases, base_settings, "kill", "organizations") as running, \
                rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU))
            eventually(lambda: sql_value(evaluation_url, "SELECT count(*) FROM places"))

            lock = psycopg2.connect(evaluation_url)
            with lock.cursor() as cur:  # the handler's insert waits on this
                cur.execute("LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE")
            org = proxy.organizations.register_organization(
                name="遭遇中断的党支部", kind="631", sector="urban_community",
                place_code=TOWNSHIP, full_members=5, founded_on="2024-01-01")
            eventually(lambda: sql_value(evaluation_url, "SELECT count(*) FROM pg_stat_activity"
                                     " WHERE datname = current_database()"
                                     " AND wait_event_type = 'Lock'"), timeout=20)
            first.kill()  # SIGKILL, in the middle of the handler's transaction
            lock.rollback()
            lock.close()
            assert sql_value(evaluation_url, "SELECT count(*) FROM organizations") == 0

            second = evaluation().start()
            try:
                eventually(lambda: sql_value(evaluation_url, "SELECT count(*) FROM organizations"
                                         " WHERE id = %s", (org["id"],)), timeout=30)
                # Once: one row, and the inbox holds the event once for this handler.
                assert sql_value(evaluation_url, "SELECT count(*) FROM organizations") == 1
                assert sql_value(evaluation_url, "SELECT count(*) FROM inbox WHERE handler ="
                             " 'on_organization_registered'") == 1
            finally:
                second.terminate()
    finally:
        first.kill()
