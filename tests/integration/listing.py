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


def load_members(person, list_id: str, count: int, fields=lambda n: {}, tag: str = "bulk") -> list[str]:
    """Write `count` subscribed members straight into the table with the service's model (for sizes the API
    would take minutes to fill); their addresses, in the order written."""
    from chalicelib import clock
    from chalicelib.models.subscribers import Subscriber, SubscriberStatus, list_key, status_key
    from chalicelib.services.audience.suppressions import email_key

    key, now, made = list_key(person.account_id, list_id), clock.now(), []
    with Subscriber.batch_write() as batch:
        for n in range(count):
            address = f"{tag}-{n}@bulk-readers.example"
            batch.save(Subscriber(key, f"sub_{tag}{n:08d}", account_id=person.account_id, list_id=list_id,
                                  email=address, email_key=email_key(address),
                                  status=SubscriberStatus.SUBSCRIBED.value,
                                  list_status=status_key(key, SubscriberStatus.SUBSCRIBED), fields=fields(n),
                                  consent={"source": "bulk", "at": clock.iso(now)}, created_at=clock.iso(now),
                                  updated_at=now))
            made.append(address)
    return made
