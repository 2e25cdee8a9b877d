"""What the benchmarks share: percentiles, and waiting for a process to be ready.

Benchmarks run as scripts (`python bench/x.py`), so this is imported as `common`."""

import time
import urllib.request


def percentile(values, fraction):
    """The value at `fraction` (0–1) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def wait_ready(port: int, timeout: float = 90, path: str = "/health/ready") -> None:
    """Until http://127.0.0.1:`port``path` answers 200; SystemExit after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the process on port {port} did not become ready (see bench/out/*.log)")


class BenchBroker:
    """A vhost of the bench's own, provisioned as `make run` provisions one: each of our
    services on its own least-privilege account (it trusts only events RabbitMQ vouches
    for), the operator's account for our callers (direct reply-to), and one account with
    every permission for the bare nameko services and proxies the figures stand beside.

    `tls`: on a private node of its own that speaks AMQP over TLS only (a local CA);
    `private`: a private node with plain AMQP (the fair baseline for TLS's cost);
    otherwise the broker AMQP_URI names."""

    def __init__(self, run_id: str, service_classes, *, broker: str = "machine",
                 gateway: bool = False):
        self.run_id, self.classes, self.broker = run_id, list(service_classes), broker
        self.gateway = gateway
        self.prefix = f"{run_id}-"
        self.node = None
        self.tmp = None

    def __enter__(self):
        import secrets
        import tempfile
        from pathlib import Path
        from urllib.parse import urlsplit

        from shared.platform import config
        from shared.platform.broker import accounts, topology
        from shared.platform.broker.tls import LocalAuthority, client_options
        from tools.launcher import local, provision
        from tools.launcher.system import free_port

        host, port, scheme, node = "127.0.0.1", None, "amqp", None
        ca_file = None
        if self.broker in ("private", "private-tls"):
            self.tmp = Path(tempfile.mkdtemp(prefix="jinwei-bench-broker-"))
            tls = None
            if self.broker == "private-tls":
                tls = LocalAuthority(self.tmp / "tls").ensure()
                scheme, ca_file = "amqps", tls.ca_file
            self.node = local.start_rabbitmq(free_port(), self.tmp, tls=tls)
            port, node = self.node.port, self.node.node
        else:
            base = urlsplit(config.load().amqp_uri)
            host, port, scheme = base.hostname, base.port or 5672, base.scheme
        self.node_name = node
        self.admin_uri = (f"{scheme}://{self.run_id}:{secrets.token_hex(8)}@{host}:{port}"
                          f"/{self.run_id}")
        provision.ensure_vhost(self.admin_uri, node=node)
        names = [cls.name for cls in self.classes]
        grants = [topology.grant_for_service(self.prefix, cls) for cls in self.classes]
        operator = self.prefix + "operator"
        grants.append(accounts.client_grant(operator, {name: None for name in names}))
        if self.gateway:
            grants.append(accounts.client_grant(self.prefix + "gateway",
                                                {name: None for name in names}))
        self.passwords = {g.account: secrets.token_hex(12) for g in grants}
        provision.ensure_accounts(self.admin_uri, [topology.Account(g, self.passwords[g.account])
                                                   for g in grants], node=node,
                                  ssl_options=client_options(self.admin_uri, ca_file=ca_file))
        self.uris = {g.account: config.with_credentials(self.admin_uri, g.account,
                                                        self.passwords[g.account])
                     for g in grants}
        self.ca_file = ca_file
        self.ssl = client_options(self.admin_uri, ca_file=ca_file)
        self.operator_uri = self.uris[operator]
        base = config.load({"JINWEI_VAR_DIR": str(self.tmp or "/nonexistent"),
                            **({"JINWEI_AMQP_CA_FILE": str(ca_file)} if ca_file else {})})
        # our callers: the operator's account
        self.settings = base.with_overrides(amqp_uri=self.operator_uri,
                                            broker_account_prefix=self.prefix)
        return self

    def env(self, service: str) -> dict:
        """What a process of one of our services needs to run on its own account."""
        env = {"AMQP_URI": self.uris[self.prefix + service],
               "JINWEI_BROKER_ACCOUNT_PREFIX": self.prefix}
        if self.ca_file:
            env["JINWEI_AMQP_CA_FILE"] = str(self.ca_file)
        return env

    def bare_config(self) -> dict:
        """nameko's config for the bare reference services and their proxies."""
        return {"AMQP_URI": self.admin_uri, "AMQP_SSL": self.ssl, "serializer": "json"}

    def __exit__(self, *exc):
        import shutil

        from tools.launcher import provision

        if self.node is not None:
            self.node.destroy()
        else:
            provision.delete_vhost(self.admin_uri, delete_user=True)
            provision.delete_accounts_with_prefix(self.admin_uri, self.prefix)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
