"""The account reputation guard's store: what SES reported about each account's campaign emails per UTC day,
and the accounts whose sending is on hold.

One table, hash key `day`:
- "YYYY-MM-DD" (UTC): each account's counts that day, in SHARDS items (range key "<account id>#<shard>"; before
  sharding, one item keyed by the account id alone, still read). The feedback consumer adds a batch's reports to
  one shard, picked at random, in the transaction that counts the batch's events once (models/feedback_counts.py),
  so no item takes every batch of a busy account, and a redelivered batch adds nothing. An account's day is the
  sum of its shards (one BatchGet for a week); the service's day the sum of the partition (one Query).
- "hold": one item per account on hold (range key: the account id), so staff list the holds with one Query;
  the account's own `reputation_hold` carries the figures (the send gate reads it). Both are written and
  removed in one transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import (
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.models.accounts import Account
from chalicelib.models.base import BaseModel, transact, written

HOLD = "hold"
SHARDS = 20      # items per account and day: a busy account's feedback batches spread over them
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


def day_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def shard_key(account_id: str, shard: int) -> str:
    return f"{account_id}#{shard:02d}"


def _account_keys(account_id: str) -> list[str]:
    """The range keys an account's counts of one day may be under: its shards, and the unsharded item of old."""
    return [account_id, *(shard_key(account_id, n) for n in range(SHARDS))]


def add_to_day(day: str, account_id: str, shard: int, counts: Counts) -> tuple[ReputationDay, list]:
    """The item and the update actions adding `counts` to one shard of the account's `day` (for a transaction)."""
    adds = [getattr(ReputationDay, name).add(value) for name, value in counts.as_dict().items() if value]
    return ReputationDay(day, shard_key(account_id, shard)), [
        *adds, ReputationDay.updated_at.set(clock.now()), ReputationDay.expires_at.set(expiry_of(day))]


def of_days(account_id: str, days: Iterable[str]) -> dict[str, Counts]:
    """The account's counts on each of these days that had reports, its shards summed (BatchGet)."""
    found: dict[str, Counts] = {}
    for item in ReputationDay.batch_get([(day, key) for day in set(days) for key in _account_keys(account_id)]):
        found[item.day] = found.get(item.day, Counts()) + Counts.of(item)
    return found


def day_total(day: str) -> Counts:
    """Every account's counts on `day`, summed (one Query over the day's partition, paged by PynamoDB)."""
    total = Counts()
    for item in ReputationDay.query(day, attributes_to_get=[f.name for f in fields(Counts)]):
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
    days = [(now - timedelta(days=n)).date().isoformat() for n in range((now - created).days + 2)]
    keys = [(HOLD, account_id)] + [(day, key) for day in days for key in _account_keys(account_id)]
    found = list(ReputationDay.batch_get(keys))
    with ReputationDay.batch_write() as batch:
        for item in found:
            batch.delete(item)
    return len(found)
