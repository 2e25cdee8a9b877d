-- depends: platform-0001-outbox-inbox-requests-audit
-- Staff accounts of the console and their sessions (shared/contracts/accounts.py).
-- Passwords are argon2id hashes only; every sign-in attempt is in audit_log.

CREATE TABLE accounts (
    username text COLLATE "C" PRIMARY KEY,
    display_name text NOT NULL,
    department text NOT NULL,
    place_code text COLLATE "C" NOT NULL,
    place_name text,                            -- as the registry named it at creation
    roles text[] NOT NULL,
    password_hash text NOT NULL,                -- argon2id, with its parameters
    disabled boolean NOT NULL DEFAULT false,
    failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_until timestamptz,
    last_sign_in_at timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- An administrator lists its subtree by user name (code BETWEEN lo AND hi).
CREATE INDEX accounts_place ON accounts (place_code, username);

-- A console session is its token's id (jti): ended by sign-out, a password change, a new
-- set of roles or the account disabled; its token dies with it (session_valid).
CREATE TABLE sessions (
    token_id text COLLATE "C" PRIMARY KEY,
    username text COLLATE "C" NOT NULL REFERENCES accounts (username),
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX sessions_expires ON sessions (username, expires_at);
