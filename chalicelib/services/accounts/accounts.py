"""Accounts: signup (R1), email verification, the profile (R7), staff review and plans (R5, R34), staff users."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from chalicelib import clock, errors, ids, security
from chalicelib.config import get_settings
from chalicelib.log import logger
from chalicelib.models import accounts as store
from chalicelib.models import users
from chalicelib.models.accounts import Account
from chalicelib.models.base import Page
from chalicelib.models.credentials import Credential
from chalicelib.models.users import Login, User
from chalicelib.outbound import Mailer
from chalicelib.services import addresses
from chalicelib.services.accounts import account_mail, audit, auth, plans
from chalicelib.services.accounts.audit import Action, Actor, Origin, Result
from chalicelib.services.accounts.auth import Kind, Principal, Role
from chalicelib.services.accounts.plans import AccountStatus, Plan
from chalicelib.services.countries import country_code

TERMS_VERSION = "2021-05"
REQUIRED_PROFILE_FIELDS = ("company", "first_name", "last_name", "country")
OPTIONAL_PROFILE_FIELDS = (
    "address", "city", "state", "region", "zip", "phone", "website", "industry", "expected_list_size",
)
PROFILE_FIELDS = REQUIRED_PROFILE_FIELDS + OPTIONAL_PROFILE_FIELDS
USER_NAME_FIELDS = ("first_name", "last_name")


@dataclass
class SignupInput:
    email: str
    password: str
    accept_terms: bool
    profile: dict[str, Any] = field(default_factory=dict)   # R1 fields, as PROFILE_FIELDS names them


@dataclass(frozen=True)
class Registered:
    account: Account
    user: User


@dataclass(frozen=True)
class PlanChange:
    plan: str
    subscriber_level: int | None = None
    credits: int | None = None
    pro: bool | None = None


# --- signup and verification -------------------------------------------------------------------

def signup(data: SignupInput, origin: Origin, mailer: Mailer) -> Registered:
    """Open an account waiting for review (R1, R5) with its owner, and email a verification link."""
    if data.accept_terms is not True:
        raise errors.Invalid("The terms must be accepted to open an account.", code="terms_not_accepted")
    email = addresses.normalise(data.email)
    auth.check_password(data.password)
    profile = _clean_profile(data.profile, creating=True)
    now = clock.now()
    account = Account(
        ids.new_id("acc"),
        status=AccountStatus.PENDING_REVIEW.value,
        created_at=clock.iso(now),
        updated_at=now,
        profile=profile,
        registration={
            "ip": origin.ip,
            "user_agent": (origin.user_agent or "")[:audit.MAX_USER_AGENT] or None,
            "at": clock.iso(now),
            "terms_version": TERMS_VERSION,
        },
        plan=Plan.TRIAL.value,
        trial_ends_at=plans.trial_end(now),
        credits=0,
        pro=False,
        subscriber_count=0,
    )
    user = User(
        account.account_id,
        ids.new_id("usr"),
        email=email,
        first_name=profile["first_name"],
        last_name=profile["last_name"],
        role=Role.OWNER.value,
        password_hash=security.hash_password(data.password),
        created_at=now,
    )
    account.owner_user_id = user.user_id
    token = f"{account.account_id}.{security.new_secret()}"
    verification = Credential(
        account.account_id,
        auth.credential_key(Kind.VERIFY, security.digest(token)),
        user_id=user.user_id,
        created_at=now,
        expires_at=now + auth.VERIFY_LIFETIME,
    )
    login = Login(email, account_id=account.account_id, user_id=user.user_id)
    if not users.register(account, user, login, verification):
        raise errors.Conflict("An account is already registered with this email address.", code="email_taken")
    logger.info("account signed up", extra={"account_id": account.account_id, "user_id": user.user_id})
    _send_verification(user, token, mailer)
    return Registered(account, user)


def _send_verification(user: User, token: str, mailer: Mailer) -> None:
    try:
        mailer.send(account_mail.verification(user.email, get_settings().link(f"/v1/verify-email/{token}")))
    except errors.UpstreamError:
        # The account exists either way; POST /v1/account/verification-email sends a new link.
        logger.error("verification email not sent", extra={"account_id": user.account_id})


def resend_verification(principal: Principal, mailer: Mailer) -> bool:
    """Email a new verification link to the caller; False when the address is already verified."""
    user = users.get(principal.account_id, principal.user_id)
    if user is None:
        raise errors.NotFound("user")
    if user.email_verified_at is not None:
        return False
    token = auth.issue_link_token(Kind.VERIFY, user.account_id, user.user_id, auth.VERIFY_LIFETIME)
    mailer.send(account_mail.verification(user.email, get_settings().link(f"/v1/verify-email/{token}")))
    return True


def verify_email(token: str, origin: Origin) -> User:
    """Mark the user's address verified with the token from the verification email (repeatable until it expires)."""
    item = auth.find_link_token(Kind.VERIFY, token)
    user = users.get(item.account_id, item.user_id) if item else None
    if user is None:
        raise errors.NotFound("verification link")
    if user.email_verified_at is None:
        users.update(user, email_verified_at=clock.now())
        audit.record(user.account_id, Action.EMAIL_VERIFIED, origin, Actor(user.user_id, user.role))
    return user


