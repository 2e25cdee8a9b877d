"""Tooling outside the runtime: the `make run` launcher (tools.launcher) and the `jinwei`
command line (tools.cli). No service imports it."""
