"""What `make run` itself started, so `make stop` stops exactly that: var/infra/started.json.

The machine's own RabbitMQ and PostgreSQL are never recorded here, so never stopped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tools.launcher.local import PostgresCluster, RabbitNode


@dataclass
class State:
    path: Path
    rabbitmq: dict[str, dict] = field(default_factory=dict)  # port -> RabbitNode record
    postgres: dict[str, dict] = field(default_factory=dict)  # port -> PostgresCluster record
    epmd_started: bool = False

    @classmethod
    def load(cls, var_dir: str | Path) -> State:
        path = Path(var_dir) / "infra" / "started.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        return cls(
            path=path,
            rabbitmq=dict(data.get("rabbitmq", {})),
            postgres=dict(data.get("postgres", {})),
            epmd_started=bool(data.get("epmd_started", False)),
        )

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "rabbitmq": self.rabbitmq,
            "postgres": self.postgres,
            "epmd_started": self.epmd_started,
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.path)

    def rabbit_node(self, port: int) -> RabbitNode | None:
        record = self.rabbitmq.get(str(port))
        return RabbitNode.from_record(record) if record else None

    def postgres_cluster(self, port: int) -> PostgresCluster | None:
        record = self.postgres.get(str(port))
        return PostgresCluster.from_record(record) if record else None

    def record(self, instance: RabbitNode | PostgresCluster) -> None:
        table = self.rabbitmq if isinstance(instance, RabbitNode) else self.postgres
        table[str(instance.port)] = instance.to_record()
        self.save()

    def forget(self, instance: RabbitNode | PostgresCluster) -> None:
        table = self.rabbitmq if isinstance(instance, RabbitNode) else self.postgres
        table.pop(str(instance.port), None)
        self.save()

    @property
    def empty(self) -> bool:
        return not (self.rabbitmq or self.postgres or self.epmd_started)