# --- the account and its profile ---------------------------------------------------------------

def get(account_id: str) -> Account:
    """The account, or NotFound."""
    account = store.get(account_id) if auth.plausible_id(account_id) else None
    if account is None:
        raise errors.NotFound("account")
    return account


CLOSED_STATUSES = frozenset({AccountStatus.CLOSED.value, AccountStatus.PURGING.value})


def ensure_open(account_id: str) -> Account:
    """The account, if it is not closed (R33): a closed one keeps its data readable but takes nothing new (422)."""
    return check_open(get(account_id))


def check_open(account: Account) -> Account:
    """`account`, or Invalid (422 account_closed) when it is closed."""
    if account.status in CLOSED_STATUSES:
        raise errors.Invalid("This account is closed: its data can be read, corrected and exported until it is "
                             "deleted, but nothing new can be added or sent.", code="account_closed")
    return account


def update_profile(principal: Principal, changes: dict[str, Any], origin: Origin) -> Account:
    """Edit profile fields (R7); status, plan and counters are not profile fields."""
    account = get(principal.account_id)
    cleaned = _clean_profile(changes, creating=False)
    if cleaned:
        profile = {**_profile_of(account), **cleaned}
        profile = {name: value for name, value in profile.items() if value is not None}
        if not store.change(account, [Account.profile.set(profile), Account.updated_at.set(clock.now())]):
            raise errors.NotFound("account")
        names = {name: cleaned[name] for name in USER_NAME_FIELDS if name in cleaned}
        user = users.get(principal.account_id, principal.user_id) if names else None
        if user is not None:
            users.update(user, **names)
        audit.record(account.account_id, Action.PROFILE_UPDATED, origin, auth.actor_of(principal),
                     details={"fields": sorted(cleaned)})
    return get(principal.account_id)


def profile_of(account: Account) -> dict[str, Any]:
    """Every profile field, None where unset."""
    stored = _profile_of(account)
    return {name: stored.get(name) for name in PROFILE_FIELDS}


def _profile_of(account: Account) -> dict[str, Any]:
    profile = account.profile
    if profile is None:
        return {}
    values = profile.as_dict() if hasattr(profile, "as_dict") else dict(profile)
    if values.get("expected_list_size") is not None:
        values["expected_list_size"] = int(values["expected_list_size"])
    return values


