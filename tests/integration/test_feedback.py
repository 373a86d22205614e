"""SES feedback end to end under moto: a campaign really sent in-process, then AWS's documented event records,
re-addressed to the messages SES accepted and carrying our real tags, handed to the feedback consumer as
Lambda's SQS events (SNS envelope inside). What a customer then sees through the API is what is checked."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from chalicelib import aws, clock, errors, queues, ses
from chalicelib.config import get_settings
from chalicelib.models import deliveries
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.campaigns import Campaign
from chalicelib.models.deliveries import Delivery
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.rendering import tracking
from chalicelib.rendering.mime import tag_value
from chalicelib.services.audience import subscribers, suppressions
from chalicelib.services.campaigns import fanout, sender
from tests.events import addressed, in_envelope
from tests.integration.campaign_sending import (
    SENDER_DOMAIN,
    audience,
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
from tests.integration.listing import make_list, path_of, subscribe
from tests.integration.mailbox import messages_to, text_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Recipient:
    address: str
    subscriber_id: str
    message_id: str     # the SES message id the sender recorded on the delivery ledger


@dataclass
class Sent:
    person: object
    list_id: str
    campaign_id: str
    recipients: list[Recipient]

    def tags(self, recipient: Recipient | None = None, **override: str) -> dict[str, str]:
        """Our message tags, encoded as the sender wrote them."""
        ids = {"account": self.person.account_id, "campaign": self.campaign_id,
               "subscriber": recipient.subscriber_id if recipient else "", **override}
        return {name: tag_value(value) for name, value in ids.items() if value}


def send_campaign(client, person, subscribed: int) -> Sent:
    """A list of `subscribed` members and a campaign sent to all of them by the real fan-out and sender."""
    people = audience(client, person, subscribed=subscribed)
    campaign_id = start_sending(person, people["list"]["id"], recipients=subscribed)
    drain(make_pump())
    return Sent(person, people["list"]["id"], campaign_id, sent_to(person, people["list"]["id"], campaign_id))


def sent_to(person, list_id: str, campaign_id: str) -> list[Recipient]:
    key = deliveries.campaign_key(person.account_id, campaign_id)
    found = []
    for item in Delivery.query(key, Delivery.delivery_key.startswith("sub_")):
        if item.message_id:
            member = subscriber_store.get(person.account_id, list_id, item.delivery_key)
            found.append(Recipient(member.email, item.delivery_key, item.message_id))
    return sorted(found, key=lambda r: r.address)


def event(sent: Sent, name: str, *recipients: Recipient, tags: dict | None = None, raw: bool = False,
          message_id: str | None = None) -> str:
    """An SQS message body: fixture `name` about our email to `recipients`, as SNS delivers it."""
    record = addressed(name, to=[r.address for r in recipients],
                       message_id=message_id or recipients[0].message_id,
                       tags=sent.tags(recipients[0]) if tags is None else tags,
                       configuration_set=get_settings().configuration_set,
                       event_id=f"0100018f{uuid.uuid4().hex}-000000")
    return json.dumps(record) if raw else in_envelope(record)


def feed(client, *bodies: str) -> tuple[dict, list[str]]:
    """Hand the bodies to the feedback consumer as one Lambda SQS event; its answer and the record ids."""
    ids = [str(uuid.uuid4()) for _ in bodies]
    records = [{
        "messageId": message_id, "receiptHandle": f"handle-{message_id}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000", "SenderId": "AIDAEXAMPLE",
                       "ApproximateFirstReceiveTimestamp": "1700000000001"},
        "messageAttributes": {}, "md5OfBody": "0" * 32, "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:eu-west-1:123456789012:{get_settings().queue_name('feedback')}",
        "awsRegion": "eu-west-1",
    } for message_id, body in zip(ids, bodies)]
    return client.lambda_.invoke("apply_feedback", {"Records": records}).payload, ids


def report(client, sent: Sent) -> dict:
    answer = api_call(client, "GET", f"/v1/campaigns/{sent.campaign_id}/report", headers=sent.person.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["report"]


def status_of(client, person, list_id: str, subscriber_id: str) -> str:
    answer = api_call(client, "GET", f"/v1/lists/{list_id}/subscribers/{subscriber_id}", headers=person.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["subscriber"]["status"]


def suppressed(client, person) -> list[dict]:
    answer = api_call(client, "GET", "/v1/suppressions", headers=person.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["items"]


NOTHING_FAILED = {"batchItemFailures": []}


# --- bounces ----------------------------------------------------------------------------------------

def test_a_hard_bounce_bounces_and_suppresses_the_address_counts_once_and_a_redelivery_changes_nothing(
        client, tenant):
    sent = send_campaign(client, tenant(), subscribed=5)
    gone, fine = sent.recipients[0], sent.recipients[1]
    batch = [event(sent, "bounce_permanent", gone), event(sent, "delivery", fine)]

    first, _ = feed(client, *batch)
    after_first = (report(client, sent), suppressed(client, sent.person))
    again, _ = feed(client, *batch)   # SQS delivers the same batch again

    assert first == again == NOTHING_FAILED
    assert (report(client, sent), suppressed(client, sent.person)) == after_first
    body = after_first[0]
    assert body["sent"] == 5
    assert body["bounces"] == {"hard": 1, "soft": 0, "rate": 0.2, "hard_rate": 0.2, "soft_rate": 0.0}
    assert body["delivered"] == {"count": 1, "rate": 0.2}
    assert body["stop"] is None
    assert status_of(client, sent.person, sent.list_id, gone.subscriber_id) == "bounced"
    assert status_of(client, sent.person, sent.list_id, fine.subscriber_id) == "subscribed"
    assert [(s["email"], s["reason"], s["source"]) for s in after_first[1]] == [
        (gone.address, "bounced", sent.campaign_id)]
    # the support look-up reads why on the delivery ledger
    ledger = Delivery.get(deliveries.campaign_key(sent.person.account_id, sent.campaign_id), gone.subscriber_id)
    assert (ledger.bounce_type, ledger.bounce_reason) == ("hard", "smtp; 550 5.1.1 user unknown")
    assert ledger.bounced_at is not None and ledger.delivered_at is None
    assert Delivery.get(ledger.campaign_key, fine.subscriber_id).delivered_at is not None
    # and a bounced address is not mailed again: adding it to a list is refused
    other = make_list(client, sent.person, name="Other")
    again_added = api_call(client, "POST", f"/v1/lists/{other['id']}/subscribers",
                           {"email": gone.address, "consent": {"source": "api-test"}}, headers=sent.person.headers)
    assert again_added.status_code == 422


def test_a_transient_bounce_with_5_4_4_is_hard_and_other_transients_bounce_after_three_in_a_row(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=3)
    unroutable, full, _ = sent.recipients

    feed(client, event(sent, "bounce_transient_544", unroutable))
    # two soft bounces, a delivery (which resets the run), then two more: still subscribed
    for name in ("bounce_transient_mailbox_full", "bounce_transient_mailbox_full", "delivery",
                 "bounce_transient_mailbox_full", "bounce_transient_mailbox_full"):
        assert feed(client, event(sent, name, full))[0] == NOTHING_FAILED
    still = status_of(client, sent.person, sent.list_id, full.subscriber_id)
    listed_before = {s["email"] for s in suppressed(client, sent.person)}
    feed(client, event(sent, "bounce_transient_mailbox_full", full))   # the third in a row

    assert status_of(client, sent.person, sent.list_id, unroutable.subscriber_id) == "bounced"
    assert still == "subscribed" and full.address not in listed_before
    assert status_of(client, sent.person, sent.list_id, full.subscriber_id) == "bounced"
    assert {s["email"] for s in suppressed(client, sent.person)} == {unroutable.address, full.address}
    body = report(client, sent)
    assert (body["bounces"]["hard"], body["bounces"]["soft"], body["delivered"]["count"]) == (1, 5, 1)
    ledger = Delivery.get(deliveries.campaign_key(sent.person.account_id, sent.campaign_id), full.subscriber_id)
    assert (ledger.bounce_type, ledger.bounce_reason) == ("soft", "smtp; 452 4.2.2 Mailbox full")


def test_a_bounce_naming_several_recipients_bounces_each_of_them(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=3)
    jane, mary, richard = sent.recipients

    answer, _ = feed(client, event(sent, "bounce_several_recipients", jane, richard))

    assert answer == NOTHING_FAILED
    statuses = [status_of(client, sent.person, sent.list_id, r.subscriber_id) for r in (jane, mary, richard)]
    assert statuses == ["bounced", "subscribed", "bounced"]
    assert report(client, sent)["bounces"]["hard"] == 2


# --- complaints (R23) ---------------------------------------------------------------------------------

def test_a_complaint_unsubscribes_the_address_everywhere_and_never_shows_who_complained(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=3)
    angry = sent.recipients[0]
    other_list = make_list(client, sent.person, name="Second list")
    elsewhere = subscribe(client, sent.person, other_list["id"], angry.address)

    answer, _ = feed(client, event(sent, "complaint", angry))
    feed(client, event(sent, "complaint", angry))   # a second complaint report about the same email

    assert answer == NOTHING_FAILED
    # unsubscribed like anyone who left, in every list: no status tells a complainer apart
    assert status_of(client, sent.person, sent.list_id, angry.subscriber_id) == "unsubscribed"
    assert status_of(client, sent.person, other_list["id"], elsewhere["id"]) == "unsubscribed"
    refused = api_call(client, "GET", f"/v1/lists/{sent.list_id}/subscribers?status=complained",
                       headers=sent.person.headers)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "invalid_status"
    # suppressed and counted, and listed like any unsubscribe
    items = suppressed(client, sent.person)
    assert [(s["email"], s["reason"]) for s in items] == [(angry.address, "unsubscribed")]
    assert "complain" not in json.dumps(items)
    body = report(client, sent)
    assert body["complaints"] == {"count": 1, "rate": round(1 / 3, 4)}   # one complainer, however many reports
    assert angry.address not in json.dumps(body)
    # nothing about it on the delivery ledger the support look-up reads
    ledger = Delivery.get(deliveries.campaign_key(sent.person.account_id, sent.campaign_id), angry.subscriber_id)
    assert (ledger.bounce_type, ledger.bounce_reason, ledger.bounced_at) == (None, None, None)
    # and the address can never be added back by the customer
    again = api_call(client, "POST", f"/v1/lists/{sent.list_id}/subscribers",
                     {"email": angry.address, "consent": {"source": "api-test"}}, headers=sent.person.headers)
    assert again.status_code in (409, 422)


# --- deliveries, rejects, and what is dropped ----------------------------------------------------------

def test_deliveries_and_rejects_are_counted_in_the_report_raw_sns_delivery_too(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=4)
    a, b, c, d = sent.recipients

    answer, _ = feed(client, event(sent, "delivery", a), event(sent, "delivery_headers_truncated", b),
                     event(sent, "delivery", c, raw=True), event(sent, "reject", d))

    assert answer == NOTHING_FAILED
    body = report(client, sent)
    assert body["delivered"] == {"count": 3, "rate": 0.75}
    assert body["rejected"] == {"count": 1, "rate": 0.25}
    assert body["bounces"]["hard"] == body["complaints"]["count"] == body["unsubscribes"]["count"] == 0


def test_events_of_unknown_or_deleted_subscribers_service_mail_test_copies_and_other_types_are_dropped(
        client, tenant):
    sent = send_campaign(client, tenant(), subscribed=3)
    deleted, kept, _ = sent.recipients
    api_call(client, "DELETE", f"/v1/lists/{sent.list_id}/subscribers/{deleted.subscriber_id}",
             headers=sent.person.headers)
    stranger = Recipient("stranger@elsewhere.example", "sub_nobodyatall000000000000", kept.message_id)
    before = report(client, sent)

    answer, _ = feed(
        client,
        event(sent, "bounce_permanent", deleted),                                          # deleted (or erased)
        event(sent, "bounce_permanent", stranger, tags=sent.tags(stranger)),               # never a member
        event(sent, "complaint", kept, tags=sent.tags(kept, campaign="cmp_gone000000")),   # no such campaign
        event(sent, "bounce_permanent", kept, tags={}),                                    # the service's own mail
        event(sent, "complaint", kept, tags=sent.tags(kept, subscriber="test")),           # a test copy
        *(event(sent, name, kept) for name in ("open", "click", "send", "delivery_delay")),
    )

    assert answer == NOTHING_FAILED
    assert report(client, sent) == before
    assert suppressed(client, sent.person) == []   # nothing stored about a deleted or unknown address
    assert status_of(client, sent.person, sent.list_id, kept.subscriber_id) == "subscribed"


def test_a_malformed_record_is_reported_for_redelivery_and_the_rest_of_the_batch_applied(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=2)
    good = event(sent, "bounce_permanent", sent.recipients[0])
    no_event_type = json.loads(good)
    no_event_type["Message"] = json.dumps({k: v for k, v in json.loads(no_event_type["Message"]).items()
                                           if k != "eventType"})

    answer, ids = feed(client, "not json at all", json.dumps({"Type": "Notification"}), json.dumps(no_event_type),
                       good)

    assert answer == {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in ids[:3]]}
    assert report(client, sent)["bounces"]["hard"] == 1


# --- unsubscribes counted per campaign ---------------------------------------------------------------------

def test_a_one_click_unsubscribe_from_a_campaign_email_counts_on_that_campaign_once(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=3)
    first = sent_messages()[0]
    link = first["List-Unsubscribe"][1:-1]
    member = next(r for r in sent.recipients if r.address == str(first["To"]).lower())
    old_style_link = tracking.unsubscribe_url(sent.person.account_id, sent.list_id, sent.recipients[2].subscriber_id)
    test_copy_link = tracking.unsubscribe_url(sent.person.account_id, sent.list_id, tracking.TEST_SUBSCRIBER_ID,
                                              sent.campaign_id)

    answers = [client.http.post(path_of(url), headers=FORM, body="List-Unsubscribe=One-Click").status_code
               for url in (link, link, old_style_link, test_copy_link)]

    assert answers == [200, 200, 200, 200]
    assert report(client, sent)["unsubscribes"] == {"count": 1, "rate": round(1 / 3, 4)}
    assert status_of(client, sent.person, sent.list_id, member.subscriber_id) == "unsubscribed"
    assert status_of(client, sent.person, sent.list_id, sent.recipients[2].subscriber_id) == "unsubscribed"


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
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    while campaign(person, campaign_id).sent_count < 100:
        pump.poll(source(pump, "send_chunk"), wait_seconds=0)
    sent = Sent(person, list_id, campaign_id, sent_to(person, list_id, campaign_id))
    assert len(sent.recipients) == 100
    return sent, pump


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


def test_a_sender_with_no_feedback_at_all_does_not_wait(client, tenant, monkeypatch):
    sent, _ = hundred_of_110_sent(client, tenant, monkeypatch)
    clock = Clock()

    outcome = sender.send_chunk(queued_chunk(), ses.RawSender(), lambda: 60_000, pacing=clock.pacing())

    assert clock.sleeps == 0 and outcome.sent == 10
