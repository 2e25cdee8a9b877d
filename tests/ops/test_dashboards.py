"""The Grafana dashboards: each one loads, uses the provisioned datasource, and every
panel's PromQL reads only series that exist (shared/platform/metrics.py, prometheus-client's
own, Prometheus' `up`, RabbitMQ's plugin); the business board names only entrypoints
the services have. The generated files (dashboards, k8s/base) are up to date."""

import json
import re
import sys

import pytest
import yaml

from shared.platform import config
from tests.ops.support import REPO, known_metric_names, promql_metric_names, run

DASHBOARDS = sorted((REPO / "deploy" / "grafana" / "dashboards").glob("*.json"))


def panels(board: dict) -> list[dict]:
    found = []
    for panel in board["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def test_generated_files_are_up_to_date():
    result = run([sys.executable, "deploy/generate.py", "--check"])
    assert result.returncode == 0, result.stderr


def test_three_dashboards_with_unique_uids():
    boards = [json.loads(p.read_text()) for p in DASHBOARDS]
    assert {b["uid"] for b in boards} == {"jinwei-requests", "jinwei-events", "jinwei-business"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_reads_series_that_exist(path):
    board = json.loads(path.read_text())
    datasource = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yml")
                                .read_text())["datasources"][0]["uid"]
    known = known_metric_names()
    queried = 0
    for panel in panels(board):
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == datasource
            names = promql_metric_names(target["expr"])
            assert names, f"{panel['title']}: no metric in {target['expr']}"
            assert not names - known, f"{panel['title']} reads {names - known}"
            queried += 1
        ids = [p["id"] for p in panels(board)]
        assert len(ids) == len(set(ids))
    assert queried >= 5
    for variable in board["templating"]["list"]:
        assert not promql_metric_names(
            re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", variable["query"]["query"])) - known


def test_business_board_names_real_entrypoints():
    from shared.platform.containers import service_class

    board = json.loads((REPO / "deploy/grafana/dashboards/business.json").read_text())
    checked = 0
    for panel in panels(board):
        for target in panel.get("targets", []):
            match = re.search(r'service="(\w+)".*entrypoint=~"([\w|]+)"', target["expr"])
            if match:
                cls = service_class(match.group(1))
                for name in match.group(2).split("|"):
                    assert hasattr(cls, name), f"{match.group(1)} has no {name}"
                    checked += 1
            elif "entrypoint=~" in target["expr"]:
                names = re.search(r'entrypoint=~"([\w|]+)"', target["expr"]).group(1)
                for name in names.split("|"):
                    assert any(hasattr(service_class(s), name) for s in config.SERVICES), name
                    checked += 1
    assert checked >= 20
    text = next(p for p in panels(board) if p["type"] == "text")["options"]["content"]
    assert "moving-up rate" in text and "coverage" in text and "shortfall" in text
