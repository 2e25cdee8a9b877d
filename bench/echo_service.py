"""The bare nameko service the RPC benchmark measures against: one method that returns
its argument, on the same broker, with nothing of ours in the way."""

import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402

from nameko.cli.run import run  # noqa: E402
from nameko.rpc import rpc  # noqa: E402


class EchoService:
    name = "echo"

    @rpc
    def echo(self, value):
        return value


if __name__ == "__main__":
    from shared.platform.broker.tls import client_options

    ca_file = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    run([EchoService], {"AMQP_URI": sys.argv[1], "max_workers": 10,
                        "AMQP_SSL": client_options(sys.argv[1], ca_file=ca_file)})
