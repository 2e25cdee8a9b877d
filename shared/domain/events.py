"""The Event a domain operation records: plain data, no I/O (cosmicpython's
domain/events.py). An aggregate appends it to its `events`; a domain function returns
it. The unit of work (shared.platform.db.Transaction) collects them and the outbox
(shared.platform.outbox) writes them in the same commit as the change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """A fact a domain operation established: its contract type (shared.contracts) and
    the data the contract's schema dumps."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
