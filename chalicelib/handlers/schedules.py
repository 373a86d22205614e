"""Scheduled housekeeping: the backstops to DynamoDB's TTL, which may lag by up to 48 hours."""
from __future__ import annotations

from chalice import Rate

from chalicelib.handlers.http import Api
from chalicelib.log import logger
from chalicelib.services import auth

api = Api(__name__)


@api.blueprint.schedule(Rate(1, unit=Rate.HOURS))
def purge_expired(event) -> dict[str, int]:
    """Delete expired sessions, link tokens and throttle counters."""
    counts = auth.purge_expired()
    logger.info("purged expired items", extra=counts)
    return counts


@api.blueprint.schedule(Rate(1, unit=Rate.MINUTES))
def start_due_campaigns(event) -> dict[str, int]:
    """Start scheduled campaigns whose time has come (the gate runs again; a refused one returns to draft)."""
    from chalicelib.services import campaigns

    counts = campaigns.start_due()
    if any(counts.values()):
        logger.info("scheduled campaigns processed", extra=counts)
    return counts
