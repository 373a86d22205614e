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


def add_hit_below(throttle_key: str, max_hits: int, expires_at: datetime, count: int = 1) -> bool:
    """Count `count` more hits atomically only while the count stays at most `max_hits`; whether they were counted."""
    if count > max_hits:
        return False
    item = Throttle(throttle_key)
    room = Throttle.hits.does_not_exist() | (Throttle.hits <= max_hits - count)
    return written(lambda: item.update(
        actions=[Throttle.hits.add(count), Throttle.expires_at.set(expires_at)], condition=room))


def take_back_hit(throttle_key: str, count: int = 1) -> None:
    """Give back `count` hits counted by add_hit_below (attempts that turned out not to count); a counter back at
    zero is deleted, as if it had never been hit."""
    if not written(lambda: Throttle(throttle_key).delete(condition=Throttle.hits == count)):
        written(lambda: Throttle(throttle_key).update(actions=[Throttle.hits.add(-count)],
                                                      condition=Throttle.hits > count))


def forget(throttle_key: str) -> None:
    Throttle(throttle_key).delete()
