#!/usr/bin/env bash
# Create the secrets docker-compose.yml mounts, where missing (never overwrites):
#   token-secret             JINWEI_TOKEN_SECRET: signs and verifies every token
#   personal-data-key        JINWEI_PERSONAL_DATA_KEY: seals identity numbers (cadres).
#                            Back it up with the database: without it they cannot be read.
#   postgres-password        the PostgreSQL superuser's
#   grafana-admin-password   Grafana's admin user's
#   rabbitmq-admin-password  RabbitMQ's administrator (admin: the management UI and
#                            broker-setup), and rabbitmq-admin.conf that sets it
#   broker/<account>.password  each process's broker account: jinwei (the operator),
#                            jinwei-<service>, jinwei-gateway (docs/operations.md)
# The directory is JINWEI_SECRETS_DIR (default deploy/secrets), kept 0700: the files are
# 0644 so that the containers' unprivileged user can read the bind-mounted copy, and the
# directory keeps other users of this machine out.
set -euo pipefail
dir=${JINWEI_SECRETS_DIR:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$dir"
chmod 0700 "$dir"
make_secret() {  # name, command printing the value
  local path="$dir/$1"
  if [ -s "$path" ]; then echo "keeps $path"; return; fi
  (umask 022; "${@:2}" > "$path.tmp")
  mv "$path.tmp" "$path"
  echo "created $path"
}
random_urlsafe() { python3 -c "import secrets; print(secrets.token_urlsafe($1))"; }
key32() { python3 -c "import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"; }
make_secret token-secret random_urlsafe 48
make_secret personal-data-key key32
make_secret postgres-password random_urlsafe 24
make_secret grafana-admin-password random_urlsafe 18
make_secret rabbitmq-admin-password random_urlsafe 24
admin_conf() { printf 'default_user = admin\ndefault_pass = %s\ndefault_user_tags.administrator = true\n' "$(cat "$dir/rabbitmq-admin-password")"; }
make_secret rabbitmq-admin.conf admin_conf
mkdir -p "$dir/broker"
for account in jinwei jinwei-organizations jinwei-evaluation jinwei-npe jinwei-cadres \
               jinwei-resources jinwei-accounts jinwei-gateway; do
  make_secret "broker/$account.password" random_urlsafe 24
done
