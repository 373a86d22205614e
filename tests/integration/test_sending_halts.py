"""A suspension (R34) or a reputation hold during a send stops it within one chunk: real threads, the pump's
sender on one, staff or the feedback consumer on another; the campaign pauses with the reason, and resumes
only once the account may send again."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chalicelib import clock, ses
from chalicelib.models import reputation
from chalicelib.services.campaigns import fanout
from tests.integration.campaign_sending import campaign, make_pump, sent_messages, source, start_sending
from tests.integration.conftest import api_call
from tests.integration.feedback_events import NOTHING_FAILED, Sent, event, feed, sent_to
from tests.integration.test_feedback_auto_stop import bulk_list, started_a_while_ago
from tests.integration.test_subscriber_limits import atomic_moto  # noqa: F401 - fixture

CHUNK = 10
RECIPIENTS = 60
DEADLINE_S = 60


class Gate:
    """Holds the sender's SES call for its `after`-th email until the other thread has done its part, so the
    suspension (or hold) lands while a chunk is in flight, whatever the machine's speed."""

    def __init__(self, monkeypatch, after: int):
        self.reached, self.released = threading.Event(), threading.Event()
        self.count, self.lock, real = 0, threading.Lock(), ses.send_raw

        def send_raw(composed):
            with self.lock:
                self.count += 1
                mine = self.count
            if mine == after:
                self.reached.set()
                assert self.released.wait(DEADLINE_S), "the other thread never acted"
            return real(composed)

        monkeypatch.setattr(ses, "send_raw", send_raw)


def sending_in_chunks(client, tenant, monkeypatch) -> tuple[object, str, object]:
    """A campaign of 60 in chunks of 10, fanned out and waiting for the sender; the person, its id, the pump."""
    monkeypatch.setattr(fanout, "CHUNK_SIZE", CHUNK)
    person = tenant()
    list_id = bulk_list(client, person, RECIPIENTS)
    campaign_id = start_sending(person, list_id, recipients=RECIPIENTS)
    started_a_while_ago(person, campaign_id)   # no feedback to wait for (R22's wait is not under test)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    return person, campaign_id, pump


def send_on_another_thread(pump) -> threading.Thread:
    """The sender, on its own thread, taking chunks until the send queue is empty."""
    def work():
        while True:
            result = pump.poll(source(pump, "send_chunk"), wait_seconds=0)
            if not (result.succeeded or result.failed):
                return

    thread = threading.Thread(target=work, name="sender")
    thread.start()
    return thread


def paused_within_one_chunk(client, person, campaign_id: str, sent_before: int, reason: str) -> dict:
    """Asserts that at most a chunk left after the moment `sent_before` emails had gone to SES (the gate's held
    email among them, which left after it), and that the campaign is paused for `reason`; the campaign shown."""
    after = len(sent_messages()) - sent_before + 1
    assert after <= CHUNK, f"{after} emails left after the account was stopped"
    shown = api_call(client, "GET", f"/v1/campaigns/{campaign_id}", headers=person.headers).json_body["campaign"]
    assert shown["status"] == "paused" and shown["paused_reason"] == reason
    return shown


def refused_resume(client, person, campaign_id: str, code: str) -> str:
    """Asserts that resuming is refused with 422 `code`; the message."""
    refused = api_call(client, "POST", f"/v1/campaigns/{campaign_id}/resume", headers=person.headers)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == code
    return refused.json_body["error"]["message"]


