#!/usr/bin/env bash
# The tools the operations tests (tests/ops) validate with, from Debian's packages:
#   docker-compose  (package docker-compose)  `docker-compose config -q` on docker-compose.yml
#   promtool        (package prometheus)      `promtool check rules` / `promtool test rules`
#   prometheus      (package prometheus)      the real Prometheus the must-show test starts
# and kubernetes-validate in the venv when the lock did not bring it (a fallback: the
# pinned version belongs in the dev extras).
#
# Installs only what is missing, only as root, and never starts a daemon: the package's
# own Prometheus service is kept from starting (policy-rc.d), the tests start their own.
# Not root and something missing: says which, exits 0 (the tests skip with that reason).
#
#   bash deploy/install-ops-tools.sh            # from the repository root (.ci/run does)
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VALIDATE_VERSION=1.37.0
VENV=${VENV:-.venv}

missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
{ command -v promtool >/dev/null && command -v prometheus >/dev/null; } || missing+=(prometheus)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-ops-tools: missing ${missing[*]}; install as root:" \
         "apt-get install -y --no-install-recommends ${missing[*]} (tests/ops skips what needs them)" >&2
  else
    echo "install-ops-tools: installing ${missing[*]} with apt-get"
    created_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      # Debian's prometheus package starts its daemon on :9090 after install; not here.
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      created_policy=1
    fi
    trap '[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import kubernetes_validate' 2>/dev/null; then
  echo "install-ops-tools: installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into $VENV"
  "$VENV/bin/pip" install --disable-pip-version-check -q "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

for tool in docker-compose promtool prometheus kubectl; do
  if command -v "$tool" >/dev/null; then
    echo "install-ops-tools: $tool: $(command -v "$tool")"
  else
    echo "install-ops-tools: $tool: absent"
  fi
done
