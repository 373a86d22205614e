"""Users of an account, and the sign-in index that maps one email address to exactly one user."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.models.base import BaseModel, Page, Update, take_page, transact, transaction_connection, written


class UserStatus(str, Enum):
    INVITED = "invited"
    ACTIVE = "active"


class User(BaseModel):
    class Meta:
        logical_name = "users"

    account_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute()                     # normalised; the Login item makes it unique
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    role = UnicodeAttribute()                      # services.accounts.auth.Role
    password_hash = UnicodeAttribute(null=True)    # argon2id (R2); none while invited
    email_verified_at = UTCDateTimeAttribute(null=True)
    last_login_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # A colleague invited by another user (services.accounts.team): no Login until the invitation is accepted.
    status = UnicodeAttribute(null=True)           # UserStatus; none for users from before invitations: active
    invited_by = UnicodeAttribute(null=True)       # the inviting user's id
    invitation_digest = UnicodeAttribute(null=True)    # sha256 of the invitation link's token
    invitation_expires_at = UTCDateTimeAttribute(null=True)
    # A change of login email waiting for the new address to confirm (services.accounts.login_change).
    new_email = UnicodeAttribute(null=True)
    new_email_digest = UnicodeAttribute(null=True)     # sha256 of the confirmation link's token
    new_email_expires_at = UTCDateTimeAttribute(null=True)

    @property
    def is_active(self) -> bool:
        """Whether the user has joined (signed up, or accepted their invitation) and can sign in."""
        return self.status != UserStatus.INVITED.value


class Login(BaseModel):
    """email (normalised) -> the one user who signs in with it."""

    class Meta:
        logical_name = "logins"

    email = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    user_id = UnicodeAttribute()


def get(account_id: str, user_id: str) -> User | None:
    return User.find(account_id, user_id)


def read_now(account_id: str, user_id: str) -> User | None:
    """The user as they are now (a consistent read: a role changed or a user removed just now is seen)."""
    try:
        return User.get(account_id, user_id, consistent_read=True)
    except User.DoesNotExist:
        return None


def of_account(account_id: str) -> list[User]:
    """Every user of the account (a consistent read: a sign-in just now must show)."""
    return list(User.query(account_id, consistent_read=True))


def page(account_id: str, limit: int, start: dict | None) -> Page[User]:
    """One page of the account's users, in id order."""
    return take_page(User.query(account_id, consistent_read=True, limit=limit, last_evaluated_key=start), limit)


def login_for(email: str) -> Login | None:
    try:
        return Login.get(email)
    except Login.DoesNotExist:
        return None


def register(*items: BaseModel) -> bool:
    """Write a new user with its Login (and whatever goes with it) in one transaction.

    Every item must not exist yet; False when the Login's email is already taken.
    """
    try:
        with TransactWrite(connection=transaction_connection()) as transaction:
            for item in items:
                hash_key = item._hash_key_attribute()
                transaction.save(item, condition=hash_key.does_not_exist())
    except TransactWriteError as exc:
        if any(reason and reason.code == "ConditionalCheckFailed" for reason in exc.cancellation_reasons):
            return False
        raise
    return True


def update(user: User, **values: object) -> bool:
    """Set attributes of an existing user; False when the user is gone."""
    actions = [getattr(User, name).set(value) for name, value in values.items()]
    return written(lambda: user.update(actions=actions, condition=User.user_id.exists()))


class Outcome(str, Enum):
    """How a one-time link's change went: done, the link was not good (forged, used, expired), or the address is
    taken by another login meanwhile."""

    DONE = "done"
    GONE = "gone"
    TAKEN = "taken"


def _outcome(failed: list[bool], login_put: int, user_update: int) -> Outcome:
    if failed[user_update]:
        return Outcome.GONE
    if failed[login_put]:
        return Outcome.TAKEN
    return Outcome.GONE if any(failed) else Outcome.DONE


def accept_invitation(user: User, digest: str, password_hash: str, guard: BaseModel, now: datetime) -> Outcome:
    """Make an invited user active with their password, their Login and their address verified, and drop the
    invitation's guard, in one transaction: only a live invitation with this token's digest, only once."""
    live = ((User.status == UserStatus.INVITED.value) & (User.invitation_digest == digest)
            & (User.invitation_expires_at > now))
    actions: list[Update] = [User.status.set(UserStatus.ACTIVE.value), User.password_hash.set(password_hash),
               User.email_verified_at.set(now), User.invitation_digest.remove(), User.invitation_expires_at.remove()]
    login = Login(user.email, account_id=user.account_id, user_id=user.user_id)

    def write(tx: TransactWrite) -> None:
        tx.delete(guard)
        tx.save(login, condition=Login.email.does_not_exist())
        tx.update(user, actions=actions, condition=live)

    return _outcome(transact(write, size=3), login_put=1, user_update=2)


def confirm_new_email(user: User, digest: str, now: datetime) -> Outcome:
    """Move the user's login to the new address their confirmation link proved, in one transaction: the old
    Login goes, the new one comes (unless the address was taken meanwhile), the user's email changes."""
    assert user.new_email is not None
    live = ((User.new_email_digest == digest) & (User.new_email_expires_at > now) & (User.email == user.email)
            & (User.new_email == user.new_email))
    actions: list[Update] = [User.email.set(user.new_email), User.email_verified_at.set(now), User.new_email.remove(),
               User.new_email_digest.remove(), User.new_email_expires_at.remove()]
    old = Login(user.email)
    new = Login(user.new_email, account_id=user.account_id, user_id=user.user_id)

    def write(tx: TransactWrite) -> None:
        tx.delete(old, condition=Login.user_id == user.user_id)
        tx.save(new, condition=Login.email.does_not_exist())
        tx.update(user, actions=actions, condition=live)

    return _outcome(transact(write, size=3), login_put=1, user_update=2)


def remove(user: User, guard: BaseModel | None) -> bool:
    """Delete the user with their Login (or their invitation's guard) in one transaction; False when gone."""
    def write(tx: TransactWrite) -> None:
        tx.delete(user, condition=User.user_id.exists())
        if user.is_active:
            tx.delete(Login(user.email), condition=Login.user_id.does_not_exist() | (Login.user_id == user.user_id))
        if guard is not None:
            tx.delete(guard)

    return not any(transact(write, size=3))


def change_role(user: User, role: str) -> bool:
    """Give the user another role, unless their role changed since `user` was read (False then, or when gone)."""
    return written(lambda: user.update(actions=[User.role.set(role)], condition=User.role == user.role))


def renew_invitation(user: User, role: str, digest: str, expires_at: datetime) -> bool:
    """Give a pending invitation a new link (the old one stops working) and role; False once it was accepted."""
    actions: list[Update] = [User.role.set(role), User.invitation_digest.set(digest),
                             User.invitation_expires_at.set(expires_at)]
    return written(lambda: user.update(actions=actions, condition=User.status == UserStatus.INVITED.value))
