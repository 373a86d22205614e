"""Exports prepared as a job: an account's data (R28) and a list's members (R17); and the queries an account
export reads the account's data with.

An export job's file lives in the exports bucket under the account's prefix: "<account_id>/<export_id>.json"
for an account export, "<account_id>/lists/<list_id>/<export_id>.<format>" for a list's; the item here says
whether it is ready and expires with it (the bucket's lifecycle deletes the file after as long). A list
export's item also holds the cursor of its multipart upload, saved after each part.
Every query below is by a hash key that starts with the account id: an export never scans a table.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pynamodb.attributes import (
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.condition import size as size_of
from pynamodb.pagination import ResultIterator

from chalicelib import clock, errors
from chalicelib.models.audit import AuditRecord
from chalicelib.models.base import BaseModel, Page, Update, is_live, string_list, take_page, written
from chalicelib.models.campaigns import Campaign
from chalicelib.models.domains import Domain
from chalicelib.models.lists import ContactList
from chalicelib.models.subscribers import Subscriber
from chalicelib.models.subscribers import list_key as subscriber_list_key
from chalicelib.models.suppressions import Suppression
from chalicelib.models.usage import Usage


class ExportStatus(str, Enum):
    PREPARING = "preparing"   # queued or being written
    READY = "ready"           # the file is in the bucket
    FAILED = "failed"         # a list export that could not be finished (`failure` says why)


class ExportKind(str, Enum):
    ACCOUNT = "account"       # all of the account's data (R28); items without a kind are these
    LIST = "list"             # one list's members (R17)


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
    # A list export (kind "list"): what it holds, and where its multipart upload stands.
    kind = UnicodeAttribute(null=True)               # ExportKind; None: an account export
    list_id = UnicodeAttribute(null=True)
    format = UnicodeAttribute(null=True)             # "csv" | "json"
    statuses = string_list(null=True)   # only members in these statuses; None: all
    segment_id = UnicodeAttribute(null=True)         # only members matching this segment
    upload_id = UnicodeAttribute(null=True)          # the S3 multipart upload being written
    parts = string_list(null=True)      # ETags of the parts done, in order
    next_key = UnicodeAttribute(null=True)           # JSON: the list's key where the next part starts
    rows = NumberAttribute(null=True)                # members written so far
    failure = UnicodeAttribute(null=True)            # why it failed, in words for the customer


@dataclass(frozen=True)
class ExportView:
    """An export as its status route shows it; `download_url` once it is ready."""

    export: Export
    download_url: str | None = None
    download_expires_at: datetime | None = None


def job_ids(body: dict[str, Any]) -> tuple[str, str]:
    """The account and export ids of an exports-queue message; errors.Malformed for a message without them (it
    ends in the dead-letter queue)."""
    account_id, export_id = body.get("account_id"), body.get("export_id")
    if not isinstance(account_id, str) or not isinstance(export_id, str) or not account_id or not export_id:
        raise errors.Malformed("The export message lacks its account or export id.")
    return account_id, export_id


def object_key(account_id: str, export_id: str) -> str:
    return f"{account_id}/{export_id}.json"


def list_object_key(account_id: str, list_id: str, export_id: str, file_format: str) -> str:
    return f"{list_prefix(account_id, list_id)}{export_id}.{file_format}"


def list_prefix(account_id: str, list_id: str) -> str:
    """Where a list's export files are (under the account's prefix, so the account purge deletes them too)."""
    return f"{account_id}/lists/{list_id}/"


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


def of_list(account_id: str, list_id: str, limit: int, start: dict | None) -> Page[Export]:
    """The list's exports, newest first (expired ones, which TTL may not have deleted yet, left out)."""
    condition = (Export.list_id == list_id) & (Export.expires_at > clock.now())
    return take_page(Export.query(account_id, filter_condition=condition, limit=limit, last_evaluated_key=start,
                                  scan_index_forward=False), limit)


def all_of_list(account_id: str, list_id: str) -> Iterator[Export]:
    return Export.query(account_id, filter_condition=Export.list_id == list_id)


def begin_upload(item: Export, upload_id: str) -> bool:
    """Record the multipart upload the export is written to; False if one was recorded first (a job running twice)."""
    condition = (Export.status == ExportStatus.PREPARING.value) & Export.upload_id.does_not_exist()
    return written(lambda: item.update(actions=[Export.upload_id.set(upload_id)], condition=condition))


def save_progress(item: Export, etag: str | None, next_key: dict[str, Any] | None, rows: int, size: int) -> bool:
    """Record one more part done (none when `etag` is None: the list ended where the last part did) and where
    the next starts; False if another run recorded this part first (or the export is gone or finished)."""
    done = list(item.parts or [])
    condition = (Export.status == ExportStatus.PREPARING.value) & (Export.upload_id == item.upload_id)
    condition &= (size_of(Export.parts) == len(done)) if done else Export.parts.does_not_exist()
    actions: list[Update] = [
        Export.parts.set([*done, etag] if etag else done), Export.rows.set(rows), Export.size_bytes.set(size),
        Export.next_key.set(json.dumps(next_key)) if next_key else Export.next_key.remove()]
    return written(lambda: item.update(actions=actions, condition=condition))


def next_key_of(item: Export) -> dict[str, Any] | None:
    return json.loads(item.next_key) if item.next_key else None


def mark_failed(item: Export, reason: str) -> bool:
    """Record that the export could not be finished, and why; False if it was finished or failed already."""
    return written(lambda: item.update(actions=[Export.status.set(ExportStatus.FAILED.value),
                                                Export.failure.set(reason)],
                                       condition=Export.status == ExportStatus.PREPARING.value))


def preparing_since(account_id: str, since: datetime) -> Export | None:
    """The account's newest account export still being prepared that was asked for at or after `since`."""
    condition = (Export.status == ExportStatus.PREPARING.value) & (Export.created_at >= since)
    condition &= Export.kind.does_not_exist()
    for item in Export.query(account_id, filter_condition=condition, scan_index_forward=False):
        if is_live(item.expires_at):
            return item
    return None


def mark_ready(item: Export, key: str, size: int, at: datetime) -> bool:
    """Record that the file is in the bucket; False if it was marked already (a job delivered twice)."""
    actions: list[Update] = [Export.status.set(ExportStatus.READY.value), Export.object_key.set(key),
                             Export.size_bytes.set(size), Export.ready_at.set(at)]
    return written(lambda: item.update(actions=actions, condition=Export.status == ExportStatus.PREPARING.value))


def claim_notice(item: Export, at: datetime) -> bool:
    """Claim the one ready-email of this export: True for exactly one caller."""
    return written(lambda: item.update(actions=[Export.notified_at.set(at)],
                                       condition=Export.export_id.exists() & Export.notified_at.does_not_exist()))


def release_notice(item: Export) -> None:
    """Give the claim back after the email could not be sent, so that a redelivered job sends it."""
    written(lambda: item.update(actions=[Export.notified_at.remove()], condition=Export.export_id.exists()))


def members_from(account_id: str, list_id: str, start: dict[str, Any] | None) -> ResultIterator[Subscriber]:
    """The list's members from `start` on, in key order, read a DynamoDB page (1 MB) at a time. Stopped early,
    its `last_evaluated_key` is the key of the last member it gave: where to go on from."""
    return Subscriber.query(subscriber_list_key(account_id, list_id), last_evaluated_key=start)


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
