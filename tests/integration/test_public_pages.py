"""The public pages people reach from their inbox: confirm (R13), unsubscribe (R19), signup forms (R18)."""
from __future__ import annotations

import re

from chalicelib.models.suppressions import SuppressionReason
from chalicelib.services.audience import suppressions
from tests.integration.conftest import api_call
from tests.integration.listing import add_subscriber, make_list, path_of, subscribe, subscriber_count
from tests.integration.mailbox import links_in, messages_to, text_of
from tests.integration.signup_forms import (  # noqa: F401 - owner, single and double are fixtures
    FORM,
    double,
    form_path,
    html,
    owner,
    post_form,
    single,
    stamp_for,
)


def subscriber(client, owner, list_id: str, subscriber_id: str) -> dict:
    answer = api_call(client, "GET", f"/v1/lists/{list_id}/subscribers/{subscriber_id}", headers=owner.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["subscriber"]


def suppressed(client, owner) -> list[tuple[str | None, str]]:
    items = api_call(client, "GET", "/v1/suppressions", headers=owner.headers).json_body["items"]
    return [(item["email"], item["reason"]) for item in items]


def confirm_link(address: str) -> str:
    found = [link for message in messages_to(address) for link in links_in(message, "/confirm/")]
    assert found, "no confirmation email was sent"
    return found[-1]


def tampered(url: str) -> str:
    """The same link with one character of its signature changed."""
    return url[:-2] + ("x" if url[-2] != "x" else "y") + url[-1]


# --- double opt-in confirmation (R13) ----------------------------------------------------------

def test_given_a_double_opt_in_list_when_an_address_is_added_then_it_is_pending_and_asked_to_confirm(
        client, owner, double):
    answer = add_subscriber(client, owner, double["id"], "ada@example.org")

    assert answer.status_code == 201
    assert answer.json_body["subscriber"]["status"] == "pending"
    mail = messages_to("ada@example.org")
    assert len(mail) == 1
    message = mail[0]
    assert message["From"].addresses[0].display_name == "Acme Insiders"
    assert message["From"].addresses[0].addr_spec == "no-reply@mailroom.localhost"
    assert str(message["Reply-To"]) == "editor@acme.example"
    assert "Acme Insiders" in str(message["Subject"])
    assert message["List-Unsubscribe"] is None


def test_given_a_confirmation_email_when_read_then_it_carries_only_the_request_to_confirm(client, owner, double):
    subscribe(client, owner, double["id"], "ada@example.org")

    message = messages_to("ada@example.org")[0]
    text = text_of(message)
    html_part = message.get_body(preferencelist=("html",)).get_content()
    link = confirm_link("ada@example.org")

    assert link.startswith("https://mailroom.test.invalid/confirm/")
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines == [
        "Please confirm that you want to subscribe to Acme Insiders:",
        link,
        "If you did not ask to subscribe, ignore this email: you will not be added.",
    ]
    assert re.findall(r'href="([^"]+)"', html_part) == [link]
    assert "<img" not in html_part
    assert [part.get_content_type() for part in message.walk() if not part.is_multipart()] == [
        "text/plain", "text/html"]


def test_given_a_list_without_reply_to_when_confirming_then_replies_go_to_its_from_email(client, owner):
    plain = make_list(client, owner, double_opt_in=True)
    subscribe(client, owner, plain["id"], "ada@example.org")
    assert str(messages_to("ada@example.org")[0]["Reply-To"]) == "news@acme.example"


def test_given_a_pending_subscriber_when_the_link_is_opened_then_subscribed_and_it_can_be_opened_again(
        client, owner, double):
    pending = subscribe(client, owner, double["id"], "ada@example.org")
    path = path_of(confirm_link("ada@example.org"))

    first = client.http.get(path)
    second = client.http.get(path)

    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("text/html")
    assert "You&#x27;re subscribed to Acme Insiders" in html(first)
    assert second.status_code == 200 and "subscribed to Acme Insiders" in html(second)
    shown = subscriber(client, owner, double["id"], pending["id"])
    assert shown["status"] == "subscribed"
    assert shown["confirmed_at"] is not None
    assert shown["consent"]["confirmed_ip"] == "127.0.0.1"
    assert shown["consent"]["source"] == "api-test"
    assert len(messages_to("ada@example.org")) == 1


def test_given_a_forged_confirm_link_when_opened_then_404_page(client):
    for path in ["/confirm/forged", "/confirm/" + "a" * 80]:
        answer = client.http.get(path)
        assert answer.status_code == 404
        assert answer.headers["Content-Type"].startswith("text/html")


def test_given_an_altered_confirm_link_when_opened_then_404_and_still_pending(client, owner, double):
    pending = subscribe(client, owner, double["id"], "ada@example.org")

    answer = client.http.get(path_of(tampered(confirm_link("ada@example.org"))))

    assert answer.status_code == 404
    assert subscriber(client, owner, double["id"], pending["id"])["status"] == "pending"


def test_given_a_confirm_link_of_a_deleted_subscriber_when_opened_then_404(client, owner, double):
    pending = subscribe(client, owner, double["id"], "ada@example.org")
    api_call(client, "DELETE", f"/v1/lists/{double['id']}/subscribers/{pending['id']}", headers=owner.headers)

    assert client.http.get(path_of(confirm_link("ada@example.org"))).status_code == 404
    assert subscriber_count(owner) == 0


def test_given_a_pending_subscriber_who_unsubscribed_when_the_old_confirm_link_is_opened_then_404(
        client, owner, double):
    pending = subscribe(client, owner, double["id"], "ada@example.org")
    client.http.post(path_of(pending["unsubscribe_url"]), headers=FORM, body="List-Unsubscribe=One-Click")

    assert client.http.get(path_of(confirm_link("ada@example.org"))).status_code == 404
    assert subscriber(client, owner, double["id"], pending["id"])["status"] == "unsubscribed"


# --- unsubscribe (R19, RFC 8058) ---------------------------------------------------------------

def test_given_an_unsubscribe_link_when_opened_with_get_then_a_button_is_shown_and_nothing_changes(
        client, owner, single):
    member = subscribe(client, owner, single["id"], "ada@example.org")

    answer = client.http.get(path_of(member["unsubscribe_url"]))

    assert answer.status_code == 200
    page = html(answer)
    assert '<form method="post"' in page and "<button" in page and "<script" not in page
    assert "Acme News" in page
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert subscriber(client, owner, single["id"], member["id"])["status"] == "subscribed"
    assert suppressed(client, owner) == []


ONE_CLICK_BODIES = [   # what mail providers and browsers send to an RFC 8058 target
    (FORM, "List-Unsubscribe=One-Click"),
    ({"Content-Type": "multipart/form-data; boundary=XyZ"},
     '--XyZ\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--XyZ--\r\n'),
    ({"Content-Type": "application/json"}, ""),
    ({"Content-Type": "application/json"}, "{}"),
    ({"Content-Type": "text/plain"}, "List-Unsubscribe=One-Click"),
    ({}, None),
]


def test_given_a_one_click_post_when_received_then_unsubscribed_at_once_and_again_is_harmless(
        client, owner, single):
    for n, (headers, body) in enumerate(ONE_CLICK_BODIES):
        member = subscribe(client, owner, single["id"], f"person{n}@example.org")
        path = path_of(member["unsubscribe_url"])

        first = client.http.post(path, headers=headers, body=body)
        second = client.http.post(path, headers=headers, body=body)

        for answer in (first, second):
            assert answer.status_code == 200, headers
            assert "Location" not in answer.headers and "Set-Cookie" not in answer.headers
            assert answer.headers["Content-Type"].startswith("text/html")
            assert "unsubscribed" in html(answer)
        shown = subscriber(client, owner, single["id"], member["id"])
        assert shown["status"] == "unsubscribed" and shown["unsubscribed_at"] is not None, headers
        assert (f"person{n}@example.org", "unsubscribed") in suppressed(client, owner)
    assert len(suppressed(client, owner)) == len(ONE_CLICK_BODIES)


def test_given_one_click_on_one_list_when_the_address_is_on_another_then_it_leaves_all_of_the_account(
        client, owner, single, double):
    here = subscribe(client, owner, single["id"], "ada@example.org")
    there = subscribe(client, owner, double["id"], "ada@example.org")
    stranger = subscribe(client, owner, single["id"], "bob@example.org")

    client.http.post(path_of(here["unsubscribe_url"]), headers=FORM, body="List-Unsubscribe=One-Click")

    assert subscriber(client, owner, double["id"], there["id"])["status"] == "unsubscribed"
    assert subscriber(client, owner, single["id"], stranger["id"])["status"] == "subscribed"


def test_given_a_forged_or_altered_unsubscribe_link_when_used_then_404_and_nothing_changes(client, owner, single):
    member = subscribe(client, owner, single["id"], "ada@example.org")

    for path in (path_of(tampered(member["unsubscribe_url"])), "/unsubscribe/forged"):
        for answer in (client.http.get(path),
                       client.http.post(path, headers=FORM, body="List-Unsubscribe=One-Click")):
            assert answer.status_code == 404
            assert answer.headers["Content-Type"].startswith("text/html")
    assert subscriber(client, owner, single["id"], member["id"])["status"] == "subscribed"
    assert suppressed(client, owner) == []


def test_given_a_confirm_token_when_used_to_unsubscribe_then_404(client, owner, double):
    member = subscribe(client, owner, double["id"], "ada@example.org")
    token = confirm_link("ada@example.org").rsplit("/", 1)[1]

    answer = client.http.post(f"/unsubscribe/{token}", headers=FORM, body="List-Unsubscribe=One-Click")

    assert answer.status_code == 404
    assert subscriber(client, owner, double["id"], member["id"])["status"] == "pending"


def test_given_the_link_of_a_deleted_subscriber_when_clicked_then_the_page_still_says_unsubscribed(
        client, owner, single):
    member = subscribe(client, owner, single["id"], "ada@example.org")
    api_call(client, "DELETE", f"/v1/lists/{single['id']}/subscribers/{member['id']}", headers=owner.headers)

    answer = client.http.post(path_of(member["unsubscribe_url"]), headers=FORM, body="List-Unsubscribe=One-Click")

    assert answer.status_code == 200
    assert subscriber_count(owner) == 0


# --- hosted signup form (R18) ------------------------------------------------------------------

def only_member(client, owner, list_id: str) -> dict:
    items = api_call(client, "GET", f"/v1/lists/{list_id}/subscribers", headers=owner.headers).json_body["items"]
    assert len(items) == 1, items
    return items[0]


def test_given_a_form_link_when_opened_then_it_asks_for_the_address_and_the_lists_fields(client, owner, single):
    answer = client.http.get(form_path(owner, single))

    assert answer.status_code == 200
    page = html(answer)
    assert "Subscribe to Acme Weekly" in page
    for name in ("email", "first_name", "age", "vip"):
        assert f'name="{name}"' in page
    assert 'type="checkbox"' in page and 'type="number"' in page
    assert "<script" not in page


def test_given_a_single_opt_in_form_when_submitted_then_subscribed_with_form_consent(client, owner, single):
    answer = post_form(client, form_path(owner, single), email="Ada@Example.org", first_name="Ada", age="36", vip="on")

    assert answer.status_code == 200
    assert "subscribed to Acme Weekly" in html(answer)
    member = only_member(client, owner, single["id"])
    assert member["email"] == "ada@example.org" and member["status"] == "subscribed"
    assert member["fields"] == {"first_name": "Ada", "age": 36, "vip": True}
    assert member["consent"]["source"] == "form" and member["consent"]["ip"] == "127.0.0.1"
    assert member["consent"]["at"]
    assert messages_to("ada@example.org") == []


def test_given_a_multipart_form_when_submitted_then_it_is_read_too(client, owner, single):
    path = form_path(owner, single)
    body = ('--B\r\nContent-Disposition: form-data; name="email"\r\n\r\nada@example.org\r\n'
            f'--B\r\nContent-Disposition: form-data; name="form-stamp"\r\n\r\n{stamp_for(path)}\r\n'
            '--B\r\nContent-Disposition: form-data; name="first_name"\r\n\r\nAda\r\n--B--\r\n')

    answer = client.http.post(path, headers={"Content-Type": "multipart/form-data; boundary=B"},
                              body=body)

    assert answer.status_code == 200
    assert only_member(client, owner, single["id"])["fields"] == {"first_name": "Ada", "vip": False}


def test_given_a_double_opt_in_form_when_submitted_then_pending_until_confirmed(client, owner, double):
    answer = post_form(client, form_path(owner, double), email="ada@example.org")

    assert answer.status_code == 200
    assert "check your inbox" in html(answer)
    assert only_member(client, owner, double["id"])["status"] == "pending"
    assert client.http.get(path_of(confirm_link("ada@example.org"))).status_code == 200
    assert only_member(client, owner, double["id"])["status"] == "subscribed"


def test_given_a_pending_address_when_the_form_is_sent_again_at_once_then_no_second_email(client, owner, double):
    path = form_path(owner, double)
    post_form(client, path, email="ada@example.org")
    post_form(client, path, email="ada@example.org")

    assert len(messages_to("ada@example.org")) == 1
    assert subscriber_count(owner) == 1


def test_given_a_bad_form_when_submitted_then_the_form_comes_back_with_the_reason(client, owner, single):
    cases = [
        ({"email": "not-an-address"}, "not valid"),
        ({"email": "postmaster@example.org"}, "Role"),
        ({"email": "ada@example.org", "age": "old", "first_name": "<Ada>"}, "must be a number"),
    ]
    for values, message in cases:
        answer = post_form(client, form_path(owner, single), **values)

        assert answer.status_code == 422, values
        page = html(answer)
        assert 'class="error"' in page and message in page and 'name="email"' in page
        assert "<Ada>" not in page
    assert api_call(client, "GET", f"/v1/lists/{single['id']}/subscribers",
                    headers=owner.headers).json_body["items"] == []


def test_given_a_bot_filling_the_hidden_field_when_submitted_then_nothing_is_stored(client, owner, single):
    answer = post_form(client, form_path(owner, single), **{"email": "ada@example.org", "hp-website": "spam"})

    assert answer.status_code == 200
    assert subscriber_count(owner) == 0


def test_given_a_forged_form_link_when_used_then_404(client):
    for path in ["/f/forged", "/f/" + "b" * 60]:
        assert client.http.get(path).status_code == 404
        assert post_form(client, path, email="ada@example.org").status_code == 404


def test_given_a_form_of_a_deleted_list_when_opened_then_404(client, owner, single):
    path = form_path(owner, single)
    api_call(client, "DELETE", f"/v1/lists/{single['id']}", headers=owner.headers)
    assert client.http.get(path).status_code == 404


def test_given_an_address_that_unsubscribed_when_it_signs_up_again_on_the_form_then_it_must_confirm_first(
        client, owner, single):
    member = subscribe(client, owner, single["id"], "ada@example.org")
    client.http.post(path_of(member["unsubscribe_url"]), headers=FORM, body="List-Unsubscribe=One-Click")
    assert add_subscriber(client, owner, single["id"], "ada@example.org").json_body["error"]["code"] == "suppressed"
    assert api_call(client, "DELETE", "/v1/suppressions/ada%40example.org", headers=owner.headers).status_code == 422

    answer = post_form(client, form_path(owner, single), email="ada@example.org", first_name="Ada")

    assert answer.status_code == 200 and "check your inbox" in html(answer)
    assert subscriber(client, owner, single["id"], member["id"])["status"] == "pending"
    assert suppressed(client, owner) == [("ada@example.org", "unsubscribed")]

    assert client.http.get(path_of(confirm_link("ada@example.org"))).status_code == 200

    shown = subscriber(client, owner, single["id"], member["id"])
    assert shown["status"] == "subscribed" and shown["consent"]["source"] == "form"
    assert shown["fields"] == {"first_name": "Ada", "vip": False}
    assert suppressed(client, owner) == []
    assert subscriber_count(owner) == 1


def test_given_an_address_that_unsubscribed_elsewhere_when_it_signs_up_on_a_new_list_then_confirming_lifts_it(
        client, owner, single, double):
    member = subscribe(client, owner, single["id"], "ada@example.org")
    client.http.post(path_of(member["unsubscribe_url"]), headers=FORM, body="List-Unsubscribe=One-Click")
    fresh = make_list(client, owner, name="Acme Jobs", double_opt_in=False)

    post_form(client, form_path(owner, fresh), email="ada@example.org")
    assert only_member(client, owner, fresh["id"])["status"] == "pending"
    client.http.get(path_of(confirm_link("ada@example.org")))

    assert only_member(client, owner, fresh["id"])["status"] == "subscribed"
    assert subscriber(client, owner, single["id"], member["id"])["status"] == "unsubscribed"
    assert suppressed(client, owner) == []


def test_given_an_address_that_complained_or_bounced_when_it_uses_the_form_then_it_is_not_added(
        client, owner, single):
    suppressions.suppress(owner.account_id, "angry@example.org", SuppressionReason.COMPLAINED)
    suppressions.suppress(owner.account_id, "gone@example.org", SuppressionReason.BOUNCED)

    for address in ("angry@example.org", "gone@example.org"):
        answer = post_form(client, form_path(owner, single), email=address)
        assert answer.status_code == 422
        assert messages_to(address) == []
    assert subscriber_count(owner) == 0


def test_given_an_old_confirm_link_when_clicked_after_a_later_unsubscribe_then_the_unsubscribe_stands(
        client, owner, double):
    subscribe(client, owner, double["id"], "ada@example.org")
    path = path_of(confirm_link("ada@example.org"))
    client.http.get(path)
    suppressions.suppress(owner.account_id, "ada@example.org", SuppressionReason.UNSUBSCRIBED)

    assert client.http.get(path).status_code == 200

    assert suppressed(client, owner) == [("ada@example.org", "unsubscribed")]
