-- depends: 0001-evaluation
-- The satisfaction survey of service-oriented party organizations (docs/domain.md §8):
-- campaigns over the organizations that entered a year's creation (from the
-- organizations service's service_creation_entered events).

CREATE TABLE service_creations (
    creation_id bigint PRIMARY KEY,
    organization_id bigint NOT NULL,
    year integer NOT NULL,
    focus text NOT NULL
);
CREATE INDEX service_creations_year ON service_creations (year, organization_id);

CREATE TABLE survey_campaigns (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    year integer NOT NULL,
    title text NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_on date NOT NULL DEFAULT current_date,
    closed_on date,
    UNIQUE (kind, place_code, year)
);

ALTER TABLE surveys ADD COLUMN campaign_id bigint REFERENCES survey_campaigns (id);
CREATE UNIQUE INDEX surveys_campaign ON surveys (campaign_id, organization_id)
    WHERE campaign_id IS NOT NULL;
