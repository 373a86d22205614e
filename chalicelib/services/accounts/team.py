"""Colleagues (R6): the users of an account besides its owner, invited by email with a role, given another role,
and removed. The owner is the user who signed up; nobody becomes owner, or stops being it, here.

An invited user is a User without a password or a Login; accepting the emailed link (7 days, once) sets the
password and adds the Login in one transaction. A guard credential per invited address ("invitee#<keyed hash>")
keeps one pending invitation per address and account: inviting it again sends a new link instead."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from chalicelib import clock, errors, ids, security
from chalicelib.config import get_settings
from chalicelib.log import logger
from chalicelib.models import credentials as credential_store
from chalicelib.models import users
from chalicelib.models.base import Page
from chalicelib.models.credentials import Credential
from chalicelib.models.users import Outcome, User, UserStatus
from chalicelib.outbound import Mailer
from chalicelib.services import addresses
from chalicelib.services.accounts import account_mail, accounts, audit, auth, throttle, user_links
from chalicelib.services.accounts.audit import Action, Actor, Origin
from chalicelib.services.accounts.auth import Principal, Role

ROLES = tuple(role.value for role in (Role.ADMIN, Role.EDITOR, Role.VIEWER))   # an invitation or a role change gives
INVITATION_LIFETIME = timedelta(days=7)
MAX_USERS = 100                           # users of one account, invited ones included
INVITEE = "invitee"                       # the guard credential's kind
INVITATIONS_PER_ACCOUNT = throttle.Limit(
    "invitations", 30, timedelta(days=1), code="invitation_limit",
    refusal="An account can invite at most 30 times a day (new invitations, ones sent again, and addresses that "
            "turned out to be taken); try again tomorrow.")
EMAIL_TAKEN = ("This address already signs in to mailroom, in this account or another one; "
               "invite another address of this person.")


@dataclass(frozen=True)
class Invited:
    user: User
    resent: bool     # the address had a pending invitation: it got a new link, and the old one stopped working


def check_role(role: str) -> str:
    """A role an invitation or a change may give, else Invalid (422)."""
    if role not in ROLES:
        raise errors.Invalid(f"role must be one of {', '.join(ROLES)}; the owner is the user who signed up, and "
                             "nobody else can be made owner.", code="invalid_role")
    return role


def status_of(user: User) -> str:
    """"active", "invited", or "expired" for an invitation nobody accepted in time."""
    if user.is_active:
        return UserStatus.ACTIVE.value
    live = user.invitation_expires_at is not None and user.invitation_expires_at > clock.now()
    return UserStatus.INVITED.value if live else "expired"


def view(user: User) -> dict:
    """A user as the API shows them (never a password hash or a link)."""
    return {
        "id": user.user_id,
        "email": user.email,
        "role": user.role,
        "status": status_of(user),
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email_verified": user.email_verified_at is not None,
        "invited_by": user.invited_by,
        "invitation_expires_at": clock.iso(user.invitation_expires_at),
        "created_at": clock.iso(user.created_at),
        "last_login_at": clock.iso(user.last_login_at),
    }


def page(account_id: str, limit: int, start: dict | None) -> Page[User]:
    """The account's users, the invited ones included, in the order they were added."""
    return users.page(account_id, limit, start)


def get(account_id: str, user_id: str) -> User:
    """One of the account's users, or NotFound (also for another account's user)."""
    user = users.get(account_id, user_id) if auth.plausible_id(user_id) else None
    if user is None:
        raise errors.NotFound("user")
    return user


# --- invitations ---------------------------------------------------------------------------------

def _guard_key(address: str) -> str:
    return f"{INVITEE}#{security.keyed_hash(INVITEE, address)}"


def invite(principal: Principal, email: str, role: str, origin: Origin, mailer: Mailer) -> Invited:
    """Invite a colleague by email with a role and send them a one-time link (7 days); an address with a pending
    invitation in this account gets a new link. An address that already signs in anywhere is a Conflict (409)."""
    check_role(role)
    address = addresses.normalise(email)
    account = accounts.ensure_open(principal.account_id)
    # Counted before the look-up, taken address or not: a 409 tells whether an address signs in somewhere.
    throttle.reserve(INVITATIONS_PER_ACCOUNT, account.account_id)
    if users.login_for(address) is not None:
        raise errors.Conflict(EMAIL_TAKEN, code="email_taken")
    user, resent = _invitee(principal, address, role)
    inviter = users.get(principal.account_id, principal.user_id)
    inviter_name = " ".join(filter(None, [inviter.first_name, inviter.last_name])) if inviter else ""
    company = str(accounts.profile_of(account).get("company") or "your team")   # a required profile field
    link = get_settings().link(f"/invitations/{_renewed_token(user)}")
    audit.record(account.account_id, Action.USER_INVITED, origin, auth.actor_of(principal),
                 details={"user_id": user.user_id, "role": role, "resent": resent})
    mailer.send(account_mail.invitation(address, company, inviter_name or "A colleague", role, link))
    logger.info("colleague invited", extra={"account_id": account.account_id, "user_id": user.user_id})
    return Invited(user, resent)   # as renewed: the write read the user back


