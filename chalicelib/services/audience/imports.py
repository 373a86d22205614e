"""CSV imports into a list (R14, R15, R9/R10): create, upload, start, follow, cancel, and the job that runs them.

The file waits in the uploads bucket (inline `csv` is stored there too, so both take the same path). The job,
on the imports queue, first reads the whole file once to check it and count its rows, then imports it a page at
a time from a byte-offset cursor (csv_rows.py). Each page:

1. reads up to PAGE_ROWS records and checks every row exactly as POST …/subscribers does;
2. reads the members and suppressions its addresses already have (two BatchGets);
3. reserves room for its new members on the plan's subscriber limit, noted on the import in the same
   transaction, so a page run again after a crash uses the reservation it already has;
4. writes the new members in BatchWriteItem calls (each marked with the import and its line) and updates the
   existing ones when asked to;
5. writes its rejected rows to a part of the errors file, then saves its counts and the cursor past it, and
   gives back what it reserved and did not use, in one write conditional on the cursor it started from.

A crash between 4 and 5 runs the page again: the members it wrote carry this import and their own line, so
they count as added, not as duplicates; a second occurrence of an address in the file carries another line
and stays a duplicate. A redelivered message finds the cursor moved on and imports nothing twice.
"""
from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, BinaryIO, Protocol

from chalicelib import clock, errors, ids
from chalicelib.log import logger
from chalicelib.models import accounts as account_store
from chalicelib.models import imports as store
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models import suppressions as suppression_store
from chalicelib.models.accounts import Growth
from chalicelib.models.base import Page
from chalicelib.models.imports import FINISHED, Import, ImportStatus
from chalicelib.models.lists import ContactList
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.services import addresses
from chalicelib.services.accounts import accounts, auth, plans
from chalicelib.services.accounts.plans import AccountStatus
from chalicelib.services.audience import csv_rows, lists, subscriber_fields, subscribers, suppressions
from chalicelib.services.audience.csv_rows import EMAIL, Record, Unreadable

MAX_INLINE_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_BYTES = 1024 ** 3
UPLOAD_LIFETIME = timedelta(hours=1)      # the presigned POST's validity
LINK_LIFETIME = timedelta(hours=1)        # errors_url's validity
FILE_RETENTION = timedelta(days=3)        # the uploads bucket's lifecycle rule (infra/definition.py) deletes files
PAGE_ROWS = 500
PAGE_BYTES = 1024 * 1024                  # a page also ends after this much of the file (blank lines)
RESERVE_MS = 10_000                       # a job hands on to the next message this long before its time runs out
RESERVE_ATTEMPTS = 10
NOT_RUNNING = {AccountStatus.SUSPENDED.value: "The account is suspended, so the import was stopped.",
               AccountStatus.CLOSED.value: "The account is closed, so the import was stopped.",
               AccountStatus.PURGING.value: "The account is closed, so the import was stopped."}


class Files(Protocol):
    """Where uploaded files and errors reports are kept (chalicelib.storage.UploadFiles)."""

    def upload_form(self, key: str, max_bytes: int, lifetime: timedelta) -> dict: ...

    def put(self, key: str, body: BinaryIO, content_type: str = "text/csv") -> None: ...

    def size(self, key: str) -> int | None: ...

    def read_from(self, key: str, offset: int) -> Iterator[bytes]: ...

    def keys_under(self, prefix: str) -> Iterator[str]: ...

    def link(self, key: str, filename: str, lifetime: timedelta) -> str: ...


Enqueue = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Request:
    """What POST …/imports asks for."""

    consent_source: str
    permission: bool
    mapping: Mapping[str, str] | None = None
    update_existing: bool = False
    csv: str | None = None


@dataclass(frozen=True)
class View:
    """An import as its routes show it: `upload` right after it was created without `csv`, `errors_url` once
    it finished with rejected rows."""

    item: Import
    upload: dict | None = None
    errors_url: str | None = None


