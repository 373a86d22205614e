"""The emulator's retention check (local/sqs_retention.py) answers what moto's own does, and receiving still
leaves out messages past their queue's retention period."""
from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs.models import sqs_backends

from local import sqs_retention

REGION = "eu-west-1"


@pytest.fixture
def sqs():
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")


def test_the_direct_check_answers_what_moto_answers_for_young_and_expired_messages(sqs):
    # Given queues with several retention periods, holding a message sent now and messages sent long ago
    backend = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
    cases = []
    for retention in (60, 3600, 1_209_600):
        name = f"retained-{retention}"
        url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": str(retention)})["QueueUrl"]
        for _ in range(3):
            sqs.send_message(QueueUrl=url, MessageBody="x")
        messages = list(backend.get_queue(name)._messages)
        messages[1].sent_timestamp -= (retention - 30) * 1000   # still within it
        messages[2].sent_timestamp -= (retention + 30) * 1000   # past it
        cases += [(name, message) for message in messages]

    # Then both checks give the same answers: young and within retention kept, past it not
    original = [sqs_retention._original(backend, name, message) for name, message in cases]
    direct = [sqs_retention.is_message_valid_based_on_retention_period(backend, name, message)
              for name, message in cases]
    assert direct == original == [True, True, False] * 3


def test_with_the_direct_check_installed_a_receive_leaves_out_expired_messages(sqs, monkeypatch):
    # Given the direct check in use, and a queue with a fresh message and, after it, an expired one
    monkeypatch.setattr(sqs_retention, "_installed", False)
    monkeypatch.setattr(sqs_retention.SQSBackend, "is_message_valid_based_on_retention_period",
                        sqs_retention._original)
    sqs_retention.install()
    url = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="fresh")
    sqs.send_message(QueueUrl=url, MessageBody="expired")
    backend = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.get_queue("short")._messages[1].sent_timestamp -= 120_000

    # When both are received
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    # Then only the fresh one is handed out
    assert [m["Body"] for m in received] == ["fresh"]