def _invitee(principal: Principal, address: str, role: str) -> tuple[User, bool]:
    """The invited user: the pending one of this address, or a new one (without a link yet)."""
    account_id = principal.account_id
    for _ in range(2):   # a second round when a parallel invitation of the same address won the first
        guard = credential_store.get_live(account_id, _guard_key(address))
        pending = users.get(account_id, guard.user_id) if guard else None
        if pending is not None:
            pending.role = role     # given with its new link
            return pending, True
        if len(users.of_account(account_id)) >= MAX_USERS:
            raise errors.LimitReached(f"An account may have at most {MAX_USERS} users, invited ones included; "
                                      "remove one first.")
        now = clock.now()
        user = User(account_id, ids.new_id("usr"), email=address, role=role, status=UserStatus.INVITED.value,
                    invited_by=principal.user_id, created_at=now)
        guard = Credential(account_id, _guard_key(address), user_id=user.user_id, created_at=now)
        if users.register(user, guard):
            return user, False
    raise errors.Conflict("This address is being invited by someone else right now; try again.",
                          code="invitation_in_progress")


def _renewed_token(user: User) -> str:
    """A new link for the invitation (the old one stops working), valid for 7 days from now."""
    link = user_links.issue(user)
    if not users.renew_invitation(user, user.role, link.digest, clock.now() + INVITATION_LIFETIME):
        raise errors.Conflict(EMAIL_TAKEN, code="email_taken")
    return link.token


def _pending(token: str) -> tuple[User, str]:
    """The invited user and the token's digest, or NotFound for a forged, used, replaced or expired link."""
    found = user_links.user_behind(token)
    if found is None or found[0].is_active or not user_links.holds(
            found[0].invitation_digest, found[1], found[0].invitation_expires_at):
        raise errors.NotFound("invitation")
    return found


@dataclass(frozen=True)
class PendingInvitation:
    """What the invitation page shows: who is invited, where to, as what."""

    email: str
    company: str
    role: str


def pending_invitation(token: str) -> PendingInvitation:
    """The invitation a live link stands for (for showing its page), else NotFound."""
    user, _ = _pending(token)
    company = accounts.profile_of(accounts.get(user.account_id)).get("company") or "your team"
    return PendingInvitation(user.email, str(company), user.role)


def accept(token: str, password: str, origin: Origin) -> User:
    """Accept an invitation: set the password; the user becomes active, their address verified (the link proved
    it), and their Login is added in the same transaction. Works once; NotFound when not live."""
    auth.check_password(password)
    user, digest = _pending(token)
    guard = Credential(user.account_id, _guard_key(user.email))
    outcome = users.accept_invitation(user, digest, security.hash_password(password), guard, clock.now())
    if outcome is Outcome.GONE:
        raise errors.NotFound("invitation")
    if outcome is Outcome.TAKEN:
        raise errors.Conflict("This address signed up to mailroom after the invitation was sent, so it cannot "
                              "join another account; ask for an invitation to another address.", code="email_taken")
    audit.record(user.account_id, Action.INVITATION_ACCEPTED, origin, Actor(user.user_id, user.role),
                 details={"user_id": user.user_id, "invited_by": user.invited_by})
    logger.info("invitation accepted", extra={"account_id": user.account_id, "user_id": user.user_id})
    return get(user.account_id, user.user_id)


# --- roles and removal ---------------------------------------------------------------------------

def _is_owner(user: User) -> bool:
    return user.role == Role.OWNER.value


def change_role(principal: Principal, user_id: str, role: str, origin: Origin) -> User:
    """Give a user another role; their sessions and keys carry it from their next call. The owner keeps theirs."""
    check_role(role)
    user = get(principal.account_id, user_id)
    if _is_owner(user):
        raise errors.Conflict("The account's owner always keeps the owner role.", code="owner_role_fixed")
    before = user.role
    if before == role:
        return user
    if not users.change_role(user, role):
        raise errors.Conflict("The user was changed at the same time; read them again and retry.",
                              code="changed_meanwhile")
    audit.record(principal.account_id, Action.USER_ROLE_CHANGED, origin, auth.actor_of(principal),
                 details={"user_id": user.user_id, "from": before, "to": role})
    return user   # as changed: the write read the user back


def remove(principal: Principal, user_id: str, origin: Origin) -> None:
    """Remove a user (or withdraw an invitation): their sessions and API keys stop working at once, and their
    address is free to sign up or be invited again. The owner cannot be removed."""
    user = get(principal.account_id, user_id)
    if _is_owner(user):
        raise errors.Conflict("The account's owner cannot be removed; close the account instead.",
                              code="owner_cannot_be_removed")
    # Credentials first, so a crash leaves nobody signed in as a user half removed (a retry finishes), and once
    # more after: a sign-in that read the user just before they went may have opened a session meanwhile.
    ended = _end_credentials(user)
    guard = None if user.is_active else Credential(user.account_id, _guard_key(user.email))
    if not users.remove(user, guard):
        raise errors.NotFound("user")
    ended += _end_credentials(user)
    audit.record(principal.account_id, Action.USER_REMOVED, origin, auth.actor_of(principal),
                 details={"user_id": user.user_id, "role": user.role, "status": status_of(user),
                          "credentials_ended": ended})
    logger.info("user removed", extra={"account_id": user.account_id, "user_id": user.user_id})


def _end_credentials(user: User) -> int:
    """Delete every session, API key and link token of the user; how many."""
    return sum(credential_store.delete(user.account_id, item.credential_key)
               for item in credential_store.of_user(user.account_id, user.user_id))