@dataclass(frozen=True)
class Job:
    """One imports-queue message."""

    account_id: str
    list_id: str
    import_id: str

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Job:
        """Read a queue message; a malformed one raises errors.Malformed (it ends in the dead-letter queue)."""
        values = [body.get(name) for name in ("account_id", "list_id", "import_id")]
        ids = [value for value in values if isinstance(value, str) and value]
        if len(ids) != len(values):
            raise errors.Malformed("The import message lacks its account, list or import id.")
        return cls(*ids)

    def body(self) -> dict[str, str]:
        return {"account_id": self.account_id, "list_id": self.list_id, "import_id": self.import_id}


# --- the routes' use cases ---------------------------------------------------------------------

def create(account_id: str, list_id: str, request: Request, files: Files, enqueue: Enqueue) -> View:
    """A new import: started at once with inline `csv`, else waiting for its file (the answer's upload form)."""
    contact_list = lists.get(account_id, list_id)
    accounts.ensure_open(account_id)
    if request.permission is not True:
        raise errors.Invalid("consent.permission must be true: your statement that every row of the file opted "
                             "in to this list (R14).", code="permission_required")
    source = subscribers.Consent(request.consent_source).record()["source"]
    data = request.csv.encode("utf-8") if request.csv is not None else None
    if data is not None and len(data) > MAX_INLINE_BYTES:
        raise errors.TooLarge(f"Inline csv may hold at most {MAX_INLINE_BYTES // (1024 * 1024)} MB; upload a "
                              "larger file through the upload form (leave out csv).")
    _check_mapping(contact_list, request.mapping)
    import_id = ids.new_id("imp")
    item = Import(subscriber_store.list_key(account_id, list_id), import_id, account_id=account_id,
                  list_id=list_id, status=ImportStatus.AWAITING_UPLOAD.value, consent_source=source,
                  mapping=dict(request.mapping) if request.mapping is not None else None,
                  update_existing=request.update_existing, object_key=f"{account_id}/{import_id}/upload.csv",
                  created_at=clock.now())
    if data is None:
        store.add(item)
        return View(item, upload=files.upload_form(item.object_key, MAX_UPLOAD_BYTES, UPLOAD_LIFETIME))
    files.put(item.object_key, io.BytesIO(data))
    store.add(item)
    return View(_start(item, files, enqueue))


def _check_mapping(contact_list: ContactList, mapping: Mapping[str, str] | None) -> None:
    if mapping is None:
        return
    known = {EMAIL} | {f.key for f in contact_list.fields}
    for column, target in mapping.items():
        if not column.strip():
            raise errors.Invalid("The mapping names a column without a name.", code="invalid_mapping")
        if target not in known:
            names = ", ".join(sorted(known))
            raise errors.Invalid(f'The mapping sends column "{column}" to "{target}", which is neither "email" nor '
                                 f"a field of the list (its targets: {names}).", code="unknown_field")
    if list(mapping.values()).count(EMAIL) != 1:
        raise errors.Invalid('The mapping must send exactly one column to "email".', code="invalid_mapping")


def get(account_id: str, list_id: str, import_id: str, files: Files) -> View:
    """One import of the account's list; 404 for a missing one or another tenant's."""
    return view(_find(account_id, list_id, import_id), files)


def _find(account_id: str, list_id: str, import_id: str) -> Import:
    item = store.get(account_id, list_id, import_id) if auth.plausible_id(import_id) else None
    if item is None:
        raise errors.NotFound("import")
    return item


def view(item: Import, files: Files) -> View:
    """The import with a link to its errors file while the file is kept."""
    if not item.errors_key or item.finished_at is None or item.finished_at + FILE_RETENTION <= clock.now():
        return View(item)
    filename = f"import-{item.import_id}-rejected-rows.csv"
    return View(item, errors_url=files.link(item.errors_key, filename, LINK_LIFETIME))


def page(account_id: str, list_id: str, limit: int, start: dict | None) -> Page[Import]:
    """The list's imports, newest first."""
    lists.get(account_id, list_id)
    subscribers.check_cursor(start, "list_key", subscriber_store.list_key(account_id, list_id))
    return store.page(account_id, list_id, limit, start)


