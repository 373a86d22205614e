"""Account data exports (R28) prepared as a job, and the queries an export reads the account's data with.

An export job's file lives in the exports bucket under "<account_id>/<export_id>.json"; the item here
says whether it is ready and expires with it (the bucket's lifecycle deletes the file after as long).
Every query below is by a hash key that starts with the account id: an export never scans a table.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import Enum

from pynamodb.attributes import (
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.models.audit import AuditRecord
from chalicelib.models.base import BaseModel, is_live, written
from chalicelib.models.campaigns import Campaign
from chalicelib.models.domains import Domain
from chalicelib.models.lists import ContactList
from chalicelib.models.suppressions import Suppression
from chalicelib.models.usage import Usage


class ExportStatus(str, Enum):
    PREPARING = "preparing"   # queued or being written
    READY = "ready"           # the file is in the bucket


class Export(BaseModel):
    class Meta:
        logical_name = "exports"

    account_id = UnicodeAttribute(hash_key=True)
    export_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()                      # ExportStatus
    requested_by = UnicodeAttribute(null=True)       # user id; never an address
    created_at = UTCDateTimeAttribute()
    ready_at = UTCDateTimeAttribute(null=True)
    object_key = UnicodeAttribute(null=True)         # "<account_id>/<export_id>.json" once ready
    size_bytes = NumberAttribute(null=True)
    notified_at = UTCDateTimeAttribute(null=True)    # the owner was emailed (set once, before sending)
    expires_at = TTLAttribute()


def object_key(account_id: str, export_id: str) -> str:
    return f"{account_id}/{export_id}.json"


def get_live(account_id: str, export_id: str) -> Export | None:
    """The export, or None when it is missing or past its expiry (TTL may lag)."""
    item = Export.find(account_id, export_id)
    return item if item is not None and is_live(item.expires_at) else None


def of_account(account_id: str) -> Iterator[Export]:
    """Every export of the account, expired ones too."""
    return Export.query(account_id)


def add(item: Export) -> None:
    item.save(condition=Export.export_id.does_not_exist())


def remove(item: Export) -> None:
    written(lambda: item.delete(condition=Export.export_id.exists()))


def preparing_since(account_id: str, since: datetime) -> Export | None:
    """The account's newest export still being prepared that was asked for at or after `since`."""
    condition = (Export.status == ExportStatus.PREPARING.value) & (Export.created_at >= since)
    for item in Export.query(account_id, filter_condition=condition, scan_index_forward=False):
        if is_live(item.expires_at):
            return item
    return None


def mark_ready(item: Export, key: str, size: int, at: datetime) -> bool:
    """Record that the file is in the bucket; False if it was marked already (a job delivered twice)."""
    actions = [Export.status.set(ExportStatus.READY.value), Export.object_key.set(key), Export.size_bytes.set(size),
               Export.ready_at.set(at)]
    return written(lambda: item.update(actions=actions, condition=Export.status == ExportStatus.PREPARING.value))


def claim_notice(item: Export, at: datetime) -> bool:
    """Claim the one ready-email of this export: True for exactly one caller."""
    return written(lambda: item.update(actions=[Export.notified_at.set(at)],
                                       condition=Export.export_id.exists() & Export.notified_at.does_not_exist()))


def release_notice(item: Export) -> None:
    """Give the claim back after the email could not be sent, so that a redelivered job sends it."""
    written(lambda: item.update(actions=[Export.notified_at.remove()], condition=Export.export_id.exists()))


# --- what an export reads: every item of one account, table by table ----------------------------

def lists_of(account_id: str) -> Iterator[ContactList]:
    return ContactList.query(account_id)


def suppressions_of(account_id: str) -> Iterator[Suppression]:
    return Suppression.query(account_id)


def campaigns_of(account_id: str) -> Iterator[Campaign]:
    return Campaign.query(account_id)


def domains_of(account_id: str) -> Iterator[Domain]:
    return Domain.query(account_id)


def usage_of(account_id: str) -> Iterator[Usage]:
    return Usage.query(account_id)


def audit_of(account_id: str) -> Iterator[AuditRecord]:
    """The audit trail, newest first."""
    return AuditRecord.query(account_id, scan_index_forward=False)
