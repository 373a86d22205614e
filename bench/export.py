"""List export (R17): seconds from POST /v1/lists/{id}/exports to `ready`, for a CSV of 100,000 members, on the
local runtime. Target: within 60 s.

Run: .venv/bin/python bench/export.py [members=100000]

Starts the whole local runtime (emulator, API, pump) on free ports, makes a customer with a list, writes the
members straight into the emulator's table with the service's model (not part of the figure), then asks
for the export through the API and polls it until it is ready. Prints the seconds, the rows and the file's
size, and checks the downloaded file holds every member once. Then, for comparison, the seconds the job's own
work takes for as many members without any store: turning them into CSV rows in memory.
"""
from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.send_e2e import runtime_with_members  # noqa: E402


def writing_alone(count: int) -> float:
    """Seconds to turn `count` members (made in memory) into CSV lines, as the job does page by page."""
    from chalicelib import clock
    from chalicelib.models.lists import ContactList, FieldDef
    from chalicelib.models.subscribers import Subscriber
    from chalicelib.services.audience import list_export

    now = clock.now()
    listed = ContactList("acc_bench", "lst_bench", fields=[FieldDef(key="first_name", label="First", type="text")])
    members = [Subscriber("acc_bench#lst_bench", f"sub_{n}", email=f"reader-{n}@bench-readers.eu",
                          status="subscribed", fields={"first_name": f"Reader{n}"}, consent={"source": "bench"},
                          created_at=clock.iso(now), received=3, opened=1) for n in range(count)]
    writer = list_export.WRITERS["csv"](list_export.columns_of(listed))
    started = time.monotonic()
    size = len(writer.head()) + sum(len(writer.row(list_export.record(m, now), first=False)) for m in members)
    assert size > count * 20
    return time.monotonic() - started


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with runtime_with_members(count, credits=1000) as loaded:
        sender = loaded.sender
        with sender.client() as http:
            started = time.monotonic()
            asked = http.post(f"/v1/lists/{sender.list_id}/exports", json={"format": "csv"})
            assert asked.status_code == 202, asked.text
            path = f"/v1/lists/{sender.list_id}/exports/{asked.json()['export']['id']}"
            while (export := http.get(path).json()["export"])["status"] == "preparing":
                assert time.monotonic() - started < 600, "no export after 10 minutes"
                time.sleep(0.2)
            ready_s = time.monotonic() - started
        assert export["status"] == "ready", export
        content = httpx.get(export["download_url"], timeout=120).content
    loaded_s = loaded.loaded_s
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))[1:]
    assert len(rows) == len({row[0] for row in rows}) == count, (len(rows), count)
    print(f"members: {count} (loaded directly in {loaded_s:.1f} s)")
    print(f"POST export -> ready: {ready_s:.1f} s (target 60 s)")
    print(f"rows: {export['rows']}, file: {len(content):,} bytes ({len(content) / 2 ** 20:.1f} MiB)")
    print(f"of which the job's own work (rows made into CSV, in memory): {writing_alone(count):.1f} s")


if __name__ == "__main__":
    main()
