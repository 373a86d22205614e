"""Mail to SES's mailbox simulator, sent through the emulator as the service sends it, produces the events SES
publishes: through the configuration set's event destination and SNS topic into the feedback queue, in SNS's
envelope, about the very message that was sent."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID

from infra import definition
from infra.provision import Provisioner
from local.emulator import Emulator
from local.launcher import free_ports
from local.outbox import Outbox, SentEmail, capture_send_options
from local.ses_simulator import Scenario, SimulatorEvents, scenario, simulated_events
from tests.integration.listing import add_subscriber, make_list

# A region and stage of their own: moto's backends are shared by every emulator in this process.
REGION = "eu-north-1"
STAGE = "simulator"
DOMAIN = "mailroom-test.eu"
SENDER = f"Autumn News <news@{DOMAIN}>"
CONFIGURATION_SET = definition.name(STAGE, definition.CONFIGURATION_SET)
TAGS = {"account": "acc_01", "campaign": "cmp_02", "subscriber": "sub_03"}


class Simulated:
    """The emulator with the stage's resources, the outbox and the simulator's observer, as the runtime runs them."""

    def __init__(self, emulator: Emulator, provision: Callable[[], None]):
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
        self.sesv2 = session.client("sesv2", endpoint_url=emulator.url)
        self.sqs = session.client("sqs", endpoint_url=emulator.url)
        self.ses = session.client("ses", endpoint_url=emulator.url)
        self.topic_arn = f"arn:aws:sns:{REGION}:{DEFAULT_ACCOUNT_ID}:{definition.name(STAGE, definition.EVENTS_TOPIC)}"
        self._provision = provision
        self.feedback_url = ""
        self.url = emulator.url

    def ready(self) -> None:
        """The stage's resources are there and the feedback queue is empty."""
        try:
            self.feedback_url = self.sqs.get_queue_url(QueueName=definition.name(STAGE, "feedback"))["QueueUrl"]
        except self.sqs.exceptions.QueueDoesNotExist:
            self._provision()
            self.feedback_url = self.sqs.get_queue_url(QueueName=definition.name(STAGE, "feedback"))["QueueUrl"]
        self.sqs.purge_queue(QueueUrl=self.feedback_url)

    def send(self, *to: str, configuration_set: str | None = CONFIGURATION_SET, tags: dict | None = None) -> str:
        """One raw message through SES v2, as chalicelib/ses.py sends it; its SES message id."""
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = ", ".join(to)
        message["Subject"] = "Autumn news for Reader"
        message["Message-ID"] = f"<{time.time_ns()}@{DOMAIN}>"
        message.set_content("Hello there.")
        options = {"ConfigurationSetName": configuration_set} if configuration_set else {}
        return self.sesv2.send_email(
            FromEmailAddress=SENDER, Destination={"ToAddresses": list(to)},
            Content={"Raw": {"Data": message.as_bytes()}},
            EmailTags=[{"Name": k, "Value": v} for k, v in (TAGS if tags is None else tags).items()], **options,
        )["MessageId"]

    def feedback(self, expected: int, timeout: float = 10.0) -> list[dict]:
        """The SNS envelopes in the feedback queue: wait for `expected`, then make sure no more come."""
        envelopes: list[dict] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.sqs.receive_message(QueueUrl=self.feedback_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in answer.get("Messages", []):
                envelopes.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.feedback_url, ReceiptHandle=message["ReceiptHandle"])
            if len(envelopes) >= expected and not answer.get("Messages"):
                break
        return envelopes


@pytest.fixture(scope="module")
def simulated():
    (port,) = free_ports(1)
    emulator = Emulator("127.0.0.1", port, middleware=[capture_send_options])
    emulator.start()
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
    outbox = Outbox()
    simulator = SimulatorEvents(session.client("ses", endpoint_url=emulator.url),
                                session.client("sns", endpoint_url=emulator.url),
                                account_id=DEFAULT_ACCOUNT_ID, region=REGION)
    simulator.start()
    outbox.subscribe(simulator)

    def provision() -> None:
        """(Again, if another test's mock_aws() reset moto's backends in between.)"""
        Provisioner(session, STAGE, DOMAIN, endpoint_url=emulator.url).run()
        outbox.attach(Emulator.ses_backend(REGION))

    provision()
    try:
        yield Simulated(emulator, provision)
    finally:
        simulator.stop()
        emulator.stop()


