"""Account data export (R28): everything the account holds, as one machine-readable JSON document.

Small accounts get the document in the answer. A large one gets it through a job: the exports queue's
consumer writes the same document to the exports bucket and emails the owner, and
GET /v1/account/exports/{id} answers a presigned link to it. The document is streamed section by
section and item by item, so neither path holds a whole account's items at once.

Where the line runs (SYNC_LIMITS): Lambda answers at most 6 MB synchronously and API Gateway waits 29 s.
Accounts with at most 5,000 stored subscribers (every free and trial account, R9) are read straight
away (a subscriber is well under 1 KB of JSON: a few DynamoDB pages); if their document still grows past
5 MB or takes more than 15 s to read (large campaign bodies, many tracking events behind the reports, a
long audit trail) it is handed to a job. Larger accounts go to the job at once, without being read in the
request.
"""
from __future__ import annotations

import io
import json
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import IO, Any, Protocol

from chalicelib import clock, errors, ids, queues
from chalicelib.config import get_settings
from chalicelib.log import logger
from chalicelib.models import accounts as account_store
from chalicelib.models import credentials, subscribers, users
from chalicelib.models import exports as store
from chalicelib.models.accounts import Account
from chalicelib.models.credentials import Credential
from chalicelib.models.domains import Domain
from chalicelib.models.exports import Export, ExportStatus, ExportView
from chalicelib.models.subscribers import Subscriber
from chalicelib.models.suppressions import Suppression
from chalicelib.models.users import User
from chalicelib.outbound import Mailer
from chalicelib.services.accounts import account_mail, accounts, api_keys, audit, auth, team
from chalicelib.services.accounts.audit import Action, Origin
from chalicelib.services.accounts.auth import Kind, Principal
from chalicelib.services.audience import lists, segments, suppressions
from chalicelib.services.feedback import reports

FORMAT = "mailroom.account-export/1"
LIFETIME = timedelta(days=7)        # the exports bucket's lifecycle deletes files as old (infra/definition.py)
LINK_LIFETIME = timedelta(hours=1)
REUSE_WINDOW = timedelta(minutes=15)   # asking again meanwhile answers the export already being prepared
SPOOL_BYTES = 8 * 1024 * 1024       # a job's document stays in memory up to this size, then goes to /tmp


@dataclass(frozen=True)
class SyncLimits:
    """Up to where an export is answered at once rather than prepared by a job."""

    subscribers: int = 5_000          # stored subscribers (Account.subscriber_count), known without reading any
    bytes: int = 5_000_000            # the document's size, checked while it is written
    seconds: float = 15.0             # the time spent writing it, checked likewise


SYNC_LIMITS = SyncLimits()   # tests replace it to send a small account down the job path


class Files(Protocol):
    """Where job exports are kept (chalicelib.storage.ExportFiles)."""

    def upload(self, key: str, body: IO[bytes]) -> None: ...

    def link(self, key: str, filename: str, lifetime: timedelta) -> str: ...


@dataclass(frozen=True)
class Requested:
    """The answer to an export request: the document itself, or the job preparing it."""

    document: str | None = None
    export: Export | None = None


@dataclass(frozen=True)
class Job:
    """One exports-queue message: which export of which account to prepare."""

    account_id: str
    export_id: str

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Job:
        """Read a queue message; a malformed one raises errors.Malformed (it ends in the dead-letter queue)."""
        return cls(*store.job_ids(body))


# --- asking for an export ----------------------------------------------------------------------

def request(principal: Principal, origin: Origin, limits: SyncLimits | None = None) -> Requested:
    """The account's data now if it is small enough, else a job that prepares it (audited either way)."""
    limits = limits or SYNC_LIMITS
    account = accounts.get(principal.account_id)
    if int(account.subscriber_count or 0) <= limits.subscribers:
        buffer = io.BytesIO()
        try:
            size = write(account, buffer, Budget(limits.bytes, time.monotonic() + limits.seconds))
        except OverBudget:
            pass
        else:
            audit.record(account.account_id, Action.DATA_EXPORTED, origin, auth.actor_of(principal),
                         details={"delivery": "answer", "bytes": size})
            return Requested(document=buffer.getvalue().decode("utf-8"))
    return Requested(export=_start_job(principal, origin))


def _start_job(principal: Principal, origin: Origin) -> Export:
    now = clock.now()
    waiting = store.preparing_since(principal.account_id, now - REUSE_WINDOW)
    if waiting is not None:
        return waiting
    export = Export(principal.account_id, ids.new_id("exp"), status=ExportStatus.PREPARING.value,
                    requested_by=principal.user_id, created_at=now, expires_at=now + LIFETIME)
    store.add(export)
    try:
        queues.enqueue("exports", {"account_id": export.account_id, "export_id": export.export_id})
    except errors.UpstreamError:
        store.remove(export)
        raise
    audit.record(export.account_id, Action.DATA_EXPORTED, origin, auth.actor_of(principal),
                 details={"delivery": "job", "export_id": export.export_id})
    logger.info("export queued", extra={"account_id": export.account_id, "export_id": export.export_id})
    return export


