"""Faults on the send path: a sender that dies mid-chunk, redeliveries, the dead-letter queue and a redrive,
and SES throttling. Whatever happens, each recipient gets exactly one email and the campaign finishes."""
from __future__ import annotations

import pytest

from chalicelib import aws, queues, ses
from chalicelib.models.campaigns import CampaignStatus
from chalicelib.models.deliveries import Delivery, DeliveryState, campaign_key
from chalicelib.services.campaigns import sender
from local.pump import sqs_record
from tests.integration.campaign_sending import (
    audience,
    body_of,
    campaign,
    deliveries_by_address,
    drain,
    make_pump,
    queue_depth,
    sent_messages,
    source,
    start_sending,
)


class Crash(Exception):
    """The sender's process dying (an error the sender knows nothing about)."""


class FaultySes:
    """The real (moto) SES, with a script of faults: each entry is what call n of this delivery does."""

    def __init__(self, plan):
        self.plan = plan          # callable(call_number) -> "send" | "send_then_crash" | "unavailable" | "throttle"
        self.calls = 0

    def send(self, composed) -> str:
        self.calls += 1
        step = self.plan(self.calls)
        if step == "unavailable":
            raise ses.SendUnavailable("ServiceUnavailable")
        if step == "throttle":
            raise ses.SendThrottled("ThrottlingException")
        message_id = ses.send_raw(composed)
        if step == "send_then_crash":
            raise Crash("the sender died after SES accepted the email")
        return message_id


