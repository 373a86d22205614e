"""CSV imports into a list (R14): one item per import, holding its status, counts and the cursor of its job.

The job moves an import forward a page at a time. A page's counts and the cursor past it are saved in one
conditional write whose condition is the cursor the page started from, so a page is counted once however
often the job runs it. The subscribers a page reserves from the plan are noted here in the same transaction
that reserves them, so a page run again after a crash uses its reservation instead of taking another.
"""
from __future__ import annotations

from enum import Enum
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.transactions import TransactWrite

from chalicelib.models.accounts import Account, Growth, grow
from chalicelib.models.base import BaseModel, Page, string_list, take_page, transact, written
from chalicelib.models.subscribers import list_key


class ImportStatus(str, Enum):
    AWAITING_UPLOAD = "awaiting_upload"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED})
SKIP_REASONS = ("invalid", "role", "duplicate", "suppressed", "limit")


class Import(BaseModel):
    class Meta:
        logical_name = "imports"

    list_key = UnicodeAttribute(hash_key=True)        # "<account_id>#<list_id>"
    import_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    list_id = UnicodeAttribute()
    status = UnicodeAttribute()                       # ImportStatus
    consent_source = UnicodeAttribute()
    # column -> "email" | field key; None: by the header's names
    mapping: MapAttribute[str, Any] = MapAttribute(null=True)
    update_existing = BooleanAttribute(default=False)
    object_key = UnicodeAttribute()                   # the uploaded file in the uploads bucket
    rows = NumberAttribute(null=True)                 # the file's rows (header and blank lines not counted)
    processed = NumberAttribute(default=0)
    added = NumberAttribute(default=0)
    updated = NumberAttribute(default=0)
    skipped_invalid = NumberAttribute(default=0)
    skipped_role = NumberAttribute(default=0)
    skipped_duplicate = NumberAttribute(default=0)
    skipped_suppressed = NumberAttribute(default=0)
    skipped_limit = NumberAttribute(default=0)
    delimiter = UnicodeAttribute(null=True)
    targets = string_list(null=True)   # per column: "email", a field key or ""
    header = string_list(null=True)
    cursor_offset = NumberAttribute(default=0)        # byte offset of the next record to read
    cursor_line = NumberAttribute(default=1)          # the line it starts on
    reserved = NumberAttribute(null=True)             # subscribers reserved for the page at cursor_offset
    errors_key = UnicodeAttribute(null=True)          # the rejected rows' CSV, once the import finished
    reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)

    def skipped(self) -> dict[str, int]:
        return {reason: int(getattr(self, f"skipped_{reason}") or 0) for reason in SKIP_REASONS}


def get(account_id: str, list_id: str, import_id: str, consistent: bool = False) -> Import | None:
    try:
        return Import.get(list_key(account_id, list_id), import_id, consistent_read=consistent)
    except Import.DoesNotExist:
        return None


def page(account_id: str, list_id: str, limit: int, start: dict | None) -> Page[Import]:
    """The list's imports, newest first."""
    results = Import.query(list_key(account_id, list_id), scan_index_forward=False, limit=limit,
                           last_evaluated_key=start)
    return take_page(results, limit)


def add(item: Import) -> None:
    item.save(condition=Import.import_id.does_not_exist())


def move(item: Import, from_statuses: set[ImportStatus], actions: list) -> bool:
    """Apply `actions` if the import is still in one of `from_statuses`; False if not."""
    condition = Import.status.is_in(*(s.value for s in from_statuses))
    return written(lambda: item.update(actions=actions, condition=condition))


def set_if_at(item: Import, offset: int, actions: list) -> bool:
    """Apply `actions` if the import's cursor is still at `offset` (a job's view of the import is current)."""
    return written(lambda: item.update(actions=actions, condition=Import.cursor_offset == offset))


def reserve(item: Import, offset: int, growth: Growth) -> bool:
    """Count `growth.amount` subscribers on the account (never past its limit; ending a trial it takes past the
    free limit, R8) and note the reservation on the import's page at `offset`: all or nothing. False if the
    account has no room for it or the page moved on."""
    def attempt(actions: list, room: Any) -> bool:
        def write(tx: TransactWrite) -> None:
            tx.update(item, actions=[Import.reserved.set(growth.amount)],
                      condition=(Import.cursor_offset == offset) & Import.reserved.does_not_exist())
            tx.update(Account(item.account_id), actions=actions, condition=room)

        moved, full = transact(write, 2)
        if moved:
            raise _PageMoved()
        return not full

    try:
        return grow(growth, attempt)
    except _PageMoved:
        return False


class _PageMoved(Exception):
    """Another run of the job is past the page."""


def commit_page(item: Import, offset: int, actions: list, give_back: int) -> bool:
    """Save a page's counts and the cursor past it, and give the page's unused reservation back to the plan:
    all or nothing, and only if the cursor is still at `offset`."""
    actions = actions + [Import.reserved.remove()]
    if give_back <= 0:
        return set_if_at(item, offset, actions)

    def write(tx: TransactWrite) -> None:
        tx.update(item, actions=actions, condition=Import.cursor_offset == offset)
        tx.update(Account(item.account_id), actions=[Account.subscriber_count.add(-give_back)],
                  condition=Account.account_id.exists())

    return not any(transact(write, 2))