def status(account_id: str, export_id: str, files: Files) -> ExportView:
    """One of the account's exports (404 for a missing, expired or another account's one), with a download
    link valid for an hour once it is ready."""
    export = store.get_live(account_id, export_id) if auth.plausible_id(export_id) else None
    if export is None or export.kind is not None:   # a list's export is found under its list
        raise errors.NotFound("export")
    if export.status != ExportStatus.READY.value or not export.object_key:
        return ExportView(export)
    now = clock.now()
    url = files.link(export.object_key, filename(export), LINK_LIFETIME)
    return ExportView(export, url, now + LINK_LIFETIME)


def filename(export: Export) -> str:
    return f"mailroom-export-{export.account_id}-{export.created_at.strftime('%Y%m%d')}.json"


# --- the job -----------------------------------------------------------------------------------

def run_job(job: Job, files: Files, mailer: Mailer) -> None:
    """Write the export to the bucket and email the owner once; a redelivered job changes and sends nothing."""
    export = store.get_live(job.account_id, job.export_id)
    account = account_store.get(job.account_id)
    if export is None or account is None:
        logger.warning("export job without its export or account", extra={
            "account_id": job.account_id, "export_id": job.export_id})
        return
    if export.status == ExportStatus.PREPARING.value:
        key = store.object_key(account.account_id, export.export_id)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            size = write(account, spool)
            spool.seek(0)
            files.upload(key, spool)
        if store.mark_ready(export, key, size, clock.now()):
            logger.info("export ready", extra={"account_id": account.account_id, "export_id": export.export_id,
                                               "bytes": size})
    _notify_owner(account, export, mailer)


def _notify_owner(account: Account, export: Export, mailer: Mailer) -> None:
    if not store.claim_notice(export, clock.now()):
        return
    owner = users.get(account.account_id, account.owner_user_id)
    if owner is None:
        return
    link = get_settings().link(f"/v1/account/exports/{export.export_id}")
    try:
        mailer.send(account_mail.export_ready(owner.email, link, clock.iso(export.expires_at) or ""))
    except errors.UpstreamError:
        store.release_notice(export)   # the job fails and SQS delivers it again: the email goes then
        raise


# --- the document ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Budget:
    """How large a document may grow, and until when (time.monotonic()) it may be written."""

    bytes: int
    deadline: float


class OverBudget(Exception):
    """The document grew past its budget, in size or in time."""


def write(account: Account, sink: IO[bytes], budget: Budget | None = None) -> int:
    """Write the account's whole export document to `sink`; its size in bytes. OverBudget past `budget`."""
    out = _JsonWriter(sink, budget)
    out.raw("{")
    for index, (name, value) in enumerate(_sections(account)):
        out.raw(("," if index else "") + json.dumps(name) + ":")
        if isinstance(value, Iterator):
            out.array(value)
        else:
            out.value(value)
    out.raw("}")
    return out.size


def _sections(account: Account) -> Iterator[tuple[str, Any]]:
    """The document's sections in order; each is read only once the one before it is written."""
    account_id = account.account_id
    yield "format", FORMAT
    yield "exported_at", clock.iso(clock.now())
    yield "account", _account(account)
    yield "users", (_user(u) for u in users.of_account(account_id))
    yield "api_keys", (_api_key(c) for c in credentials.all_of_kind(account_id, Kind.API_KEY.value))
    yield "lists", (lists.view(item) for item in store.lists_of(account_id))
    yield "subscribers", (_subscriber(s) for s in _all_subscribers(account_id))
    yield "segments", (segments.view(s) for s in segments.of_account(account_id))
    yield "suppressions", (_suppression(s) for s in store.suppressions_of(account_id))
    yield "campaigns", _campaigns(account_id)
    yield "domains", (_domain(d) for d in store.domains_of(account_id))
    yield "usage", ({"period": u.period, "emails": int(u.emails or 0)} for u in store.usage_of(account_id))
    yield "audit", (audit.view(r) for r in store.audit_of(account_id))


class _JsonWriter:
    def __init__(self, sink: IO[bytes], budget: Budget | None):
        self.sink = sink
        self.budget = budget
        self.size = 0

    def raw(self, text: str) -> None:
        data = text.encode("utf-8")
        self.size += len(data)
        if self.budget is not None and (self.size > self.budget.bytes or time.monotonic() > self.budget.deadline):
            raise OverBudget()
        self.sink.write(data)

    def value(self, value: Any) -> None:
        self.raw(json.dumps(value, default=_plain, separators=(",", ":")))

    def array(self, items: Iterable[Any]) -> None:
        self.raw("[")
        for index, item in enumerate(items):
            if index:
                self.raw(",")
            self.value(item)
        self.raw("]")


