"""Signed links of the public pages: they round-trip, carry ids only, and refuse forgeries."""
from __future__ import annotations

from datetime import UTC
from urllib.parse import urlparse

import pytest

from chalicelib.services.audience import links


def token_of(url: str) -> str:
    return urlparse(url).path.rsplit("/", 1)[1]


def test_given_an_unsubscribe_url_when_read_back_then_it_names_the_subscriber():
    url = links.unsubscribe_url("acc_1", "lst_1", "sub_1")
    assert url.startswith("https://mailroom.test.invalid/unsubscribe/")
    assert links.read_unsubscribe(token_of(url)) == links.SubscriberRef("acc_1", "lst_1", "sub_1")


def test_given_a_campaign_emails_unsubscribe_url_when_read_back_then_it_also_names_the_campaign():
    from chalicelib.rendering import tracking

    url = tracking.unsubscribe_url("acc_1", "lst_1", "sub_1", "cmp_1")
    old_style = tracking.unsubscribe_url("acc_1", "lst_1", "sub_1")

    assert links.read_unsubscribe(token_of(url)) == links.SubscriberRef("acc_1", "lst_1", "sub_1", "cmp_1")
    # links in emails sent before campaigns were named keep working, and count on no campaign
    assert links.read_unsubscribe(token_of(old_style)) == links.SubscriberRef("acc_1", "lst_1", "sub_1", None)
    assert token_of(old_style) == token_of(links.unsubscribe_url("acc_1", "lst_1", "sub_1"))


def test_given_a_confirm_url_when_read_back_then_it_names_the_subscriber():
    url = links.confirm_url("acc_1", "lst_1", "sub_1")
    assert url.startswith("https://mailroom.test.invalid/confirm/")
    assert links.read_confirm(token_of(url)) == links.SubscriberRef("acc_1", "lst_1", "sub_1")


def test_given_a_form_url_when_read_back_then_it_names_the_list():
    url = links.form_url("acc_1", "lst_1")
    assert url.startswith("https://mailroom.test.invalid/f/")
    assert links.read_form(token_of(url)) == links.ListRef("acc_1", "lst_1")


def test_given_a_token_when_one_character_is_altered_then_it_reads_as_nothing():
    token = token_of(links.unsubscribe_url("acc_1", "lst_1", "sub_1"))
    altered = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert links.read_unsubscribe(altered) is None


@pytest.mark.parametrize("token", ["", "nonsense", "a.b.c", "%00"])
def test_given_a_forged_token_when_read_then_nothing(token):
    assert links.read_unsubscribe(token) is None
    assert links.read_confirm(token) is None
    assert links.read_form(token) is None
    assert links.read_preferences(token) is None
    assert links.read_form_stamp(token, "acc_1", "lst_1") is None
    assert not links.is_embed_stamp(token, "acc_1", "lst_1")


def test_given_a_token_of_one_kind_when_used_as_another_then_it_reads_as_nothing():
    unsubscribe = token_of(links.unsubscribe_url("acc_1", "lst_1", "sub_1"))
    confirm = token_of(links.confirm_url("acc_1", "lst_1", "sub_1"))
    assert links.read_confirm(unsubscribe) is None
    assert links.read_unsubscribe(confirm) is None
    assert links.read_form(unsubscribe) is None


def test_given_a_token_when_read_then_it_carries_no_address_or_url():
    token = token_of(links.unsubscribe_url("acc_1", "lst_1", "sub_1"))
    assert "@" not in token and "http" not in token


def test_given_a_confirm_link_older_than_30_days_when_read_then_it_has_expired(monkeypatch):
    from itsdangerous.timed import TimestampSigner

    url = links.confirm_url("acc_1", "lst_1", "sub_1")
    unsubscribe = links.unsubscribe_url("acc_1", "lst_1", "sub_1")
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda self: real(self) + links.CONFIRM_MAX_AGE_SECONDS + 60)
    assert links.read_confirm(token_of(url)) is None
    assert links.read_unsubscribe(token_of(unsubscribe)) is not None   # unsubscribe links never expire


def test_a_form_url_reads_the_same_every_time_it_is_made():
    assert links.form_url("acc_1", "lst_1") == links.form_url("acc_1", "lst_1") != links.form_url("acc_1", "lst_2")


def test_a_form_stamp_tells_when_the_form_was_shown_and_only_for_its_own_list():
    from datetime import datetime

    shown = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
    stamp = links.form_stamp("acc_1", "lst_1", shown)

    assert links.read_form_stamp(stamp, "acc_1", "lst_1") == shown
    assert links.read_form_stamp(stamp, "acc_1", "lst_2") is None
    assert links.read_form_stamp(stamp, "acc_2", "lst_1") is None
    assert links.is_embed_stamp(links.embed_stamp("acc_1", "lst_1"), "acc_1", "lst_1")
    assert not links.is_embed_stamp(links.embed_stamp("acc_1", "lst_1"), "acc_1", "lst_2")
    assert not links.is_embed_stamp(stamp, "acc_1", "lst_1")


def test_a_campaign_emails_preferences_url_names_the_subscriber_and_the_campaign_and_no_address():
    from chalicelib.rendering import tracking

    url = tracking.preferences_url("acc_1", "lst_1", "sub_1", "cmp_1")

    assert url.startswith("https://mailroom.test.invalid/preferences/")
    assert links.read_preferences(token_of(url)) == links.SubscriberRef("acc_1", "lst_1", "sub_1", "cmp_1")
    assert links.read_unsubscribe(token_of(url)) is None
    assert "@" not in url
