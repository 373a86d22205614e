"""Segments of a list: saved conditions on its members, checked against the fields' types, and evaluated on
a member item as it was read (no extra read), by the count, the list export and a campaign's fan-out.

A condition is `{field, op, value?}`; `match` says whether all or any must hold. Text compares without
regard to case. A member without a value for the field matches the negative ops (`ne`, `not_contains`,
`not_set`) and no other: "country is not DE" includes those who never gave a country.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from chalicelib import clock, errors, ids
from chalicelib.log import logger
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import segments as store
from chalicelib.models import subscribers as members
from chalicelib.models.base import Page
from chalicelib.models.campaigns import CampaignStatus
from chalicelib.models.segments import SavedSegment
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.services.accounts import auth
from chalicelib.services.audience import activity, lists
from chalicelib.services.audience.subscriber_fields import DATE_FORMAT, MAX_TEXT, FieldDefinition
from chalicelib.services.audience.subscribers import check_cursor

MAX_CONDITIONS = 20
MAX_DAYS = 36_500
COUNT_PAGE = 1000
WAITING = (CampaignStatus.SCHEDULED, CampaignStatus.IN_REVIEW)   # will go out with no further word from the customer


class Match(str, Enum):
    ALL = "all"
    ANY = "any"


class Kind(str, Enum):
    """What a field holds, which decides the ops it takes and the values they compare with."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"              # a custom field: YYYY-MM-DD
    BOOLEAN = "boolean"
    MOMENT = "datetime"        # a time the service recorded (UTC)
    STATUS = "status"
    ADDRESS = "email"          # text that is always there


NEGATIVE = frozenset({"ne", "not_contains", "not_set"})
PRESENCE = frozenset({"is_set", "not_set"})
OPS: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: ("eq", "ne", "contains", "not_contains", "starts_with", "ends_with", "is_set", "not_set"),
    Kind.ADDRESS: ("eq", "ne", "contains", "not_contains", "starts_with", "ends_with"),
    Kind.NUMBER: ("eq", "ne", "gt", "gte", "lt", "lte", "is_set", "not_set"),
    Kind.DATE: ("eq", "ne", "before", "after", "within_days", "is_set", "not_set"),
    Kind.MOMENT: ("before", "after", "within_days", "is_set", "not_set"),
    Kind.BOOLEAN: ("eq", "ne", "is_set", "not_set"),
    Kind.STATUS: ("eq", "ne"),
}
BUILT_IN: dict[str, Kind] = {
    "email": Kind.ADDRESS,
    "status": Kind.STATUS,
    "subscribed_at": Kind.MOMENT,
    "activity.score": Kind.NUMBER,
    "activity.last_opened_at": Kind.MOMENT,
    "activity.last_clicked_at": Kind.MOMENT,
}


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any
    kind: Kind

    def holds(self, subscriber: Subscriber, values: Mapping[str, Any], now: datetime) -> bool:
        """Whether the member meets the condition; `values` are its custom fields, read once."""
        actual = _comparable(self.kind, _value_of(self.field, subscriber, values, now))
        if actual is None:
            return self.op in NEGATIVE
        if self.op in PRESENCE:
            return self.op == "is_set"
        return _compare(self.kind, self.op, actual, self.value, now)

    def stored(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value, "type": self.kind.value}

    def shown(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, **({} if self.op in PRESENCE else {"value": self.value})}


@dataclass(frozen=True)
class Definition:
    """What a segment selects: a campaign copies it when its send starts."""

    match: Match
    conditions: tuple[Condition, ...]

    def matches(self, subscriber: Subscriber, now: datetime) -> bool:
        """Whether the member item, as read, meets the conditions (all, or any)."""
        values = subscriber.fields.as_dict() if subscriber.fields is not None else {}
        results = (c.holds(subscriber, values, now) for c in self.conditions)
        return all(results) if self.match is Match.ALL else any(results)

    def to_json(self) -> str:
        return json.dumps({"match": self.match.value, "conditions": [c.stored() for c in self.conditions]})

    @classmethod
    def from_json(cls, raw: str) -> Definition:
        data = json.loads(raw)
        return cls(Match(data["match"]), tuple(
            Condition(c["field"], c["op"], c.get("value"), Kind(c["type"])) for c in data["conditions"]))


