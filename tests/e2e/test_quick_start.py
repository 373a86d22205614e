"""What a newcomer meets on `make run`: the quick start it prints works as printed, and a domain added on the
local runtime lists the DNS records SES would ask for."""
from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from local.runtime import Options, announce
from tests.e2e.sending import customer

pytestmark = pytest.mark.e2e


def test_the_printed_quick_start_signs_up_an_approved_paid_account_and_signs_in(local_runtime, capsys):
    # Given what the runtime prints once it is up
    announce(local_runtime, Options(), "http://127.0.0.1:4566", Path(".mailroom/local.json"))
    printed = capsys.readouterr().out
    quick_start = printed.split("Quick start, in another shell:\n", 1)[1]
    lines = [line[2:] for line in quick_start.splitlines() if line.startswith("  ")]
    assert f"Outbox (every email sent, as people see it): {local_runtime['outbox']}" in quick_start
    assert "docs/guide.md" in quick_start and "make demo" in quick_start

    # When a newcomer pastes its lines into a shell (with an address of their own: the runtime is shared)
    script = "set -e\n" + "\n".join(lines).replace("you@example.com", f"you-{uuid.uuid4().hex[:8]}@example.com")
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)

    # Then the last line answers their account: approved, on pay-as-you-go with 1,000 credits
    assert run.returncode == 0, run.stderr
    account = json.loads(run.stdout)["account"]
    assert account["status"] == "active" and account["plan"] == "payg"
    assert account["limits"]["credits"] == 1000


def test_a_domain_added_locally_lists_three_dkim_cnames_and_dmarc(local_runtime):
    # Given a customer of the local runtime
    sender = customer(local_runtime, credits=10)
    name = f"dkim-{uuid.uuid4().hex[:8]}.eu"

    # When they add a sending domain
    with sender.client() as http:
        added = http.post("/v1/domains", json={"domain": name})
        listed = http.get("/v1/domains").json()["items"]

    # Then it shows Easy DKIM's three CNAMEs, as SES gives them, and the DMARC record, the same when listed later
    assert added.status_code == 201, added.text
    records = added.json()["domain"]["dns_records"]
    cnames = [r for r in records if r["type"] == "CNAME"]
    assert len(cnames) == 3 and len({r["name"] for r in cnames}) == 3
    for record in cnames:
        token = re.fullmatch(rf"([a-z2-7]{{32}})\._domainkey\.{re.escape(name)}", record["name"]).group(1)
        assert record["value"] == f"{token}.dkim.amazonses.com"
    assert {"type": "TXT", "name": f"_dmarc.{name}", "value": "v=DMARC1; p=none;"} in records
    assert next(d for d in listed if d["name"] == name)["dns_records"] == records
