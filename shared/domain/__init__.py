"""Pure building blocks of every service's domain: the Event a domain operation records,
rates as people read them. No I/O, nothing of nameko, kombu, eventlet or psycopg2."""
