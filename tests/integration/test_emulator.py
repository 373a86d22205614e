"""The embedded emulator serves every service on one port, survives concurrent clients, and lets go of its port."""
from __future__ import annotations

import socket
import threading

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from local.emulator import Emulator, PortInUse, signed_service
from local.launcher import free_ports


@pytest.fixture
def emulator():
    (port,) = free_ports(1)
    running = Emulator("127.0.0.1", port)
    running.start()
    yield running
    running.stop()


def client(emulator: Emulator, service: str):
    """A client of a session of its own, made now (so it calls a running emulator in this process)."""
    return boto3.session.Session().client(service, endpoint_url=emulator.url, region_name="eu-west-1",
                                          aws_access_key_id="local", aws_secret_access_key="local",
                                          config=Config(retries={"max_attempts": 1}))


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
            except Exception as exc:  # noqa: BLE001 - any failure is what this test is about
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


def _answer(call) -> tuple[str, object]:
    """What a client call gave back, without what differs between any two calls (ids, dates)."""
    try:
        answer = call()
    except ClientError as exc:
        return "error", {key: value for key, value in exc.response.items() if key != "ResponseMetadata"}
    answer.pop("ResponseMetadata")
    return "answer", answer


def test_the_processs_own_calls_get_the_answers_they_get_over_http_without_the_socket():
    # Given clients made before the emulator started (they call it over HTTP) and after (in this process)
    (port,) = free_ports(1)
    emulator = Emulator("127.0.0.1", port)
    url = f"http://127.0.0.1:{port}"
    over_http = {service: boto3.client(service, endpoint_url=url, region_name="eu-west-1", aws_access_key_id="local",
                                       aws_secret_access_key="local") for service in ("dynamodb", "sqs", "sesv2")}
    emulator.start()
    try:
        in_process = {service: client(emulator, service) for service in over_http}
        over_http["dynamodb"].create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
        queue = over_http["sqs"].create_queue(QueueName="q")["QueueUrl"]
        raw = b"From: news@example.eu\r\nTo: reader@example.org\r\nSubject: Hello \xc3\xa9\r\n\r\nHi\r\n"
        calls = {
            "put": lambda c: c["dynamodb"].put_item(TableName="t", Item={"k": {"S": "a"}, "v": {"N": "1"}},
                                                    ConditionExpression="attribute_not_exists(k)"),
            "get": lambda c: c["dynamodb"].get_item(TableName="t", Key={"k": {"S": "a"}}),
            "update": lambda c: c["dynamodb"].update_item(
                TableName="t", Key={"k": {"S": "a"}}, UpdateExpression="ADD v :one",
                ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW"),
            "cancelled": lambda c: c["dynamodb"].transact_write_items(TransactItems=[{"Put": {
                "TableName": "t", "Item": {"k": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(k)"}}]),
            "no table": lambda c: c["dynamodb"].get_item(TableName="missing", Key={"k": {"S": "a"}}),
            "wrong key": lambda c: c["dynamodb"].get_item(TableName="t", Key={"other": {"S": "a"}}),
            "bad expression": lambda c: c["dynamodb"].update_item(
                TableName="t", Key={"k": {"S": "a"}}, UpdateExpression="SET v = ",
                ExpressionAttributeValues={":one": {"N": "1"}}),
            "queue url": lambda c: c["sqs"].get_queue_url(QueueName="q"),
            "send": lambda c: c["sqs"].send_message(QueueUrl=queue, MessageBody="ünïcode body"),
            "unverified": lambda c: c["sesv2"].send_email(
                FromEmailAddress="news@example.eu", Destination={"ToAddresses": ["reader@example.org"]},
                Content={"Raw": {"Data": raw}}),
            "sent": lambda c: c["sesv2"].send_email(
                FromEmailAddress="news@mailroom.eu", Destination={"ToAddresses": ["reader@example.org"]},
                Content={"Raw": {"Data": raw.replace(b"example.eu", b"mailroom.eu")}}),
        }
        over_http["sesv2"].create_email_identity(EmailIdentity="mailroom.eu")

        # When the item is put in this process, and then each call is made both ways
        assert _answer(lambda: calls["put"](in_process)) == ("answer", {})
        answers = {name: (_answer(lambda call=call: call(over_http)), _answer(lambda call=call: call(in_process)))
                   for name, call in calls.items()}

        # Then both ways get the same answers and errors (the update adds one each time), and the emulator saw
        # every call of each
        for name, (http_answer, local_answer) in answers.items():
            if name == "update":
                assert http_answer[1]["Attributes"]["v"]["N"] == str(int(local_answer[1]["Attributes"]["v"]["N"]) - 1)
            elif name == "send":
                assert http_answer[1]["MD5OfMessageBody"] == local_answer[1]["MD5OfMessageBody"]
            elif name == "sent":
                assert set(http_answer[1]) == set(local_answer[1]) == {"MessageId"}
            else:
                assert http_answer == local_answer, name
        assert over_http["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"]["ApproximateNumberOfMessages"] == "2"
        assert emulator.answered_in_process == 1 + len(answers)
        assert [m.raw_data for m in emulator.ses_backend("eu-west-1").sent_messages] == [
            raw.replace(b"example.eu", b"mailroom.eu").decode()] * 2
    finally:
        emulator.stop()

    # and once it stopped, this process's calls go to its closed port, not to the stopped emulator
    with pytest.raises(EndpointConnectionError):
        in_process["dynamodb"].list_tables()


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


def test_the_processs_own_dynamodb_calls_skip_the_wsgi_stack_yet_wait_for_dynamodbs_lock():
    # Given an emulator whose WSGI middleware notes the service of every request it sees
    seen: list[str | None] = []

    def noting(app):
        def middleware(environ, start_response):
            seen.append(signed_service(environ.get("HTTP_AUTHORIZATION", "")))
            return app(environ, start_response)
        return middleware

    (port,) = free_ports(1)
    running = Emulator("127.0.0.1", port, middleware=[noting])
    running.start()
    try:
        dynamodb, sqs = client(running, "dynamodb"), client(running, "sqs")
        dynamodb.create_table(TableName="direct", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}])
        sqs.create_queue(QueueName="noted")

        # When this process writes while another request holds DynamoDB's lock
        lock = running._serialised.lock("dynamodb")
        done = threading.Event()
        with lock:
            writer = threading.Thread(target=lambda: (
                dynamodb.put_item(TableName="direct", Item={"k": {"S": "a"}}), done.set()))
            writer.start()
            # Then the write waits for the lock
            assert not done.wait(0.5)
        # and goes through once it is free
        assert done.wait(30)
        writer.join(30)
        assert dynamodb.get_item(TableName="direct", Key={"k": {"S": "a"}})["Item"] == {"k": {"S": "a"}}
        # and no DynamoDB request went through the WSGI stack, while the other services' did
        assert "dynamodb" not in seen and "sqs" in seen
    finally:
        running.stop()
