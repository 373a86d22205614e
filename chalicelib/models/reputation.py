"""The account reputation guard's store: what SES reported about each account's campaign emails per UTC day,
and the accounts whose sending is on hold.

One table, hash key `day`:
- "YYYY-MM-DD" (UTC), one item per account that had reports that day (range key: the account id), moved
  by `credit` once per feedback batch and campaign, never per event. A day's service-wide figures are the
  sum of its partition (one Query), so no single item is written by every batch.
- "hold": one item per account on hold (range key: the account id), so staff list the holds with one Query;
  the account's own `reputation_hold` carries the figures (the send gate reads it). Both are written and
  removed in one transaction.

A campaign's counters are credited to its account's day exactly once: the campaign carries what was
credited so far (`credited_*`), and `credit` moves the difference onto the day item and those marks in one
transaction, conditional on the marks being as read. A redelivered feedback batch moves no campaign counter,
so it credits nothing; a batch that crashed after counting its events leaves a difference that the next
batch touching the campaign (its own redelivery, at the latest) credits.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.models.accounts import Account
from chalicelib.models.base import BaseModel, transact, written
from chalicelib.models.campaigns import Campaign

HOLD = "hold"
KEEP_DAYS = 35   # a day's counts outlive the guard's 7-day window by weeks (for staff's questions), then expire


class ReputationDay(BaseModel):
    class Meta:
        logical_name = "reputation"

    day = UnicodeAttribute(hash_key=True)          # "YYYY-MM-DD" (UTC), or HOLD
    account_id = UnicodeAttribute(range_key=True)
    delivered = NumberAttribute(default=0)
    hard_bounces = NumberAttribute(default=0)
    soft_bounces = NumberAttribute(default=0)
    complaints = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)           # a day's item only: KEEP_DAYS after its day; a hold never expires


@dataclass(frozen=True)
class Counts:
    """Reports on campaign emails: delivered, bounced (hard, soft) and complained about."""

    delivered: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    complaints: int = 0

    @property
    def reported(self) -> int:
        """The emails whose fate SES reported: delivered or bounced."""
        return self.delivered + self.hard_bounces + self.soft_bounces

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Counts)))

    def __sub__(self, other: Counts) -> Counts:
        return Counts(*(max(getattr(self, f.name) - getattr(other, f.name), 0) for f in fields(Counts)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(Counts)}

    @classmethod
    def of(cls, item) -> Counts:
        """The counts of a day item, or of a map holding the same names (missing ones are 0)."""
        if item is None:
            return cls()
        read = item.get if isinstance(item, dict) else (lambda name, default: getattr(item, name, default))
        return cls(*(int(read(f.name, 0) or 0) for f in fields(Counts)))


# The campaign counter each count is credited from, and the campaign attribute saying how much of it was.
CAMPAIGN_COUNTERS = {"delivered": ("delivered_count", "credited_delivered"),
                     "hard_bounces": ("hard_bounce_count", "credited_hard_bounces"),
                     "soft_bounces": ("soft_bounce_count", "credited_soft_bounces"),
                     "complaints": ("complaint_count", "credited_complaints")}


def day_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def uncredited(campaign: Campaign) -> Counts:
    """What the campaign's feedback counters hold that was not credited to its account's days yet."""
    return Counts(**{name: max(int(getattr(campaign, counter) or 0) - int(getattr(campaign, mark) or 0), 0)
                     for name, (counter, mark) in CAMPAIGN_COUNTERS.items()})


def credit(campaign: Campaign, day: str) -> bool:
    """Add the campaign's uncredited counts to its account's `day` and mark them credited, both or neither;
    False if the marks moved since the campaign was read (another batch credited it: read it again)."""
    delta = uncredited(campaign)
    now = clock.now()
    marks, condition = [], Campaign.campaign_id.exists()
    for counter, mark in CAMPAIGN_COUNTERS.values():
        attribute = getattr(Campaign, mark)
        old = getattr(campaign, mark)
        marks.append(attribute.set(int(getattr(campaign, counter) or 0)))
        condition &= attribute.does_not_exist() if old is None else attribute == old
    adds = [getattr(ReputationDay, name).add(value) for name, value in delta.as_dict().items() if value]

    def write(tx: TransactWrite) -> None:
        tx.update(Campaign(campaign.account_id, campaign.campaign_id), actions=marks, condition=condition)
        tx.update(ReputationDay(day, campaign.account_id), actions=[
            *adds, ReputationDay.updated_at.set(now), ReputationDay.expires_at.set(expiry_of(day))])

    return not any(transact(write, 2))


def of_days(account_id: str, days: Iterable[str]) -> dict[str, Counts]:
    """The account's counts on each of these days that had reports (BatchGet)."""
    return {item.day: Counts.of(item) for item in ReputationDay.batch_get([(day, account_id) for day in set(days)])}