@dataclass(frozen=True)
class Segment:
    id: str
    list_id: str
    name: str
    definition: Definition
    created_at: datetime
    updated_at: datetime
    count: int | None = None
    subscribed: int | None = None
    counted_at: datetime | None = None

    def matches(self, subscriber: Subscriber, now: datetime) -> bool:
        """Whether the member item, as read, is in the segment."""
        return self.definition.matches(subscriber, now)


def view(segment: Segment) -> dict[str, Any]:
    """A segment as the API and the account export show it."""
    return {
        "id": segment.id,
        "list_id": segment.list_id,
        "name": segment.name,
        "match": segment.definition.match.value,
        "conditions": [condition.shown() for condition in segment.definition.conditions],
        **count_view(segment),
        "created_at": clock.iso(segment.created_at),
        "updated_at": clock.iso(segment.updated_at),
    }


def count_view(segment: Segment) -> dict[str, Any]:
    """The segment's last count: its members, how many of them are subscribed, and when it was counted."""
    return {"count": segment.count, "subscribed": segment.subscribed, "counted_at": clock.iso(segment.counted_at)}


def of_account(account_id: str) -> Iterator[Segment]:
    """Every segment of the account (its data export)."""
    return (_segment(item) for item in store.of_account(account_id))


def _segment(item: SavedSegment) -> Segment:
    return Segment(item.segment_id, item.list_id, item.name, Definition.from_json(item.definition), item.created_at,
                   item.updated_at, None if item.count is None else int(item.count),
                   None if item.subscribed is None else int(item.subscribed), item.counted_at)


# --- the API's use cases -----------------------------------------------------------------------

def create(account_id: str, list_id: str, name: str, match: str, conditions: list[dict[str, Any]]) -> Segment:
    """Save a segment of the list, its conditions checked against the list's fields (422 naming the field)."""
    contact_list = lists.get(account_id, list_id)
    definition = parse(contact_list.fields, match, conditions)
    now = clock.now()
    item = SavedSegment(account_id, ids.new_id("seg"), list_id=list_id, list_key=members.list_key(account_id, list_id),
                        name=_name(name), definition=definition.to_json(), created_at=now, updated_at=now)
    item.save(condition=SavedSegment.segment_id.does_not_exist())
    logger.info("segment created", extra={"account_id": account_id, "list_id": list_id,
                                          "segment_id": item.segment_id, "conditions": len(definition.conditions)})
    return _segment(item)


def load(account_id: str, list_id: str, segment_id: str) -> Segment:
    """The list's segment; NotFound for a missing one, another list's or another tenant's."""
    return _segment(_item(account_id, list_id, segment_id))


def page(account_id: str, list_id: str, limit: int, start: dict | None) -> Page[Segment]:
    """A page of the list's segments, oldest first."""
    lists.get(account_id, list_id)
    check_cursor(start, "list_key", members.list_key(account_id, list_id))
    found = store.page(account_id, list_id, limit, start)
    return Page([_segment(item) for item in found.items], found.last_key)


def update(account_id: str, list_id: str, segment_id: str, changes: Mapping[str, Any]) -> Segment:
    """Rename, or change what it selects (checked again; the last count is then forgotten)."""
    item = _item(account_id, list_id, segment_id)
    actions = [SavedSegment.updated_at.set(clock.now())]
    if changes.get("name") is not None:
        actions.append(SavedSegment.name.set(_name(changes["name"])))
    if changes.get("match") is not None or changes.get("conditions") is not None:
        current = Definition.from_json(item.definition)
        conditions = changes.get("conditions")
        if conditions is None:
            conditions = [dict(c.shown()) for c in current.conditions]
        definition = parse(lists.get(account_id, list_id).fields, changes.get("match") or current.match.value,
                           conditions)
        actions += [SavedSegment.definition.set(definition.to_json()), SavedSegment.count.remove(),
                    SavedSegment.subscribed.remove(), SavedSegment.counted_at.remove()]
    if not store.change(item, actions):
        raise errors.NotFound("segment")
    return load(account_id, list_id, segment_id)


