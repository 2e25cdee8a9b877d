"""Service containers as Jinwei runs them: each service with its own broker account,
and a shutdown that always ends.

nameko's ServiceRunner gives every container one config; here each service gets its
own (`Settings.nameko_config(service)`: its own AMQP account, which RabbitMQ checks
as the user_id of every event it publishes).

A stop or a kill is bounded (`Watchdog`): a real OS thread — not a green one, which a
blocked hub would never run — ends the process when the deadline passes. Without it
a kill that waited on a broker that no longer answered held a service for minutes,
still RUNNING to its supervisor, with no consumer and no health port.
"""

from __future__ import annotations

import importlib
import os

import eventlet
from nameko.containers import ServiceContainer, get_service_name
from nameko.runners import ServiceRunner

from shared.platform import config

_threading = eventlet.patcher.original("threading")
_time = eventlet.patcher.original("time")

EXIT_SHUTDOWN_OVERRAN = 70


def service_class(name: str):
    module = importlib.import_module(f"services.{name}.service")
    return module.SERVICE


class Watchdog:
    """Ends the process `seconds` after it is armed, unless the process ended first.
    Only a service process enables it (shared.platform.runner), never a test run."""

    def __init__(self):
        self.enabled = False
        self.armed_for: str | None = None

    def arm(self, seconds: float, what: str) -> None:
        if not self.enabled or self.armed_for is not None:
            return
        self.armed_for = what

        def expire():
            _time.sleep(seconds)
            # No logging here: its locks are green ones under eventlet.
            os.write(2, f"jinwei: {what} did not finish within {seconds:g} s; exiting\n"
                     .encode())
            os._exit(EXIT_SHUTDOWN_OVERRAN)

        _threading.Thread(target=expire, name="shutdown-watchdog", daemon=True).start()


WATCHDOG = Watchdog()


class BoundedContainer(ServiceContainer):
    """A container whose kill (after an error in one of its threads) cannot hang."""

    kill_timeout_s = 15.0

    def kill(self, exc_info=None):
        WATCHDOG.arm(self.kill_timeout_s, f"killing {self.service_name}")
        return super().kill(exc_info)


class Runner(ServiceRunner):
    """nameko's ServiceRunner with a config per service (its own broker account)."""

    def __init__(self, settings: config.Settings):
        super().__init__(settings.nameko_config())
        self.settings = settings

    def add_service(self, cls):
        name = get_service_name(cls)
        self.service_map[name] = BoundedContainer(cls, self.settings.nameko_config(name))

    def stop(self):
        WATCHDOG.arm(self.settings.shutdown_timeout_s, "stopping " + ", ".join(self.service_names))
        super().stop()
