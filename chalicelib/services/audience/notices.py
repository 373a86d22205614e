"""Subscribe and unsubscribe notifications (R29): a list that asks for them has each event noted as it
happens, and a schedule mails the list's owner one digest per list per run with what changed since the
last one.

Only what people do is told: a member becoming subscribed (single opt-in, a confirmed double opt-in, the
hosted form) and an unsubscribe by the person or by the customer on their behalf. Bounces are not, and a
complaint never is: complaint feedback does not come through here, and an address that has complained by
the time the digest is made is left out of it (R23).

The digest is made effectively once: its notices are claimed before SES is called and deleted once SES
took it. An error answer from SES gives the claim back, so the notices wait for the next run; a claim left
behind by a run that died while calling SES is taken as sent, and never mailed twice.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from html import escape

from chalicelib import clock, errors
from chalicelib.log import logger
from chalicelib.models import accounts as account_store
from chalicelib.models import lists as list_store
from chalicelib.models import notices as store
from chalicelib.models import users as user_store
from chalicelib.models.lists import ContactList
from chalicelib.models.notices import DigestState, Notice, NoticeKind
from chalicelib.models.subscribers import Subscriber
from chalicelib.outbound import Mailer, OutgoingEmail
from chalicelib.services.accounts.account_mail import SERVICE_NAME
from chalicelib.services.accounts.plans import AccountStatus

MAX_PER_DIGEST = 1000                  # the rest waits for the next run
STALE_CLAIM = timedelta(minutes=15)    # longer than any run: a claim this old was left by a run that died
SAFETY_MARGIN_MS = 5_000               # start no list with less time than this left: never die holding a claim
GONE_ACCOUNT = {AccountStatus.CLOSED.value, AccountStatus.PURGING.value}


def subscribed(contact_list: ContactList, subscriber: Subscriber) -> None:
    """A member became subscribed: noted for the list's digest if it asks for one. Never fails the subscribe:
    a failure to note it is logged (ids only)."""
    if contact_list.notify_subscribes:
        _note(NoticeKind.SUBSCRIBED, subscriber)


def unsubscribed(memberships: Iterable[Subscriber]) -> None:
    """Members left at their own request (or the customer's on their behalf, never by a complaint or a
    bounce): noted for the digests of the lists that ask. Never fails the unsubscribe."""
    lists: dict[str, ContactList | None] = {}
    for member in memberships:
        if member.list_id not in lists:
            lists[member.list_id] = list_store.get(member.account_id, member.list_id)
        contact_list = lists[member.list_id]
        if contact_list is not None and contact_list.notify_unsubscribes:
            _note(NoticeKind.UNSUBSCRIBED, member)


def _note(kind: NoticeKind, subscriber: Subscriber) -> None:
    try:
        store.record(subscriber.account_id, subscriber.list_id, kind, subscriber.subscriber_id, subscriber.email,
                     subscriber.email_key, clock.now())
    except Exception:  # noqa: BLE001 - the member's change is done; losing one notice must not undo or fail it
        logger.exception("notice not recorded", extra={"account_id": subscriber.account_id,
                                                       "list_id": subscriber.list_id,
                                                       "subscriber_id": subscriber.subscriber_id, "kind": kind.value})


def delete_for_address(email_key: str) -> int:
    """Erase every waiting notice that names this address, in every account (R28); how many were deleted."""
    return store.delete_for_address(email_key)


def send_digests(mailer: Mailer, remaining_ms: Callable[[], float]) -> dict[str, int]:
    """Mail one digest for every list with notices waiting; counts of lists, digests, notices and failures.

    A list that fails is logged and left queued for the next run, as are those the run has no time left for;
    the others go on."""
    counts = {"lists": 0, "digests": 0, "notices": 0, "failed": 0}
    for queued in store.queued():
        if remaining_ms() < SAFETY_MARGIN_MS:
            break
        counts["lists"] += 1
        try:
            mailed = _digest(queued.list_key, mailer)
        except Exception as exc:  # noqa: BLE001 - this list waits for the next run; the other lists must still go
            # not logger.exception: SES's refusal can quote the recipient's address
            logger.error("digest not sent", extra={"account_id": queued.account_id, "list_id": queued.list_id,
                                                   "error": type(exc).__name__})
            counts["failed"] += 1
            continue
        if mailed:
            counts["digests"] += 1
            counts["notices"] += mailed
    return counts


def _digest(key: str, mailer: Mailer) -> int:
    """Make and mail the digest of one list; how many notices it carried."""
    now = clock.now()
    if not _finish_earlier(key, now):
        return 0
    queued = store.marker(key)
    if queued is None:
        return 0
    seq = int(queued.seq or 0)
    waiting = store.waiting(key, MAX_PER_DIGEST)
    if waiting:
        contact_list = list_store.get(queued.account_id, queued.list_id)
        recipient = _recipient(queued.account_id, contact_list)
        told = _to_tell(contact_list, waiting) if recipient and contact_list else []
        keys = [notice.notice_key for notice in waiting]
        if not store.claim_digest(queued.account_id, queued.list_id, keys, now):
            return 0   # another run is making this list's digest
        if told and recipient and contact_list:
            try:
                mailer.send(digest_email(recipient, contact_list, told))
            except errors.UpstreamError:
                store.release_digest(key)
                raise
            store.digest_sent(key)
        store.finish_digest(key, keys)
        logger.info("digest made", extra={"account_id": queued.account_id, "list_id": queued.list_id,
                                          "told": len(told), "dropped": len(waiting) - len(told)})
    else:
        told = []
    if len(waiting) < MAX_PER_DIGEST:
        store.unqueue(key, seq)
    return len(told)


def _finish_earlier(key: str, now: datetime) -> bool:
    """Finish the digest an earlier run left (sent, or claimed by a run that died): delete its notices
    without mailing them again. False while another run's digest is still being made."""
    earlier = store.digest(key)
    if earlier is None:
        return True
    if earlier.state == DigestState.CLAIMED.value and now - earlier.claimed_at < STALE_CLAIM:
        return False
    if earlier.state == DigestState.CLAIMED.value:
        logger.warning("a digest claim was left behind; taken as sent",
                       extra={"account_id": earlier.account_id, "list_id": earlier.list_id})
    store.finish_digest(key, list(earlier.notice_keys or []))
    return True