def start(account_id: str, list_id: str, import_id: str, files: Files, enqueue: Enqueue) -> View:
    """Start an import whose file was uploaded (409 if none was); an import already started is answered as it is."""
    item = _find(account_id, list_id, import_id)
    if item.status != ImportStatus.AWAITING_UPLOAD.value:
        return view(item, files)
    return view(_start(item, files, enqueue), files)


def _start(item: Import, files: Files, enqueue: Enqueue) -> Import:
    if files.size(item.object_key) is None:
        raise errors.Conflict("No file was uploaded for this import yet: POST it to the upload form first.",
                              code="upload_missing")
    if store.move(item, {ImportStatus.AWAITING_UPLOAD}, [Import.status.set(ImportStatus.QUEUED.value),
                                                         Import.started_at.set(clock.now())]):
        try:
            enqueue("imports", _job(item).body())
        except errors.UpstreamError:
            store.move(item, {ImportStatus.QUEUED}, [Import.status.set(ImportStatus.AWAITING_UPLOAD.value),
                                                     Import.started_at.remove()])
            raise
        logger.info("import queued", extra={"account_id": item.account_id, "import_id": item.import_id})
    return _reload(item)


def cancel(account_id: str, list_id: str, import_id: str, files: Files) -> View:
    """Cancel an import: it stops within one page, and what it imported stays. 409 once it is done or failed."""
    item = _find(account_id, list_id, import_id)
    unfinished = {ImportStatus.AWAITING_UPLOAD, ImportStatus.QUEUED, ImportStatus.RUNNING}
    if store.move(item, unfinished, [Import.status.set(ImportStatus.CANCELLED.value),
                                     Import.reason.set("Cancelled at your request; the rows imported before "
                                                       "stay in the list."),
                                     Import.finished_at.set(clock.now())]):
        logger.info("import cancelled", extra={"account_id": account_id, "import_id": import_id})
    item = _reload(item)
    if item.status != ImportStatus.CANCELLED.value:
        raise errors.Conflict(f"The import is {item.status} already and cannot be cancelled.",
                              code="import_finished")
    return view(item, files)


def _reload(item: Import) -> Import:
    fresh = store.get(item.account_id, item.list_id, item.import_id, consistent=True)
    if fresh is None:
        raise errors.NotFound("import")
    return fresh


def _job(item: Import) -> Job:
    return Job(item.account_id, item.list_id, item.import_id)


# --- the job -----------------------------------------------------------------------------------

@dataclass
class Tally:
    """What one page did."""

    processed: int = 0
    added: int = 0
    updated: int = 0
    skipped: Counter = field(default_factory=Counter)
    rejected: list[list[str]] = field(default_factory=list)   # line, reason, detail, the row's cells

    def reject(self, record: Record, reason: str, detail: str) -> None:
        self.skipped[reason] += 1
        self.rejected.append([str(record.line), reason, detail, *record.cells])


@dataclass(frozen=True)
class Row:
    record: Record
    address: str
    values: dict[str, Any]
    subscriber_id: str


def run(job: Job, files: Files, enqueue: Enqueue, remaining_ms: Callable[[], int]) -> Import | None:
    """Run an import from its cursor until it ends or the invocation's time runs short (then the next message
    carries on). Every page is counted once however often this runs. The import as it ended; None if it has
    not (or there is none to run)."""
    item = store.get(job.account_id, job.list_id, job.import_id, consistent=True)
    if item is None or item.status == ImportStatus.AWAITING_UPLOAD.value:
        logger.warning("import job without a started import", extra={"import_id": job.import_id})
        return None
    if item.status == ImportStatus.QUEUED.value:
        store.move(item, {ImportStatus.QUEUED}, [Import.status.set(ImportStatus.RUNNING.value)])
        item = _reload(item)
    try:
        if item.status == ImportStatus.RUNNING.value and item.targets is None:
            _prepare(item, files)
            item = _reload(item)
        while item.status == ImportStatus.RUNNING.value or item.reserved is not None:
            if remaining_ms() < RESERVE_MS:
                enqueue("imports", job.body())
                return None
            if not _next_page(item, files):
                break
            item = _reload(item)
    except Unreadable as exc:
        _fail(item, str(exc))
    except errors.NotFound:   # the list was deleted while its import ran
        _fail(item, "The list was deleted, so the import was stopped.")
    _finish(_reload(item), files)
    return _reload(item)


