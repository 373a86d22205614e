"""The marks that make an SES event count once on its subscriber: found while they are kept, kept 30 days and at
most 32 of them, so a subscriber item stays small however many campaigns it receives."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.models import feedback_counts
from chalicelib.models.feedback_counts import (
    MARK_DAYS,
    MAX_MARKS,
    _marks_after,
    mark,
    marked,
)
from chalicelib.models.subscribers import Subscriber

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def member(marks: list[str] | None = None) -> Subscriber:
    return Subscriber("acc_1#lst_1", "sub_1", feedback_marks=marks)


def test_an_event_marked_on_a_subscriber_is_found_and_another_is_not():
    # Given a subscriber on whom one delivery was counted today
    marks = _marks_after(member(), ["cmp_1#delivery#0100-a#key"], NOW)

    # Then that event reads as counted, and the next campaign's delivery does not
    assert marked(member(marks), "cmp_1#delivery#0100-a#key")
    assert not marked(member(marks), "cmp_2#delivery#0100-b#key")
    assert not marked(member(), "cmp_1#delivery#0100-a#key")


def test_marks_older_than_the_window_go_and_only_the_newest_are_kept():
    # Given marks written 31 days ago and yesterday
    old = _marks_after(member(), ["cmp_old#delivery#1#k"], NOW - timedelta(days=MARK_DAYS + 1))
    recent = _marks_after(member(old), ["cmp_recent#delivery#2#k"], NOW - timedelta(days=1))

    # When one more event is counted today
    marks = _marks_after(member(recent), ["cmp_today#delivery#3#k"], NOW)

    # Then the old one is gone and the others stay
    assert not marked(member(marks), "cmp_old#delivery#1#k")
    assert marked(member(marks), "cmp_recent#delivery#2#k") and marked(member(marks), "cmp_today#delivery#3#k")

    # And however many events come in a day, a subscriber keeps at most MAX_MARKS, the newest
    many = _marks_after(member(), [f"cmp_{n}#delivery#{n}#k" for n in range(MAX_MARKS + 5)], NOW)
    assert len(many) == MAX_MARKS
    assert marked(member(many), f"cmp_{MAX_MARKS + 4}#delivery#{MAX_MARKS + 4}#k")
    assert not marked(member(many), "cmp_0#delivery#0#k")
    assert len(mark("x")) == feedback_counts.HASH_CHARS