def _recipient(account_id: str, contact_list: ContactList | None) -> str | None:
    """Where the list's digests go: its notify_email, else the account owner's address; None if the list or
    the account is gone."""
    account = account_store.get(account_id)
    if contact_list is None or account is None or account.status in GONE_ACCOUNT:
        return None
    if contact_list.notify_email:
        return contact_list.notify_email
    owner = user_store.get(account_id, account.owner_user_id)
    return owner.email if owner is not None else None


def _to_tell(contact_list: ContactList, waiting: list[Notice]) -> list[Notice]:
    """The notices the list still asks for, once each. A complaint was noted as the unsubscribe it also is:
    nothing here tells them apart (R23)."""
    wanted = {NoticeKind.SUBSCRIBED.value: contact_list.notify_subscribes,
              NoticeKind.UNSUBSCRIBED.value: contact_list.notify_unsubscribes}
    told: dict[tuple[str, str], Notice] = {}
    for notice in waiting:
        if wanted.get(notice.kind):
            told.setdefault((notice.subscriber_id, notice.kind), notice)
    return list(told.values())


def digest_email(to: str, contact_list: ContactList, told: list[Notice]) -> OutgoingEmail:
    """The digest: how many subscribed and unsubscribed, and who, oldest first."""
    name = re.sub(r"\s+", " ", contact_list.name).strip()
    sections = [
        (NoticeKind.SUBSCRIBED, "subscribed", "New subscribers"),
        (NoticeKind.UNSUBSCRIBED, "unsubscribed", "Unsubscribed"),
    ]
    by_kind = {kind: [n for n in told if n.kind == kind.value] for kind, _, _ in sections}
    summary = ", ".join(f"{len(by_kind[kind])} {word}" for kind, word, _ in sections if by_kind[kind])
    lead = f'Since the last summary, on your list "{name}": {summary}.'
    note = ("You get this summary because notifications are turned on for this list; turn them off in the "
            "list's settings (notify).")
    text = [lead, ""]
    html = ['<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">', f"<p>{escape(lead)}</p>"]
    for kind, _, title in sections:
        if not by_kind[kind]:
            continue
        text.append(f"{title} ({len(by_kind[kind])}):")
        html.append(f"<h3>{escape(title)} ({len(by_kind[kind])})</h3><ul>")
        for notice in by_kind[kind]:
            when = clock.iso(notice.at)
            text.append(f"  {notice.email}  ({when})")
            html.append(f"<li>{escape(notice.email)} <span style=\"color:#555\">({when})</span></li>")
        text.append("")
        html.append("</ul>")
    text += [note, "", f"— {SERVICE_NAME}", ""]
    html += [f'<p style="color:#555">{escape(note)}</p>', f"<p>— {SERVICE_NAME}</p></body></html>"]
    return OutgoingEmail(to=to, subject=f"{name}: {summary}", text="\n".join(text), html="".join(html),
                         tags={"kind": "notice"})
