"""A subscriber's activity (R26): campaigns received, opened and clicked, and the score made from them.

The counters move by one atomic update each: `delivered` on every SES Delivery event (feedback), `engaged`
when a reader's first open or first click of a campaign is counted (tracking; machines never count).

The score, 0–100, is how much of what the subscriber received they engaged with, clicks weighing more
than opens, halved for every HALF_LIFE since their last open or click. A subscriber with nothing received
and nothing opened has no score yet (None), rather than a made-up middle value: "new" and "indifferent"
are different things to a sender pruning a list.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.models import subscribers as store
from chalicelib.models.base import Update
from chalicelib.models.subscribers import Subscriber

OPEN_WEIGHT = 0.4    # a campaign opened, and no more
CLICK_WEIGHT = 0.6   # on top, for a campaign clicked in: opening and clicking everything scores 100
HALF_LIFE = timedelta(days=90)


@dataclass(frozen=True)
class Activity:
    received: int = 0
    opened: int = 0
    clicked: int = 0
    last_activity_at: datetime | None = None
    last_opened_at: datetime | None = None
    last_clicked_at: datetime | None = None


def of(subscriber: Subscriber) -> Activity:
    """The counters stored on a subscriber."""
    return Activity(int(subscriber.received or 0), int(subscriber.opened or 0), int(subscriber.clicked or 0),
                    subscriber.last_activity_at, subscriber.last_opened_at, subscriber.last_clicked_at)


def score(activity: Activity, now: datetime) -> int | None:
    """The activity score, 0 (nothing opened, or long ago) to 100 (opens and clicks everything, lately);
    None when there is nothing to judge yet."""
    # A Delivery event can arrive after the reader's open, or not at all: what was opened was received.
    received = max(activity.received, activity.opened, activity.clicked)
    if received <= 0:
        return None
    engagement = OPEN_WEIGHT * activity.opened / received + CLICK_WEIGHT * activity.clicked / received
    if activity.last_activity_at is not None:
        idle = max((now - activity.last_activity_at).total_seconds(), 0.0)
        engagement *= 0.5 ** (idle / HALF_LIFE.total_seconds())
    return round(100 * min(engagement, 1.0))


def on_delivery() -> list:
    """The subscriber's update for one campaign email SES delivered: one more received. The feedback
    consumer applies it in the transaction that counts the Delivery event, so it counts exactly once."""
    return [Subscriber.received.add(1)]


def engaged(account_id: str, list_id: str, subscriber_id: str, at: datetime, *, opened: bool,
            clicked: bool) -> None:
    """A reader opened (and/or clicked in) a campaign for the first time, at `at`. A subscriber deleted or
    erased since is ignored."""
    actions: list[Update] = [Subscriber.last_activity_at.set(at)]
    if opened:
        actions += [Subscriber.opened.add(1), Subscriber.last_opened_at.set(at)]
    if clicked:
        actions += [Subscriber.clicked.add(1), Subscriber.last_clicked_at.set(at)]
    store.change_by_id(account_id, list_id, subscriber_id, actions)
