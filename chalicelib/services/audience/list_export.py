"""List export (R17): a list's members as a CSV or JSON file, prepared by a job and downloaded through a
presigned link.

POST /v1/lists/{id}/exports records the export and queues it (the exports queue, beside account exports:
the message's `kind` says which). The job streams the list from DynamoDB page by page into an S3 multipart
upload, one part (at least S3's 5 MiB, except the last) at a time, and never holds the list: after each
part it saves its cursor on the export (the upload, the parts' ETags, the list's key where the next part
starts, the rows and bytes so far). A worker that crashes, or runs out of time and queues its continuation,
resumes from that cursor: a part written again under its number replaces the one before, so no row is lost
or doubled.

Which members go in is one predicate built when the job starts: the statuses asked for, and the segment's
`matches` when a segment is named. A complaint unsubscribes and leaves no mark on the member (R23), so a
complainer's row reads as any unsubscribe's.

CSV: UTF-8 with a byte order mark (spreadsheets then read it as UTF-8), a header row of column names, one
row per member; a text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's CSV
injection advice). JSON: an array of objects holding the same data.

When its list is deleted, an export goes with it: the member data a deletion removes does not linger in
files (R17), so the list's export items and files are deleted and a job under way stops.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from chalicelib import clock, errors, ids, queues
from chalicelib.log import logger
from chalicelib.models import exports as store
from chalicelib.models import lists as list_store
from chalicelib.models.base import Page
from chalicelib.models.exports import Export, ExportKind, ExportStatus, ExportView
from chalicelib.models.lists import ContactList
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.services.accounts import audit, auth
from chalicelib.services.accounts.audit import Action, Origin
from chalicelib.services.accounts.auth import Principal
from chalicelib.services.audience import activity, csv_rows, segments

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}   # format -> the file's content type
LIFETIME = timedelta(days=7)        # the exports bucket's lifecycle deletes files as old (infra/definition.py)
LINK_LIFETIME = timedelta(hours=1)
PART_BYTES = 5 * 1024 * 1024        # S3's least part size: a part is sent once it holds this much
MIN_REMAINING_MS = 60_000           # a worker with less time left queues its continuation instead of a part

Member = Callable[[Subscriber, datetime], bool]


class Files(Protocol):
    """Where export files are written part by part, and linked (chalicelib.storage.ExportFiles)."""

    def start_upload(self, key: str, content_type: str) -> str: ...

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str: ...

    def finish_upload(self, key: str, upload_id: str, etags: list[str]) -> None: ...

    def abort_upload(self, key: str, upload_id: str) -> None: ...

    def delete_under(self, prefix: str) -> int: ...

    def link(self, key: str, filename: str, lifetime: timedelta) -> str: ...


@dataclass(frozen=True)
class Job:
    """One exports-queue message for a list export."""

    account_id: str
    export_id: str

    KIND = ExportKind.LIST.value

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Job:
        """Read a queue message; a malformed one raises errors.Malformed (it ends in the dead-letter queue)."""
        return cls(*store.job_ids(body))

    def as_body(self) -> dict[str, Any]:
        return {"kind": self.KIND, "account_id": self.account_id, "export_id": self.export_id}


# --- asking for an export, and reading it back ---------------------------------------------------

def request(principal: Principal, list_id: str, file_format: str, statuses: list[str] | None,
            segment_id: str | None, origin: Origin) -> Export:
    """Queue an export of the list's members (all, or those in `statuses` and/or matching the segment); audited."""
    account_id = principal.account_id
    _list(account_id, list_id)
    if file_format not in FORMATS:
        raise errors.Invalid(f"format must be one of {', '.join(FORMATS)}.", code="invalid_format")
    wanted = _statuses(statuses)
    if segment_id is not None:
        _segment_filter(account_id, list_id, segment_id)   # 404 now rather than a failed job later
    now = clock.now()
    export = Export(account_id, ids.new_id("exp"), kind=ExportKind.LIST.value, list_id=list_id,
                    format=file_format, statuses=wanted, segment_id=segment_id,
                    status=ExportStatus.PREPARING.value, requested_by=principal.user_id, created_at=now,
                    expires_at=now + LIFETIME)
    store.add(export)
    try:
        queues.enqueue("exports", Job(account_id, export.export_id).as_body())
    except errors.UpstreamError:
        store.remove(export)
        raise
    audit.record(account_id, Action.DATA_EXPORTED, origin, auth.actor_of(principal),
                 details={"delivery": "job", "list_id": list_id, "export_id": export.export_id})
    logger.info("list export queued", extra={"account_id": account_id, "list_id": list_id,
                                             "export_id": export.export_id})
    return export


def _statuses(statuses: list[str] | None) -> list[str] | None:
    if statuses is None:
        return None
    known = [s.value for s in SubscriberStatus]
    unknown = [s for s in statuses if s not in known]
    if unknown or not statuses:
        raise errors.Invalid(f"status must list one or more of {', '.join(known)}.", code="invalid_status")
    return sorted(set(statuses))


