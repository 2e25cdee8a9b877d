# syntax=docker/dockerfile:1
# One image for every Jinwei process: the six nameko services, the HTTP gateway and the
# one-shot migration. Which one a container runs: the SERVICE build argument (baked in as
# JINWEI_SERVICE), the JINWEI_SERVICE environment variable, or the first argument
# (`docker run jinwei organizations`, `... gateway`, `... migrate`, `... jinwei health`).
#
#   docker build -t jinwei .                       # every process, chosen at run time
#   docker build -t jinwei-npe --build-arg SERVICE=npe .
#
# Runs as an unprivileged user on a read-only root file system: it writes only to
# /tmp and JINWEI_VAR_DIR (/var/lib/jinwei); mount both writable (compose: tmpfs and a
# volume; Kubernetes: emptyDir). The entrypoint execs the process under tini, so SIGTERM
# reaches nameko (graceful stop) or gunicorn (graceful_timeout) directly.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the runtime dependencies, at the versions requirements.lock pins ----------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY requirements.lock pyproject.toml ./
# requirements.lock is compiled with the dev extras (pytest, ruff, ...). The image takes
# the project's runtime dependencies only, each at exactly the version the lock pins
# (the lock as constraints: nothing resolves to an untested version).
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/runtime.txt \
 && pip install --no-compile -c requirements.lock -r /tmp/runtime.txt
COPY shared/ shared/
COPY tools/ tools/
COPY services/ services/
COPY deploy/sample/ deploy/sample/
COPY deploy/docker/ deploy/docker/
# Byte-code now: the root file system is read-only at run time.
RUN python -m compileall -q /app /opt/venv \
 && printf '#!/opt/venv/bin/python\nimport sys\nfrom tools.cli import main\nsys.exit(main())\n' > /opt/venv/bin/jinwei \
 && chmod 0755 /opt/venv/bin/jinwei deploy/docker/entrypoint.sh

# ---- runtime ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE=""
LABEL org.opencontainers.image.title="jinwei" \
      org.opencontainers.image.description="Jinwei (晋位): nameko services, gateway and migrations"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 jinwei \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin jinwei \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/jinwei
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JINWEI_SERVICE=${SERVICE} \
    JINWEI_HTTP_HOST=0.0.0.0 \
    JINWEI_VAR_DIR=/var/lib/jinwei \
    JINWEI_NO_INSTALL=1
# Health and metrics: services 8101-8106, gateway 8080 (shared/platform/config.py).
EXPOSE 8080 8101 8102 8103 8104 8105 8106
USER 10001:10001
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "/app/deploy/docker/healthcheck.py"]
ENTRYPOINT ["/usr/bin/tini", "--", "/app/deploy/docker/entrypoint.sh"]
CMD []
