"""Requests from the people on customers' lists (R28): a copy of their data (access), or its erasure.

Anyone may ask for any address, and the answer is the same, in about the same time, whether the service
holds it or not: nobody learns who is on which list. A link goes only to an address that is held, and only
its owner, by following that link, has the request carried out. Requests are throttled per address and per
IP, so that the form cannot be used to bomb a mailbox. Tokens carry the address's keyed hash, never the address.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from chalicelib import errors, security
from chalicelib.config import get_settings
from chalicelib.log import logger
from chalicelib.outbound import Mailer
from chalicelib.services import addresses
from chalicelib.services.accounts import throttle
from chalicelib.services.audience import suppressions
from chalicelib.services.privacy import data_access, erasure, privacy_mail

TOKEN_PURPOSE = "privacy-request"
LINK_LIFETIME = timedelta(hours=24)
REQUESTS_PER_ADDRESS = throttle.Limit("privacy-email", 3, timedelta(hours=24))
REQUESTS_PER_IP = throttle.Limit("privacy-ip", 20, timedelta(hours=1))
REPORTS_PER_ADDRESS = throttle.Limit("privacy-report", 3, timedelta(hours=24))
# Every request takes at least this long, so that mailing a link (known address) and not (unknown) look alike.
ANSWER_FLOOR_SECONDS = 0.6


class RequestKind(str, Enum):
    ERASURE = "erasure"
    ACCESS = "access"


class Outcome(str, Enum):
    """What following a verification link did, for the page that says so."""

    ERASED = "erased"
    REPORT_SENT = "report_sent"
    REPORT_RECENTLY_SENT = "report_recently_sent"   # throttled: the copies already sent will do
    NOTHING_HELD = "nothing_held"                   # erased meanwhile: there is nothing left to send


@dataclass
class Pace:
    """The clock that keeps answers equally slow; injectable for tests."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def wait_until(self, moment: float) -> None:
        remaining = moment - self.monotonic()
        if remaining > 0:
            self.sleep(remaining)


def request(email: str, kind: RequestKind, ip: str | None, mailer: Mailer, pace: Pace | None = None) -> None:
    """Mail a verification link for the request to the address if the service holds it; say nothing either way.
    Invalid (422) for a malformed address."""
    address = addresses.normalise(email)
    pace = pace or Pace()
    started = pace.monotonic()
    try:
        _mail_link(address, kind, ip, mailer)
    finally:
        pace.wait_until(started + ANSWER_FLOOR_SECONDS)


def _mail_link(address: str, kind: RequestKind, ip: str | None, mailer: Mailer) -> None:
    limits = ((REQUESTS_PER_IP, ip), (REQUESTS_PER_ADDRESS, address))
    limited = any(subject and throttle.retry_after(limit, subject) is not None for limit, subject in limits)
    for limit, subject in limits:
        throttle.hit(limit, subject)
    if limited:
        logger.warning("privacy request throttled", extra={"kind": kind.value})
        return
    key = suppressions.email_key(address)
    held = data_access.holdings(key)
    if not held.known:
        logger.info("privacy request for an address not held", extra={"kind": kind.value})
        return
    token = security.sign(TOKEN_PURPOSE, [kind.value, key])
    link = get_settings().link(f"/privacy/requests/{token}")
    try:
        mailer.send(privacy_mail.verification(address, kind is RequestKind.ERASURE, link))
    except errors.UpstreamError:
        # The answer must not differ; the person can simply ask again.
        logger.error("privacy request link not sent", extra={"kind": kind.value})
        return
    logger.info("privacy request link sent", extra={"kind": kind.value, "accounts": len(held.account_ids)})


def kind_of(token: str) -> RequestKind:
    """What a verification link asks for, changing nothing; NotFound when it is forged, altered or older than 24 h."""
    return _read(token)[0]


def carry_out(token: str, mailer: Mailer) -> Outcome:
    """Carry out the request a verification link names; NotFound when it is forged, altered or older than 24 h.
    Carrying it out again is harmless."""
    kind, key = _read(token)
    if kind is RequestKind.ERASURE:
        erasure.erase_everywhere(key, mailer)
        return Outcome.ERASED
    if throttle.retry_after(REPORTS_PER_ADDRESS, key) is not None:
        return Outcome.REPORT_RECENTLY_SENT
    if not data_access.send_report(key, mailer):
        return Outcome.NOTHING_HELD
    throttle.hit(REPORTS_PER_ADDRESS, key)
    return Outcome.REPORT_SENT


def _read(token: str) -> tuple[RequestKind, str]:
    payload = security.unsign(TOKEN_PURPOSE, token, max_age_seconds=int(LINK_LIFETIME.total_seconds()))
    if (isinstance(payload, list) and len(payload) == 2 and all(isinstance(p, str) and p for p in payload)
            and payload[0] in {k.value for k in RequestKind}):
        return RequestKind(payload[0]), payload[1]
    raise errors.NotFound("privacy request link")
