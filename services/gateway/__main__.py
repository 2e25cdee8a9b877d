"""`python -m services.gateway`: gunicorn with the gateway's configuration, as this
process (exec), so supervisord's and Kubernetes' SIGTERM reaches gunicorn itself."""

import os
import sys
from pathlib import Path

CONF = Path(__file__).with_name("gunicorn_conf.py")


def main() -> None:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    argv = [str(gunicorn), "-c", str(CONF), *sys.argv[1:]]
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
