"""Fan-out and sending under moto, driven by the local pump with Lambda-shaped SQS events."""
from __future__ import annotations

import json

import pytest

from chalicelib import aws, queues
from chalicelib.models.campaigns import CampaignStatus
from chalicelib.services.campaigns import fanout
from local.pump import sqs_record
from tests.integration.campaign_sending import (
    audience,
    campaign,
    deliveries_by_address,
    drain,
    make_pump,
    queue_depth,
    sent_messages,
    set_status,
    source,
    start_sending,
)
from tests.integration.conftest import api_call


def test_every_subscribed_member_gets_exactly_one_email_and_the_campaign_becomes_sent(client, tenant):
    # Given a list with subscribed, unsubscribed, pending and suppressed members, and a campaign sending to it
    person = tenant()
    people = audience(client, person, subscribed=120, unsubscribed=3, pending=2, suppressed=2)
    campaign_id = start_sending(person, people["list"]["id"], recipients=120)

    # When the consumers run until the queues are empty
    drain(make_pump())

    # Then each subscribed address got one email, nobody else got any, and the campaign is sent with its count
    got = deliveries_by_address()
    assert {a: got[a] for a in people["subscribed"]} == dict.fromkeys(people["subscribed"], 1)
    for other in people["unsubscribed"] + people["pending"] + people["suppressed"]:
        assert got[other] == 0
    done = campaign(person, campaign_id)
    assert done.status == CampaignStatus.SENT.value and done.finished_at is not None
    assert (done.sent_count, done.failed_count, done.chunks_total, done.chunks_done) == (120, 0, 3, 3)

    # and every email is personalised and carries the list headers, footer, unsubscribe link, pixel and links
    assert len(sent_messages()) == 120
    for message in sent_messages():
        assert message["List-Unsubscribe"].startswith("<https://mailroom.test.invalid/unsubscribe/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert people["list"]["id"] in message["List-Id"]
        assert message["Subject"].startswith("Spring news for Reader")
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "/o/" in html and "/c/" in html and "acme.example/spring" not in html
        assert "Email marketing by" in html and "/unsubscribe/" in html
    assert queue_depth("send") == 0 and queue_depth("fanout") == 0


def test_the_report_shows_the_sent_count(client, tenant):
    person = tenant()
    people = audience(client, person, subscribed=7)
    campaign_id = start_sending(person, people["list"]["id"], recipients=7)

    drain(make_pump())

    report = api_call(client, "GET", f"/v1/campaigns/{campaign_id}/report", headers=person.headers)
    assert report.status_code == 200, report.json_body
    assert report.json_body["report"]["sent"] == 7


def test_a_fanout_short_of_time_hands_the_rest_to_a_fresh_message_and_chunks_are_cut_the_same(
        client, tenant, monkeypatch):
    # Given pages of 20 members and an invocation that always looks short of time
    monkeypatch.setattr(fanout, "PAGE_SIZE", 20)
    person = tenant()
    people = audience(client, person, subscribed=65)
    campaign_id = start_sending(person, people["list"]["id"], recipients=65)
    pump = make_pump(timeout_seconds=10)   # < MIN_REMAINING_MS left from the start

    # When the fanout consumer runs once
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)

    # Then one page went out as one chunk, and a fanout message carries on from the saved cursor
    state = campaign(person, campaign_id)
    assert (state.fanout_page, state.fanout_chunks, state.fanout_done) == (1, 1, False)
    assert queue_depth("send") == 1 and queue_depth("fanout") == 1

    # and when everything runs, every member gets one email: 4 pages of 20, 20, 20, 5 (and an empty last page)
    drain(pump)
    assert sorted(deliveries_by_address().values()) == [1] * 65
    done = campaign(person, campaign_id)
    assert done.status == CampaignStatus.SENT.value
    assert (done.sent_count, done.chunks_total) == (65, 4)


