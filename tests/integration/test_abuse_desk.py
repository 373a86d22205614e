"""The staff abuse desk (`GET /v1/admin/abuse?email=`): a spam complaint about an address is traced to the
accounts and campaigns that mailed it, and when; each account shown is audited (R4); the address is never logged.

Campaigns are sent for real (fan-out and sender under the local pump) by several customers, to a reader on
their lists and to bystanders."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.integration.campaign_sending import send_campaign, verify_sender_domain
from tests.integration.conftest import api_call
from tests.integration.listing import make_list, subscribe

READER = "kate.reader@readers.example"
GIVEN_AS = "Kate.Reader@Readers.EXAMPLE"          # as it stands in a forwarded complaint
BYSTANDER = "bob.bystander@readers.example"


def desk(client, person, email: str | None, **query: str):
    params = urlencode({**({"email": email} if email is not None else {}), **query})
    return api_call(client, "GET", f"/v1/admin/abuse?{params}", headers=person.headers)


def desk_audits(client, person) -> list[dict]:
    trail = api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]
    return [r for r in trail if r["action"] == "staff_access" and r["operation"] == "abuse_lookup"]


def customer_with_list(client, tenant, *addresses: str):
    person = tenant()
    listed = make_list(client, person, from_email="news@acme.example",
                       fields=[{"key": "first_name", "label": "First name", "type": "text"}])
    members = {address: subscribe(client, person, listed["id"], address, fields={"first_name": "Kate"})
               for address in addresses}
    return person, listed["id"], members


@pytest.fixture
def senders(client, tenant):
    """Two customers mailed the reader (the first twice), a third only the bystander."""
    verify_sender_domain()
    first, first_list, first_members = customer_with_list(client, tenant, READER, BYSTANDER)
    second, second_list, second_members = customer_with_list(client, tenant, READER)
    third, third_list, _ = customer_with_list(client, tenant, BYSTANDER)
    campaigns = {
        "spring": send_campaign(first, first_list, "Spring", recipients=2),
        "summer": send_campaign(first, first_list, "Summer", recipients=2),
        "offers": send_campaign(second, second_list, "Offers", recipients=1),
        "other": send_campaign(third, third_list, "Elsewhere", recipients=1),
    }
    return {"first": (first, first_list, first_members), "second": (second, second_list, second_members),
            "third": third, "campaigns": campaigns}


def test_staff_see_which_accounts_and_campaigns_mailed_an_address_and_when(client, staff, senders, caplog):
    from chalicelib.log import logger

    first, _, _ = senders["first"]
    second, _, _ = senders["second"]
    campaigns = senders["campaigns"]

    # When staff look up the address as a complaint spells it
    logger.setLevel("INFO")
    try:
        answer = desk(client, staff, GIVEN_AS)
    finally:
        logger.setLevel("WARNING")

    # Then they see the three campaign emails it got, from the two accounts that sent them, and nothing else
    assert answer.status_code == 200, answer.json_body
    items = answer.json_body["items"]
    assert answer.json_body["next_cursor"] is None and answer.json_body["erased_in"] == []
    assert sorted((i["account_id"], i["campaign_id"], i["campaign_name"]) for i in items) == sorted([
        (first.account_id, campaigns["spring"], "Spring"), (first.account_id, campaigns["summer"], "Summer"),
        (second.account_id, campaigns["offers"], "Offers")])
    assert all(i["state"] == "sent" and i["sent_at"].endswith("Z") for i in items)
    assert all(i["account_company"] == "Acme Ltd" and i["account_status"] == "active" for i in items)
    assert all(i["subject"] == "Spring news for {{ first_name }}" for i in items)
    # and each carries the SES message id that the email the reader got was sent as
    assert {i["message_id"] for i in items} <= set(_ses_ids_to(READER))
    # and an account's emails come newest first
    firsts = [i["campaign_name"] for i in items if i["account_id"] == first.account_id]
    assert firsts == ["Summer", "Spring"]

    # and each account shown has the look-up in its audit trail, the third (never mailed her) has not
    [on_first] = desk_audits(client, first)
    assert on_first["actor"]["id"] == staff.user_id and on_first["route"] == "GET /v1/admin/abuse"
    assert on_first["details"] == {"emails": 2}
    assert desk_audits(client, second)[0]["details"] == {"emails": 1}
    assert desk_audits(client, senders["third"]) == []
    # and nothing logged names the address
    written = [str(vars(record)) for record in caplog.records]
    assert any("abuse desk look-up" in line for line in written)
    assert not [line for line in written if "kate.reader" in line.lower()]


def _ses_ids_to(address: str) -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from chalicelib.config import get_settings

    backend = ses_backends[DEFAULT_ACCOUNT_ID][get_settings().region]
    return [m.id for m in backend.sent_messages if address in getattr(m, "raw_data", "")]


def test_the_desk_pages_through_every_email_with_cursors_bound_to_the_address(client, staff, senders):
    # Given the whole answer at once
    whole = desk(client, staff, READER).json_body["items"]

    # When staff page through it one email at a time
    paged, cursor, pages = [], None, 0
    while True:
        answer = desk(client, staff, READER, limit="1", **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.json_body
        paged += answer.json_body["items"]
        cursor, pages = answer.json_body["next_cursor"], pages + 1
        if not cursor:
            break
        assert pages < 10

    # Then they see the same emails in the same order, each once
    assert [(i["account_id"], i["campaign_id"]) for i in paged] == [(i["account_id"], i["campaign_id"])
                                                                  for i in whole]
    # and a cursor given out for one address is refused for another
    first_page = desk(client, staff, READER, limit="1").json_body
    other = desk(client, staff, BYSTANDER, cursor=first_page["next_cursor"])
    assert other.status_code == 400 and other.json_body["error"]["code"] == "invalid_cursor"


def test_sends_to_a_member_deleted_since_are_found_while_the_account_suppresses_the_address(
        client, staff, senders):
    # Given the second customer suppressed the reader and deleted her from its list after mailing her
    second, second_list, members = senders["second"]
    assert api_call(client, "POST", "/v1/suppressions", {"email": READER},
                    headers=second.headers).status_code in (200, 201)
    gone = api_call(client, "DELETE", f"/v1/lists/{second_list}/subscribers/{members[READER]['id']}",
                    headers=second.headers)
    assert gone.status_code == 204, gone.json_body

    # When staff look the address up
    items = desk(client, staff, READER).json_body["items"]

    # Then the second customer's campaign is still traced to it
    assert (second.account_id, senders["campaigns"]["offers"]) in {(i["account_id"], i["campaign_id"])
                                                                   for i in items}


def test_an_erased_address_shows_who_erased_it_and_nothing_of_their_sends(client, staff, senders):
    # Given the first customer erased the reader (R28)
    first, first_list, members = senders["first"]
    second, _, _ = senders["second"]
    erased = api_call(client, "DELETE", f"/v1/lists/{first_list}/subscribers/{members[READER]['id']}?erase=true",
                      headers=first.headers)
    assert erased.status_code == 204, erased.json_body

    # When staff look the address up
    answer = desk(client, staff, READER).json_body

    # Then they see the second customer's email, and that the first erased the address, with nothing of its sends
    assert {i["account_id"] for i in answer["items"]} == {second.account_id}
    [gone] = answer["erased_in"]
    assert gone["account_id"] == first.account_id and gone["account_company"] == "Acme Ltd"
    assert gone["erased_at"].endswith("Z")
    # and the look-up is audited on the account that erased it too
    [audited] = desk_audits(client, first)
    assert audited["details"] == {"emails": 0, "erased": True}


def test_an_address_nobody_mailed_answers_an_empty_list(client, staff, senders):
    answer = desk(client, staff, "abuse@nobody-mailed.example")

    assert answer.status_code == 200
    assert answer.json_body == {"items": [], "next_cursor": None, "erased_in": []}


@pytest.mark.parametrize("email", [None, "", "not-an-address", "two@@signs.example", "x" * 300 + "@example.org"])
def test_anything_but_an_address_is_422(client, staff, email):
    answer = desk(client, staff, email)

    assert answer.status_code == 422, answer.json_body
    assert answer.json_body["error"]["code"] == "invalid_email"


def test_customers_get_403_and_learn_nothing(client, tenant, senders):
    first, _, _ = senders["first"]

    answer = desk(client, first, READER)

    assert answer.status_code == 403 and answer.json_body["error"]["code"] == "forbidden"
    assert desk_audits(client, first) == []
