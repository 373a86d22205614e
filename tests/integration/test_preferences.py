"""The preference centre (/preferences/{token}) driven over HTTP as a recipient's browser does, and its link in
every campaign email."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from chalicelib import errors, ses
from chalicelib.models import notices as notice_store
from chalicelib.models.notices import NoticeKind
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.rendering import tracking
from chalicelib.services.audience import suppressions
from tests.integration.campaign_sending import audience, drain, make_pump, sent_messages, start_sending
from tests.integration.conftest import api_call
from tests.integration.listing import make_list, path_of, subscribe
from tests.integration.mailbox import links_in, messages_to, text_of
from tests.integration.signup_forms import FORM, html

ADA = "ada@example.org"
NEWS_FIELDS = [{"key": "first_name", "label": "First name", "type": "text", "editable": True},
               {"key": "age", "label": "Age", "type": "number", "editable": True},
               {"key": "vip", "label": "VIP offers", "type": "boolean", "editable": True},
               {"key": "score", "label": "Internal score", "type": "number"}]
EVENT_FIELDS = [{"key": "birthday", "label": "Birthday", "type": "date", "editable": True}]


@pytest.fixture
def owner(tenant):
    return tenant()


@pytest.fixture
def ada(client, owner):
    """Ada on two lists of one customer (one with digests of unsubscribes), with field values."""
    news = make_list(client, owner, name="Acme News", double_opt_in=False, fields=NEWS_FIELDS,
                     notify={"subscribes": True, "unsubscribes": True})
    events = make_list(client, owner, name="Acme Events", double_opt_in=True, fields=EVENT_FIELDS)
    on_news = subscribe(client, owner, news["id"], ADA, fields={"first_name": "Ada", "age": 36, "score": 7})
    on_events = subscribe(client, owner, events["id"], ADA, fields={"birthday": "1990-12-10"})
    confirm = [link for m in messages_to(ADA) for link in links_in(m, "/confirm/")][-1]
    assert client.http.get(path_of(confirm)).status_code == 200
    path = path_of(tracking.preferences_url(owner.account_id, news["id"], on_news["id"]))
    return {"news": news, "events": events, "news_member": on_news, "events_member": on_events, "path": path}


def member(client, owner, list_id: str, subscriber_id: str) -> dict:
    answer = api_call(client, "GET", f"/v1/lists/{list_id}/subscribers/{subscriber_id}", headers=owner.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["subscriber"]


def state(client, owner, ada) -> dict:
    news = member(client, owner, ada["news"]["id"], ada["news_member"]["id"])
    events = member(client, owner, ada["events"]["id"], ada["events_member"]["id"])
    return {"news": (news["status"], news["fields"]), "events": (events["status"], events["fields"])}


def full_form(ada, **changes) -> dict:
    """What the page posts when Ada presses Save without changing anything, with `changes` applied."""
    news, events = ada["news"]["id"], ada["events"]["id"]
    values = {f"{news}:status": "subscribed", f"{news}:.fields": "1", f"{news}:first_name": "Ada",
              f"{news}:age": "36", f"{events}:status": "subscribed", f"{events}:.fields": "1",
              f"{events}:birthday": "1990-12-10"}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def save(client, path: str, values: dict):
    return client.http.post(path, headers=FORM, body=urlencode(values))


def suppressed(owner, address: str = ADA):
    found = suppressions.find(owner.account_id, address)
    return found.reason if found else None


def unsubscribe_notices(owner, list_id: str) -> int:
    return sum(1 for n in notice_store.waiting(notice_store.list_key(owner.account_id, list_id), 100)
               if n.kind == NoticeKind.UNSUBSCRIBED.value)


# --- what the page shows ------------------------------------------------------------------------------

def test_the_page_shows_the_addresss_lists_of_this_account_with_editable_fields_prefilled(client, owner, ada,
                                                                                           tenant):
    # Given Ada also on another customer's list
    stranger = tenant()
    subscribe(client, stranger, make_list(client, stranger, name="Other Shop")["id"], ADA)
    before = state(client, owner, ada)

    # When she opens her preference centre
    answer = client.http.get(ada["path"])

    # Then it lists both of this customer's lists with their status, and only the fields marked editable
    assert answer.status_code == 200
    page = html(answer)
    assert "Acme News" in page and "Acme Events" in page and "Other Shop" not in page
    assert page.count("You receive these emails.") == 2
    news, events = ada["news"]["id"], ada["events"]["id"]
    assert f'name="{news}:first_name" id="p-{news}:first_name" value="Ada"' in page
    assert f'name="{news}:age" id="p-{news}:age" step="any" value="36"' in page
    assert f'type="checkbox" name="{news}:vip"' in page
    assert f'type="date" name="{events}:birthday" id="p-{events}:birthday" value="1990-12-10"' in page
    assert "Internal score" not in page and ":score" not in page
    assert "Unsubscribe from all" in page and "<script" not in page
    # and opening it changed nothing
    assert state(client, owner, ada) == before


def test_a_forged_or_altered_link_is_a_404_page_and_changes_nothing(client, owner, ada):
    before = state(client, owner, ada)
    altered = ada["path"][:-2] + ("x" if ada["path"][-2] != "x" else "y") + ada["path"][-1]
    unsubscribe_link = path_of(ada["news_member"]["unsubscribe_url"]).replace("/unsubscribe/", "/preferences/")

    for path in ("/preferences/forged", altered, unsubscribe_link):
        for answer in (client.http.get(path), save(client, path, {"action": "unsubscribe-all"}),
                       save(client, path, full_form(ada, **{f"{ada['news']['id']}:status": "unsubscribed"}))):
            assert answer.status_code == 404, path
            assert "Link not valid" in html(answer)
    assert state(client, owner, ada) == before and suppressed(owner) is None


def test_a_deleted_members_link_is_a_404_page(client, owner, ada):
    api_call(client, "DELETE", f"/v1/lists/{ada['news']['id']}/subscribers/{ada['news_member']['id']}",
             headers=owner.headers)

    assert client.http.get(ada["path"]).status_code == 404


# --- saving fields ------------------------------------------------------------------------------------

def test_saving_changes_the_editable_fields_and_a_cleared_one_is_removed(client, owner, ada):
    news, events = ada["news"]["id"], ada["events"]["id"]

    answer = save(client, ada["path"], full_form(ada, **{f"{news}:first_name": "Ada L.", f"{news}:age": "",
                                                         f"{news}:vip": "on", f"{events}:birthday": "1991-01-02"}))

    assert answer.status_code == 200 and "Your preferences are saved." in html(answer)
    assert state(client, owner, ada) == {
        "news": ("subscribed", {"first_name": "Ada L.", "vip": True, "score": 7}),
        "events": ("subscribed", {"birthday": "1991-01-02"})}
    assert 'value="Ada L."' in html(answer)


def test_a_field_not_marked_editable_cannot_be_changed_from_the_page(client, owner, ada):
    news = ada["news"]["id"]

    save(client, ada["path"], full_form(ada, **{f"{news}:score": "99"}))

    assert state(client, owner, ada)["news"][1]["score"] == 7


@pytest.mark.parametrize("field, value, reason", [
    ("age", "old", "must be a number"),
    ("birthday", "2026-02-30", "real calendar date"),
    ("first_name", "x" * 1001, "longer than 1000"),
])
def test_a_bad_value_is_shown_on_the_page_and_nothing_at_all_is_saved(client, owner, ada, field, value, reason):
    # Given a change on each list, one of them with a value the API would refuse
    news, events = ada["news"]["id"], ada["events"]["id"]
    before = state(client, owner, ada)
    changes = {f"{news}:first_name": "<Ada>", f"{events}:birthday": "1991-01-02",
               f"{news}:status": "unsubscribed"}
    changes[f"{events if field == 'birthday' else news}:{field}"] = value

    # When she saves
    answer = save(client, ada["path"], full_form(ada, **changes))

    # Then the page comes back with the reason beside that list and what she typed, escaped, and nothing changed
    assert answer.status_code == 422
    page = html(answer)
    assert reason in page and 'class="error"' in page and "nothing was saved" in page
    assert "<Ada>" not in page and (field == "first_name" or "&lt;Ada&gt;" in page)
    assert state(client, owner, ada) == before and unsubscribe_notices(owner, news) == 0


# --- leaving and rejoining ----------------------------------------------------------------------------

def test_leaving_one_list_keeps_the_other_and_the_list_is_told(client, owner, ada):
    news = ada["news"]["id"]

    answer = save(client, ada["path"], full_form(ada, **{f"{news}:status": "unsubscribed"}))

    assert answer.status_code == 200
    assert state(client, owner, ada)["news"][0] == "unsubscribed"
    assert state(client, owner, ada)["events"][0] == "subscribed"
    assert suppressed(owner) is None
    assert unsubscribe_notices(owner, news) == 1
    assert "You do not receive these emails." in html(answer)


def test_unsubscribe_from_all_is_one_post_and_leaves_every_list(client, owner, ada):
    # When Ada presses the one button
    answer = save(client, ada["path"], {"action": "unsubscribe-all"})

    # Then she is off every list of the account and on its suppression list, and the page says so
    assert answer.status_code == 200 and "unsubscribed from all emails" in html(answer)
    assert {s for s, _ in state(client, owner, ada).values()} == {"unsubscribed"}
    assert suppressed(owner) == SuppressionReason.UNSUBSCRIBED.value
    assert unsubscribe_notices(owner, ada["news"]["id"]) == 1
    # and pressing it again is harmless
    assert save(client, ada["path"], {"action": "unsubscribe-all"}).status_code == 200


def test_after_unsubscribing_from_all_she_may_rejoin_a_single_opt_in_list_at_once(client, owner, ada):
    save(client, ada["path"], {"action": "unsubscribe-all"})
    news = ada["news"]["id"]

    answer = save(client, ada["path"], full_form(ada, **{f"{news}:status": "subscribed",
                                                         f"{ada['events']['id']}:status": "unsubscribed"}))

    assert answer.status_code == 200
    assert state(client, owner, ada)["news"][0] == "subscribed"
    assert state(client, owner, ada)["events"][0] == "unsubscribed"
    assert suppressed(owner) is None   # her own new choice lifts her unsubscribe, so the list can mail her
    assert member(client, owner, news, ada["news_member"]["id"])["consent"]["source"] == "preference_centre"


def test_rejoining_a_double_opt_in_list_asks_her_to_confirm_first(client, owner, ada, travel):
    # Given Ada left the double opt-in list a while after she first confirmed
    events = ada["events"]["id"]
    travel(timedelta(minutes=15))
    save(client, ada["path"], full_form(ada, **{f"{events}:status": "unsubscribed"}))
    sent_before = len(messages_to(ADA))

    # When she chooses to receive it again
    answer = save(client, ada["path"], full_form(ada, **{f"{events}:status": "subscribed"}))

    # Then she is asked to confirm by email, and is subscribed once she does
    assert answer.status_code == 200 and "click the link in the email we just sent" in html(answer)
    assert state(client, owner, ada)["events"][0] == "pending"
    assert len(messages_to(ADA)) == sent_before + 1
    confirm = links_in(messages_to(ADA)[-1], "/confirm/")[-1]
    assert client.http.get(path_of(confirm)).status_code == 200
    assert state(client, owner, ada)["events"][0] == "subscribed"


def test_leaving_and_rejoining_again_and_again_mails_her_at_most_once_in_ten_minutes(client, owner, ada, travel):
    events = ada["events"]["id"]
    travel(timedelta(minutes=15))
    sent_before = len(messages_to(ADA))

    for _ in range(3):
        save(client, ada["path"], full_form(ada, **{f"{events}:status": "unsubscribed"}))
        answer = save(client, ada["path"], full_form(ada, **{f"{events}:status": "subscribed"}))
        assert answer.status_code == 200 and state(client, owner, ada)["events"][0] == "pending"

    assert len(messages_to(ADA)) == sent_before + 1


@pytest.mark.parametrize("reason", [SuppressionReason.COMPLAINED, SuppressionReason.BOUNCED])
def test_an_address_that_complained_or_bounced_is_never_subscribed_again_from_here(client, owner, ada, reason):
    # Given Ada left the news list, and her address was then suppressed for a complaint or a bounce
    news = ada["news"]["id"]
    save(client, ada["path"], full_form(ada, **{f"{news}:status": "unsubscribed"}))
    suppressions.suppress(owner.account_id, ADA, reason)

    # When the page is opened and a rejoin is posted anyway
    page = html(client.http.get(ada["path"]))
    save(client, ada["path"], full_form(ada, **{f"{news}:status": "subscribed"}))

    # Then no choice to rejoin is offered, and she stays unsubscribed
    assert f'name="{news}:status"' not in page and "cannot take this address back" in page
    assert state(client, owner, ada)["news"][0] == "unsubscribed"


def test_a_confirmation_email_that_cannot_be_sent_leaves_her_as_she_was(client, owner, ada, monkeypatch, travel):
    events = ada["events"]["id"]
    travel(timedelta(minutes=15))
    save(client, ada["path"], full_form(ada, **{f"{events}:status": "unsubscribed"}))

    class Down:
        def send(self, *args, **kwargs):
            raise errors.UpstreamError("SES is down")

    monkeypatch.setattr(ses, "mailer", lambda: Down())
    answer = save(client, ada["path"], full_form(ada, **{f"{events}:status": "subscribed"}))

    assert answer.status_code == 503
    assert state(client, owner, ada)["events"][0] == "unsubscribed"


# --- the link in every campaign email -----------------------------------------------------------------

def test_every_campaign_email_links_to_the_preference_centre_beside_the_unsubscribe_link(client, tenant):
    # Given a campaign whose template does its best to leave the footer out
    person = tenant()
    people = audience(client, person, subscribed=2)
    start_sending(person, people["list"]["id"], recipients=2, html="<p>No footer here {{ first_name }}</p>")

    # When it is sent
    drain(make_pump())

    # Then both parts of every email link to the recipient's own preference centre, next to the unsubscribe link
    messages = sent_messages()
    assert len(messages) == 2
    for message in messages:
        page_html = message.get_body(preferencelist=("html",)).get_content()
        text = text_of(message)
        in_html = re.findall(r'href="(https://[^"]+/preferences/[^"]+)"', page_html)
        assert len(in_html) == 1 and "Unsubscribe</a> · <a href=" in page_html
        assert f"Manage preferences: {in_html[0]}" in text
        # and the link opens the centre of the address it was sent to
        opened = client.http.get(path_of(in_html[0]))
        assert opened.status_code == 200 and str(message["To"]) in html(opened)


def test_unsubscribing_from_all_through_a_campaign_email_counts_on_that_campaign(client, tenant):
    # Given a sent campaign
    person = tenant()
    people = audience(client, person, subscribed=2)
    campaign_id = start_sending(person, people["list"]["id"], recipients=2)
    drain(make_pump())
    link = re.search(r"Manage preferences: (\S+)", text_of(sent_messages()[0])).group(1)

    # When a recipient unsubscribes from all in the preference centre it links to, twice
    for _ in range(2):
        assert save(client, path_of(link), {"action": "unsubscribe-all"}).status_code == 200

    # Then the campaign's report counts one unsubscribe
    report = api_call(client, "GET", f"/v1/campaigns/{campaign_id}/report", headers=person.headers).json_body
    assert report["report"]["unsubscribes"]["count"] == 1


def test_a_closed_accounts_centre_still_lets_her_leave_and_offers_no_rejoining(client, owner, ada):
    # Given Ada left the news list, and the customer then closed the account
    news = ada["news"]["id"]
    save(client, ada["path"], full_form(ada, **{f"{news}:status": "unsubscribed"}))
    assert api_call(client, "POST", "/v1/account/close", headers=owner.headers).status_code == 202

    # When she opens the centre, asks to rejoin, and then unsubscribes from all
    page = html(client.http.get(ada["path"]))
    save(client, ada["path"], full_form(ada, **{f"{news}:status": "subscribed"}))
    left = save(client, ada["path"], {"action": "unsubscribe-all"})

    # Then rejoining is not offered nor done, and leaving still works
    assert f'name="{news}:status"' not in page
    assert left.status_code == 200
    assert {s for s, _ in state(client, owner, ada).values()} == {"unsubscribed"}
