-- depends: 0002-rectification
-- An organization another service asked the registry for (npe's enterprise
-- organizations) carries that service's reference: one organization per reference,
-- however often the request is delivered.
ALTER TABLE organizations ADD COLUMN external_ref text UNIQUE;
