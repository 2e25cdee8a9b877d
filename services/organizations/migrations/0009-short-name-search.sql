-- depends: 0008-name-search
-- list_organizations' `name` of one or two characters: pg_trgm's index answers LIKE only
-- from three characters on, and a shorter, rare text read every name of the subtree
-- (the province: ~275 ms, nearly all of it normalizing 150 000 names). name_grams is the
-- set of a name key's one- and two-character substrings; a text of one or two characters
-- is in a name exactly when it is among them, which a GIN index answers at once
-- (store.organization_page asks it beside the LIKE). bench/RESULTS.md has the figures.

CREATE FUNCTION name_grams(key text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(SELECT DISTINCT substr(key, i, n)
                 FROM generate_series(1, 2) AS n, generate_series(1, char_length(key)) AS i
                 WHERE i + n - 1 <= char_length(key));

CREATE INDEX organizations_name_grams
    ON organizations USING gin (name_grams(regexp_replace(normalize(name, NFKC), '[\t\n\v\f\r \u00ad\u200b\u200c\u200d\u2060\ufeff]+', '', 'g')));
