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
