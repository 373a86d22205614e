"""A customer takes their list out (R17), over real HTTP against the running local runtime: the export job
runs on the runtime's exports queue and the file is downloaded from the emulated S3 through its link."""
from __future__ import annotations

import csv
import io
import time

import httpx
import pytest

from tests.e2e.sending import add_members, customer

pytestmark = pytest.mark.e2e


def wait_until_ready(http: httpx.Client, path: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        export = http.get(path).json()["export"]
        if export["status"] != "preparing":
            return export
        time.sleep(0.3)
    raise AssertionError(f"the export was not ready within {timeout:.0f} s")


def test_a_list_exported_as_csv_downloads_through_its_link_with_every_member_once(local_runtime):
    # Given a customer with a list of 30 members, 5 of them unsubscribed
    sender = customer(local_runtime, credits=100)
    members = add_members(sender, "subscribed", 30)
    with sender.client() as http:
        for _, subscriber_id in members[:5]:
            done = http.post(f"/v1/lists/{sender.list_id}/subscribers/{subscriber_id}/unsubscribe")
            assert done.status_code == 200, done.text

        # When they ask for a CSV export of the subscribed members and wait for it
        asked = http.post(f"/v1/lists/{sender.list_id}/exports", json={"format": "csv", "status": ["subscribed"]})
        assert asked.status_code == 202, asked.text
        assert asked.json()["export"]["status"] == "preparing"
        export = wait_until_ready(http, f"/v1/lists/{sender.list_id}/exports/{asked.json()['export']['id']}")

    # Then the link downloads a UTF-8 CSV with a BOM holding each subscribed member once, with their fields
    assert export["status"] == "ready" and export["rows"] == 25, export
    download = httpx.get(export["download_url"], timeout=30)
    assert download.status_code == 200, download.text
    assert download.content.startswith(b"\xef\xbb\xbfemail,status,first_name,")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"), newline="")))
    assert sorted(row["email"] for row in rows) == sorted(address for address, _ in members[5:])
    assert {row["status"] for row in rows} == {"subscribed"}
    assert all(row["first_name"].startswith("Reader") and row["consent_source"] == "e2e" for row in rows)
    assert len(download.content) == export["size_bytes"]