def _plain(value: Any) -> Any:
    """What json cannot write by itself: stored numbers, times, sets and map attributes."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return clock.iso(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    raise TypeError(f"{type(value).__name__} is not exportable")


def _mapping(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)


def _number(value: Any) -> int | None:
    return int(value) if value is not None else None


def _account(account: Account) -> dict[str, Any]:
    return {
        "id": account.account_id,
        "status": account.status,
        "status_reason": account.status_reason,
        "plan": account.plan,
        "trial_ends_at": clock.iso(account.trial_ends_at),
        "subscriber_level": _number(account.subscriber_level),
        "credits": int(account.credits or 0),
        "credits_purchased_at": clock.iso(account.credits_purchased_at),
        "pro": bool(account.pro),
        "profile": accounts.profile_of(account),
        "registration": _mapping(account.registration),
        "owner_user_id": account.owner_user_id,
        "subscriber_count": int(account.subscriber_count or 0),
        "created_at": account.created_at,
        "updated_at": clock.iso(account.updated_at),
        "closed_at": clock.iso(account.closed_at),
        "purge_after": clock.iso(account.purge_after),
    }


def _user(user: User) -> dict[str, Any]:
    # Never the password hash (R2), nor the digests of their invitation or email-change links.
    return {
        "id": user.user_id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "status": team.status_of(user),
        "invited_by": user.invited_by,
        "invitation_expires_at": clock.iso(user.invitation_expires_at),
        "new_email": user.new_email,                   # a change of login email waiting for its confirmation
        "new_email_expires_at": clock.iso(user.new_email_expires_at),
        "email_verified_at": clock.iso(user.email_verified_at),
        "last_login_at": clock.iso(user.last_login_at),
        "created_at": clock.iso(user.created_at),
    }


def _api_key(item: Credential) -> dict[str, Any]:
    # Never the key or its digest (R3).
    return {
        "id": api_keys.id_of(item),
        "name": item.name,
        "user_id": item.user_id,
        "created_at": clock.iso(item.created_at),
        "last_used_at": clock.iso(item.last_used_at),
    }


def _all_subscribers(account_id: str) -> Iterator[Subscriber]:
    for contact_list in store.lists_of(account_id):
        yield from subscribers.all_in_list(account_id, contact_list.list_id)


def _subscriber(item: Subscriber) -> dict[str, Any]:
    # A complaint unsubscribes and leaves no mark on the subscriber (R23), so every address can be shown.
    return {
        "id": item.subscriber_id,
        "list_id": item.list_id,
        "email": item.email,
        "status": item.status,
        "fields": _mapping(item.fields) or {},
        "consent": _mapping(item.consent) or {},
        "created_at": item.created_at,
        "updated_at": clock.iso(item.updated_at),
        "confirmed_at": clock.iso(item.confirmed_at),
        "unsubscribed_at": clock.iso(item.unsubscribed_at),
        "confirmation_sent_at": clock.iso(item.confirmation_sent_at),
        "activity": {   # R25, R26
            "received": int(item.received or 0),
            "opened": int(item.opened or 0),
            "clicked": int(item.clicked or 0),
            "last_activity_at": clock.iso(item.last_activity_at),
            "soft_bounces": int(item.soft_bounces or 0),
        },
    }


def _suppression(item: Suppression) -> dict[str, Any]:
    email, reason = suppressions.as_seen(item)   # a complaint reads as an unsubscribe (R23)
    return {
        "email": email,
        "reason": reason,
        "source": item.source,
        "created_at": clock.iso(item.created_at),
    }


def _campaigns(account_id: str) -> Iterator[dict[str, Any]]:
    for campaign in store.campaigns_of(account_id):
        try:
            report = reports.campaign_report(account_id, campaign.campaign_id)
        except errors.NotFound:   # deleted while the export was written
            continue
        yield {
            "id": campaign.campaign_id,
            "list_id": campaign.list_id,
            "name": campaign.name,
            "subject": campaign.subject,
            "html": campaign.html,
            "text": campaign.text,
            "from_name": campaign.from_name,
            "from_email": campaign.from_email,
            "reply_to": campaign.reply_to,
            "links": list(campaign.links or []),
            "status": campaign.status,
            "status_reason": campaign.status_reason,
            "scheduled_at": clock.iso(campaign.scheduled_at),
            "created_at": clock.iso(campaign.created_at),
            "updated_at": clock.iso(campaign.updated_at),
            "started_at": clock.iso(campaign.started_at),
            "finished_at": clock.iso(campaign.finished_at),
            "report": report,
        }


def _domain(item: Domain) -> dict[str, Any]:
    return {
        "name": item.name,
        "status": item.status,
        "created_at": clock.iso(item.created_at),
        "checked_at": clock.iso(item.checked_at),
    }
