"""Names that end up in email headers (From, List-Id, Subject) are one line of text: control characters are refused."""
from __future__ import annotations

import pytest

from tests.integration.campaigning import audience, campaign_body
from tests.integration.conftest import api_call
from tests.integration.listing import list_body, make_list

CONTROLS = ["Acme\x00News", "Acme\r\nBcc: victim@example.org", "Acme\x07", "Acme\x1b[31m", "Acme\x85", "Acme\u2028News"]


@pytest.mark.parametrize("text", CONTROLS)
@pytest.mark.parametrize("field", ["name", "from_name"])
def test_given_a_control_character_in_a_list_name_when_created_or_changed_then_422_and_nothing_changes(
        client, tenant, field, text):
    # Given a customer with a list
    person = tenant()
    kept = make_list(client, person)

    # When a list is made, or the list changed, with a control character in a name that reaches a header
    made = api_call(client, "POST", "/v1/lists", list_body(**{field: text}), headers=person.headers)
    changed = api_call(client, "PATCH", f"/v1/lists/{kept['id']}", {field: text}, headers=person.headers)

    # Then both are refused as invalid, naming the field, and the stored list is as it was
    for answer in (made, changed):
        assert answer.status_code == 422, answer.json_body
        assert field in answer.json_body["error"]["message"]
        assert "control characters" in answer.json_body["error"]["message"]
    lists = api_call(client, "GET", "/v1/lists", headers=person.headers).json_body["items"]
    assert [(item["name"], item["from_name"]) for item in lists] == [(kept["name"], kept["from_name"])]


@pytest.mark.parametrize("field", ["name", "from_name", "subject"])
def test_given_a_control_character_in_a_campaign_name_or_subject_when_drafted_or_edited_then_422(
        client, tenant, field):
    # Given a draft
    person = tenant()
    contact_list = audience(client, person, members=0)
    draft = api_call(client, "POST", "/v1/campaigns", campaign_body(contact_list["id"]), headers=person.headers)

    assert draft.status_code == 201, draft.json_body

    # When a campaign is drafted, or the draft edited, with a control character in a text that reaches a header
    made = api_call(client, "POST", "/v1/campaigns", campaign_body(contact_list["id"], **{field: "Spring\x00news"}),
                    headers=person.headers)
    edited = api_call(client, "PATCH", f"/v1/campaigns/{draft.json_body['campaign']['id']}",
                      {field: "Spring\nnews"}, headers=person.headers)

    # Then both are refused and the draft is as it was
    assert (made.status_code, edited.status_code) == (422, 422), (made.json_body, edited.json_body)
    shown = api_call(client, "GET", f"/v1/campaigns/{draft.json_body['campaign']['id']}", headers=person.headers)
    assert shown.json_body["campaign"][field] == draft.json_body["campaign"][field]


def test_names_in_any_script_with_emoji_are_still_welcome(client, tenant):
    # Given a customer naming a list in several scripts
    person = tenant()

    # When the list is made
    made = api_call(client, "POST", "/v1/lists", list_body(name="Amis d'Acme — 東京 🎉", from_name="Zoë Ærø"),
                    headers=person.headers)

    # Then it is kept as given
    assert made.status_code == 201, made.json_body
    assert made.json_body["list"]["from_name"] == "Zoë Ærø"
