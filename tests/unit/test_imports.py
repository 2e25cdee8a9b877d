"""The import machinery's own logic (shared/platform/imports.py), without a database."""

import datetime as dt

import pytest
from greenlet import GreenletExit

from shared.errors import Conflict, Forbidden, ValidationError
from shared.platform import imports

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
    """What _apply_rows uses of a Transaction: statements are recorded, and `flush` moves
    the events and deferred writes into what was sent."""

    def __init__(self):
        self.sent = []
        self.events, self._deferred, self._after_commit = [], [], []

    def execute(self, sql, params=None):
        self.sent.append(sql)

    def flush(self):
        self.sent.extend(f"event {e}" for e in self.events)
        self.events = []


def test_a_parts_savepoint_travels_with_its_first_statement():
    tx = FakeTx()
    savepoints = imports._Savepoints(tx)
    savepoints.before_part()
    tx.execute("INSERT 1")
    savepoints.before_part()
    savepoints.undo_part()  # failed before reaching the server: nothing to roll back
    savepoints.before_part()
    tx.execute(b"INSERT 3")
    tx.execute("SELECT 3")
    savepoints.undo_part()
    savepoints.close()
    tx.execute("after")
    assert tx.sent == [
        "SAVEPOINT import_part;\nINSERT 1",
        b"RELEASE SAVEPOINT import_part;\nSAVEPOINT import_part;\nINSERT 3",
        "SELECT 3",
        "ROLLBACK TO SAVEPOINT import_part",
        "after",
    ]


class Progress:
    def beat(self, processed, now=True):
        pass


def numbered(*names):
    return [{"row": n, "values": {"name": name}} for n, name in enumerate(names, 2)]


def importer(*, many: bool):
    """Rows named "bad" fail when applied, "" fail when read; the others emit an event."""

    def load(values):
        if not values["name"]:
            raise ValidationError("bad", {"name": ["Missing data for required field."]})
        return values

    def apply(service, call, values):
        service.tx.execute(f"INSERT {values['name']}")
        if values["name"] == "bad":
            raise Conflict("refused", {"name": "bad"})
        service.tx.events.append(values["name"])

    def apply_many(service, call, rows):
        service.tx.execute(f"INSERT {', '.join(v['name'] for v in rows)}")
        if any(v["name"] == "bad" for v in rows):
            raise Conflict("refused", {"name": "bad"})
        service.tx.events.extend(v["name"] for v in rows)

    return imports.Importer(load=load, apply=apply, fields=frozenset({"name"}),
                            key=lambda v: v["name"], key_field="name",
                            apply_many=apply_many if many else None)


@pytest.mark.parametrize("many", [True, False])
def test_a_failing_chunk_is_replayed_row_by_row_and_only_its_bad_rows_are_reported(monkeypatch, many):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 3)
    tx = FakeTx()
    service = type("Service", (), {"tx": tx})
    rows = numbered("a", "b", "c", "d", "bad", "", "a", "e")
    errors = imports._apply_rows(tx, None, service, importer(many=many), rows, Progress())

    assert [(e["row"], e["fields"]) for e in errors] == [
        (7, {"name": ["Missing data for required field."]}),  # read: before the chunk's apply
        (6, {"name": ["refused"]}),                            # found by the replay
        (8, {"name": ["duplicates row 2 of this file (与第2行重复)"]})]
    # Every good row's event, once; none of a row undone.
    assert [s for s in tx.sent if s.startswith("event")] == [f"event {n}" for n in "abcde"]
    undone = [i for i, s in enumerate(tx.sent) if s == "ROLLBACK TO SAVEPOINT import_part"]
    # A chunk that failed rolls back once, then its bad row once, in the replay.
    assert len(undone) == 2
    savepoints = sum(str(s).count("SAVEPOINT import_part;") - str(s).count("RELEASE SAVEPOINT")
                     for s in tx.sent)
    assert savepoints == 1 + (1 + 2) + 1  # chunk 1; chunk 2 and its 2 rows read; chunk 3


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
