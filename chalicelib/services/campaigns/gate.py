"""The send gate (R5, R8, R10, R11, R21, R34, the reputation guard): go, hold for staff, or refuse with a
reason. Pure: no I/O."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from chalicelib.services.accounts.plans import (
    CREDIT_VALIDITY_DAYS,
    FREE_SUBSCRIBERS,
    MONTHLY_EMAILS_PER_LEVEL,
    TRIAL_EMAILS,
    AccountStatus,
    Plan,
    credits_expire_at,
    subscriber_limit,
)
from chalicelib.services.campaigns.screening import Match


class Outcome(str, Enum):
    GO = "go"            # reserve and send (or schedule)
    HOLD = "hold"        # in_review: staff decide
    REFUSE = "refuse"    # 422, nothing changes


class HoldReason(str, Enum):
    TRIAL = "trial"      # R8: every trial campaign waits for staff
    CONTENT = "content"  # R21: the prohibited-content screen matched


@dataclass(frozen=True)
class Facts:
    """What the gate decides on, gathered by the caller."""

    account_status: str
    plan: str
    now: datetime
    recipients: int
    used: int = 0                              # trial: emails used so far; monthly: this month's
    trial_ends_at: datetime | None = None
    trial_limit_passed_at: datetime | None = None   # R8: the trial ended when the subscribers passed the free limit
    subscriber_level: int | None = None
    subscriber_count: int = 0
    credits: int = 0
    credits_purchased_at: datetime | None = None
    from_domain: str = ""
    domain_verified: bool = False
    matches: tuple[Match, ...] = ()
    approved: bool = False                     # staff already approved this content
    segment: bool = False                      # the recipients are those of a segment of the list
    hold: str | None = None                    # the account's reputation hold (its sentence), if on hold


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    code: str | None = None
    message: str | None = None
    holds: tuple[HoldReason, ...] = field(default_factory=tuple)
    matches: tuple[Match, ...] = ()


def go() -> Decision:
    return Decision(Outcome.GO)


def refuse(code: str, message: str) -> Decision:
    return Decision(Outcome.REFUSE, code, message)


def decide(facts: Facts) -> Decision:
    """The gate's decision for sending one campaign to `facts.recipients` people."""
    refusal = _account_refusal(facts) or _sender_refusal(facts) or _plan_refusal(facts)
    if refusal is not None:
        return refusal
    if facts.approved:
        return go()
    holds = []
    if Plan(facts.plan) is Plan.TRIAL:
        holds.append(HoldReason.TRIAL)
    if facts.matches:
        holds.append(HoldReason.CONTENT)
    if holds:
        return Decision(Outcome.HOLD, holds=tuple(holds), matches=tuple(facts.matches))
    return go()


def _account_refusal(facts: Facts) -> Decision | None:
    return account_refusal(facts.account_status, hold=facts.hold)


def hold_of(account) -> str | None:
    """The sentence of the account's reputation hold (services/feedback/reputation.py), or None if not on hold."""
    hold = account.reputation_hold
    if hold is None:
        return None
    return str((hold.as_dict() if hasattr(hold, "as_dict") else dict(hold)).get("sentence") or "")


def account_refusal(account_status: str, allow_pending: bool = False, hold: str | None = None) -> Decision | None:
    """Why an account in this state, or on reputation `hold`, may not send (R5, R33, R34), or None; test copies
    `allow_pending`."""
    status = AccountStatus(account_status)
    if status in (AccountStatus.CLOSED, AccountStatus.PURGING):
        return refuse("account_closed", "This account is closed; it can no longer send.")
    if status is AccountStatus.SUSPENDED:
        return refuse("account_suspended", "This account is suspended by staff; nothing can be sent until "
                                           "it is reinstated.")
    if status is AccountStatus.PENDING_REVIEW and not allow_pending:
        return refuse("account_not_approved", "This account is still waiting for approval by our staff; "
                                              "campaigns can be sent once it is approved.")
    if hold is not None:
        return refuse("reputation_hold", f"Sending from this account is on hold. {hold} Our staff review the "
                                         "account; nothing can be sent until they release it.")
    return None


