"""Properties every route of the app must have, checked route by route from the app's own route table,
so that a route added later is checked too:
- another tenant's id answers exactly what a missing id answers (404), whatever the method;
- malformed, oversized or wrongly typed bodies never get a 500, and every refusal has the API's error shape
  (a route that takes no body may ignore one);
- a customer gets 403 on every staff route, and no credentials get 401 on every private route."""
from __future__ import annotations

import re

import pytest

from tests.integration.conftest import api_call
from tests.integration.listing import make_list, subscribe

PUBLIC_PREFIXES = ("/confirm/", "/unsubscribe/", "/f/", "/o/", "/c/", "/v1/verify-email/", "/reset-password/",
                   "/privacy/", "/preferences/")
PUBLIC_ROUTES = {"/v1/signup", "/v1/sessions", "/v1/password-resets", "/v1/password-resets/confirm"}
PUBLIC_ROUTES |= {"/v1/openapi.json"}
PUBLIC_PREFIXES += ("/invitations/", "/email-change/")
PUBLIC_ROUTES |= {"/v1/invitations/accept"}
MISSING = "zz_missing0000000000000000"


def all_routes():
    from app import app

    for path, methods in sorted(app.routes.items()):
        for method in sorted(methods):
            yield path, method


def is_public(path: str) -> bool:
    return path in PUBLIC_ROUTES or path.startswith(PUBLIC_PREFIXES)


def tenant_scoped_routes():
    for path, method in all_routes():
        if "{" in path and not is_public(path) and not path.startswith("/v1/admin/"):
            yield path, method


@pytest.fixture
def two_tenants(client, tenant, monkeypatch):
    owner, stranger = tenant(), tenant()
    mailing_list = make_list(client, owner)
    member = subscribe(client, owner, mailing_list["id"], "member@readers.example")
    key = api_call(client, "POST", "/v1/api-keys", {"name": "ci"}, headers=owner.headers).json_body
    ids = {"list_id": mailing_list["id"], "subscriber_id": member["id"], "key_id": key["id"]}
    campaign = api_call(client, "POST", "/v1/campaigns", {
        "list_id": mailing_list["id"], "name": "Hello", "subject": "Hello", "html": "<p>Hi</p>",
    }, headers=owner.headers)
    if campaign.status_code == 201:
        ids["campaign_id"] = campaign.json_body["campaign"]["id"]
    segment = api_call(client, "POST", f"/v1/lists/{mailing_list['id']}/segments", {
        "name": "Readers", "conditions": [{"field": "email", "op": "ends_with", "value": "@readers.example"}],
    }, headers=owner.headers)
    if segment.status_code == 201:
        ids["segment_id"] = segment.json_body["segment"]["id"]
    domain = api_call(client, "POST", "/v1/domains", {"domain": "owner-mail.example"}, headers=owner.headers)
    if domain.status_code == 201:
        ids["name"] = domain.json_body["domain"]["name"]
    suppression = api_call(client, "POST", "/v1/suppressions", {"email": "gone@readers.example"},
                           headers=owner.headers)
    if suppression.status_code == 201:
        ids["email"] = "gone@readers.example"
    from chalicelib.services.privacy import account_export

    with monkeypatch.context() as patched:   # an export prepared as a job, as a large account's is
        patched.setattr(account_export, "SYNC_LIMITS", account_export.SyncLimits(subscribers=0, bytes=0))
        job = api_call(client, "GET", "/v1/account/export", headers=owner.headers)
    if job.status_code == 202:
        ids["export_id"] = job.json_body["export"]["id"]
    upload = api_call(client, "POST", f"/v1/lists/{mailing_list['id']}/imports",
                      {"consent": {"source": "crm", "permission": True}}, headers=owner.headers)
    if upload.status_code == 201:
        ids["import_id"] = upload.json_body["import"]["id"]
    list_export = api_call(client, "POST", f"/v1/lists/{mailing_list['id']}/exports", {"format": "csv"},
                           headers=owner.headers)
    if list_export.status_code == 202:   # a list's export: its id must be as invisible under either route
        ids["export_id"] = list_export.json_body["export"]["id"]
    invited = api_call(client, "POST", "/v1/account/users", {"email": "colleague@owner-mail.example", "role": "viewer"},
                       headers=owner.headers)
    if invited.status_code == 201:
        ids["user_id"] = invited.json_body["user"]["id"]
    return owner, stranger, ids


