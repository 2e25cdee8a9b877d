"""The services: one folder each, talking over RPC and events only."""

import shared  # noqa: F401  (its warning filter, before anything imports eventlet)
