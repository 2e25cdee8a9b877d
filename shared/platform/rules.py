"""Province-specific rule values (docs/domain.md §9): defaults in each service's domain,
overridden by the YAML file named by JINWEI_RULES_FILE, one section per service:

    organizations:
      reelection_window_days: 90
      organizers_per_township: 2

A report states the values it used."""

from __future__ import annotations

from pathlib import Path

import yaml
from nameko.extensions import DependencyProvider

from shared.platform import config


def section(rules_file: Path | None, name: str) -> dict:
    if rules_file is None:
        return {}
    data = yaml.safe_load(rules_file.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get(name, {}), dict):
        raise ValueError(f"{rules_file}: expected a mapping with a '{name}' mapping")
    return data.get(name, {})


class RuleSet(DependencyProvider):
    """`self.rules`: the domain's rules object, built once when the service starts.

    `rules_class.from_config(values)` must refuse unknown names, so a typo in the
    file stops the service instead of being ignored."""

    def __init__(self, rules_class):
        self.rules_class = rules_class

    def setup(self):
        settings: config.Settings = self.container.config["JINWEI"]
        values = section(settings.rules_file, self.container.service_name)
        self.rules = self.rules_class.from_config(values)

    def get_dependency(self, worker_ctx):
        return self.rules
