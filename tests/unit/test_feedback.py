"""Reading SES feedback: every documented event record, in its SNS envelope or raw, into one small shape;
hard and soft bounces told apart; anything unreadable refused (it ends in the dead-letter queue)."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib import errors
from chalicelib.rendering.mime import tag_value
from chalicelib.services.feedback import ses_events
from chalicelib.services.feedback.ses_events import BounceKind, EventType
from tests.events import SES_EVENTS, addressed, in_envelope, load


def read(record: dict) -> list[ses_events.Feedback]:
    """As the consumer reads an SQS record body: SNS's envelope around the SES record."""
    return ses_events.parse(json.loads(in_envelope(record)))


@pytest.mark.parametrize("name", SES_EVENTS)
def test_every_documented_event_reads_the_same_in_its_sns_envelope_and_raw(name):
    record = load(name)

    enveloped, raw = read(record), ses_events.parse(record)

    assert enveloped == raw and enveloped
    for event in enveloped:
        assert event.type is EventType(record["eventType"])
        assert event.message_id == record["mail"]["messageId"]
        assert "@" in event.recipient
        assert event.at.tzinfo is not None
        assert event.configuration_set == "ConfigSet"
        assert (event.account_id, event.campaign_id, event.subscriber_id) == (None, None, None)


def test_a_permanent_bounce_is_hard_and_keeps_the_smtp_diagnostic_and_the_feedback_id():
    [event] = read(load("bounce_permanent"))

    assert event.bounce is BounceKind.HARD
    assert event.reason == "smtp; 550 5.1.1 user unknown"
    assert event.event_id == "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000"
    assert event.at == datetime(2017, 8, 5, 0, 41, 2, 669000, tzinfo=UTC)


def test_a_transient_bounce_with_status_5_4_4_is_hard_and_other_transients_are_soft():
    [unroutable] = read(load("bounce_transient_544"))
    [full] = read(load("bounce_transient_mailbox_full"))

    assert unroutable.bounce is BounceKind.HARD
    assert full.bounce is BounceKind.SOFT
    assert full.reason == "smtp; 452 4.2.2 Mailbox full"


@pytest.mark.parametrize(("bounce_type", "status", "kind"), [
    ("Permanent", "5.1.1", BounceKind.HARD),
    ("Permanent", None, BounceKind.HARD),
    ("Transient", "5.4.4", BounceKind.HARD),
    ("Transient", " 5.4.4 ", BounceKind.HARD),
    ("Transient", "4.4.4", BounceKind.SOFT),
    ("Transient", "5.4.7", BounceKind.SOFT),
    ("Transient", None, BounceKind.SOFT),
    ("Undetermined", None, BounceKind.SOFT),
])
def test_bounce_classification(bounce_type, status, kind):
    assert ses_events.classify(bounce_type, status) is kind


def test_a_bounce_with_several_recipients_is_one_event_each_with_the_subtype_as_reason_when_no_diagnostic():
    events = read(load("bounce_several_recipients"))

    assert [e.recipient for e in events] == ["jane@example.com", "richard@example.com"]
    assert {e.event_id for e in events} == {"00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000"}
    assert all(e.bounce is BounceKind.HARD and e.reason == "General" for e in events)
    assert all(e.recipients_in_message == 3 for e in events)


def test_an_event_whose_headers_were_truncated_reads_like_any_other():
    [event] = read(load("delivery_headers_truncated"))

    assert event.type is EventType.DELIVERY and event.recipient == "recipient@example.com"


def test_deliveries_rejects_and_delays_are_keyed_by_the_message_and_complaints_by_the_feedback_id():
    [delivery] = read(load("delivery"))
    [reject] = read(load("reject"))
    [delay] = read(load("delivery_delay"))
    [complaint] = read(load("complaint"))

    assert delivery.event_id == reject.event_id == delay.event_id == delivery.message_id
    assert complaint.event_id == "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000"
    assert reject.at == datetime(2016, 10, 14, 17, 38, 15, 211000, tzinfo=UTC)   # a reject has only the mail's time


def test_our_message_tags_name_the_account_campaign_and_subscriber_even_when_encoded():
    odd_id = "sub with spaces/and+signs"
    record = addressed("complaint", to=["reader@example.org"], message_id="0100-abc",
                       tags={"account": tag_value("acc_1"), "campaign": tag_value("cmp_1"),
                             "subscriber": tag_value(odd_id)}, configuration_set="mailroom-test-events")

    [event] = read(record)

    assert (event.account_id, event.campaign_id, event.subscriber_id) == ("acc_1", "cmp_1", odd_id)
    assert event.configuration_set == "mailroom-test-events"
    assert event.recipient == "reader@example.org"


def test_sns_subscription_messages_carry_no_event():
    assert ses_events.parse(load("sns_subscription_confirmation")) == []


def test_an_event_type_ses_may_add_later_is_ignored_not_failed():
    assert ses_events.parse({**load("delivery"), "eventType": "SomethingNew"}) == []


def _without(record: dict, *path: str) -> dict:
    record = json.loads(json.dumps(record))
    holder = record
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return record


@pytest.mark.parametrize("body", [
    {"Type": "Notification", "Message": "not json"},
    {"Type": "Notification", "Message": json.dumps(["a", "list"])},
    {"Type": "Notification"},
    {"Type": "Something"},
    _without(load("bounce_permanent"), "eventType"),
    _without(load("bounce_permanent"), "mail"),
    _without(load("bounce_permanent"), "mail", "messageId"),
    _without(load("bounce_permanent"), "bounce"),
    _without(load("bounce_permanent"), "bounce", "bounceType"),
    _without(load("bounce_permanent"), "bounce", "feedbackId"),
    _without(load("bounce_permanent"), "bounce", "bouncedRecipients"),
    _without(load("complaint"), "complaint", "complainedRecipients"),
    _without(load("delivery"), "delivery"),
    _without(load("reject"), "reject"),
    {**load("delivery"), "mail": {**load("delivery")["mail"], "tags": ["not", "a", "map"]}},
    {**load("delivery"), "mail": {**load("delivery")["mail"], "tags": {"account": ["b64-_w"]}}},
    {**load("bounce_permanent"), "bounce": {**load("bounce_permanent")["bounce"], "timestamp": "yesterday"}},
])
def test_a_record_that_is_not_a_readable_ses_event_is_malformed(body):
    with pytest.raises(errors.Malformed):
        ses_events.parse(body)
