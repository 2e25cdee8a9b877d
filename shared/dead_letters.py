"""List and replay the dead-letter queue of a service (`make dead-letters`).

    python -m shared.dead_letters list [service ...]
    python -m shared.dead_letters replay <service> (--all | <event id> ...)

Listing does not consume: the messages are fetched unacknowledged and go back to the
queue when the channel closes. Replaying republishes a message (publisher confirms)
onto the handler queue it failed on, with its attempt count reset, and only then
acknowledges it in the dead-letter queue: nothing is lost if the tool dies halfway.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

import kombu
import kombu.exceptions

from shared import config
from shared.db import close_quietly
from shared.events import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    HANDLER_HEADER,
    QUEUE_HEADER,
    dead_letter_count,
    dead_letter_queue,
)


@dataclass
class DeadLetter:
    event_id: str | None
    event_type: str | None
    handler: str | None
    queue: str | None
    attempts: int
    failed_at: str | None
    error: str | None


def _connection(amqp_uri: str) -> kombu.Connection:
    return kombu.Connection(amqp_uri, transport_options={"confirm_publish": True},
                            connect_timeout=5)


def _describe(message) -> DeadLetter:
    headers = message.headers or {}
    try:
        event_type = json.loads(message.body).get("type")
    except (ValueError, AttributeError):
        event_type = None
    return DeadLetter(
        event_id=message.properties.get("message_id"), event_type=event_type,
        handler=headers.get(HANDLER_HEADER), queue=headers.get(QUEUE_HEADER),
        attempts=int(headers.get(ATTEMPTS_HEADER, 0)), failed_at=headers.get(FAILED_AT_HEADER),
        error=headers.get(ERROR_HEADER),
    )


def _messages(channel, service: str):
    """The messages in the queue now, each once: a replayed one that fails at once
    comes back to the queue behind them and is not fetched again in this run."""
    waiting = dead_letter_count(channel, service)  # declares it, so an unused one lists
    queue_name = dead_letter_queue(service).name
    for _ in range(waiting):
        message = channel.basic_get(queue_name, no_ack=False)
        if message is None:
            return
        yield message


def list_dead_letters(amqp_uri: str, service: str) -> list[DeadLetter]:
    with _connection(amqp_uri) as conn:
        channel = conn.channel()
        try:
            return [_describe(m) for m in _messages(channel, service)]
        finally:
            channel.close()  # unacknowledged messages return to the queue


def _queue_exists(conn, name: str) -> bool:
    channel = conn.channel()
    try:
        channel.queue_declare(name, passive=True)
        return True
    except kombu.exceptions.ChannelError:  # 404: the passive declare closed the channel
        return False
    finally:
        close_quietly(channel)


def replay(amqp_uri: str, service: str, event_ids: set[str] | None = None,
           skipped: list | None = None) -> int:
    """Republish dead letters (all, or those with the given event ids) onto the queues
    they failed on; returns how many. Letters whose queue is gone are left in place and
    appended to `skipped`."""
    skipped = [] if skipped is None else skipped
    replayed = 0
    with _connection(amqp_uri) as conn:
        channel = conn.channel()
        producer = kombu.Producer(conn.channel())
        try:
            for message in _messages(channel, service):
                letter = _describe(message)
                if event_ids is not None and letter.event_id not in event_ids:
                    continue
                if not letter.queue or not _queue_exists(conn, letter.queue):
                    # Not one of ours, or its handler is gone (renamed, removed): the
                    # default exchange would drop it silently. Leave it for a human.
                    skipped.append(letter)
                    continue
                headers = {k: v for k, v in (message.headers or {}).items()
                           if not k.startswith("x-")}
                producer.publish(
                    message.body, exchange="", routing_key=letter.queue, headers=headers,
                    content_type=message.properties.get("content_type", "application/json"),
                    content_encoding=message.properties.get("content_encoding", "utf-8"),
                    message_id=letter.event_id, delivery_mode=2,
                )
                channel.basic_ack(message.delivery_tag)
                replayed += 1
        finally:
            channel.close()
    return replayed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="List or replay dead-lettered events.")
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
        total = 0
        for service in args.services:
            letters = list_dead_letters(settings.amqp_uri, service)
            total += len(letters)
            print(f"{service}: {len(letters)} dead letter(s)")
            for letter in letters:
                print(f"  {letter.event_id}  {letter.event_type}  handler={letter.handler}"
                      f"  attempts={letter.attempts}  failed_at={letter.failed_at}\n"
                      f"      {letter.error}")
        return 0
    if not args.all and not args.event_ids:
        parser.error("replay needs --all or event ids")
    skipped: list[DeadLetter] = []
    count = replay(settings.amqp_uri, args.service, None if args.all else set(args.event_ids),
                   skipped)
    print(f"{args.service}: replayed {count} dead letter(s)")
    for letter in skipped:
        print(f"  left in place: {letter.event_id} (queue {letter.queue!r} does not exist)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
