"""Fixed-window rate limits, against an in-memory counter store."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import clock, errors
from chalicelib.models import throttles as store
from chalicelib.services.accounts import throttle

LIMIT = throttle.Limit("test", 3, timedelta(minutes=15))
START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def counters(monkeypatch):
    memory: dict[str, int] = {}

    def add_hit(key, expires_at):
        memory[key] = memory.get(key, 0) + 1
        return memory[key]

    monkeypatch.setattr(store, "hits", lambda key: memory.get(key, 0))
    monkeypatch.setattr(store, "add_hit", add_hit)
    monkeypatch.setattr(store, "forget", lambda key: memory.pop(key, None))
    return memory


@pytest.fixture
def at(monkeypatch):
    def travel(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    travel(START)
    return travel


def test_the_limit_is_reached_after_max_hits_and_says_when_to_retry(counters, at):
    for _ in range(3):
        throttle.check(LIMIT, "subject")
        throttle.hit(LIMIT, "subject")
    at(START + timedelta(minutes=5))

    with pytest.raises(errors.RateLimited) as limited:
        throttle.check(LIMIT, "subject")

    assert limited.value.retry_after == 10 * 60


def test_each_subject_has_its_own_count(counters, at):
    for _ in range(3):
        throttle.hit(LIMIT, "one")

    throttle.check(LIMIT, "two")


def test_a_new_window_starts_from_zero(counters, at):
    for _ in range(3):
        throttle.hit(LIMIT, "subject")
    at(START + timedelta(minutes=15))

    throttle.check(LIMIT, "subject")


def test_clearing_forgets_the_count(counters, at):
    for _ in range(3):
        throttle.hit(LIMIT, "subject")

    throttle.clear(LIMIT, "subject")

    throttle.check(LIMIT, "subject")


def test_counter_keys_never_contain_the_subject(counters, at):
    throttle.hit(LIMIT, "ada@example.com")

    [key] = counters
    assert "ada" not in key and "example" not in key


def test_no_subject_is_never_limited(counters, at):
    for _ in range(10):
        throttle.hit(LIMIT, None)
        throttle.check(LIMIT, None)
    assert counters == {}
