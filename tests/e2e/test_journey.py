"""A customer's and a subscriber's first day, over real HTTP against the running local runtime."""
from __future__ import annotations

import email
import re
import time
import uuid
from email import policy

import httpx
import pytest

pytestmark = pytest.mark.e2e


def wait_for_mail(outbox: str, to: str, subject_part: str, timeout: float = 20.0) -> email.message.EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in httpx.get(f"{outbox}/messages.json", timeout=10).json():
            if to in message["to"] and subject_part.lower() in message["subject"].lower():
                return email.message_from_string(message["raw"], policy=policy.default)
        time.sleep(0.2)
    raise AssertionError(f"no email with {subject_part!r} reached the outbox in {timeout} s")


def text_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain", "html")).get_content()


def test_signup_approve_list_confirm_unsubscribe_and_readd_refused(local_runtime):
    api, outbox = local_runtime["api"], local_runtime["outbox"]
    http = httpx.Client(base_url=api, timeout=30)
    owner = f"owner-{uuid.uuid4().hex[:8]}@journey-company.eu"
    reader = f"reader-{uuid.uuid4().hex[:8]}@journey-readers.eu"

    # Given a customer who signs up
    signup = http.post("/v1/signup", json={
        "email": owner, "password": "a long enough password", "company": "Journey SIA",
        "first_name": "Ilze", "last_name": "Ozola", "country": "LV", "accept_terms": True,
    })
    assert signup.status_code == 201, signup.text
    account = signup.json()["account"]
    assert account["status"] == "pending_review" and account["plan"] == "trial"
    assert "verify" in text_of(wait_for_mail(outbox, owner, "confirm your email")).lower()

    # and staff who approve the account
    staff = http.post("/v1/sessions", json=local_runtime["staff"])
    assert staff.status_code == 201, staff.text
    staff_headers = {"Authorization": f"Bearer {staff.json()['token']}"}
    approved = http.post(f"/v1/admin/accounts/{account['id']}/approve", headers=staff_headers)
    assert approved.status_code == 200 and approved.json()["account"]["status"] == "active"

    session = http.post("/v1/sessions", json={"email": owner, "password": "a long enough password"})
    assert session.status_code == 201
    headers = {"Authorization": f"Bearer {session.json()['token']}"}
    assert http.get("/v1/account", headers=headers).json()["account"]["status"] == "active"

    # When the customer makes a double opt-in list and adds a subscriber
    created = http.post("/v1/lists", headers=headers, json={
        "name": "Journey News", "from_name": "Journey", "from_email": "news@journey-company.eu",
        "company_address": "Brivibas iela 1, Riga, LV-1010, Latvia", "double_opt_in": True,
    })
    assert created.status_code == 201, created.text
    list_id = created.json()["list"]["id"]
    added = http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                      json={"email": reader, "fields": {}, "consent": {"source": "e2e"}})
    assert added.status_code == 201, added.text
    subscriber = added.json()["subscriber"]
    assert subscriber["status"] == "pending"

    # Then the subscriber gets a confirmation email and confirming makes them subscribed
    confirmation = wait_for_mail(outbox, reader, "confirm")
    link = re.search(r"https?://\S+/confirm/[\w.\-]+", text_of(confirmation)).group(0)
    assert httpx.get(link, timeout=30).status_code == 200
    member = http.get(f"/v1/lists/{list_id}/subscribers/{subscriber['id']}", headers=headers).json()
    assert member["subscriber"]["status"] == "subscribed"

    # When they unsubscribe with one click (RFC 8058: a form POST, no redirect, no cookie)
    one_click = httpx.post(subscriber["unsubscribe_url"], data={"List-Unsubscribe": "One-Click"},
                           timeout=30, follow_redirects=False)
    assert one_click.status_code == 200
    again = httpx.post(subscriber["unsubscribe_url"], data={"List-Unsubscribe": "One-Click"}, timeout=30)
    assert again.status_code == 200
    member = http.get(f"/v1/lists/{list_id}/subscribers/{subscriber['id']}", headers=headers).json()
    assert member["subscriber"]["status"] == "unsubscribed"

    # Then the customer cannot add them back through the API
    http.delete(f"/v1/lists/{list_id}/subscribers/{subscriber['id']}", headers=headers)
    readd = http.post(f"/v1/lists/{list_id}/subscribers", headers=headers,
                      json={"email": reader, "fields": {}, "consent": {"source": "e2e"}})
    assert readd.status_code == 422
    assert readd.json()["error"]["code"] == "suppressed"


def test_a_colleague_invited_as_editor_joins_through_the_emailed_link_and_sends_a_campaign(local_runtime):
    from tests.e2e.sending import Sender, add_members, create_campaign, customer, send_and_wait

    # Given a customer with a verified domain and a list of three readers
    owner = customer(local_runtime, credits=100)
    readers = [address for address, _ in add_members(owner, "subscribed", 3)]
    colleague = f"editor-{uuid.uuid4().hex[:8]}@journey-company.eu"

    # When the owner invites a colleague as editor
    with owner.client() as http:
        invited = http.post("/v1/account/users", json={"email": colleague, "role": "editor"})
    assert invited.status_code == 201, invited.text
    assert invited.json()["user"]["status"] == "invited"

    # Then the colleague gets an invitation whose link opens a page to choose a password
    invitation = wait_for_mail(local_runtime["outbox"], colleague, "invited you")
    link = re.search(r"https?://\S+/invitations/[\w.\-]+", text_of(invitation)).group(0)
    page = httpx.get(link, timeout=30)
    assert page.status_code == 200 and "editor" in page.text and colleague in page.text
    joined = httpx.post(link, data={"password": "colleague password 1", "password_confirm": "colleague password 1"},
                        timeout=30)
    assert joined.status_code == 200, joined.text
    assert httpx.get(link, timeout=30).status_code == 404   # the link works once

    # When the colleague signs in and sends a campaign to the list
    http = httpx.Client(base_url=local_runtime["api"], timeout=30)
    session = http.post("/v1/sessions", json={"email": colleague, "password": "colleague password 1"})
    assert session.status_code == 201, session.text
    editor = Sender(owner.api, {"Authorization": f"Bearer {session.json()['token']}"}, owner.account_id,
                    owner.domain, owner.list_id)
    campaign_id = create_campaign(editor, "Colleague news")
    _, campaign = send_and_wait(editor, campaign_id, timeout=120)

    # Then it goes to every reader, and the owner's user list and audit show who joined
    assert campaign["status"] == "sent", campaign
    for reader in readers:
        wait_for_mail(local_runtime["outbox"], reader, "Colleague news")
    with owner.client() as owner_http:
        users = owner_http.get("/v1/account/users").json()["items"]
        trail = [r["action"] for r in owner_http.get("/v1/account/audit").json()["items"]]
    assert {(u["email"], u["role"], u["status"]) for u in users} >= {(colleague, "editor", "active")}
    assert "user_invited" in trail and "invitation_accepted" in trail
