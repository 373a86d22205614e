"""The audit trail of an account (R4): logins, attempts and staff accesses, newest first."""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import BaseModel, Page, take_page


class AuditRecord(BaseModel):
    class Meta:
        logical_name = "audit"

    account_id = UnicodeAttribute(hash_key=True)
    audit_key = UnicodeAttribute(range_key=True)     # "<iso timestamp, µs>#<ulid>": sorts by time
    action = UnicodeAttribute()                      # services.accounts.audit.Action
    at = UTCDateTimeAttribute()
    actor_id = UnicodeAttribute(null=True)           # user id (customer or staff); never an address
    actor_role = UnicodeAttribute(null=True)
    actor_key_id = UnicodeAttribute(null=True)       # the API key the actor used, if any
    ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    route = UnicodeAttribute(null=True)
    result = UnicodeAttribute(null=True)
    operation = UnicodeAttribute(null=True)          # what staff did, e.g. "approve"
    details: MapAttribute[str, Any] = MapAttribute(null=True)


def newest_first(account_id: str, limit: int, start: dict | None) -> Page[AuditRecord]:
    results = AuditRecord.query(account_id, scan_index_forward=False, limit=limit, last_evaluated_key=start)
    return take_page(results, limit)


def save_all(items: list[AuditRecord]) -> None:
    """Write many records (on many accounts' trails) in batches."""
    with AuditRecord.batch_write() as batch:
        for item in items:
            batch.save(item)
