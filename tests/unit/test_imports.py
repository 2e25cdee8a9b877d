"""The import machinery's own logic (shared/imports.py), without a database."""

import datetime as dt

import pytest
from greenlet import GreenletExit

from shared import imports
from shared.errors import Conflict, Forbidden, ValidationError

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("status", "silent_s", "reads"), [
    ("running", 0, "running"),
    ("running", 59, "running"),
    ("running", 61, "interrupted"),        # its process died: nothing was written
    ("applied", 3600, "applied"),          # an ended job keeps its status
    ("invalid", 3600, "invalid"),
])
def test_a_running_job_that_stopped_beating_reads_interrupted(status, silent_s, reads):
    heartbeat = NOW - dt.timedelta(seconds=silent_s)
    assert imports.effective_status(status, heartbeat, NOW) == reads


def test_row_errors_name_the_fields_at_fault_only():
    fields = {"name", "place_code", "credit_code"}
    invalid = ValidationError("bad", {"name": ["Missing data for required field."]})
    assert imports.row_error(7, invalid, fields) == {
        "row": 7, "message": "bad", "fields": {"name": ["Missing data for required field."]}}
    outside = Forbidden("outside", {"place_code": "330106000000", "jurisdiction": "331123000000"})
    assert imports.row_error(8, outside, fields)["fields"] == {"place_code": ["outside"]}
    taken = Conflict("person 3 is already recommended", {"person_id": 3})
    assert imports.row_error(9, taken, fields) == {
        "row": 9, "message": "person 3 is already recommended", "fields": {}}


class FakeTx:
    def __init__(self):
        self.sent = []

    def execute(self, sql, params=None):
        self.sent.append(sql)


def test_a_rows_savepoint_travels_with_its_first_statement():
    tx = FakeTx()
    savepoints = imports._RowSavepoints(tx)
    savepoints.before_row()
    tx.execute("INSERT 1")
    savepoints.before_row()
    savepoints.undo_row()  # failed before reaching the server: nothing to roll back
    savepoints.before_row()
    tx.execute(b"INSERT 3")
    tx.execute("SELECT 3")
    savepoints.undo_row()
    savepoints.close()
    tx.execute("after")
    assert tx.sent == [
        "SAVEPOINT import_row;\nINSERT 1",
        b"RELEASE SAVEPOINT import_row;\nSAVEPOINT import_row;\nINSERT 3",
        "SELECT 3",
        "ROLLBACK TO SAVEPOINT import_row",
        "after",
    ]


class Jobs(imports._Jobs):
    def __init__(self, failure):
        self.failure = failure
        self.ended = []

    def _import(self, *args):
        raise self.failure

    def _end(self, job_id, **kwargs):
        self.ended.append((job_id, kwargs))


def test_a_killed_thread_marks_its_job_interrupted_and_dies():
    jobs = Jobs(GreenletExit())
    with pytest.raises(GreenletExit):
        jobs._run("job", None, None, [], False)
    assert jobs.ended == [("job", {"status": "interrupted", "fresh": True})]


def test_an_unexpected_error_marks_the_job_interrupted_and_spares_the_container():
    jobs = Jobs(KeyError("a bug"))
    jobs._run("job", None, None, [], False)  # raising would kill the whole container
    assert jobs.ended == [("job", {"status": "interrupted", "fresh": True})]


@pytest.mark.parametrize("module", ["organizations", "npe", "cadres"])
def test_every_import_kind_of_the_contract_has_an_importer(module):
    import importlib

    service = importlib.import_module(f"services.{module}.service")
    contract = importlib.import_module(f"shared.contracts.{module}")
    assert set(service.IMPORTERS) == set(contract.IMPORT_KINDS)
