"""Auto-stop (R22) under moto: a sending campaign stops when a rate is crossed, its owner is told once, and the
sender waits for SES's reports before it sends on."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from chalicelib import aws, clock, errors, queues, ses
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.campaigns import Campaign
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.rendering import tracking
from chalicelib.services.audience import subscribers, suppressions
from chalicelib.services.campaigns import fanout, sender
from tests.integration.campaign_sending import (
    SENDER_DOMAIN,
    campaign,
    deliveries_by_address,
    drain,
    make_pump,
    sent_messages,
    source,
    start_sending,
    verify_sender_domain,
)
from tests.integration.conftest import api_call
from tests.integration.feedback_events import FORM, NOTHING_FAILED, Recipient, Sent, event, feed, report, sent_to
from tests.integration.listing import make_list, path_of
from tests.integration.mailbox import messages_to, text_of

# --- auto-stop (R22) -----------------------------------------------------------------------------------

def bulk_list(client, person, subscribed: int) -> str:
    """A list made through the API, its members written in batches (adding 110 one by one through the API takes
    most of a test's time and is covered elsewhere); its id."""
    verify_sender_domain()
    list_id = make_list(client, person, from_email=f"news@{SENDER_DOMAIN}",
                        fields=[{"key": "first_name", "label": "First name", "type": "text"}])["id"]
    key, now = subscriber_store.list_key(person.account_id, list_id), clock.now()
    with Subscriber.batch_write() as batch:
        for n in range(subscribed):
            address = f"reader-{n}-{uuid.uuid4().hex[:6]}@readers.example"
            member = Subscriber(key, subscribers.subscriber_id_for(person.account_id, list_id, address),
                                account_id=person.account_id, list_id=list_id, email=address,
                                email_key=suppressions.email_key(address), fields={"first_name": f"Reader{n}"},
                                consent={"source": "api-test"}, created_at=clock.iso(now), updated_at=now)
            member.set_status(SubscriberStatus.SUBSCRIBED)
            batch.save(member)
    return list_id


def hundred_of_110_sent(client, tenant, monkeypatch) -> tuple[Sent, object]:
    """A campaign of 110 in chunks of 10, of which 100 have been sent and one chunk waits on the queue; the
    pump, to drive the rest."""
    monkeypatch.setattr(fanout, "CHUNK_SIZE", 10)
    person = tenant()
    list_id = bulk_list(client, person, 110)
    campaign_id = start_sending(person, list_id, recipients=110)
    started_a_while_ago(person, campaign_id)   # nothing reported yet: the sender does not wait for it
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    while campaign(person, campaign_id).sent_count < 100:
        pump.poll(source(pump, "send_chunk"), wait_seconds=0)
    sent = Sent(person, list_id, campaign_id, sent_to(person, list_id, campaign_id))
    assert len(sent.recipients) == 100
    return sent, pump


def started_a_while_ago(person, campaign_id: str, seconds: float = sender.FEEDBACK_WAIT_S + 1) -> None:
    campaign(person, campaign_id).update(actions=[Campaign.started_at.set(clock.now() - timedelta(seconds=seconds))])


def stop_notices(person) -> list:
    return [m for m in messages_to(person.email) if "was stopped" in str(m["Subject"])]


def test_a_sending_campaign_stops_when_hard_bounces_reach_8_percent_of_100_sent_and_its_owner_is_told_once(
        client, tenant, monkeypatch):
    # Given a campaign of 110, of which 100 have been sent and one chunk of 10 waits on the queue, and SES
    # has reported 92 of them delivered
    sent, pump = hundred_of_110_sent(client, tenant, monkeypatch)
    person, campaign_id = sent.person, sent.campaign_id
    feed(client, *(event(sent, "delivery", r) for r in sent.recipients[8:]))

    # When 7 hard bounces come back (7 of 99 reported on, too few to judge), the campaign goes on
    assert feed(client, *(event(sent, "bounce_permanent", r) for r in sent.recipients[:7]))[0] == NOTHING_FAILED
    assert report(client, sent)["status"] == "sending"

    # and when the 8th comes (8 of 100: 8%), it stops: the report says why, and the owner gets one email
    eighth = [event(sent, "bounce_permanent", sent.recipients[7]), event(sent, "delivery", sent.recipients[50])]
    feed(client, *eighth)
    feed(client, *eighth)   # redelivered: no second stop, no second email
    body = report(client, sent)
    assert body["status"] == "stopped"
    assert body["stop"]["rate"] == "hard_bounce" and body["stop"]["value"] == 0.08
    assert body["stop"]["threshold"] == 0.08 and body["stop"]["at"].endswith("Z")
    shown = api_call(client, "GET", f"/v1/campaigns/{campaign_id}", headers=person.headers).json_body["campaign"]
    assert shown["status"] == "stopped" and "hard-bounce rate" in (shown.get("status_reason") or "")
    notices = stop_notices(person)
    assert len(notices) == 1
    text = text_of(notices[0])
    assert "hard-bounce rate is 8.00%" in text and "8%" in text and "Clean the list" in text
    assert f"/v1/campaigns/{campaign_id}/resume" in text

    # and the chunk still queued sends nothing
    drain(pump)
    assert len(sent_messages()) == 100

    # When the customer resumes, the old bounces are not held against it: it sends the rest and finishes
    resumed = api_call(client, "POST", f"/v1/campaigns/{campaign_id}/resume", headers=person.headers)
    assert resumed.status_code == 200, resumed.json_body
    assert feed(client, event(sent, "delivery", sent.recipients[60]))[0] == NOTHING_FAILED
    assert report(client, sent)["status"] == "sending"
    drain(pump)
    assert sorted(deliveries_by_address().values()) == [1] * 110
    assert report(client, sent)["status"] == "sent"
    assert len(stop_notices(person)) == 1


@pytest.mark.parametrize("flavour", ["complaints", "unsubscribes"])
def test_complaints_over_half_a_percent_or_unsubscribes_over_one_percent_stop_a_campaign_too(
        client, tenant, monkeypatch, flavour):
    sent, pump = hundred_of_110_sent(client, tenant, monkeypatch)
    person, campaign_id = sent.person, sent.campaign_id
    feed(client, *(event(sent, "delivery", r) for r in sent.recipients))   # SES reported all 100 delivered
    allowed = 0 if flavour == "complaints" else 1   # 0.5% of 100 is half a complaint; 1% of 100 is one unsubscribe

    def react(recipient: Recipient) -> None:
        if flavour == "complaints":
            feed(client, event(sent, "complaint", recipient))
        else:
            link = tracking.unsubscribe_url(person.account_id, sent.list_id, recipient.subscriber_id, campaign_id)
            client.http.post(path_of(link), headers=FORM, body="List-Unsubscribe=One-Click")
            feed(client, event(sent, "delivery", recipient))   # the next feedback batch that touches the campaign

    for recipient in sent.recipients[:allowed]:
        react(recipient)
    assert report(client, sent)["status"] == "sending"
    react(sent.recipients[allowed])

    body = report(client, sent)
    assert body["status"] == "stopped"
    assert body["stop"]["rate"] == flavour[:-1]
    assert len(stop_notices(person)) == 1
    drain(pump)
    assert len(sent_messages()) == 100


def test_a_stop_notice_that_could_not_be_sent_goes_with_a_later_batch_and_an_abandoned_one_after_ten_minutes(
        client, tenant, monkeypatch):
    sent, _ = hundred_of_110_sent(client, tenant, monkeypatch)
    feed(client, *(event(sent, "delivery", r) for r in sent.recipients[8:]))
    real_send = ses.SesMailer.send

    def refused(self, email):
        raise errors.UpstreamError("SES is unavailable")

    # When the 8th bounce stops the campaign while SES refuses mail, the batch still succeeds
    monkeypatch.setattr(ses.SesMailer, "send", refused)
    answer, _ = feed(client, *(event(sent, "bounce_permanent", r) for r in sent.recipients[:8]))
    assert answer == NOTHING_FAILED
    assert report(client, sent)["status"] == "stopped" and stop_notices(sent.person) == []

    # Then the next batch that touches the campaign tells the owner, once
    monkeypatch.setattr(ses.SesMailer, "send", real_send)
    feed(client, event(sent, "delivery", sent.recipients[9]))
    feed(client, event(sent, "delivery", sent.recipients[10]))
    assert len(stop_notices(sent.person)) == 1

    # And a claim left by a sender that died before SES answered is taken over after ten minutes
    stored = campaign(sent.person, sent.campaign_id)
    stop = stored.stop.as_dict()
    del stop["notified_at"]
    stop["notice_claimed_at"] = clock.iso(clock.now())
    stored.update(actions=[Campaign.stop.set(stop)])
    feed(client, event(sent, "delivery", sent.recipients[11]))
    assert len(stop_notices(sent.person)) == 1   # claimed just now: someone may be sending it
    later = clock.now() + timedelta(minutes=11)
    monkeypatch.setattr(clock, "now", lambda: later)
    feed(client, event(sent, "delivery", sent.recipients[12]))
    assert len(stop_notices(sent.person)) == 2


# --- the sender waits for SES's reports before it sends on (R22) ------------------------------------------

def queued_chunk() -> sender.Chunk:
    """The send message waiting on the queue, taken off it."""
    sqs = aws.client("sqs")
    messages = sqs.receive_message(QueueUrl=queues.url("send"), MaxNumberOfMessages=1).get("Messages", [])
    assert len(messages) == 1
    sqs.delete_message(QueueUrl=queues.url("send"), ReceiptHandle=messages[0]["ReceiptHandle"])
    return sender.Chunk.from_body(json.loads(messages[0]["Body"]))


class Clock:
    """A pacing clock whose sleeps pass no real time, and whose first sleep lets `arrive` happen."""

    def __init__(self, arrive=lambda: None):
        self.now, self.arrive, self.sleeps = 0.0, arrive, 0

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        if self.sleeps == 1:
            self.arrive()

    def pacing(self) -> sender.Pacing:
        return sender.Pacing(sleep=self.sleep, monotonic=lambda: self.now)


def test_a_sender_ahead_of_the_feedback_waits_for_it_and_stops_a_campaign_whose_rate_it_then_breaks(
        client, tenant, monkeypatch):
    # Given 100 of 110 sent, SES has reported on 40 of them so far, and the next chunk is on the queue
    sent, _ = hundred_of_110_sent(client, tenant, monkeypatch)
    feed(client, *(event(sent, "delivery", r) for r in sent.recipients[:40]))
    chunk = queued_chunk()

    # When the sender takes the chunk and, while it waits, the other reports come: 8 hard bounces of 100
    def reports_arrive():
        feed(client, *(event(sent, "delivery", r) for r in sent.recipients[40:92]))
        feed(client, *(event(sent, "bounce_permanent", r) for r in sent.recipients[92:]))

    clock = Clock(reports_arrive)
    outcome = sender.send_chunk(chunk, ses.RawSender(), lambda: 60_000, pacing=clock.pacing())

    # Then it waited, sent nothing more, and the campaign is stopped with its owner told
    assert clock.sleeps >= 1
    assert outcome.outcome is sender.ChunkOutcomeKind.DROPPED
    assert len(sent_messages()) == 100
    assert report(client, sent)["status"] == "stopped"
    assert len(stop_notices(sent.person)) == 1


def test_a_sender_whose_feedback_stalls_sends_on_after_waiting_at_most_its_limit(client, tenant, monkeypatch):
    # Given 100 of 110 sent, and SES has reported on only 40 of them, and reports nothing more
    sent, _ = hundred_of_110_sent(client, tenant, monkeypatch)
    feed(client, *(event(sent, "delivery", r) for r in sent.recipients[:40]))
    chunk = queued_chunk()
    clock = Clock()

    # When the sender takes the next chunk
    outcome = sender.send_chunk(chunk, ses.RawSender(), lambda: 600_000, pacing=clock.pacing())

    # Then it waited no longer than its limit, and sent the chunk
    assert sender.FEEDBACK_WAIT_S <= clock.now < sender.FEEDBACK_WAIT_S + 1
    assert outcome.outcome is sender.ChunkOutcomeKind.SENT and outcome.sent == 10
    assert len(sent_messages()) == 110


def test_a_sender_waits_past_its_stall_limit_for_reports_that_keep_coming_slowly(client, tenant, monkeypatch):
    # Given 100 of 110 sent, and SES has reported on 40 of them so far
    sent, _ = hundred_of_110_sent(client, tenant, monkeypatch)
    feed(client, *(event(sent, "delivery", r) for r in sent.recipients[:40]))
    chunk = queued_chunk()

    # When the other reports come one every 5 seconds (a busy feedback queue), while the sender waits
    clock_ = Clock()
    late = iter(sent.recipients[40:])

    def sleep(seconds: float) -> None:
        clock_.sleep(seconds)
        if clock_.sleeps % 10 == 0:
            feed(client, event(sent, "delivery", next(late)))

    outcome = sender.send_chunk(chunk, ses.RawSender(), lambda: 600_000,
                                pacing=sender.Pacing(sleep=sleep, monotonic=lambda: clock_.now))

    # Then it waited for them longer than a stall would be waited for, until all but a chunk were reported
    assert clock_.now >= sender.FEEDBACK_WAIT_S + 10
    assert outcome.outcome is sender.ChunkOutcomeKind.SENT and outcome.sent == 10


def test_a_sender_whose_first_reports_are_still_on_their_way_waits_for_them(client, tenant, monkeypatch):
    # Given 100 of 110 sent in the campaign's first seconds, and SES has reported on none of them yet (a busy
    # feedback queue)
    sent, _ = hundred_of_110_sent(client, tenant, monkeypatch)
    started_a_while_ago(sent.person, sent.campaign_id, seconds=5)
    chunk = queued_chunk()

    # When the sender takes the next chunk and, while it waits, the reports come: 8 hard bounces of 100
    def reports_arrive():
        feed(client, *(event(sent, "delivery", r) for r in sent.recipients[:92]))
        feed(client, *(event(sent, "bounce_permanent", r) for r in sent.recipients[92:]))

    clock_ = Clock(reports_arrive)
    outcome = sender.send_chunk(chunk, ses.RawSender(), lambda: 60_000, pacing=clock_.pacing())

    # Then it waited for them, sent nothing more, and the campaign is stopped
    assert clock_.sleeps >= 1
    assert outcome.outcome is sender.ChunkOutcomeKind.DROPPED
    assert len(sent_messages()) == 100
    assert report(client, sent)["status"] == "stopped"


def test_a_sender_with_no_feedback_a_while_after_the_campaign_started_does_not_wait(client, tenant, monkeypatch):
    # Given 100 of 110 sent, and SES has reported on none of them in the campaign's first FEEDBACK_WAIT_S
    hundred_of_110_sent(client, tenant, monkeypatch)
    pacing = Clock()

    # When the sender takes the next chunk
    outcome = sender.send_chunk(queued_chunk(), ses.RawSender(), lambda: 60_000, pacing=pacing.pacing())

    # Then feedback is not flowing: it does not wait, and sends the chunk
    assert pacing.sleeps == 0 and outcome.sent == 10
