-- Platform tables every service database has (shared/outbox.py, shared/events.py,
-- shared/entrypoints.py, shared/db.py).

-- Events committed with the change that caused them, until the relay has published
-- them (then it deletes them: a queue, not a history; the audit log is the history).
CREATE TABLE outbox (
    id uuid PRIMARY KEY,                               -- the event id
    position bigint GENERATED ALWAYS AS IDENTITY UNIQUE, -- commit order within a replica
    event_type text NOT NULL,
    payload jsonb NOT NULL,                            -- the whole envelope
    origin_call_id text,                               -- nameko call id of the cause
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Events a handler has applied: the id commits with the handler's effects.
CREATE TABLE inbox (
    event_id uuid NOT NULL,
    handler text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, handler)
);

-- Mutating calls by request id: a repeat returns the stored result.
CREATE TABLE request_log (
    request_id text PRIMARY KEY,
    operation text NOT NULL,
    subject text NOT NULL,
    fingerprint text NOT NULL,                         -- of the arguments: reuse → Conflict
    result jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_log_created ON request_log (created_at);

-- Who changed what, when, from which system. Append-only: enforced below.
CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    subject text NOT NULL,
    department text NOT NULL,
    system text NOT NULL,
    request_id text,
    operation text NOT NULL,
    entity_type text NOT NULL,
    entity_id text NOT NULL,
    changes jsonb NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