def _sender_refusal(facts: Facts) -> Decision | None:
    if not facts.domain_verified:
        return domain_refusal(facts.from_domain)
    if facts.recipients <= 0 and facts.segment:
        return refuse("no_recipients", "No subscribed member of the list is in the campaign's segment.")
    if facts.recipients <= 0:
        return refuse("no_recipients", "The list has no subscribed members to send to.")
    return None


def domain_refusal(domain: str) -> Decision:
    """The refusal for a sender address whose domain is not verified for the account."""
    return refuse("domain_not_verified",
                  f"The sending domain {domain} is not verified for this account. Add it under /v1/domains, "
                  "publish the DNS records it shows, and send once its status is verified.")


def _plan_refusal(facts: Facts) -> Decision | None:
    plan = Plan(facts.plan)
    n = facts.recipients
    if plan is Plan.TRIAL and (facts.trial_ends_at is None or facts.trial_ends_at <= facts.now):
        return trial_expired(facts.trial_limit_passed_at)   # removing subscribers does not bring it back
    limit = subscriber_limit(plan, facts.subscriber_level)
    if limit is not None and facts.subscriber_count > limit:
        return refuse("subscriber_limit_exceeded",
                      f"The account holds {facts.subscriber_count} subscribers, more than the {limit} its plan "
                      "allows; remove some or raise the level to send again.")
    if plan is Plan.TRIAL and facts.used + n > TRIAL_EMAILS:
        left = max(TRIAL_EMAILS - facts.used, 0)
        return refuse("trial_limit", f"The trial allows {TRIAL_EMAILS} emails in all and {left} are left; "
                                     f"this campaign would send {n}.")
    if plan is Plan.MONTHLY:
        cap = MONTHLY_EMAILS_PER_LEVEL * int(facts.subscriber_level or 0)
        if facts.used + n > cap:
            left = max(cap - facts.used, 0)
            return refuse("monthly_limit", f"The plan allows {cap} emails this month and {left} are left; "
                                           f"this campaign would send {n}.")
    if plan is Plan.PAYG:
        if credits_expired(facts.credits_purchased_at, facts.now):
            return refuse("insufficient_credits", "The email credits have expired (12 months after the last "
                                                  "purchase); buy credits to send.")
        if facts.credits < n:
            return refuse("insufficient_credits", f"This campaign needs {n} email credits and the account has "
                                                  f"{facts.credits}.")
    return None


def plan_refusal(facts: Facts) -> Decision | None:
    """Why the plan cannot take `facts.recipients` more emails now (R8-R11), or None; test copies ask it too."""
    return _plan_refusal(facts)


def trial_expired(limit_passed_at: datetime | None = None) -> Decision:
    """R8: after the trial (30 days, or until the subscribers passed the free limit, whichever came first), lists
    can be managed but nothing can be sent until upgrade."""
    if limit_passed_at is not None:
        return refuse("trial_expired", f"The trial ended on {limit_passed_at:%-d %B %Y}, when the account's "
                                       f"subscribers passed the free limit of {FREE_SUBSCRIBERS:,}; it stays "
                                       "ended if subscribers are removed. Choose a plan to send again.")
    return refuse("trial_expired", "The 30-day trial has ended; choose a plan to send again.")


def credits_expired(purchased_at: datetime | None, now: datetime) -> bool:
    """R11: credits expire 12 months after the last purchase."""
    expires = credits_expire_at(purchased_at)
    return expires is None or expires < now


def credits_valid_after(now: datetime) -> datetime:
    """The oldest last-purchase time whose credits are still valid at `now`."""
    return now - timedelta(days=CREDIT_VALIDITY_DAYS)