def delete(account_id: str, list_id: str, segment_id: str) -> None:
    """Delete a segment, unless a campaign that will go out without another word from the customer (scheduled,
    or waiting for review) is to be sent to it: 409 naming that campaign. A draft may still name it: sending
    the draft then asks for another segment. A campaign already sending has its own copy."""
    item = _item(account_id, list_id, segment_id)
    waiting = next((c for c in campaign_store.of_account_in(account_id, WAITING) if c.segment_id == segment_id),
                   None)
    if waiting is not None:
        raise errors.Conflict(
            f"Campaign {waiting.name!r} ({waiting.campaign_id}) is {waiting.status} and will be sent to this "
            "segment. Choose another segment for it, or cancel it, before deleting the segment.",
            code="segment_in_use")
    if not store.remove(item):
        raise errors.NotFound("segment")


def count(account_id: str, list_id: str, segment_id: str) -> Segment:
    """Count exactly the list's members in the segment (every member read, page by page), and keep the count."""
    item = _item(account_id, list_id, segment_id)
    segment = _segment(item)
    now = clock.now()
    matching = subscribed = 0
    for member in members.all_in_list(account_id, list_id):
        if segment.matches(member, now):
            matching += 1
            subscribed += member.status == SubscriberStatus.SUBSCRIBED.value
    # Kept only if the segment still selects what was counted: an edit meanwhile makes the count another's.
    kept = store.change(item, [SavedSegment.count.set(matching), SavedSegment.subscribed.set(subscribed),
                               SavedSegment.counted_at.set(now)], SavedSegment.definition == item.definition)
    if not kept:
        raise errors.Conflict("The segment was changed or deleted while it was being counted; count it again.",
                              code="segment_changed")
    return load(account_id, list_id, segment_id)


def subscribed_matching(account_id: str, list_id: str, definition: Definition, now: datetime) -> int:
    """How many of the list's subscribed members the definition selects now (a campaign's recipients)."""
    found, start = 0, None
    while True:
        batch = members.page_by_status(account_id, list_id, SubscriberStatus.SUBSCRIBED, COUNT_PAGE, start)
        found += sum(1 for member in batch.items if definition.matches(member, now))
        if batch.last_key is None:
            return found
        start = batch.last_key


def for_campaign(account_id: str, list_id: str, segment_id: str) -> Segment:
    """The segment a campaign of `list_id` names: NotFound if it does not exist (or is another tenant's), 422
    if it is a segment of another of the account's lists."""
    item = _find(account_id, segment_id)
    if item is None:
        raise errors.NotFound("segment")
    if item.list_id != list_id:
        raise errors.Invalid("The segment belongs to another list; a campaign can only be sent to a segment of its "
                             "own list.", code="segment_of_another_list", details={"field": "segment_id"})
    return _segment(item)


def _item(account_id: str, list_id: str, segment_id: str) -> SavedSegment:
    item = _find(account_id, segment_id)
    if item is None or item.list_id != list_id:
        raise errors.NotFound("segment")
    return item


def _find(account_id: str, segment_id: str) -> SavedSegment | None:
    return store.get(account_id, segment_id) if auth.plausible_id(segment_id) else None


def _name(raw: str) -> str:
    name = raw.strip() if isinstance(raw, str) else ""
    if not name:
        raise errors.Invalid("name must not be empty.", code="invalid_field", details={"field": "name"})
    return name


# --- checking a definition ---------------------------------------------------------------------

def parse(definitions: Iterable[FieldDefinition], match: str, conditions: list[dict[str, Any]]) -> Definition:
    """A definition from a request, checked against the list's field definitions: 422 naming what is wrong."""
    try:
        how = Match(match)
    except ValueError:
        raise _invalid("match", 'match must be "all" or "any".') from None
    if not conditions:
        raise _invalid("conditions", "A segment needs at least one condition.")
    if len(conditions) > MAX_CONDITIONS:
        raise _invalid("conditions", f"A segment may have at most {MAX_CONDITIONS} conditions.")
    kinds = {**{d.key: Kind(d.type) for d in definitions}, **BUILT_IN}
    return Definition(how, tuple(_condition(kinds, n, c) for n, c in enumerate(conditions, start=1)))


def _condition(kinds: Mapping[str, Kind], n: int, raw: Mapping[str, Any]) -> Condition:
    name, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    if not isinstance(name, str) or name not in kinds:
        custom = ", ".join(sorted(k for k in kinds if k not in BUILT_IN)) or "none"
        raise _invalid(str(name), f"Condition {n}: the list has no field {name!r} (its own fields: {custom}; and "
                                  f"{', '.join(BUILT_IN)}).", code="unknown_field")
    kind = kinds[name]
    if not isinstance(op, str) or op not in OPS[kind]:
        raise _invalid(name, f"Condition {n}: {op!r} does not fit the field {name!r}, which holds "
                             f"{_KIND_WORDS[kind]}; use one of {', '.join(OPS[kind])}.")
    if op in PRESENCE:
        if value is not None:
            raise _invalid(name, f"Condition {n} on {name!r}: {op} takes no value.")
        return Condition(name, op, None, kind)
    return Condition(name, op, _value(kind, name, n, op, value), kind)


