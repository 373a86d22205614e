"""Helpers for tests of lists, subscribers and the public pages: made through the real API."""
from __future__ import annotations

from urllib.parse import urlparse

from tests.integration.conftest import api_call


def list_body(**overrides) -> dict:
    """A complete, valid POST /v1/lists body."""
    return {
        "name": "Friends of Acme",
        "from_name": "Acme News",
        "from_email": "news@acme.example",
        "company_address": "1 Main Street, Dublin, Ireland",
        "double_opt_in": False,
        **overrides,
    }


def make_list(client, person, **overrides) -> dict:
    answer = api_call(client, "POST", "/v1/lists", list_body(**overrides), headers=person.headers)
    assert answer.status_code == 201, answer.json_body
    return answer.json_body["list"]


def add_subscriber(client, person, list_id: str, email: str, fields: dict | None = None,
                   consent: dict | None = None):
    """POST a subscriber; returns the answer (not asserted)."""
    body = {"email": email, "fields": fields if fields is not None else {},
            "consent": consent if consent is not None else {"source": "api-test"}}
    return api_call(client, "POST", f"/v1/lists/{list_id}/subscribers", body, headers=person.headers)


def subscribe(client, person, list_id: str, email: str, **kwargs) -> dict:
    answer = add_subscriber(client, person, list_id, email, **kwargs)
    assert answer.status_code == 201, answer.json_body
    return answer.json_body["subscriber"]


def path_of(url: str) -> str:
    """The path of one of the service's public links, to call it through the test client."""
    return urlparse(url).path


def subscriber_count(person) -> int:
    """The account's stored subscribers, as the account (or, failing that, the table) tells."""
    from chalicelib.models import accounts

    return int(accounts.get(person.account_id).subscriber_count)
