-- depends: platform-0001-outbox-inbox-requests-audit
-- Funding programs and their money, village income, retired village cadres, and activity
-- venues (docs/domain.md §7). Money is numeric(14, 2): yuan with fen, exact.

CREATE TABLE places (
    code text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    level text NOT NULL,
    parent_code text COLLATE "C"
);

CREATE TABLE programs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    name text NOT NULL,
    place_code text COLLATE "C" NOT NULL
);

CREATE TABLE budgets (
    program_id bigint NOT NULL REFERENCES programs (id),
    year integer NOT NULL,
    amount numeric(14, 2) NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (program_id, year)
);

CREATE TABLE allocations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    program_id bigint NOT NULL REFERENCES programs (id),
    year integer NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    purpose text NOT NULL,
    amount numeric(14, 2) NOT NULL CHECK (amount > 0),
    disbursed numeric(14, 2) NOT NULL DEFAULT 0,
    version integer NOT NULL DEFAULT 1,
    -- The database refuses an overspend whatever the code does.
    CHECK (disbursed >= 0 AND disbursed <= amount)
);
CREATE INDEX allocations_place ON allocations (year, place_code, id);
CREATE INDEX allocations_program ON allocations (program_id, year);

CREATE TABLE disbursements (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    allocation_id bigint NOT NULL REFERENCES allocations (id),
    amount numeric(14, 2) NOT NULL CHECK (amount > 0),
    paid_on date NOT NULL,
    document text NOT NULL
);
CREATE INDEX disbursements_allocation ON disbursements (allocation_id);

CREATE TABLE project_income (
    allocation_id bigint NOT NULL REFERENCES allocations (id),
    year integer NOT NULL,
    income numeric(14, 2) NOT NULL CHECK (income >= 0),
    PRIMARY KEY (allocation_id, year)
);
-- The funding report sums a year's income of projects funded in any year.
CREATE INDEX project_income_year ON project_income (year, allocation_id);

CREATE TABLE village_income (
    place_code text COLLATE "C" NOT NULL,
    year integer NOT NULL,
    income numeric(14, 2) NOT NULL CHECK (income >= 0),
    PRIMARY KEY (place_code, year)
);

CREATE TABLE retired_cadres (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    birth_date date NOT NULL,
    years_served integer NOT NULL,
    left_on date NOT NULL,
    -- A person registered twice would be paid twice: one row per name, birth and village
    -- (the index, place first, also serves the reports' place ranges).
    UNIQUE (place_code, name, birth_date)
);

CREATE TABLE subsidies (
    cadre_id bigint NOT NULL REFERENCES retired_cadres (id),
    period text NOT NULL,
    amount numeric(14, 2) NOT NULL CHECK (amount > 0),
    paid_on date NOT NULL,
    PRIMARY KEY (cadre_id, period)
);

CREATE TABLE venues (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_code text COLLATE "C" NOT NULL UNIQUE,    -- one venue per village or community
    name text NOT NULL,
    area numeric(10, 2) NOT NULL,
    functions text[] NOT NULL,
    -- No stored verdict: whether it meets the standard is worked out when read, under
    -- the rules in force (store.compliant_sql), so it cannot disagree with them.
    version integer NOT NULL DEFAULT 1
);

CREATE TABLE venue_projects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue_id bigint NOT NULL REFERENCES venues (id),
    kind text NOT NULL,
    budget numeric(14, 2) NOT NULL,
    status text NOT NULL DEFAULT 'in_progress',
    started_on date NOT NULL,
    planned_area numeric(10, 2) NOT NULL,
    planned_functions text[] NOT NULL,
    completed_on date,
    reason text
);
CREATE UNIQUE INDEX venue_projects_one_at_a_time ON venue_projects (venue_id)
    WHERE status = 'in_progress';
