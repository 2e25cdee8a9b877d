#!/bin/sh
# The container's process, chosen by the first argument or JINWEI_SERVICE, exec'd so
# that it (not this shell) receives SIGTERM from tini.
#   organizations|evaluation|npe|cadres|resources|accounts
#                                                   python -m shared.platform.runner <service>
#   gateway                                         python -m services.gateway (gunicorn)
#   migrate                                         python -m shared.platform.migrate (then exits)
#   broker-setup                                    the broker accounts, posted to the
#                                                   management API (then exits)
#   anything else                                   run as given (e.g. `jinwei health`)
set -eu
if [ "$#" -gt 0 ]; then
  process=$1
  shift
else
  process=${JINWEI_SERVICE:-}
fi
case "$process" in
  "")
    echo "jinwei: name the process (SERVICE build arg, JINWEI_SERVICE, or an argument):" \
         "organizations, evaluation, npe, cadres, resources, accounts, gateway, migrate or" \
         "broker-setup" >&2
    exit 64 ;;
  gateway)
    exec python -m services.gateway "$@" ;;
  migrate)
    exec python -m shared.platform.migrate "$@" ;;
  broker-setup)
    exec python -m shared.platform.broker.definitions --apply "${RABBITMQ_MANAGEMENT_URL:-http://rabbitmq:15672}" \
      --admin-user "${RABBITMQ_ADMIN_USER:-admin}" \
      --admin-password-file "${RABBITMQ_ADMIN_PASSWORD_FILE:-/run/secrets/rabbitmq_admin_password}" \
      --passwords-dir "${JINWEI_BROKER_PASSWORDS_DIR:-/run/secrets/broker}" "$@" ;;
  organizations|evaluation|npe|cadres|resources|accounts)
    exec python -m shared.platform.runner "$process" "$@" ;;
  *)
    exec "$process" "$@" ;;
esac
