"""List and replay the dead-letter queue of a service (`make dead-letters`).

    python -m shared.platform.dead_letters list [service ...]
    python -m shared.platform.dead_letters replay <service> (--all | <event id> ...)

The operator's account may read the dead-letter queues and nothing else of the kind:
it cannot publish anywhere but requests (shared.platform.broker.accounts). Listing fetches
the letters unacknowledged; they go back to the queue when the channel closes.
Replaying rejects a letter: the queue dead-letters it to the default exchange under
the routing key the service gave it, the handler queue it failed on, with every
property unchanged — its AMQP user_id is still the service's own, so the service
trusts it again only if it had trusted it when it dead-lettered it (a forged event
comes back refused again; shared.platform.events). Nothing is lost if the tool dies halfway.
Refused RPC requests are listed too; replaying one is refused (nobody waits for its
answer any more).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

import amqp.exceptions

from shared.platform import config
from shared.platform.broker import letters
from shared.platform.broker.connections import broker_connection, close_broker, dead_letter_count
from shared.platform.events import ATTEMPTS_HEADER, DEAD_LETTERED_ATTEMPTS_HEADER


@dataclass
class DeadLetter:
    event_id: str | None
    event_type: str | None
    kind: str | None
    handler: str | None
    queue: str | None
    attempts: int
    failed_at: str | None
    reason: str | None
    error: str | None


def _describe(message) -> DeadLetter:
    headers = message.headers or {}
    try:
        event_type = json.loads(message.body).get("type")
    except (ValueError, AttributeError, TypeError):
        event_type = None
    return DeadLetter(
        event_id=message.properties.get("message_id"), event_type=event_type,
        kind=headers.get(letters.KIND_HEADER), handler=headers.get(letters.HANDLER_HEADER),
        queue=headers.get(letters.QUEUE_HEADER),
        attempts=int(headers.get(DEAD_LETTERED_ATTEMPTS_HEADER)
                     or headers.get(ATTEMPTS_HEADER) or 0),
        failed_at=headers.get(letters.FAILED_AT_HEADER), reason=headers.get(letters.REASON_HEADER),
        error=headers.get(letters.ERROR_HEADER),
    )


def _messages(conn, service: str):
    """(channel, message) for the letters in the queue now, each once: a replayed one
    that fails at once comes back behind them and is not fetched again in this run."""
    probe = conn.channel()
    try:
        waiting = dead_letter_count(probe, service)
    finally:
        _close_channel(probe)
    channel = conn.channel()
    try:
        for _ in range(waiting):
            message = channel.basic_get(letters.dead_letter_queue(service).name, no_ack=False)
            if message is None:
                return
            yield channel, message
    finally:
        _close_channel(channel)  # what was not acknowledged or rejected goes back


def list_dead_letters(settings: config.Settings, service: str) -> list[DeadLetter]:
    conn = broker_connection(settings)
    try:
        return [_describe(m) for _, m in _messages(conn, service)]
    finally:
        close_broker(conn)


def _queue_exists(conn, name: str) -> bool:
    channel = conn.channel()
    try:
        channel.queue_declare(name, passive=True)
        return True
    except amqp.exceptions.NotFound:  # 404: the passive declare closed the channel
        return False
    finally:
        _close_channel(channel)


def replay(settings: config.Settings, service: str, event_ids: set[str] | None = None,
           skipped: list | None = None) -> int:
    """Send dead letters (all, or those with the given event ids) back to the queues they
    failed on; returns how many. Letters that cannot go back — their queue is gone, or
    they are refused RPC requests — stay in place and are appended to `skipped`."""
    skipped = [] if skipped is None else skipped
    replayed = 0
    conn = broker_connection(settings)
    try:
        for channel, message in _messages(conn, service):
            letter = _describe(message)
            if event_ids is not None and letter.event_id not in event_ids:
                continue
            if letter.kind != "event" or not letter.queue \
                    or not _queue_exists(conn, letter.queue):
                # A request nobody waits for, not one of ours, or its handler is gone
                # (renamed, removed): the default exchange would drop it. Leave it.
                skipped.append(letter)
                continue
            channel.basic_reject(message.delivery_tag, requeue=False)
            replayed += 1
    finally:
        close_broker(conn)
    return replayed


def _close_channel(channel) -> None:
    try:
        channel.close()
    except Exception:  # noqa: BLE001 - a channel the broker closed already
        pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="List or replay dead-lettered messages.")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list")
    listing.add_argument("services", nargs="*", default=list(config.SERVICES))
    again = sub.add_parser("replay")
    again.add_argument("service", choices=config.SERVICES)
    again.add_argument("event_ids", nargs="*")
    again.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    settings = config.load()
    if args.command == "list":
        for service in args.services:
            letters = list_dead_letters(settings, service)
            print(f"{service}: {len(letters)} dead letter(s)")
            for letter in letters:
                print(f"  {letter.event_id}  {letter.kind or '?'} {letter.event_type or ''}"
                      f"  handler={letter.handler}  reason={letter.reason}"
                      f"  attempts={letter.attempts}  failed_at={letter.failed_at}\n"
                      f"      {letter.error}")
        return 0
    if not args.all and not args.event_ids:
        parser.error("replay needs --all or event ids")
    skipped: list[DeadLetter] = []
    count = replay(settings, args.service, None if args.all else set(args.event_ids), skipped)
    print(f"{args.service}: replayed {count} dead letter(s)")
    for letter in skipped:
        why = "a refused request" if letter.kind == "rpc" else f"queue {letter.queue!r} is gone"
        print(f"  left in place: {letter.event_id} ({why})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
