"""R10 on the monthly plan: the subscriber level can be raised at any time and lowered only at the end of the
monthly term (on a Pay Date); a lower level asked for mid-term is 422 with the date it becomes possible."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib import clock
from chalicelib.models import accounts as account_store
from chalicelib.services.accounts import plans
from tests.integration.conftest import api_call, sign_in

DAY = timedelta(days=1)


def until(moment: datetime) -> timedelta:
    """What `travel` takes to make the clock read `moment` (its delta is from the real time)."""
    return moment - datetime.now(UTC)


def set_plan(client, staff, person, **body):
    return api_call(client, "PATCH", f"/v1/admin/accounts/{person.account_id}/plan", body, headers=staff.headers)


def account_of(client, person) -> dict:
    return api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]


def test_mid_term_a_level_goes_up_at_once_but_not_down_and_the_refusal_says_when(client, staff, tenant, travel):
    # Given a customer who went monthly at level 1000 ten days ago
    person = tenant(plan="monthly", subscriber_level=1000)
    since = account_store.get(person.account_id).monthly_since
    travel(10 * DAY)

    # When staff raise the level, and then ask to lower it, and to leave the monthly plan
    raised = set_plan(client, staff, person, plan="monthly", subscriber_level=5000)
    lowered = set_plan(client, staff, person, plan="monthly", subscriber_level=2000)
    left = set_plan(client, staff, person, plan="free")

    person.token = sign_in(client, person.email, person.password)   # ten days on: a new session
    # Then the raise holds; the two others are 422 with the next Pay Date, in the message and a field
    assert raised.status_code == 200 and raised.json_body["account"]["subscriber_level"] == 5000
    pay_date = plans.months_after(since, 1)
    for refused in (lowered, left):
        assert refused.status_code == 422, refused.json_body
        error = refused.json_body["error"]
        assert error["code"] == "lower_level_mid_term"
        assert error["possible_from"] == clock.iso(pay_date)
        assert f"{pay_date:%-d %B %Y}" in error["message"]
    shown = account_of(client, person)
    assert (shown["plan"], shown["subscriber_level"]) == ("monthly", 5000)
    # and the refusals are on the account's audit trail like every staff change
    refusals = [r for r in api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]
                if r["operation"] == "change_plan" and r["result"] == "refused"]
    assert len(refusals) == 2


def test_on_the_pay_date_the_level_can_be_lowered_and_the_term_keeps_its_day(client, staff, tenant, travel):
    # Given a monthly customer at level 5000, on the Pay Date a month after the start
    person = tenant(plan="monthly", subscriber_level=5000)
    since = account_store.get(person.account_id).monthly_since
    travel(until(plans.months_after(since, 1)) + timedelta(hours=2))

    # When staff lower the level
    lowered = set_plan(client, staff, person, plan="monthly", subscriber_level=1000)

    # Then it is done, and the terms still run from the plan's start (the next Pay Date is two months after it)
    assert lowered.status_code == 200 and lowered.json_body["account"]["subscriber_level"] == 1000
    assert account_store.get(person.account_id).monthly_since == since
    travel(until(plans.months_after(since, 1)) + 3 * DAY)
    again = set_plan(client, staff, person, plan="monthly", subscriber_level=500)
    assert again.json_body["error"]["possible_from"] == clock.iso(plans.months_after(since, 2))


def test_a_day_before_the_pay_date_the_level_still_cannot_be_lowered(client, staff, tenant, travel):
    person = tenant(plan="monthly", subscriber_level=5000)
    since = account_store.get(person.account_id).monthly_since
    travel(until(plans.months_after(since, 1)) - timedelta(hours=1))

    assert set_plan(client, staff, person, plan="monthly", subscriber_level=1000).status_code == 422


def test_leaving_the_monthly_plan_and_coming_back_starts_a_new_term(client, staff, tenant, travel):
    # Given a customer who left the monthly plan on a Pay Date
    person = tenant(plan="monthly", subscriber_level=5000)
    since = account_store.get(person.account_id).monthly_since
    travel(until(plans.months_after(since, 1)) + timedelta(hours=1))
    assert set_plan(client, staff, person, plan="payg", credits=100).status_code == 200
    assert account_store.get(person.account_id).monthly_since is None

    # When they come back to it ten days later, and staff lower the level two days after that
    travel(until(plans.months_after(since, 1)) + 10 * DAY)
    back = set_plan(client, staff, person, plan="monthly", subscriber_level=2000)
    travel(until(plans.months_after(since, 1)) + 12 * DAY)
    lowered = set_plan(client, staff, person, plan="monthly", subscriber_level=1000)

    # Then the new term runs from the day they came back
    assert back.status_code == 200
    restart = account_store.get(person.account_id).monthly_since
    assert lowered.status_code == 422
    assert lowered.json_body["error"]["possible_from"] == clock.iso(plans.months_after(restart, 1))
