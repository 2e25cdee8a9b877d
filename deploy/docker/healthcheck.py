"""The image's HEALTHCHECK: 0 when this container's process answers /health/ready.

The process is JINWEI_SERVICE (or the first argument); its port comes from the same
configuration the process reads (shared/platform/config.py). The one-shot migration and ad hoc
commands have no health port: always healthy."""

import os
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # /app in the image

from shared.platform import config  # noqa: E402


def main() -> int:
    service = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("JINWEI_SERVICE", "")
    if service not in config.DEFAULT_HTTP_PORTS:
        return 0
    port = config.load().http_ports[service]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
            return 0 if r.status == 200 else 1
    except OSError as exc:
        print(f"{service} not ready: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