def _segment_filter(account_id: str, list_id: str, segment_id: str) -> Member:
    """The segment's test of one member at a time (NotFound for a missing or another list's segment)."""
    return segments.load(account_id, list_id, segment_id).matches


def status(account_id: str, list_id: str, export_id: str, files: Files) -> ExportView:
    """One of the list's exports (404 for a missing, expired, another list's or another account's one), with
    a download link valid for an hour once it is ready."""
    _list(account_id, list_id)
    export = store.get_live(account_id, export_id) if auth.plausible_id(export_id) else None
    if export is None or export.kind != ExportKind.LIST.value or export.list_id != list_id:
        raise errors.NotFound("export")
    if export.status != ExportStatus.READY.value or not export.object_key:
        return ExportView(export)
    url = files.link(export.object_key, filename(export), LINK_LIFETIME)
    return ExportView(export, url, clock.now() + LINK_LIFETIME)


def page(account_id: str, list_id: str, limit: int, start: dict | None) -> Page[Export]:
    """The list's exports of the last seven days, newest first."""
    _list(account_id, list_id)
    return store.of_list(account_id, list_id, limit, start)


def filename(export: Export) -> str:
    return f"mailroom-list-{export.list_id}-{export.created_at.strftime('%Y%m%d-%H%M')}.{export.format}"


def forget_list(account_id: str, list_id: str, files: Files) -> None:
    """A list is being deleted: delete its exports, stop those under way and delete their files."""
    for export in store.all_of_list(account_id, list_id):
        store.remove(export)
        if export.upload_id and export.status == ExportStatus.PREPARING.value:
            files.abort_upload(_key(export), export.upload_id)
    while files.delete_under(store.list_prefix(account_id, list_id)):
        pass


def _list(account_id: str, list_id: str) -> ContactList:
    found = list_store.get(account_id, list_id) if auth.plausible_id(list_id) else None
    if found is None:
        raise errors.NotFound("list")
    return found


def _key(export: Export) -> str:
    return store.list_object_key(export.account_id, export.list_id or "", export.export_id, export.format or "")


# --- the job -------------------------------------------------------------------------------------

def run_job(job: Job, files: Files, remaining_ms: Callable[[], int]) -> None:
    """Write the export's file part by part from its saved cursor, then mark it ready. A redelivered job
    goes on where the last one saved its cursor; one for a finished export changes nothing."""
    export = store.get_live(job.account_id, job.export_id)
    if export is None or export.kind != ExportKind.LIST.value or export.status != ExportStatus.PREPARING.value:
        return
    contact_list = list_store.get(export.account_id, export.list_id or "")
    if contact_list is None:   # deleted meanwhile: forget_list removed the export, or is removing it
        return
    try:
        keep = _member_filter(export)
    except errors.NotFound:
        _fail(export, files, "The segment was deleted before the export could be prepared.")
        return
    key = _key(export)
    if export.upload_id is None:
        upload_id = files.start_upload(key, FORMATS[export.format or ""])
        if not store.begin_upload(export, upload_id):   # another run began it, and writes it
            files.abort_upload(key, upload_id)
            return
        export.upload_id = upload_id
    writer = WRITERS[export.format or ""](columns_of(contact_list))
    while not _written(export):
        if not _write_part(export, key, writer, keep, files):
            return
        if not _written(export) and remaining_ms() < MIN_REMAINING_MS:
            queues.enqueue("exports", job.as_body())   # the next worker goes on from the cursor
            return
    _finish(export, key, files)


def _written(export: Export) -> bool:
    """Whether the last part is stored (parts, and nowhere for a next one to start)."""
    return bool(export.parts) and export.next_key is None


def _member_filter(export: Export) -> Callable[[Subscriber], bool]:
    """The one test every member goes through: its status is one asked for, and it matches the segment."""
    wanted = set(export.statuses) if export.statuses else None
    segment = _segment_filter(export.account_id, export.list_id or "", export.segment_id) \
        if export.segment_id else None
    now = clock.now()
    return lambda member: (wanted is None or member.status in wanted) and (segment is None or segment(member, now))


def _write_part(export: Export, key: str, writer: _Writer, keep: Callable[[Subscriber], bool],
                files: Files) -> bool:
    """Read the list from the cursor until a part's worth is written or the list ends; store the part and save
    the cursor (the key of the last member read) after it. False if another run saved this part first."""
    rows = int(export.rows or 0)
    out = io.BytesIO()
    if not export.parts:
        out.write(writer.head())
    now = clock.now()
    members = store.members_from(export.account_id, export.list_id or "", store.next_key_of(export))
    for member in members:
        if keep(member):
            out.write(writer.row(record(member, now), first=rows == 0))
            rows += 1
        if out.tell() >= PART_BYTES:
            break
    start = members.last_evaluated_key if out.tell() >= PART_BYTES else None
    if start is None:
        out.write(writer.tail())
    data = out.getvalue()
    parts = list(export.parts or [])
    # Nothing after the last part (the list ended exactly where it did): no empty part, only the cursor.
    etag = files.upload_part(key, export.upload_id or "", len(parts) + 1, data) if data or not parts else None
    size = int(export.size_bytes or 0) + len(data)
    if not store.save_progress(export, etag, start, rows, size):
        return False
    export.parts, export.rows, export.size_bytes = [*parts, etag] if etag else parts, rows, size
    export.next_key = json.dumps(start) if start else None
    return True


