-- depends: 0001-accounts
-- A password an administrator set (a new account, a reset) is known to two people: the
-- holder must choose their own before the session carries any role but console.user.
ALTER TABLE accounts ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
