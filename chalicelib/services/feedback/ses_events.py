"""SES feedback (R22, R23, R26, R27): what happened to each campaign email after SES took it.

Every SQS record is one SNS notification holding one SES event-publishing record, read into `Feedback`, one per
recipient (ses_records.py). A Lambda batch of them is one `Batch`: each record is read as it comes (one that does
not read fails alone), then `finish`:

- counts the batch's events once, together: each on its subscriber (marked there, with what it moves: one more
  email received, soft bounces in a row), on its campaign's counters and on its account's reputation day, in one
  transaction per batch (models/feedback_counts.py), so a redelivered batch, or a second consumer holding some of
  the same events, changes nothing, and a crash leaves nothing half-counted;
- applies their effects, which are idempotent and applied again on a redelivery, so a crash between the two
  heals: a hard bounce (Permanent, or Transient with status 5.4.4) bounces the address in every list of the
  account and suppresses it; three soft bounces in a row (no delivery between) do the same; a complaint
  unsubscribes the address everywhere and suppresses it, reading as an unsubscribe (R23) — never a visible
  "complained" status, never anything on the delivery ledger; a delivery notes the time on the ledger;
- checks the campaigns it touched against the auto-stop rates (R22) and their accounts' reputation.

Events of the service's own mail and of test copies (no campaign tags), and of campaigns or subscribers since
deleted or erased, are counted in the batch's log line and dropped. Opens, clicks, sends and delays are read but
not acted on: our own pixel and links count opens and clicks (services/tracking.py).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from chalicelib import clock, errors
from chalicelib.log import logger, publish_counts
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import deliveries, feedback_counts
from chalicelib.models import reputation as reputation_store
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.campaigns import Campaign
from chalicelib.models.deliveries import Delivery
from chalicelib.models.feedback_counts import Change
from chalicelib.models.reputation import Counts
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.outbound import Mailer
from chalicelib.rendering.tracking import is_test
from chalicelib.services import addresses
from chalicelib.services.audience import activity, subscribers, suppressions
from chalicelib.services.feedback import autostop, reputation
from chalicelib.services.feedback.ses_records import (
    BounceKind,
    EventType,
    Feedback,
    classify,
    parse,
)

__all__ = ["APPLIED", "Batch", "BounceKind", "EventType", "Feedback", "Outcome", "classify", "parse"]

SOFT_BOUNCES_IN_A_ROW = 3          # then the address is treated as a hard bounce
# Only subscribed members bounce: a pending one was never mailed a campaign, and restoring a bounced address
# (services/suppressions.remove) makes its bounced members subscribed again.
BOUNCEABLE = {SubscriberStatus.SUBSCRIBED}
APPLIED = frozenset({EventType.BOUNCE, EventType.COMPLAINT, EventType.DELIVERY, EventType.REJECT})
PER_TRANSACTION = 90               # events (one subscriber each) in one transaction, beside its tallies
COMMIT_ATTEMPTS = 5                # a transaction whose subscribers moved meanwhile is read and tried again


class Outcome(str, Enum):
    APPLIED = "applied"       # counted now, effects applied
    DUPLICATE = "duplicate"   # counted before (a redelivery): effects applied again, nothing counted
    IGNORED = "ignored"       # a type we do not act on (open, click, send, delay, ...)
    UNTAGGED = "untagged"     # not a campaign email: the service's own mail or a test copy
    UNKNOWN = "unknown"       # its campaign or subscriber no longer exists (deleted or erased)


# --- applying -----------------------------------------------------------------------------------------

@dataclass
class _Found:
    """An event of the batch, with what it is about."""

    event: Feedback
    campaign: Campaign
    subscriber: Subscriber
    key: str                    # what it is counted once under (its mark on the subscriber)
    outcome: Outcome = Outcome.APPLIED


class Batch:
    """One Lambda batch of feedback records: `apply` reads each record as it comes (errors.Malformed if it does not
    read: that record fails alone); `finish` counts and applies the batch's events, checks the campaigns they
    touched against the auto-stop rates (R22) and their accounts' reputation, and logs the outcomes as counts
    (ids only)."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.pending: list[Feedback] = []

    def apply(self, body: Mapping[str, Any]) -> None:
        """Read every event of one record body; errors.Malformed if it cannot be read."""
        events = parse(body)
        for event in events:
            logger.append_keys(campaign_id=event.campaign_id)   # this record's lines (the consumer removes it)
            if event.type not in APPLIED:
                self._note(event, Outcome.IGNORED)
            elif not (event.account_id and event.campaign_id and event.subscriber_id) or is_test(event.subscriber_id):
                self._note(event, Outcome.UNTAGGED)
            else:
                self.pending.append(event)

    def finish(self, mailer: Mailer) -> list[str]:
        """Count and apply the events read, then check the touched campaigns (R22) and guard their accounts'
        reputation (reputation.py), and log the batch; the ids of the campaigns stopped now. Raises (the whole
        batch is delivered again, which changes nothing that was done) if the counts could not be written."""
        found = self._count()
        for item in found:
            _effects(item.event, item.campaign, item.subscriber, first=item.outcome is Outcome.APPLIED)
        # The campaigns as read before counting, their tallies read now: the stop itself is conditional on the
        # status and generation read, so one resumed or stopped meanwhile is left alone.
        touched = {(item.campaign.account_id, item.campaign.campaign_id): item.campaign for item in found}
        stopped = [campaign_id for (_, campaign_id), campaign in sorted(touched.items())
                   if autostop.judge(deliveries.with_tallies(campaign), mailer)]
        held = reputation.after_batch({item.campaign.account_id for item in found
                                       if _moves(item.event)[2] in ("hard_bounces", "complaints")}, mailer)
        self.pending = []
        logger.info("feedback batch applied", extra={"outcomes": dict(self.outcomes), "campaigns": len(touched),
                                                     "stopped": stopped, "accounts_held": held})
        publish_counts("feedback", {**{kind.replace(":", "_"): n for kind, n in self.outcomes.items()},
                                    "campaigns_stopped": len(stopped)})
        return stopped

    def _note(self, event: Feedback, outcome: Outcome) -> None:
        self.outcomes[f"{event.type.value}:{outcome.value}"] += 1

    def _count(self) -> list[_Found]:
        """Count the pending events once (feedback_counts.commit); those whose campaign and subscriber exist."""
        found = self._resolve()
        waiting = [item for item in found if item.outcome is Outcome.APPLIED]
        for _ in range(COMMIT_ATTEMPTS):
            waiting = _commit_rounds(waiting)
            if not waiting:
                break
        else:
            raise errors.UpstreamError("The batch's feedback could not be counted just now; it is delivered again.")
        known = [item for item in found if item.outcome is not Outcome.UNKNOWN]
        for item in found:
            self._note(item.event, item.outcome)
        return known

    def _resolve(self) -> list[_Found]:
        """The pending events with their campaign and subscriber (one BatchGet per list), unknown ones noted."""
        campaigns = {key: campaign_store.get(*key)
                     for key in {(e.account_id or "", e.campaign_id or "") for e in self.pending}}
        wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
        for event in self.pending:
            campaign = campaigns[(event.account_id or "", event.campaign_id or "")]
            if campaign is not None:
                wanted[(campaign.account_id, campaign.list_id)].update(_candidates(event, campaign))
        members = {(list_key, subscriber_id): member for (account_id, list_id), ids in wanted.items()
                   for list_key in [subscriber_store.list_key(account_id, list_id)]
                   for subscriber_id, member in subscriber_store.many(account_id, list_id, sorted(ids)).items()}
        found = []
        for event in self.pending:
            campaign = campaigns[(event.account_id or "", event.campaign_id or "")]
            subscriber = _recipient(event, campaign, members) if campaign is not None else None
            if campaign is None or subscriber is None:
                self._note(event, Outcome.UNKNOWN)
                continue
            item = _Found(event, campaign, subscriber, _event_key(event, campaign))
            if feedback_counts.marked(subscriber, item.key):
                item.outcome = Outcome.DUPLICATE
            found.append(item)
        return found


