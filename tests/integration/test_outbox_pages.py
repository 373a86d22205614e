"""The outbox as a person sees it in a browser: each email rendered safely, its parts and files, and a list that
pages and searches. Driven in Debian's Chromium through Playwright; screenshots land in a temporary directory."""
from __future__ import annotations

import base64
import os
import tempfile
import threading
import urllib.error
import urllib.request
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from local.emulator import Emulator
from local.launcher import free_ports
from local.outbox import Outbox, OutboxServer

CHROMIUM = "/usr/bin/chromium"
REGION = "eu-west-1"
SENDER = "news@autumn-shop.eu"
# A 2×2 red PNG: the inline logo the email carries itself.
LOGO = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQED"
                        "asKb6QAAAABJRU5ErkJggg==")
PDF = b"%PDF-1.4\n% an invoice\n"

needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")


class RemoteImages(ThreadingHTTPServer):
    """A loopback server standing in for a sender's image host: it counts what is asked of it."""

    daemon_threads = True

    def __init__(self, port: int):
        self.requests: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler) -> None:  # noqa: N802, N805 - http.server's names
                self.requests.append(handler.path)
                handler.send_response(200)
                handler.send_header("Content-Type", "image/png")
                handler.send_header("Content-Length", str(len(LOGO)))
                handler.end_headers()
                handler.wfile.write(LOGO)

            def log_message(handler, *args) -> None:  # noqa: N805
                pass

        super().__init__(("127.0.0.1", port), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def newsletter(to: str, remote: str) -> EmailMessage:
    """A campaign email as senders write them: text and HTML, an inline logo, a remote pixel, a script, a PDF."""
    message = EmailMessage()
    message["From"] = f"Autumn Shop <{SENDER}>"
    message["To"] = to
    message["Subject"] = "Autumn <b>news</b> & offers"
    message["List-Unsubscribe"] = "<https://mailroom.example/u/abc>"
    message.set_content("Autumn news for Ada\n\nThe sale starts Monday.\n")
    message.add_alternative(f"""<html><head><style>h1{{color:#8a3b12}}</style></head><body>
<h1>Autumn news for Ada</h1>
<p id="script-check">No script ran.</p>
<script>document.getElementById("script-check").textContent = "A SCRIPT RAN";</script>
<p><img alt="logo" src="cid:logo@autumn"> <img alt="pixel" src="{remote}/open.gif?u=1"></p>
<div style="background:url({remote}/background.png);height:20px">The sale starts Monday.</div>
<p><a href="https://autumn-shop.eu/sale">See the sale</a></p>
</body></html>""", subtype="html")
    message.get_payload()[1].add_related(LOGO, maintype="image", subtype="png", cid="<logo@autumn>")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice ōctober.pdf")
    return message


def plain(to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Hello.")
    return message


@pytest.fixture
def outbox_site():
    """An outbox on a free loopback port with moto's SES behind it, a way to send, and a counting image host."""
    outbox_port, images_port = free_ports(2)
    with mock_aws():
        boto3.client("ses", region_name=REGION).verify_domain_identity(Domain="autumn-shop.eu")
        outbox = Outbox()
        outbox.attach(Emulator.ses_backend(REGION, DEFAULT_ACCOUNT_ID))
        server = OutboxServer(outbox, "127.0.0.1", outbox_port)
        server.start()
        images = RemoteImages(images_port)
        sesv2 = boto3.client("sesv2", region_name=REGION)

        def send(message: EmailMessage) -> str:
            return sesv2.send_email(FromEmailAddress=SENDER, Destination={"ToAddresses": [str(message["To"])]},
                                    Content={"Raw": {"Data": message.as_bytes()}})["MessageId"]

        try:
            yield f"http://127.0.0.1:{outbox_port}", send, images
        finally:
            images.shutdown()
            images.server_close()
            server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="mailroom-outbox-screenshots-"))
    print(f"\noutbox screenshots: {directory}")
    return directory


