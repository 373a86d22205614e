"""Helpers for campaign tests: a sender domain, a list with members, a draft, made through the real API."""
from __future__ import annotations

from tests.integration.conftest import api_call
from tests.integration.listing import make_list, subscribe

HTML = "<p>Hello {{ first_name | default('friend') }}, read <a href=\"https://acme.example/news\">the news</a>.</p>"


def add_domain(client, person, name: str = "acme.example") -> dict:
    answer = api_call(client, "POST", "/v1/domains", {"domain": name}, headers=person.headers)
    assert answer.status_code == 201, answer.json_body
    return answer.json_body["domain"]


def audience(client, person, members: int = 2, domain: bool = True, **list_fields) -> dict:
    """A list (sending from news@acme.example) with `members` subscribed members; the domain verified."""
    if domain:
        add_domain(client, person)
    contact_list = make_list(client, person, fields=[{"key": "first_name", "label": "First name"}], **list_fields)
    for i in range(members):
        subscribe(client, person, contact_list["id"], f"member{i}@example.org", fields={"first_name": f"M{i}"})
    return contact_list


def campaign_body(list_id: str, **overrides) -> dict:
    return {"list_id": list_id, "name": "Spring news", "subject": "News for {{ first_name | default('you') }}",
            "html": HTML, **overrides}


def draft(client, person, list_id: str, **overrides) -> dict:
    answer = api_call(client, "POST", "/v1/campaigns", campaign_body(list_id, **overrides), headers=person.headers)
    assert answer.status_code == 201, answer.json_body
    return answer.json_body["campaign"]


def send(client, person, campaign_id: str, body: dict | None = None):
    return api_call(client, "POST", f"/v1/campaigns/{campaign_id}/send", body or {}, headers=person.headers)


def trial_send_approved(client, person, staff, members: int) -> str:
    """A trial account's campaign to `members` new members, sent and approved by staff (R8); its id."""
    contact_list = audience(client, person, members=members)
    campaign_id = draft(client, person, contact_list["id"])["id"]
    send(client, person, campaign_id)
    api_call(client, "POST", f"/v1/admin/campaigns/{campaign_id}/approve", headers=staff.headers)
    return campaign_id


def fanout_messages() -> list[dict]:
    """The bodies waiting on the fanout queue (received and made visible again at once)."""
    import json

    from chalicelib import aws, queues

    sqs = aws.client("sqs")
    found = []
    while True:
        got = sqs.receive_message(QueueUrl=queues.url("fanout"), MaxNumberOfMessages=10, VisibilityTimeout=30)
        messages = got.get("Messages", [])
        if not messages:
            break
        found.extend(json.loads(m["Body"]) for m in messages)
    return found
