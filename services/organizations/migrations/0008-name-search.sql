-- depends: 0007-unique-active-names
-- list_organizations' `name`: organizations whose name contains a text, found by a
-- trigram index (pg_trgm) on the name's key — the expression of the unique index of
-- migration 0007 (domain.name_key: Unicode NFKC, white space and invisible format
-- characters dropped), so a search compares names as the rule of one name per place
-- does. LIKE '%text%' uses the index from three characters on; a shorter text is a
-- filter on the subtree's rows (store.organization_page).
--
-- pg_trgm is a trusted extension (PostgreSQL 13 and later): the database's owner, which
-- the service's role is (tools/launcher/provision.py), may create it. It ships with the
-- server (Debian's postgresql package, the postgres image). Its trigrams of CJK text need
-- a UTF-8 LC_CTYPE that classifies ideographs as letters (C.UTF-8, en_US.UTF-8, zh_CN.UTF-8:
-- every cluster `make run` and the images create); under plain "C" the search still
-- answers rightly, but by reading the subtree's rows.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX organizations_name_trgm
    ON organizations USING gin ((regexp_replace(normalize(name, NFKC), '[\t\n\v\f\r \u00ad\u200b\u200c\u200d\u2060\ufeff]+', '', 'g')) gin_trgm_ops);
