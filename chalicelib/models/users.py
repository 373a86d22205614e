"""Users of an account, and the sign-in index that maps one email address to exactly one user."""
from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.models.base import BaseModel, transaction_connection, written


class User(BaseModel):
    class Meta:
        logical_name = "users"

    account_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute()                     # normalised; the Login item makes it unique
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    role = UnicodeAttribute()                      # services.accounts.auth.Role
    password_hash = UnicodeAttribute()             # argon2id (R2)
    email_verified_at = UTCDateTimeAttribute(null=True)
    last_login_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


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
