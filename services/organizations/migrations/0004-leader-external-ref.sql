-- depends: 0003-external-ref
-- A leader another service put in post (the cadres service's placements) carries that
-- service's reference: one appointment per placement, however often it is delivered.
ALTER TABLE leaders ADD COLUMN external_ref text UNIQUE;
