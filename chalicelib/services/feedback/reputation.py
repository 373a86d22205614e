"""The account reputation guard: one tenant's bounces and complaints must never put the service's shared SES
account under review (SES reviews at 5% bounces or 0.1% complaints, and may pause everyone's sending at 10% /
0.5%).

Each account's delivered, hard-bounce, soft-bounce and complaint counts are kept per UTC day
(models/reputation.py), added by the feedback consumer in the transaction that counts each SES event exactly once
(models/feedback_counts.py). When, over the last WINDOW_DAYS days with at least MIN_REPORTED emails reported
(delivered or bounced), hard bounces reach 4% or complaints 0.08% of them, the account goes on hold: its
sending campaigns pause (the sender also checks before every chunk), every new send is refused with code
`reputation_hold` (campaigns/gate.py), its owner is told once, and staff see it in GET /v1/admin/reviews until
they release it (services/accounts/staff.release). After a release only what is reported after it counts.
R22's per-campaign auto-stop (autostop.py) is independent of this.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from fractions import Fraction

from chalicelib import clock
from chalicelib.log import logger, publish_counts
from chalicelib.models import accounts as account_store
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import reputation as store
from chalicelib.models import users as user_store
from chalicelib.models.accounts import Account
from chalicelib.models.campaigns import PauseReason
from chalicelib.models.reputation import Counts, as_dict
from chalicelib.outbound import Mailer
from chalicelib.services.accounts import account_mail
from chalicelib.services.feedback import notice_once

WINDOW_DAYS = 7
MIN_REPORTED = 500


class Rate(str, Enum):
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"


# Reaching a limit is enough; below SES's review lines (5%, 0.1%).
LIMITS = ((Rate.HARD_BOUNCE, Fraction(4, 100)), (Rate.COMPLAINT, Fraction(8, 10000)))
NOUNS = {Rate.HARD_BOUNCE: "Hard bounces", Rate.COMPLAINT: "Complaints"}


@dataclass(frozen=True)
class Breach:
    rate: Rate
    value: float     # e.g. 0.046
    limit: float     # e.g. 0.04
    counts: Counts


def breach(counts: Counts) -> Breach | None:
    """The first limit the counts reach, or None (always None below MIN_REPORTED reported emails)."""
    if counts.reported < MIN_REPORTED:
        return None
    found = {Rate.HARD_BOUNCE: counts.hard_bounces, Rate.COMPLAINT: counts.complaints}
    for rate, limit in LIMITS:
        value = Fraction(found[rate], counts.reported)
        if value >= limit:
            return Breach(rate, round(float(value), 6), float(limit), counts)
    return None


def share(value: float) -> str:
    """0.046 -> "4.6%", 0.0008 -> "0.08%", 0.00125 -> "0.125%"."""
    pct = value * 100
    return f"{pct:.2f}".rstrip("0").rstrip(".") + "%" if pct >= 1 else f"{pct:.3f}".rstrip("0").rstrip(".") + "%"


def sentence(found: Breach) -> str:
    """E.g. "Hard bounces were 4.6% of 1,200 emails reported over the last 7 days; sending pauses at 4%."."""
    return (f"{NOUNS[found.rate]} were {share(found.value)} of {found.counts.reported:,} emails reported over the "
            f"last {WINDOW_DAYS} days; sending pauses at {share(found.limit)}.")


def window(account: Account, now: datetime) -> Counts:
    """The account's counts over the last WINDOW_DAYS UTC days, counted from its last release if that is later."""
    since = as_dict(account.reputation_since)
    days = [day for day in store.window_days(now, WINDOW_DAYS) if day >= since.get("day", "")]
    by_day = store.of_days(account.account_id, days)
    if since.get("day") in by_day:   # the release's day counts only what came after the release
        by_day[since["day"]] = by_day[since["day"]] - Counts.of(since)
    total = Counts()
    for counts in by_day.values():
        total += counts
    return total


# --- the feedback consumer's part: once per batch ---------------------------------------------------------

def after_batch(accounts: Iterable[str], mailer: Mailer) -> list[str]:
    """Judge the accounts a feedback batch reported hard bounces or complaints of; those put on hold now."""
    return [account_id for account_id in sorted(set(accounts)) if guard(account_id, mailer)]


