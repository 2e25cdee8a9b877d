"""Run one or more services in this process: `python -m shared.platform.runner organizations`.

What `nameko run` does (eventlet monkey patching first, SIGTERM → graceful stop), but
with the configuration built by shared.platform.config from the environment, so one place
holds every default, each service on its own broker account (shared.platform.containers), and
a stop that always ends: SIGTERM arms a watchdog that exits the process when the
graceful stop overruns JINWEI_SHUTDOWN_TIMEOUT (50 s, inside Kubernetes' 60). Started
under `exec` (Dockerfile, supervisord), SIGTERM reaches it.
"""

import eventlet

eventlet.monkey_patch()  # before anything else imports socket or threading

import argparse  # noqa: E402
import errno  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from shared.platform import config, logs  # noqa: E402
from shared.platform.containers import WATCHDOG, Runner, service_class  # noqa: E402

__all__ = ["main", "service_class"]


def serve(runner: Runner) -> None:
    def shutdown(signum, frame):
        # Signal handlers run in the main loop and cannot use eventlet primitives.
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    # As nameko's `run`: the signal can interrupt the main greenlet's wait (EINTR).
    waiting = eventlet.spawn(runner.wait)
    while True:
        try:
            waiting.wait()
            return
        except OSError as exc:
            if exc.errno != errno.EINTR:
                raise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("services", nargs="+", choices=config.SERVICES)
    args = parser.parse_args(argv)
    settings = config.load()
    if not settings.token_secrets:
        sys.exit("no token secret: set JINWEI_TOKEN_SECRET or JINWEI_TOKEN_SECRET_FILE")
    logs.configure(service=",".join(args.services))
    try:
        runner = Runner(settings)
        for name in args.services:
            runner.add_service(service_class(name))
    except config.MissingBrokerAccount as exc:
        sys.exit(f"jinwei: {exc}")
    WATCHDOG.enabled = True
    try:
        serve(runner)
    except Exception:
        # A container died (its error is logged): the others are stopped by nameko;
        # the supervisor restarts the process.
        WATCHDOG.arm(settings.shutdown_timeout_s, "stopping after an error")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
