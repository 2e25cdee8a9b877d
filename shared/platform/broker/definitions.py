"""The broker's accounts as a RabbitMQ definitions document, for brokers that `make run`
does not provision itself (compose, Kubernetes, a managed RabbitMQ).

    python -m shared.platform.broker.definitions > definitions.json
        the vhost of AMQP_URI, the operator's account (AMQP_URI's user), the gateway's
        and every service's, with their least permissions (shared.platform.broker.accounts) and
        password hashes; passwords from --passwords-dir (files `<account>.password`,
        default var/broker, as `make run` keeps them). Import it with
        `rabbitmqctl import_definitions definitions.json`, the management UI, or
        `load_definitions` in rabbitmq.conf.
    python -m shared.platform.broker.definitions --apply http://rabbitmq:15672 \\
        --admin-user admin --admin-password-file /run/secrets/rabbitmq_admin_password
        the same, posted to the management API (compose's one-shot `broker-setup`).

Re-applying is safe: an account that exists gets the password and permissions given.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

from shared.platform import config
from shared.platform.broker import topology
from shared.platform.containers import service_class


def read_passwords(directory: Path, accounts: list[str]) -> dict[str, str]:
    passwords, missing = {}, []
    for account in accounts:
        path = directory / f"{account}.password"
        try:
            passwords[account] = path.read_text().strip()
        except OSError:
            missing.append(str(path))
    if missing:
        raise SystemExit("jinwei: no password file for: " + ", ".join(missing))
    return passwords


def document(settings: config.Settings, passwords_dir: Path) -> dict:
    operator = config.amqp_user(settings.amqp_uri)
    grants = topology.deployment_grants(settings.broker_account_prefix, operator,
                                        [service_class(s) for s in config.SERVICES])
    passwords = read_passwords(passwords_dir, [g.account for g in grants])
    vhost = _vhost(settings.amqp_uri)
    return topology.definitions(vhost, [topology.Account(g, passwords[g.account])
                                        for g in grants])


def apply(url: str, admin_user: str, admin_password: str, body: dict) -> None:
    """POST the document to the management API (it merges: what exists is updated)."""
    request = urllib.request.Request(
        url.rstrip("/") + "/api/definitions", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Basic " + base64
                 .b64encode(f"{admin_user}:{admin_password}".encode()).decode()})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"jinwei: the management API refused the definitions: {exc.code} "
                         f"{exc.read()[:500]!r}") from None


def _vhost(amqp_uri: str) -> str:
    path = urlsplit(amqp_uri).path
    return unquote(path[1:] if path.startswith("/") else path) or "/"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passwords-dir", type=Path,
                        help="files <account>.password (default: var/broker)")
    parser.add_argument("--apply", metavar="MANAGEMENT_URL",
                        help="post to the management API instead of printing")
    parser.add_argument("--admin-user", default="admin")
    parser.add_argument("--admin-password-file", type=Path)
    args = parser.parse_args(argv)
    settings = config.load()
    body = document(settings, args.passwords_dir or Path(settings.var_dir) / "broker")
    if not args.apply:
        json.dump(body, sys.stdout, indent=2)
        print()
        return 0
    if not args.admin_password_file:
        parser.error("--apply needs --admin-password-file")
    apply(args.apply, args.admin_user, args.admin_password_file.read_text().strip(), body)
    print(f"jinwei: {len(body['users'])} accounts applied to vhost "
          f"{body['vhosts'][0]['name']!r} at {args.apply}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
