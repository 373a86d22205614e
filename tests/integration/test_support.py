"""Support look-ups (R27): why a recipient did (not) get an email, restoring a bounced address; and the
activity score (R26) shown on every subscriber.

Campaigns are sent for real (fan-out and sender, under the local pump); opens and clicks come through the
tracking URLs in the recipient's copy. SES feedback is written as the feedback consumer leaves it: the
outcome on the recipient's ledger item, `activity.on_delivery` per Delivery event, a bounced member and its
suppression."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import clock
from chalicelib.models import deliveries
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.deliveries import Delivery, DeliveryState
from chalicelib.models.subscribers import SubscriberStatus
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.services.audience import activity, suppressions
from tests.integration.campaign_sending import (
    audience,
    deliveries_by_address,
    send_campaign,
)
from tests.integration.conftest import api_call, sign_in
from tests.integration.listing import make_list, subscribe
from tests.integration.mailbox import messages_to
from tests.integration.tracked import (
    APPLE_PREFETCH,
    CHROME_WINDOWS,
    OUTLOOK,
    fetch,
    path_of,
)

BOUNCE_REASON = "smtp; 550 5.1.1 user unknown"


@pytest.fixture
def travel(monkeypatch):
    """travel(delta): from now on the service's clock runs `delta` ahead."""
    real_now = clock.now

    def go(delta: timedelta) -> None:
        monkeypatch.setattr(clock, "now", lambda: real_now() + delta)

    return go


def signed_in_again(client, person) -> None:
    """After travelling past the session's lifetime, the customer signs in again."""
    person.token = sign_in(client, person.email, person.password)


def pixel_and_links(address: str, nth: int = 0) -> tuple[str, list[str]]:
    """The open pixel and the tracked links of the `nth` campaign email `address` got."""
    message = [m for m in messages_to(address) if "Spring news" in str(m["Subject"])][nth]
    html = message.get_body(preferencelist=("html",)).get_content()
    pixel = re.search(r'src="(https?://[^"]+/o/[^"]+\.gif)"', html).group(1)
    return path_of(pixel), [path_of(link) for link in re.findall(r'href="(https?://[^"]+/c/[^"]+)"', html)]


def delivered(person, list_id: str, campaign_id: str, subscriber_id: str) -> None:
    """What the feedback consumer does with an SES Delivery event."""
    now = clock.now()
    Delivery(deliveries.campaign_key(person.account_id, campaign_id), subscriber_id).update(
        actions=[Delivery.delivered_at.set(now)])
    subscriber_store.change_by_id(person.account_id, list_id, subscriber_id, activity.on_delivery())


def hard_bounced(person, list_id: str, campaign_id: str, member: dict) -> None:
    """What the feedback consumer does with a permanent SES Bounce: the outcome, the member, the suppression."""
    Delivery(deliveries.campaign_key(person.account_id, campaign_id), member["id"]).update(actions=[
        Delivery.bounce_type.set("hard"), Delivery.bounce_reason.set(BOUNCE_REASON),
        Delivery.bounced_at.set(clock.now())])
    suppressions.suppress(person.account_id, member["email"], SuppressionReason.BOUNCED, source=campaign_id)
    set_status(person, list_id, member["id"], SubscriberStatus.BOUNCED, soft_bounces=2)


def set_status(person, list_id: str, subscriber_id: str, status: SubscriberStatus, **values) -> None:
    stored = subscriber_store.get(person.account_id, list_id, subscriber_id)
    stored.set_status(status)
    for name, value in values.items():
        setattr(stored, name, value)
    stored.save()


def members_by_address(client, person, list_id: str) -> dict[str, dict]:
    answer = api_call(client, "GET", f"/v1/lists/{list_id}/subscribers", headers=person.headers)
    assert answer.status_code == 200, answer.json_body
    return {item["email"]: item for item in answer.json_body["items"]}


def look_up(client, person, list_id: str, subscriber_id: str, query: str = ""):
    return api_call(client, "GET", f"/v1/lists/{list_id}/subscribers/{subscriber_id}/activity{query}",
                    headers=person.headers)


# --- R27: why a recipient did not get an email ----------------------------------------------------

