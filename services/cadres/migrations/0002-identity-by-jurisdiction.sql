-- depends: 0001-cadres
-- An identity number is unique within a jurisdiction, no longer across the province:
-- a unique index answered "registered already" to a county for a resident of another
-- county, which told it that person is registered there. The service now checks the
-- places the caller sees (under a lock per number, below); the same citizen
-- registered by two places is a clash their common superior sees (identity_clashes)
-- and resolves: the place in the wrong withdraws its record (withdraw_person).
ALTER TABLE people DROP CONSTRAINT people_id_number_index_key;
ALTER TABLE people ADD COLUMN withdrawn_on date, ADD COLUMN withdrawn_reason text;
CREATE INDEX people_id_number ON people (id_number_index) WHERE withdrawn_on IS NULL;

-- The lock per number: a row locked by INSERT … ON CONFLICT DO UPDATE until the
-- transaction ends (keyed by the blind index under the current key). Not an advisory
-- lock: an import registers up to 20 000 people in one transaction, and as many advisory
-- locks overflow the server's lock table (max_locks_per_transaction × connections);
-- row locks live in the rows. A row stays after its transaction, as an anchor.
CREATE TABLE identity_number_locks (number_index bytea PRIMARY KEY);
