"""The account itself: found by id, open or closed (R33), its profile (R7) and its audit trail (R4).

Signup is in signup.py, staff review and plans in staff.py."""
from __future__ import annotations

from typing import Any

from chalicelib import clock, errors
from chalicelib.models import accounts as store
from chalicelib.models import users
from chalicelib.models.accounts import Account
from chalicelib.services.accounts import audit, auth
from chalicelib.services.accounts.audit import Action, Origin
from chalicelib.services.accounts.auth import Principal
from chalicelib.services.accounts.plans import AccountStatus
from chalicelib.services.countries import country_code

REQUIRED_PROFILE_FIELDS = ("company", "first_name", "last_name", "country")
OPTIONAL_PROFILE_FIELDS = (
    "address", "city", "state", "region", "zip", "phone", "website", "industry", "expected_list_size",
)
PROFILE_FIELDS = REQUIRED_PROFILE_FIELDS + OPTIONAL_PROFILE_FIELDS
USER_NAME_FIELDS = ("first_name", "last_name")


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
    cleaned = clean_profile(changes, creating=False)
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


def clean_profile(values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
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
