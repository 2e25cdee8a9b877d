"""gunicorn's configuration for the gateway. (gunicorn reads every public module-level
name as a setting: everything else here starts with an underscore.)

The configuration (`python -m services.gateway` execs gunicorn
with it). gthread workers: gunicorn 26+ has no eventlet worker, and each thread keeps its
own broker connection (shared/platform/rpc_client.py, RpcClient).

Sizing: JINWEI_GATEWAY_WORKERS processes × JINWEI_GATEWAY_THREADS threads is how many
requests are in flight at once; each thread holds one broker connection.
"""

import os as _os
import shutil as _shutil
import warnings as _warnings
from pathlib import Path as _Path

_warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")

from shared.platform import config as _config  # noqa: E402 - a bare `config` would be read as a setting

_settings = _config.load()
_metrics_dir = _Path(_os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(_Path(_settings.var_dir).absolute() / "gateway-metrics")))

bind = f"{_settings.http_host}:{_settings.http_ports['gateway']}"
worker_class = "gthread"
workers = int(_os.environ.get("JINWEI_GATEWAY_WORKERS", 2))
threads = int(_os.environ.get("JINWEI_GATEWAY_THREADS", 8))
# A worker that stops answering its arbiter for this long is restarted. Requests are
# bounded well below it: every RPC has JINWEI_RPC_TIMEOUT.
timeout = int(_settings.rpc_timeout * 3 + 30)
graceful_timeout = int(_os.environ.get("JINWEI_GATEWAY_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# gunicorn reads the request line and headers before the application sees anything: it
# refuses (400) what is past these as it reads. Unbounded (0), a 50 MB request line took
# minutes to parse. 8190 is the most gunicorn allows; query strings longer than that
# have no use here (a filter list goes in a POST body).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# A restarted master binds at once even while the old workers still hold the port.
reuse_port = True
max_requests = 0
accesslog = _os.environ.get("JINWEI_GATEWAY_ACCESS_LOG") or None
# The path without its query string (%(U)s, not %(r)s): no parameter value reaches a log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%({x-request-id}o)s"'
errorlog = "-"
loglevel = _os.environ.get("JINWEI_GATEWAY_LOG_LEVEL", "info")
proc_name = "jinwei-gateway"
wsgi_app = "services.gateway.app:create_app()"


def on_starting(server):
    # Files of an earlier run would add its counts to this one's.
    _shutil.rmtree(_metrics_dir, ignore_errors=True)
    _metrics_dir.mkdir(parents=True, exist_ok=True)


def pre_request(worker, req):
    # The application may end the connection instead of letting gunicorn read a body it
    # refused (services/gateway/connection.py).
    from services.gateway import connection

    connection.remember(req)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
