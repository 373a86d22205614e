"""The scheduled expiries (R8, R11, R13), driven through time with an injected clock: credits 12 months after the
last purchase, trials after 30 days, unconfirmed opt-ins after 30 days, and items past their TTL, which reads
never return even before they are deleted."""
from __future__ import annotations

from datetime import timedelta

from chalicelib import clock
from chalicelib.models import accounts as account_store
from chalicelib.models import events
from chalicelib.models import retention as retention_store
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.credentials import Credential
from chalicelib.models.deliveries import Delivery
from chalicelib.models.deliveries import campaign_key as ledger_key
from chalicelib.models.events import Event
from chalicelib.models.events import campaign_key as events_key
from chalicelib.models.subscribers import Subscriber
from chalicelib.services.retention import catch_up, expiries
from tests.integration.campaign_sending import drain, make_pump
from tests.integration.campaigning import add_domain, draft
from tests.integration.conftest import api_call, sign_in
from tests.integration.listing import make_list, subscribe
from tests.integration.mailbox import last_link_to
from tests.integration.retention_budget import DAY, PLENTY, cut_after
from tests.integration.tracked import make_campaign, opened

FIRST_NAME = [{"key": "first_name", "label": "First name"}]


# --- pay-as-you-go credits ---------------------------------------------------------------------

def test_credits_expire_12_months_after_the_last_purchase_audited_and_only_once(client, tenant, travel):
    old = tenant(plan="payg", credits=500)
    travel(366 * DAY)
    recent = tenant(plan="payg", credits=100)

    first = expiries.expire_credits(PLENTY)
    second = expiries.expire_credits(PLENTY)

    assert first.counts["accounts"] == 1 and first.counts["credits"] == 500
    assert not second.counts["accounts"]
    token = sign_in(client, old.email, old.password)
    headers = {"Authorization": f"Bearer {token}"}
    assert api_call(client, "GET", "/v1/account", headers=headers).json_body["account"]["credits"] == 0
    trail = api_call(client, "GET", "/v1/account/audit", headers=headers).json_body["items"]
    expired = [item for item in trail if item["action"] == "credits_expired"]
    assert len(expired) == 1 and expired[0]["details"]["credits"] == 500
    assert api_call(client, "GET", "/v1/account", headers=recent.headers).json_body["account"]["credits"] == 100


def test_credits_bought_again_before_the_run_stay(client, tenant, staff, travel):
    person = tenant(plan="payg", credits=500)
    travel(300 * DAY)
    body = {"plan": "payg", "credits": 50}
    assert api_call(client, "PATCH", f"/v1/admin/accounts/{person.account_id}/plan", body,
                    headers=staff.headers).status_code == 200
    travel(400 * DAY)

    assert not expiries.expire_credits(PLENTY).counts["accounts"]
    assert int(account_store.get(person.account_id).credits) == 550


# --- trials ------------------------------------------------------------------------------------

