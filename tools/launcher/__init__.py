"""Local infrastructure behind `make run`, `make stop` and `make test`.

- local.py      private RabbitMQ nodes and PostgreSQL clusters started from the machine's
                packages (installed with apt-get when missing and we are root)
- provision.py  vhost, user and permissions on RabbitMQ; role and database on PostgreSQL
- supervise.py  the services under supervisord, their readiness
- __main__.py   the command line the Makefile calls: `python -m tools.launcher --help`

docs/running.md explains how `make run` decides what to start.
"""