def _commit_rounds(waiting: list[_Found]) -> list[_Found]:
    """Count these events in transactions of at most one event per subscriber and PER_TRANSACTION events; the
    events to try again (their subscriber moved since it was read: read again, and what was counted meanwhile
    is a duplicate now, what was erased unknown)."""
    again: list[_Found] = []
    rounds: list[list[_Found]] = []
    for item in waiting:
        target = next((r for r in rounds if len(r) < PER_TRANSACTION
                       and all(other.subscriber.subscriber_id != item.subscriber.subscriber_id
                               or other.subscriber.list_key != item.subscriber.list_key for other in r)), None)
        if target is None:
            rounds.append([item])
        else:
            target.append(item)
    now = clock.now()
    day = reputation_store.day_of(now)
    for batch in rounds:
        campaigns: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        days: dict[tuple[str, str], Counts] = defaultdict(Counts)
        changes = []
        for item in batch:
            counter, actions, reputation_field = _moves(item.event)
            campaigns[(item.campaign.account_id, item.campaign.campaign_id)][counter] += 1
            if reputation_field:
                days[(day, item.campaign.account_id)] += Counts(**{reputation_field: 1})
            changes.append(Change(item.subscriber, [item.key], actions))
        failed = feedback_counts.commit(changes, campaigns, days, now)
        if any(failed):
            again.extend(_reread(item) for item in batch)
    return [item for item in again if item.outcome is Outcome.APPLIED]