def test_support_sees_every_campaign_email_of_a_subscriber_and_what_became_of_it(client, tenant, travel):
    # Given three readers sent a spring campaign: one opened and clicked it, one bounced, one complained later
    person = tenant()
    people = audience(client, person, subscribed=3)
    list_id = people["list"]["id"]
    reader, bouncer, complainer = (members_by_address(client, person, list_id)[a] for a in people["subscribed"])
    spring = send_campaign(person, list_id, "Spring", recipients=3)
    delivered(person, list_id, spring, reader["id"])
    hard_bounced(person, list_id, spring, bouncer)
    travel(timedelta(hours=1))
    pixel, links = pixel_and_links(reader["email"])
    assert fetch(client, pixel, OUTLOOK).status_code == 200
    assert fetch(client, links[0], CHROME_WINDOWS, accept="text/html").status_code == 302
    suppressions.suppress(person.account_id, complainer["email"], SuppressionReason.COMPLAINED)
    set_status(person, list_id, complainer["id"], SubscriberStatus.UNSUBSCRIBED)

    # and, a day later, a summer campaign that only the reader is still mailed
    travel(timedelta(days=1))
    signed_in_again(client, person)
    summer = send_campaign(person, list_id, "Summer", recipients=1)

    # When support looks the subscribers up
    answer = look_up(client, person, list_id, reader["id"])

    # Then the reader's emails are listed newest first, with what happened to each
    assert answer.status_code == 200, answer.json_body
    body = answer.json_body
    assert body["subscriber"] == {"id": reader["id"], "list_id": list_id, "status": "subscribed", "suppressed": False,
                                  "suppression_reason": None, "suppressed_at": None, "mailable": True}
    assert [(i["campaign_id"], i["campaign_name"], i["state"]) for i in body["items"]] == [
        (summer, "Summer", "sent"), (spring, "Spring", "sent")]
    latest, first = body["items"]
    assert latest["sent_at"] and latest["message_id"]
    assert (latest["delivered_at"], latest["bounce"], latest["opened_at"], latest["clicked_at"]) == (
        None, None, None, None)
    assert first["delivered_at"] and first["bounce"] is None
    assert first["opened_at"] and first["clicked_at"] and first["opened_at"] <= first["clicked_at"]
    assert body["next_cursor"] is None

    # and the bouncer's look-up says why the summer campaign never reached them
    bounced = look_up(client, person, list_id, bouncer["id"]).json_body
    assert bounced["subscriber"]["status"] == "bounced" and bounced["subscriber"]["mailable"] is False
    assert bounced["subscriber"]["suppression_reason"] == "bounced" and bounced["subscriber"]["suppressed_at"]
    [only] = bounced["items"]
    assert only["campaign_id"] == spring and only["delivered_at"] is None and only["opened_at"] is None
    assert only["bounce"]["type"] == "hard" and only["bounce"]["reason"] == BOUNCE_REASON and only["bounce"]["at"]

    # and a complaint reads as an unsubscribe (R23)
    left = look_up(client, person, list_id, complainer["id"])
    assert left.json_body["subscriber"]["status"] == "unsubscribed"
    assert left.json_body["subscriber"]["suppression_reason"] == "unsubscribed"
    assert "complain" not in left.body.decode()


def test_the_look_up_pages_with_its_own_cursor_and_is_404_for_another_tenant(client, tenant):
    person, stranger = tenant(), tenant()
    people = audience(client, person, subscribed=2)
    list_id = people["list"]["id"]
    first, second = (members_by_address(client, person, list_id)[a] for a in people["subscribed"])
    older = send_campaign(person, list_id, "Spring", recipients=2)
    newer = send_campaign(person, list_id, "Summer", recipients=2)

    page_one = look_up(client, person, list_id, first["id"], "?limit=1").json_body
    page_two = look_up(client, person, list_id, first["id"], f"?limit=1&cursor={page_one['next_cursor']}").json_body
    theirs = look_up(client, person, list_id, second["id"], f"?limit=1&cursor={page_one['next_cursor']}")

    assert [i["campaign_id"] for i in page_one["items"] + page_two["items"]] == [newer, older]
    assert page_two["next_cursor"] is None
    assert theirs.status_code == 400 and theirs.json_body["error"]["code"] == "invalid_cursor"
    assert look_up(client, person, list_id, first["id"], "?limit=0").status_code == 400
    via_stranger = look_up(client, stranger, list_id, first["id"])
    missing = look_up(client, person, list_id, "sub_missing")
    assert via_stranger.status_code == missing.status_code == 404
    assert via_stranger.json_body == missing.json_body
    assert newer not in via_stranger.body.decode()