def test_an_ended_trial_sends_its_waiting_campaigns_back_to_draft_and_keeps_lists_manageable(
        client, tenant, staff, travel):
    person = tenant()
    add_domain(client, person, "trial.example")
    contact_list = make_list(client, person, from_email="news@trial.example", fields=FIRST_NAME)
    subscribe(client, person, contact_list["id"], "reader@readers.example")
    held = draft(client, person, contact_list["id"], from_email="news@trial.example")
    later = draft(client, person, contact_list["id"], from_email="news@trial.example")
    assert api_call(client, "POST", f"/v1/campaigns/{held['id']}/send", {},
                    headers=person.headers).json_body["campaign"]["status"] == "in_review"
    when = clock.iso(clock.now() + 40 * DAY)
    assert api_call(client, "POST", f"/v1/campaigns/{later['id']}/send", {"scheduled_at": when},
                    headers=person.headers).status_code == 202
    approved = api_call(client, "POST", f"/v1/admin/campaigns/{later['id']}/approve", {}, headers=staff.headers)
    assert approved.json_body["campaign"]["status"] == "scheduled", approved.json_body
    travel(31 * DAY)
    fresh = tenant()
    fresh_list = make_list(client, fresh)

    first = expiries.expire_trials(PLENTY)
    second = expiries.expire_trials(PLENTY)

    assert first.counts["trials"] == 1 and first.counts["campaigns_to_draft"] == 2
    assert not second.counts["trials"] and not second.counts["campaigns_to_draft"]
    headers = {"Authorization": f"Bearer {sign_in(client, person.email, person.password)}"}
    for campaign_id in (held["id"], later["id"]):
        shown = api_call(client, "GET", f"/v1/campaigns/{campaign_id}", headers=headers).json_body["campaign"]
        assert shown["status"] == "draft" and "trial has ended" in shown["status_reason"]
    refused = api_call(client, "POST", f"/v1/campaigns/{held['id']}/send", {}, headers=headers)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "trial_expired"
    assert subscribe(client, _as(person, headers), contact_list["id"], "new@readers.example")
    assert api_call(client, "PATCH", f"/v1/lists/{contact_list['id']}", {"name": "Renamed"},
                    headers=headers).status_code == 200
    assert account_store.get(fresh.account_id).trial_expired_at is None
    assert api_call(client, "GET", f"/v1/lists/{fresh_list['id']}", headers=fresh.headers).status_code == 200


def _as(person, headers):
    """The same person with another session's headers."""
    from dataclasses import replace

    return replace(person, token=headers["Authorization"].split(" ", 1)[1])


# --- unconfirmed double opt-in members -------------------------------------------------------

def test_members_nobody_confirmed_within_30_days_are_deleted_with_the_count_kept_exact(client, tenant, travel):
    person = tenant()
    listed = make_list(client, person, double_opt_in=True)
    for name in ("never", "silent", "confirmed", "asked-again"):
        subscribe(client, person, listed["id"], f"{name}@readers.example")
    confirm = last_link_to("confirmed@readers.example", "/confirm/")
    assert client.http.get(confirm[confirm.index("/confirm/"):]).status_code == 200
    travel(25 * DAY)
    asked_again = next(s for s in subscriber_store.all_in_list(person.account_id, listed["id"])
                       if s.email == "asked-again@readers.example")
    asked_again.update(actions=[Subscriber.confirmation_sent_at.set(clock.now())])   # a reminder went out
    other = tenant()
    other_list = make_list(client, other, double_opt_in=True)
    subscribe(client, other, other_list["id"], "recent@readers.example")
    travel(31 * DAY)

    outcome = expiries.purge_unconfirmed_subscribers(PLENTY)

    assert outcome.done and outcome.counts["subscribers"] == 2
    headers = {"Authorization": f"Bearer {sign_in(client, person.email, person.password)}"}
    members = api_call(client, "GET", f"/v1/lists/{listed['id']}/subscribers", headers=headers).json_body["items"]
    assert sorted(m["email"] for m in members) == ["asked-again@readers.example", "confirmed@readers.example"]
    assert api_call(client, "GET", "/v1/account", headers=headers).json_body["account"]["usage"]["subscribers"] == 2
    assert int(account_store.get(other.account_id).subscriber_count) == 1
    assert expiries.purge_unconfirmed_subscribers(PLENTY).counts["subscribers"] == 0