def _reread(item: _Found) -> _Found:
    subscriber = subscriber_store.read_now(item.subscriber.account_id, item.subscriber.list_id,
                                           item.subscriber.subscriber_id)
    if subscriber is None:
        item.outcome = Outcome.UNKNOWN
    else:
        item.subscriber = subscriber
        if feedback_counts.marked(subscriber, item.key):
            item.outcome = Outcome.DUPLICATE
    return item


def _event_key(event: Feedback, campaign: Campaign) -> str:
    """What an event is counted once under: its campaign, type, SES ids and recipient. A complaint counts once per
    recipient and campaign, however many abuse reports (each with its own feedback id) a mailbox provider sends."""
    if event.type is EventType.COMPLAINT:
        return f"{campaign.campaign_id}#complaint"
    return "#".join((campaign.campaign_id, event.type.value.lower(), event.event_id,
                     suppressions.email_key(_normalised(event.recipient))))


def _candidates(event: Feedback, campaign: Campaign) -> list[str]:
    """The subscriber ids the event may be about: the tagged one, and the reported address's member of the list."""
    by_address = subscribers.subscriber_id_for(campaign.account_id, campaign.list_id, _normalised(event.recipient))
    return [event.subscriber_id or "", by_address]


def _recipient(event: Feedback, campaign: Campaign, members: Mapping[tuple[str, str], Subscriber]) -> Subscriber | None:
    """The subscriber the event is about: the tagged one (a campaign email has one recipient), else the
    member of the campaign's list with the reported address."""
    key = subscriber_store.list_key(campaign.account_id, campaign.list_id)
    tagged = members.get((key, event.subscriber_id or ""))
    if tagged is not None and (event.recipients_in_message <= 1
                               or tagged.email_key == suppressions.email_key(_normalised(event.recipient))):
        return tagged
    return members.get((key, _candidates(event, campaign)[1]))


def _normalised(address: str) -> str:
    try:
        return addresses.normalise(address)
    except errors.Invalid:
        return address.strip().lower()


def _moves(event: Feedback) -> tuple[str, list, str | None]:
    """The campaign counter an event adds one to, its subscriber's updates, and the account's reputation count
    it adds one to (models/reputation.Counts), if any."""
    if event.type is EventType.DELIVERY:
        return "delivered_count", [Subscriber.soft_bounces.set(0), *activity.on_delivery()], "delivered"
    if event.type is EventType.BOUNCE and event.bounce is BounceKind.HARD:
        return "hard_bounce_count", [], "hard_bounces"
    if event.type is EventType.BOUNCE:
        return "soft_bounce_count", [Subscriber.soft_bounces.add(1)], "soft_bounces"
    if event.type is EventType.COMPLAINT:
        return "complaint_count", [], "complaints"
    return "rejected_count", [], None


def _effects(event: Feedback, campaign: Campaign, subscriber: Subscriber, first: bool) -> None:
    """What the event does to the subscriber, the suppression list and the ledger; safe to repeat."""
    account_id, campaign_id = campaign.account_id, campaign.campaign_id
    if event.type is EventType.DELIVERY:
        deliveries.note_outcome(account_id, campaign_id, subscriber.subscriber_id,
                                [Delivery.delivered_at.set(event.at)])
    elif event.type is EventType.BOUNCE:
        bounce = event.bounce or BounceKind.SOFT
        deliveries.note_outcome(account_id, campaign_id, subscriber.subscriber_id, [
            Delivery.bounce_type.set(bounce.value), Delivery.bounced_at.set(event.at),
            Delivery.bounce_reason.set(event.reason) if event.reason else Delivery.bounce_reason.remove()])
        if bounce is BounceKind.HARD or _soft_bounces(subscriber) >= SOFT_BOUNCES_IN_A_ROW:
            suppressions.suppress(account_id, subscriber.email, SuppressionReason.BOUNCED, source=campaign_id)
            subscribers.mark_everywhere(subscriber, SubscriberStatus.BOUNCED, BOUNCEABLE)
            if first:
                logger.info("address bounced", extra={"account_id": account_id, "campaign_id": campaign_id,
                                                      "subscriber_id": subscriber.subscriber_id,
                                                      "bounce": bounce.value})
    elif event.type is EventType.COMPLAINT:
        subscribers.unsubscribe_by_complaint(subscriber)


def _soft_bounces(subscriber: Subscriber) -> int:
    current = subscriber_store.read_now(subscriber.account_id, subscriber.list_id, subscriber.subscriber_id)
    return int(current.soft_bounces or 0) if current is not None else 0