# --- R27: restoring a bounced address ----------------------------------------------------------------

def test_restoring_a_bounced_address_subscribes_its_members_again_and_the_next_campaign_reaches_it(
        client, tenant):
    # Given an address that bounced hard on a campaign, a member of two lists and pending in a third
    person = tenant()
    people = audience(client, person, subscribed=2)
    list_id = people["list"]["id"]
    address = people["subscribed"][0]
    member = members_by_address(client, person, list_id)[address]
    other = make_list(client, person, name="Other")
    other_member = subscribe(client, person, other["id"], address)
    waiting = make_list(client, person, name="Waiting", double_opt_in=True)
    pending_member = subscribe(client, person, waiting["id"], address)
    spring = send_campaign(person, list_id, "Spring", recipients=2)
    hard_bounced(person, list_id, spring, member)
    set_status(person, other["id"], other_member["id"], SubscriberStatus.BOUNCED, soft_bounces=1)

    # When the customer removes the address from the suppression list
    encoded = address.replace("@", "%40")
    answer = api_call(client, "DELETE", f"/v1/suppressions/{encoded}", headers=person.headers)

    # Then it is no longer suppressed, its bounced memberships are subscribed with no soft bounces, the pending one
    # still waits for its owner's confirmation
    assert answer.status_code == 204, answer.json_body
    listed = api_call(client, "GET", "/v1/suppressions", headers=person.headers).json_body["items"]
    assert address not in [item["email"] for item in listed]
    assert members_by_address(client, person, list_id)[address]["status"] == "subscribed"
    assert members_by_address(client, person, other["id"])[address]["status"] == "subscribed"
    assert members_by_address(client, person, waiting["id"])[address]["status"] == "pending"
    for restored_list, subscriber_id in ((list_id, member["id"]), (other["id"], other_member["id"])):
        assert subscriber_store.get(person.account_id, restored_list, subscriber_id).soft_bounces == 0
    assert subscriber_store.get(person.account_id, waiting["id"], pending_member["id"]).soft_bounces is None
    look = look_up(client, person, list_id, member["id"]).json_body["subscriber"]
    assert look["mailable"] is True and look["suppression_reason"] is None

    # and the next campaign reaches it
    send_campaign(person, list_id, "Summer", recipients=2)
    assert deliveries_by_address()[address] == 2

    # and removing it again is a 404, as for any address that is not suppressed
    again = api_call(client, "DELETE", f"/v1/suppressions/{encoded}", headers=person.headers)
    assert again.status_code == 404


def test_a_complaint_cannot_be_removed_and_its_refusal_reads_like_an_unsubscribe(client, tenant):
    person = tenant()
    news = make_list(client, person)
    angry = subscribe(client, person, news["id"], "angry@readers.example")
    left = subscribe(client, person, news["id"], "left@readers.example")
    suppressions.suppress(person.account_id, "angry@readers.example", SuppressionReason.COMPLAINED)
    set_status(person, news["id"], angry["id"], SubscriberStatus.UNSUBSCRIBED)
    api_call(client, "POST", f"/v1/lists/{news['id']}/subscribers/{left['id']}/unsubscribe", headers=person.headers)

    complained = api_call(client, "DELETE", "/v1/suppressions/angry%40readers.example", headers=person.headers)
    unsubscribed = api_call(client, "DELETE", "/v1/suppressions/left%40readers.example", headers=person.headers)

    assert complained.status_code == unsubscribed.status_code == 422
    assert complained.json_body == unsubscribed.json_body
    assert members_by_address(client, person, news["id"])["angry@readers.example"]["status"] == "unsubscribed"


# --- R26: the activity score on every subscriber -------------------------------------------------------

