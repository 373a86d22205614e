"""The audit trail (R4): who did what to an account, from where, and when. Kept until the account's data goes."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from chalicelib import clock, ids
from chalicelib.models import audit as store
from chalicelib.models.audit import AuditRecord
from chalicelib.models.base import Page

MAX_USER_AGENT = 512


class Action(str, Enum):
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFIED = "email_verified"
    PROFILE_UPDATED = "profile_updated"
    API_KEY_CREATED = "api_key_created"
    API_KEY_DELETED = "api_key_deleted"
    STAFF_ACCESS = "staff_access"
    CREDITS_EXPIRED = "credits_expired"                  # R11, by the retention schedule
    INACTIVITY_WARNING_SENT = "inactivity_warning_sent"  # R30, by the retention schedule
    SUBSCRIBER_ERASED = "subscriber_erased"              # R28: by its owner's request or the customer's
    SUBSCRIBER_UPDATED = "subscriber_updated"            # R28 rectification: changed field names, never values
    SUBSCRIBER_UNSUBSCRIBED = "subscriber_unsubscribed"  # by the customer, on the subscriber's behalf (R27)
    SUBSCRIBER_DELETED = "subscriber_deleted"            # R17
    DATA_EXPORTED = "data_exported"                      # R28: the account's data was exported (or a job asked)
    ACCOUNT_CLOSED = "account_closed"                    # R33
    USER_INVITED = "user_invited"                        # R6: details name the invited user and the role
    INVITATION_ACCEPTED = "invitation_accepted"
    USER_ROLE_CHANGED = "user_role_changed"              # details: the user, the role before and after
    USER_REMOVED = "user_removed"
    PASSWORD_CHANGED = "password_changed"                # by the signed-in user, with the current password
    EMAIL_CHANGE_REQUESTED = "email_change_requested"    # never the addresses, only who
    EMAIL_CHANGED = "email_changed"                      # the new address confirmed; the login moved


class Result(str, Enum):
    OK = "ok"
    INVALID_CREDENTIALS = "invalid_credentials"
    RATE_LIMITED = "rate_limited"
    REFUSED = "refused"


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as the audit trail records it."""

    ip: str | None = None
    user_agent: str | None = None
    route: str | None = None


@dataclass(frozen=True)
class Actor:
    """Who acted: a user id and role (never an email address), and the API key when one was used."""

    user_id: str | None
    role: str | None
    key_id: str | None = None


def record(
    account_id: str,
    action: Action,
    origin: Origin,
    actor: Actor | None = None,
    *,
    result: Result = Result.OK,
    operation: str | None = None,
    details: dict | None = None,
) -> AuditRecord:
    """Append one record to the account's audit trail."""
    item = _item(account_id, action, origin, actor, result, operation, details)
    item.save()
    return item


def record_each(account_ids: list[str], action: Action, origin: Origin, actor: Actor, *, operation: str,
                details: dict | None = None) -> None:
    """Append the same record to each account's trail (e.g. a staff read of a page of accounts), in batches."""
    store.save_all([_item(account_id, action, origin, actor, Result.OK, operation, details)
                    for account_id in account_ids])


def _item(account_id: str, action: Action, origin: Origin, actor: Actor | None, result: Result,
          operation: str | None, details: dict | None) -> AuditRecord:
    now = clock.now()
    return AuditRecord(
        account_id,
        f"{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{ids.new_id('aud')}",
        action=action.value,
        at=now,
        actor_id=actor.user_id if actor else None,
        actor_role=actor.role if actor else None,
        actor_key_id=actor.key_id if actor else None,
        ip=origin.ip,
        user_agent=(origin.user_agent or None) and origin.user_agent[:MAX_USER_AGENT],
        route=origin.route,
        result=result.value,
        operation=operation,
        details=details,
    )


def page(account_id: str, limit: int, start: dict | None) -> Page[AuditRecord]:
    """The account's audit trail, newest first."""
    return store.newest_first(account_id, limit, start)


def view(record: AuditRecord) -> dict:
    """An audit record as the API and the account export show it."""
    return {
        "id": record.audit_key,
        "action": record.action,
        "at": clock.iso(record.at),
        "actor": {"id": record.actor_id, "role": record.actor_role, "key_id": record.actor_key_id},
        "result": record.result,
        "operation": record.operation,
        "ip": record.ip,
        "user_agent": record.user_agent,
        "route": record.route,
        "details": record.details.as_dict() if record.details is not None else None,
    }
