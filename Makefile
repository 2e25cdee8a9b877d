# Jinwei — the verbs. `make help` lists them; docs/running.md explains run/stop.
#
# Configuration comes from the environment (shared/platform/config.py): AMQP_URI,
# POSTGRES_ADMIN_URL, <SERVICE>_DATABASE_URL, <SERVICE>_HTTP_PORT, JINWEI_VAR_DIR, ...

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Touched after a complete install; older than the lock or pyproject.toml → reinstall.
STAMP := $(VENV)/.installed
INFRA := $(PY) -m tools.launcher
# stop/status/clean need no fresh install, only a venv that can run the tools.
HAVE_TOOLS := $(PY) -c 'import tools.launcher.supervise' 2>/dev/null
NO_TOOLS := echo "make: $(VENV) is not set up (make venv), so make started nothing"
PYTEST_ARGS ?=

.PHONY: help venv run stop status logs infra migrate test unit clean lint typecheck bench bench-services bench-tls bench-province bench-console token roles admin places snapshot dead-letters integrator integrator-revoke integrators contract ops-tools ops-generate fuzz browser-tools browser-test

help: ## list the targets
	@echo "Jinwei — make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-13s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv and install requirements.lock (again when it changes)

$(STAMP): requirements.lock pyproject.toml
	@set -e; \
	if [ ! -x $(VENV)/bin/pip ]; then \
	  if ! $(PYTHON) -m venv $(VENV) 2>/dev/null; then \
	    rm -rf $(VENV); \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      echo "make: '$(PYTHON) -m venv' failed (Debian's python3-venv is missing): installing python3 and python3-venv with apt-get"; \
	      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-venv; \
	      $(PYTHON) -m venv $(VENV); \
	    else \
	      echo "make: '$(PYTHON) -m venv $(VENV)' failed; install python3-venv (as root: apt-get install -y python3-venv)" >&2; \
	      exit 1; \
	    fi; \
	  fi; \
	fi; \
	$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "make: Jinwei needs Python 3.11; $(VENV) has " + sys.version.split()[0] + " (rm -rf $(VENV); make PYTHON=python3.11 venv)")'; \
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.lock; \
	$(VENV)/bin/pip install --disable-pip-version-check -q --no-deps -e .; \
	touch $@

run: $(STAMP) ## start RabbitMQ/PostgreSQL if needed, provision, migrate, start every service; wait until ready
	@$(INFRA) run

stop: ## stop the services, then the RabbitMQ/PostgreSQL that make run started (never the machine's own)
	@if $(HAVE_TOOLS); then $(INFRA) stop; else $(NO_TOOLS); fi

status: ## what answers where, and supervisorctl status
	@if $(HAVE_TOOLS); then $(INFRA) status; else $(NO_TOOLS); fi

logs: ## follow the service logs (var/log/<service>.log)
	@$(INFRA) logs

infra: $(STAMP) ## only make RabbitMQ and PostgreSQL answer, provision them and migrate (no services)
	@$(INFRA) up

migrate: $(STAMP) ## apply database migrations (python -m shared.platform.migrate)
	@$(PY) -m shared.platform.migrate

test: $(STAMP) ## the test suite; pass pytest options in PYTEST_ARGS="-k ... -x"
	@$(INFRA) up --no-databases
	$(PY) -m pytest $(PYTEST_ARGS)

unit: $(STAMP) ## the fast unit suite alone: pure rules, no broker or database (~20 s)
	$(PY) -m pytest -q -p no:cacheprovider tests/unit $(PYTEST_ARGS)

browser-tools: ## Chromium, chromedriver (apt) and axe-core (npm ci), for tests/browser
	@bash deploy/install-browser-tools.sh

browser-test: $(STAMP) ## the console in Chromium against `make run` on private ports; screenshots in tests/browser/artifacts (~5 min)
	$(PY) -m pytest -p no:cacheprovider tests/browser $(PYTEST_ARGS)

fuzz: $(STAMP) ## the gateway's request handling and the spreadsheet reader, 20 000 examples each (~10 min)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -p no:cacheprovider -q tests/unit/test_gateway_fuzz.py

clean: ## make stop, then delete the private instances' data, the logs and supervisor files under var/
	@if $(HAVE_TOOLS); then $(INFRA) clean; else $(NO_TOOLS); fi

typecheck: $(STAMP) ## mypy: annotated code everywhere, the platform and every domain whole ([tool.mypy])
	$(VENV)/bin/mypy

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check shared services tools tests bench deploy/generate.py deploy/docker

# ---- operator verbs ---------------------------------------------------------------------

places: $(STAMP) ## import the sample place tree into the running system (CSV=file | REGIONS=dir PROVINCE=33)
	@if [ -n "$(CSV)" ]; then $(PY) -m services.organizations.cli import-places --csv "$(CSV)"; \
	elif [ -n "$(REGIONS)" ]; then $(PY) -m services.organizations.cli import-places --regions-dir "$(REGIONS)" --province "$(or $(PROVINCE),33)"; \
	else $(PY) -m services.organizations.cli import-places --sample; fi

