"""A customer who sends a campaign to a large list, over real HTTP against a running local runtime
(used by tests/e2e/test_campaign_send.py and bench/send_e2e.py)."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "a long enough password"
HTML = ('<h1>Hello {{ first_name }}</h1><p>See the <a href="https://{domain}/autumn">autumn range</a> '
        'and <a href="https://{domain}/sale?from=mail">the sale</a>.</p>')


@dataclass
class Sender:
    """A payg customer with a verified domain and a single opt-in list."""

    api: str
    headers: dict
    account_id: str
    domain: str
    list_id: str
    addresses: dict[str, list[str]] = field(default_factory=dict)
    owner: str = ""

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api, headers=self.headers, timeout=60)


def customer(state: dict, credits: int) -> Sender:
    """Sign up, have staff approve and put the account on pay-as-you-go, verify a domain, make a list."""
    api = state["api"]
    tag = uuid.uuid4().hex[:8]
    owner = f"owner-{tag}@send-company-{tag}.eu"
    http = httpx.Client(base_url=api, timeout=60)
    signup = http.post("/v1/signup", json={"email": owner, "password": PASSWORD, "company": "Send SIA",
                                           "first_name": "Ilze", "last_name": "Ozola", "country": "LV",
                                           "accept_terms": True})
    assert signup.status_code == 201, signup.text
    account_id = signup.json()["account"]["id"]
    staff = http.post("/v1/sessions", json=state["staff"])
    assert staff.status_code == 201, staff.text
    staff_headers = {"Authorization": f"Bearer {staff.json()['token']}"}
    assert http.post(f"/v1/admin/accounts/{account_id}/approve", headers=staff_headers).status_code == 200
    plan = http.patch(f"/v1/admin/accounts/{account_id}/plan", headers=staff_headers,
                      json={"plan": "payg", "credits": credits})
    assert plan.status_code == 200, plan.text
    session = http.post("/v1/sessions", json={"email": owner, "password": PASSWORD})
    assert session.status_code == 201, session.text
    headers = {"Authorization": f"Bearer {session.json()['token']}"}
    domain = f"news-{tag}.eu"
    added = http.post("/v1/domains", headers=headers, json={"domain": domain})
    assert added.status_code == 201 and added.json()["domain"]["status"] == "verified", added.text
    created = http.post("/v1/lists", headers=headers, json={
        "name": "Autumn News", "from_name": "Send SIA", "from_email": f"news@{domain}",
        "company_address": "Brivibas iela 1, Riga, LV-1010, Latvia", "double_opt_in": False,
        "fields": [{"key": "first_name", "label": "First name", "type": "text"}]})
    assert created.status_code == 201, created.text
    return Sender(api, headers, account_id, domain, created.json()["list"]["id"], owner=owner)


def add_members(sender: Sender, state: str, count: int, workers: int = 8) -> list[tuple[str, str]]:
    """Add `count` members (8 clients at once); their (address, id)."""
    tag = uuid.uuid4().hex[:6]
    return add_addresses(sender, state, [f"{state}-{n}-{tag}@readers-{tag}.eu" for n in range(count)], workers)


def add_addresses(sender: Sender, state: str, addresses: list[str], workers: int = 8) -> list[tuple[str, str]]:
    """Add these addresses as members (8 clients at once), kept under `state`; their (address, id)."""
    def add_slice(part: list[str]) -> list[tuple[str, str]]:
        done = []
        with sender.client() as http:
            for n, address in enumerate(part):
                answer = http.post(f"/v1/lists/{sender.list_id}/subscribers", json={
                    "email": address, "fields": {"first_name": f"Reader{n}"}, "consent": {"source": "e2e"}})
                assert answer.status_code == 201, answer.text
                done.append((address, answer.json()["subscriber"]["id"]))
        return done

    slices = [addresses[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        made = [pair for part in pool.map(add_slice, slices) for pair in part]
    sender.addresses.setdefault(state, []).extend(address for address, _ in made)
    return made


def create_campaign(sender: Sender, subject: str) -> str:
    with sender.client() as http:
        created = http.post("/v1/campaigns", json={
            "list_id": sender.list_id, "name": subject, "subject": subject + " for {{ first_name }}",
            "html": HTML.replace("{domain}", sender.domain)})
        assert created.status_code == 201, created.text
        return created.json()["campaign"]["id"]


def send_and_wait(sender: Sender, campaign_id: str, timeout: float) -> tuple[float, dict]:
    """POST send, then poll until the campaign is sent; (the monotonic time of the send, the campaign)."""
    with sender.client() as http:
        started = time.monotonic()
        sent = http.post(f"/v1/campaigns/{campaign_id}/send", json={})
        assert sent.status_code == 202, sent.text
        assert sent.json()["campaign"]["status"] == "sending", sent.text
        deadline = started + timeout
        while time.monotonic() < deadline:
            campaign = http.get(f"/v1/campaigns/{campaign_id}").json()["campaign"]
            if campaign["status"] != "sending":
                return started, campaign
            time.sleep(0.5)
    raise AssertionError(f"the campaign was not sent within {timeout:.0f} s")


def eventually(read: Callable[[], Any], check: Callable[[Any], bool], timeout: float = 20.0) -> Any:
    """`read()` until `check` holds (feedback is still arriving), or its last value after `timeout`."""
    deadline = time.monotonic() + timeout
    value = read()
    while not check(value) and time.monotonic() < deadline:
        time.sleep(0.5)
        value = read()
    return value