@pytest.fixture
def ses(simulated):
    simulated.ready()
    return simulated


def events_of(envelopes: list[dict]) -> list[dict]:
    return [json.loads(envelope["Message"]) for envelope in envelopes]


def test_success_is_a_delivery_about_the_message_sent_with_its_tags(ses):
    # When a tagged message goes to success@ with the configuration set
    message_id = ses.send("success@simulator.amazonses.com")

    # Then one SNS notification from the events topic reaches the feedback queue
    (envelope,) = ses.feedback(expected=1)
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"].endswith(f":{definition.name(STAGE, definition.EVENTS_TOPIC)}")
    # holding SES's Delivery event about that very message
    event = json.loads(envelope["Message"])
    assert event["eventType"] == "Delivery"
    mail = event["mail"]
    assert mail["messageId"] == message_id and mail["commonHeaders"]["messageId"] == message_id
    assert mail["destination"] == ["success@simulator.amazonses.com"]
    assert mail["source"] == SENDER and mail["sendingAccountId"] == DEFAULT_ACCOUNT_ID
    assert mail["sourceArn"] == f"arn:aws:ses:{REGION}:{DEFAULT_ACCOUNT_ID}:identity/{DOMAIN}"
    assert mail["commonHeaders"]["subject"] == "Autumn news for Reader"
    assert mail["commonHeaders"]["from"] == [SENDER]
    assert {"name": "Subject", "value": "Autumn news for Reader"} in mail["headers"] and not mail["headersTruncated"]
    assert mail["timestamp"].endswith("Z")
    # its tags as SES gives them: each a list, ours and SES's own
    assert {name: mail["tags"][name] for name in TAGS} == {name: [value] for name, value in TAGS.items()}
    assert mail["tags"]["ses:configuration-set"] == [CONFIGURATION_SET]
    assert mail["tags"]["ses:from-domain"] == [DOMAIN]
    assert event["delivery"]["recipients"] == ["success@simulator.amazonses.com"]
    assert event["delivery"]["smtpResponse"].startswith("250 ")
    assert event["delivery"]["timestamp"] >= mail["timestamp"]


