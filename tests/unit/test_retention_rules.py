"""The retention rules that need no storage: when an unused account is warned and purged (R30), when a
closed account's grace is over, and that a purging account sends nothing."""
from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.models.accounts import Account
from chalicelib.services.campaigns.gate import account_refusal
from chalicelib.services.retention import rules
from chalicelib.services.retention.account_purge import CLOSED_GRACE, grace_over
from chalicelib.services.retention.inactivity import Step, inactivity_step
from chalicelib.services.retention.rules import Budget

LAST = datetime(2028, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(("days_idle", "warned_days_after_last", "step"), [
    (100, None, Step.NONE),
    (699, None, Step.NONE),
    (700, None, Step.WARN),          # 2 years less 30 days
    (720, 700, Step.WAIT),           # warned, the 2 years are not over
    (730, 710, Step.WAIT),           # 2 years, but warned only 20 days ago
    (740, 710, Step.PURGE),          # 2 years, and warned 30 days ago
    (900, 700, Step.PURGE),
    (900, None, Step.WARN),          # never warned: never purged without 30 days' notice
])
def test_an_unused_account_is_warned_30_days_before_the_2_years_and_purged_only_after_both(
        days_idle, warned_days_after_last, step):
    warned_at = LAST + warned_days_after_last * DAY if warned_days_after_last is not None else None

    assert inactivity_step(LAST, warned_at, LAST + days_idle * DAY) is step


def test_a_warning_older_than_the_last_sign_in_no_longer_counts():
    warned_before_the_sign_in = LAST - DAY

    assert inactivity_step(LAST, warned_before_the_sign_in, LAST + 740 * DAY) is Step.WARN
    assert inactivity_step(LAST, warned_before_the_sign_in, LAST + 100 * DAY) is Step.NONE


def test_a_closed_account_is_purged_at_its_purge_time_or_at_most_3_months_after_closing():
    closed = datetime(2030, 3, 1, tzinfo=UTC)
    named = Account("acc_1", closed_at=closed, purge_after=closed + 30 * DAY)
    unnamed = Account("acc_2", closed_at=closed)

    assert not grace_over(named, closed + 29 * DAY) and grace_over(named, closed + 30 * DAY)
    assert not grace_over(unnamed, closed + 30 * DAY) and grace_over(unnamed, closed + CLOSED_GRACE)
    assert timedelta(days=92) > CLOSED_GRACE


def test_an_account_being_purged_sends_nothing():
    refusal = account_refusal("purging")

    assert refusal is not None and refusal.code == "account_closed"


def test_the_budget_stops_before_the_invocation_ends():
    assert Budget(lambda: 10_000).left()
    assert not Budget(lambda: 1_500).left()


def test_a_run_publishes_its_counts_as_cloudwatch_metrics_and_never_an_address(capsys):
    outcome = rules.Outcome("purge_closed_accounts", Counter({"accounts": 2, "subscribers": 40}), done=False)

    rules.report(outcome)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [emf] = [line for line in lines if "_aws" in line]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "mailroom"
    assert emf["service"] == "retention.purge_closed_accounts"
    assert (emf["accounts"], emf["subscribers"], emf["unfinished"]) == ([2.0], [40.0], [1.0])
    assert "@" not in json.dumps(lines)
