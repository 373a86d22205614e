"""The account reputation guard, driven by real-shaped SES events through the feedback consumer: per-day counts
kept once, a hold at 4% hard bounces or 0.08% complaints over 7 days and 500 reported emails, every send path
refused while it lasts, the owner told once, staff see it and release it (audited), and the service-wide
daily rates published as metrics."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.models import reputation as store
from chalicelib.models.reputation import Counts
from tests.integration.campaign_sending import drain, make_pump, start_sending
from tests.integration.campaigning import add_domain
from tests.integration.conftest import api_call
from tests.integration.feedback_events import NOTHING_FAILED, Sent, event, feed, sent_to
from tests.integration.mailbox import messages_to, text_of
from tests.integration.test_feedback_auto_stop import bulk_list, started_a_while_ago
from tests.integration.test_sending_halts import seed_history
from tests.integration.test_subscriber_limits import atomic_moto  # noqa: F401 - fixture

HOLD_SUBJECT = "Sending from your mailroom account is paused"


def sent_campaign(client, person, recipients: int) -> Sent:
    """A campaign of `recipients` really sent by the fan-out and sender."""
    list_id = bulk_list(client, person, recipients)
    campaign_id = start_sending(person, list_id, recipients=recipients)
    started_a_while_ago(person, campaign_id)
    drain(make_pump())
    return Sent(person, list_id, campaign_id, sent_to(person, list_id, campaign_id))


def today(account_id: str) -> Counts:
    day = store.day_of(clock.now())
    return store.of_days(account_id, [day]).get(day, Counts())


def hold_notices(person) -> list:
    return [m for m in messages_to(person.email) if HOLD_SUBJECT in str(m["Subject"])]


def draft(client, person, list_id: str) -> str:
    made = api_call(client, "POST", "/v1/campaigns", {"list_id": list_id, "name": "Next", "subject": "Next",
                                                      "html": "<p>Next</p>"}, headers=person.headers)
    assert made.status_code == 201, made.json_body
    return made.json_body["campaign"]["id"]


def refusal(answer) -> tuple[int, str, str]:
    return answer.status_code, answer.json_body["error"]["code"], answer.json_body["error"]["message"]


def test_hard_bounces_reaching_4_percent_of_500_reported_put_the_account_on_hold_until_staff_release_it(
        client, tenant, staff):
    # Given an account whose last days reported 1,136 emails with 36 hard bounces (3.2%), and a campaign of 40
    # whose last 28 emails SES reported delivered
    person = tenant()
    add_domain(client, person)
    seed_history(person.account_id, delivered=1100, hard_bounces=36, days_ago=3)
    sent = sent_campaign(client, person, 40)
    assert feed(client, *(event(sent, "delivery", r) for r in sent.recipients[12:22]))[0] == NOTHING_FAILED
    feed(client, *(event(sent, "delivery", r) for r in sent.recipients[22:]))

    # When 10 of the others hard-bounce (46 of 1,174: 3.9%), nothing is held
    feed(client, *(event(sent, "bounce_permanent", r) for r in sent.recipients[:10]))
    assert today(person.account_id) == Counts(delivered=28, hard_bounces=10)
    assert api_call(client, "GET", "/v1/account", headers=person.headers).status_code == 200
    next_campaign = draft(client, person, sent.list_id)

    # and when the 11th does (47 of 1,175: 4% exactly), the account goes on hold and its owner gets one email
    eleventh = event(sent, "bounce_permanent", sent.recipients[10])
    assert feed(client, eleventh)[0] == NOTHING_FAILED
    feed(client, eleventh)   # redelivered: counted once, told once
    assert today(person.account_id) == Counts(delivered=28, hard_bounces=11)
    sentence = "Hard bounces were 4% of 1,175 emails reported over the last 7 days; sending pauses at 4%."
    [notice] = hold_notices(person)
    assert sentence in text_of(notice) and "resume" in text_of(notice)

    # Then every send path refuses with 422 reputation_hold and the sentence: send, test copies
    sending = api_call(client, "POST", f"/v1/campaigns/{next_campaign}/send", {}, headers=person.headers)
    code, reason, message = refusal(sending)
    assert (code, reason) == (422, "reputation_hold") and sentence in message
    next_month = clock.iso(clock.now() + timedelta(days=30))
    later = api_call(client, "POST", f"/v1/campaigns/{next_campaign}/send", {"scheduled_at": next_month},
                     headers=person.headers)
    assert refusal(later)[:2] == (422, "reputation_hold")
    copies = api_call(client, "POST", f"/v1/campaigns/{next_campaign}/test", {"emails": [person.email]},
                      headers=person.headers)
    assert refusal(copies)[:2] == (422, "reputation_hold")

    # And staff see the account with its figures among the reviews
    reviews = api_call(client, "GET", "/v1/admin/reviews", headers=staff.headers)
    [held] = [h for h in reviews.json_body["accounts_on_hold"] if h["account_id"] == person.account_id]
    assert held["rate"] == "hard_bounce" and held["value"] == 0.04 and held["limit"] == 0.04
    assert held["reported"] == 1175 and held["hard_bounces"] == 47 and held["message"] == sentence
    assert held["held_at"].endswith("Z") and held["owner_notified_at"].endswith("Z")

    # When staff release it, the release is audited, a second release is a conflict, and it sends again
    released = api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/release", headers=staff.headers)
    assert released.status_code == 200 and released.json_body["account"]["reputation_hold"] is None
    again = api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/release", headers=staff.headers)
    assert refusal(again)[:2] == (409, "not_on_hold")
    trail = api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]
    assert [r["operation"] for r in trail if r["action"] == "staff_access"][:2] == ["release", "release"]
    assert [r["result"] for r in trail if r["action"] == "staff_access"][:2] == ["refused", "ok"]
    after = api_call(client, "POST", f"/v1/campaigns/{next_campaign}/send", {}, headers=person.headers)
    assert after.status_code in (200, 202), after.json_body
    assert after.json_body["campaign"]["status"] in ("in_review", "sending")   # a trial's campaign waits for staff

    # And the guard judges only what comes after the release: one more bounce today does not trip it again
    feed(client, event(sent, "bounce_permanent", sent.recipients[11]))
    assert api_call(client, "GET", "/v1/admin/reviews", headers=staff.headers).json_body["accounts_on_hold"] == []
    assert len(hold_notices(person)) == 1


@pytest.mark.parametrize("history, reaction, held", [
    (Counts(delivered=1240), "complaint", True),     # 1 of 1,250: 0.08%
    (Counts(delivered=1241), "complaint", False),    # 1 of 1,251: 0.0799%
    (Counts(delivered=400, hard_bounces=80), "bounce_permanent", False),   # too few reported to judge: 490
])
def test_complaints_reaching_0_08_percent_hold_an_account_and_nothing_is_judged_below_500_reported(
        client, tenant, staff, history, reaction, held):
    # Given an account with this history and a campaign of 10, all reported delivered
    person = tenant()
    seed_history(person.account_id, **{k: v for k, v in history.as_dict().items() if v})
    sent = sent_campaign(client, person, 10)
    feed(client, *(event(sent, "delivery", r) for r in sent.recipients))

    # When one recipient complains (or hard-bounces)
    assert feed(client, event(sent, reaction, sent.recipients[0]))[0] == NOTHING_FAILED

    # Then the account is on hold exactly when the rate reaches the limit over at least 500 reported emails
    shown = api_call(client, "GET", f"/v1/admin/accounts/{person.account_id}", headers=staff.headers)
    hold = shown.json_body["account"]["reputation_hold"]
    assert (hold is not None) is held
    if held:
        assert hold["sentence"] == ("Complaints were 0.08% of 1,250 emails reported over the last 7 days; sending "
                                    "pauses at 0.08%.")
        assert len(hold_notices(person)) == 1


def test_two_consumers_tripping_the_guard_at_once_hold_the_account_once_and_tell_its_owner_once(
        client, tenant, atomic_moto):  # noqa: F811
    # Given an account at 39 hard bounces of 1,000 reported over its last days, and a campaign of 20 delivered
    person = tenant()
    seed_history(person.account_id, delivered=941, hard_bounces=39)
    sent = sent_campaign(client, person, 20)
    feed(client, *(event(sent, "delivery", r) for r in sent.recipients[8:]))

    # When two feedback consumers each apply 4 hard bounces at the same moment (47 of 1,020: 4.6%)
    barrier = threading.Barrier(2)

    def consume(part: slice):
        barrier.wait(timeout=30)
        return feed(client, *(event(sent, "bounce_permanent", r) for r in sent.recipients[part]))[0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(consume, [slice(0, 4), slice(4, 8)]))

    # Then both batches were applied, all 8 bounces counted once, and the owner got exactly one email
    assert answers == [NOTHING_FAILED, NOTHING_FAILED]
    assert today(person.account_id) == Counts(delivered=12, hard_bounces=8)
    assert len(hold_notices(person)) == 1
    assert len(store.held_accounts()) == 1


def test_the_service_wide_daily_rates_are_published_as_metrics(client, tenant, capsys):
    # Given two accounts whose emails SES reported today: 38 delivered, 2 hard bounces, 1 complaint in all
    first, second = tenant(), tenant()
    for person, bounced in ((first, 1), (second, 1)):
        sent = sent_campaign(client, person, 20)
        feed(client, *(event(sent, "delivery", r) for r in sent.recipients[bounced:]))
        feed(client, *(event(sent, "bounce_permanent", r) for r in sent.recipients[:bounced]))
    feed(client, event(sent, "complaint", sent.recipients[5]))
    capsys.readouterr()

    # When the schedule publishes them
    scheduled = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=[])
    figures = client.lambda_.invoke("publish_reputation", scheduled).payload

    # Then the rates are in percent of the 40 reported emails, in namespace mailroom, with the counts
    assert figures["ServiceHardBounceRate"] == 5.0 and figures["ServiceComplaintRate"] == 2.5
    assert figures["ServiceReportedEmails"] == 40 and figures["ServiceHardBounces"] == 2
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [published] = [m for m in emf if "ServiceHardBounceRate" in m]
    directive = published["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "mailroom"
    units = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
    assert units["ServiceHardBounceRate"] == "Percent" and units["ServiceComplaintRate"] == "Percent"
    assert published["ServiceHardBounceRate"] == [5.0] and published["ServiceComplaints"] == [1.0]
