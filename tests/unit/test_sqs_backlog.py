"""The emulator's SQS sends and listings (local/sqs_backlog.py) store and hand out what moto's own do."""
from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs.models import Queue, SQSBackend, sqs_backends

from local import sqs_backlog

REGION = "eu-west-1"
FIELDS = ("body", "message_attributes", "deduplication_id", "group_id", "system_attributes")


def sends(sqs: Any) -> list[Any]:
    """Messages sent every way the service and SNS send them, to a standard and a FIFO queue; what was stored,
    what a receive hands out, and the errors."""
    backend = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
    plain = sqs.create_queue(QueueName="plain", Attributes={"DelaySeconds": "0"})["QueueUrl"]
    delayed = sqs.create_queue(QueueName="delayed", Attributes={"DelaySeconds": "5"})["QueueUrl"]
    fifo = sqs.create_queue(QueueName="ordered.fifo", Attributes={"FifoQueue": "true",
                                                                  "ContentBasedDeduplication": "true"})["QueueUrl"]
    seen: list[Any] = []
    sqs.send_message(QueueUrl=plain, MessageBody="one")
    sqs.send_message(QueueUrl=plain, MessageBody="two", DelaySeconds=3, MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "event"}})
    sqs.send_message_batch(QueueUrl=plain, Entries=[{"Id": str(n), "MessageBody": f"batch-{n}"} for n in range(3)])
    sqs.send_message(QueueUrl=delayed, MessageBody="held by the queue's delay")
    sqs.send_message(QueueUrl=fifo, MessageBody="first", MessageGroupId="g")
    sqs.send_message(QueueUrl=fifo, MessageBody="first", MessageGroupId="g")   # deduplicated by content
    try:
        sqs.send_message(QueueUrl=plain, MessageBody="too late", DelaySeconds=901)
    except ClientError as exc:
        seen.append(exc.response["Error"]["Code"])
    for name in ("plain", "delayed", "ordered.fifo"):
        queue = backend.get_queue(name)
        seen.append([tuple(getattr(m, f) for f in FIELDS) + (m.delayed,) for m in queue._messages])
        seen.append([m.body for m in queue.messages])
    seen.append(sorted(m["Body"] for m in sqs.receive_message(QueueUrl=plain, MaxNumberOfMessages=10)["Messages"]))
    seen.append(sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["ApproximateNumberOfMessages",
                                                                          "ApproximateNumberOfMessagesNotVisible",
                                                                          "ApproximateNumberOfMessagesDelayed"]
                                        )["Attributes"])
    return seen


def test_sends_and_listings_store_and_hand_out_what_moto_does(monkeypatch):
    # Given what moto's own send and listing store and hand out
    monkeypatch.setattr(SQSBackend, "send_message", sqs_backlog._original_send)
    monkeypatch.setattr(Queue, "messages", sqs_backlog._original_messages)
    with mock_aws():
        expected = sends(boto3.client("sqs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"))

    # When the same is done with the send and listing that do not walk the queue
    monkeypatch.setattr(SQSBackend, "send_message", sqs_backlog.send_message)
    monkeypatch.setattr(Queue, "messages", property(sqs_backlog.messages))
    with mock_aws():
        got = sends(boto3.client("sqs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"))

    # Then the same messages were stored, listed, received and counted, and the same sends refused
    assert got == expected
    assert got[0] == "InvalidParameterValue"
    assert got[-2] == ["batch-0", "batch-1", "batch-2", "one"]   # "two" is still delayed
    assert got[-1] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "4",
                       "ApproximateNumberOfMessagesDelayed": "1"}


def test_a_send_to_a_standard_queue_does_not_build_the_queue_attributes(monkeypatch):
    # Given a standard queue holding a backlog, whose attributes would count every message
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        sqs.create_queue(QueueName="backlog")
        backend = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
        built = []
        original = Queue.attributes

        def counted(queue: Queue) -> dict[str, Any]:
            built.append(queue.name)
            return original.fget(queue)   # type: ignore[attr-defined]

        monkeypatch.setattr(Queue, "attributes", property(counted))
        # When messages are sent to it the emulator's way
        for n in range(5):
            sqs_backlog.send_message(backend, "backlog", f"event-{n}")
        # Then they are queued without building its attributes once
        assert built == [] and len(backend.get_queue("backlog")._messages) == 5
        # while moto's own send builds them for every message
        sqs_backlog._original_send(backend, "backlog", "event-5")
        assert built


@pytest.fixture(autouse=True)
def as_moto_was():
    send, listing = SQSBackend.__dict__["send_message"], Queue.__dict__["messages"]
    yield
    SQSBackend.send_message, Queue.messages = send, listing   # type: ignore[method-assign]
