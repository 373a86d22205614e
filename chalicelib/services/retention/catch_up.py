"""The hourly catch-up: purges cut short are finished, and every daily rule that stopped before its end goes on
from its saved cursor."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.models import retention as store
from chalicelib.outbound import Mailer
from chalicelib.services.retention.account_purge import Outside, finish_purges, outside
from chalicelib.services.retention.expiries import expire_credits, expire_trials, purge_unconfirmed_subscribers
from chalicelib.services.retention.inactivity import purge_inactive_accounts
from chalicelib.services.retention.rules import Budget, Outcome


def resume_unfinished(remaining_ms: Callable[[], int], mailer: Mailer, elsewhere: Outside | None = None,
                      now: datetime | None = None) -> Outcome:
    """Finish purges cut short, then go on with every daily pass that stopped before its end."""
    elsewhere = elsewhere or outside()
    budget = Budget(remaining_ms)
    outcome = Outcome("resume_unfinished")
    finish_purges(budget, elsewhere, outcome)
    passes: dict[str, Callable[[], Outcome]] = {
        "inactive_accounts": lambda: purge_inactive_accounts(remaining_ms, mailer, elsewhere, now),
        "expired_credits": lambda: expire_credits(remaining_ms, now),
        "expired_trials": lambda: expire_trials(remaining_ms, now),
        "unconfirmed_subscribers": lambda: purge_unconfirmed_subscribers(remaining_ms, now),
    }
    for job in store.unfinished_jobs():
        if job not in passes:
            continue
        if not budget.left():
            outcome.done = False
            break
        resumed = passes[job]()
        outcome.counts.update({f"{job}.{name}": value for name, value in resumed.counts.items()})
        outcome.done = outcome.done and resumed.done
    return outcome
