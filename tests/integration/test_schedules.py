"""The hourly TTL backstop: expired sessions, link tokens and throttle counters go, live ones stay."""
from __future__ import annotations

from datetime import timedelta

from chalicelib import clock
from chalicelib.models.credentials import Credential
from chalicelib.models.throttles import Throttle
from tests.integration.campaign_sending import drain, make_pump
from tests.integration.conftest import api_call


def run_purge(client) -> dict:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])
    return client.lambda_.invoke("purge_expired_items", event).payload


def test_given_expired_items_when_the_purge_runs_then_only_they_are_deleted(client, tenant, monkeypatch):
    person = tenant()
    key = api_call(client, "POST", "/v1/api-keys", {"name": "ci"}, headers=person.headers).json_body["key"]
    api_call(client, "POST", "/v1/sessions", {"email": person.email, "password": "wrong-password"})
    api_call(client, "POST", "/v1/password-resets", {"email": person.email})
    drain(make_pump())
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=13))
    fresh = api_call(client, "POST", "/v1/sessions", {"email": person.email, "password": person.password})

    counts = run_purge(client)

    # the staff's and the tenant's first sessions, the reset link; the counters per address, per IP, per reset,
    # and of signups per IP
    assert (counts["credentials"], counts["throttles"], counts["done"]) == (3, 4, True)
    kinds = sorted(c.credential_key.split("#")[0] for c in Credential.query(person.account_id))
    assert kinds == ["apikey", "session", "verify"]
    assert list(Throttle.scan()) == []
    bearer = {"Authorization": f"Bearer {fresh.json_body['token']}"}
    assert api_call(client, "GET", "/v1/account", headers=bearer).status_code == 200
    assert api_call(client, "GET", "/v1/account", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_with_nothing_expired_the_purge_deletes_nothing(client, tenant):
    tenant()

    counts = run_purge(client)
    assert (counts.get("credentials", 0), counts.get("throttles", 0), counts["done"]) == (0, 0, True)
