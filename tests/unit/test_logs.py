"""Structured logs carry nameko's call id so one request can be followed across services."""

import json
import logging

from shared.platform import logs


def record(msg, exc_info=None):
    return logging.LogRecord("nameko.containers", logging.WARNING, __file__, 1, msg, (), exc_info)


def test_a_log_line_is_json_with_the_call_id_of_the_worker():
    formatter = logs.JsonFormatter("organizations")
    token = logs.call_id.set("organizations.get_place.abc123")
    try:
        line = json.loads(formatter.format(record("查询地区")))
    finally:
        logs.call_id.reset(token)
    assert line["call_id"] == "organizations.get_place.abc123"
    assert line["service"] == "organizations" and line["msg"] == "查询地区"
    assert "call_id" not in json.loads(formatter.format(record("outside a worker")))


def test_expected_errors_are_logged_without_a_traceback():
    try:
        raise ValueError("bad input")
    except ValueError:
        import sys

        exc_info = sys.exc_info()
    expected = record("(expected) error handling worker", exc_info)
    unexpected = record("error handling worker", exc_info)
    quiet = logs.ExpectedErrorsWithoutTraceback()
    assert quiet.filter(expected) and expected.exc_info is None
    assert quiet.filter(unexpected) and unexpected.exc_info is not None
