-- depends: platform-0001-outbox-inbox-requests-audit
-- People and their sealed identity numbers, reserve cadres, the talent pool and
-- placements, and what is asked of cadres in post (docs/domain.md §1, §3.6, §5).

CREATE TABLE places (
    code text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    level text NOT NULL,
    parent_code text COLLATE "C"
);
CREATE INDEX places_parent ON places (parent_code, code);

-- The registry's organizations, as its events said (placements name one).
CREATE TABLE organizations (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL,
    sector text NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    status text NOT NULL,
    version integer NOT NULL
);

CREATE TABLE people (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    sex text NOT NULL,
    ethnicity text NOT NULL,
    birth_date date NOT NULL,
    native_place text,
    education text NOT NULL,
    school text,
    political_status text NOT NULL,
    work_started_on date,
    current_post text,
    current_unit text,
    post_category text NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    -- The identity number: AES-GCM sealed, a keyed blind index to find it (unique: one
    -- person per citizen), and the masked form others see (shared.personal_data).
    id_number_sealed bytea NOT NULL,
    id_number_index bytea NOT NULL UNIQUE,
    id_number_masked text NOT NULL,
    college_graduate_official boolean NOT NULL,
    cv jsonb NOT NULL DEFAULT '[]',
    version integer NOT NULL DEFAULT 1
);
CREATE INDEX people_place ON people (place_code, id);
CREATE INDEX people_secretaries ON people (place_code) WHERE post_category = 'village_party_secretary';

CREATE TABLE reserves (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    place_code text COLLATE "C" NOT NULL,
    status text NOT NULL CHECK (status IN ('candidate', 'reserve', 'appointed', 'withdrawn')),
    recommended_by text NOT NULL,
    method text NOT NULL,
    recommended_on date NOT NULL,
    votes integer,
    remarks text,
    confirmed_on date,
    ended_on date,
    end_reason text
);
-- A person is recommended to a village once at a time.
CREATE UNIQUE INDEX reserves_open ON reserves (person_id, place_code)
    WHERE status IN ('candidate', 'reserve');
CREATE INDEX reserves_place ON reserves (place_code, id);

CREATE TABLE reserve_assessments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reserve_id bigint NOT NULL REFERENCES reserves (id),
    assessed_on date NOT NULL,
    assessor text NOT NULL,
    result text NOT NULL,
    remarks text
);
CREATE INDEX reserve_assessments_reserve ON reserve_assessments (reserve_id);

-- Each village's last quota status, so reserve_shortfall_changed is sent when it changes;
-- its row is also the lock that serializes the village's reserve changes.
CREATE TABLE village_quota (
    place_code text COLLATE "C" PRIMARY KEY,
    reserves integer NOT NULL,
    status text NOT NULL
);

CREATE TABLE pool_members (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    status text NOT NULL CHECK (status IN ('in_pool', 'left')),
    selected_on date NOT NULL,
    assessment text NOT NULL,
    recommended_by text NOT NULL,
    remarks text,
    left_on date,
    leave_reason text
);
CREATE UNIQUE INDEX pool_members_in ON pool_members (person_id) WHERE status = 'in_pool';
CREATE INDEX pool_members_person ON pool_members (person_id, id);

CREATE TABLE placements (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    kind text NOT NULL,
    placed_on date NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    organization_id bigint,
    post text,
    position text,
    status text NOT NULL CHECK (status IN ('recorded', 'pending', 'applied', 'refused')),
    outcome text
);
CREATE INDEX placements_person ON placements (person_id, id);
CREATE INDEX placements_place ON placements (place_code);

CREATE TABLE classes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_code text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    title text NOT NULL,
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    hours numeric(5, 1) NOT NULL
);
CREATE INDEX classes_place ON classes (place_code, starts_on);

CREATE TABLE attendance (
    class_id bigint NOT NULL REFERENCES classes (id),
    person_id bigint NOT NULL REFERENCES people (id),
    attended boolean NOT NULL,
    absence_reason text,
    PRIMARY KEY (class_id, person_id)
);
CREATE INDEX attendance_person ON attendance (person_id);

CREATE TABLE commitments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    kind text NOT NULL,
    signed_on date NOT NULL,
    content text NOT NULL,
    status text NOT NULL CHECK (status IN ('signed', 'fulfilled', 'broken')),
    settled_on date,
    note text
);
CREATE INDEX commitments_person ON commitments (person_id);

CREATE TABLE dual_reviews (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    year integer NOT NULL,
    held_on date NOT NULL,
    rating text NOT NULL,
    approval numeric(5, 4),
    remarks text,
    UNIQUE (person_id, year)
);

CREATE TABLE problems (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    kind text NOT NULL,
    found_on date NOT NULL,
    description text NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'closed')),
    closed_on date
);
CREATE INDEX problems_person ON problems (person_id);

CREATE TABLE problem_follow_ups (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    problem_id bigint NOT NULL REFERENCES problems (id),
    action text NOT NULL,
    taken_on date NOT NULL,
    note text NOT NULL
);
CREATE INDEX problem_follow_ups_problem ON problem_follow_ups (problem_id, id);
