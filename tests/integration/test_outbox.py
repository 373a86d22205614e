"""The local outbox keeps every email sent through the emulator's SES and shows it, escaped."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from email.message import EmailMessage

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from local.emulator import Emulator
from local.launcher import free_ports
from local.outbox import Outbox, OutboxServer, capture_send_options
from local.outbox_pages import list_page

REGION = "eu-west-1"
SENDER = "no-reply@mailroom-test.eu"


@pytest.fixture
def ses():
    with mock_aws():
        boto3.client("ses", region_name=REGION).verify_domain_identity(Domain="mailroom-test.eu")
        outbox = Outbox()
        outbox.attach(Emulator.ses_backend(REGION, DEFAULT_ACCOUNT_ID))
        yield boto3.client("sesv2", region_name=REGION), outbox


def raw_message(to: str, subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"mailroom <{SENDER}>"
    message["To"] = f"Reader <{to}>"
    message["Subject"] = subject
    message.set_content("Hello there.")
    return message.as_bytes()


def test_raw_and_simple_sends_are_kept_in_order_with_their_recipients(ses):
    # Given the service's way of sending (SES v2, raw MIME) and a simple send
    sesv2, outbox = ses
    raw_id = sesv2.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["reader@example.eu"]},
                              Content={"Raw": {"Data": raw_message("reader@example.eu", "Confirm your list")}},
                              )["MessageId"]
    simple_id = sesv2.send_email(
        FromEmailAddress=SENDER, Destination={"ToAddresses": ["other@example.eu"], "CcAddresses": ["cc@example.eu"]},
        Content={"Simple": {"Subject": {"Data": "Plain news"}, "Body": {"Text": {"Data": "Just text."}}}},
    )["MessageId"]

    # When the outbox is read
    messages = [m.as_json() for m in outbox.messages()]

    # Then both are there, oldest first, with bare recipients (each once) and the whole MIME text
    assert [m["id"] for m in messages] == [raw_id, simple_id]
    assert messages[0]["to"] == ["reader@example.eu"]
    assert messages[0]["subject"] == "Confirm your list"
    assert "Hello there." in messages[0]["raw"] and messages[0]["raw"].startswith("From: ")
    assert messages[1]["to"] == ["other@example.eu", "cc@example.eu"]
    assert messages[1]["subject"] == "Plain news" and "Just text." in messages[1]["raw"]
    assert all(m["sent_at"].endswith("Z") for m in messages)


def test_observers_see_each_message_as_it_is_sent_and_cannot_break_sending(ses):
    sesv2, outbox = ses
    seen = []
    outbox.subscribe(lambda sent: (_ for _ in ()).throw(RuntimeError("observer bug")))
    outbox.subscribe(seen.append)

    message_id = sesv2.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["reader@example.eu"]},
                                  Content={"Raw": {"Data": raw_message("reader@example.eu", "Hi")}})["MessageId"]

    assert [m.id for m in seen] == [message_id]


def test_the_page_escapes_everything_from_a_message(ses):
    sesv2, outbox = ses
    sesv2.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["reader@example.eu"]},
                     Content={"Raw": {"Data": raw_message("reader@example.eu", "<script>alert(1)</script> & co")}})

    page = list_page(outbox.messages())

    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "reader@example.eu" in page


def test_the_server_answers_the_page_the_json_and_each_raw_message(ses):
    sesv2, outbox = ses
    message_id = sesv2.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": ["reader@example.eu"]},
                                  Content={"Raw": {"Data": raw_message("reader@example.eu", "Welcome")}})["MessageId"]
    (port,) = free_ports(1)
    server = OutboxServer(outbox, "127.0.0.1", port)
    server.start()
    try:
        base = f"http://127.0.0.1:{port}"
        listed = json.loads(urllib.request.urlopen(f"{base}/messages.json", timeout=5).read())
        page = urllib.request.urlopen(f"{base}/", timeout=5)
        raw = urllib.request.urlopen(f"{base}/messages/{message_id}", timeout=5).read().decode()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/messages/nope", timeout=5)
    finally:
        server.stop()

    assert [m["id"] for m in listed] == [message_id] and set(listed[0]) == {"id", "to", "subject", "sent_at", "raw"}
    assert page.headers["Content-Type"].startswith("text/html") and "Welcome" in page.read().decode()
    assert "Subject: Welcome" in raw
    assert missing.value.code == 404


def test_through_the_emulator_each_message_keeps_its_tags_and_configuration_set():
    # Given the emulator as the runtime runs it, with the outbox attached
    (port,) = free_ports(1)
    emulator = Emulator("127.0.0.1", port, middleware=[capture_send_options])
    emulator.start()
    try:
        outbox = Outbox()
        outbox.attach(Emulator.ses_backend(REGION))
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
        session.client("ses", endpoint_url=emulator.url).verify_domain_identity(Domain="mailroom-test.eu")
        sesv2 = session.client("sesv2", endpoint_url=emulator.url)

        # When the service's kind of send goes through it
        message_id = sesv2.send_email(
            FromEmailAddress=SENDER, Destination={"ToAddresses": ["reader@example.eu"]},
            Content={"Raw": {"Data": raw_message("reader@example.eu", "Tagged")}},
            ConfigurationSetName="mailroom-test-events",
            EmailTags=[{"Name": "account", "Value": "acc_1"}, {"Name": "campaign", "Value": "cmp_2"}],
        )["MessageId"]
    finally:
        emulator.stop()

    # Then observers get what SES events will need: the message id, tags and configuration set
    sent = outbox.get(message_id)
    assert sent is not None and sent.subject == "Tagged"
    assert sent.tags == {"account": "acc_1", "campaign": "cmp_2"}
    assert sent.configuration_set == "mailroom-test-events"