def guard(account_id: str, mailer: Mailer) -> bool:
    """Put the account on hold if its window breaks a limit (pausing its sending campaigns), and tell its owner
    of a hold not told yet; True if it went on hold now."""
    account = account_store.read_now(account_id)
    if account is None:
        return False
    held_now = False
    if account.reputation_hold is None:
        now = clock.now()
        found = breach(window(account, now))
        if found is None:
            return False
        figures = _figures(found, now)
        held_now = store.hold(account_id, figures)
        if held_now:
            paused = campaign_store.pause_all_sending(account_id, PauseReason.REPUTATION_HOLD,
                                                      paused_sentence(figures))
            logger.warning("account put on reputation hold", extra={
                "account_id": account_id, "rate": found.rate.value, "value": found.value, "limit": found.limit,
                "reported": found.counts.reported, "paused_campaign_ids": paused})
        account = account_store.read_now(account_id)
    if account is not None and _untold(account):
        try:
            _tell_owner(account, mailer)
        except Exception as exc:  # noqa: BLE001 - told at the next look (a later batch, or the schedule)
            logger.error("reputation hold notice not sent", extra={"account_id": account_id,
                                                                   "error": type(exc).__name__})
    return held_now


def paused_sentence(hold) -> str:
    """The status_reason of a campaign the hold paused."""
    return (f"Paused: this account's sending is on hold. {as_dict(hold).get('sentence', '')} Our staff review "
            "the account; once they release it, resume the campaign.")


def _figures(found: Breach, now: datetime) -> dict:
    return {"rate": found.rate.value, "value": found.value, "limit": found.limit, "sentence": sentence(found),
            "reported": found.counts.reported, **found.counts.as_dict(), "at": clock.iso(now)}


def _untold(account: Account) -> bool:
    return notice_once.untold(as_dict(account.reputation_hold))


def _tell_owner(account: Account, mailer: Mailer) -> None:
    """Email the owner once per hold (services/feedback/notice_once.py)."""
    hold = as_dict(account.reputation_hold)

    def send() -> bool:
        owner = user_store.get(account.account_id, account.owner_user_id)
        if owner is None:
            logger.error("reputation hold notice has no owner to go to", extra={"account_id": account.account_id})
            return False
        mailer.send(account_mail.reputation_hold(owner.email, account.account_id, hold["sentence"]))
        logger.info("reputation hold notice sent", extra={"account_id": account.account_id, "user_id": owner.user_id})
        return True

    notice_once.tell(Account.reputation_hold, hold["at"],
                     lambda actions, condition: store.note_hold(account, actions, condition), send)


# --- staff, and the service's figures ---------------------------------------------------------------------

def holds() -> list[dict]:
    """The accounts on hold, oldest hold first, each with the figures that tripped it."""
    found = [{"account_id": account.account_id, **as_dict(account.reputation_hold)}
             for account in store.held_accounts()]
    return sorted(found, key=lambda hold: hold.get("at", ""))


def watch(mailer: Mailer) -> dict[str, float]:
    """The schedule's look: tell the owners of holds not told yet, and publish today's service-wide rates."""
    for hold in holds():
        if "notified_at" not in hold:
            guard(hold["account_id"], mailer)
    return publish_service_rates(clock.now())


def publish_service_rates(now: datetime) -> dict[str, float]:
    """Today's (UTC) service-wide hard-bounce and complaint rates, in percent of the emails reported, and the
    counts, as CloudWatch metrics (namespace "mailroom", service "reputation"); the figures published."""
    counts = store.day_total(store.day_of(now))
    reported = counts.reported
    percents = {"ServiceHardBounceRate": _percent(counts.hard_bounces, reported),
                "ServiceComplaintRate": _percent(counts.complaints, reported)}
    totals = {"ServiceReportedEmails": reported, "ServiceDelivered": counts.delivered,
              "ServiceHardBounces": counts.hard_bounces, "ServiceComplaints": counts.complaints}
    publish_counts("reputation", totals, percents)
    return {**totals, **percents}


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 4) if whole else 0.0
