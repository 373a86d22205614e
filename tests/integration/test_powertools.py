"""Powertools on every Lambda entry point, read from what an operator sees: each log line correlated with the API
request or the campaign it served, the cold-start flag, the sender's and the feedback consumer's figures in
CloudWatch's Embedded Metric Format, and SQS batches that redeliver exactly the records that failed."""
from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from chalice.local import LambdaContext

from chalicelib import aws, queues
from chalicelib.log import logger
from local.pump import sqs_record
from tests.integration.campaign_sending import audience, make_pump, source, start_sending
from tests.integration.conftest import signup_body
from tests.integration.feedback_events import NOTHING_FAILED, event, feed, report, send_campaign


@pytest.fixture
def log_lines():
    """The logger's JSON lines from here on, as Lambda's log stream gets them (level INFO)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("INFO")
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def emf(stdout: str) -> list[dict]:
    """The Embedded Metric Format documents printed (CloudWatch turns each into metrics)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{") and '"_aws"' in line]


def api_gateway_event(method: str, path: str, body: dict, request_id: str) -> dict:
    """A REST API proxy event as API Gateway sends it to the API function."""
    return {
        "resource": path, "path": path, "httpMethod": method, "body": json.dumps(body), "isBase64Encoded": False,
        "headers": {"content-type": "application/json", "user-agent": "pytest"},
        "multiValueHeaders": {"content-type": ["application/json"], "user-agent": ["pytest"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": method, "path": f"/api{path}", "stage": "api",
                           "requestId": request_id, "identity": {"sourceIp": "203.0.113.7"}},
    }


def test_an_api_calls_lines_carry_its_request_id_and_the_cold_start_flag(moto_env, log_lines):
    from app import app

    # Given a signup as API Gateway hands it to the API function
    email = f"owner-{uuid.uuid4().hex[:8]}@customer.example"
    request_id = str(uuid.uuid4())
    call = api_gateway_event("POST", "/v1/signup", signup_body(email), request_id)

    # When the function runs it
    answer = app(call, LambdaContext("mailroom-test-APIHandler", 512))

    # Then it answered, and every line it logged names the request and the function, says whether it was a cold
    # start, and never names the address
    assert answer["statusCode"] == 201, answer["body"]
    lines = log_lines()
    assert "account signed up" in [line["message"] for line in lines]
    for line in lines:
        assert line["correlation_id"] == request_id
        assert isinstance(line["cold_start"], bool)
        assert line["function_name"] == "mailroom-test-APIHandler"
        assert email not in json.dumps(line)


def test_a_send_records_lines_carry_its_campaign_and_its_counts_leave_as_metrics(client, tenant, log_lines, capsys):
    # Given a campaign fanned out into one chunk of 12 recipients, its send message taken from the queue
    person = tenant()
    people = audience(client, person, subscribed=12)
    campaign_id = start_sending(person, people["list"]["id"], recipients=12)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    [message] = aws.client("sqs").receive_message(QueueUrl=queues.url("send"),
                                                  MessageSystemAttributeNames=["All"])["Messages"]
    records = {"Records": [sqs_record(message, "arn:aws:sqs:eu-west-1:123456789012:send", "eu-west-1")]}
    capsys.readouterr()
    seen = len(log_lines())

    # When the sender's function handles it
    answer = source(pump, "send_chunk").handler(records, pump._context("send_chunk"))

    # Then every line it logged carries the campaign as its correlation id, and no reader's address
    assert answer == {"batchItemFailures": []}
    lines = log_lines()[seen:]
    assert "chunk sent" in [line["message"] for line in lines]
    for line in lines:
        assert line["correlation_id"] == campaign_id, line["message"]
        assert not any(address in json.dumps(line) for address in people["subscribed"])
    # And the chunk's figures were printed once, at the invocation's end, as metrics of the sender
    [sender] = [doc for doc in emf(capsys.readouterr().out) if doc.get("service") == "sender"]
    directive = sender["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "mailroom" and directive["Dimensions"] == [["service"]]
    assert {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]} == {
        "sent": "Count", "throttled": "Count", "refused": "Count", "uncertain": "Count"}
    counted = (sender["sent"], sender["throttled"], sender["refused"], sender["uncertain"])
    assert counted == ([12.0], [0.0], [0.0], [0.0])


def test_feedback_lines_carry_each_records_campaign_and_its_outcomes_leave_as_metrics(client, tenant, log_lines,
                                                                                       capsys):
    # Given two campaigns sent, and a batch with a bounce of each
    first, second = send_campaign(client, tenant(), subscribed=2), send_campaign(client, tenant(), subscribed=2)
    capsys.readouterr()
    seen = len(log_lines())

    # When the feedback consumer applies the batch
    answer, _ = feed(client, event(first, "bounce_permanent", first.recipients[0]),
                     event(second, "bounce_permanent", second.recipients[1]))

    # Then each bounce's line names its own campaign
    assert answer == NOTHING_FAILED
    bounced = [line for line in log_lines()[seen:] if line["message"] == "address bounced"]
    assert [line["campaign_id"] for line in bounced] == [first.campaign_id, second.campaign_id]
    # And the batch's outcomes by event type were published once, as the feedback consumer's metrics
    [feedback] = [doc for doc in emf(capsys.readouterr().out) if doc.get("service") == "feedback"]
    assert feedback["Bounce_applied"] == [2.0] and feedback["campaigns_stopped"] == [0.0]


def test_one_malformed_record_among_valid_ones_is_the_only_one_redelivered(client, tenant, log_lines):
    # Given a batch of two bounces with a record that is not JSON between them
    sent = send_campaign(client, tenant(), subscribed=3)
    seen = len(log_lines())

    # When the feedback consumer handles it
    answer, ids = feed(client, event(sent, "bounce_permanent", sent.recipients[0]), "{not json",
                       event(sent, "bounce_permanent", sent.recipients[2]))

    # Then only the malformed record is reported for redelivery, and both bounces were applied
    assert answer == {"batchItemFailures": [{"itemIdentifier": ids[1]}]}
    assert report(client, sent)["bounces"]["hard"] == 2
    # And its failure was logged by message id and error type, without the body
    [failed] = [line for line in log_lines()[seen:] if line["message"] == "feedback record failed"]
    assert (failed["message_id"], failed["error"], failed["level"]) == (ids[1], "Malformed", "ERROR")
    assert "not json" not in json.dumps(failed)


def test_a_batch_whose_every_record_fails_reports_each_of_them(client):
    # Given a batch of nothing but unreadable records
    # When the feedback consumer handles it
    answer, ids = feed(client, "[]", "{", json.dumps({"Type": "Notification"}))

    # Then the invocation succeeds and names each record for redelivery (the function's Errors stay for crashes)
    assert answer == {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in ids]}


def test_when_the_feedback_batch_cannot_finish_the_whole_batch_is_delivered_again(client, tenant, monkeypatch):
    from chalicelib.services.feedback import ses_events

    # Given a batch of two bounces, and a batch end (auto-stop, reputation) that fails
    sent = send_campaign(client, tenant(), subscribed=2)
    bodies = [event(sent, "bounce_permanent", recipient) for recipient in sent.recipients]

    def unavailable(self, mailer):
        raise ConnectionError("DynamoDB is unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(ses_events.Batch, "finish", unavailable)
        # When the feedback consumer handles it
        # Then the invocation fails, so SQS hands every record out again
        with pytest.raises(ConnectionError):
            feed(client, *bodies)

    # And the redelivered batch finishes and counts each bounce once
    answer, _ = feed(client, *bodies)
    assert answer == NOTHING_FAILED
    assert report(client, sent)["bounces"]["hard"] == 2