def _finish(export: Export, key: str, files: Files) -> None:
    files.finish_upload(key, export.upload_id or "", list(export.parts or []))
    if store.mark_ready(export, key, int(export.size_bytes or 0), clock.now()):
        logger.info("list export ready", extra={"account_id": export.account_id, "export_id": export.export_id,
                                                "rows": int(export.rows or 0), "bytes": int(export.size_bytes or 0)})
    elif store.get_live(export.account_id, export.export_id) is None:   # its list was deleted meanwhile
        files.delete_under(key)


def _fail(export: Export, files: Files, reason: str) -> None:
    if export.upload_id:
        files.abort_upload(_key(export), export.upload_id)
    store.mark_failed(export, reason)
    logger.warning("list export failed", extra={"account_id": export.account_id, "export_id": export.export_id})


# --- the file's content --------------------------------------------------------------------------

@dataclass(frozen=True)
class Columns:
    fields: list[str]   # the list's field keys, in the list's order

    def header(self) -> list[str]:
        return ["email", "status", *self.fields, "consent_source", "consent_ip", "consent_at", "subscribed_at",
                "activity_score"]


@dataclass(frozen=True)
class Record:
    """One member as an export shows it."""

    email: str
    status: str
    fields: dict[str, Any]
    consent: dict[str, Any]
    subscribed_at: str | None
    activity_score: int | None


def record(member: Subscriber, now: datetime) -> Record:
    """The member's row, in either format."""
    consent = member.consent.as_dict() if member.consent is not None else {}
    return Record(
        email=member.email,
        status=member.status,   # never "complained": a complaint unsubscribes (R23)
        fields=member.fields.as_dict() if member.fields is not None else {},
        consent={"source": consent.get("source"), "ip": consent.get("ip"), "at": consent.get("at")},
        subscribed_at=_subscribed_at(member),
        activity_score=activity.score(activity.of(member), now),
    )


def _subscribed_at(member: Subscriber) -> str | None:
    """When the member joined: confirmed (double opt-in) or added; none while still pending."""
    if member.status == SubscriberStatus.PENDING.value:
        return None
    return clock.iso(member.confirmed_at) if member.confirmed_at else member.created_at


def columns_of(contact_list: ContactList) -> Columns:
    return Columns([definition.key for definition in contact_list.fields])


class _Writer(Protocol):
    def __init__(self, columns: Columns) -> None: ...

    def head(self) -> bytes: ...

    def row(self, record: Record, first: bool) -> bytes: ...

    def tail(self) -> bytes: ...


class _CsvWriter:
    def __init__(self, columns: Columns) -> None:
        self.columns = columns
        self.text = io.StringIO()
        self.csv = csv.writer(self.text, lineterminator="\r\n")

    def _line(self, cells: list[str]) -> bytes:
        self.text.seek(0)
        self.text.truncate()
        self.csv.writerow(cells)
        return self.text.getvalue().encode("utf-8")

    def head(self) -> bytes:
        return csv_rows.BOM + self._line([csv_rows.safe_cell(name) for name in self.columns.header()])

    def row(self, record: Record, first: bool) -> bytes:
        values = [record.email, record.status, *(record.fields.get(key) for key in self.columns.fields),
                  record.consent["source"], record.consent["ip"], record.consent["at"], record.subscribed_at,
                  record.activity_score]
        return self._line([_cell(value) for value in values])

    def tail(self) -> bytes:
        return b""


def _cell(value: Any) -> str:
    """A value as a CSV cell: numbers as written, booleans as true/false, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(int(value)) if value == int(value) else str(value)
    return csv_rows.safe_cell(str(value))


class _JsonWriter:
    def __init__(self, columns: Columns) -> None:
        self.columns = columns

    def head(self) -> bytes:
        return b"["

    def row(self, record: Record, first: bool) -> bytes:
        item = {
            "email": record.email,
            "status": record.status,
            "fields": {key: _plain(record.fields.get(key)) for key in self.columns.fields},
            "consent": record.consent,
            "subscribed_at": record.subscribed_at,
            "activity_score": record.activity_score,
        }
        return (b"" if first else b",") + json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def tail(self) -> bytes:
        return b"]"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


WRITERS: dict[str, Callable[[Columns], _Writer]] = {"csv": _CsvWriter, "json": _JsonWriter}
