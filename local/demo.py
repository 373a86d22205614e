"""`make demo`: the local runtime with an account ready to look at, and a campaign already sent and read.

    python -m local.demo        (or: make demo)

Starts the runtime as `make run` does, then, through the API as a customer and the local staff user would:
signs up an owner (and confirms their address from the verification email in the outbox), has staff approve
the account and put it on a paid plan, adds and verifies a sending domain, makes a list and imports 1,000
members from CSV files, and sends one campaign to them. The members are addresses of SES's mailbox
simulator, so SES's events come back as they would from real inboxes: 999 deliveries, one hard bounce
(bounce@) and one complaint (complaint@, imported after the first 300 readers, so mailed after them). Readers then
open and click as people
do, by requesting the real open-pixel and click URLs in the emails the outbox holds (with the user agents
of common mail clients, a few privacy prefetches among them), and a few unsubscribe with one click from the
email's List-Unsubscribe header. When the report shows all of it, it prints how to sign in, and runs until
Ctrl-C like `make run`. `seed(state)` does the seeding alone, against any running runtime
(tests/e2e/test_demo.py).
"""
from __future__ import annotations

import csv
import email
import io
import logging
import random
import re
import secrets
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from typing import Any

import httpx

from local import quick_start, runtime
from local.runtime import Stopped

log = logging.getLogger("local.demo")
STARTED = time.monotonic()

MEMBERS = 1_000
EARLY_READERS = 300   # imported, and so mailed, before the bounce and the complaint (see list_with_members)
SIMULATOR = "simulator.amazonses.com"
BOUNCE, COMPLAINT = f"bounce@{SIMULATOR}", f"complaint@{SIMULATOR}"
OPENERS, REOPENERS, PREFETCHED, CLICKERS, UNSUBSCRIBERS = 300, 40, 30, 60, 4
SUBSCRIBER_LEVEL = 2_500
SCANNER_SECONDS = 6          # the service counts a click within 5 s of delivery as a link scanner's
WAIT_SECONDS = 300.0
WORKERS = 8
FIRST_NAMES = ("Anna", "Jānis", "Līga", "Mārtiņš", "Ieva", "Kristaps", "Elīna", "Tomas", "Greta", "Lukas",
               "Emma", "Oskar", "Sofia", "Mikael", "Aino", "Eero", "Marta", "Karl", "Ingrid", "Paul")
LAST_NAMES = ("Bērziņa", "Ozols", "Kalniņa", "Liepa", "Petrauskas", "Kask", "Tamm", "Virtanen", "Schmidt",
              "Novak", "Lindqvist", "Nowak", "Müller", "Jansen", "Dubois", "Rossi", "Horvat", "Kowalski")
CITIES = ("Riga", "Vilnius", "Tallinn", "Helsinki", "Stockholm", "Berlin", "Warsaw", "Amsterdam", "Vienna")
READERS = (  # (user agent, country): people's mail clients and browsers
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Safari/537.36", "LV"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Mobile/15E148 Safari/604.1", "LT"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
     "Safari/605.1.15", "EE"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile "
     "Safari/537.36", "DE"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", "FI"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
     "Safari/537.36 Edg/124.0.0.0", "SE"),
)
PRIVACY_PREFETCH = "Mozilla/5.0"     # Apple Mail Privacy Protection fetches every image on delivery
HTML = """<h1>Autumn at {company}, {{{{ first_name | default("friend") }}}}</h1>
<p>The evenings are drawing in, and our autumn range is here: wool, tweed and boots made to last.</p>
<p><a href="https://{domain}/autumn">See the autumn range</a></p>
<p>Readers in {{{{ city | default("your city") }}}} get free delivery on orders over 50 EUR this month.
<a href="https://{domain}/delivery">How delivery works</a></p>
<p>Warm regards,<br>Līga from {company}</p>"""


class DemoFailed(RuntimeError):
    """A step of the seeding was refused or did not finish; the message says which."""


