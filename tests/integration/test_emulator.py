"""The embedded emulator serves every service on one port, survives concurrent clients, and lets go of its port."""
from __future__ import annotations

import socket
import threading

import boto3
import pytest
from botocore.config import Config

from local.emulator import Emulator, PortInUse
from local.launcher import free_ports


@pytest.fixture
def emulator():
    (port,) = free_ports(1)
    running = Emulator("127.0.0.1", port)
    running.start()
    yield running
    running.stop()


def client(emulator: Emulator, service: str):
    return boto3.client(service, endpoint_url=emulator.url, region_name="eu-west-1", aws_access_key_id="local",
                        aws_secret_access_key="local", config=Config(retries={"max_attempts": 1}))


def test_concurrent_dynamodb_transactions_all_succeed_without_retries(emulator):
    # Given a table and eight clients that do not retry
    dynamodb = client(emulator, "dynamodb")
    dynamodb.create_table(TableName="load", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    failures: list[str] = []

    def write(worker: int) -> None:
        for n in range(60):
            try:
                dynamodb.transact_write_items(TransactItems=[
                    {"Put": {"TableName": "load", "Item": {"k": {"S": f"{worker}-{n}"}, "v": {"S": "x" * 200}}}},
                ])
            except Exception as exc:  # any failure is what this test is about
                failures.append(type(exc).__name__)

    # When they all write at once (moto alone fails some: its backends are not thread-safe)
    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every write succeeded
    assert failures == []
    assert dynamodb.scan(TableName="load", Select="COUNT")["Count"] == 480


def test_sqs_long_polls_do_not_hold_up_other_services(emulator):
    sqs, sns = client(emulator, "sqs"), client(emulator, "sns")
    url = sqs.create_queue(QueueName="idle")["QueueUrl"]
    waiting = threading.Thread(target=sqs.receive_message, kwargs={"QueueUrl": url, "WaitTimeSeconds": 3})
    waiting.start()
    try:
        sns.create_topic(Name="meanwhile")  # answered while the long poll is still waiting
        assert waiting.is_alive()
    finally:
        waiting.join()


def test_a_taken_port_is_reported_and_a_stopped_emulator_frees_its_port():
    (port,) = free_ports(1)
    first = Emulator("127.0.0.1", port)
    first.start()
    try:
        with pytest.raises(PortInUse, match="MAILROOM_EMULATOR_PORT"):
            Emulator("127.0.0.1", port).start()
    finally:
        first.stop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))