def test_a_subscriber_shows_what_they_received_opened_and_clicked_and_machines_never_count(client, tenant, travel):
    # Given two readers sent two campaigns, both delivered
    person = tenant()
    people = audience(client, person, subscribed=2)
    list_id = people["list"]["id"]
    reader, lurker = (members_by_address(client, person, list_id)[a] for a in people["subscribed"])
    assert reader["activity"] == {"score": None, "received": 0, "opened": 0, "clicked": 0,
                                  "last_activity_at": None, "last_opened_at": None, "last_clicked_at": None}
    spring = send_campaign(person, list_id, "Spring", recipients=2)
    summer = send_campaign(person, list_id, "Summer", recipients=2)
    for campaign_id in (spring, summer):
        for member in (reader, lurker):
            delivered(person, list_id, campaign_id, member["id"])
    travel(timedelta(hours=1))

    # When the reader opens the first twice and clicks in it, and only a privacy prefetcher fetches the lurker's
    pixel, links = pixel_and_links(reader["email"], 0)
    for _ in range(2):
        fetch(client, pixel, OUTLOOK)
    fetch(client, links[1], CHROME_WINDOWS, accept="text/html")
    fetch(client, pixel_and_links(lurker["email"], 0)[0], APPLE_PREFETCH)
    fetch(client, pixel_and_links(lurker["email"], 1)[0], APPLE_PREFETCH)

    # Then the reader has one campaign opened and clicked out of two received; the lurker nothing
    shown = api_call(client, "GET", f"/v1/lists/{list_id}/subscribers/{reader['id']}",
                     headers=person.headers).json_body["subscriber"]["activity"]
    assert {k: shown[k] for k in ("received", "opened", "clicked")} == {"received": 2, "opened": 1, "clicked": 1}
    assert shown["score"] == 50 and shown["last_activity_at"]
    assert shown["last_opened_at"] and shown["last_clicked_at"] and shown["last_clicked_at"] >= shown["last_opened_at"]
    members = members_by_address(client, person, list_id)
    assert members[lurker["email"]]["activity"] == {"score": 0, "received": 2, "opened": 0, "clicked": 0,
                                                    "last_activity_at": None, "last_opened_at": None,
                                                    "last_clicked_at": None}

    # and months of silence lower the reader's score
    travel(timedelta(days=91))
    signed_in_again(client, person)
    later = members_by_address(client, person, list_id)[reader["email"]]["activity"]
    assert later["score"] == 25 and later["received"] == 2


def test_a_click_with_images_blocked_counts_as_the_open_too_and_a_deleted_subscriber_is_ignored(
        client, tenant, travel):
    person = tenant()
    people = audience(client, person, subscribed=1)
    list_id = people["list"]["id"]
    reader = members_by_address(client, person, list_id)[people["subscribed"][0]]
    spring = send_campaign(person, list_id, "Spring", recipients=1)
    travel(timedelta(hours=1))

    _, links = pixel_and_links(reader["email"])
    fetch(client, links[0], CHROME_WINDOWS, accept="text/html")
    fetch(client, links[1], CHROME_WINDOWS, accept="text/html")

    shown = members_by_address(client, person, list_id)[reader["email"]]["activity"]
    assert (shown["received"], shown["opened"], shown["clicked"], shown["score"]) == (0, 1, 1, 100)

    assert api_call(client, "DELETE", f"/v1/lists/{list_id}/subscribers/{reader['id']}",
                    headers=person.headers).status_code == 204
    delivered(person, list_id, spring, reader["id"])   # a late Delivery event: nothing to count it on
    assert subscriber_store.get(person.account_id, list_id, reader["id"]) is None


def test_feedback_that_arrives_before_the_senders_own_record_is_kept(moto_env):
    # SES may report the delivery before the sender has written SES's answer onto the claim
    key = deliveries.campaign_key("acc_early", "cmp_early")
    delivered = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert deliveries.claim(key, "sub_early", "0#0#0")
    assert deliveries.note_outcome("acc_early", "cmp_early", "sub_early", [Delivery.delivered_at.set(delivered)])

    deliveries.record(key, "sub_early", DeliveryState.SENT, "ses-message-1")

    item = Delivery.get(key, "sub_early")
    assert (item.state, item.message_id, item.delivered_at) == ("sent", "ses-message-1", delivered)
    assert item.sent_at is not None
