"""What staff do to customers' accounts: review them (R5), suspend and reinstate them (R34), set their plans
(R8–R12), each audited on the account (R4); and staff users themselves."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock, errors, ids, security
from chalicelib.log import logger
from chalicelib.models import accounts as store
from chalicelib.models import campaigns, reputation, users
from chalicelib.models.accounts import Account
from chalicelib.models.base import Page, Update
from chalicelib.models.campaigns import SUSPENDED_SENTENCE, PauseReason
from chalicelib.models.users import Login, User
from chalicelib.services import addresses
from chalicelib.services.accounts import audit, auth, plans
from chalicelib.services.accounts.accounts import get
from chalicelib.services.accounts.audit import Action, Actor, Origin, Result
from chalicelib.services.accounts.auth import Principal, Role
from chalicelib.services.accounts.plans import AccountStatus, Plan


@dataclass(frozen=True)
class PlanChange:
    plan: str
    subscriber_level: int | None = None
    credits: int | None = None
    pro: bool | None = None


def page_for_staff(staff: Principal, status: str | None, limit: int, start: dict | None,
                   origin: Origin) -> Page[Account]:
    """Accounts in a status (newest first), or all accounts. The page shows each account's profile and
    registration (IP, User-Agent), so the read is audited on every account in it (R4) before it is shown."""
    if status is not None:
        try:
            status = AccountStatus(status).value
        except ValueError:
            allowed = ", ".join(s.value for s in AccountStatus)
            raise errors.Invalid(f"status must be one of {allowed}.", code="invalid_status") from None
    page = store.page_by_status(status, limit, start)
    audit.record_each([account.account_id for account in page.items], Action.STAFF_ACCESS, origin,
                      Actor(staff.user_id, staff.role), operation="list_accounts",
                      details={"status": status} if status else None)
    return page


def view_for_staff(staff: Principal, account_id: str, origin: Origin) -> Account:
    """One account as staff see it; the access is audited on the account (R4)."""
    account = get(account_id)
    _staff_audit(staff, account, origin, "view", Result.OK)
    return account


def approve(staff: Principal, account_id: str, origin: Origin) -> Account:
    """Approve an account waiting for review (R5): sending is no longer held."""
    return _transition(staff, account_id, origin, "approve", (AccountStatus.PENDING_REVIEW,), AccountStatus.ACTIVE)


def suspend(staff: Principal, account_id: str, reason: str | None, origin: Origin) -> Account:
    """Suspend an account (R34): it keeps read access but sends nothing; its sending campaigns pause at once
    (the sender checks the account before every chunk too, so one it reads in between pauses there)."""
    account = _transition(
        staff, account_id, origin, "suspend",
        (AccountStatus.PENDING_REVIEW, AccountStatus.ACTIVE), AccountStatus.SUSPENDED,
        reason=(reason or "").strip() or None,
    )
    paused = campaigns.pause_all_sending(account_id, PauseReason.ACCOUNT_SUSPENDED, SUSPENDED_SENTENCE)
    logger.info("campaigns paused by suspension", extra={"account_id": account_id, "campaign_ids": paused})
    return account


def reinstate(staff: Principal, account_id: str, origin: Origin) -> Account:
    """Lift a suspension; the account is active again."""
    return _transition(staff, account_id, origin, "reinstate", (AccountStatus.SUSPENDED,), AccountStatus.ACTIVE)


def _transition(
    staff: Principal,
    account_id: str,
    origin: Origin,
    operation: str,
    sources: tuple[AccountStatus, ...],
    target: AccountStatus,
    reason: str | None = None,
) -> Account:
    def apply(account: Account) -> dict[str, Any]:
        allowed = Account.status.is_in(*(s.value for s in sources))
        actions = [Account.status.set(target.value), Account.updated_at.set(clock.now())]
        actions.append(Account.status_reason.set(reason) if reason else Account.status_reason.remove())
        details = {"from": account.status, "to": target.value, **({"reason": reason} if reason else {})}
        if not store.change(account, actions, allowed):
            raise errors.Conflict(
                f"An account that is {account.status} cannot be {_PAST[operation]}; "
                f"only one that is {' or '.join(s.value for s in sources)}.",
                code="invalid_transition",
            )
        return details

    return _staff_change(staff, account_id, origin, operation, apply)


_PAST = {"approve": "approved", "suspend": "suspended", "reinstate": "reinstated"}


def release(staff: Principal, account_id: str, origin: Origin) -> Account:
    """Release an account's reputation hold (services/feedback/reputation.py): it may send again, and from now
    on the guard judges only what is reported after the release. Its paused campaigns wait for their owner to
    resume them."""
    def apply(account: Account) -> dict[str, Any]:
        hold = reputation.as_dict(account.reputation_hold)
        now = clock.now()
        day = reputation.day_of(now)
        already = reputation.of_days(account_id, [day]).get(day, reputation.Counts())
        if not hold or not reputation.release(account, {"at": clock.iso(now), "day": day, **already.as_dict()}):
            raise errors.Conflict("This account's sending is not on hold.", code="not_on_hold")
        return {"hold": {name: hold.get(name) for name in ("rate", "value", "limit", "reported", "at")}}

    return _staff_change(staff, account_id, origin, "release", apply)


def change_plan(staff: Principal, account_id: str, change: PlanChange, origin: Origin) -> Account:
    """Set an account's plan, level, PRO option, or add pay-as-you-go credits (R8–R12). R10: a monthly level may be
    raised at any time; lowering it, or leaving the monthly plan, waits for the end of the term (422
    lower_level_mid_term with the date it becomes possible)."""
    plan = Plan(change.plan)
    if plan is Plan.MONTHLY and not (change.subscriber_level and change.subscriber_level > 0):
        raise errors.Invalid("The monthly plan needs a subscriber_level above 0.", code="invalid_plan")
    if plan is not Plan.MONTHLY and change.subscriber_level is not None:
        raise errors.Invalid("subscriber_level applies to the monthly plan only.", code="invalid_plan")
    if change.credits is not None and change.credits <= 0:
        raise errors.Invalid("credits must be a positive number to add.", code="invalid_plan")
    details = {"plan": plan.value, **{k: v for k, v in vars(change).items() if k != "plan" and v is not None}}

    def apply(account: Account) -> dict[str, Any]:
        now = clock.now()
        was_monthly = account.plan == Plan.MONTHLY.value
        level = int(account.subscriber_level or 0) if was_monthly else 0
        if (change.subscriber_level or 0) < level:
            _check_lowering(account, level, change.subscriber_level, now)
        actions: list[Update] = [Account.plan.set(plan.value), Account.updated_at.set(now)]
        if plan is Plan.MONTHLY and change.subscriber_level is not None:   # a monthly plan always names its level
            actions.append(Account.subscriber_level.set(change.subscriber_level))
            if not was_monthly or account.monthly_since is None:
                actions.append(Account.monthly_since.set(now))   # a term starts (or is known from now on)
        else:
            actions += [Account.subscriber_level.remove(), Account.monthly_since.remove()]
        if change.credits:
            actions += [Account.credits.add(change.credits), Account.credits_purchased_at.set(now)]
        if change.pro is not None:
            actions.append(Account.pro.set(change.pro))
        # Written only if plan and level are still the ones judged above (another change meanwhile: try again).
        unchanged = (Account.plan == account.plan) & (
            Account.subscriber_level == account.subscriber_level if account.subscriber_level is not None
            else Account.subscriber_level.does_not_exist())
        if not store.change(account, actions, (Account.status != AccountStatus.CLOSED.value) & unchanged):
            if get(account_id).status == AccountStatus.CLOSED.value:
                raise errors.Conflict("The plan of a closed account cannot be changed.", code="account_closed")
            raise errors.Conflict("The account's plan changed meanwhile; look again and retry.",
                                  code="plan_changed")
        return details

    return _staff_change(staff, account_id, origin, "change_plan", apply)


def _check_lowering(account: Account, level: int, new_level: int | None, now: datetime) -> None:
    """Invalid (422 lower_level_mid_term, with `possible_from`) when a lower level or leaving the monthly plan is
    asked for in the middle of a term (R10)."""
    possible_from = plans.lower_level_possible_from(account.monthly_since, now)
    if possible_from is None:
        return
    asked = f"lowered to {new_level}" if new_level else "left (for another plan)"
    raise errors.Invalid(
        f"The monthly subscriber level ({level}) can be raised at any time but not {asked} during its monthly "
        f"term: that is possible on {possible_from:%-d %B %Y} ({clock.iso(possible_from)}), the next Pay Date.",
        code="lower_level_mid_term", details={"possible_from": clock.iso(possible_from)})


def _staff_change(
    staff: Principal,
    account_id: str,
    origin: Origin,
    operation: str,
    apply: Callable[[Account], dict[str, Any]],
) -> Account:
    """Apply one staff change and audit it on the account (R4), whether it was done or refused."""
    account = get(account_id)
    try:
        details = apply(account)
    except errors.DomainError:
        _staff_audit(staff, account, origin, operation, Result.REFUSED, {"from": account.status})
        raise
    _staff_audit(staff, account, origin, operation, Result.OK, details)
    logger.info("staff changed account",
                extra={"account_id": account_id, "staff_user_id": staff.user_id, "operation": operation})
    return get(account_id)


def _staff_audit(
    staff: Principal, account: Account, origin: Origin, operation: str, result: Result, details: dict | None = None
) -> None:
    audit.record(account.account_id, Action.STAFF_ACCESS, origin, Actor(staff.user_id, staff.role),
                 result=result, operation=operation, details=details)


# --- staff users -------------------------------------------------------------------------------

def create_staff_user(email: str, password: str) -> User:
    """Create a staff user (account "staff"), or set a new password if that staff user exists."""
    address = addresses.normalise(email)
    auth.check_password(password)
    password_hash = security.hash_password(password)
    login = users.login_for(address)
    if login is not None:
        existing = users.get(login.account_id, login.user_id)
        if login.account_id != auth.STAFF_ACCOUNT or existing is None:
            raise errors.Conflict("This email address belongs to a customer user.", code="email_taken")
        users.update(existing, password_hash=password_hash)
        auth.revoke_sessions(existing.account_id, existing.user_id)
        return existing
    now = clock.now()
    user = User(
        auth.STAFF_ACCOUNT,
        ids.new_id("usr"),
        email=address,
        role=Role.STAFF.value,
        password_hash=password_hash,
        email_verified_at=now,
        created_at=now,
    )
    if not users.register(user, Login(address, account_id=user.account_id, user_id=user.user_id)):
        raise errors.Conflict("This email address was registered meanwhile; try again.", code="email_taken")
    return user