_KIND_WORDS = {Kind.TEXT: "text", Kind.ADDRESS: "an email address", Kind.NUMBER: "a number",
               Kind.DATE: "a date", Kind.MOMENT: "a date and time", Kind.BOOLEAN: "true or false",
               Kind.STATUS: "a subscription status"}


def _value(kind: Kind, name: str, n: int, op: str, value: Any) -> Any:
    def wrong(expected: str) -> errors.Invalid:
        return _invalid(name, f"Condition {n} on {name!r}: {op} needs {expected}.")

    if op == "within_days":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
            raise wrong(f"a whole number of days from 1 to {MAX_DAYS}")
        return value
    if kind in (Kind.TEXT, Kind.ADDRESS):
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            raise wrong(f"a text of 1 to {MAX_TEXT} characters")
        return value.strip()
    if kind is Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise wrong("a number")
        return value
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if kind is Kind.STATUS:
        known = [s.value for s in SubscriberStatus]
        if value not in known:
            raise wrong(f"one of {', '.join(known)}")
        return value
    if kind is Kind.DATE:
        if not isinstance(value, str) or _day(value) is None:
            raise wrong("a date as YYYY-MM-DD")
        return value
    moment = _moment(value) if isinstance(value, str) else None
    if moment is None:
        raise wrong("a date (YYYY-MM-DD) or an ISO 8601 time such as 2030-01-31T09:00:00Z")
    return clock.iso(moment)


def _invalid(name: str, message: str, code: str = "invalid_segment") -> errors.Invalid:
    return errors.Invalid(message, code=code, details={"field": name})


# --- evaluating --------------------------------------------------------------------------------

def _value_of(name: str, subscriber: Subscriber, values: Mapping[str, Any], now: datetime) -> Any:
    if name == "email":
        return subscriber.email
    if name == "status":
        return subscriber.status
    if name == "subscribed_at":
        return subscriber.confirmed_at
    if name == "activity.score":
        return activity.score(activity.of(subscriber), now)
    if name == "activity.last_opened_at":
        return subscriber.last_opened_at
    if name == "activity.last_clicked_at":
        return subscriber.last_clicked_at
    return values.get(name)


def _comparable(kind: Kind, value: Any) -> Any:
    """The member's value in the form the kind compares, or None if it has none (or one of another type, as
    after the list changed the field's type)."""
    if value is None:
        return None
    if kind in (Kind.TEXT, Kind.ADDRESS, Kind.STATUS):
        return value.casefold() if isinstance(value, str) and value != "" else None
    if kind is Kind.NUMBER:
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind is Kind.BOOLEAN:
        return value if isinstance(value, bool) else None
    if kind is Kind.DATE:
        return _day(value) if isinstance(value, str) else None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _compare(kind: Kind, op: str, actual: Any, wanted: Any, now: datetime) -> bool:
    if op == "within_days":
        if kind is Kind.DATE:
            today = now.astimezone(UTC).date()
            return today - timedelta(days=wanted) <= actual <= today
        return now - timedelta(days=wanted) <= actual <= now
    if kind in (Kind.TEXT, Kind.ADDRESS, Kind.STATUS):
        wanted = wanted.casefold()
    elif kind is Kind.DATE:
        wanted = _day(wanted)
    elif kind is Kind.MOMENT:
        wanted = _moment(wanted)
    return _TESTS[op](actual, wanted)


_TESTS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "contains": lambda a, b: b in a,
    "not_contains": lambda a, b: b not in a,
    "starts_with": lambda a, b: a.startswith(b),
    "ends_with": lambda a, b: a.endswith(b),
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "before": lambda a, b: a < b,
    "after": lambda a, b: a > b,
}


def _day(raw: str) -> date | None:
    if not DATE_FORMAT.match(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _moment(raw: str) -> datetime | None:
    """A time from a condition: a bare date is its midnight UTC, a time without a zone is UTC."""
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
