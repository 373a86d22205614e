"""The plan's subscriber limit (R9, R10) and the account's subscriber count, which must never drift."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import errors
from chalicelib.models import subscribers as subscriber_store
from chalicelib.services.audience import subscribers
from chalicelib.ses import SesMailer
from tests.integration.conftest import api_call
from tests.integration.listing import add_subscriber, make_list, subscribe, subscriber_count


class FailingMailer(SesMailer):
    """SES is down."""

    def send(self, email):
        raise errors.UpstreamError("The email could not be sent just now; try again shortly.")


NO_MAIL = FailingMailer()   # single opt-in lists send nothing, so any mail would be a bug


@pytest.fixture
def atomic_moto(monkeypatch):
    """Give moto's DynamoDB the atomicity DynamoDB itself guarantees: moto applies a transaction
    item by item and restores a copy of the whole table on failure, which is not thread-safe."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("transact_write_items", "put_item", "update_item", "delete_item", "get_item", "query"):
        original = getattr(DynamoDBBackend, name)

        def locked(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def test_given_a_monthly_plan_when_the_level_is_reached_then_422_limit_reached_until_one_leaves(client, tenant):
    owner = tenant(plan="monthly", subscriber_level=2)
    contact_list = make_list(client, owner)
    first = subscribe(client, owner, contact_list["id"], "one@example.org")
    subscribe(client, owner, contact_list["id"], "two@example.org")

    full = add_subscriber(client, owner, contact_list["id"], "three@example.org")

    assert full.status_code == 422
    assert full.json_body["error"]["code"] == "limit_reached"
    assert "2 subscribers" in full.json_body["error"]["message"]
    assert subscriber_count(owner) == 2
    api_call(client, "DELETE", f"/v1/lists/{contact_list['id']}/subscribers/{first['id']}", headers=owner.headers)
    assert add_subscriber(client, owner, contact_list["id"], "three@example.org").status_code == 201
    assert subscriber_count(owner) == 2


def test_given_a_full_account_when_a_duplicate_is_added_then_it_is_reported_as_a_duplicate(client, tenant):
    owner = tenant(plan="monthly", subscriber_level=1)
    contact_list = make_list(client, owner)
    subscribe(client, owner, contact_list["id"], "one@example.org")

    answer = add_subscriber(client, owner, contact_list["id"], "one@example.org")

    assert answer.status_code == 409


def test_given_unsubscribed_and_pending_members_when_counting_then_every_stored_member_counts(client, tenant):
    owner = tenant(plan="monthly", subscriber_level=2)
    single = make_list(client, owner)
    double = make_list(client, owner, name="Double", double_opt_in=True)
    member = subscribe(client, owner, single["id"], "one@example.org")
    api_call(client, "POST", f"/v1/lists/{single['id']}/subscribers/{member['id']}/unsubscribe", headers=owner.headers)
    subscribe(client, owner, double["id"], "two@example.org")

    assert add_subscriber(client, owner, single["id"], "three@example.org").status_code == 422


def test_given_a_small_limit_when_many_adds_race_then_exactly_the_limit_gets_in(client, tenant, atomic_moto):
    owner = tenant(plan="monthly", subscriber_level=3)
    contact_list = make_list(client, owner)

    def add(i: int) -> str:
        try:
            subscribers.add(owner.account_id, contact_list["id"], f"racer{i}@example.org", {},
                            subscribers.Consent(source="race"), NO_MAIL)
            return "added"
        except errors.LimitReached:
            return "full"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(add, range(12)))

    assert outcomes.count("added") == 3 and outcomes.count("full") == 9
    assert subscriber_count(owner) == 3
    items = api_call(client, "GET", f"/v1/lists/{contact_list['id']}/subscribers", headers=owner.headers).json_body
    assert len(items["items"]) == 3


def test_given_one_address_when_added_by_racing_requests_then_it_is_stored_and_counted_once(
        client, tenant, atomic_moto):
    owner = tenant()
    contact_list = make_list(client, owner)

    def add(_: int) -> str:
        try:
            subscribers.add(owner.account_id, contact_list["id"], "ada@example.org", {},
                            subscribers.Consent(source="race"), NO_MAIL)
            return "added"
        except errors.Conflict:
            return "duplicate"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(add, range(6)))

    assert outcomes.count("added") == 1 and outcomes.count("duplicate") == 5
    assert subscriber_count(owner) == 1


def test_given_the_confirmation_email_cannot_be_sent_when_adding_then_nothing_is_kept(client, tenant):
    owner = tenant()
    contact_list = make_list(client, owner, double_opt_in=True)

    with pytest.raises(errors.UpstreamError):
        subscribers.add(owner.account_id, contact_list["id"], "ada@example.org", {},
                        subscribers.Consent(source="api"), FailingMailer())

    assert subscriber_count(owner) == 0
    assert subscribe(client, owner, contact_list["id"], "ada@example.org")["status"] == "pending"


def test_given_a_list_with_many_subscribers_when_it_is_deleted_then_they_go_and_the_count_is_given_back(
        client, tenant):
    owner = tenant()
    doomed = make_list(client, owner)
    kept = make_list(client, owner, name="Kept")
    for i in range(subscriber_store.DELETE_CHUNK + 6):   # more than one transaction's worth
        subscribers.add(owner.account_id, doomed["id"], f"p{i}@example.org", {}, subscribers.Consent(source="t"),
                        NO_MAIL)
    survivor = subscribe(client, owner, kept["id"], "p0@example.org")
    assert subscriber_count(owner) == subscriber_store.DELETE_CHUNK + 7

    assert api_call(client, "DELETE", f"/v1/lists/{doomed['id']}", headers=owner.headers).status_code == 204

    assert subscriber_count(owner) == 1
    assert api_call(client, "GET", f"/v1/lists/{doomed['id']}/subscribers", headers=owner.headers).status_code == 404
    again = make_list(client, owner)
    fresh = api_call(client, "GET", f"/v1/lists/{again['id']}/subscribers", headers=owner.headers)
    assert fresh.json_body["items"] == []
    shown = api_call(client, "GET", f"/v1/lists/{kept['id']}/subscribers/{survivor['id']}", headers=owner.headers)
    assert shown.status_code == 200


def test_given_a_list_when_deleted_then_its_subscribers_are_gone_from_the_table(client, tenant):
    from chalicelib.models import subscribers as store

    owner = tenant()
    contact_list = make_list(client, owner)
    for i in range(3):
        subscribe(client, owner, contact_list["id"], f"p{i}@example.org")

    api_call(client, "DELETE", f"/v1/lists/{contact_list['id']}", headers=owner.headers)

    assert list(store.all_in_list(owner.account_id, contact_list["id"])) == []
    assert subscriber_count(owner) == 0
