-- depends: 0001-places-organizations-leadership
-- Rectification cases, their plans, tasks, help and notices; exemplars and
-- demonstration sites (docs/domain.md §3.1–§3.5, §1), and the number of the grade
-- event the organization's grades came from (grades arrive by events from evaluation,
-- possibly out of order: the highest number wins).

ALTER TABLE organizations ADD COLUMN grade_event bigint;

CREATE TABLE rectification_cases (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    grade text NOT NULL,
    grade_round_id bigint NOT NULL,       -- the grading round that opened it
    listed boolean NOT NULL,
    status text NOT NULL DEFAULT 'planning'
        CHECK (status IN ('planning', 'in_progress', 'submitted', 'accepted', 'withdrawn')),
    round integer NOT NULL DEFAULT 1,
    main_problems text,
    measures text[] NOT NULL DEFAULT '{}',
    opened_on date NOT NULL,
    submitted_on date,
    accepted_on date,
    crossed_off_on date,
    version integer NOT NULL DEFAULT 1
);
-- One case in progress per organization at a time, and one case per grading round.
CREATE UNIQUE INDEX rectification_cases_active ON rectification_cases (organization_id)
    WHERE status NOT IN ('accepted', 'withdrawn');
CREATE UNIQUE INDEX rectification_cases_round ON rectification_cases (organization_id, grade_round_id);
CREATE INDEX rectification_cases_organization ON rectification_cases (organization_id, id);

CREATE TABLE rectification_tasks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES rectification_cases (id),
    round integer NOT NULL,
    content text NOT NULL,
    responsible text NOT NULL,
    deadline date NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    done_on date
);
CREATE INDEX rectification_tasks_case ON rectification_tasks (case_id, round, id);

CREATE TABLE rectification_help (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES rectification_cases (id),
    kind text NOT NULL,
    person text NOT NULL,
    unit text,
    assigned_on date NOT NULL
);
CREATE INDEX rectification_help_case ON rectification_help (case_id);

CREATE TABLE notice_postings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES rectification_cases (id),
    posted_on date NOT NULL,
    location text NOT NULL
);
CREATE INDEX notice_postings_case ON notice_postings (case_id);

CREATE TABLE exemplars (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    title text NOT NULL,
    practice text NOT NULL,
    level text NOT NULL,
    published_on date NOT NULL
);
CREATE INDEX exemplars_organization ON exemplars (organization_id);

CREATE TABLE demonstration_sites (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    level text NOT NULL,
    year integer NOT NULL,
    designated_on date NOT NULL DEFAULT current_date,
    UNIQUE (organization_id, level, year)
);
