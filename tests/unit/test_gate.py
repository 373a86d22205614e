"""The send gate's decision, branch by branch (R5, R8, R10, R11, R21, R34)."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.services.campaigns.gate import Facts, HoldReason, Outcome, decide
from chalicelib.services.campaigns.screening import Match

NOW = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
MATCH = Match("casino", "gambling", "subject")


def facts(**overrides) -> Facts:
    base = Facts(account_status="active", plan="free", now=NOW, recipients=10, from_domain="acme.example",
                 domain_verified=True, subscriber_count=10)
    return replace(base, **overrides)


def trial(**overrides) -> Facts:
    return facts(**{"plan": "trial", "trial_ends_at": NOW + timedelta(days=3), **overrides})


def monthly(**overrides) -> Facts:
    return facts(**{"plan": "monthly", "subscriber_level": 100, **overrides})


def payg(**overrides) -> Facts:
    return facts(**{"plan": "payg", "credits": 50, "credits_purchased_at": NOW - timedelta(days=30), **overrides})


def refused_with(decision) -> str:
    assert decision.outcome is Outcome.REFUSE
    assert decision.message
    return decision.code


@pytest.mark.parametrize(("status", "code"), [
    ("pending_review", "account_not_approved"),
    ("suspended", "account_suspended"),
    ("closed", "account_closed"),
])
def test_given_an_account_that_may_not_send_then_refused_with_its_reason(status, code):
    assert refused_with(decide(facts(account_status=status))) == code


def test_given_an_unverified_domain_then_refused_naming_the_domain():
    decision = decide(facts(domain_verified=False, from_domain="news.acme.example"))

    assert refused_with(decision) == "domain_not_verified"
    assert "news.acme.example" in decision.message


def test_given_no_subscribed_members_then_refused():
    assert refused_with(decide(facts(recipients=0))) == "no_recipients"


def test_given_a_trial_that_has_ended_then_refused():
    assert refused_with(decide(trial(trial_ends_at=NOW - timedelta(seconds=1)))) == "trial_expired"


def test_given_a_trial_send_that_would_pass_100_emails_then_refused_with_what_is_left():
    decision = decide(trial(recipients=11, used=90))

    assert refused_with(decision) == "trial_limit"
    assert "10 are left" in decision.message


def test_given_a_trial_send_within_100_emails_then_held_for_staff():
    decision = decide(trial(recipients=10, used=90))

    assert decision.outcome is Outcome.HOLD
    assert decision.holds == (HoldReason.TRIAL,)


def test_given_a_trial_campaign_staff_approved_then_it_goes():
    assert decide(trial(approved=True)).outcome is Outcome.GO


def test_given_more_subscribers_than_the_monthly_level_then_refused():
    assert refused_with(decide(monthly(subscriber_count=101))) == "subscriber_limit_exceeded"


def test_given_a_monthly_send_past_109_times_the_level_then_refused():
    assert refused_with(decide(monthly(used=10_900 - 9, recipients=10))) == "monthly_limit"


def test_given_a_monthly_send_that_exactly_fills_the_cap_then_it_goes():
    assert decide(monthly(used=10_900 - 10, recipients=10)).outcome is Outcome.GO


def test_given_too_few_credits_then_refused():
    assert refused_with(decide(payg(credits=9, recipients=10))) == "insufficient_credits"


def test_given_credits_bought_over_a_year_ago_then_refused_as_expired():
    decision = decide(payg(credits_purchased_at=NOW - timedelta(days=366)))

    assert refused_with(decision) == "insufficient_credits"
    assert "expired" in decision.message


def test_given_enough_valid_credits_then_it_goes():
    assert decide(payg(credits=10, recipients=10)).outcome is Outcome.GO


def test_given_the_free_plan_then_no_email_cap_applies():
    assert decide(facts(recipients=1_000_000, used=10**9)).outcome is Outcome.GO


def test_given_screen_matches_then_held_with_the_matches():
    decision = decide(facts(matches=(MATCH,)))

    assert decision.outcome is Outcome.HOLD
    assert decision.holds == (HoldReason.CONTENT,)
    assert decision.matches == (MATCH,)


def test_given_a_trial_with_matches_then_held_for_both_reasons():
    assert decide(trial(matches=(MATCH,))).holds == (HoldReason.TRIAL, HoldReason.CONTENT)


def test_given_a_refusal_and_a_hold_then_the_refusal_wins():
    assert decide(facts(account_status="suspended", matches=(MATCH,))).outcome is Outcome.REFUSE


HOLD = "Hard bounces were 4.6% of 1,200 emails reported over the last 7 days; sending pauses at 4%."


def test_an_account_on_reputation_hold_is_refused_with_the_rate_its_value_and_the_limit():
    decision = decide(facts(hold=HOLD, approved=True))

    assert refused_with(decision) == "reputation_hold"
    assert HOLD in decision.message


def test_a_suspension_is_named_before_a_reputation_hold():
    assert refused_with(decide(facts(account_status="suspended", hold=HOLD))) == "account_suspended"
