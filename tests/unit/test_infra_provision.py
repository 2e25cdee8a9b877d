"""What provisioning reads from the URLs, and the state file of what make run started."""

from __future__ import annotations

import pytest

from tools.launcher import provision
from tools.launcher.local import PostgresCluster, RabbitNode
from tools.launcher.state import State
from tools.launcher.system import InfraError, mask_url


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("amqp://jinwei:jinwei@127.0.0.1:5672/jinwei", ("jinwei", "jinwei", "jinwei", 5672)),
        ("amqp://guest:guest@localhost:5673//", ("guest", "guest", "/", 5673)),
        ("amqp://guest:guest@localhost", ("guest", "guest", "/", 5672)),
        ("amqp://u%2Fx:p%40w@h:1/v%2Fh", ("u/x", "p@w", "v/h", 1)),
    ],
)
def test_amqp_uri_parts(uri, expected):
    target = provision.parse_amqp_uri(uri)
    assert (target.user, target.password, target.vhost, target.port) == expected


def test_not_an_amqp_uri():
    with pytest.raises(InfraError):
        provision.parse_amqp_uri("postgresql://a:b@h/d")


def test_database_target_needs_user_and_database():
    target = provision._database_target("postgresql://jinwei_x:pw@127.0.0.1:5432/jinwei_x")
    assert (target.role, target.password, target.database) == ("jinwei_x", "pw", "jinwei_x")
    assert provision._database_target("postgresql://r@h/d").password is None
    with pytest.raises(InfraError):
        provision._database_target("postgresql://127.0.0.1:5432/d")


def test_protected_databases_are_never_dropped():
    with pytest.raises(InfraError):
        provision.drop_database(
            "postgresql://postgres@127.0.0.1:1/postgres", "postgresql://x@h/postgres"
        )
    with pytest.raises(InfraError):
        provision.drop_database(
            "postgresql://postgres@127.0.0.1:1/postgres",
            "postgresql://postgres@h/d",
            drop_role=True,
        )


def test_mask_url_hides_only_the_password():
    assert (
        mask_url("amqp://jinwei:secret@127.0.0.1:5672/jinwei")
        == "amqp://jinwei:***@127.0.0.1:5672/jinwei"
    )
    assert (
        mask_url("postgresql://postgres@127.0.0.1/postgres")
        == "postgresql://postgres@127.0.0.1/postgres"
    )


def test_state_records_and_forgets_instances(tmp_path):
    state = State.load(tmp_path)
    assert state.empty
    node = RabbitNode(
        port=5673, dist_port=25673, node="jinwei-5673@localhost", base_dir=tmp_path / "r"
    )
    cluster = PostgresCluster(
        port=5433, base_dir=tmp_path / "p", bindir=tmp_path, socket_dir=tmp_path
    )
    state.record(node)
    state.record(cluster)
    again = State.load(tmp_path)
    assert again.rabbit_node(5673) == node
    assert again.postgres_cluster(5433) == cluster
    assert again.rabbit_node(5672) is None
    again.forget(node)
    again.forget(cluster)
    assert State.load(tmp_path).empty