def _prepare(item: Import, files: Files) -> None:
    """Check the whole file once, count its rows and read its header, before anything is imported."""
    contact_list = lists.get(item.account_id, item.list_id)
    csv_rows.check_text(next(iter(files.read_from(item.object_key, 0)), b""))
    delimiter = csv_rows.detect_delimiter(csv_rows.first_line(files.read_from(item.object_key, 0)))
    header: Record | None = None
    rows = 0
    for record in csv_rows.records(files.read_from(item.object_key, 0), 0, 1, delimiter):
        if header is None:
            header = record
        else:
            rows += 1
    if header is None:
        raise Unreadable("The file is empty.")
    mapping = item.mapping.as_dict() if item.mapping is not None else None
    names = [csv_rows.FieldName(f.key, f.label) for f in contact_list.fields]
    targets = csv_rows.columns(header.cells, names, mapping)
    if rows == 0:
        raise Unreadable("The file has a header row but no rows below it.")
    store.set_if_at(item, 0, [Import.delimiter.set(delimiter), Import.targets.set(targets),
                              Import.header.set([c.strip() for c in header.cells]), Import.rows.set(rows),
                              Import.cursor_offset.set(header.end), Import.cursor_line.set(header.next_line)])


def _next_page(item: Import, files: Files) -> bool:
    """Import the page at the cursor; False when there is none left (or the import must stop)."""
    account = account_store.get(item.account_id)
    if item.reserved is None:   # a page that reserved already is finished first: its members may be written
        if item.status != ImportStatus.RUNNING.value:
            return False
        stopped = NOT_RUNNING.get(account.status) if account is not None else NOT_RUNNING[AccountStatus.CLOSED.value]
        if stopped:
            _fail(item, stopped + " The rows imported before stay in the list.")
            return False
    contact_list = lists.get(item.account_id, item.list_id)
    records, end, next_line = _read_page(item, files)
    if not records and end == item.cursor_offset:
        return False
    tally = Tally(processed=len(records))
    rows = _checked_rows(item, contact_list, records, tally)
    new, ours = _sort_rows(item, rows, tally)
    needed = len(ours) + len(new)
    growth = plans.growth(account.plan, account.subscriber_level, needed) if account else Growth(needed, limit=0)
    granted = _reserve(item, growth)
    if granted is None:   # another run of this job finished the page meanwhile
        return True
    allowed = max(0, granted - len(ours))
    for row in new[allowed:]:
        tally.reject(row.record, "limit", f"The plan allows {growth.limit} subscribers; the account is full.")
    _write_members(item, new[:allowed])
    tally.added = len(ours) + len(new[:allowed])
    _write_rejected(item, files, tally.rejected)
    counts = [Import.processed.add(tally.processed), Import.added.add(tally.added), Import.updated.add(tally.updated),
              Import.cursor_offset.set(end), Import.cursor_line.set(next_line)]
    counts += [getattr(Import, f"skipped_{reason}").add(n) for reason, n in tally.skipped.items()]
    if store.commit_page(item, int(item.cursor_offset), counts, granted - tally.added):
        logger.info("import page done", extra={"account_id": item.account_id, "import_id": item.import_id,
                                               "line": item.cursor_line, "added": tally.added,
                                               "updated": tally.updated, "skipped": sum(tally.skipped.values())})
    return True


