"""Signup (R1): an account waiting for review (R5) with its owner, and the owner's email verification."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib import clock, errors, ids, security
from chalicelib.config import get_settings
from chalicelib.log import logger
from chalicelib.models import users
from chalicelib.models.accounts import Account
from chalicelib.models.credentials import Credential
from chalicelib.models.users import Login, User
from chalicelib.outbound import Mailer
from chalicelib.services import addresses
from chalicelib.services.accounts import account_mail, audit, auth, plans, throttle
from chalicelib.services.accounts.accounts import clean_profile
from chalicelib.services.accounts.audit import Action, Actor, Origin
from chalicelib.services.accounts.auth import Kind, Principal, Role
from chalicelib.services.accounts.plans import AccountStatus, Plan

TERMS_VERSION = "2021-05"


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


def signup(data: SignupInput, origin: Origin, mailer: Mailer) -> Registered:
    """Open an account waiting for review (R1, R5) with its owner, and email a verification link; throttled per IP."""
    throttle.reserve(throttle.SIGNUPS_PER_IP, origin.ip)
    if data.accept_terms is not True:
        raise errors.Invalid("The terms must be accepted to open an account.", code="terms_not_accepted")
    email = addresses.normalise(data.email)
    auth.check_password(data.password)
    profile = clean_profile(data.profile, creating=True)
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
