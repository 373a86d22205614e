"""An owner's notice sent exactly once per event (a campaign's auto-stop, an account's reputation hold), whatever
number of feedback consumers see the event at once.

The event is a map attribute with its time in "at". A consumer claims the notice in it (`notice_claimed_at`,
conditional: nobody claimed it, or a claim older than NOTICE_RETRY was abandoned by a crashed consumer), sends,
and records it sent (`notified_at`); a send that fails gives the claim back, so a later batch or schedule tries
again.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from chalicelib import clock

NOTICE_RETRY = timedelta(minutes=10)   # a notice claimed this long ago and not sent was abandoned: send it

Change = Callable[[list, Any], bool]   # apply update actions to the event's item if the condition holds


def untold(event: dict | None) -> bool:
    """An event whose notice was neither sent nor is being sent."""
    if not event or "notified_at" in event:
        return False
    claimed = event.get("notice_claimed_at")
    return claimed is None or claimed < clock.iso(clock.now() - NOTICE_RETRY)


def tell(attribute: Any, at: Any, change: Change, send: Callable[[], bool]) -> None:
    """Claim the notice of the event in map `attribute` (its "at" still `at`), `send` it, record it sent. `send`
    returns False when there is nobody to tell: the claim then stays, to be taken over after NOTICE_RETRY."""
    now = clock.now()
    same = attribute["at"] == at
    claim, notified = attribute["notice_claimed_at"], attribute["notified_at"]
    if not change([claim.set(clock.iso(now))], same & notified.does_not_exist()
                  & (claim.does_not_exist() | (claim < clock.iso(now - NOTICE_RETRY)))):
        return
    try:
        sent = send()
    except Exception:
        change([claim.remove()], same)
        raise
    if sent:
        change([notified.set(clock.iso(clock.now()))], same)
