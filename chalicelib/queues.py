"""Amazon SQS adapter: the work queues of infra/definition.py, addressed by their logical names."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws, errors
from chalicelib.config import get_settings

BATCH = 10  # SQS SendMessageBatch takes at most ten entries
REDRIVE_HOLD_S = 60   # a message being redriven is hidden this long; a redrive cut short leaves it to the next one


@cache
def url(logical: str) -> str:
    """The URL of a work queue ("fanout", "send", "feedback"), looked up once."""
    try:
        return aws.client("sqs").get_queue_url(QueueName=get_settings().queue_name(logical))["QueueUrl"]
    except ClientError as exc:
        raise errors.UpstreamError(f"The {logical} queue is not reachable.") from exc


def enqueue(logical: str, body: dict[str, Any], delay_seconds: int = 0) -> None:
    """Put one message (ids only, never addresses or content) on a work queue."""
    try:
        aws.client("sqs").send_message(QueueUrl=url(logical), MessageBody=json.dumps(body),
                                       DelaySeconds=delay_seconds)
    except ClientError as exc:
        raise errors.UpstreamError(f"Could not queue work on {logical}.") from exc


def enqueue_many(logical: str, bodies: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Put (entry id, body) messages on a queue, ten per request; any refused entry raises."""
    entries = [{"Id": entry_id, "MessageBody": json.dumps(body)} for entry_id, body in bodies]
    client = aws.client("sqs")
    for start in range(0, len(entries), BATCH):
        try:
            answer = client.send_message_batch(QueueUrl=url(logical), Entries=entries[start:start + BATCH])
        except ClientError as exc:
            raise errors.UpstreamError(f"Could not queue work on {logical}.") from exc
        if answer.get("Failed"):
            raise errors.UpstreamError(f"{len(answer['Failed'])} messages were refused by the {logical} queue.")


def reset() -> None:
    """Forget looked-up queue URLs (tests that swap the emulator call this)."""
    url.cache_clear()


@dataclass
class Redriven:
    """What a redrive did: messages put back on the work queue, and how many the dead-letter queue still holds."""

    moved: int = 0
    left: int = 0


def redrive(logical: str, limit: int | None = None) -> Redriven:
    """Move up to `limit` messages (all of them when None) from the dead-letter queue of `logical` back onto it.

    Each batch is sent to the work queue first and deleted from the dead-letter queue only once the work queue
    took it, so a redrive cut short loses nothing: at worst a message is on both, and every consumer applies a
    message twice as once (their cursors and conditional writes). It moves at most what the dead-letter queue held
    when it started, so messages that fail again meanwhile are not cycled. Bodies and attributes are kept as they
    are; the messages get new ids."""
    client = aws.client("sqs")
    dead, work = url(f"{logical}-dlq"), url(logical)
    try:
        waiting = _depth(client, dead)
        target = waiting if limit is None else min(limit, waiting)
        done = Redriven()
        while done.moved < target:
            batch = client.receive_message(QueueUrl=dead, MaxNumberOfMessages=min(BATCH, target - done.moved),
                                           MessageAttributeNames=["All"], VisibilityTimeout=REDRIVE_HOLD_S,
                                           WaitTimeSeconds=1).get("Messages", [])
            if not batch:
                break
            entries = [{"Id": str(n), "MessageBody": m["Body"],
                        **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {})}
                       for n, m in enumerate(batch)]
            answer = client.send_message_batch(QueueUrl=work, Entries=entries)
            taken = [batch[int(entry["Id"])] for entry in answer.get("Successful", [])]
            if taken:
                client.delete_message_batch(QueueUrl=dead, Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(taken)])
            done.moved += len(taken)
            if answer.get("Failed"):
                raise errors.UpstreamError(f"The {logical} queue refused {len(answer['Failed'])} messages; they stay "
                                           "in its dead-letter queue.")
        done.left = _depth(client, dead)
        return done
    except ClientError as exc:
        raise errors.UpstreamError(f"The {logical} queues could not be reached: {exc.response['Error']['Code']}.") \
            from exc


def _depth(client: Any, queue_url: str) -> int:
    attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])
