"""Amazon SQS adapter: the work queues of infra/definition.py, addressed by their logical names."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Iterable

from botocore.exceptions import ClientError

from chalicelib import aws, errors
from chalicelib.config import get_settings

BATCH = 10  # SQS SendMessageBatch takes at most ten entries


@lru_cache(maxsize=None)
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
