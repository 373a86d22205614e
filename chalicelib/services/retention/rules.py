"""How a retention rule runs: within the invocation's time budget, account by account, counting what it did.

A rule's state lives in the data (an account marked `purging`, items already deleted) or in a saved cursor
(models/retention.py), so a run cut short is resumed by the next one. Each run reports counts per table or
outcome, never an address.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.log import logger, publish_counts
from chalicelib.models.accounts import Account
from chalicelib.services.accounts.audit import Actor

RESERVE_MS = 2_000                          # stop this long before the invocation's end
PAGE = 100                                  # items read per page of a scan
ACTOR = Actor(None, "system")


class Budget:
    """The time left in this invocation; rules stop cleanly before it runs out."""

    def __init__(self, remaining_ms: Callable[[], int], reserve_ms: int = RESERVE_MS) -> None:
        self._remaining_ms = remaining_ms
        self._reserve_ms = reserve_ms

    def left(self) -> bool:
        return self._remaining_ms() > self._reserve_ms


@dataclass
class Outcome:
    """What one run of a rule did: counts by table or by what happened, and whether it reached the end."""

    rule: str
    counts: Counter = field(default_factory=Counter)
    done: bool = True

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "done": self.done, **dict(sorted(self.counts.items()))}


def report(outcome: Outcome) -> dict[str, object]:
    """Log and publish a run's counts as metrics (never an address), and return them."""
    summary = outcome.as_dict()
    logger.info("retention rule ran", extra=summary)
    publish_counts(f"retention.{outcome.rule}", {**outcome.counts, "unfinished": int(not outcome.done)})
    return summary


def per_account(outcome: Outcome, budget: Budget, work: Callable[..., None], *args: Any
                ) -> Callable[[list[Account]], int]:
    """A sweep's page handler: `work(account, *args)` for each account while the budget lasts; how many it did."""
    def handle(accounts: list[Account]) -> int:
        for n, account in enumerate(accounts):
            if not budget.left():
                return n
            apply_to(outcome, account.account_id, work, account, *args)
        return len(accounts)

    return handle


def apply_to(outcome: Outcome, account_id: str, work: Callable[..., object], *args: object) -> None:
    """Apply a rule to one account; a failure is logged and counted, and the next pass tries it again."""
    try:
        work(*args)
    except Exception as exc:  # noqa: BLE001 - one account's failure must not stop the rule for every other one
        logger.exception("retention rule failed for an account", extra={
            "rule": outcome.rule, "account_id": account_id, "error": type(exc).__name__})
        outcome.counts["failed"] += 1