@dataclass(frozen=True)
class Demo:
    """What the seeding made, and how to reach it."""

    api: str
    outbox: str
    email: str
    password: str
    domain: str
    list_id: str
    campaign_id: str
    report: dict[str, Any]
    members: int = MEMBERS


def _ok(answer: httpx.Response, step: str, status: int = 200) -> dict[str, Any]:
    if answer.status_code != status:
        raise DemoFailed(f"{step}: HTTP {answer.status_code} {answer.text[:300]}")
    return answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}


def members_csv(tag: str, members: int = MEMBERS, first: int = 0) -> bytes:
    """`members` SES simulator addresses that are delivered, numbered from `first`."""
    chooser = random.Random(f"{tag}-{first}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["email", "first_name", "last_name", "city"])
    for n in range(first, first + members):
        given, family = chooser.choice(FIRST_NAMES), chooser.choice(LAST_NAMES)
        writer.writerow([f"success+reader{n + 1}@{SIMULATOR}", given, family, chooser.choice(CITIES)])
    return out.getvalue().encode("utf-8")


# Imported after the first 300 readers and before the rest (a list is sent in the order its members joined, by the
# second they joined), so that their bounce and complaint come when 200 to 500 of the campaign's emails are reported:
# from 200, one complaint is under R22's 0.5% auto-stop; under 500 reported, the reputation guard does not judge the
# account, and with one complaint in 1,000 (0.1%) it would put it on hold at 0.08%. Both are then off the list, so
# a newcomer's own campaign to it brings neither again.
def clock_second() -> int:
    return int(time.time())


LAST_ROWS = ("email,first_name,last_name,city\r\n"
             f"{BOUNCE},Bruno,Bounce,Riga\r\n{COMPLAINT},Clara,Complaint,Vilnius\r\n")


def _body(raw: str, kind: str) -> str:
    """An email's HTML or plain-text part, decoded."""
    message = email.message_from_string(raw, policy=policy.default)
    part = message.get_body(preferencelist=(kind,))
    return part.get_content() if part is not None else ""


def _unsubscribe_url(raw: str) -> str:
    message = email.message_from_string(raw, policy=policy.default)
    return str(message.get("List-Unsubscribe", "")).strip("<> ")


class Seeder:
    """One run of the seeding, against the runtime whose local.json is `state`."""

    def __init__(self, state: dict[str, Any], tag: str, stopping: Callable[[], bool], members: int = MEMBERS):
        self.state = state
        self.members = members
        self.stopping = stopping
        self.api = state["api"]
        self.tag = tag
        self.http = httpx.Client(base_url=self.api, timeout=60)
        self.deadline = time.monotonic() + WAIT_SECONDS
        suffix = f"-{tag}" if tag else ""
        self.company = "Autumn & Co"
        self.domain = f"autumn-demo{suffix}.eu"
        self.email = f"owner@{self.domain}"
        self.password = secrets.token_urlsafe(12)

    def run(self) -> Demo:
        started = time.monotonic()

        def done(step: str) -> None:
            log.info("demo: %s (%.1f s)", step, time.monotonic() - started)

        account_id = self.account()
        self.http.headers.update(self.sign_in(self.email, self.password))
        _ok(self.http.post("/v1/domains", json={"domain": self.domain}), "adding the sending domain", 201)
        done("account approved, on the monthly plan, with a verified domain")
        list_id = self.list_with_members()
        done(f"{self.members:,} members imported from CSV files")
        campaign_id = self.campaign(list_id)
        done("campaign sent")
        expected = self.readers_act(self.sent_messages(campaign_id))
        done("readers opened, clicked and unsubscribed")
        report = self.report_when(campaign_id, expected)
        self.free_to_send(account_id)
        done("the report shows it all")
        return Demo(self.api, self.state["outbox"], self.email, self.password, self.domain, list_id, campaign_id,
                    report, self.members)

    def _wait(self, what: str, check: Callable[[], Any]) -> Any:
        """Poll `check` until it answers something true; DemoFailed when the seeding's time is up."""
        while True:
            found = check()
            if found:
                return found
            if self.stopping():
                raise Stopped()
            if time.monotonic() > self.deadline:
                raise DemoFailed(f"{what} did not happen within {WAIT_SECONDS:.0f} s")
            time.sleep(0.25)

    def free_to_send(self, account_id: str) -> None:
        """DemoFailed if the bounce and complaint put the account on reputation hold: the newcomer could not send."""
        staff = self.sign_in(self.state["staff"]["email"], self.state["staff"]["password"])
        account = _ok(self.http.get(f"/v1/admin/accounts/{account_id}", headers=staff), "reading the account")
        if account["account"]["reputation_hold"] is not None:
            raise DemoFailed("the demo's bounce and complaint put its account on reputation hold")

    def sign_in(self, address: str, password: str) -> dict[str, str]:
        token = _ok(self.http.post("/v1/sessions", json={"email": address, "password": password}), "signing in",
                    201)["token"]
        return {"Authorization": f"Bearer {token}"}

    def account(self) -> str:
        """Sign up, confirm the address from the outbox, and have staff approve it onto the monthly plan."""
        signup = _ok(self.http.post("/v1/signup", json={
            "email": self.email, "password": self.password, "company": self.company, "first_name": "Līga",
            "last_name": "Kalniņa", "country": "LV", "accept_terms": True, "city": "Riga",
            "website": f"https://{self.domain}"}), "signing up", 201)
        account_id = signup["account"]["id"]
        verification = self._wait("the verification email", lambda: [
            m for m in self._outbox() if self.email in m["to"]])[0]
        link = re.search(r"https?://\S+/v1/verify-email/\S+", _body(verification["raw"], "plain"))
        if link is None:
            raise DemoFailed("the verification email carries no link")
        _ok(self.http.get(link.group(0)), "confirming the owner's address")
        staff = self.sign_in(self.state["staff"]["email"], self.state["staff"]["password"])
        _ok(self.http.post(f"/v1/admin/accounts/{account_id}/approve", headers=staff), "approving the account")
        _ok(self.http.patch(f"/v1/admin/accounts/{account_id}/plan", headers=staff, json={
            "plan": "monthly", "subscriber_level": SUBSCRIBER_LEVEL}), "choosing the monthly plan")
        return account_id

    def list_with_members(self) -> str:
        created = _ok(self.http.post("/v1/lists", json={
            "name": "Autumn readers", "from_name": self.company, "from_email": f"news@{self.domain}",
            "company_address": "Brīvības iela 1, Rīga, LV-1010, Latvia", "double_opt_in": True,
            "fields": [{"key": "first_name", "label": "First name", "type": "text"},
                       {"key": "last_name", "label": "Last name", "type": "text"},
                       {"key": "city", "label": "City", "type": "text"}]}), "making the list", 201)
        list_id = created["list"]["id"]
        early = min(EARLY_READERS, self.members - 2)
        late = self.members - 2 - early
        self._import(list_id, members_csv(self.tag, early).decode("utf-8"), early)
        self._next_second()
        self._import(list_id, LAST_ROWS, 2)
        if late:
            self._next_second()
            self._import(list_id, members_csv(self.tag, late, first=early).decode("utf-8"), late)
        return list_id

    @staticmethod
    def _next_second() -> None:
        """Wait for the clock's next second: the list orders its members by the second they joined."""
        joined = clock_second()
        while clock_second() == joined:
            time.sleep(0.05)

    def _import(self, list_id: str, text: str, rows: int) -> None:
        started = _ok(self.http.post(f"/v1/lists/{list_id}/imports", json={
            "consent": {"source": "Autumn & Co shop checkout, newsletter box ticked", "permission": True},
            "csv": text}), "importing the CSV file", 201)["import"]
        path = f"/v1/lists/{list_id}/imports/{started['id']}"

        def ended() -> dict | None:
            found = _ok(self.http.get(path), "reading the import")["import"]
            return found if found["status"] in ("done", "failed", "cancelled") else None

        done = self._wait("the import", ended)
        if done["status"] != "done" or done["added"] != rows:
            raise DemoFailed(f"the import ended {done['status']} with {done['added']} of {rows} added")

    def campaign(self, list_id: str) -> str:
        created = _ok(self.http.post("/v1/campaigns", json={
            "list_id": list_id, "name": "Autumn news",
            "subject": "Autumn is here, {{ first_name | default('friend') }}",
            "html": HTML.format(company=self.company, domain=self.domain)}), "making the campaign", 201)
        campaign_id = created["campaign"]["id"]
        _ok(self.http.post(f"/v1/campaigns/{campaign_id}/send", json={}), "sending the campaign", 202)

        def finished() -> dict | None:
            found = _ok(self.http.get(f"/v1/campaigns/{campaign_id}"), "reading the campaign")["campaign"]
            return found if found["status"] != "sending" else None

        done = self._wait("the send", finished)
        if done["status"] != "sent":
            raise DemoFailed(f"the campaign ended {done['status']}: {done.get('status_reason')}")
        return campaign_id

    def _outbox(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.state['outbox']}/messages.json", timeout=60).json()

    def sent_messages(self, campaign_id: str) -> list[dict[str, Any]]:
        """The campaign's emails in the outbox, in the order they were sent."""
        ours = [m for m in self._outbox() if m["subject"].startswith("Autumn is here")
                and f"news@{self.domain}" in m["raw"][:4000]]
        if len(ours) != self.members:
            raise DemoFailed(f"the outbox holds {len(ours)} of the campaign's {self.members} emails")
        return ours

    def readers_act(self, messages: list[dict[str, Any]]) -> dict[str, int]:
        """Opens, clicks and unsubscribes by the campaign's readers, through the emails' own links; the counts
        the report should then show."""
        chooser = random.Random(self.tag or "demo")
        delivered = [m for m in messages if m["to"][0] not in (BOUNCE, COMPLAINT)]
        openers = chooser.sample(delivered, OPENERS)
        clickers = openers[:CLICKERS]
        leavers = openers[-UNSUBSCRIBERS:]
        prefetched = chooser.sample(delivered, PREFETCHED)
        parsed = {m["id"]: _body(m["raw"], "html") for m in openers + prefetched}

        def pixel(message: dict[str, Any]) -> str:
            found = re.search(r'src="([^"]+/o/[^"]+)"', parsed[message["id"]])
            if found is None:
                raise DemoFailed("a campaign email carries no open pixel")
            return found.group(1)

        def links(message: dict[str, Any]) -> list[str]:
            return re.findall(r'href="([^"]+/c/[^"]+)"', parsed[message["id"]])

        requests: list[tuple[str, str, str, str]] = []   # (method, url, user agent, country)
        for n, message in enumerate(openers):
            agent, country = READERS[n % len(READERS)]
            requests.append(("GET", pixel(message), agent, country))
            if n < REOPENERS:
                requests.append(("GET", pixel(message), agent, country))
        requests += [("GET", pixel(m), PRIVACY_PREFETCH, "") for m in prefetched]
        self._fetch(requests)
        self._wait_past_scanner_window(clickers)
        clicks = [("GET", links(m)[n % 2], *READERS[n % len(READERS)]) for n, m in enumerate(clickers)]
        self._fetch(clicks)
        self._fetch([("POST", _unsubscribe_url(m["raw"]), READERS[0][0], "") for m in leavers])
        return {"opens": OPENERS, "clicks": CLICKERS, "unsubscribes": UNSUBSCRIBERS, "machine": PREFETCHED}

    def _wait_past_scanner_window(self, messages: list[dict[str, Any]]) -> None:
        latest = max(datetime.fromisoformat(m["sent_at"].replace("Z", "+00:00")) for m in messages)
        self._wait("the clickers' emails to age past the scanner window",
                   lambda: (datetime.now(UTC) - latest).total_seconds() > SCANNER_SECONDS)

    def _fetch(self, requests: list[tuple[str, str, str, str]]) -> None:
        def one(request: tuple[str, str, str, str]) -> None:
            method, url, agent, country = request
            headers = {"User-Agent": agent, **({"CloudFront-Viewer-Country": country} if country else {})}
            data = {"List-Unsubscribe": "One-Click"} if method == "POST" else None
            answer = httpx.request(method, url, headers=headers, data=data, timeout=60, follow_redirects=False)
            if answer.status_code >= 400:
                raise DemoFailed(f"a reader's {method} {url.split('/')[3]} answered HTTP {answer.status_code}")

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(one, requests))

    def report_when(self, campaign_id: str, expected: dict[str, int]) -> dict[str, Any]:
        """The campaign's report once SES's events and the readers' actions all show in it."""
        def complete() -> dict | None:
            report = _ok(self.http.get(f"/v1/campaigns/{campaign_id}/report"), "reading the report")["report"]
            shown = (report["sent"] == self.members and report["delivered"]["count"] == self.members - 1
                     and report["bounces"]["hard"] == 1 and report["complaints"]["count"] == 1
                     and report["opens"]["unique"] == expected["opens"]
                     and report["opens"]["machine"] == expected["machine"]
                     and report["clicks"]["unique"] == expected["clicks"]
                     and report["unsubscribes"]["count"] == expected["unsubscribes"])
            return report if shown else None

        return self._wait("the full report", complete)


