"""The local event pump feeds SQS messages and schedules to a Chalice app's handlers as Lambda would."""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime

import boto3
import pytest
from chalice import Chalice
from chalice import Cron as ChaliceCron
from chalice import Rate as ChaliceRate
from moto import mock_aws

from local.pump import Cron, Pump, failed_item_ids, parse_schedule

REGION = "eu-west-1"


class Recorder:
    """What the test app's handlers were given, and how they should answer."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.contexts: list = []
        self.scheduled: list[dict] = []
        self.answer = None
        self.fail_bodies: set[str] = set()
        self.handled = threading.Event()


def make_app(recorder: Recorder, batch_size: int = 5) -> Chalice:
    app = Chalice(app_name="pump-test", configure_logs=False)

    @app.on_sqs_message(queue="pump-jobs", batch_size=batch_size)
    def jobs(event):
        recorder.events.append(event.to_dict())
        recorder.contexts.append(event.context)
        recorder.handled.set()
        for record in event:
            if record.body in recorder.fail_bodies:
                raise ValueError(f"cannot handle {record.body} for someone@example.com")
        return recorder.answer(event.to_dict()) if callable(recorder.answer) else recorder.answer

    @app.schedule(ChaliceRate(1, unit=ChaliceRate.MINUTES))
    def every_minute(event):
        recorder.scheduled.append(event.to_dict())

    return app


@pytest.fixture
def sqs():
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


@pytest.fixture
def queues(sqs):
    """pump-jobs with a dead-letter queue after two receives and a one-second visibility timeout."""
    dlq_url = sqs.create_queue(QueueName="pump-jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="pump-jobs", Attributes={
        "VisibilityTimeout": "1",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    })["QueueUrl"]
    return url, dlq_url


def send(sqs, url: str, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body,
                         MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}})


def counts(sqs, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def bodies_in(sqs, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(m["Body"] for m in messages)


def test_a_handled_batch_is_deleted_and_the_event_is_lambda_shaped(sqs, queues):
    # Given messages on a queue an app consumes
    url, _ = queues
    recorder = Recorder()
    pump = Pump(make_app(recorder), sqs, region=REGION)
    send(sqs, url, "one", "two", "three")

    # When the pump runs once
    results = pump.run_once()

    # Then the handler got one Lambda-shaped event with every record, and the queue is empty
    assert len(recorder.events) == 1
    records = recorder.events[0]["Records"]
    assert sorted(r["body"] for r in records) == ["one", "three", "two"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for record in records:
        assert set(record) >= {"messageId", "receiptHandle", "body", "attributes", "messageAttributes",
                               "md5OfBody", "eventSource", "eventSourceARN", "awsRegion"}
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == queue_arn
        assert record["awsRegion"] == REGION
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert "SentTimestamp" in record["attributes"]
        assert record["messageAttributes"]["kind"]["stringValue"] == "test"
        assert record["messageAttributes"]["kind"]["dataType"] == "String"
    assert recorder.contexts[0].get_remaining_time_in_millis() > 0
    assert recorder.contexts[0].function_name
    assert sorted(results["jobs"].succeeded) == sorted(r["messageId"] for r in records)
    assert counts(sqs, url) == (0, 0)


def test_batch_size_is_honoured(sqs, queues):
    url, _ = queues
    recorder = Recorder()
    pump = Pump(make_app(recorder, batch_size=2), sqs, region=REGION)
    send(sqs, url, "a", "b", "c")

    pump.run_once()
    pump.run_once()

    assert [len(e["Records"]) for e in recorder.events] == [2, 1]
    assert counts(sqs, url) == (0, 0)


def test_a_failed_batch_is_redelivered_then_dead_lettered(sqs, queues):
    # Given a message the handler always fails on
    url, dlq_url = queues
    recorder = Recorder()
    recorder.fail_bodies = {"poison"}
    pump = Pump(make_app(recorder), sqs, region=REGION)
    send(sqs, url, "poison")

    # When the pump runs, and again after the visibility timeout
    first = pump.run_once()
    assert first["jobs"].failed and counts(sqs, url) == (0, 1)  # left in flight, not deleted
    time.sleep(1.2)
    pump.run_once()

    # Then it was delivered twice (as AWS counts receives), and after maxReceiveCount it is in the DLQ
    assert [e["Records"][0]["attributes"]["ApproximateReceiveCount"] for e in recorder.events] == ["1", "2"]
    time.sleep(1.2)
    third = pump.run_once()
    assert third["jobs"].succeeded == [] and len(recorder.events) == 2
    assert counts(sqs, url) == (0, 0)
    assert bodies_in(sqs, dlq_url) == ["poison"]


def test_only_the_reported_records_of_a_partial_failure_come_back(sqs, queues):
    # Given a handler that reports one record of three as failed
    url, _ = queues
    recorder = Recorder()

    def fail_bad(event: dict) -> dict:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                      for r in event["Records"] if r["body"] == "bad"]}

    recorder.answer = fail_bad
    pump = Pump(make_app(recorder), sqs, region=REGION)
    send(sqs, url, "good-1", "bad", "good-2")

    # When the pump runs
    result = pump.run_once()["jobs"]

    # Then the good ones are deleted and only the bad one is redelivered
    assert len(result.succeeded) == 2 and len(result.failed) == 1
    time.sleep(1.2)
    recorder.answer = None
    pump.run_once()
    assert [r["body"] for r in recorder.events[-1]["Records"]] == ["bad"]
    assert counts(sqs, url) == (0, 0)


def test_an_unknown_item_identifier_fails_the_whole_batch(sqs, queues):
    url, _ = queues
    recorder = Recorder()
    recorder.answer = {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}
    pump = Pump(make_app(recorder), sqs, region=REGION)
    send(sqs, url, "x", "y")

    result = pump.run_once()["jobs"]

    assert result.succeeded == [] and len(result.failed) == 2
    assert counts(sqs, url) == (0, 2)


@pytest.mark.parametrize("answer, failed", [
    (None, set()),
    ({}, set()),
    ({"batchItemFailures": []}, set()),
    ({"batchItemFailures": None}, set()),
    ({"batchItemFailures": [{"itemIdentifier": "a"}]}, {"a"}),
    ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
    ({"batchItemFailures": [{"wrong_key": "a"}]}, {"a", "b"}),
    ("not a response", {"a", "b"}),
])
def test_batch_item_failures_are_read_as_lambda_reads_them(answer, failed):
    assert failed_item_ids(answer, ["a", "b"]) == failed


def test_a_handler_error_is_logged_without_its_message(sqs, queues, caplog):
    url, _ = queues
    recorder = Recorder()
    recorder.fail_bodies = {"poison"}
    pump = Pump(make_app(recorder), sqs, region=REGION)
    send(sqs, url, "poison")

    with caplog.at_level(logging.ERROR, logger="local.pump"):
        pump.run_once()

    assert "ValueError" in caplog.text and "jobs" in caplog.text
    assert "@" not in caplog.text


def test_schedules_fire_shortly_after_start_then_at_their_rate(sqs):
    # Given an app with a one-minute schedule and a clock the test moves
    now = [1_000_000.0]
    recorder = Recorder()
    pump = Pump(make_app(recorder), sqs, region=REGION, first_fire_after=2.0, clock=lambda: now[0])

    # When time passes
    fired_at_start = pump.fire_due()
    now[0] += 2.0
    fired_soon_after = pump.fire_due()
    now[0] += 30.0
    fired_half_a_minute_later = pump.fire_due()
    now[0] += 30.0
    fired_a_minute_later = pump.fire_due()

    # Then it fired once shortly after start and again a minute later
    assert (fired_at_start, fired_soon_after, fired_half_a_minute_later, fired_a_minute_later) == (
        [], ["every_minute"], [], ["every_minute"])
    event = recorder.scheduled[0]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["region"] == REGION and event["detail"] == {}
    assert event["resources"][0].startswith(f"arn:aws:events:{REGION}:")
    assert event["time"] == "1970-01-12T13:46:42Z"


def test_a_failing_schedule_is_logged_and_still_rescheduled(sqs, caplog):
    app = Chalice(app_name="pump-test", configure_logs=False)
    runs = []

    @app.schedule("rate(5 minutes)")
    def broken(event):
        runs.append(event)
        raise RuntimeError("boom")

    now = [0.0]
    pump = Pump(app, sqs, region=REGION, first_fire_after=0.0, clock=lambda: now[0])
    with caplog.at_level(logging.ERROR, logger="local.pump"):
        assert pump.fire_due() == ["broken"]
    now[0] += 300
    assert pump.fire_due() == ["broken"]
    assert len(runs) == 2 and "RuntimeError" in caplog.text


def test_the_threads_consume_until_stopped_and_survive_a_failure(sqs, queues):
    # Given a running pump
    url, _ = queues
    recorder = Recorder()
    recorder.fail_bodies = {"poison"}
    pump = Pump(make_app(recorder), sqs, region=REGION, wait_seconds=1, first_fire_after=3600)
    pump.start()
    try:
        # When a failing message and then a good one arrive
        send(sqs, url, "poison")
        assert recorder.handled.wait(5)
        send(sqs, url, "fine")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                r["body"] == "fine" for e in recorder.events for r in e["Records"]):
            time.sleep(0.05)
    finally:
        pump.stop(timeout=5)

    # Then the good one was handled after the failure, and every thread has ended
    assert any(r["body"] == "fine" for e in recorder.events for r in e["Records"])
    assert not [t for t in threading.enumerate() if t.name.startswith("pump-")]


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize("expression, after, expected", [
    ("0 3 * * ? *", "2025-03-10 03:00", "2025-03-11 03:00"),
    ("0/15 * * * ? *", "2025-03-10 10:07", "2025-03-10 10:15"),
    ("30 9 ? * MON-FRI *", "2025-03-07 10:00", "2025-03-10 09:30"),   # Friday after 9:30 -> Monday
    ("0 12 L * ? *", "2025-02-03 00:00", "2025-02-28 12:00"),
    ("0 8 ? * 2#1 *", "2025-03-04 00:00", "2025-04-07 08:00"),         # first Monday of the month
    ("0 0 ? * 6L *", "2025-03-01 00:00", "2025-03-28 00:00"),          # last Friday
    ("0 0 15W * ? *", "2025-03-01 00:00", "2025-03-14 00:00"),         # 15th is a Saturday
    ("0 0 1 JAN ? 2027", "2025-06-01 00:00", "2027-01-01 00:00"),
])
def test_cron_expressions_fire_when_eventbridge_would(expression, after, expected):
    assert Cron(expression).next_after(utc(after)) == utc(expected)


def test_chalice_schedule_objects_parse():
    assert parse_schedule(ChaliceRate(2, unit=ChaliceRate.HOURS)).next_after(0) == 7200
    assert parse_schedule(ChaliceCron(0, 3, "*", "*", "?", "*")).next_after(utc("2025-01-01 04:00")) == utc(
        "2025-01-02 03:00")
    with pytest.raises(ValueError):
        parse_schedule("every tuesday")
