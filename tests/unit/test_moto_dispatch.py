"""The emulator's dispatch (local/moto_dispatch.py) lists the method names moto lists, and requests still reach
their methods."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import responses
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.responses import SQSResponse

from local import moto_dispatch


def test_the_names_listed_once_are_the_names_moto_lists():
    for clazz in (DynamoHandler, SQSResponse):
        assert moto_dispatch.method_names_from_class(clazz) == moto_dispatch._original(clazz)
    assert "update_item" in moto_dispatch.method_names_from_class(DynamoHandler)


def test_with_the_names_listed_once_actions_reach_their_methods_and_unknown_ones_are_refused(monkeypatch):
    # Given the dispatch that lists each class's methods once
    monkeypatch.setattr(responses, "method_names_from_class", moto_dispatch.method_names_from_class)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
        # When a queue is made and a message goes through it
        url = sqs.create_queue(QueueName="dispatched")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        received = sqs.receive_message(QueueUrl=url)["Messages"]
        # Then each action reached its method
        assert [m["Body"] for m in received] == ["hello"]
        # And an action on a queue that is not there is refused as before
        with pytest.raises(ClientError):
            sqs.get_queue_attributes(QueueUrl=url + "-missing")