def _read_page(item: Import, files: Files) -> tuple[list[Record], int, int]:
    records: list[Record] = []
    end, next_line = int(item.cursor_offset), int(item.cursor_line)
    chunks = files.read_from(item.object_key, end)
    for record in csv_rows.records(chunks, end, next_line, item.delimiter or ","):
        records.append(record)
        end, next_line = record.end, record.next_line
        if len(records) >= PAGE_ROWS or end - item.cursor_offset >= PAGE_BYTES:
            return records, end, next_line
    size = files.size(item.object_key) or 0
    return records, max(end, size), next_line   # trailing blank lines: the file's end


def _checked_rows(item: Import, contact_list: ContactList, records: list[Record], tally: Tally) -> list[Row]:
    """Each row checked as POST …/subscribers checks it; the first occurrence of each address in the page."""
    first: dict[str, Row] = {}
    definitions = list(contact_list.fields)
    for record in records:
        email, cells = csv_rows.row_values(item.targets, record.cells)
        try:
            address = addresses.normalise_recipient(email)
            values = subscriber_fields.from_form([d for d in definitions if d.key in cells], cells)
        except errors.Invalid as exc:
            tally.reject(record, "role" if exc.code == "role_address" else "invalid", exc.message)
            continue
        if address in first:
            tally.reject(record, "duplicate", f"The address is on line {first[address].record.line} already.")
            continue
        sid = subscribers.subscriber_id_for(item.account_id, item.list_id, address)
        first[address] = Row(record, address, values, sid)
    return list(first.values())


def _sort_rows(item: Import, rows: list[Row], tally: Tally) -> tuple[list[Row], list[Row]]:
    """The rows to add, and those this page added already in a run that crashed; updates and skips are done."""
    existing = subscriber_store.many(item.account_id, item.list_id, [row.subscriber_id for row in rows])
    keys = {row.address: suppressions.email_key(row.address) for row in rows}
    suppressed = suppression_store.suppressed_among(item.account_id, keys.values())
    new: list[Row] = []
    ours: list[Row] = []
    for row in rows:
        member = existing.get(row.subscriber_id)
        if member is None:
            if keys[row.address] in suppressed:
                tally.reject(row.record, "suppressed", "The address is on the account's suppression list "
                                                       "(it unsubscribed, bounced, complained or was erased).")
            else:
                new.append(row)
        elif member.import_id == item.import_id and member.import_line == row.record.line:
            if member.consent.as_dict().get("import_id") == item.import_id:
                ours.append(row)
            else:
                _update_member(item, member, row, tally)
        elif member.import_id == item.import_id:
            tally.reject(row.record, "duplicate", f"The address is on line {member.import_line} already.")
        elif item.update_existing:
            _update_member(item, member, row, tally)
        else:
            tally.reject(row.record, "duplicate", "The address is in the list already.")
    return new, ours


def _update_member(item: Import, member: Subscriber, row: Row, tally: Tally) -> None:
    """Set the row's fields on a member already in the list: never its status or consent."""
    actions = [Subscriber.fields[key].set(value) for key, value in row.values.items()]
    actions += [Subscriber.import_id.set(item.import_id), Subscriber.import_line.set(row.record.line),
                Subscriber.updated_at.set(clock.now())]
    if subscriber_store.update_if(member, actions):
        tally.updated += 1
    else:   # deleted meanwhile: nothing of it is left to update
        tally.reject(row.record, "duplicate", "The address left the list while it was imported.")


def _reserve(item: Import, growth: Growth) -> int | None:
    """Room for the growth's new members on the plan's limit: the page's reservation if it has one, else a new
    one as large as the plan allows (noted on the import with the account's count, both or neither; a trial's
    that passes the free limit ends the trial, R8). None when another run of the job moved past the page."""
    if item.reserved is not None:
        return int(item.reserved)
    for _ in range(RESERVE_ATTEMPTS):
        account = account_store.get(item.account_id)
        count = int(account.subscriber_count or 0) if account is not None else 0
        limit = growth.limit
        amount = growth.amount if limit is None else max(0, min(growth.amount, limit - count))
        if amount == 0:
            return 0
        if store.reserve(item, int(item.cursor_offset), replace(growth, amount=amount)):
            return amount
        fresh = _reload(item)
        if fresh.cursor_offset != item.cursor_offset:
            return None
        if fresh.reserved is not None:   # another run of this job is on the page: its reservation is the page's
            return int(fresh.reserved)
    raise errors.UpstreamError("The plan's subscriber count kept changing; the import will try again.")


