"""The runtime every service process uses: configuration, the database and its unit of
work (db), events out (outbox) and in (events), RPC entrypoints and client, tokens
(auth), metrics and logs, the broker's accounts and guards (broker), migrations and the
process runner. Infrastructure: it may import nameko, kombu, eventlet and psycopg2; the
services' domain modules never import it."""
