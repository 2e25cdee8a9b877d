"""Private RabbitMQ and PostgreSQL instances that fault tests may stop and restart
without touching the machine's own: started on free ports through tools.launcher.local,
destroyed at the end of the run."""

import shutil
import tempfile

import pytest

from tests.support import accounts_on, free_ports
from tools.launcher import local


@pytest.fixture(scope="session")
def fault_var_dir():
    path = tempfile.mkdtemp(prefix="jinwei-faults-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def private_rabbit(fault_var_dir):
    node = local.start_rabbitmq(free_ports(1)[0], fault_var_dir)
    yield node
    node.destroy()


@pytest.fixture(scope="session")
def private_broker_settings(private_rabbit, base_settings):
    """base_settings on the private node: its guest account for the test, and every
    service's own account there."""
    return accounts_on(base_settings, private_rabbit.amqp_uri(), node=private_rabbit.node)


@pytest.fixture(scope="session")
def private_postgres(fault_var_dir):
    cluster = local.start_postgres(free_ports(1)[0], fault_var_dir)
    yield cluster
    cluster.destroy()