class FakeClock:
    """Monotonic time that moves only when the sender sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def one_recipient_at_a_time_on_a_fake_clock(monkeypatch):
    """The fault scripts count SES calls in order (the sender's worker threads would interleave them), and
    the consumer's backoff waits on a fake clock instead of real seconds."""
    monkeypatch.setattr(sender, "SEND_WORKERS", 1)
    real_pacing = sender.Pacing

    def fake_pacing(**kwargs):
        clock = FakeClock()
        return real_pacing(**{"sleep": clock.sleep, "monotonic": lambda: clock.now, **kwargs})

    monkeypatch.setattr(sender, "Pacing", fake_pacing)


def deliver(message: dict, mailer) -> dict:
    """Hand one received send message to the send consumer, as Lambda would, with `mailer` as its SES."""
    pump = make_pump()
    event = {"Records": [sqs_record(message, "arn:aws:sqs:eu-west-1:123456789012:send", "eu-west-1")]}
    original = ses.RawSender
    ses.RawSender = lambda: mailer
    try:
        return source(pump, "send_chunk").handler(event, pump._context("send_chunk"))
    finally:
        ses.RawSender = original


def receive(logical: str) -> dict | None:
    found = aws.client("sqs").receive_message(QueueUrl=queues.url(logical), MessageSystemAttributeNames=["All"],
                                              WaitTimeSeconds=0).get("Messages", [])
    return found[0] if found else None


def one_chunk_on_the_queue(client, person, recipients: int) -> tuple[str, sender.Chunk]:
    """A campaign to `recipients` subscribers fanned out into one chunk, received from the send queue."""
    people = audience(client, person, subscribed=recipients)
    campaign_id = start_sending(person, people["list"]["id"], recipients=recipients)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    return campaign_id, sender.Chunk.from_body(body_of(receive("send")))


def make_visible_again(message: dict) -> None:
    """What the end of the visibility timeout does, without waiting for it."""
    aws.client("sqs").change_message_visibility(QueueUrl=queues.url("send"), ReceiptHandle=message["ReceiptHandle"],
                                                VisibilityTimeout=0)


def test_a_chunk_that_fails_mid_way_redelivered_dead_lettered_and_redriven_sends_each_email_once(client, tenant):
    # Given a campaign whose one chunk of 40 is on the send queue
    person = tenant()
    people = audience(client, person, subscribed=40)
    campaign_id = start_sending(person, people["list"]["id"], recipients=40)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    assert queue_depth("send") == 1

    # When delivery 1: SES accepts 20, takes the 21st and the sender dies before recording it
    scripts = [
        lambda n: "send" if n <= 20 else "send_then_crash",
        lambda n: "send" if n <= 5 else "unavailable",        # delivery 2: 5 more, then SES errors
        lambda n: "send" if n <= 5 else "throttle",           # delivery 3: 5 more, then throttled past the budget
        lambda n: "unavailable",                              # deliveries 4 and 5: SES is down
        lambda n: "unavailable",
    ]
    receive_counts = []
    for script in scripts:
        message = receive("send")
        assert message is not None
        receive_counts.append(int(message["Attributes"]["ApproximateReceiveCount"]))
        answer = deliver(message, FaultySes(script))
        # Then every failed delivery is reported to SQS, never swallowed
        assert answer == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
        make_visible_again(message)
    assert receive_counts == [1, 2, 3, 4, 5]
    assert len(sent_messages()) == 31                     # 20 + the one SES took before the crash + 5 + 5

    # and after maxReceiveCount the message is in the dead-letter queue, not lost
    assert receive("send") is None
    dead = receive("send-dlq")
    assert dead is not None and body_of(dead)["chunk"] == "0#0#0"

    # When staff redrive it (a new message, with a new id) and SES is healthy again
    redriven = aws.client("sqs").send_message(QueueUrl=queues.url("send"), MessageBody=dead["Body"])
    aws.client("sqs").delete_message(QueueUrl=queues.url("send-dlq"), ReceiptHandle=dead["ReceiptHandle"])
    assert redriven["MessageId"] != dead["MessageId"]
    drain(pump)

    # Then every recipient got exactly one email, including the one whose send was never recorded
    assert {a: deliveries_by_address()[a] for a in people["subscribed"]} == dict.fromkeys(people["subscribed"], 1)
    done = campaign(person, campaign_id)
    assert (done.status, done.sent_count, done.uncertain_count, done.chunks_done) == (
        CampaignStatus.SENT.value, 39, 1, 1)   # the crash: SES may or may not have taken it, so not counted sent
    states = [d.state for d in Delivery.query(campaign_key(person.account_id, campaign_id))
              if not d.delivery_key.startswith("chunk#")]
    assert sorted(states).count(DeliveryState.SENT.value) == 39
    assert states.count(DeliveryState.CLAIMED.value) == 1   # the crash: unknown to us, so never sent again


def test_ses_throttling_is_retried_with_backoff_for_the_throttled_recipients_only(client, tenant):
    # Given a chunk of 30, and SES that throttles every third call for a while
    person = tenant()
    people = audience(client, person, subscribed=30)
    campaign_id = start_sending(person, people["list"]["id"], recipients=30)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    message = receive("send")
    clock = FakeClock()
    mailer = FaultySes(lambda n: "throttle" if n % 3 == 0 and n < 40 else "send")

    # When the sender works through the chunk
    report = sender.send_chunk(sender.Chunk.from_body(body_of(message)), mailer, lambda: 30_000,
                               sender.Pacing(sleep=clock.sleep, monotonic=lambda: clock.now))

    # Then all were sent once, each throttle cost one retry of that recipient alone, and pauses back off
    assert sorted(deliveries_by_address().values()) == [1] * 30
    assert report.sent == 30 and report.throttled == 13 and mailer.calls == 30 + 13
    assert all(0.05 <= pause <= 0.1 for pause in clock.sleeps)   # each throttle was followed by a success
    assert campaign(person, campaign_id).status == CampaignStatus.SENT.value


def test_throttling_past_the_chunk_budget_gives_the_chunk_back_and_the_redelivery_finishes_it(client, tenant):
    # Given SES that throttles everything from the 11th call of the first delivery on
    person = tenant()
    campaign_id, chunk = one_chunk_on_the_queue(client, person, 25)
    clock = FakeClock()
    pacing = sender.Pacing(sleep=clock.sleep, monotonic=lambda: clock.now)

    # When the first delivery runs out of its time budget while backing off
    with pytest.raises(sender.ChunkNotFinished):
        sender.send_chunk(chunk, FaultySes(lambda n: "send" if n <= 10 else "throttle"), lambda: 30_000, pacing)

    # Then backoff grew exponentially up to its cap, stayed within the budget, and 10 were sent
    assert clock.sleeps[:3] == pytest.approx([0.1 * j for j in (1, 2, 4)], rel=0.5)
    assert max(clock.sleeps) <= 5.0 and clock.now <= 25.0
    assert len(sent_messages()) == 10

    # and when SQS delivers the chunk again with SES recovered, the other 15 are sent, nobody twice
    sender.send_chunk(chunk, FaultySes(lambda n: "send"), lambda: 30_000, pacing)
    assert sorted(deliveries_by_address().values()) == [1] * 25
    done = campaign(person, campaign_id)
    assert (done.status, done.sent_count) == (CampaignStatus.SENT.value, 25)


def test_a_recipient_ses_refuses_for_good_is_counted_failed_and_the_rest_are_sent(client, tenant):
    person = tenant()
    people = audience(client, person, subscribed=12)
    campaign_id = start_sending(person, people["list"]["id"], recipients=12)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    chunk = sender.Chunk.from_body(body_of(receive("send")))

    class RefusesThird(FaultySes):
        def send(self, composed):
            if self.calls == 2:
                self.calls += 1
                raise ses.SendRefused("MessageRejected")
            return super().send(composed)

    report = sender.send_chunk(chunk, RefusesThird(lambda n: "send"), lambda: 30_000)

    assert (report.sent, report.failed) == (11, 1)
    assert len(sent_messages()) == 11
    done = campaign(person, campaign_id)
    assert (done.status, done.sent_count, done.failed_count) == (CampaignStatus.SENT.value, 11, 1)
