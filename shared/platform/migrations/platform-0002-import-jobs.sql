-- depends: platform-0001-outbox-inbox-requests-audit
-- Bulk import jobs (shared/imports.py). Every service database gets the table; the
-- services that import rows use it. The rows a job writes commit in one transaction of
-- their own; this row is updated beside it, on autocommit, so pollers see progress.

CREATE TABLE import_jobs (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    subject text NOT NULL,                          -- who started it
    place_code text COLLATE "C" NOT NULL,           -- their jurisdiction: who may read it
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'valid', 'invalid', 'applied', 'interrupted')),
    dry_run boolean NOT NULL,
    total integer NOT NULL CHECK (total > 0),
    processed integer NOT NULL DEFAULT 0,
    applied integer NOT NULL DEFAULT 0,
    errors jsonb NOT NULL DEFAULT '[]',             -- [{row, fields, message}] by row, capped
    errors_total integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(), -- a running job that stops beating died
    finished_at timestamptz
);
CREATE INDEX import_jobs_started ON import_jobs (started_at);