def day_total(day: str) -> Counts:
    """Every account's counts on `day`, summed (one Query over the day's partition, paged by PynamoDB)."""
    total = Counts()
    for item in ReputationDay.query(day, attributes_to_get=list(CAMPAIGN_COUNTERS)):
        total += Counts.of(item)
    return total


def window_days(now: datetime, days: int) -> list[str]:
    """The `days` UTC days ending with today's, oldest first."""
    return [day_of(now - timedelta(days=back)) for back in range(days - 1, -1, -1)]


# --- holds -----------------------------------------------------------------------------------------------

def hold(account_id: str, figures: dict) -> bool:
    """Put the account on hold with `figures` (on the account) and list it among the holds; False if it already is."""
    now = clock.now()

    def write(tx: TransactWrite) -> None:
        tx.update(Account(account_id), actions=[Account.reputation_hold.set(figures), Account.updated_at.set(now)],
                  condition=Account.account_id.exists() & Account.reputation_hold.does_not_exist())
        tx.save(ReputationDay(HOLD, account_id, updated_at=now))

    return not any(transact(write, 2))


def release(account: Account, since: dict) -> bool:
    """Lift the account's hold and count its reputation from `since` on; False if it is not the hold read."""
    held_at = as_dict(account.reputation_hold).get("at")
    now = clock.now()

    def write(tx: TransactWrite) -> None:
        tx.delete(ReputationDay(HOLD, account.account_id))
        tx.update(Account(account.account_id), actions=[
            Account.reputation_hold.remove(), Account.reputation_since.set(since), Account.updated_at.set(now)],
            condition=Account.reputation_hold["at"] == held_at)

    return held_at is not None and not any(transact(write, 2))


def as_dict(value) -> dict:
    """A map attribute's value as a plain dict ({} for None)."""
    if value is None:
        return {}
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)


def held_accounts() -> list[Account]:
    """The accounts on hold (one Query for their ids, then a BatchGet of the accounts, which carry the figures)."""
    ids = [item.account_id for item in ReputationDay.query(HOLD)]
    found = Account.batch_get(ids) if ids else []
    return [account for account in found if account.reputation_hold is not None]


def note_hold(account: Account, actions: list, condition) -> bool:
    """Update the account's hold map (its notice's claim and sending), if `condition` holds."""
    return written(lambda: account.update(
        actions=actions, condition=Account.reputation_hold["at"].exists() & condition))


def expiry_of(day: str) -> datetime:
    """When a day's item may go: KEEP_DAYS after the day."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=KEEP_DAYS)


def forget(account_id: str, created: datetime, now: datetime) -> int:
    """Delete the account's hold and its items of every day since it was created (an account purge, R30: those past
    their TTL too, which DynamoDB may not have deleted yet); how many. Batched: a hundred days a request."""
    days = [HOLD] + [(now - timedelta(days=n)).date().isoformat() for n in range((now - created).days + 2)]
    found = list(ReputationDay.batch_get([(day, account_id) for day in days]))
    with ReputationDay.batch_write() as batch:
        for item in found:
            batch.delete(item)
    return len(found)
