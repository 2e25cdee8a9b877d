#!/bin/sh
# The container's process, chosen by the first argument or JINWEI_SERVICE, exec'd so
# that it (not this shell) receives SIGTERM from tini.
#   organizations|evaluation|npe|cadres|resources   python -m shared.runner <service>
#   gateway                                         python -m services.gateway (gunicorn)
#   migrate                                         python -m shared.migrate (then exits)
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
         "organizations, evaluation, npe, cadres, resources, gateway or migrate" >&2
    exit 64 ;;
  gateway)
    exec python -m services.gateway "$@" ;;
  migrate)
    exec python -m shared.migrate "$@" ;;
  organizations|evaluation|npe|cadres|resources)
    exec python -m shared.runner "$process" "$@" ;;
  *)
    exec "$process" "$@" ;;
esac