def test_bounce_is_a_permanent_general_bounce_for_the_labelled_address(ses):
    message_id = ses.send("bounce+7@simulator.amazonses.com")

    (event,) = events_of(ses.feedback(expected=1))

    assert event["eventType"] == "Bounce" and event["mail"]["messageId"] == message_id
    bounce = event["bounce"]
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Permanent", "General")
    assert bounce["bouncedRecipients"] == [{"emailAddress": "bounce+7@simulator.amazonses.com", "action": "failed",
                                            "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]
    assert bounce["feedbackId"] and bounce["timestamp"].endswith("Z")
    assert event["mail"]["tags"]["subscriber"] == ["sub_03"]


def test_complaint_is_a_delivery_then_an_abuse_complaint(ses):
    message_id = ses.send("complaint@simulator.amazonses.com")

    delivery, complaint = events_of(ses.feedback(expected=2))

    assert [delivery["eventType"], complaint["eventType"]] == ["Delivery", "Complaint"]
    assert delivery["mail"]["messageId"] == complaint["mail"]["messageId"] == message_id
    assert complaint["complaint"]["complainedRecipients"] == [{"emailAddress": "complaint@simulator.amazonses.com"}]
    assert complaint["complaint"]["complaintFeedbackType"] == "abuse"
    assert complaint["complaint"]["feedbackId"]
    assert complaint["complaint"]["timestamp"] >= delivery["delivery"]["timestamp"]


def test_ooto_is_delivered(ses):
    ses.send("ooto+away@simulator.amazonses.com")

    (event,) = events_of(ses.feedback(expected=1))

    assert event["eventType"] == "Delivery"
    assert event["delivery"]["recipients"] == ["ooto+away@simulator.amazonses.com"]


def test_suppression_list_is_a_permanent_bounce_from_ses_itself(ses):
    ses.send("suppressionlist@simulator.amazonses.com")

    (event,) = events_of(ses.feedback(expected=1))

    bounce = event["bounce"]
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Permanent", "Suppressed")
    assert [r["emailAddress"] for r in bounce["bouncedRecipients"]] == ["suppressionlist@simulator.amazonses.com"]
    assert bounce["bouncedRecipients"][0]["status"] == "5.1.1"
    assert bounce["reportingMTA"] == "dns; amazonses.com"


def test_bounces_of_one_send_share_one_event_and_its_deliveries_another(ses):
    # Given one send to two bounce labels, an ordinary address and a success
    message_id = ses.send("bounce+1@simulator.amazonses.com", "reader@example.eu", "bounce+2@simulator.amazonses.com",
                          "success@simulator.amazonses.com")

    events = events_of(ses.feedback(expected=2))

    # Then one bounce for both labels, and one delivery for the reader and the success address, in send order
    assert sorted(e["eventType"] for e in events) == ["Bounce", "Delivery"]
    by_type = {e["eventType"]: e for e in events}
    assert [r["emailAddress"] for r in by_type["Bounce"]["bounce"]["bouncedRecipients"]] == [
        "bounce+1@simulator.amazonses.com", "bounce+2@simulator.amazonses.com"]
    assert by_type["Delivery"]["delivery"]["recipients"] == ["reader@example.eu", "success@simulator.amazonses.com"]
    assert all(e["mail"]["messageId"] == message_id for e in events)


def test_an_ordinary_address_is_delivered_as_a_real_inbox_accepts_it(ses):
    # When a tagged message goes to an ordinary address with the configuration set
    message_id = ses.send("reader@example.org")

    # Then SES's Delivery event about that very message reaches the feedback queue, as for success@
    (event,) = events_of(ses.feedback(expected=1))
    assert event["eventType"] == "Delivery"
    assert event["mail"]["messageId"] == message_id and event["mail"]["destination"] == ["reader@example.org"]
    assert {name: event["mail"]["tags"][name] for name in TAGS} == {name: [value] for name, value in TAGS.items()}
    assert event["mail"]["tags"]["ses:outgoing-ip"] == ["127.0.0.1"]
    assert event["delivery"]["recipients"] == ["reader@example.org"]
    assert event["delivery"]["smtpResponse"].startswith("250 ")


def test_every_message_of_a_campaign_sized_burst_is_delivered_once_in_send_order(ses):
    # When 120 messages to ordinary addresses leave at once (the simulator publishes them in SNS batches)
    sent = [ses.send(f"reader-{n}@example.org") for n in range(120)]

    # Then each has exactly one Delivery event, for its own recipient, in the order they were sent
    events = events_of(ses.feedback(expected=len(sent), timeout=60))
    assert [e["mail"]["messageId"] for e in events] == sent
    assert [e["delivery"]["recipients"] for e in events] == [[f"reader-{n}@example.org"] for n in range(120)]


def test_nothing_without_a_configuration_set(ses):
    # Given sends SES publishes no events for: an ordinary address and the simulator, without a configuration set
    ses.send("reader@example.eu", configuration_set=None)
    ses.send("bounce@simulator.amazonses.com", configuration_set=None)
    # and, after them, one it does (events are published in the order of the sends)
    last = ses.send("success+last@simulator.amazonses.com")

    events = events_of(ses.feedback(expected=1))

    # Then only the last send's event arrives
    assert [(e["eventType"], e["mail"]["messageId"]) for e in events] == [("Delivery", last)]


def test_events_are_held_back_by_the_configured_delay(ses):
    # Given an observer that holds events back 1.5 s, as MAILROOM_SES_EVENT_DELAY=1.5 does
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
    delayed = SimulatorEvents(ses.ses, session.client("sns", endpoint_url=ses.url), account_id=DEFAULT_ACCOUNT_ID,
                              region=REGION, delay=1.5)
    delayed.start()
    try:
        # When it sees a message to an ordinary address
        handed_at = time.monotonic()
        delayed(SentEmail("msg-delayed", SENDER, ["reader@example.org"], "Later", datetime.now(UTC),
                          "Subject: Later\r\n\r\nHello.\r\n", CONFIGURATION_SET, {}))

        # Then nothing arrives within the first second
        early = ses.sqs.receive_message(QueueUrl=ses.feedback_url, MaxNumberOfMessages=10,
                                        WaitTimeSeconds=1).get("Messages", [])
        assert not early and time.monotonic() - handed_at < 1.5
        # and its Delivery after the delay
        (event,) = events_of(ses.feedback(expected=1, timeout=30))
        assert event["mail"]["messageId"] == "msg-delayed" and event["eventType"] == "Delivery"
    finally:
        delayed.stop()


def test_only_the_event_types_a_destination_takes_are_published(ses):
    # Given a second configuration set whose destination takes bounces only, to the same topic
    ses.ses.create_configuration_set(ConfigurationSet={"Name": "bounces-only"})
    ses.ses.create_configuration_set_event_destination(ConfigurationSetName="bounces-only", EventDestination={
        "Name": "bounces-only-to-sns", "Enabled": True, "MatchingEventTypes": ["bounce"],
        "SNSDestination": {"TopicARN": ses.topic_arn}})

    # When a complaint (a delivery, then a complaint) and a bounce are sent with it
    ses.send("complaint@simulator.amazonses.com", configuration_set="bounces-only")
    bounced = ses.send("bounce@simulator.amazonses.com", configuration_set="bounces-only")

    # Then only the bounce is published
    events = events_of(ses.feedback(expected=1))
    assert [(e["eventType"], e["mail"]["messageId"]) for e in events] == [("Bounce", bounced)]
    assert events[0]["mail"]["tags"]["ses:configuration-set"] == ["bounces-only"]


@pytest.mark.parametrize(("address", "expected"), [
    ("bounce@simulator.amazonses.com", Scenario.BOUNCE),
    ("Bounce+label-9@Simulator.AmazonSES.com", Scenario.BOUNCE),
    ("Reader <suppressionlist+x@simulator.amazonses.com>", Scenario.SUPPRESSION_LIST),
    ("nobody@simulator.amazonses.com", None),
    ("bounce@example.eu", None),
    ("success@simulator.amazonses.com.evil.eu", None),
])
def test_which_addresses_are_simulator_mailboxes(address, expected):
    assert scenario(address) is expected


def test_a_list_takes_simulator_addresses_though_they_look_like_role_mailboxes(client, tenant):
    # Given a customer's list
    owner = tenant()
    contact_list = make_list(client, owner)

    # When simulator addresses, with and without a label, are added
    added = [add_subscriber(client, owner, contact_list["id"], address) for address in (
        "bounce+7@simulator.amazonses.com", "Complaint@Simulator.AmazonSES.com",
        "suppressionlist@simulator.amazonses.com")]
    role = add_subscriber(client, owner, contact_list["id"], "bounce@acme.example")

    # Then they are subscribed, while the same local part at any other domain is still a role mailbox (R15)
    assert [a.status_code for a in added] == [201, 201, 201], [a.json_body for a in added]
    assert [a.json_body["subscriber"]["email"] for a in added] == [
        "bounce+7@simulator.amazonses.com", "complaint@simulator.amazonses.com",
        "suppressionlist@simulator.amazonses.com"]
    assert role.status_code == 422 and role.json_body["error"]["code"] == "role_address"


def test_headers_beyond_ten_kilobytes_are_cut_and_flagged_as_ses_does():
    raw = "".join(f"X-Filler-{n}: {'x' * 200}\r\n" for n in range(80)) + "Subject: Big\r\n\r\nHello.\r\n"
    sent = SentEmail("msg-1", SENDER, ["success@simulator.amazonses.com"], "Big", datetime.now(UTC), raw,
                     CONFIGURATION_SET, {})

    ((_, event),) = simulated_events(sent, account_id=DEFAULT_ACCOUNT_ID, region=REGION, now=datetime.now(UTC))

    assert event["mail"]["headersTruncated"] is True
    assert 0 < len(event["mail"]["headers"]) < 80
    assert sum(len(h["name"]) + len(h["value"]) for h in event["mail"]["headers"]) <= 10 * 1024
    assert event["mail"]["commonHeaders"]["subject"] == "Big"
