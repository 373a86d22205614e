"""The invitation page as the invited person sees it in a browser (Debian's Chromium through Playwright): it
names the team and the role, takes the password twice, and joins. The screenshot lands in a temporary directory."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.integration.colleagues import invitation_token, invite
from tests.integration.conftest import api_call
from tests.integration.local_api import local_api_server

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-password-0123"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_an_invited_colleague_joins_through_the_page_in_a_browser(client, tenant):
    from playwright.sync_api import sync_playwright

    # Given an owner who invited Ben as editor
    owner = tenant()
    assert invite(client, owner, "ben@colleagues.example", "editor").status_code == 201
    path = f"/invitations/{invitation_token('ben@colleagues.example')}"
    screenshots = Path(tempfile.mkdtemp(prefix="mailroom-invitation-"))

    with local_api_server() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 700})
            # When Ben opens the link from the email
            page.goto(base + path)
            page.screenshot(path=str(screenshots / "invitation.png"), full_page=True)
            print(f"\ninvitation page screenshot: {screenshots / 'invitation.png'}")

            # Then the page names the team, the role and the address he will sign in with
            text = page.inner_text("body")
            assert "Join your team" in text and "Acme Ltd" in text and "editor" in text
            assert "ben@colleagues.example" in text

            # When he types two different passwords, he is asked again; with the same one twice, he joins
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=password_confirm]", "something-else-0123")
            page.click("button[type=submit]")
            assert "not the same" in page.inner_text("[role=alert]")
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=password_confirm]", PASSWORD)
            page.click("button[type=submit]")
            assert "Welcome aboard" in page.inner_text("h1")
            page.screenshot(path=str(screenshots / "joined.png"))
        finally:
            browser.close()

    # And he signs in with the password he chose
    session = api_call(client, "POST", "/v1/sessions", {"email": "ben@colleagues.example", "password": PASSWORD})
    assert session.status_code == 201
