"""Run one or more services in this process: `python -m shared.runner organizations`.

What `nameko run` does (eventlet monkey patching first, SIGTERM → graceful stop), but
with the configuration built by shared.config from the environment, so one place
holds every default. Started under `exec` (Dockerfile, supervisord), SIGTERM reaches it.
"""

import eventlet

eventlet.monkey_patch()  # before anything else imports socket or threading

import argparse  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402

from nameko.cli.run import run  # noqa: E402

from shared import config, logs  # noqa: E402


def service_class(name: str):
    module = importlib.import_module(f"services.{name}.service")
    return module.SERVICE


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("services", nargs="+", choices=config.SERVICES)
    args = parser.parse_args(argv)
    settings = config.load()
    if not settings.token_secrets:
        sys.exit("no token secret: set JINWEI_TOKEN_SECRET or JINWEI_TOKEN_SECRET_FILE")
    logs.configure(service=",".join(args.services))
    run([service_class(name) for name in args.services], settings.nameko_config())
    return 0


if __name__ == "__main__":
    sys.exit(main())
