"""The examples in README.md and docs/*.md run as written, against a real stack: every
service, the gateway under gunicorn, the sample places of Suichang.

Every fenced block is one of:
- run: a shell block (no language, `sh`, `bash`, `shell`) in bash with `set -euo
  pipefail`, or a `python` block in this virtualenv; it must exit 0, and a shell block
  must not print a problem (an HTTP error) unless an output block shows it;
- an output: marked `<!-- example: output of the block above (…) -->` right before it,
  the JSON the block above printed (`…` in a string stands for anything);
- not run: marked `<!-- example: not run (why) -->` right before it (a deployment, `make
  run`, a diagram, an excerpt of code).
A block that is none of these fails `test_every_block_is_run_or_marked`.

Only what differs between a deployment and this test is substituted, by the environment
the documents name (docs/gateway.md): `$GATEWAY` (the gateway's address) and `$TOKEN` (a
token of the province with every role); the configuration `make run` would have set
(AMQP_URI, the token secret, the health ports: README's table) pointing at this stack;
for a Python block, AMQP_URI an outside system's broker account (organizations and
evaluation) and JINWEI_TOKEN a token of Suichang, as README's `make integrator` and `make
token` give them. A block runs in a scratch directory of its own, holding the files a
person would bring (`党组织.xlsx`, a filled-in template); `make` runs in the repository.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.gateway import spreadsheets
from shared.platform import config
from tests.support import SUICHANG, Gateway, rpc, sample_places, services_running, token

REPO = config.REPO_ROOT
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL, PYTHON = ("", "sh", "bash", "shell"), ("python",)
MARKER = re.compile(r"<!--\s*example:\s*(.*?)\s*-->")
NOT_RUN = re.compile(r"not run \((.+)\)$")
OUTPUT = re.compile(r"output of the block above\b")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)\s*$")
TIMEOUT = 90


@dataclass
class Block:
    path: Path
    line: int          # of the opening fence, 1-based
    language: str
    text: str
    marker: str | None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    @property
    def kind(self) -> str:
        """run-shell, run-python, output, not-run, or unmarked (a failure)."""
        if self.marker is not None:
            if NOT_RUN.match(self.marker):
                return "not-run"
            if OUTPUT.match(self.marker):
                return "output"
            return "unmarked"
        if self.language in SHELL:
            return "run-shell"
        if self.language in PYTHON:
            return "run-python"
        return "unmarked"


def blocks_of(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, language = opening.groups()
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = MARKER.fullmatch(before.strip())
        found.append(Block(path, index + 1, language.lower(), "\n".join(lines[index + 1:end]),
                           marker.group(1) if marker else None))
        index = end + 1
    return found


BLOCKS = [block for path in DOCUMENTS for block in blocks_of(path)]
RUN = [block for block in BLOCKS if block.kind.startswith("run-")]


def _output_of(block: Block) -> Block | None:
    """The output block that shows what `block` prints, if there is one."""
    following = BLOCKS[BLOCKS.index(block) + 1:BLOCKS.index(block) + 2]
    return following[0] if following and following[0].path == block.path \
        and following[0].kind == "output" else None


def test_every_block_is_run_or_marked():
    kinds = {block.name: block.kind for block in BLOCKS}
    unmarked = [name for name, kind in kinds.items() if kind == "unmarked"]
    assert not unmarked, (
        f"fenced blocks neither run nor marked: {unmarked}. Make them run as written, or "
        "put <!-- example: not run (why) --> or <!-- example: output of the block above --> "
        "right before them")
    for block in BLOCKS:
        if block.kind == "output":
            index = BLOCKS.index(block)
            assert index and BLOCKS[index - 1].kind.startswith("run-") \
                and BLOCKS[index - 1].path == block.path, f"{block.name}: no block above it runs"
    counted = {kind: sum(1 for k in kinds.values() if k == kind)
               for kind in ("run-shell", "run-python", "output", "not-run")}
    assert counted["run-shell"] >= 3 and counted["run-python"] >= 1 and counted["output"] >= 1
    assert sum(counted.values()) == len(BLOCKS)
    print(f"{len(BLOCKS)} blocks in {len(DOCUMENTS)} documents: {counted}")


# -- the stack ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret, tmp_path_factory):
    with services_running(databases, base_settings, "docs", *config.SERVICES) as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG))
            villages = [place["code"] for place in sample_places(SUICHANG)
                        if place["code"][9:] >= "200" and place["code"][6:9] >= "100"][:3]
        with Gateway(running.settings, tmp_path_factory.mktemp("docs-gateway")) as gateway:
            running.gateway, running.villages = gateway, villages
            yield running


@pytest.fixture(scope="module")
def environments(stack, token_secret, tmp_path_factory):
    """The environment of a shell block and of a Python block."""
    from tools.launcher import integrators

    settings = stack.settings
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("JINWEI_") and not k.endswith(("_HTTP_PORT", "_AMQP_URI"))
            and k not in ("AMQP_URI", "TOKEN", "GATEWAY")}
    shell = {**base,
             "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
             "AMQP_URI": settings.amqp_uri,
             "JINWEI_BROKER_ACCOUNT_PREFIX": settings.broker_account_prefix,
             "JINWEI_TOKEN_SECRET": token_secret,
             "JINWEI_VAR_DIR": str(tmp_path_factory.mktemp("docs-var")),
             **{f"{s.upper()}_HTTP_PORT": str(stack.http_port(s)) for s in config.SERVICES},
             "GATEWAY_HTTP_PORT": str(stack.gateway.port),
             "GATEWAY": stack.gateway.url, "TOKEN": token(token_secret)}
    outside = integrators.add(settings, "docs-python", ["organizations", "evaluation"])
    python = {**base, "PYTHONPATH": str(REPO), "AMQP_URI": outside,
              "JINWEI_TOKEN": token(token_secret, place=SUICHANG, system="county-portal",
                                    roles=("organizations.read", "organizations.write",
                                           "evaluation.read"))}
    yield {"shell": shell, "python": python}
    integrators.revoke(settings, "docs-python")


# A shell prelude: `make` runs in the repository, and never reinstalls the virtualenv (its
# stamp is taken as up to date).
PRELUDE = f"""set -euo pipefail
make() {{ command make --no-print-directory -C {REPO} -o .venv/.installed "$@"; }}
"""


def _files_for(block: Block, stack, directory: Path) -> None:
    """The files a person would bring to the example."""
    if "党组织.xlsx" in block.text:
        rows = [{"name": f"示例党支部{n}", "kind": "631", "sector": "rural_village",
                 "place_code": village, "full_members": 5, "founded_on": "2020-05-01"}
                for n, village in enumerate(stack.villages)]
        (directory / "党组织.xlsx").write_bytes(spreadsheets.write_rows("organizations", rows))


@pytest.mark.parametrize("block", RUN, ids=[block.name for block in RUN])
def test_the_example_runs_as_written(block, stack, environments, tmp_path):
    _files_for(block, stack, tmp_path)
    if block.kind == "run-shell":
        argv, env = ["bash", "-c", PRELUDE + block.text], environments["shell"]
    else:
        argv, env = [sys.executable, "-c", block.text], environments["python"]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)
    print(f"-- {block.name}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")  # with -s
    assert done.returncode == 0, (f"{block.name} exited {done.returncode}:\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    shown = _output_of(block)
    if shown is not None:
        expected = json.loads(shown.text)
        printed = json.loads(done.stdout)
        assert _matches(printed, expected), (f"{block.name} printed\n{done.stdout}\nnot what "
                                             f"{shown.name} shows")
    else:
        assert '"type": "/problems/' not in done.stdout, \
            f"{block.name} answered with a problem:\n{done.stdout[-3000:]}"


def _matches(actual, expected) -> bool:
    """`actual` is what `expected` shows; a string with … in it matches any string."""
    if isinstance(expected, str) and "…" in expected:
        return isinstance(actual, str)
    if isinstance(expected, dict):
        return isinstance(actual, dict) and actual.keys() == expected.keys() and all(
            _matches(actual[key], value) for key, value in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            _matches(a, e) for a, e in zip(actual, expected, strict=True))
    return actual == expected
