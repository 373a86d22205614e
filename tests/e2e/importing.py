"""A customer who imports a CSV file through the presigned upload, over real HTTP against a running local runtime
(used by tests/e2e/test_import.py and bench/import.py)."""
from __future__ import annotations

import time

import httpx

from tests.e2e.sending import Sender

CONSENT = {"source": "crm-export", "permission": True}


def upload_file(sender: Sender, data: bytes, **extra) -> dict:
    """Create an import, POST the file to its presigned form from outside the service (as a browser or curl
    would), and answer the import, not yet started."""
    with sender.client() as http:
        created = http.post(f"/v1/lists/{sender.list_id}/imports", json={"consent": CONSENT, **extra})
    assert created.status_code == 201, created.text
    form = created.json()["import"]["upload"]
    sent = httpx.post(form["url"], data=form["fields"], files={"file": ("contacts.csv", data, "text/csv")},
                      timeout=600)
    assert sent.status_code in (200, 201, 204), sent.text
    return created.json()["import"]


def start_and_wait(sender: Sender, import_id: str, timeout: float) -> tuple[float, dict]:
    """Start the import and poll it until it ends; (seconds from start to its end, the import)."""
    path = f"/v1/lists/{sender.list_id}/imports/{import_id}"
    with sender.client() as http:
        started = time.monotonic()
        answer = http.post(f"{path}/start")
        assert answer.status_code == 200, answer.text
        deadline = started + timeout
        while time.monotonic() < deadline:
            found = http.get(path).json()["import"]
            if found["status"] in ("done", "failed", "cancelled"):
                return time.monotonic() - started, found
            time.sleep(0.25)
    raise AssertionError(f"the import did not end within {timeout} s")


def csv_of(count: int, tag: str) -> bytes:
    """A CSV file of `count` rows with 3 fields: email, first name, company."""
    lines = ["email,first_name,company"] + [f"reader-{n}-{tag}@import-readers.eu,Reader{n},Company {n % 97}"
                                            for n in range(count)]
    return ("\r\n".join(lines) + "\r\n").encode()
