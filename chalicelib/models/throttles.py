"""Rate-limit counters: one item per (keyed subject, time window), counted with atomic ADDs."""
from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.models.base import BaseModel, is_live, written


class Throttle(BaseModel):
    class Meta:
        logical_name = "throttles"

    throttle_key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    expires_at = TTLAttribute()


def hits(throttle_key: str) -> int:
    try:
        item = Throttle.get(throttle_key)
    except Throttle.DoesNotExist:
        return 0
    return int(item.hits) if is_live(item.expires_at) else 0


def add_hit(throttle_key: str, expires_at: datetime) -> int:
    """Count one more hit atomically (creating the counter) and return the new count."""
    item = Throttle(throttle_key)
    item.update(actions=[Throttle.hits.add(1), Throttle.expires_at.set(expires_at)])
    return int(item.hits)


def add_hit_below(throttle_key: str, max_hits: int, expires_at: datetime) -> bool:
    """Count one more hit atomically only while the count is below `max_hits`; whether it was counted."""
    item = Throttle(throttle_key)
    below = Throttle.hits.does_not_exist() | (Throttle.hits < max_hits)
    return written(lambda: item.update(
        actions=[Throttle.hits.add(1), Throttle.expires_at.set(expires_at)], condition=below))


def take_back_hit(throttle_key: str) -> None:
    """Give back one hit counted by add_hit_below (an attempt that turned out not to count); a counter back at
    zero is deleted, as if it had never been hit."""
    if not written(lambda: Throttle(throttle_key).delete(condition=Throttle.hits == 1)):
        written(lambda: Throttle(throttle_key).update(actions=[Throttle.hits.add(-1)], condition=Throttle.hits > 1))


def forget(throttle_key: str) -> None:
    Throttle(throttle_key).delete()
