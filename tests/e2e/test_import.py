"""A CSV import over real HTTP: the file goes to the presigned upload form from outside the service, the import
is started, the local runtime's pump runs its job, and the members are in the list."""
from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.importing import start_and_wait, upload_file
from tests.e2e.sending import customer

pytestmark = pytest.mark.e2e


def test_a_csv_uploaded_through_the_presigned_form_is_imported(local_runtime):
    # Given a customer with a list, and a semicolon CSV saved by a spreadsheet (BOM, CRLF) with a bad row
    sender = customer(local_runtime, credits=10)
    tag = uuid.uuid4().hex[:6]
    data = ("\ufeffE-mail;First name\r\n"
            f"ann-{tag}@import-readers.eu;Ann\r\n"
            f"bob-{tag}@import-readers.eu;\"Bob; B\"\r\n"
            "not an address;X\r\n").encode()

    # When it is uploaded through the import's upload form and the import is started
    created = upload_file(sender, data)
    assert created["status"] == "awaiting_upload"
    _, found = start_and_wait(sender, created["id"], timeout=60)

    # Then the job imported the good rows and reported the bad one
    assert found["status"] == "done", found
    assert (found["rows"], found["added"], found["skipped"]["invalid"]) == (3, 2, 1)
    with sender.client() as http:
        listed = http.get(f"/v1/lists/{sender.list_id}/subscribers").json()["items"]
    assert {(m["email"], m["status"], m["fields"].get("first_name")) for m in listed} == {
        (f"ann-{tag}@import-readers.eu", "subscribed", "Ann"), (f"bob-{tag}@import-readers.eu", "subscribed", "Bob; B")}
    report = httpx.get(found["errors_url"], timeout=30)
    assert report.status_code == 200 and "not an address" in report.content.decode("utf-8-sig")
