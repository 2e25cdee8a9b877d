-- depends: 0004-leader-external-ref
-- Creating excellence and the campaign's publicity (docs/domain.md §3.4, §8).

CREATE TABLE commitments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    committer text NOT NULL CHECK (committer IN ('organization', 'member')),
    member_name text,
    sentence text NOT NULL,
    year integer NOT NULL,
    made_on date NOT NULL
);
CREATE INDEX commitments_organization ON commitments (organization_id, year);
-- One commitment per organization a year, one per member of it.
CREATE UNIQUE INDEX commitments_once ON commitments (organization_id, year, coalesce(member_name, ''));

CREATE TABLE commitment_checks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    commitment_id bigint NOT NULL REFERENCES commitments (id),
    checked_on date NOT NULL,
    result text NOT NULL,
    note text NOT NULL
);
CREATE INDEX commitment_checks_commitment ON commitment_checks (commitment_id, checked_on, id);

CREATE TABLE deeds (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    member_name text NOT NULL,
    title text NOT NULL,
    story text NOT NULL,
    happened_on date NOT NULL,
    status text NOT NULL CHECK (status IN ('submitted', 'displayed', 'rated')),
    displayed_on date,
    displayed_where text,
    rating text,
    rated_on date,
    rated_by text
);
CREATE INDEX deeds_organization ON deeds (organization_id);

CREATE TABLE organizational_systems (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    name text NOT NULL,
    category text NOT NULL,
    established_on date NOT NULL,
    content text,
    UNIQUE (organization_id, name)
);

CREATE TABLE service_creations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    year integer NOT NULL,
    focus text NOT NULL,
    entered_on date NOT NULL,
    measures text NOT NULL,
    status text NOT NULL CHECK (status IN ('entered', 'recognized')),
    recognized_on date,
    UNIQUE (organization_id, year)
);
CREATE INDEX service_creations_year ON service_creations (year, organization_id);

CREATE TABLE publicity_cards (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_code text COLLATE "C" NOT NULL REFERENCES places (code),
    year integer NOT NULL,
    cards integer NOT NULL CHECK (cards > 0),
    issued_on date NOT NULL
);
CREATE INDEX publicity_cards_place ON publicity_cards (year, place_code);

CREATE TABLE publicity_campaigns (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_code text COLLATE "C" NOT NULL REFERENCES places (code),
    kind text NOT NULL,
    title text NOT NULL,
    held_on date NOT NULL,
    participants integer
);
CREATE INDEX publicity_campaigns_place ON publicity_campaigns (held_on, place_code);

CREATE TABLE awareness_surveys (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_code text COLLATE "C" NOT NULL REFERENCES places (code),
    year integer NOT NULL,
    surveyed_on date NOT NULL,
    surveyed integer NOT NULL CHECK (surveyed > 0),
    aware integer NOT NULL CHECK (aware BETWEEN 0 AND surveyed),
    participating integer NOT NULL CHECK (participating BETWEEN 0 AND surveyed)
);
CREATE INDEX awareness_surveys_place ON awareness_surveys (year, place_code);