def test_an_unconfirmed_purge_cut_short_goes_on_from_its_cursor(client, tenant, travel):
    person = tenant()
    first_list = make_list(client, person, double_opt_in=True)
    second_list = make_list(client, person, double_opt_in=True)
    for n in range(30):
        subscribe(client, person, first_list["id"], f"waiting{n}@readers.example")
    for n in range(3):
        subscribe(client, person, second_list["id"], f"later{n}@readers.example")
    travel(31 * DAY)

    cut = expiries.purge_unconfirmed_subscribers(cut_after(2))

    assert not cut.done and 0 < cut.counts["subscribers"] < 33
    assert retention_store.unfinished_jobs() == ["unconfirmed_subscribers"]

    resumed = catch_up.resume_unfinished(PLENTY, mailer=None)

    assert resumed.done and cut.counts["subscribers"] + resumed.counts["unconfirmed_subscribers.subscribers"] == 33
    assert retention_store.unfinished_jobs() == []
    assert int(account_store.get(person.account_id).subscriber_count) == 0


# --- the TTL backstop, and reads that never return an expired item --------------------------------

def test_expired_events_and_ledger_items_are_deleted_in_pages_that_resume(client, tenant, monkeypatch):
    person = tenant()
    now = clock.now()
    key = events_key(person.account_id, "cmp_1")
    for n in range(5):
        Event(key, f"2020-01-0{n + 1}#x", kind="open", subscriber_id=f"s{n}", at=now,
              expires_at=now - timedelta(hours=1)).save()
    Event(key, "2030-01-01#live", kind="open", subscriber_id="s9", at=now, expires_at=now + DAY).save()
    Delivery(ledger_key(person.account_id, "cmp_1"), "s1", state="sent", expires_at=now - DAY).save()
    Delivery(ledger_key(person.account_id, "cmp_1"), "s2", state="sent", expires_at=now + DAY).save()
    monkeypatch.setattr(expiries, "PAGE", 2)

    cut = expiries.purge_expired_items(cut_after(3))
    rest = expiries.purge_expired_items(PLENTY)
    again = expiries.purge_expired_items(PLENTY)

    assert not cut.done and rest.done
    assert cut.counts["events"] + rest.counts["events"] == 5
    assert cut.counts["deliveries"] + rest.counts["deliveries"] == 1
    assert not again.counts["events"] and not again.counts["deliveries"]
    assert [e.event_key for e in Event.query(key)] == ["2030-01-01#live"]
    assert [d.delivery_key for d in Delivery.query(ledger_key(person.account_id, "cmp_1"))] == ["s2"]


def test_an_expired_session_reset_link_or_verification_link_is_refused_while_still_stored(client, tenant, travel):
    person = tenant()
    verify = last_link_to(person.email, "/v1/verify-email/")
    assert api_call(client, "POST", "/v1/password-resets", {"email": person.email}).status_code == 202
    drain(make_pump())
    reset = last_link_to(person.email, "/reset-password/")
    reset_token = reset.rsplit("/", 1)[1]
    travel(8 * DAY)

    assert api_call(client, "GET", "/v1/account", headers=person.headers).status_code == 401
    assert client.http.get(reset[reset.index("/reset-password/"):]).status_code == 404
    assert api_call(client, "POST", "/v1/password-resets/confirm",
                    {"token": reset_token, "password": "a-new-password-1"}).status_code == 404
    assert client.http.get(verify[verify.index("/v1/verify-email/"):]).status_code == 404
    kinds = sorted(c.credential_key.split("#")[0] for c in Credential.query(person.account_id))
    assert kinds == ["reset", "session", "verify"]   # all still stored: TTL has not run


def test_expired_tracking_events_still_stored_are_never_read_back(client, tenant, travel):
    person = tenant()
    campaign = make_campaign(person.account_id, sent=4)
    opened(client, campaign, "sub_1", country="IE")
    assert events.first_times(person.account_id, "sub_1", [campaign.campaign_id])
    travel(397 * DAY)

    # the support look-up's first open, and the person's own access report, read nothing of them
    assert events.first_times(person.account_id, "sub_1", [campaign.campaign_id]) == {}
    assert events.live_of_subscriber(person.account_id, campaign.campaign_id, "sub_1") == []
    assert len(list(Event.query(events_key(person.account_id, campaign.campaign_id)))) == 2   # event and marker