def _clean_profile(values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise errors.Invalid(f"These fields cannot be set: {', '.join(sorted(unknown))}.", code="unknown_field")
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip() or None
        if value is None and name in REQUIRED_PROFILE_FIELDS:
            raise errors.Invalid(f"{name} must not be empty.", code="invalid_field")
        if name == "country" and value is not None:
            value = country_code(value)
        if name == "expected_list_size" and value is not None and value < 0:
            raise errors.Invalid("expected_list_size must not be negative.", code="invalid_field")
        cleaned[name] = value
    if creating:
        missing = [name for name in REQUIRED_PROFILE_FIELDS if cleaned.get(name) is None]
        if missing:
            raise errors.Invalid(f"These fields are required: {', '.join(missing)}.", code="invalid_field")
        cleaned = {name: value for name, value in cleaned.items() if value is not None}
    return cleaned


def audit_page(account_id: str, limit: int, start: dict | None):
    """The account's audit trail (R4), newest first."""
    return audit.page(account_id, limit, start)


# --- staff -------------------------------------------------------------------------------------

def page_for_staff(status: str | None, limit: int, start: dict | None) -> Page[Account]:
    """Accounts in a status (newest first), or all accounts."""
    if status is not None:
        try:
            status = AccountStatus(status).value
        except ValueError:
            allowed = ", ".join(s.value for s in AccountStatus)
            raise errors.Invalid(f"status must be one of {allowed}.", code="invalid_status") from None
    return store.page_by_status(status, limit, start)


def view_for_staff(staff: Principal, account_id: str, origin: Origin) -> Account:
    """One account as staff see it; the access is audited on the account (R4)."""
    account = get(account_id)
    _staff_audit(staff, account, origin, "view", Result.OK)
    return account


def approve(staff: Principal, account_id: str, origin: Origin) -> Account:
    """Approve an account waiting for review (R5): sending is no longer held."""
    return _transition(staff, account_id, origin, "approve", (AccountStatus.PENDING_REVIEW,), AccountStatus.ACTIVE)


def suspend(staff: Principal, account_id: str, reason: str | None, origin: Origin) -> Account:
    """Suspend an account (R34): it keeps read access but sends nothing."""
    return _transition(
        staff, account_id, origin, "suspend",
        (AccountStatus.PENDING_REVIEW, AccountStatus.ACTIVE), AccountStatus.SUSPENDED,
        reason=(reason or "").strip() or None,
    )


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


def change_plan(staff: Principal, account_id: str, change: PlanChange, origin: Origin) -> Account:
    """Set an account's plan, level, PRO option, or add pay-as-you-go credits (R8–R12)."""
    plan = Plan(change.plan)
    if plan is Plan.MONTHLY and not (change.subscriber_level and change.subscriber_level > 0):
        raise errors.Invalid("The monthly plan needs a subscriber_level above 0.", code="invalid_plan")
    if plan is not Plan.MONTHLY and change.subscriber_level is not None:
        raise errors.Invalid("subscriber_level applies to the monthly plan only.", code="invalid_plan")
    if change.credits is not None and change.credits <= 0:
        raise errors.Invalid("credits must be a positive number to add.", code="invalid_plan")
    now = clock.now()
    actions = [Account.plan.set(plan.value), Account.updated_at.set(now)]
    actions.append(
        Account.subscriber_level.set(change.subscriber_level) if plan is Plan.MONTHLY
        else Account.subscriber_level.remove()
    )
    if change.credits:
        actions += [Account.credits.add(change.credits), Account.credits_purchased_at.set(now)]
    if change.pro is not None:
        actions.append(Account.pro.set(change.pro))

    details = {"plan": plan.value, **{k: v for k, v in vars(change).items() if k != "plan" and v is not None}}

    def apply(account: Account) -> dict[str, Any]:
        if not store.change(account, actions, Account.status != AccountStatus.CLOSED.value):
            raise errors.Conflict("The plan of a closed account cannot be changed.", code="account_closed")
        return details

    return _staff_change(staff, account_id, origin, "change_plan", apply)


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
