"""The supervisord configuration that `make run` writes, read back by supervisor itself."""

from __future__ import annotations

import pytest
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from shared.platform import config
from tools.launcher import supervise
from tools.launcher.system import MAX_UNIX_SOCKET_PATH, InfraError


def read_back(tmp_path, settings, environ, services=("organizations",)):
    (tmp_path / "var" / "log").mkdir(parents=True, exist_ok=True)
    (tmp_path / "var" / "supervisor").mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "supervisord.conf"
    conf.write_text(
        supervise.render_config(
            settings, list(services), python="/venv/bin/python", environ=environ
        )
    )
    options = ServerOptions()
    options.realize(args=["-c", str(conf)])
    return options


def test_each_service_is_a_restarting_program_with_its_configuration(tmp_path):
    amqp = 'amqp://jinwei-organizations:p%40ss,"w@127.0.0.1:5673/jinwei'
    environ = {
        "JINWEI_VAR_DIR": str(tmp_path / "var"),
        "AMQP_URI": "amqp://jinwei:operator-secret@127.0.0.1:5673/jinwei",
        "ORGANIZATIONS_AMQP_URI": amqp,
        "GATEWAY_AMQP_URI": "amqp://jinwei-gateway:gateway-secret@127.0.0.1:5673/jinwei",
        "ORGANIZATIONS_HTTP_PORT": "9101",
        "JINWEI_TOKEN_SECRET": "s3cr%t'x",
        "HOME": "/root",  # not configuration: left to supervisord's own environment
        "ORGANIZATIONS_DATABASE_URL": "postgresql://a:b@127.0.0.1:5433/c",
    }
    settings = config.load(environ)
    options = read_back(tmp_path, settings, environ, services=("organizations", "gateway"))
    programs = {group.name: group.process_configs[0] for group in options.process_group_configs}
    program, gateway = programs["organizations"], programs["gateway"]
    assert program.name == "organizations"
    assert program.command == "/venv/bin/python -m shared.platform.runner organizations"
    assert program.autorestart is RestartUnconditionally
    assert program.startretries >= 100_000 and program.startsecs <= 2
    assert program.stopsignal == 15 and program.stopasgroup and program.killasgroup
    assert program.stdout_logfile == str(tmp_path / "var" / "log" / "organizations.log")
    env = program.environment
    # its own broker account, and no other account's password
    assert env["AMQP_URI"] == amqp and gateway.environment["AMQP_URI"].startswith(
        "amqp://jinwei-gateway:gateway-secret@")
    assert "secret" not in repr(sorted(env.items()))
    assert env["JINWEI_TOKEN_SECRET"] == "s3cr%t'x"
    assert env["ORGANIZATIONS_DATABASE_URL"] == "postgresql://a:b@127.0.0.1:5433/c"
    assert env["ORGANIZATIONS_HTTP_PORT"] == "9101"
    assert env["JINWEI_VAR_DIR"] == str(tmp_path / "var")
    assert "HOME" not in env


def test_a_value_with_both_quote_kinds_is_refused_not_mangled(tmp_path):
    settings = config.load({"JINWEI_VAR_DIR": str(tmp_path),
                            "ORGANIZATIONS_AMQP_URI": "amqp://jinwei-organizations:x@h/v"})
    with pytest.raises(InfraError):
        supervise.render_config(settings, ["organizations"], environ={"JINWEI_X": "a'b\"c"})


def test_socket_moves_out_of_a_deep_state_dir(tmp_path):
    deep = tmp_path / ("d" * 120)
    paths = supervise.paths(config.load({"JINWEI_VAR_DIR": str(deep)}))
    assert len(str(paths.socket)) <= MAX_UNIX_SOCKET_PATH
    shallow = supervise.paths(config.load({"JINWEI_VAR_DIR": "/tmp/v"}))
    assert shallow.socket == shallow.dir / "supervisor.sock"


def test_health_and_metrics_urls_follow_the_configuration():
    settings = config.load({"ORGANIZATIONS_HTTP_PORT": "9999", "JINWEI_HTTP_HOST": "127.0.0.2"})
    assert supervise.health_url(settings, "organizations") == "http://127.0.0.2:9999/health/ready"
    assert supervise.metrics_url(settings, "organizations") == "http://127.0.0.2:9999/metrics"
