"""Rate limits over fixed time windows, keyed by a keyed hash of the subject (never a raw address or IP)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib import clock, errors, security
from chalicelib.models import throttles as store


@dataclass(frozen=True)
class Limit:
    name: str
    max_hits: int
    window: timedelta
    refusal: str | None = None      # what a 429 says (the default: "Too many attempts; try again in N seconds.")
    code: str | None = None         # the 429's error code (the default: rate_limited)


LOGIN_FAILURES_PER_EMAIL = Limit("login-email", 5, timedelta(minutes=15))
LOGIN_FAILURES_PER_IP = Limit("login-ip", 20, timedelta(minutes=15))
RESET_REQUESTS_PER_EMAIL = Limit("reset-email", 5, timedelta(hours=1))
# Every signup counts, taken address or not: a 409 tells whether an address has an account.
SIGNUPS_PER_IP = Limit("signup-ip", 20, timedelta(hours=1))

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _window(limit: Limit, now: datetime) -> tuple[int, datetime]:
    seconds = limit.window.total_seconds()
    index = int((now - _EPOCH).total_seconds() // seconds)
    return index, _EPOCH + timedelta(seconds=(index + 1) * seconds)


def _key(limit: Limit, subject: str, index: int) -> str:
    return f"{limit.name}#{security.keyed_hash(limit.name, subject)}#{index}"


def retry_after(limit: Limit, subject: str) -> int | None:
    """Seconds until `subject` may try again, or None when it is within the limit."""
    now = clock.now()
    index, ends = _window(limit, now)
    if store.hits(_key(limit, subject, index)) < limit.max_hits:
        return None
    return max(1, math.ceil((ends - now).total_seconds()))


def _limited(limit: Limit, wait: int) -> errors.RateLimited:
    return errors.RateLimited(limit.refusal or f"Too many attempts; try again in {wait} seconds.", retry_after=wait,
                              code=limit.code)


def check(limit: Limit, subject: str | None) -> None:
    """Raise RateLimited (429 with Retry-After) when `subject` has used up its window."""
    if not subject:
        return
    wait = retry_after(limit, subject)
    if wait is not None:
        raise _limited(limit, wait)


def reserve(limit: Limit, subject: str | None, count: int = 1) -> None:
    """Count `count` attempts by `subject` before they are made, atomically, so that parallel attempts cannot all
    pass one check; raise RateLimited (429 with Retry-After) when the window has no room for them all."""
    if not subject:
        return
    now = clock.now()
    index, ends = _window(limit, now)
    if not store.add_hit_below(_key(limit, subject, index), limit.max_hits, ends, count):
        raise _limited(limit, max(1, math.ceil((ends - now).total_seconds())))


def release(limit: Limit, subject: str | None, count: int = 1) -> None:
    """Give back attempts reserved in the current window that turned out not to count."""
    if not subject:
        return
    index, _ = _window(limit, clock.now())
    store.take_back_hit(_key(limit, subject, index), count)


def hit(limit: Limit, subject: str | None) -> None:
    """Count one event against `subject` in the current window."""
    if not subject:
        return
    index, ends = _window(limit, clock.now())
    store.add_hit(_key(limit, subject, index), ends)


def clear(limit: Limit, subject: str) -> None:
    """Forget `subject`'s count in the current window (after a success)."""
    index, _ = _window(limit, clock.now())
    store.forget(_key(limit, subject, index))
