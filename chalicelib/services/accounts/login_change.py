"""A signed-in user changes their own login: the password (the current one required; their other sessions end),
and the email address they sign in with (only once the new address confirms through a one-time link)."""
from __future__ import annotations

from datetime import timedelta

from chalicelib import clock, errors, security
from chalicelib.config import get_settings
from chalicelib.log import logger
from chalicelib.models import users
from chalicelib.models.users import Outcome, User
from chalicelib.outbound import Mailer
from chalicelib.services import addresses
from chalicelib.services.accounts import account_mail, audit, auth, throttle, user_links
from chalicelib.services.accounts.audit import Action, Actor, Origin, Result
from chalicelib.services.accounts.auth import Principal, Via

EMAIL_CHANGE_LIFETIME = timedelta(hours=24)
EMAIL_CHANGES_PER_USER = throttle.Limit(
    "email-change", 5, timedelta(hours=1), code="email_change_limit",
    refusal="At most 5 changes of login email can be asked for per hour; try again later.")


def _own_user(principal: Principal) -> User:
    user = users.get(principal.account_id, principal.user_id)
    if user is None:
        raise errors.NotFound("user")
    return user


def _check_current_password(user: User, password: str, action: Action, origin: Origin) -> None:
    """Invalid (422 wrong_password) unless `password` is the user's; a wrong one counts as a failed sign-in, so a
    borrowed session cannot be used to guess it (429 once too many)."""
    throttle.reserve(throttle.LOGIN_FAILURES_PER_EMAIL, user.email)
    if not security.verify_password(user.password_hash, password):
        audit.record(user.account_id, action, origin, Actor(user.user_id, user.role),
                     result=Result.INVALID_CREDENTIALS)
        raise errors.Invalid("The current password is not correct.", code="wrong_password")
    throttle.release(throttle.LOGIN_FAILURES_PER_EMAIL, user.email)


def change_password(principal: Principal, current_password: str, new_password: str, origin: Origin) -> int:
    """Set a new password (the current one required); every other session of the user ends, the calling one stays.
    Return how many sessions ended."""
    auth.check_password(new_password)
    user = _own_user(principal)
    _check_current_password(user, current_password, Action.PASSWORD_CHANGED, origin)
    if not users.update(user, password_hash=security.hash_password(new_password)):
        raise errors.NotFound("user")
    keep = principal.credential_key if principal.via == Via.SESSION.value else None
    ended = auth.revoke_sessions(user.account_id, user.user_id, keep=keep)
    audit.record(user.account_id, Action.PASSWORD_CHANGED, origin, auth.actor_of(principal),
                 details={"sessions_ended": ended})
    logger.info("password changed", extra={"account_id": user.account_id, "user_id": user.user_id})
    return ended


def request_email_change(principal: Principal, email: str, password: str, origin: Origin, mailer: Mailer) -> None:
    """Email a one-time confirmation link (24 hours) to the new address; nothing changes until it is followed. A
    newer request replaces an older one's link. The current password is required; a taken address is 409."""
    address = addresses.normalise(email)
    user = _own_user(principal)
    _check_current_password(user, password, Action.EMAIL_CHANGE_REQUESTED, origin)
    if address == user.email:
        raise errors.Invalid("This is already the address you sign in with.", code="same_email")
    if users.login_for(address) is not None:
        raise errors.Conflict("Another user already signs in with this address.", code="email_taken")
    throttle.reserve(EMAIL_CHANGES_PER_USER, user.user_id)
    link = user_links.issue(user)
    if not users.update(user, new_email=address, new_email_digest=link.digest,
                        new_email_expires_at=clock.now() + EMAIL_CHANGE_LIFETIME):
        raise errors.NotFound("user")
    audit.record(user.account_id, Action.EMAIL_CHANGE_REQUESTED, origin, auth.actor_of(principal))
    mailer.send(account_mail.email_change(address, get_settings().link(f"/email-change/{link.token}")))


def _pending_change(token: str) -> tuple[User, str]:
    found = user_links.user_behind(token)
    if found is None or found[0].new_email is None or not user_links.holds(
            found[0].new_email_digest, found[1], found[0].new_email_expires_at):
        raise errors.NotFound("email change link")
    return found


def pending_change(token: str) -> str:
    """The new address a live confirmation link is for (for showing its page), else NotFound."""
    user, _ = _pending_change(token)
    assert user.new_email is not None
    return user.new_email


def confirm_email_change(token: str, origin: Origin, mailer: Mailer) -> User:
    """Move the user's login to the new address the link was sent to, atomically, and tell the old address.
    Works once; NotFound when not live; Conflict (409) when the address was taken since."""
    user, digest = _pending_change(token)
    old_email = user.email
    outcome = users.confirm_new_email(user, digest, clock.now())
    if outcome is Outcome.GONE:
        raise errors.NotFound("email change link")
    if outcome is Outcome.TAKEN:
        raise errors.Conflict("Another user started signing in with this address after the change was asked "
                              "for; ask for a change to another address.", code="email_taken")
    audit.record(user.account_id, Action.EMAIL_CHANGED, origin, Actor(user.user_id, user.role))
    logger.info("login email changed", extra={"account_id": user.account_id, "user_id": user.user_id})
    try:
        mailer.send(account_mail.email_changed(old_email))
    except errors.UpstreamError:
        logger.error("email change notice not sent", extra={"account_id": user.account_id})
    changed = users.get(user.account_id, user.user_id)
    if changed is None:
        raise errors.NotFound("user")
    return changed