def test_a_chunk_delivered_twice_sends_nothing_twice_and_counts_once(client, tenant):
    # Given a fanned-out campaign of one chunk
    person = tenant()
    people = audience(client, person, subscribed=30)
    campaign_id = start_sending(person, people["list"]["id"], recipients=30)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    sqs = aws.client("sqs")
    message = sqs.receive_message(QueueUrl=queues.url("send"), MessageSystemAttributeNames=["All"])["Messages"][0]
    event = {"Records": [sqs_record(message, "arn:aws:sqs:eu-west-1:123456789012:send", "eu-west-1")]}
    handler = source(pump, "send_chunk").handler
    context = pump._context("send_chunk")

    # When SQS delivers the same message twice (at-least-once), and a copy of it arrives with a new id
    first = handler(event, context)
    second = handler(event, context)
    event["Records"][0]["messageId"] = "redriven-copy"
    third = handler(event, context)

    # Then every handling succeeded, each member got one email, and the counts were added once
    assert first == second == third == {"batchItemFailures": []}
    assert sorted(deliveries_by_address().values()) == [1] * 30
    done = campaign(person, campaign_id)
    assert (done.status, done.sent_count, done.chunks_done) == (CampaignStatus.SENT.value, 30, 1)


def test_pause_stops_sending_within_a_chunk_and_resume_finishes_with_each_member_once(client, tenant):
    # Given a campaign of three chunks, of which one has been sent
    person = tenant()
    people = audience(client, person, subscribed=130)
    campaign_id = start_sending(person, people["list"]["id"], recipients=130)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    pump.poll(source(pump, "send_chunk"), wait_seconds=0)
    assert len(sent_messages()) == 50

    # When the customer pauses, the remaining chunks are handled but nothing more is sent
    set_status(person, campaign_id, CampaignStatus.PAUSED)
    drain(pump)
    assert len(sent_messages()) == 50
    paused = campaign(person, campaign_id)
    assert paused.status == CampaignStatus.PAUSED.value and paused.sent_count == 50

    # and when they resume, a new fan-out pass finishes the campaign, each member exactly once
    set_status(person, campaign_id, CampaignStatus.SENDING, bump_generation=True)
    drain(pump)
    assert sorted(deliveries_by_address().values()) == [1] * 130
    done = campaign(person, campaign_id)
    assert (done.status, done.sent_count, done.chunks_total, done.chunks_done) == (CampaignStatus.SENT.value, 130, 3, 3)


def test_cancel_drops_the_queued_chunks(client, tenant):
    person = tenant()
    people = audience(client, person, subscribed=60)
    campaign_id = start_sending(person, people["list"]["id"], recipients=60)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)

    set_status(person, campaign_id, CampaignStatus.CANCELLED)
    drain(pump)

    assert sent_messages() == []
    assert campaign(person, campaign_id).status == CampaignStatus.CANCELLED.value
    assert queue_depth("send") == 0


def test_a_member_who_unsubscribes_or_is_suppressed_after_fanout_gets_nothing(client, tenant):
    person = tenant()
    people = audience(client, person, subscribed=10)
    campaign_id = start_sending(person, people["list"]["id"], recipients=10)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    leaver, blocked = people["subscribed"][:2]
    members = api_call(client, "GET", f"/v1/lists/{people['list']['id']}/subscribers", headers=person.headers)
    leaver_id = next(m["id"] for m in members.json_body["items"] if m["email"] == leaver)
    api_call(client, "POST", f"/v1/lists/{people['list']['id']}/subscribers/{leaver_id}/unsubscribe",
             headers=person.headers)
    api_call(client, "POST", "/v1/suppressions", {"email": blocked}, headers=person.headers)

    drain(pump)

    got = deliveries_by_address()
    assert got[leaver] == 0 and got[blocked] == 0
    assert all(got[a] == 1 for a in people["subscribed"][2:])
    done = campaign(person, campaign_id)
    assert (done.status, done.sent_count, done.skipped_count) == (CampaignStatus.SENT.value, 8, 2)


def test_an_empty_audience_completes_at_once(client, tenant):
    person = tenant()
    people = audience(client, person, subscribed=0, unsubscribed=1)
    campaign_id = start_sending(person, people["list"]["id"], recipients=0)

    drain(make_pump())

    done = campaign(person, campaign_id)
    assert (done.status, done.sent_count, done.chunks_total) == (CampaignStatus.SENT.value, 0, 0)


@pytest.mark.parametrize("body", ["not json", json.dumps(["a list"]), json.dumps({"account_id": "x"})])
def test_a_malformed_message_is_reported_failed_never_swallowed(client, body):
    from app import app

    record = {"messageId": "m-1", "receiptHandle": "r", "body": body, "attributes": {}, "messageAttributes": {},
              "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q",
              "awsRegion": "eu-west-1"}
    pump = make_pump()
    for name in ("fanout_campaign", "send_chunk"):
        answer = app.handler_map[name]({"Records": [record]}, pump._context(name))
        assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
