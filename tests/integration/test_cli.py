"""The operator commands: creating staff users, redriving dead-lettered work."""
from __future__ import annotations

import json
import time

from chalicelib import aws, queues
from chalicelib.handlers import cli
from tests.integration.conftest import api_call, signup_body


def log_in(client, email, password):
    return api_call(client, "POST", "/v1/sessions", {"email": email, "password": password})


def test_create_staff_prints_a_generated_password_that_signs_in_as_staff(client, capsys):
    assert cli.main(["create-staff", "--email", "ops@mailroom.example"]) == 0

    password = capsys.readouterr().out.split("password: ", 1)[1].strip()
    token = log_in(client, "ops@mailroom.example", password).json_body["token"]
    listed = api_call(client, "GET", "/v1/admin/accounts", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200


def test_create_staff_again_sets_a_new_password_and_ends_old_sessions(client, capsys):
    cli.main(["create-staff", "--email", "ops@mailroom.example", "--password", "first-password"])
    old = log_in(client, "ops@mailroom.example", "first-password").json_body["token"]

    assert cli.main(["create-staff", "--email", "ops@mailroom.example", "--password", "second-password"]) == 0

    assert "password:" not in capsys.readouterr().out
    assert log_in(client, "ops@mailroom.example", "first-password").status_code == 401
    assert log_in(client, "ops@mailroom.example", "second-password").status_code == 201
    assert api_call(client, "GET", "/v1/admin/accounts", headers={"Authorization": f"Bearer {old}"}).status_code == 401


def test_a_customer_address_cannot_become_staff(client, capsys):
    api_call(client, "POST", "/v1/signup", signup_body("owner@customer.example"))

    assert cli.main(["create-staff", "--email", "owner@customer.example", "--password", "some-password"]) == 1

    assert "customer" in capsys.readouterr().err


def test_a_short_password_is_refused(client, capsys):
    assert cli.main(["create-staff", "--email", "ops@mailroom.example", "--password", "short"]) == 1
    assert "at least 8" in capsys.readouterr().err


# --- redrive: dead-lettered work goes back onto its queue -----------------------------------------
def dead_letter(queue: str, bodies: list[dict]) -> None:
    """Put messages on `queue` and fail each of them maxReceiveCount times, as a failing consumer would."""
    sqs = aws.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=queues.url(queue), MessageBody=json.dumps(body),
                         MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}})
    deadline = time.monotonic() + 30
    while depth(f"{queue}-dlq") < len(bodies):
        assert time.monotonic() < deadline, "the messages never reached the dead-letter queue"
        sqs.receive_message(QueueUrl=queues.url(queue), MaxNumberOfMessages=10, VisibilityTimeout=0)


def depth(queue: str) -> int:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=queues.url(queue), AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def received(queue: str) -> list[dict]:
    return aws.client("sqs").receive_message(QueueUrl=queues.url(queue), MaxNumberOfMessages=10,
                                             MessageAttributeNames=["All"]).get("Messages", [])


def test_redrive_puts_every_dead_lettered_message_back_on_its_queue_once_and_empties_the_dlq(client, capsys):
    # Given three chunks of the send queue that failed until SQS dead-lettered them
    chunks = [{"account_id": "a1", "campaign_id": "c1", "chunk": f"0#{n}#0"} for n in range(3)]
    dead_letter("send", chunks)
    assert depth("send") == 0

    # When staff redrive the send queue
    assert cli.main(["redrive", "--queue", "send"]) == 0

    # Then each chunk is back on the send queue exactly once, body and attributes unchanged, and the DLQ is empty
    back = received("send")
    assert sorted(json.loads(m["Body"])["chunk"] for m in back) == ["0#0#0", "0#1#0", "0#2#0"]
    assert all(m["MessageAttributes"]["kind"]["StringValue"] == "test" for m in back)
    assert depth("send-dlq") == 0
    assert "moved 3 messages from send-dlq back to send; 0 left in send-dlq" in capsys.readouterr().out


def test_redrive_with_max_moves_only_that_many_and_says_how_many_are_left(client, capsys):
    # Given three dead-lettered feedback records
    dead_letter("feedback", [{"Type": "Notification", "n": n} for n in range(3)])

    # When staff redrive one, to see whether it goes through now
    assert cli.main(["redrive", "--queue", "feedback", "--max", "1"]) == 0

    # Then one is back on the feedback queue and two wait in its dead-letter queue
    assert len(received("feedback")) == 1
    assert depth("feedback-dlq") == 2
    assert "moved 1 messages from feedback-dlq back to feedback; 2 left in feedback-dlq" in capsys.readouterr().out


def test_redrive_of_an_empty_dead_letter_queue_moves_nothing(client, capsys):
    assert cli.main(["redrive", "--queue", "imports"]) == 0
    assert "moved 0 messages" in capsys.readouterr().out


def test_redrive_of_an_unknown_queue_or_a_max_below_one_is_refused(client, capsys):
    assert cli.main(["redrive", "--queue", "nosuch"]) == 1
    assert "nosuch-dlq queue is not reachable" in capsys.readouterr().err
    assert cli.main(["redrive", "--queue", "send", "--max", "0"]) == 1
    assert "--max must be at least 1" in capsys.readouterr().err
