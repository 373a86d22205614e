"""Segments through the API: saved, checked against the list's fields, counted exactly, and a campaign sent to
one reaching exactly its subscribed members; and finding a member by address."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.subscribers import SubscriberStatus
from chalicelib.models.usage import Usage
from chalicelib.services.campaigns import fanout
from tests.integration.campaign_sending import campaign as stored_campaign
from tests.integration.campaign_sending import drain, make_pump, queue_depth, sent_messages
from tests.integration.campaigning import add_domain, draft, fanout_messages, send
from tests.integration.conftest import api_call
from tests.integration.listing import make_list, subscribe

FIELDS = [{"key": "first_name", "label": "First name", "type": "text"},
          {"key": "city", "label": "City", "type": "text"},
          {"key": "age", "label": "Age", "type": "number"},
          {"key": "vip", "label": "VIP", "type": "boolean"},
          {"key": "renewal", "label": "Renewal", "type": "date"}]
BERLIN = {"name": "Berlin", "match": "all", "conditions": [{"field": "city", "op": "eq", "value": "berlin"}]}


def segments_path(list_id: str, *rest: str) -> str:
    return "/".join([f"/v1/lists/{list_id}/segments", *rest])


def create_segment(client, person, list_id: str, body: dict | None = None) -> dict:
    answer = api_call(client, "POST", segments_path(list_id), body or BERLIN, headers=person.headers)
    assert answer.status_code == 201, answer.json_body
    return answer.json_body["segment"]


def people_list(client, person, **overrides) -> dict:
    return make_list(client, person, fields=FIELDS, **overrides)


def add_people(client, person, list_id: str, people: dict[str, dict]) -> dict[str, dict]:
    return {address: subscribe(client, person, list_id, address, fields=values) for address, values in people.items()}


def set_status(person, list_id: str, member: dict, status: SubscriberStatus) -> None:
    stored = subscriber_store.get(person.account_id, list_id, member["id"])
    stored.set_status(status)
    stored.save()


# --- saved segments ----------------------------------------------------------------------------

def test_a_segment_is_saved_read_listed_renamed_and_deleted(client, tenant):
    # Given a list with fields
    person = tenant()
    contact_list = people_list(client, person)

    # When a segment is saved with a condition on each kind of field
    body = {"name": "Grown-up Berliners", "match": "all", "conditions": [
        {"field": "city", "op": "eq", "value": "Berlin"}, {"field": "age", "op": "gte", "value": 18},
        {"field": "vip", "op": "is_set"}, {"field": "renewal", "op": "before", "value": "2030-01-01"},
        {"field": "activity.last_opened_at", "op": "within_days", "value": 30},
        {"field": "subscribed_at", "op": "after", "value": "2024-06-01T10:00:00+02:00"}]}
    made = create_segment(client, person, contact_list["id"], body)

    # Then it reads back as it was saved, times in UTC, and has not been counted yet
    assert made["id"].startswith("seg_") and made["list_id"] == contact_list["id"]
    assert made["name"] == "Grown-up Berliners" and made["match"] == "all"
    assert made["conditions"][:3] == [{"field": "city", "op": "eq", "value": "Berlin"},
                                      {"field": "age", "op": "gte", "value": 18}, {"field": "vip", "op": "is_set"}]
    assert made["conditions"][5]["value"] == "2024-06-01T08:00:00Z"
    assert (made["count"], made["counted_at"]) == (None, None)
    read = api_call(client, "GET", segments_path(contact_list["id"], made["id"]), headers=person.headers)
    assert read.status_code == 200 and read.json_body["segment"] == made

    # and the list's segments are listed oldest first, page by page
    second = create_segment(client, person, contact_list["id"])
    first_page = api_call(client, "GET", segments_path(contact_list["id"]) + "?limit=1", headers=person.headers)
    assert [s["id"] for s in first_page.json_body["items"]] == [made["id"]]
    cursor = first_page.json_body["next_cursor"]
    rest = api_call(client, "GET", segments_path(contact_list["id"]) + f"?limit=1&cursor={cursor}",
                    headers=person.headers)
    assert [s["id"] for s in rest.json_body["items"]] == [second["id"]]

    # and a rename keeps its conditions, a delete removes it
    renamed = api_call(client, "PATCH", segments_path(contact_list["id"], made["id"]), {"name": "Adults in Berlin"},
                       headers=person.headers)
    assert renamed.status_code == 200, renamed.json_body
    assert renamed.json_body["segment"]["name"] == "Adults in Berlin"
    assert renamed.json_body["segment"]["conditions"] == made["conditions"]
    made_path = segments_path(contact_list["id"], made["id"])
    assert api_call(client, "DELETE", made_path, headers=person.headers).status_code == 204
    assert api_call(client, "GET", made_path, headers=person.headers).status_code == 404
    listed = api_call(client, "GET", segments_path(contact_list["id"]), headers=person.headers).json_body
    assert [s["id"] for s in listed["items"]] == [second["id"]]


@pytest.mark.parametrize("condition, field", [
    ({"field": "town", "op": "eq", "value": "Berlin"}, "town"),                  # no such field
    ({"field": "age", "op": "contains", "value": "1"}, "age"),                   # op does not fit a number
    ({"field": "city", "op": "gt", "value": "B"}, "city"),                       # op does not fit text
    ({"field": "vip", "op": "before", "value": "2024-01-01"}, "vip"),            # op does not fit a boolean
    ({"field": "status", "op": "contains", "value": "sub"}, "status"),
    ({"field": "email", "op": "is_set"}, "email"),                               # an address is always there
    ({"field": "age", "op": "gt", "value": "18"}, "age"),                        # a text for a number
    ({"field": "age", "op": "gt", "value": True}, "age"),
    ({"field": "vip", "op": "eq", "value": "yes"}, "vip"),
    ({"field": "city", "op": "eq", "value": 5}, "city"),
    ({"field": "city", "op": "eq", "value": "   "}, "city"),
    ({"field": "city", "op": "is_set", "value": "x"}, "city"),                   # is_set takes no value
    ({"field": "status", "op": "eq", "value": "complained"}, "status"),          # not a status
    ({"field": "renewal", "op": "after", "value": "2024-02-30"}, "renewal"),     # not a calendar date
    ({"field": "subscribed_at", "op": "after", "value": "last week"}, "subscribed_at"),
    ({"field": "activity.last_clicked_at", "op": "within_days", "value": 0}, "activity.last_clicked_at"),
    ({"field": "activity.score", "op": "gte", "value": None}, "activity.score"),
])
def test_a_condition_that_does_not_fit_the_field_is_422_naming_the_field_and_nothing_is_saved(
        client, tenant, condition, field):
    person = tenant()
    contact_list = people_list(client, person)

    answer = api_call(client, "POST", segments_path(contact_list["id"]),
                      {"name": "Bad", "conditions": [{"field": "city", "op": "is_set"}, condition]},
                      headers=person.headers)

    assert answer.status_code == 422, answer.json_body
    error = answer.json_body["error"]
    assert error["field"] == field and repr(field) in error["message"] and "Condition 2" in error["message"]
    assert api_call(client, "GET", segments_path(contact_list["id"]), headers=person.headers).json_body["items"] == []


@pytest.mark.parametrize("body", [
    {"name": "None", "conditions": []},
    {"name": "Many", "conditions": [{"field": "age", "op": "gt", "value": n} for n in range(21)]},
    {"name": "How", "match": "some", "conditions": [{"field": "city", "op": "is_set"}]},
    {"name": "  ", "conditions": [{"field": "city", "op": "is_set"}]},
])
def test_no_conditions_too_many_an_unknown_match_or_a_blank_name_is_422(client, tenant, body):
    person = tenant()
    contact_list = people_list(client, person)

    answer = api_call(client, "POST", segments_path(contact_list["id"]), body, headers=person.headers)

    assert answer.status_code == 422, answer.json_body
    assert answer.json_body["error"]["message"]
    assert api_call(client, "GET", segments_path(contact_list["id"]), headers=person.headers).json_body["items"] == []


def test_a_segment_is_found_only_through_its_own_list_and_goes_with_its_list(client, tenant):
    person = tenant()
    news, offers = people_list(client, person), people_list(client, person)
    segment = create_segment(client, person, news["id"])

    through_other_list = api_call(client, "GET", segments_path(offers["id"], segment["id"]), headers=person.headers)
    assert through_other_list.status_code == 404

    assert api_call(client, "DELETE", f"/v1/lists/{news['id']}", headers=person.headers).status_code == 204
    from chalicelib.models import segments as segment_store
    assert segment_store.get(person.account_id, segment["id"]) is None


# --- the count ---------------------------------------------------------------------------------

def test_the_count_is_exact_shown_on_the_segment_and_forgotten_when_its_conditions_change(client, tenant):
    # Given members in and out of Berlin, with any capitalisation, one of them unsubscribed
    person = tenant()
    contact_list = people_list(client, person)
    members = add_people(client, person, contact_list["id"], {
        "ann@example.org": {"city": "Berlin", "age": 30}, "bob@example.org": {"city": "BERLIN", "age": 17},
        "cy@example.org": {"city": "berlin"}, "dee@example.org": {"city": "Bern", "age": 40},
        "eve@example.org": {}})
    set_status(person, contact_list["id"], members["cy@example.org"], SubscriberStatus.UNSUBSCRIBED)
    segment = create_segment(client, person, contact_list["id"])

    # When it is counted
    counted = api_call(client, "GET", segments_path(contact_list["id"], segment["id"], "count"), headers=person.headers)

    # Then every member in Berlin counts, three, of whom two are subscribed; GET shows the same count
    assert counted.status_code == 200, counted.json_body
    assert (counted.json_body["count"], counted.json_body["subscribed"]) == (3, 2)
    assert counted.json_body["counted_at"]
    shown = api_call(client, "GET", segments_path(contact_list["id"], segment["id"]), headers=person.headers)
    assert shown.json_body["segment"]["count"] == 3
    assert shown.json_body["segment"]["counted_at"] == counted.json_body["counted_at"]

    # and when its conditions change, the old count is not shown as if it were the new one
    changed = api_call(client, "PATCH", segments_path(contact_list["id"], segment["id"]), {
        "match": "any", "conditions": [{"field": "age", "op": "lt", "value": 18},
                                       {"field": "city", "op": "not_set"}]}, headers=person.headers)
    assert changed.status_code == 200 and changed.json_body["segment"]["count"] is None
    again = api_call(client, "GET", segments_path(contact_list["id"], segment["id"], "count"), headers=person.headers)
    assert again.json_body["count"] == 2   # bob (17) and eve (no city)


def test_a_count_overtaken_by_an_edit_is_not_kept_as_the_new_conditions_count(client, tenant, monkeypatch):
    # Given a segment being counted, edited by the customer while its members are being read
    person = tenant()
    contact_list = people_list(client, person)
    add_people(client, person, contact_list["id"], {f"r{n}@example.org": {"city": "Berlin"} for n in range(3)})
    segment = create_segment(client, person, contact_list["id"])
    from chalicelib.services.audience import segments

    reading = subscriber_store.all_in_list

    def read_while_edited(account_id, list_id):
        for n, member in enumerate(reading(account_id, list_id)):
            if n == 1:
                segments.update(account_id, list_id, segment["id"], {"conditions": [
                    {"field": "city", "op": "eq", "value": "Paris"}]})
            yield member

    monkeypatch.setattr(subscriber_store, "all_in_list", read_while_edited)

    # When the count finishes
    counted = api_call(client, "GET", segments_path(contact_list["id"], segment["id"], "count"), headers=person.headers)

    # Then it is refused, and the edited segment does not show the old conditions' count as its own
    assert counted.status_code == 409 and counted.json_body["error"]["code"] == "segment_changed"
    shown = api_call(client, "GET", segments_path(contact_list["id"], segment["id"]), headers=person.headers)
    assert shown.json_body["segment"]["count"] is None
    assert shown.json_body["segment"]["conditions"] == [{"field": "city", "op": "eq", "value": "Paris"}]


# --- a campaign to a segment ---------------------------------------------------------------------

def sending_list(client, person) -> dict:
    add_domain(client, person)
    from tests.integration.campaign_sending import verify_sender_domain

    verify_sender_domain()
    return people_list(client, person, from_email="news@acme.example")


def test_a_campaign_to_a_segment_reaches_exactly_its_subscribed_members(client, tenant):
    # Given 30 members: VIPs (every third), of whom one unsubscribed and one on the suppression list
    person = tenant(plan="monthly", subscriber_level=1000)
    contact_list = sending_list(client, person)
    people = {f"reader{n}@example.org": {"first_name": f"R{n}", "vip": n % 3 == 0} for n in range(30)}
    members = add_people(client, person, contact_list["id"], people)
    set_status(person, contact_list["id"], members["reader3@example.org"], SubscriberStatus.UNSUBSCRIBED)
    api_call(client, "POST", "/v1/suppressions", {"email": "reader6@example.org"}, headers=person.headers)
    vips = create_segment(client, person, contact_list["id"], {
        "name": "VIPs", "conditions": [{"field": "vip", "op": "eq", "value": True}]})
    campaign = draft(client, person, contact_list["id"], segment_id=vips["id"])
    assert campaign["segment_id"] == vips["id"]

    # When it is sent, and the segment is then widened to everyone before the fan-out runs
    started = send(client, person, campaign["id"])
    assert api_call(client, "PATCH", segments_path(contact_list["id"], vips["id"]), {
        "conditions": [{"field": "email", "op": "contains", "value": "@"}]}, headers=person.headers).status_code == 200
    drain(make_pump())

    # Then it reserved and reached the VIPs still subscribed and not suppressed, each once, and no one else
    assert started.status_code == 202, started.json_body
    # (reserved: the 9 subscribed VIPs; as for a whole list, the suppressed one's email is given back unsent)
    assert started.json_body["campaign"]["recipients"] == 9
    reached = sorted(str(m["To"]).lower() for m in sent_messages("News for"))
    left = ("reader3@example.org", "reader6@example.org")
    expected = sorted(a for a, v in people.items() if v["vip"] and a not in left)
    assert reached == expected
    done = api_call(client, "GET", f"/v1/campaigns/{campaign['id']}", headers=person.headers).json_body["campaign"]
    assert done["status"] == "sent" and done["sent"] == 8
    assert Usage.get(person.account_id, clock.now().strftime("%Y-%m")).emails == 8   # what was not sent came back
    assert queue_depth("send") == 0 and queue_depth("fanout") == 0


def test_a_segment_fanned_out_over_many_pages_and_invocations_is_judged_as_of_the_start(client, tenant, monkeypatch):
    # Given pages of 4 members, a fan-out that always looks short of time, and a segment of the members who
    # subscribed within the last day, of whom only every fifth is a VIP
    monkeypatch.setattr(fanout, "PAGE_SIZE", 4)
    person = tenant(plan="monthly", subscriber_level=1000)
    contact_list = sending_list(client, person)
    people = {f"reader{n}@example.org": {"vip": n % 5 == 0} for n in range(22)}
    add_people(client, person, contact_list["id"], people)
    recent_vips = create_segment(client, person, contact_list["id"], {"name": "New VIPs", "conditions": [
        {"field": "subscribed_at", "op": "within_days", "value": 1}, {"field": "vip", "op": "eq", "value": True}]})
    campaign = draft(client, person, contact_list["id"], segment_id=recent_vips["id"])
    assert send(client, person, campaign["id"]).json_body["campaign"]["recipients"] == 5

    # When the fan-out runs two days later, one page per invocation (pages without a VIP among them)
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=2))
    drain(make_pump(timeout_seconds=10))

    # Then the five VIPs, who had subscribed within a day when the send started, got one email each
    reached = sorted(str(m["To"]).lower() for m in sent_messages("News for"))
    assert reached == sorted(a for a, v in people.items() if v["vip"])
    done = stored_campaign(person, campaign["id"])   # (the session has expired by then)
    assert (done.status, done.sent_count, done.fanout_page) == ("sent", 5, 6)


def test_a_segment_with_no_subscribed_member_is_refused_at_send_with_the_reason(client, tenant):
    person = tenant(plan="monthly", subscriber_level=1000)
    contact_list = sending_list(client, person)
    add_people(client, person, contact_list["id"], {"ann@example.org": {"city": "Paris"}})
    segment = create_segment(client, person, contact_list["id"])
    campaign = draft(client, person, contact_list["id"], segment_id=segment["id"])

    answer = send(client, person, campaign["id"])

    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "no_recipients" and "segment" in answer.json_body["error"]["message"]
    assert fanout_messages() == []


def test_a_campaigns_segment_must_be_of_its_list_and_can_be_cleared(client, tenant):
    owner, stranger = tenant(), tenant()
    news, offers = people_list(client, owner), people_list(client, owner)
    news_segment = create_segment(client, owner, news["id"])
    offers_segment = create_segment(client, owner, offers["id"])
    strangers_segment = create_segment(client, stranger, people_list(client, stranger)["id"])

    other_list = api_call(client, "POST", "/v1/campaigns", {"list_id": news["id"], "name": "N", "subject": "S",
                          "html": "<p>x</p>", "segment_id": offers_segment["id"]}, headers=owner.headers)
    other_tenant = api_call(client, "POST", "/v1/campaigns", {"list_id": news["id"], "name": "N", "subject": "S",
                            "html": "<p>x</p>", "segment_id": strangers_segment["id"]}, headers=owner.headers)
    assert other_list.status_code == 422 and other_list.json_body["error"]["code"] == "segment_of_another_list"
    assert other_tenant.status_code == 404
    assert api_call(client, "GET", "/v1/campaigns", headers=owner.headers).json_body["items"] == []

    campaign = draft(client, owner, news["id"], segment_id=news_segment["id"])
    moved = api_call(client, "PATCH", f"/v1/campaigns/{campaign['id']}", {"list_id": offers["id"]},
                     headers=owner.headers)
    assert moved.status_code == 422   # its segment is of the old list: say which one to use
    both = api_call(client, "PATCH", f"/v1/campaigns/{campaign['id']}",
                    {"list_id": offers["id"], "segment_id": offers_segment["id"]}, headers=owner.headers)
    assert both.status_code == 200 and both.json_body["campaign"]["segment_id"] == offers_segment["id"]
    cleared = api_call(client, "PATCH", f"/v1/campaigns/{campaign['id']}", {"segment_id": None}, headers=owner.headers)
    assert cleared.status_code == 200 and cleared.json_body["campaign"]["segment_id"] is None
    shown = api_call(client, "GET", f"/v1/campaigns/{campaign['id']}", headers=owner.headers).json_body["campaign"]
    assert shown["segment_id"] is None and shown["list_id"] == offers["id"]


def test_a_segment_a_scheduled_campaign_will_use_cannot_be_deleted_and_a_drafts_can(client, tenant):
    # Given a campaign scheduled for tomorrow to a segment, and a draft to another
    person = tenant(plan="monthly", subscriber_level=1000)
    contact_list = sending_list(client, person)
    add_people(client, person, contact_list["id"], {"ann@example.org": {"city": "Berlin"}})
    planned = create_segment(client, person, contact_list["id"])
    drafted = create_segment(client, person, contact_list["id"])
    scheduled = draft(client, person, contact_list["id"], name="Tomorrow's news", segment_id=planned["id"])
    when = clock.iso(clock.now() + timedelta(days=1))
    assert send(client, person, scheduled["id"], {"scheduled_at": when}).json_body["campaign"]["status"] == "scheduled"
    unsent = draft(client, person, contact_list["id"], segment_id=drafted["id"])

    # When the customer deletes both segments
    refused = api_call(client, "DELETE", segments_path(contact_list["id"], planned["id"]), headers=person.headers)
    deleted = api_call(client, "DELETE", segments_path(contact_list["id"], drafted["id"]), headers=person.headers)

    # Then the scheduled campaign's is kept, with a 409 naming the campaign; the draft's goes
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "segment_in_use"
    assert "Tomorrow's news" in refused.json_body["error"]["message"]
    planned_path = segments_path(contact_list["id"], planned["id"])
    assert api_call(client, "GET", planned_path, headers=person.headers).status_code == 200
    assert deleted.status_code == 204

    # and sending the draft then asks for another segment, and sends nothing
    answer = send(client, person, unsent["id"])
    assert answer.status_code == 422 and answer.json_body["error"]["code"] == "segment_deleted"
    assert fanout_messages() == []

    # and once the scheduled campaign is cancelled, its segment can go
    cancelled = api_call(client, "POST", f"/v1/campaigns/{scheduled['id']}/cancel", headers=person.headers)
    assert cancelled.status_code == 200
    assert api_call(client, "DELETE", planned_path, headers=person.headers).status_code == 204


# --- finding a member by address -----------------------------------------------------------------

def find(client, person, list_id: str, address: str, extra: str = ""):
    from urllib.parse import quote

    return api_call(client, "GET", f"/v1/lists/{list_id}/subscribers?email={quote(address)}{extra}",
                    headers=person.headers)


def test_a_member_is_found_by_address_normalised_as_on_add(client, tenant):
    person = tenant()
    contact_list = people_list(client, person)
    alice = subscribe(client, person, contact_list["id"], "alice@example.com")
    subscribe(client, person, contact_list["id"], "bob@example.com")

    found = find(client, person, contact_list["id"], "Alice@Example.COM ")
    missing = find(client, person, contact_list["id"], "carol@example.com")
    wrong_status = find(client, person, contact_list["id"], "alice@example.com", "&status=unsubscribed")

    assert found.status_code == 200, found.json_body
    assert [m["id"] for m in found.json_body["items"]] == [alice["id"]] and found.json_body["next_cursor"] is None
    assert found.json_body["items"][0]["email"] == "alice@example.com"
    assert missing.status_code == 200 and missing.json_body == {"items": [], "next_cursor": None}
    assert wrong_status.json_body["items"] == []


def test_looking_up_an_address_in_another_tenants_list_is_404_and_an_invalid_one_422(client, tenant):
    owner, stranger = tenant(), tenant()
    contact_list = people_list(client, owner)
    subscribe(client, owner, contact_list["id"], "alice@example.com")

    theirs = find(client, stranger, contact_list["id"], "alice@example.com")
    missing_list = find(client, stranger, "lst_missing000000000000000", "alice@example.com")
    invalid = find(client, owner, contact_list["id"], "not an address")

    assert theirs.status_code == missing_list.status_code == 404
    assert theirs.json_body == missing_list.json_body
    assert invalid.status_code == 422 and invalid.json_body["error"]["code"] == "invalid_email"
