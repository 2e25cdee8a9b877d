"""Recent answers of the province-wide and city-wide reports a dashboard shows, kept a
short while per gateway worker.

A province's dashboard asks two reports that each read every organization or enterprise
of the province (~150 ms each at full scale, bench/RESULTS.md), and on a small machine
they compete for its cores. Its figures move by the day, so an answer half a minute old
serves: the page says when its figures are from.

Only answers the services gave are kept, and each is served again only to a member the
service would answer the very same: the key holds the question (service, method,
parameters) and the asker's place and roles — everything a report's answer depends on.
An ended session never gets here (pages.Console checks it first)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

KEEP_S = 30.0
MAX_ANSWERS = 256


class RecentAnswers:
    def __init__(self, keep_s: float = KEEP_S, max_answers: int = MAX_ANSWERS,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time):
        self.keep_s, self.max_answers, self.clock, self.wall = keep_s, max_answers, clock, wall
        self._answers: OrderedDict[Hashable, tuple[float, float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[float, Any] | None:
        """(when it was answered, as time.time(); the answer), if recent enough."""
        with self._lock:
            found = self._answers.get(key)
            if found is None:
                return None
            if self.clock() - found[0] > self.keep_s:
                del self._answers[key]
                return None
            return found[1], found[2]

    def put(self, key: Hashable, answer: Any) -> None:
        with self._lock:
            self._answers[key] = (self.clock(), self.wall(), answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self.max_answers:
                self._answers.popitem(last=False)
