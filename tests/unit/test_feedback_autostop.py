"""The auto-stop rule (R22): hard bounces reaching 8%, complaints over 0.5% or unsubscribes over 1% of the
emails SES reported on (of those sent, before any report), judged from 100 on, and counted from the last
resume after a stop."""
from __future__ import annotations

import pytest

from chalicelib.models.campaigns import Campaign
from chalicelib.services.feedback.autostop import MIN_SENT, Breach, Rate, Sample, breach, sample_of


def test_below_one_hundred_sent_nothing_stops_a_campaign_however_bad():
    assert MIN_SENT == 100
    assert breach(Sample(sent=99, hard_bounces=99, complaints=99, unsubscribes=99)) is None
    assert breach(Sample(sent=0)) is None


def test_from_one_hundred_sent_the_rates_are_judged():
    assert breach(Sample(sent=100, hard_bounces=8)) == Breach(Rate.HARD_BOUNCE, 0.08, 0.08)


@pytest.mark.parametrize(("sample", "expected"), [
    # hard bounces: reaching 8% is enough
    (Sample(sent=100, hard_bounces=7), None),
    (Sample(sent=100, hard_bounces=8), Breach(Rate.HARD_BOUNCE, 0.08, 0.08)),
    (Sample(sent=1000, hard_bounces=79), None),
    (Sample(sent=1000, hard_bounces=80), Breach(Rate.HARD_BOUNCE, 0.08, 0.08)),
    (Sample(sent=1000, hard_bounces=81), Breach(Rate.HARD_BOUNCE, 0.081, 0.08)),
    # complaints: exactly 0.5% is allowed, more is not
    (Sample(sent=200, complaints=1), None),
    (Sample(sent=1000, complaints=5), None),
    (Sample(sent=1000, complaints=6), Breach(Rate.COMPLAINT, 0.006, 0.005)),
    (Sample(sent=200, complaints=2), Breach(Rate.COMPLAINT, 0.01, 0.005)),
    # unsubscribes: exactly 1% is allowed, more is not
    (Sample(sent=100, unsubscribes=1), None),
    (Sample(sent=1000, unsubscribes=10), None),
    (Sample(sent=1000, unsubscribes=11), Breach(Rate.UNSUBSCRIBE, 0.011, 0.01)),
    (Sample(sent=100, unsubscribes=2), Breach(Rate.UNSUBSCRIBE, 0.02, 0.01)),
])
def test_each_limit_at_and_around_its_boundary(sample, expected):
    assert breach(sample) == expected


def test_when_several_limits_break_the_hard_bounce_rate_is_named_first_then_complaints():
    assert breach(Sample(sent=100, hard_bounces=9, complaints=3, unsubscribes=5)).rate is Rate.HARD_BOUNCE
    assert breach(Sample(sent=100, complaints=3, unsubscribes=5)).rate is Rate.COMPLAINT


def test_after_a_resume_the_sample_counts_only_what_was_sent_and_happened_since():
    campaign = Campaign("acc_1", "cmp_1", sent_count=130, hard_bounce_count=12, complaint_count=1,
                        unsubscribe_count=2, delivered_count=110, soft_bounce_count=3, rejected_count=1,
                        baseline_sent=100, baseline_hard_bounces=10, baseline_complaints=1, baseline_unsubscribes=0,
                        baseline_delivered=88, baseline_soft_bounces=2, baseline_rejected=0)

    sample = sample_of(campaign)

    assert sample == Sample(sent=30, settled=22 + 2 + 1 + 1, hard_bounces=2, complaints=0, unsubscribes=2)
    assert breach(sample) is None   # 30 since the resume: too few to judge, whatever the old bounces were


def test_a_campaign_never_stopped_is_judged_on_everything_it_sent():
    campaign = Campaign("acc_1", "cmp_1", sent_count=150, hard_bounce_count=12, delivered_count=138)

    assert sample_of(campaign) == Sample(sent=150, settled=150, hard_bounces=12)
    assert breach(sample_of(campaign)) == Breach(Rate.HARD_BOUNCE, 0.08, 0.08)


def test_rates_are_over_the_emails_ses_reported_on_so_emails_still_on_their_way_do_not_dilute_them():
    # 150 sent, SES has reported on the first 100, of which 10 bounced: 10%, not 10 of 150 (6.7%)
    assert breach(Sample(sent=150, settled=100, hard_bounces=10)) == Breach(Rate.HARD_BOUNCE, 0.1, 0.08)
    # and fewer than 100 reported on is too few to judge, however many were sent
    assert breach(Sample(sent=1000, settled=99, hard_bounces=50)) is None


def test_before_ses_reported_on_any_email_the_rates_are_over_the_emails_sent():
    assert Sample(sent=120).judged == 120
    assert breach(Sample(sent=100, unsubscribes=2)) == Breach(Rate.UNSUBSCRIBE, 0.02, 0.01)