def fill(path: str, ids: dict[str, str], default: str | None = None) -> str | None:
    names = re.findall(r"{(\w+)}", path)
    if default is None and any(name not in ids for name in names):
        return None
    return re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), default) if default is None else default, path)


def test_another_tenants_ids_answer_exactly_like_missing_ones(client, two_tenants):
    owner, stranger, ids = two_tenants
    checked = 0
    for path, method in tenant_scoped_routes():
        theirs = fill(path, ids)
        if theirs is None:
            continue
        missing = fill(path, ids, default=MISSING)
        body = {} if method in ("POST", "PATCH", "PUT") else None
        via_their_id = api_call(client, method, theirs, body, headers=stranger.headers)
        via_missing_id = api_call(client, method, missing, body, headers=stranger.headers)
        assert via_their_id.status_code == via_missing_id.status_code, (method, path, via_their_id.json_body)
        assert via_their_id.json_body == via_missing_id.json_body, (method, path)
        if body is None:
            assert via_their_id.status_code == 404, (method, path, via_their_id.json_body)
        checked += 1
    assert checked >= 8  # lists, subscribers and api keys at least

    # and the owner's resources are untouched by all of that
    assert api_call(client, "GET", f"/v1/lists/{ids['list_id']}/subscribers/{ids['subscriber_id']}",
                    headers=owner.headers).status_code == 200


def test_bad_bodies_get_a_4xx_in_the_error_shape_on_every_route(client, two_tenants):
    owner, _, ids = two_tenants
    bad_bodies = [b"{not json", b"[1, 2, 3]", b'{"email": 5, "name": [], "password": {}}', b"x" * 300_000]
    for path, method in all_routes():
        if method not in ("POST", "PATCH", "PUT"):
            continue
        concrete = fill(path, ids, default=None) or fill(path, {}, default=MISSING)
        for raw in bad_bodies:
            answer = client.http.request(method, concrete, headers=owner.headers, body=raw)
            assert answer.status_code < 500, (method, path, raw[:20], answer.status_code, answer.body[:200])
            if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith("application/json"):
                error = answer.json_body["error"]
                assert set(error) >= {"code", "message"} and re.fullmatch(r"[a-z_]+", error["code"])


def test_customers_get_403_on_staff_routes_and_strangers_401_on_private_routes(client, tenant):
    customer = tenant()
    for path, method in all_routes():
        concrete = fill(path, {}, default=MISSING)
        body = {} if method in ("POST", "PATCH", "PUT") else None
        if path.startswith("/v1/admin/"):
            answer = api_call(client, method, concrete, body, headers=customer.headers)
            assert answer.status_code == 403, (method, path)
        if not is_public(path):
            answer = api_call(client, method, concrete, body)
            assert answer.status_code == 401, (method, path)
            assert answer.json_body["error"]["code"] in ("unauthorized", "invalid_credentials")


def test_staff_routes_answer_bad_query_parameters_with_a_4xx_in_the_error_shape(client, staff):
    # Given every staff route that reads, called by staff with query parameters no client should send
    bad_queries = ["?limit=0", "?limit=abc", "?cursor=not-a-cursor", "?email=not-an-address", "?status=nonsense",
                   "?email=%00@example.org&cursor=" + "x" * 2000]
    for path, method in all_routes():
        if not path.startswith("/v1/admin/") or method != "GET":
            continue
        for query in bad_queries:
            answer = api_call(client, method, fill(path, {}, default=MISSING) + query, headers=staff.headers)
            # Then each is refused, or answered, but never with a 500, and every refusal has the error shape
            assert answer.status_code < 500, (path, query, answer.json_body)
            if answer.status_code >= 400:
                assert re.fullmatch(r"[a-z_]+", answer.json_body["error"]["code"]), (path, query)
