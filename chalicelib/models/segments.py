"""Saved segments: a named set of conditions on a list's members, and the last exact count of its matches."""
from __future__ import annotations

from collections.abc import Iterator

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.models.base import BaseModel, Page, take_page, written
from chalicelib.models.subscribers import list_key


class SegmentsByList(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_list"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True)       # "<account_id>#<list_id>"
    segment_id = UnicodeAttribute(range_key=True)    # time-ordered: oldest first


class SavedSegment(BaseModel):
    class Meta:
        logical_name = "segments"

    account_id = UnicodeAttribute(hash_key=True)
    segment_id = UnicodeAttribute(range_key=True)
    list_id = UnicodeAttribute()
    list_key = UnicodeAttribute()
    name = UnicodeAttribute()
    definition = UnicodeAttribute()                 # JSON: {"match", "conditions": [{field, op, value?, type}]}
    # members matching, when last counted; it hides Model.count, which nothing calls on segments
    count = NumberAttribute(null=True)  # type: ignore[assignment]
    subscribed = NumberAttribute(null=True)         # ... of whom subscribed
    counted_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    by_list = SegmentsByList()


def get(account_id: str, segment_id: str) -> SavedSegment | None:
    return SavedSegment.find(account_id, segment_id)


def page(account_id: str, list_id: str, limit: int, start: dict | None) -> Page[SavedSegment]:
    return take_page(SavedSegment.by_list.query(list_key(account_id, list_id), limit=limit, last_evaluated_key=start),
                     limit)


def of_account(account_id: str) -> Iterator[SavedSegment]:
    return SavedSegment.query(account_id)


def all_in_list(account_id: str, list_id: str) -> Iterator[SavedSegment]:
    return SavedSegment.by_list.query(list_key(account_id, list_id))


def change(item: SavedSegment, actions: list, condition=None) -> bool:
    """Apply update actions if the segment still exists (and `condition` holds); False if not."""
    full = SavedSegment.segment_id.exists() if condition is None else SavedSegment.segment_id.exists() & condition
    return written(lambda: item.update(actions=actions, condition=full))


def remove(item: SavedSegment) -> bool:
    """Delete the segment; False if it was already gone."""
    return written(lambda: item.delete(condition=SavedSegment.segment_id.exists()))


def delete_all_in_list(account_id: str, list_id: str) -> None:
    """Delete every segment of a list (the list is being deleted)."""
    with SavedSegment.batch_write() as batch:
        for item in all_in_list(account_id, list_id):
            batch.delete(item)
