"""The hosted signup form as a customer gets it (form_url, an embeddable form_html) and as it resists abuse: the
honeypot, the signed minimum fill time, the hourly limits on confirmation emails, suspended and closed accounts."""
from __future__ import annotations

import threading
from datetime import timedelta
from html import unescape

import pytest

from chalicelib import errors
from chalicelib.services.accounts import throttle
from chalicelib.services.audience import form_guard, links
from tests.integration.conftest import api_call, stop_account
from tests.integration.listing import make_list, path_of, subscriber_count
from tests.integration.mailbox import messages_to
from tests.integration.signup_forms import (  # noqa: F401 - owner, single and double are fixtures
    double,
    html,
    owner,
    post_form,
    single,
    stamp_for,
    stamp_in,
)
from tests.integration.test_subscriber_limits import atomic_moto  # noqa: F401 - a fixture used below


def members(client, owner, list_id: str) -> list[dict]:
    return api_call(client, "GET", f"/v1/lists/{list_id}/subscribers", headers=owner.headers).json_body["items"]


def title(answer) -> str:
    page = html(answer)
    return page[page.index("<h1>"):page.index("</h1>")]


# --- form_url and form_html on the list ------------------------------------------------------------

def test_every_answer_with_a_list_carries_its_form_url_and_an_embeddable_form(client, owner, single):
    # Given a list, as created, read, paged and patched
    path = f"/v1/lists/{single['id']}"
    answers = [single, api_call(client, "GET", path, headers=owner.headers).json_body["list"],
               api_call(client, "GET", "/v1/lists", headers=owner.headers).json_body["items"][0],
               api_call(client, "PATCH", path, {"name": "Acme Weekly"}, headers=owner.headers).json_body["list"]]

    # Then each carries the hosted form's URL and a form that posts to it, the same every time
    assert {(a["form_url"], a["form_html"]) for a in answers} == {(single["form_url"], single["form_html"])}
    assert path_of(single["form_url"]).startswith("/f/")
    embed = single["form_html"]
    assert embed.startswith(f'<form method="post" action="{single["form_url"]}"') and embed.endswith("</form>")
    # with the address, each field by its type, the honeypot and the stamp, and no script
    for name, kind in (("email", "email"), ("first_name", "text"), ("age", "number"), ("birthday", "date"),
                       ("vip", "checkbox")):
        assert f'type="{kind}" name="{name}"' in embed
    assert 'name="hp-website"' in embed and 'name="form-stamp"' in embed and "<script" not in embed
    # and a label for every input, tied by an id that no other list's embed uses
    assert f'<label for="mr-{single["id"]}-email"' in embed and f'id="mr-{single["id"]}-email"' in embed


def test_the_embed_escapes_the_customers_names(client, owner):
    # Given a list whose name, sender and field label hold markup
    listed = make_list(client, owner, name='<script>alert(1)</script>', from_name='Acme "<b>News</b>"',
                       fields=[{"key": "x", "label": '"><img src=x onerror=alert(1)>', "type": "text"}])

    # Then the embeddable form shows them as text, never as markup
    embed = listed["form_html"]
    assert "<script" not in embed and "<img" not in embed and "<b>" not in embed
    assert "&lt;img src=x onerror=alert(1)&gt;" in embed and "&quot;&gt;" in embed
    hosted = html(client.http.get(path_of(listed["form_url"])))
    assert "<script>alert" not in hosted and "<img" not in hosted and "&lt;script&gt;" in hosted


def test_a_visitor_who_fills_the_embedded_form_is_subscribed(client, owner, single):
    # Given the embeddable form pasted into the customer's site, weeks after it was copied
    stamp = unescape(stamp_in(single["form_html"]))

    # When a visitor submits it
    answer = post_form(client, path_of(single["form_url"]), **{"email": "ada@example.org", "form-stamp": stamp})

    # Then they are subscribed
    assert answer.status_code == 200 and "subscribed to Acme Weekly" in html(answer)
    assert [m["email"] for m in members(client, owner, single["id"])] == ["ada@example.org"]


