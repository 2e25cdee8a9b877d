"""docker-compose.yml: valid (`docker-compose config -q`, Debian's package), every
process healthchecked and started in order after the migration, secrets from files
that are never committed, and the databases and ports shared/platform/config.py expects."""

import re

import pytest
import yaml

from shared.platform import config
from tests.ops.support import REPO, run, tool

PROCESSES = (*config.SERVICES, "gateway")


def targets(volumes: list) -> list[str]:
    """Mount targets, from the short ("src:dst:ro") or the long form."""
    return [v["target"] if isinstance(v, dict) else v.split(":")[1] for v in volumes]


@pytest.fixture(scope="module")
def resolved():
    """The file as docker-compose resolves it (anchors, merges, defaults)."""
    compose = tool("docker-compose")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}  # no JINWEI_* from this machine
    check = run([compose, "-f", "docker-compose.yml", "config", "-q"], env=env)
    assert check.returncode == 0, check.stderr
    result = run([compose, "-f", "docker-compose.yml", "config"], env=env)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_config_is_valid(resolved):
    assert set(resolved["services"]) == {*PROCESSES, "migrate", "broker-setup", "rabbitmq",
                                         "postgres", "prometheus", "grafana"}


def test_every_process_is_healthchecked_and_starts_after_migration(resolved):
    services = resolved["services"]
    for name in PROCESSES:
        service = services[name]
        assert service["healthcheck"]["test"] == ["CMD", "python",
                                                  "/app/deploy/docker/healthcheck.py"]
        assert service["environment"]["JINWEI_SERVICE"] == name
        after = service["depends_on"]
        assert after["migrate"] == {"condition": "service_completed_successfully"}
        assert after["broker-setup"] == {"condition": "service_completed_successfully"}
        assert after["rabbitmq"] == {"condition": "service_healthy"}
        assert after["postgres"] == {"condition": "service_healthy"}
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert {"/tmp", "/var/lib/jinwei"} <= set(service["tmpfs"])
    for name in config.SERVICES:  # the gateway waits for the services it calls
        assert services["gateway"]["depends_on"][name] == {"condition": "service_healthy"}
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("rabbitmq", "postgres", "prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"


def test_databases_match_the_configuration_and_the_init_script(resolved):
    services = resolved["services"]
    for name in config.SERVICES:
        expected = config.default_database_url(name, "postgres", 5432)
        variable = config.database_env_name(name)
        assert services[name]["environment"][variable] == expected
        assert services["migrate"]["environment"][variable] == expected
        others = [k for k in services[name]["environment"] if k.endswith("_DATABASE_URL")]
        assert others == [variable], "a service gets its own database only"
    assert not any(k.endswith("_DATABASE_URL") for k in services["gateway"]["environment"])
    script = (REPO / "deploy" / "postgres" / "init-jinwei.sh").read_text()
    listed = re.search(r'^SERVICES="([^"]+)"', script, re.M).group(1).split()
    assert tuple(listed) == config.SERVICES
    assert "jinwei_${service}" in script and "${JINWEI_DATABASE_PASSWORD:-jinwei}" in script
    assert config.DEFAULT_DATABASE_PASSWORD == "jinwei"
    assert "/docker-entrypoint-initdb.d/10-jinwei.sh" in targets(services["postgres"]["volumes"])


def test_secrets_come_from_uncommitted_files(resolved):
    services = resolved["services"]
    for name in PROCESSES:
        env = services[name]["environment"]
        assert "JINWEI_TOKEN_SECRET" not in env and "JINWEI_PERSONAL_DATA_KEY" not in env
        assert env["JINWEI_TOKEN_SECRET_FILE"] == "/run/secrets/jinwei_token_secret"
        assert "jinwei_token_secret" in {s["source"] for s in services[name]["secrets"]}
    assert services["cadres"]["environment"]["JINWEI_PERSONAL_DATA_KEY_FILE"] == \
        "/run/secrets/jinwei_personal_data_key"
    for secret in resolved["secrets"].values():
        path = secret["file"]
        relative = path.removeprefix(str(REPO) + "/")
        assert relative.startswith("deploy/secrets/")
        ignored = run(["git", "check-ignore", "-q", relative])
        assert ignored.returncode == 0, f"{relative} is not ignored by git"
    tracked = run(["git", "ls-files", "deploy/secrets"]).stdout.split()
    assert set(tracked) <= {"deploy/secrets/.gitignore", "deploy/secrets/create.sh"}


def test_rabbitmq_enables_management_and_prometheus(resolved):
    plugins = (REPO / "deploy" / "rabbitmq" / "enabled_plugins").read_text()
    assert re.fullmatch(r"\[[\w,\s]+\]\.\s*", plugins)
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= set(re.findall(r"\w+", plugins))
    rabbit = resolved["services"]["rabbitmq"]
    assert "/etc/rabbitmq/enabled_plugins" in targets(rabbit["volumes"])
    mounts = targets(rabbit["volumes"])
    assert {"/etc/rabbitmq/conf.d/20-jinwei.conf", "/etc/rabbitmq/conf.d/30-admin.conf"} <= \
        set(mounts)
    conf = (REPO / "deploy" / "rabbitmq" / "rabbitmq.conf").read_text()
    assert "default_vhost = jinwei" in conf and "default_pass" not in conf
    assert "environment" not in rabbit, "no administrator password in the environment"


def test_every_process_has_a_broker_account_of_its_own(resolved):
    """AMQP_URI names the process's own account; its password is a secret file of its
    own; broker-setup posts every account (shared.platform.broker.definitions)."""
    services = resolved["services"]
    for name in PROCESSES:
        env = services[name]["environment"]
        account = f"{config.DEFAULT_BROKER_ACCOUNT_PREFIX}{name}"
        assert env["AMQP_URI"] == f"amqp://{account}@rabbitmq:5672/jinwei"
        password_file = f"/run/secrets/broker/{account}.password"
        assert env["JINWEI_AMQP_PASSWORD_FILE"] == password_file
        mounted = [s for s in services[name]["secrets"] if s.get("target") == password_file]
        assert mounted == [{"source": f"broker_{name}", "target": password_file}]
        assert not [s for s in services[name]["secrets"]
                    if s["source"].startswith("broker_") and s["source"] != f"broker_{name}"]
    setup = services["broker-setup"]
    assert setup["command"] == ["broker-setup"] and setup["restart"] == "no"
    given = {s.get("target") for s in setup["secrets"]}
    for account in ("jinwei", *(f"jinwei-{p}" for p in PROCESSES)):
        assert f"/run/secrets/broker/{account}.password" in given
    assert "rabbitmq_admin_password" in {s["source"] for s in setup["secrets"]}
    entrypoint = (REPO / "deploy" / "docker" / "entrypoint.sh").read_text()
    assert "broker-setup)" in entrypoint and "shared.platform.broker.definitions --apply" in entrypoint


def test_prometheus_scrapes_every_process_on_its_health_port(resolved):
    scrape = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in scrape["scrape_configs"] if j["job_name"] == "jinwei")
    assert job["honor_labels"] is True
    found = {c["names"][0]: c["port"] for c in job["dns_sd_configs"]}
    assert found == config.DEFAULT_HTTP_PORTS
    rabbit = next(j for j in scrape["scrape_configs"] if j["job_name"] == "rabbitmq")
    assert rabbit["metrics_path"] == "/metrics/per-object"
    assert "/etc/prometheus/rules" in targets(resolved["services"]["prometheus"]["volumes"])
    assert "/etc/grafana/provisioning" in targets(resolved["services"]["grafana"]["volumes"])
