"""A campaign's HTML is stored compressed, so that each write of the campaign (every chunk it sends) is billed for
a few KB rather than the whole newsletter, and reads back unchanged; HTML stored plainly before reads as it was."""
from __future__ import annotations

from chalicelib.models.campaigns import Campaign

NEWSLETTER = "".join(f"<tr><td><h2>Story {n}</h2><p>Our bakers start at four to shape the dough.</p></td></tr>"
                     for n in range(300))


def raw(html: dict) -> dict:
    return {"account_id": {"S": "acc_1"}, "campaign_id": {"S": "cmp_1"}, "list_id": {"S": "lst_1"},
            "name": {"S": "News"}, "subject": {"S": "News"}, "status": {"S": "draft"}, "html": html,
            "created_at": {"S": "2026-12-03T12:00:00.000000+0000"},
            "updated_at": {"S": "2026-12-03T12:00:00.000000+0000"}}


def test_the_html_is_stored_in_a_fraction_of_its_size_and_reads_back_the_same():
    # Given a campaign of a 27 KB newsletter
    stored = Campaign.html.serialize(NEWSLETTER)

    # Then it takes a fraction of that in the item, and reads back to the same text
    assert len(stored) < len(NEWSLETTER.encode()) / 5
    assert Campaign.from_raw_data(raw({"B": stored})).html == NEWSLETTER


def test_html_stored_plainly_before_reads_as_it_was():
    assert Campaign.from_raw_data(raw({"S": "<p>Hello</p>"})).html == "<p>Hello</p>"
