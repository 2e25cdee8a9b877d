-- depends: platform-0001-outbox-inbox-requests-audit
-- Places, party organizations, leadership, township organizers (docs/domain.md §1).
-- Codes are fixed-width digit strings in the "C" collation, so a subtree is a
-- BETWEEN range on a btree index.

CREATE TABLE places (
    code text COLLATE "C" PRIMARY KEY CHECK (code ~ '^[0-9]{12}$'),
    name text NOT NULL CHECK (name <> ''),
    level text NOT NULL,
    kind text NOT NULL,
    parent_code text COLLATE "C" REFERENCES places (code),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX places_parent ON places (parent_code, code);
CREATE INDEX places_level ON places (level, code);

CREATE TABLE organizations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (name <> ''),
    kind text NOT NULL CHECK (kind IN ('611', '621', '631', '632')),
    sector text NOT NULL,
    place_code text COLLATE "C" NOT NULL REFERENCES places (code),
    parent_id bigint REFERENCES organizations (id),
    full_members integer NOT NULL CHECK (full_members >= 0),
    probationary_members integer NOT NULL DEFAULT 0 CHECK (probationary_members >= 0),
    committee_size integer NOT NULL DEFAULT 0 CHECK (committee_size >= 0),
    units text[] NOT NULL DEFAULT '{}',
    founded_on date NOT NULL,
    elected_on date NOT NULL,
    term_ends_on date NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged', 'dissolved')),
    status_changed_on date,
    status_reason text,
    merged_into_id bigint REFERENCES organizations (id),
    baseline_grade text,
    current_grade text,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organizations_place ON organizations (place_code, id);
CREATE INDEX organizations_parent ON organizations (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX organizations_term ON organizations (term_ends_on, id) WHERE status = 'active';

CREATE TABLE leaders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    post text NOT NULL,
    name text NOT NULL,
    sex text,
    birth_date date,
    from_unit text,
    method text NOT NULL,
    started_on date NOT NULL,
    ended_on date,
    end_reason text
);
CREATE INDEX leaders_in_post ON leaders (organization_id) WHERE ended_on IS NULL;
CREATE INDEX leaders_organization ON leaders (organization_id, id);

CREATE TABLE vacancies (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    post text NOT NULL,
    reason text NOT NULL,
    opened_on date NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'filled', 'cancelled')),
    filled_on date,
    fill_method text,
    filled_by_leader_id bigint REFERENCES leaders (id)
);
CREATE INDEX vacancies_open ON vacancies (organization_id) WHERE status = 'open';
CREATE INDEX vacancies_organization ON vacancies (organization_id, id);

CREATE TABLE organizers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place_code text COLLATE "C" NOT NULL REFERENCES places (code),
    name text NOT NULL,
    sex text,
    appointed_on date NOT NULL,
    ended_on date
);
CREATE INDEX organizers_in_post ON organizers (place_code) WHERE ended_on IS NULL;
