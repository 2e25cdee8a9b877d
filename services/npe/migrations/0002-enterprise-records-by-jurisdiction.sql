-- depends: 0001-npe
-- A unified social credit code is unique within a jurisdiction, no longer across the
-- province (issue 16): a primary key on credit_code answered "registered already" to a
-- county for an enterprise another county had registered, which told it the enterprise
-- is registered there. The service now checks the records the caller sees (the code's
-- row in credit_codes, locked, serializes the check and the insert); the same code
-- registered by two places is a clash their common superior sees (credit_code_clashes,
-- coverage_report) and resolves: the place in the wrong withdraws its record
-- (withdraw_enterprise). So an enterprise record gets a key of its own, and everything
-- that named an enterprise by its code names the record.

-- The surrogate key: existing rows are numbered as the column is added.
ALTER TABLE enterprises ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
-- Withdrawn: off the ledger (no uniqueness, lists, reports, clashes or resolution by
-- code), kept with its history and readable by get_enterprise.
ALTER TABLE enterprises ADD COLUMN withdrawn_on date, ADD COLUMN withdrawn_reason text;

-- Every table that referenced enterprises (credit_code) gets the record's id, filled in
-- through the code while it is still unique, and loses the code: it is the record's,
-- read through the join (its FK, and the keys and indexes it was part of, go with it).
ALTER TABLE establishment_members ADD COLUMN enterprise_id bigint;
UPDATE establishment_members t SET enterprise_id = e.id FROM enterprises e
    WHERE e.credit_code = t.credit_code;
ALTER TABLE work_coverage ADD COLUMN enterprise_id bigint;
UPDATE work_coverage t SET enterprise_id = e.id FROM enterprises e
    WHERE e.credit_code = t.credit_code;
ALTER TABLE double_strong ADD COLUMN enterprise_id bigint;
UPDATE double_strong t SET enterprise_id = e.id FROM enterprises e
    WHERE e.credit_code = t.credit_code;
ALTER TABLE contacts ADD COLUMN enterprise_id bigint;
UPDATE contacts t SET enterprise_id = e.id FROM enterprises e
    WHERE e.credit_code = t.credit_code;
ALTER TABLE enrolments ADD COLUMN enterprise_id bigint;
UPDATE enrolments t SET enterprise_id = e.id FROM enterprises e
    WHERE e.credit_code = t.credit_code;
ALTER TABLE association_members ADD COLUMN enterprise_id bigint;
UPDATE association_members t SET enterprise_id = e.id FROM enterprises e
    WHERE e.credit_code = t.credit_code;

ALTER TABLE establishment_members DROP CONSTRAINT establishment_members_pkey;
ALTER TABLE double_strong DROP CONSTRAINT double_strong_credit_code_year_key;
ALTER TABLE enrolments DROP CONSTRAINT enrolments_class_id_person_credit_code_key;
ALTER TABLE association_members DROP CONSTRAINT association_members_person_credit_code_key;
ALTER TABLE establishment_members DROP COLUMN credit_code;
ALTER TABLE work_coverage DROP COLUMN credit_code;
ALTER TABLE double_strong DROP COLUMN credit_code;
ALTER TABLE contacts DROP COLUMN credit_code;
ALTER TABLE enrolments DROP COLUMN credit_code;
ALTER TABLE association_members DROP COLUMN credit_code;

-- Nothing references the code any more: the key moves to the id.
ALTER TABLE enterprises DROP CONSTRAINT enterprises_pkey;
ALTER TABLE enterprises ADD PRIMARY KEY (id);
CREATE INDEX enterprises_credit_code ON enterprises (credit_code);

ALTER TABLE establishment_members ALTER COLUMN enterprise_id SET NOT NULL,
    ADD FOREIGN KEY (enterprise_id) REFERENCES enterprises (id),
    ADD PRIMARY KEY (establishment_id, enterprise_id);
CREATE INDEX establishment_members_enterprise ON establishment_members (enterprise_id);
ALTER TABLE work_coverage ALTER COLUMN enterprise_id SET NOT NULL,
    ADD FOREIGN KEY (enterprise_id) REFERENCES enterprises (id);
CREATE INDEX work_coverage_enterprise ON work_coverage (enterprise_id) WHERE ended_on IS NULL;
ALTER TABLE double_strong ALTER COLUMN enterprise_id SET NOT NULL,
    ADD FOREIGN KEY (enterprise_id) REFERENCES enterprises (id),
    ADD UNIQUE (enterprise_id, year);
ALTER TABLE contacts ALTER COLUMN enterprise_id SET NOT NULL,
    ADD FOREIGN KEY (enterprise_id) REFERENCES enterprises (id);
CREATE INDEX contacts_enterprise ON contacts (enterprise_id);
ALTER TABLE enrolments ALTER COLUMN enterprise_id SET NOT NULL,
    ADD FOREIGN KEY (enterprise_id) REFERENCES enterprises (id),
    ADD UNIQUE (class_id, person, enterprise_id);
ALTER TABLE association_members ALTER COLUMN enterprise_id SET NOT NULL,
    ADD FOREIGN KEY (enterprise_id) REFERENCES enterprises (id),
    ADD UNIQUE (person, enterprise_id);

-- The reports read only the records on the ledger: their indexes leave withdrawn ones
-- out (the listings' keyset ends in the id: in a clash two records share name and code).
DROP INDEX enterprises_report;
CREATE INDEX enterprises_report ON enterprises (place_code)
    INCLUDE (operating_status, coverage, full_members) WHERE withdrawn_on IS NULL;
DROP INDEX enterprises_uncovered;
CREATE INDEX enterprises_uncovered ON enterprises (name, credit_code, id)
    WHERE operating_status = 'operating' AND coverage = 'none' AND withdrawn_on IS NULL;
DROP INDEX enterprises_due_own;
CREATE INDEX enterprises_due_own ON enterprises (name, credit_code, id)
    WHERE operating_status = 'operating' AND coverage <> 'own' AND full_members >= 3
    AND withdrawn_on IS NULL;

-- One row per credit code ever registered. Its row lock serializes the registrations and
-- withdrawals of that code (the uniqueness check among the records a caller sees and the
-- insert are one step); `registered` counts the code's records on the ledger anywhere,
-- kept under that lock, so the few codes registered more than once are found through a
-- small index instead of grouping every enterprise of a province. (An advisory lock per
-- code would serialize one registration as well, but an import holds one per row until
-- it commits, and 20 000 advisory locks exhaust the server's shared lock table: "out of
-- shared memory". Row locks are kept in the rows.)
CREATE TABLE credit_codes (
    credit_code text COLLATE "C" PRIMARY KEY,
    registered integer NOT NULL DEFAULT 0 CHECK (registered >= 0)
);
INSERT INTO credit_codes (credit_code, registered)
    SELECT credit_code, count(*) FROM enterprises GROUP BY credit_code;
CREATE INDEX credit_codes_clashing ON credit_codes (credit_code) WHERE registered > 1;
