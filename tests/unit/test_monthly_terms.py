"""R10's monthly terms (002 Payments 1): Pay Dates fall on the day of the month the plan started, or the closest
day a shorter month has; a lower level is possible only on a Pay Date."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.services.accounts import plans


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("start, months, expected", [
    ("2027-01-31T10:00", 1, "2027-02-28T10:00"),
    ("2028-01-31T10:00", 1, "2028-02-29T10:00"),   # a leap year
    ("2027-01-31T10:00", 2, "2027-03-31T10:00"),   # counted from the start, not from the short month
    ("2027-11-15T00:00", 3, "2028-02-15T00:00"),   # across a year's end
])
def test_pay_dates_keep_the_day_of_the_month_or_the_closest_one(start, months, expected):
    assert plans.months_after(at(start), months) == at(expected)


@pytest.mark.parametrize("now, term_began", [
    ("2027-01-31T10:00", "2027-01-31T10:00"),
    ("2027-02-28T09:59", "2027-01-31T10:00"),   # a minute before the Pay Date: still the first term
    ("2027-02-28T10:00", "2027-02-28T10:00"),
    ("2027-03-30T23:00", "2027-02-28T10:00"),
    ("2028-01-31T10:00", "2028-01-31T10:00"),
])
def test_the_running_term_began_on_the_last_pay_date(now, term_began):
    assert plans.term_start(at("2027-01-31T10:00"), at(now)) == at(term_began)


def test_a_lower_level_is_possible_on_a_pay_date_and_otherwise_from_the_next_one():
    since = at("2027-01-31T10:00")
    # On the plan's first day (a level set by mistake can be put right) and on each Pay Date
    assert plans.lower_level_possible_from(since, since + timedelta(hours=3)) is None
    assert plans.lower_level_possible_from(since, at("2027-02-28T10:00")) is None
    assert plans.lower_level_possible_from(since, at("2027-03-01T09:59")) is None
    # A day into a term: not until the next Pay Date
    assert plans.lower_level_possible_from(since, at("2027-02-01T10:00")) == at("2027-02-28T10:00")
    assert plans.lower_level_possible_from(since, at("2027-03-01T10:00")) == at("2027-03-31T10:00")
    # No term known (a monthly plan set before terms were recorded): no term to wait for
    assert plans.lower_level_possible_from(None, at("2027-03-01T10:00")) is None