def test_an_embed_stamp_of_another_list_subscribes_nobody(client, owner, single, double):
    answer = post_form(client, path_of(single["form_url"]),
                       **{"email": "ada@example.org", "form-stamp": unescape(stamp_in(double["form_html"]))})

    assert answer.status_code == 200 and "subscribed to Acme Weekly" in html(answer)
    assert members(client, owner, single["id"]) == []


# --- the minimum fill time ------------------------------------------------------------------------

def test_a_person_who_takes_a_few_seconds_is_subscribed_with_the_stamp_the_page_gave(client, owner, single, travel):
    # Given the hosted page as a visitor's browser gets it
    path = path_of(single["form_url"])
    stamp = stamp_in(html(client.http.get(path)))

    # When they submit it five seconds later
    travel(timedelta(seconds=5))
    answer = post_form(client, path, **{"email": "ada@example.org", "form-stamp": stamp})

    # Then they are subscribed
    assert answer.status_code == 200
    assert [m["email"] for m in members(client, owner, single["id"])] == ["ada@example.org"]


@pytest.mark.parametrize("stamp", [
    pytest.param(lambda path: stamp_in_page_now(path), id="posted-at-once"),
    pytest.param(lambda path: stamp_for(path, timedelta(seconds=1)), id="one-second"),
    pytest.param(lambda path: stamp_for(path, timedelta(hours=25)), id="a-day-old"),
    pytest.param(lambda path: "", id="missing"),
    pytest.param(lambda path: "eyJmb3JnZWQiOnRydWV9.forged.sig", id="forged"),
    pytest.param(lambda path: stamp_for(path)[:-3] + "abc", id="altered"),
])
def test_a_bot_is_answered_as_a_person_and_nothing_happens(client, owner, double, single, stamp):
    # Given a double opt-in list and a real person's signup on a single opt-in list, for comparison
    person = post_form(client, path_of(single["form_url"]), email="real@example.org")
    path = path_of(double["form_url"])
    real = post_form(client, path, email="person@example.org")

    # When a post comes with a stamp that is too fresh, too old, missing or not genuine
    answer = post_form(client, path, **{"email": "victim@example.org", "form-stamp": stamp(path)})

    # Then the bot reads exactly what a person reads, and nobody is stored or mailed
    assert answer.status_code == real.status_code == 200
    assert html(answer) == html(real)
    assert [m["email"] for m in members(client, owner, double["id"])] == ["person@example.org"]
    assert messages_to("victim@example.org") == []
    assert person.status_code == 200 and "subscribed to Acme Weekly" in html(person)


def stamp_in_page_now(path: str) -> str:
    from chalicelib import clock

    ref = links.read_form(path.rsplit("/", 1)[-1])
    return links.form_stamp(ref.account_id, ref.list_id, clock.now())


def test_a_filled_honeypot_on_a_single_opt_in_form_reads_as_subscribed(client, owner, single):
    answer = post_form(client, path_of(single["form_url"]), **{"email": "ada@example.org", "hp-website": "x"})

    assert answer.status_code == 200 and "subscribed to Acme Weekly" in title(answer)
    assert subscriber_count(owner) == 0


# --- hourly limits on confirmation emails ---------------------------------------------------------

