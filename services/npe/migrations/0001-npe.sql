-- depends: platform-0001-outbox-inbox-requests-audit
-- Non-public enterprises and their party coverage (docs/domain.md §6), and the place
-- tree kept from the organizations service's events (shared/places.py).

CREATE TABLE places (
    code text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    level text NOT NULL,
    parent_code text COLLATE "C"
);

CREATE TABLE enterprises (
    credit_code text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    industry text NOT NULL,
    size text NOT NULL,
    operating_status text NOT NULL,
    employees integer NOT NULL,
    full_members integer NOT NULL,
    migrant_share numeric(5, 4) NOT NULL DEFAULT 0,
    cluster text,
    dual_managed boolean NOT NULL DEFAULT false,
    -- The best coverage it has (domain.coverage_of), kept with every change of its
    -- organizations and assignments, so a province's report is one pass over an index.
    coverage text NOT NULL DEFAULT 'none',
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enterprises_report ON enterprises (place_code)
    INCLUDE (operating_status, coverage, full_members);
CREATE INDEX enterprises_uncovered ON enterprises (name, credit_code)
    WHERE operating_status = 'operating' AND coverage = 'none';
-- Due to set up their own organization, by name (the rule's default of 3 members: with
-- another value the report still works, by a sort instead of this index).
CREATE INDEX enterprises_due_own ON enterprises (name, credit_code)
    WHERE operating_status = 'operating' AND coverage <> 'own' AND full_members >= 3;

CREATE TABLE establishments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    org_kind text NOT NULL,
    name text NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    full_members integer NOT NULL,
    founded_on date NOT NULL,
    organization_id bigint,               -- in the registry, once it answers
    -- pending until the registry answers; refused by it, or dissolved (or merged) there
    -- later: then it covers no one.
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'registered', 'refused', 'dissolved')),
    status_reason text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE establishment_members (
    establishment_id bigint NOT NULL REFERENCES establishments (id),
    credit_code text COLLATE "C" NOT NULL REFERENCES enterprises (credit_code),
    joined_on date NOT NULL DEFAULT current_date,
    PRIMARY KEY (establishment_id, credit_code)
);
CREATE INDEX establishment_members_enterprise ON establishment_members (credit_code);

CREATE TABLE work_coverage (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code text COLLATE "C" NOT NULL REFERENCES enterprises (credit_code),
    role text NOT NULL,
    person text NOT NULL,
    assigned_on date NOT NULL,
    ended_on date
);
CREATE INDEX work_coverage_enterprise ON work_coverage (credit_code) WHERE ended_on IS NULL;

CREATE TABLE standard_checks (
    establishment_id bigint NOT NULL REFERENCES establishments (id),
    item text NOT NULL,
    met boolean NOT NULL,
    checked_on date NOT NULL,
    PRIMARY KEY (establishment_id, item)
);

CREATE TABLE double_strong (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code text COLLATE "C" NOT NULL REFERENCES enterprises (credit_code),
    year integer NOT NULL,
    status text NOT NULL DEFAULT 'applied',
    UNIQUE (credit_code, year)
);
CREATE TABLE double_strong_history (
    application_id bigint NOT NULL REFERENCES double_strong (id),
    status text NOT NULL,
    on_date date NOT NULL,
    note text,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX double_strong_history_application ON double_strong_history (application_id);

CREATE TABLE contacts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code text COLLATE "C" NOT NULL REFERENCES enterprises (credit_code),
    kind text NOT NULL,
    leader text NOT NULL,
    contact_on date NOT NULL,
    content text NOT NULL
);
CREATE INDEX contacts_enterprise ON contacts (credit_code);

CREATE TABLE lagging (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    establishment_id bigint NOT NULL REFERENCES establishments (id),
    cause text NOT NULL,
    status text NOT NULL DEFAULT 'rectifying',
    noted_on date NOT NULL,
    transformed_on date,
    note text
);
CREATE UNIQUE INDEX lagging_open ON lagging (establishment_id) WHERE status = 'rectifying';

CREATE TABLE six_good (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    establishment_id bigint NOT NULL REFERENCES establishments (id),
    year integer NOT NULL,
    status text NOT NULL DEFAULT 'entered',
    UNIQUE (establishment_id, year)
);

CREATE TABLE training_classes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    title text NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    starts_on date NOT NULL,
    sessions integer NOT NULL
);
CREATE TABLE enrolments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    class_id bigint NOT NULL REFERENCES training_classes (id),
    person text NOT NULL,
    credit_code text COLLATE "C" NOT NULL REFERENCES enterprises (credit_code),
    UNIQUE (class_id, person, credit_code)
);
CREATE TABLE attendance (
    enrolment_id bigint NOT NULL REFERENCES enrolments (id),
    session integer NOT NULL,
    present boolean NOT NULL,
    PRIMARY KEY (enrolment_id, session)
);

CREATE TABLE association_members (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person text NOT NULL,
    credit_code text COLLATE "C" NOT NULL REFERENCES enterprises (credit_code),
    role text NOT NULL,
    joined_on date NOT NULL,
    UNIQUE (person, credit_code)
);
