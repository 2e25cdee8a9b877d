-- depends: platform-0001-outbox-inbox-requests-audit
-- Grading rounds, surveys, acceptances and stars, joint reviews (docs/domain.md §2–§4, §7),
-- and what this service knows of places and organizations (kept from the organizations
-- service's events, never read from its database).

-- good 3, fairly_good 2, average 1, poor 0: "moved up" is a higher rank than the baseline.
CREATE FUNCTION grade_rank(grade text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE grade WHEN 'good' THEN 3 WHEN 'fairly_good' THEN 2
                      WHEN 'average' THEN 1 WHEN 'poor' THEN 0 END
$$;

CREATE TABLE places (
    code text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    level text NOT NULL,
    parent_code text COLLATE "C"
);
CREATE INDEX places_level ON places (level, code);

CREATE TABLE organizations (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL,
    sector text NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    status text NOT NULL,
    version integer NOT NULL,             -- of the organization, as the events said
    baseline_grade text,
    baseline_round_id bigint,
    current_grade text,
    current_round_id bigint,
    stars smallint,                       -- the latest rating, whatever the grade
    -- Ratings given while the organization was good, for its "new improvement":
    first_good_stars smallint,
    last_good_stars smallint,
    max_good_stars smallint
);
CREATE INDEX organizations_place ON organizations (place_code, id);

CREATE TABLE rounds (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_code text COLLATE "C" NOT NULL,
    year integer NOT NULL,
    name text NOT NULL,
    opened_on date NOT NULL DEFAULT current_date,
    rules jsonb NOT NULL                  -- weights and cut-offs it grades by
);

CREATE TABLE scores (
    round_id bigint NOT NULL REFERENCES rounds (id),
    organization_id bigint NOT NULL REFERENCES organizations (id),
    assessor text NOT NULL,
    scores jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (round_id, organization_id, assessor)
);

-- Orders grade_assigned events: a consumer keeps the one with the highest number.
CREATE SEQUENCE grade_events;

CREATE TABLE gradings (
    round_id bigint NOT NULL REFERENCES rounds (id),
    organization_id bigint NOT NULL REFERENCES organizations (id),
    score numeric(5, 2),
    grade text NOT NULL,
    method text NOT NULL,
    reason text,
    is_baseline boolean NOT NULL,         -- this round is the organization's baseline
    sequence bigint NOT NULL,             -- of its latest grade_assigned event
    rules jsonb NOT NULL,                 -- the weights and cut-offs used
    graded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (round_id, organization_id)
);
CREATE INDEX gradings_organization ON gradings (organization_id);

CREATE TABLE surveys (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    case_id bigint,
    case_round integer,
    title text NOT NULL,
    status text NOT NULL DEFAULT 'open',
    opened_on date NOT NULL DEFAULT current_date,
    closed_on date,
    valid_ballots integer,
    satisfied integer,
    rate numeric(5, 4),
    passed boolean,
    rule jsonb,                           -- satisfied answers and threshold used
    UNIQUE (case_id, case_round)
);
CREATE INDEX surveys_organization ON surveys (organization_id, id);

CREATE TABLE survey_counts (
    survey_id bigint NOT NULL REFERENCES surveys (id),
    answer text NOT NULL,
    ballots integer NOT NULL,
    PRIMARY KEY (survey_id, answer)
);

CREATE TABLE acceptances (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    case_id bigint UNIQUE,
    grade text NOT NULL,
    status text NOT NULL DEFAULT 'awaiting_stars',
    score numeric(5, 2),
    suggested_stars smallint,
    stars smallint,
    reason text,
    rated_by text,
    opened_on date NOT NULL DEFAULT current_date,
    rated_on date,
    rules jsonb
);
CREATE INDEX acceptances_organization ON acceptances (organization_id, id);

CREATE TABLE joint_reviews (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_code text COLLATE "C" NOT NULL,
    level text NOT NULL,
    year integer NOT NULL,
    secretary text NOT NULL,
    reported_on date NOT NULL,
    review_score numeric(5, 2) NOT NULL,
    exam_result text NOT NULL,
    UNIQUE (place_code, year)
);

CREATE TABLE township_reports (
    place_code text COLLATE "C" NOT NULL,
    period text NOT NULL,
    submitted_on date NOT NULL,
    summary text NOT NULL,
    PRIMARY KEY (place_code, period)
);