@needs_chromium
def test_a_message_shows_its_html_rendered_without_scripts_or_remote_loads(outbox_site, browser, screenshots):
    # Given a newsletter with a script, a remote pixel and a remote background, sent through SES
    base, send, images = outbox_site
    remote = f"http://127.0.0.1:{images.server_address[1]}"
    message_id = send(newsletter("ada@readers.eu", remote))
    # (the image host is seen to count: a page that simply loads the email's HTML does reach it)
    control = browser.new_page()
    control.set_content(newsletter("ada@readers.eu", remote).get_body(("html",)).get_content(), wait_until="load")
    control.close()
    assert images.requests, "the control page should have fetched the remote images"
    images.requests.clear()

    # When a person opens it from the outbox's list
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.goto(f"{base}/", wait_until="load")
    page.get_by_role("link", name="Autumn <b>news</b> & offers").click()
    page.wait_for_load_state("load")
    page.screenshot(path=str(screenshots / "message.png"), full_page=True)

    # Then they see the HTML rendered in its frame: the heading, the inline logo, the link, the script's text unchanged
    assert page.url == f"{base}/messages/{message_id}/view"
    frame = page.frame_locator("iframe")
    assert frame.locator("h1").inner_text() == "Autumn news for Ada"
    assert frame.locator("#script-check").inner_text() == "No script ran."
    assert frame.locator("img[alt=logo]").evaluate("img => img.naturalWidth") == 2
    assert frame.get_by_role("link", name="See the sale").get_attribute("href") == "https://autumn-shop.eu/sale"
    # and the remote image host was asked for nothing: not the pixel, not the background
    assert images.requests == []
    assert frame.locator("img[alt=pixel]").evaluate("img => img.naturalWidth") == 0
    # and the subject as written (escaped, not bold), the text part, the headers and the attachment
    assert page.locator("h1").inner_text() == "Autumn <b>news</b> & offers"
    assert "The sale starts Monday." in page.locator("section", has_text="Text").locator("pre").inner_text()
    headers = page.locator("table.headers").inner_text()
    assert page.get_by_role("link", name="part-1.png").is_visible()
    assert "List-Unsubscribe" in headers and "<https://mailroom.example/u/abc>" in headers
    with page.expect_download() as download:
        page.get_by_role("link", name="invoice ōctober.pdf").click()
    assert download.value.suggested_filename == "invoice ōctober.pdf"
    assert Path(download.value.path()).read_bytes() == PDF
    assert page.evaluate("document.title") == "Autumn <b>news</b> & offers · mailroom outbox"
    page.close()


@needs_chromium
def test_the_list_is_newest_first_in_pages_of_50_and_searches_recipients_and_subjects(outbox_site, browser,
                                                                                     screenshots):
    # Given 120 emails, one of them to a distinctive address and two with a distinctive subject
    base, send, _ = outbox_site
    for n in range(120):
        to = "marta.ozola@riga-readers.eu" if n == 7 else f"reader{n}@readers.eu"
        subject = f"Invoice {n} is ready" if n in (30, 90) else f"Weekly digest {n}"
        send(plain(to, subject))
    page = browser.new_page(viewport={"width": 1100, "height": 900})

    # When the outbox opens
    page.goto(f"{base}/", wait_until="load")
    page.screenshot(path=str(screenshots / "list.png"))

    # Then it shows the 50 newest, newest first, and pages on to the rest
    rows = page.locator("tbody tr")
    assert rows.count() == 50
    assert rows.first.locator("td").nth(2).inner_text() == "Weekly digest 119"
    assert "1–50 of 120" in page.locator("main").inner_text()
    page.get_by_role("link", name="Older →").click()
    page.get_by_role("link", name="Older →").click()
    assert rows.count() == 20 and rows.last.locator("td").nth(2).inner_text() == "Weekly digest 0"
    assert page.get_by_text("Page 3 of 3").is_visible()

    # When they search by part of a recipient (any case), then by part of a subject
    page.get_by_role("searchbox").fill("MARTA.ozola")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state("load")
    by_recipient = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]
    page.get_by_role("searchbox").fill("invoice")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state("load")
    by_subject = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())]
    page.screenshot(path=str(screenshots / "search.png"))

    # Then each finds exactly its emails, newest first
    assert by_recipient == ["marta.ozola@riga-readers.eu"]
    assert by_subject == ["Invoice 90 is ready", "Invoice 30 is ready"]
    page.close()


def test_unknown_messages_and_attachments_are_404(outbox_site):
    base, send, _ = outbox_site
    message_id = send(plain("reader@readers.eu", "No files"))

    for path in ("/messages/nope/view", f"/messages/{message_id}/attachments/1",
                 f"/messages/{message_id}/attachments/0", f"/messages/{message_id}/other"):
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}{path}", timeout=5)
        assert missing.value.code == 404, path
    assert urllib.request.urlopen(f"{base}/?page=banana&q=%3Cscript%3E", timeout=5).status == 200
