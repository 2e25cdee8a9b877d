-- depends: 0006-ledger-columns
-- An organization's name is unique among the active organizations of its place
-- (domain.name_key: compared after Unicode NFKC, without white space or invisible
-- format characters (listed, not \s, which would follow the server's locale), so "（一）"
-- and "(一)", "党 支部" and "党支部" are one name). The unique index is what holds it
-- against two registrations at once; the service turns its refusal into a Conflict
-- that names the organization already there.
--
-- Organizations registered twice before this rule are not renamed behind anyone's
-- back: every one but the first (by id) of each such group is marked name_clash and
-- left out of the index until it is renamed, moved, merged or dissolved (a rename or
-- a move clears the mark, and the rule holds from then on). Meanwhile they carry the
-- flag name_clash (get_organization, list_organizations).

ALTER TABLE organizations ADD COLUMN name_clash boolean NOT NULL DEFAULT false;

UPDATE organizations o SET name_clash = true
FROM (SELECT id, row_number() OVER (
          PARTITION BY place_code, regexp_replace(normalize(name, NFKC), '[\t\n\v\f\r \u00ad\u200b\u200c\u200d\u2060\ufeff]+', '', 'g')
          ORDER BY id) AS nth
      FROM organizations WHERE status = 'active') twice
WHERE o.id = twice.id AND twice.nth > 1;

CREATE UNIQUE INDEX organizations_active_name
    ON organizations (place_code, (regexp_replace(normalize(name, NFKC), '[\t\n\v\f\r \u00ad\u200b\u200c\u200d\u2060\ufeff]+', '', 'g')))
    WHERE status = 'active' AND NOT name_clash;
