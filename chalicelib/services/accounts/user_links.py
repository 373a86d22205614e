"""One-time links whose token's digest is kept on the user it is for (an invitation, a new login email).

A token reads "<account_id>.<user_id>.<secret>"; a newer link for the same purpose replaces the digest, so only the
newest one works, and the change it carries is applied with a condition on that digest, so it works once."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from chalicelib import clock, security
from chalicelib.models import users
from chalicelib.models.users import User
from chalicelib.services.accounts.auth import MAX_TOKEN, plausible_id


@dataclass(frozen=True)
class Link:
    token: str       # goes into the email only
    digest: str      # kept on the user


def issue(user: User) -> Link:
    """A new link token for the user."""
    token = f"{user.account_id}.{user.user_id}.{security.new_secret()}"
    return Link(token, security.digest(token))


def user_behind(token: str) -> tuple[User, str] | None:
    """The user a link token names and the token's digest, or None when it cannot be one of ours."""
    parts = token.split(".") if len(token) <= MAX_TOKEN else []
    if len(parts) != 3 or not all(parts) or not plausible_id(parts[0]) or not plausible_id(parts[1]):
        return None
    user = users.get(parts[0], parts[1])
    return (user, security.digest(token)) if user else None


def holds(stored_digest: str | None, digest: str, expires_at: datetime | None) -> bool:
    """Whether a link with this digest is the user's current one, and still live."""
    return (stored_digest is not None and hmac.compare_digest(stored_digest, digest)
            and expires_at is not None and expires_at > clock.now())