snapshot: $(STAMP) ## publish places and organizations again as events, for a service added later (PLACE=12 digits)
	@$(PY) -m services.organizations.cli publish-snapshot --place "$(or $(PLACE),330000000000)"

token: $(STAMP) ## print a signed token: SUBJECT= DEPARTMENT= PLACE=<12 digits> ROLES=a,b [SYSTEM=] [TTL=seconds]
	@$(PY) -m shared.platform.auth issue --subject "$(SUBJECT)" --department "$(DEPARTMENT)" \
	  --place "$(PLACE)" --roles "$(ROLES)" $(if $(SYSTEM),--system "$(SYSTEM)") $(if $(TTL),--ttl $(TTL))

roles: $(STAMP) ## list the roles a token can carry
	@$(PY) -m shared.platform.auth roles

# USER is in every shell's environment (the login name): only USER= on the command line
# names the administrator, so a forgotten USER= is refused rather than creating "root".
admin: $(STAMP) ## the console's first account administrator: PLACE=<12 digits> USER=<login name> [NAME=] [DEPARTMENT=]; password asked, or JINWEI_ADMIN_PASSWORD
	@if [ -z "$(PLACE)" ] || [ "$(origin USER)" != "command line" ]; then \
	  echo "make admin PLACE=<12-digit place code> USER=<login name> [NAME=<name shown>] [DEPARTMENT=<department>]" >&2; exit 2; fi
	@$(PY) -m tools.cli --as-operator "$(PLACE)" admin create --place "$(PLACE)" --username "$(USER)" \
	  $(if $(NAME),--name "$(NAME)") $(if $(DEPARTMENT),--department "$(DEPARTMENT)")

dead-letters: $(STAMP) ## list dead-lettered events; REPLAY="<service> --all" or REPLAY="<service> <event id>..." replays
	@if [ -n "$(REPLAY)" ]; then $(PY) -m shared.platform.dead_letters replay $(REPLAY); \
	else $(PY) -m shared.platform.dead_letters list; fi

integrator: $(STAMP) ## an outside system's broker account: NAME= SERVICES=a,b [METHODS=s.m,…]; prints its AMQP URI last
	@$(INFRA) integrator add "$(NAME)" $(if $(SERVICES),--services "$(SERVICES)") $(if $(METHODS),--methods "$(METHODS)")

integrator-revoke: $(STAMP) ## delete an outside system's broker account: NAME=
	@$(INFRA) integrator revoke "$(NAME)"

integrators: $(STAMP) ## the outside systems' broker accounts and what each may call
	@$(INFRA) integrator list

ops-tools: ## docker-compose, prometheus/promtool (apt) and kubernetes-validate, for tests/ops
	@bash deploy/install-ops-tools.sh

ops-generate: $(STAMP) ## regenerate k8s/base and the Grafana dashboards (deploy/generate.py)
	@$(PY) deploy/generate.py

contract: $(STAMP) ## regenerate docs/contract.md, docs/asyncapi.json and shared/contracts/typed/ from shared/contracts
	@$(PY) -m shared.contracts.document
	@$(PY) -m shared.contracts.asyncapi
	@$(PY) -m shared.contracts.typed_params

bench: bench-services bench-tls bench-province bench-console ## every benchmark (~100 min); figures and method in bench/RESULTS.md

bench-services: $(STAMP) ## RPC, events, coverage, import and gateway beside bare nameko (~10 min)
	@$(INFRA) up --no-databases
	@$(PY) -W ignore bench/rpc_bench.py $(BENCH_ARGS)
	@$(PY) -W ignore bench/events_bench.py
	@$(PY) -W ignore bench/coverage_bench.py
	@$(PY) -W ignore bench/import_bench.py
	@$(PY) -W ignore bench/gateway_bench.py

bench-tls: $(STAMP) ## RPC and events on a private broker node, plain then TLS only: TLS's cost (~10 min)
	@$(PY) -W ignore bench/rpc_bench.py --broker private --replicas 1
	@$(PY) -W ignore bench/rpc_bench.py --broker private-tls --replicas 1
	@$(PY) -W ignore bench/events_bench.py --broker private
	@$(PY) -W ignore bench/events_bench.py --broker private-tls

PROVINCE_ARGS ?= --scale 1.0
bench-console: $(STAMP) ## the console's pages at full province scale: server time p50/p99 and sizes (~40 min)
	@$(INFRA) up --no-databases
	@$(PY) -W ignore bench/console_bench.py $(PROVINCE_ARGS)

bench-province: $(STAMP) ## Zhejiang generated at full scale, loaded by the bulk paths; the reports timed (~40 min)
	@$(INFRA) up --no-databases
	@$(PY) -W ignore bench/province_bench.py --enterprise-path batch $(PROVINCE_ARGS)
