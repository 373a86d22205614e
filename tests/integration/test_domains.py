"""Sending domains: registered with SES (Easy DKIM), one account each, and required to send."""
from __future__ import annotations

import pytest

from chalicelib import aws
from chalicelib.config import get_settings
from tests.integration.campaigning import add_domain, audience, draft, send
from tests.integration.conftest import api_call


def test_given_a_domain_when_added_then_201_with_dns_records_and_the_emulator_verifies_it(client, tenant):
    person = tenant()

    answer = api_call(client, "POST", "/v1/domains", {"domain": "News.Acme.Example."}, headers=person.headers)

    assert answer.status_code == 201, answer.json_body
    domain = answer.json_body["domain"]
    assert domain["name"] == "news.acme.example" and domain["status"] == "verified"
    assert {"type": "TXT", "name": "_dmarc.news.acme.example", "value": "v=DMARC1; p=none;"} in domain["dns_records"]
    assert all(set(r) == {"type", "name", "value"} for r in domain["dns_records"])
    identity = aws.client("sesv2").get_email_identity(EmailIdentity="news.acme.example")
    assert identity["DkimAttributes"]["SigningEnabled"] is True
    # And it carries the stage's tag, without which the stage's roles may not send as it (infra/permissions.py)
    assert {"Key": "mailroom:stage", "Value": get_settings().stage} in identity["Tags"]
    listed = api_call(client, "GET", "/v1/domains", headers=person.headers).json_body["items"]
    assert [(d["name"], d["status"]) for d in listed] == [("news.acme.example", "verified")]


def test_given_a_domain_registered_by_this_or_another_account_then_409_alike(client, tenant):
    owner, other = tenant(), tenant()
    add_domain(client, owner, "acme.example")

    again = api_call(client, "POST", "/v1/domains", {"domain": "acme.example"}, headers=owner.headers)
    theirs = api_call(client, "POST", "/v1/domains", {"domain": "ACME.example"}, headers=other.headers)

    assert again.status_code == theirs.status_code == 409
    assert again.json_body == theirs.json_body
    assert api_call(client, "GET", "/v1/domains", headers=other.headers).json_body["items"] == []


@pytest.mark.parametrize("name", ["acme", "https://acme.example/", "ada@acme.example", "-bad.example", "a..b", ""])
def test_given_something_that_is_not_a_domain_then_422(client, tenant, name):
    answer = api_call(client, "POST", "/v1/domains", {"domain": name}, headers=tenant().headers)
    assert answer.status_code == 422


def test_given_the_services_own_domain_then_409(client, tenant):
    answer = api_call(client, "POST", "/v1/domains", {"domain": "mailroom.localhost"}, headers=tenant().headers)
    assert answer.status_code == 409


def test_given_a_deleted_domain_then_it_is_free_again_and_no_longer_sends(client, tenant):
    owner, other = tenant(plan="free"), tenant()
    contact_list = audience(client, owner)
    campaign = draft(client, owner, contact_list["id"])

    deleted = api_call(client, "DELETE", "/v1/domains/acme.example", headers=owner.headers)

    assert deleted.status_code == 204
    assert api_call(client, "DELETE", "/v1/domains/acme.example", headers=owner.headers).status_code == 404
    assert send(client, owner, campaign["id"]).json_body["error"]["code"] == "domain_not_verified"
    assert api_call(client, "POST", "/v1/domains", {"domain": "acme.example"}, headers=other.headers).status_code == 201


def test_given_a_verified_parent_domain_then_a_subdomain_sender_may_send(client, tenant):
    person = tenant(plan="free")
    contact_list = audience(client, person, from_email="news@mail.acme.example")
    campaign = draft(client, person, contact_list["id"])

    assert send(client, person, campaign["id"]).json_body["campaign"]["status"] == "sending"


def test_given_another_accounts_domain_then_this_account_cannot_send_from_it(client, tenant):
    owner, other = tenant(), tenant(plan="free")
    add_domain(client, owner, "acme.example")
    contact_list = audience(client, other, domain=False)
    campaign = draft(client, other, contact_list["id"])

    assert send(client, other, campaign["id"]).json_body["error"]["code"] == "domain_not_verified"


def test_given_a_domain_another_account_verified_then_its_subdomains_are_409_to_everyone_else(client, tenant):
    # Given an account that verified acme.example
    owner, other = tenant(), tenant()
    assert add_domain(client, owner, "acme.example")["status"] == "verified"

    # When another account registers subdomains of it, or look-alikes that are not within it
    sub = api_call(client, "POST", "/v1/domains", {"domain": "Mail.Acme.Example"}, headers=other.headers)
    deeper = api_call(client, "POST", "/v1/domains", {"domain": "a.b.acme.example"}, headers=other.headers)
    alike = api_call(client, "POST", "/v1/domains", {"domain": "notacme.example"}, headers=other.headers)

    # Then the subdomains are refused like a taken domain and nothing is kept for them, the look-alike is not
    assert (sub.status_code, deeper.status_code, alike.status_code) == (409, 409, 201)
    assert sub.json_body["error"]["code"] == deeper.json_body["error"]["code"] == "domain_taken"
    listed = api_call(client, "GET", "/v1/domains", headers=other.headers).json_body["items"]
    assert [d["name"] for d in listed] == ["notacme.example"]
    # And the owner itself may still add a subdomain of its own domain
    assert add_domain(client, owner, "mail.acme.example")["status"] == "verified"
