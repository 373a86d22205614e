"""Segment conditions checked against the fields' types and evaluated on member items, with no I/O: every op on
every type it fits, missing and mistyped values, case, time zones and the edges of a range."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import errors
from chalicelib.models.subscribers import Subscriber
from chalicelib.services.audience import segments
from chalicelib.services.audience.segments import MAX_CONDITIONS, OPS, Definition, Kind, parse

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


@dataclass
class Field:
    key: str
    label: str
    type: str


LIST_FIELDS = [Field("city", "City", "text"), Field("age", "Age", "number"), Field("vip", "VIP", "boolean"),
               Field("renewal", "Renewal", "date")]


def member(email: str = "ann@example.org", status: str = "subscribed", **values) -> Subscriber:
    at = {k: values.pop(k) for k in ("confirmed_at", "last_opened_at", "last_clicked_at", "received", "opened",
                                     "clicked", "last_activity_at") if k in values}
    return Subscriber("acc#lst", "sub_1", account_id="acc", list_id="lst", email=email, email_key="k",
                      status=status, list_status=f"acc#lst#{status}", fields=values, consent={},
                      created_at="2026-01-01T00:00:00Z", updated_at=NOW, **at)


def segment(*conditions: dict, match: str = "all") -> Definition:
    return parse(LIST_FIELDS, match, list(conditions))


def holds(condition: dict, subscriber: Subscriber, now: datetime = NOW) -> bool:
    definition = segment(condition)
    assert Definition.from_json(definition.to_json()) == definition   # a campaign's copy evaluates the same
    return definition.matches(subscriber, now)


# --- text: case-insensitive, and a missing value matches only the negative ops ---------------------

@pytest.mark.parametrize("op, value, expected", [
    ("eq", "berlin", True), ("eq", "Bern", False), ("ne", "BERLIN", False), ("ne", "Paris", True),
    ("contains", "ERL", True), ("contains", "x", False), ("not_contains", "erl", False), ("not_contains", "x", True),
    ("starts_with", "be", True), ("starts_with", "lin", False), ("ends_with", "LIN", True), ("ends_with", "be", False),
    ("is_set", None, True), ("not_set", None, False),
])
def test_text_ops_ignore_case(op, value, expected):
    condition = {"field": "city", "op": op, **({} if value is None else {"value": value})}
    assert holds(condition, member(city="Berlin")) is expected


@pytest.mark.parametrize("op, value, expected", [
    ("eq", "Berlin", False), ("ne", "Berlin", True), ("contains", "B", False), ("not_contains", "B", True),
    ("starts_with", "B", False), ("ends_with", "n", False), ("is_set", None, False), ("not_set", None, True),
])
def test_a_member_without_the_field_matches_only_the_negative_ops(op, value, expected):
    condition = {"field": "city", "op": op, **({} if value is None else {"value": value})}
    assert holds(condition, member()) is expected
    assert holds(condition, member(city="")) is expected   # an empty text is no value


def test_the_address_compares_without_regard_to_case():
    assert holds({"field": "email", "op": "ends_with", "value": "@EXAMPLE.org"}, member("ann@example.org"))
    assert holds({"field": "email", "op": "eq", "value": "Ann@Example.org"}, member("ann@example.org"))
    assert not holds({"field": "email", "op": "starts_with", "value": "bob"}, member("ann@example.org"))


# --- numbers and the activity score --------------------------------------------------------------

@pytest.mark.parametrize("op, value, expected", [
    ("eq", 30, True), ("eq", 30.0, True), ("ne", 30, False), ("gt", 30, False), ("gt", 29.5, True),
    ("gte", 30, True), ("lt", 30, False), ("lt", 31, True), ("lte", 30, True), ("lte", 29, False),
])
def test_number_ops(op, value, expected):
    assert holds({"field": "age", "op": op, "value": value}, member(age=30)) is expected


def test_a_value_of_another_type_counts_as_none_as_after_the_list_changed_the_fields_type():
    assert not holds({"field": "age", "op": "gt", "value": 1}, member(age="thirty"))
    assert holds({"field": "age", "op": "not_set"}, member(age=True))
    assert not holds({"field": "city", "op": "eq", "value": "5"}, member(city=5))


def test_the_activity_score_is_computed_from_the_counters_on_the_item():
    engaged = member(received=4, opened=4, clicked=4, last_activity_at=NOW)
    lapsed = member(received=4, opened=0)
    new = member()
    condition = {"field": "activity.score", "op": "gte", "value": 50}
    assert [holds(condition, m) for m in (engaged, lapsed, new)] == [True, False, False]
    assert holds({"field": "activity.score", "op": "not_set"}, new)   # nothing to judge yet: no score
    assert holds({"field": "activity.score", "op": "lt", "value": 1}, lapsed)


# --- booleans, statuses --------------------------------------------------------------------------

@pytest.mark.parametrize("op, value, vip, expected", [
    ("eq", True, True, True), ("eq", True, False, False), ("eq", False, False, True),
    ("ne", True, False, True), ("ne", True, None, True), ("eq", False, None, False),
])
def test_boolean_ops(op, value, vip, expected):
    values = {} if vip is None else {"vip": vip}
    assert holds({"field": "vip", "op": op, "value": value}, member(**values)) is expected


def test_status_ops():
    assert holds({"field": "status", "op": "eq", "value": "subscribed"}, member(status="subscribed"))
    assert holds({"field": "status", "op": "ne", "value": "subscribed"}, member(status="unsubscribed"))
    assert not holds({"field": "status", "op": "eq", "value": "pending"}, member(status="subscribed"))


# --- dates and times: time zones, and the edges of within_days -----------------------------------

@pytest.mark.parametrize("op, value, expected", [
    ("eq", "2026-04-01", True), ("ne", "2026-04-01", False), ("before", "2026-04-02", True),
    ("before", "2026-04-01", False), ("after", "2026-03-31", True), ("after", "2026-04-01", False),
])
def test_date_field_ops(op, value, expected):
    assert holds({"field": "renewal", "op": op, "value": value}, member(renewal="2026-04-01")) is expected


@pytest.mark.parametrize("renewal, expected", [
    ("2026-03-15", True), ("2026-03-08", True), ("2026-03-07", False), ("2026-03-16", False)])
def test_a_date_within_days_counts_today_and_the_days_before_it(renewal, expected):
    assert holds({"field": "renewal", "op": "within_days", "value": 7}, member(renewal=renewal)) is expected


@pytest.mark.parametrize("value, expected", [
    ("2026-03-01T10:00:00+02:00", False),   # 08:00 UTC: exactly when they subscribed, so not before it
    ("2026-03-01T10:00:01+02:00", True),
    ("2026-03-01T08:00:01", True),          # no zone: UTC
    ("2026-03-01T08:00:01Z", True),
    ("2026-03-02", True),                   # a bare date: its midnight UTC
    ("2026-03-01", False),
])
def test_times_compare_in_utc_whatever_zone_the_condition_names(value, expected):
    subscribed = member(confirmed_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    assert holds({"field": "subscribed_at", "op": "before", "value": value}, subscribed) is expected


@pytest.mark.parametrize("field", ["activity.last_opened_at", "activity.last_clicked_at", "subscribed_at"])
def test_recorded_times_within_days_and_never_set(field):
    attribute = {"activity.last_opened_at": "last_opened_at", "activity.last_clicked_at": "last_clicked_at",
                 "subscribed_at": "confirmed_at"}[field]
    recent = member(**{attribute: NOW - timedelta(days=30)})
    older = member(**{attribute: NOW - timedelta(days=30, seconds=1)})
    never = member()
    within = {"field": field, "op": "within_days", "value": 30}
    assert [holds(within, m) for m in (recent, older, never)] == [True, False, False]
    assert [holds({"field": field, "op": "not_set"}, m) for m in (recent, never)] == [False, True]
    assert holds({"field": field, "op": "after", "value": "2026-01-01"}, recent)


# --- all or any ----------------------------------------------------------------------------------

def test_all_needs_every_condition_and_any_one():
    conditions = ({"field": "city", "op": "eq", "value": "Berlin"}, {"field": "age", "op": "gte", "value": 18})
    young_berliner, adult_parisian, adult_berliner = (member(city="Berlin", age=16), member(city="Paris", age=40),
                                                      member(city="berlin", age=18))
    everything, anything = segment(*conditions), segment(*conditions, match="any")
    assert [everything.matches(m, NOW) for m in (young_berliner, adult_parisian, adult_berliner)] == [
        False, False, True]
    assert [anything.matches(m, NOW) for m in (young_berliner, adult_parisian, member())] == [True, True, False]


def test_a_saved_segment_matches_a_member_item_as_read():
    saved = segments.Segment("seg_1", "lst", "Berlin", segment({"field": "city", "op": "eq", "value": "Berlin"}),
                             NOW, NOW)
    assert saved.matches(member(city="BERLIN"), NOW) and not saved.matches(member(city="Bonn"), NOW)


# --- checking: every op that does not fit its field's type is refused, naming the field -----------

FIELD_OF_KIND = {Kind.TEXT: "city", Kind.NUMBER: "age", Kind.BOOLEAN: "vip", Kind.DATE: "renewal",
                 Kind.MOMENT: "subscribed_at", Kind.STATUS: "status", Kind.ADDRESS: "email"}
ALL_OPS = sorted({op for ops in OPS.values() for op in ops})


@pytest.mark.parametrize("kind", list(FIELD_OF_KIND))
def test_each_op_is_refused_on_a_type_it_does_not_fit(kind):
    field = FIELD_OF_KIND[kind]
    for op in ALL_OPS:
        if op in OPS[kind]:
            continue
        with pytest.raises(errors.Invalid) as refused:
            segment({"field": field, "op": op, "value": 1})
        assert refused.value.details == {"field": field} and op in refused.value.message


def test_too_many_conditions_and_an_unknown_field_are_refused():
    with pytest.raises(errors.Invalid, match=f"at most {MAX_CONDITIONS}"):
        segment(*[{"field": "age", "op": "gt", "value": n} for n in range(MAX_CONDITIONS + 1)])
    with pytest.raises(errors.Invalid) as unknown:
        segment({"field": "activity.opened", "op": "gt", "value": 1})
    assert unknown.value.code == "unknown_field" and unknown.value.details == {"field": "activity.opened"}