def seed(state: dict[str, Any], tag: str = "", stopping: Callable[[], bool] = lambda: False,
         members: int = MEMBERS) -> Demo:
    """Seed the demo into the runtime of `state` (its local.json); `tag` keeps several seedings apart. Fewer
    `members` (the tests') make the same demo faster; the bounce and the complaint still come after the first 300
    readers (or after all of fewer)."""
    seeder = Seeder(state, tag, stopping, members)
    try:
        return seeder.run()
    finally:
        seeder.http.close()


def instructions(demo: Demo, seconds: float) -> str:
    """How to sign in and what to look at, as printed."""
    report = demo.report
    sign_in = quick_start.session_command({"email": demo.email, "password": demo.password})
    return "\n".join([
        "",
        f"The demo is ready, {seconds:.0f} s after `make demo`. Sign in as the account's owner:",
        f"  email {demo.email}   password {demo.password}",
        f"  API={demo.api}",
        f"  {sign_in}",
        f"  curl -s $API/v1/campaigns/{demo.campaign_id}/report -H \"Authorization: Bearer $TOKEN\"",
        f"The account: approved, monthly plan ({SUBSCRIBER_LEVEL:,} subscribers), domain {demo.domain} verified.",
        f"The list {demo.list_id}: {demo.members:,} members imported from CSV files.",
        f"The campaign {demo.campaign_id}, sent: {report['sent']} sent, {report['delivered']['count']} delivered, "
        f"{report['bounces']['hard']} hard bounce, {report['complaints']['count']} complaint, "
        f"{report['opens']['unique']} opened, {report['clicks']['unique']} clicked, "
        f"{report['unsubscribes']['count']} unsubscribed.",
        f"Its emails, as the readers saw them: {demo.outbox}",
    ])


def main() -> int:
    """`make demo`: the runtime, seeded; runs until Ctrl-C or SIGTERM."""
    def prepare(state: dict[str, Any], stopping: Callable[[], bool]) -> None:
        log.info("demo: seeding an account, a list of %d and a sent campaign", MEMBERS)
        try:
            demo = seed(state, stopping=stopping)
        except DemoFailed as exc:
            raise runtime.StartFailed(f"the demo could not be seeded: {exc}") from None
        print(instructions(demo, time.monotonic() - STARTED), flush=True)

    return runtime.main(prepare=prepare)


if __name__ == "__main__":
    sys.exit(main())
