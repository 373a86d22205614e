"""The reputation guard's judgement: limits reached over enough reported emails, and the sentence it says."""
from __future__ import annotations

import pytest

from chalicelib.models.reputation import Counts
from chalicelib.services.feedback.reputation import Rate, breach, sentence, share


@pytest.mark.parametrize(("counts", "rate"), [
    (Counts(delivered=480, hard_bounces=20), Rate.HARD_BOUNCE),         # 20 of 500: 4% reached
    (Counts(delivered=481, hard_bounces=19), None),                     # 19 of 500: 3.8%
    (Counts(delivered=481, hard_bounces=19, complaints=1), Rate.COMPLAINT),   # 3.8%, but 1 of 500 complains: 0.2%
    (Counts(delivered=1250, complaints=1), Rate.COMPLAINT),             # 1 of 1,250: 0.08% reached
    (Counts(delivered=1251, complaints=1), None),                       # 0.0799%
    (Counts(delivered=400, hard_bounces=99), None),                     # 499 reported: too few to judge
    (Counts(delivered=400, soft_bounces=80, hard_bounces=20), Rate.HARD_BOUNCE),   # soft bounces are reported too
])
def test_a_limit_trips_once_reached_over_at_least_500_reported_emails(counts, rate):
    found = breach(counts)

    assert (found.rate if found else None) is rate


def test_the_sentence_names_the_rate_its_value_the_emails_and_the_limit():
    assert sentence(breach(Counts(delivered=1145, hard_bounces=55))) == (
        "Hard bounces were 4.58% of 1,200 emails reported over the last 7 days; sending pauses at 4%.")
    assert sentence(breach(Counts(delivered=1000, complaints=1))) == (
        "Complaints were 0.1% of 1,000 emails reported over the last 7 days; sending pauses at 0.08%.")


@pytest.mark.parametrize(("value", "shown"), [(0.046, "4.6%"), (0.04, "4%"), (0.0008, "0.08%"),
                                              (0.00125, "0.125%"), (0.12345, "12.35%")])
def test_shares_are_shown_without_trailing_zeros(value, shown):
    assert share(value) == shown