def test_a_suspension_during_a_send_stops_it_within_one_chunk_and_it_resumes_only_after_reinstatement(
        client, tenant, staff, monkeypatch, atomic_moto):  # noqa: F811
    # Given a campaign of 60 sending in chunks of 10 on the sender's thread, held mid-way through its second chunk
    person, campaign_id, pump = sending_in_chunks(client, tenant, monkeypatch)
    gate = Gate(monkeypatch, after=15)
    sender_thread = send_on_another_thread(pump)
    assert gate.reached.wait(DEADLINE_S)

    # When staff suspend the account from this thread while that chunk is in flight
    suspended = api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/suspend",
                         {"reason": "phishing report"}, headers=staff.headers)
    assert suspended.status_code == 200, suspended.json_body
    at_suspension = gate.count
    gate.released.set()
    sender_thread.join(DEADLINE_S)
    assert not sender_thread.is_alive()

    # Then at most the rest of the chunk in flight went out after it, and the campaign is paused for the suspension
    shown = paused_within_one_chunk(client, person, campaign_id, at_suspension, "account_suspended")
    assert len(sent_messages()) <= 20 and "suspended" in shown["status_reason"]

    # And the customer cannot resume it while suspended (422), but can after reinstatement, and it finishes
    refused_resume(client, person, campaign_id, "account_suspended")
    reinstated = api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/reinstate", headers=staff.headers)
    assert reinstated.status_code == 200
    resumed = api_call(client, "POST", f"/v1/campaigns/{campaign_id}/resume", headers=person.headers)
    assert resumed.status_code == 200, resumed.json_body
    assert resumed.json_body["campaign"]["paused_reason"] is None
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    send_on_another_thread(pump).join(DEADLINE_S)
    assert len(sent_messages()) == RECIPIENTS
    assert campaign(person, campaign_id).status == "sent"


def test_suspending_an_account_pauses_its_sending_campaigns_at_once(client, tenant, staff, monkeypatch):
    # Given a campaign fanned out and waiting for the sender
    person, campaign_id, pump = sending_in_chunks(client, tenant, monkeypatch)

    # When staff suspend the account before any chunk is taken
    assert api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/suspend", {},
                    headers=staff.headers).status_code == 200

    # Then the campaign is paused at once, and the queued chunks send nothing
    shown = api_call(client, "GET", f"/v1/campaigns/{campaign_id}", headers=person.headers).json_body["campaign"]
    assert shown["status"] == "paused" and shown["paused_reason"] == "account_suspended"
    send_on_another_thread(pump).join(DEADLINE_S)
    assert sent_messages() == []


def test_a_reputation_hold_tripped_by_feedback_during_a_send_stops_it_within_one_chunk(
        client, tenant, staff, monkeypatch, atomic_moto):  # noqa: F811
    # Given an account whose last days reported 1,000 emails with 39 hard bounces (3.9%), and a campaign of 60
    # sending in chunks of 10 on the sender's thread, held mid-way through its third chunk
    person, campaign_id, pump = sending_in_chunks(client, tenant, monkeypatch)
    seed_history(person.account_id, delivered=961, hard_bounces=39)
    gate = Gate(monkeypatch, after=25)
    sender_thread = send_on_another_thread(pump)
    assert gate.reached.wait(DEADLINE_S)

    # When SES reports hard bounces for 5 of the first emails on this thread (44 of 1,005: 4.4%)
    sent = Sent(person, "", campaign_id, sent_to(person, campaign(person, campaign_id).list_id, campaign_id))
    assert feed(client, *(event(sent, "bounce_permanent", r) for r in sent.recipients[:5]))[0] == NOTHING_FAILED
    at_hold = gate.count
    gate.released.set()
    sender_thread.join(DEADLINE_S)
    assert not sender_thread.is_alive()

    # Then at most the rest of the chunk in flight went out, and the campaign is paused for the hold
    shown = paused_within_one_chunk(client, person, campaign_id, at_hold, "reputation_hold")
    assert len(sent_messages()) <= 30
    assert "Hard bounces were 4.38% of 1,005 emails" in shown["status_reason"]

    # And it cannot be resumed while the hold lasts (422), but can once staff release the account
    assert "sending pauses at 4%" in refused_resume(client, person, campaign_id, "reputation_hold")
    released = api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/release", headers=staff.headers)
    assert released.status_code == 200, released.json_body
    resumed = api_call(client, "POST", f"/v1/campaigns/{campaign_id}/resume", headers=person.headers)
    assert resumed.status_code == 200 and resumed.json_body["campaign"]["status"] == "sending"


def seed_history(account_id: str, delivered: int, hard_bounces: int = 0, complaints: int = 0,
                 days_ago: int = 2) -> None:
    """The account's counts of an earlier day, as the feedback consumer would have credited them."""
    day = reputation.day_of(clock.now() - timedelta(days=days_ago))
    reputation.ReputationDay(day, account_id, delivered=delivered, hard_bounces=hard_bounces,
                             complaints=complaints).save()


@pytest.fixture(autouse=True)
def _no_leftover_threads():
    yield
    assert not [t for t in threading.enumerate() if t.name == "sender" and t.is_alive()]