def test_one_ip_gets_ten_confirmation_emails_an_hour_across_lists_then_a_page_to_try_later(
        client, owner, double, tenant):
    # Given two double opt-in forms, one of another customer
    other_owner = tenant()
    other = make_list(client, other_owner, name="Other Insiders", double_opt_in=True)

    # When one IP signs up ten addresses across them
    for n in range(10):
        target = double if n % 2 else other
        answer = post_form(client, path_of(target["form_url"]), email=f"reader{n}@example.org")
        assert answer.status_code == 200, html(answer)

    # Then the eleventh gets a page saying to try later, with Retry-After, and nothing is stored or sent
    answer = post_form(client, path_of(double["form_url"]), email="reader10@example.org")
    assert answer.status_code == 429
    assert "try again" in html(answer) and 0 < int(answer.headers["Retry-After"]) <= 3600
    assert messages_to("reader10@example.org") == []
    assert len(members(client, owner, double["id"])) == 5
    assert sum(len(messages_to(f"reader{n}@example.org")) for n in range(10)) == 10


def test_the_ip_limit_lifts_in_the_next_hour(client, owner, double, travel):
    for n in range(10):
        post_form(client, path_of(double["form_url"]), email=f"reader{n}@example.org")
    assert post_form(client, path_of(double["form_url"]), email="late@example.org").status_code == 429

    travel(timedelta(hours=1))

    assert post_form(client, path_of(double["form_url"]), email="late@example.org").status_code == 200
    assert len(messages_to("late@example.org")) == 1


def test_a_list_past_its_hourly_confirmations_asks_everyone_to_try_later_and_other_lists_go_on(
        client, owner, double, monkeypatch):
    # Given a list allowed three confirmation emails an hour
    monkeypatch.setattr(form_guard, "CONFIRMATIONS_PER_LIST", throttle.Limit("form-confirm-list", 3,
                                                                           timedelta(hours=1)))
    for n in range(3):
        assert post_form(client, path_of(double["form_url"]), email=f"reader{n}@example.org").status_code == 200

    # When a fourth visitor signs up
    answer = post_form(client, path_of(double["form_url"]), email="fourth@example.org")

    # Then they are asked to try later, nobody is stored or mailed, and another list's form still works
    assert answer.status_code == 429 and "Please try again later" in title(answer)
    assert messages_to("fourth@example.org") == [] and len(members(client, owner, double["id"])) == 3
    other = make_list(client, owner, name="Other", double_opt_in=True)
    assert post_form(client, path_of(other["form_url"]), email="fourth@example.org").status_code == 200


def test_single_opt_in_signups_mail_nobody_and_are_not_limited(client, owner, single):
    for n in range(12):
        assert post_form(client, path_of(single["form_url"]), email=f"reader{n}@example.org").status_code == 200

    assert len(members(client, owner, single["id"])) == 12


def test_concurrent_confirmations_never_pass_the_limit(client, atomic_moto):  # noqa: F811
    # Given a limit of five an hour
    limit = throttle.Limit("form-confirm-test", 5, timedelta(hours=1))
    passed, refused, start = [], [], threading.Barrier(12)

    # When twelve threads take one at the same moment
    def take() -> None:
        start.wait(timeout=30)
        try:
            throttle.reserve(limit, "203.0.113.9")
            passed.append(1)
        except errors.RateLimited:
            refused.append(1)

    threads = [threading.Thread(target=take) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then exactly five got through
    assert (len(passed), len(refused)) == (5, 7)


# --- suspended and closed accounts ----------------------------------------------------------------

@pytest.mark.parametrize("how", ["suspended", "closed"])
def test_a_suspended_or_closed_accounts_form_says_it_takes_no_signups_and_sends_nothing(
        client, staff, owner, double, how):
    # Given a double opt-in list whose account is then suspended by staff or closed by its owner
    path = path_of(double["form_url"])
    stop_account(client, staff, owner, how)

    # When a visitor opens the form and submits it
    opened = client.http.get(path)
    posted = post_form(client, path, email="ada@example.org")

    # Then both pages say, in words for the visitor, that it takes no signups; nothing is stored or mailed
    for answer in (opened, posted):
        assert answer.status_code == 403
        page = html(answer)
        assert "Not accepting signups" in page and "is not accepting new subscribers" in page
        assert 'name="email"' not in page
    assert messages_to("ada@example.org") == [] and subscriber_count(owner) == 0
