"""The Dockerfile, read (no container engine runs here): multi-stage on python:3.11-slim,
the lock installed in the build stage, a non-root user, exec-form ENTRYPOINT/CMD and
HEALTHCHECK; the entrypoint execs the right process; .dockerignore keeps secrets out."""

import fnmatch
import json
import os
import re
import stat

import pytest

from shared.platform import config
from tests.ops.support import REPO, run

DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    out, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result = []
    for word, rest in instructions():
        if word == "FROM":
            result.append([(word, rest)])
        elif result:
            result[-1].append((word, rest))
    return result


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)  # a shell-form string is not JSON: fails here
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), arguments
    return value


def test_multi_stage_on_python_311_slim():
    args = dict(re.match(r"(\w+)=(\S+)", rest).groups() for word, rest in instructions()
                if word == "ARG" and "=" in rest)
    froms = [s[0][1] for s in stages()]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    for line in froms:
        image = line.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert image.startswith("python:3.11-slim"), line
    assert re.search(r"\bAS build\b", froms[0])
    runtime = stages()[-1]
    assert any(w == "COPY" and "--from=build" in r for w, r in runtime)
    build_runs = " ".join(r for w, r in stages()[0] if w == "RUN")
    assert "requirements.lock" in build_runs and "pip install" in build_runs
    assert not any(w == "RUN" and "pip install" in r for w, r in runtime), \
        "nothing is installed from PyPI into the runtime stage"


def test_runtime_runs_as_a_non_root_user():
    runtime = stages()[-1]
    users = [(i, r) for i, (w, r) in enumerate(runtime) if w == "USER"]
    assert users, "the runtime stage names a USER"
    index, user = users[-1]
    uid = user.split(":")[0]
    assert uid not in ("0", "root") and uid.isdigit(), \
        "a numeric non-root uid (Kubernetes' runAsNonRoot can check it)"
    assert not any(w == "RUN" for w, _ in runtime[index:]), "nothing runs as root after USER"
    # the image's uid is the one k8s' securityContext names
    generate = (REPO / "deploy" / "generate.py").read_text()
    assert f"UID = {uid}" in generate


def test_exec_form_entrypoint_cmd_and_healthcheck():
    runtime = dict((w, r) for w, r in stages()[-1])
    entrypoint = exec_form(runtime["ENTRYPOINT"])
    exec_form(runtime["CMD"])
    assert entrypoint[:2] == ["/usr/bin/tini", "--"], "an init that forwards SIGTERM"
    assert entrypoint[2] == "/app/deploy/docker/entrypoint.sh"
    assert runtime.get("STOPSIGNAL", "SIGTERM") == "SIGTERM"
    options, _, command = runtime["HEALTHCHECK"].partition("CMD ")
    assert exec_form(command) == ["python", "/app/deploy/docker/healthcheck.py"]
    assert "--interval" in options and "--timeout" in options
    env = runtime["ENV"]
    for setting in ("JINWEI_HTTP_HOST=0.0.0.0", "JINWEI_VAR_DIR=/var/lib/jinwei",
                    "JINWEI_SERVICE=${SERVICE}", "PYTHONDONTWRITEBYTECODE=1"):
        assert setting in env, setting
    assert "ARG" in runtime and "SERVICE" in runtime["ARG"]
    exposed = {int(p) for p in runtime["EXPOSE"].split()}
    assert exposed == set(config.DEFAULT_HTTP_PORTS.values())


def ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for our patterns: the last matching pattern wins."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        bare = pattern.removeprefix("**/")
        hit = (fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/")
               or any(fnmatch.fnmatch(part, bare) for part in path.split("/")))
        if hit:
            result = not negate
    return result


def test_dockerignore_sends_what_the_image_copies_and_no_local_state():
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for word, rest in instructions():
        if word == "COPY" and "--from" not in rest:
            for source in rest.split()[:-1]:
                assert (REPO / source).exists(), source
                assert not ignored(source.rstrip("/"), patterns), f"{source} is ignored"
    for path in (".venv/bin/python", "var/token-secret", "var/personal-data-key", ".git/config",
                 "deploy/secrets/token-secret", "tests/conftest.py",
                 "shared/__pycache__/config.cpython-311.pyc", "jinwei.egg-info/PKG-INFO"):
        assert ignored(path, patterns), path


@pytest.fixture
def fake_python(tmp_path):
    """A `python` first on PATH that prints how it was called."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "python $*"\n')
    fake.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}


@pytest.mark.parametrize("argv, env_service, expected", [
    (["organizations"], "", "python -m shared.platform.runner organizations"),
    ([], "cadres", "python -m shared.platform.runner cadres"),
    (["gateway"], "npe", "python -m services.gateway"),
    ([], "migrate", "python -m shared.platform.migrate"),
    (["broker-setup"], "", "python -m shared.platform.broker.definitions --apply http://rabbitmq:15672"
     " --admin-user admin --admin-password-file /run/secrets/rabbitmq_admin_password"
     " --passwords-dir /run/secrets/broker"),
    (["echo", "jinwei", "health"], "", "jinwei health"),
])
def test_entrypoint_execs_the_chosen_process(fake_python, argv, env_service, expected):
    script = REPO / "deploy" / "docker" / "entrypoint.sh"
    assert script.stat().st_mode & stat.S_IXUSR
    result = run(["sh", str(script), *argv], env={**fake_python, "JINWEI_SERVICE": env_service})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
    # exec, never a child: every branch that starts a process execs it
    body = script.read_text()
    assert len(re.findall(r"^\s+exec ", body, re.M)) == 5


def test_entrypoint_without_a_process_says_which_exist(fake_python):
    result = run(["sh", str(REPO / "deploy" / "docker" / "entrypoint.sh")],
                 env={**fake_python, "JINWEI_SERVICE": ""})
    assert result.returncode == 64
    assert "organizations, evaluation" in result.stderr


def test_entrypoint_knows_every_service():
    body = (REPO / "deploy" / "docker" / "entrypoint.sh").read_text()
    line = re.search(r"^\s+(organizations\|[\w|]+)\)", body, re.M).group(1)
    assert tuple(line.split("|")) == config.SERVICES


def test_healthcheck_script(tmp_path):
    script = REPO / "deploy" / "docker" / "healthcheck.py"
    env = {**os.environ, "ORGANIZATIONS_HTTP_PORT": "9", "JINWEI_VAR_DIR": str(tmp_path)}
    assert run(["python3", str(script), "migrate"], env=env).returncode == 0
    down = run(["python3", str(script), "organizations"], env=env)
    assert down.returncode == 1 and "not ready" in down.stderr