def _write_members(item: Import, rows: list[Row]) -> None:
    now = clock.now()
    consent = {"source": item.consent_source, "at": clock.iso(now), "import_id": item.import_id}
    members = []
    for row in rows:
        member = Subscriber(subscriber_store.list_key(item.account_id, item.list_id), row.subscriber_id,
                            account_id=item.account_id, list_id=item.list_id, email=row.address,
                            email_key=suppressions.email_key(row.address), fields=row.values, consent=consent,
                            created_at=clock.iso(now), updated_at=now, confirmed_at=now,
                            import_id=item.import_id, import_line=row.record.line)
        member.set_status(SubscriberStatus.SUBSCRIBED)
        members.append(member)
    subscriber_store.put_batch(members)


# --- the rejected rows' file -------------------------------------------------------------------

def _parts_prefix(item: Import) -> str:
    return f"{item.account_id}/{item.import_id}/rejected/"


def _write_rejected(item: Import, files: Files, rejected: list[list[str]]) -> None:
    """This page's rejected rows, as a part of the errors file named by the page's offset (a page run again
    writes the same part again)."""
    if rejected:
        key = f"{_parts_prefix(item)}{int(item.cursor_offset):015d}.csv"
        files.put(key, io.BytesIO(_csv_lines(rejected)))


def _csv_lines(rows: list[list[str]]) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_rows.safe_cell(cell) for cell in row])
    return out.getvalue().encode("utf-8")


class _Joined(io.RawIOBase):
    """A readable file made of byte chunks, read as they come (the parts are never held together)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.rest:
            self.rest = next(self.chunks, b"")
            if not self.rest:
                return 0
        size = min(len(buffer), len(self.rest))
        buffer[:size] = self.rest[:size]
        self.rest = self.rest[size:]
        return size


def _joined_parts(item: Import, files: Files) -> Iterator[bytes]:
    yield csv_rows.BOM + _csv_lines([["line", "reason", "detail", *(item.header or [])]])
    for key in files.keys_under(_parts_prefix(item)):
        yield from files.read_from(key, 0)


def _finish(item: Import, files: Files) -> None:
    """End the import: its rejected rows joined into one file to download, then done if it ran to the end, in
    that order: a client that sees it done finds the file."""
    key = item.errors_key or _join_rejected(item, files)
    noted = [Import.errors_key.set(key)] if key and not item.errors_key else []
    if item.status == ImportStatus.RUNNING.value:
        if store.move(item, {ImportStatus.RUNNING}, [
                Import.status.set(ImportStatus.DONE.value), Import.finished_at.set(clock.now()), *noted]):
            logger.info("import done", extra={"account_id": item.account_id, "import_id": item.import_id,
                                              "added": int(item.added), "processed": int(item.processed)})
    elif ImportStatus(item.status) in FINISHED and noted:
        store.move(item, set(FINISHED), noted)


def _join_rejected(item: Import, files: Files) -> str | None:
    """The rejected rows' parts joined into one file; its key, or None when no row was rejected."""
    if not sum(item.skipped().values()):
        return None
    key = f"{item.account_id}/{item.import_id}/rejected-rows.csv"
    files.put(key, io.BufferedReader(_Joined(_joined_parts(item, files))))
    return key


def _fail(item: Import, reason: str) -> None:
    if store.move(item, {ImportStatus.QUEUED, ImportStatus.RUNNING}, [
            Import.status.set(ImportStatus.FAILED.value), Import.reason.set(reason),
            Import.finished_at.set(clock.now())]):
        logger.info("import failed", extra={"account_id": item.account_id, "import_id": item.import_id})

