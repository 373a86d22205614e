"""The activity score (R26) at its boundaries: no data, nothing opened, everything engaged, decay, bad counters."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.services.audience.activity import HALF_LIFE, Activity, score

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_a_subscriber_who_received_nothing_yet_has_no_score():
    assert score(Activity(), NOW) is None


def test_a_subscriber_who_never_opened_scores_zero():
    assert score(Activity(received=12), NOW) == 0


def test_opening_and_clicking_everything_just_now_scores_100():
    assert score(Activity(received=5, opened=5, clicked=5, last_activity_at=NOW), NOW) == 100


def test_clicks_weigh_more_than_opens():
    reader = score(Activity(received=10, opened=5, last_activity_at=NOW), NOW)
    clicker = score(Activity(received=10, opened=5, clicked=5, last_activity_at=NOW), NOW)
    assert (reader, clicker) == (20, 50)
    assert score(Activity(received=10, opened=10, last_activity_at=NOW), NOW) == 40


@pytest.mark.parametrize("idle, expected", [
    (timedelta(0), 100),
    (HALF_LIFE, 50),
    (2 * HALF_LIFE, 25),
    (timedelta(days=3650), 0),
])
def test_the_score_halves_with_every_half_life_since_the_last_open_or_click(idle, expected):
    assert score(Activity(received=4, opened=4, clicked=4, last_activity_at=NOW - idle), NOW) == expected


def test_an_open_counted_before_its_delivery_event_is_not_more_than_everything():
    # the Delivery event may come after the open, or never: what was opened was received
    assert score(Activity(received=0, opened=1, clicked=1, last_activity_at=NOW), NOW) == 100
    assert score(Activity(received=1, opened=3, last_activity_at=NOW), NOW) == 40


def test_a_last_activity_ahead_of_our_clock_does_not_raise_the_score():
    ahead = NOW + timedelta(minutes=5)
    assert score(Activity(received=2, opened=1, clicked=1, last_activity_at=ahead), NOW) == 50


def test_the_score_stays_within_0_and_100():
    for received in range(6):
        for opened in range(6):
            for clicked in range(opened + 1):
                value = score(Activity(received, opened, clicked, NOW - timedelta(days=opened)), NOW)
                assert value is None or 0 <= value <= 100
