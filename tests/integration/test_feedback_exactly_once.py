"""SES feedback counted exactly once however SQS delivers it: a batch redelivered after a crash between its writes,
and two consumers applying overlapping batches at the same moment, leave every count as if each event came once:
the campaign's report, its subscribers' activity and the account's reputation day. And no item takes every batch:
a campaign's counters and an account's day are spread over shards."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import clock, errors
from chalicelib.models import deliveries, feedback_counts
from chalicelib.models import reputation as reputation_store
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.deliveries import Delivery
from chalicelib.models.reputation import Counts
from chalicelib.services.feedback import ses_events
from tests.integration.feedback_events import NOTHING_FAILED, Sent, event, feed, report
from tests.integration.test_reputation_guard import sent_campaign
from tests.integration.test_subscriber_limits import atomic_moto  # noqa: F401 - fixture


def today(account_id: str) -> Counts:
    day = reputation_store.day_of(clock.now())
    return reputation_store.of_days(account_id, [day]).get(day, Counts())


def received(sent: Sent) -> list[int]:
    """Each recipient's count of campaign emails received (R26's activity), in the order of sent.recipients."""
    return [int(subscriber_store.read_now(sent.person.account_id, sent.list_id, r.subscriber_id).received or 0)
            for r in sent.recipients]


def test_a_batch_that_crashes_between_its_transactions_counts_each_event_once_when_redelivered(
        client, tenant, monkeypatch):
    # Given a campaign of 10 sent, and a batch of 7 deliveries, a hard bounce and a complaint whose consumer dies
    # after its first transaction of 4 events landed, before its second
    sent = sent_campaign(client, tenant(), 10)
    batch = [event(sent, "delivery", r) for r in sent.recipients[:7]] + [
        event(sent, "bounce_permanent", sent.recipients[7]), event(sent, "complaint", sent.recipients[0])]
    monkeypatch.setattr(ses_events, "PER_TRANSACTION", 4)
    real_commit, calls = feedback_counts.commit, []

    def dies_at_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise errors.UpstreamError("the consumer died here")
        return real_commit(*args, **kwargs)

    monkeypatch.setattr(feedback_counts, "commit", dies_at_the_second)
    with pytest.raises(errors.UpstreamError):
        feed(client, *batch)
    half = report(client, sent)

    # When SQS delivers the batch again, and then once more
    monkeypatch.setattr(feedback_counts, "commit", real_commit)
    assert feed(client, *batch)[0] == NOTHING_FAILED
    assert feed(client, *batch)[0] == NOTHING_FAILED

    # Then the crash had counted only the first transaction's events, and now each event is counted once: on the
    # report, on each subscriber and on the account's day
    assert half["delivered"]["count"] == 4 and half["bounces"]["hard"] == 0
    body = report(client, sent)
    assert (body["delivered"]["count"], body["bounces"]["hard"], body["complaints"]["count"]) == (7, 1, 1)
    assert received(sent) == [1] * 7 + [0] * 3
    assert today(sent.person.account_id) == Counts(delivered=7, hard_bounces=1, complaints=1)
    # And the effects the crash cut short were applied by the redelivery
    ledger = Delivery.get(deliveries.campaign_key(sent.person.account_id, sent.campaign_id),
                          sent.recipients[6].subscriber_id)
    assert ledger.delivered_at is not None


def test_a_batch_that_crashes_after_counting_applies_its_effects_on_redelivery_and_counts_nothing_twice(
        client, tenant, monkeypatch):
    # Given a campaign of 10 sent, and a batch whose consumer dies after it counted its events, while it notes
    # what became of each email on the delivery ledger
    sent = sent_campaign(client, tenant(), 10)
    batch = [event(sent, "delivery", r) for r in sent.recipients[:5]] + [
        event(sent, "bounce_permanent", sent.recipients[9])]

    def dies(*args, **kwargs):
        raise errors.UpstreamError("the consumer died here")

    monkeypatch.setattr(deliveries, "note_outcome", dies)
    with pytest.raises(errors.UpstreamError):
        feed(client, *batch)
    monkeypatch.undo()

    # When SQS delivers it again
    assert feed(client, *batch)[0] == NOTHING_FAILED

    # Then nothing is counted twice, and the bounce's effects happened: the address is bounced and on the ledger
    body = report(client, sent)
    assert (body["delivered"]["count"], body["bounces"]["hard"]) == (5, 1)
    assert today(sent.person.account_id) == Counts(delivered=5, hard_bounces=1)
    ledger = Delivery.get(deliveries.campaign_key(sent.person.account_id, sent.campaign_id),
                          sent.recipients[9].subscriber_id)
    assert ledger.bounce_type == "hard"


def test_two_consumers_applying_overlapping_batches_at_once_count_each_event_once(client, tenant, atomic_moto):  # noqa: F811
    # Given a campaign of 12 sent, and SQS handing two consumers overlapping batches at the same moment: events
    # 0-7 and 4-11 (a message delivered twice, as SQS may), each consumer on its own thread
    sent = sent_campaign(client, tenant(), 12)
    bodies = [event(sent, "delivery", r) for r in sent.recipients[:11]] + [
        event(sent, "bounce_permanent", sent.recipients[11])]
    barrier = threading.Barrier(2)

    def consume(part: slice) -> dict:
        barrier.wait(timeout=30)
        return feed(client, *bodies[part])[0]

    # When both apply their batch
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(consume, [slice(0, 8), slice(4, 12)]))

    # Then both succeeded and every event counts once: 11 delivered and 1 bounce on the report, one email received
    # by each of the 11, and the account's day the same
    assert answers == [NOTHING_FAILED, NOTHING_FAILED]
    body = report(client, sent)
    assert (body["delivered"]["count"], body["bounces"]["hard"]) == (11, 1)
    assert received(sent) == [1] * 11 + [0]
    assert today(sent.person.account_id) == Counts(delivered=11, hard_bounces=1)


def test_a_campaigns_counts_and_its_accounts_day_are_spread_over_shards_and_summed_on_read(client, tenant):
    # Given a campaign of 40 sent
    sent = sent_campaign(client, tenant(), 40)

    # When SES reports each email delivered, in 20 batches of 2
    for start in range(0, 40, 2):
        assert feed(client, *(event(sent, "delivery", r) for r in sent.recipients[start:start + 2]))[0] == \
            NOTHING_FAILED

    # Then the counts landed in several tally items and day shards, no one of them holding most, and every reader
    # sees their sum: the report, the auto-stop's view and the account's day
    key = deliveries.campaign_key(sent.person.account_id, sent.campaign_id)
    tallies = [int(t.delivered_count or 0) for t in Delivery.query(key, Delivery.delivery_key.startswith("tally#"))]
    day = reputation_store.day_of(clock.now())
    shards = [int(s.delivered or 0) for s in reputation_store.ReputationDay.query(
        day, reputation_store.ReputationDay.account_id.startswith(sent.person.account_id))]
    assert sum(tallies) == sum(shards) == 40
    assert len(tallies) > 3 and max(tallies) < 20 and len(shards) > 3 and max(shards) < 20
    assert report(client, sent)["delivered"]["count"] == 40
    assert deliveries.read_counted(sent.person.account_id, sent.campaign_id).delivered_count == 40
    assert today(sent.person.account_id) == Counts(delivered=40)
