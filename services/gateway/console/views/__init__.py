"""The console's data pages, one module per area (dashboard, organizations, grading,
ledger, transfers, readonly, accounts_admin). Each registers its routes with `route`;
pages.Console dispatches to them with a `View` (context.py) of a live session.

A view asks the services with the staff member's own token (`view.ask`), so what it may
see and do is the services' rule; it never decides jurisdiction or validity itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from werkzeug.routing import Rule

ROUTES: list[Rule] = []
HANDLERS: dict[str, Callable] = {}
AREAS = ("dashboard", "organizations", "grading", "ledger", "transfers", "readonly",
         "accounts_admin")


def route(path: str, *, methods=("GET",), name: str):
    """Register a view function under /console`path` as endpoint `name`."""
    def register(function: Callable) -> Callable:
        assert name not in HANDLERS, name
        ROUTES.append(Rule("/console" + path, endpoint=name, methods=list(methods)))
        HANDLERS[name] = function
        return function
    return register


def load() -> None:
    for area in AREAS:
        importlib.import_module(f"services.gateway.console.views.{area}")
