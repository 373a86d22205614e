"""CSV import (R14) on the local runtime: seconds from `start` to `done`, the worker's peak memory, and DynamoDB
write units per imported row.

Run: .venv/bin/python bench/import.py [rows=100000]

Starts the whole local runtime (emulator, API, pump) on free ports and makes a pay-as-you-go customer over HTTP.

1. Time: a CSV of `rows` rows with 3 fields (email, first_name, company) goes through the presigned upload
   form (an HTTP POST from this process to the emulator, as a browser's would), `POST …/start`, and the import
   is polled until it is done. The local pump runs the job as Lambda would (one consumer).
2. Memory and writes: for 10,000 rows and for `rows` rows, a fresh import is uploaded the same way and its job
   run by a worker process of its own against the same emulator (nothing is queued, so the pump leaves it
   alone). The worker reports its peak resident memory (ru_maxrss, which includes the interpreter and
   libraries: compare the two sizes) and every DynamoDB write request it made, counted by a botocore event hook
   on the session PynamoDB uses, priced as AWS prices on-demand writes: an item costs one write unit per 1 KB
   (rounded up) of its size, twice inside a transaction; each global secondary index the item is in costs the
   same again, reported on its own. (The worker has its own secret key, so its members' ids differ from the
   API's; the work it does is the same.)
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 120
TARGET_UNITS = 2.0


# --- the worker process ------------------------------------------------------------------------

def _size(value: dict) -> int:
    """DynamoDB's size of one attribute value (names and values in UTF-8; numbers about 1 byte per 2 digits)."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return 1 + math.ceil(len(inner.lstrip("-").replace(".", "")) / 2)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_size(v) + 1 for v in inner)
    return len(str(inner))


def _units(item: dict) -> int:
    return max(1, math.ceil(sum(len(k.encode()) + _size(v) for k, v in item.items()) / 1024))


class WriteCounter:
    """Write units of every DynamoDB write request, by table, from the parameters botocore is about to send."""

    def __init__(self, indexes: dict[str, int]) -> None:
        self.indexes = indexes          # physical table name -> number of its global secondary indexes
        self.table: Counter[str] = Counter()
        self.gsi: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()

    def __call__(self, params: dict, model, **_: object) -> None:
        operation = model.name
        if operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    item = request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"]
                    self._count(table, _units(item))
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            self._count(params["TableName"], _units(params.get("Item") or params["Key"]))
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (kind, body), = entry.items()
                if kind != "ConditionCheck":
                    self._count(body["TableName"], 2 * _units(body.get("Item") or body["Key"]))
                else:
                    self.table[body["TableName"]] += 2   # a condition check costs like a write of its item
        else:
            return
        self.requests[operation] += 1

    def _count(self, table: str, units: int) -> None:
        self.table[table] += units
        self.gsi[table] += units * self.indexes.get(table, 0)


def worker(emulator: str, account_id: str, list_id: str, import_id: str) -> None:
    os.environ.update({
        "MAILROOM_STAGE": "local", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "MAILROOM_AWS_ENDPOINT": emulator,
        "AWS_ENDPOINT_URL": emulator, "MAILROOM_SECRET_KEY": "bench-worker-secret-that-is-long-enough-0123456789",
        "MAILROOM_PUBLIC_URL": "http://127.0.0.1",
    })
    import resource
    import time

    import botocore.session
    from pynamodb.connection import base

    from chalicelib.config import get_settings
    from chalicelib.services.audience import imports
    from chalicelib.storage import UploadFiles
    from infra.definition import TABLES

    settings = get_settings()
    counter = WriteCounter({settings.table_name(t): len(spec.get("indexes", {})) for t, spec in TABLES.items()})
    session = botocore.session.get_session()
    session.register("provide-client-params.dynamodb", counter)
    base.get_session = lambda: session     # every PynamoDB connection (tables and transactions) uses it

    files = UploadFiles()
    imports.start(account_id, list_id, import_id, files, lambda *_: None)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    imports.run(imports.Job(account_id, list_id, import_id), files, lambda *_: None, lambda: 10 ** 9)
    seconds = time.monotonic() - started
    found = imports.get(account_id, list_id, import_id, files).item
    print(json.dumps({
        "status": found.status, "added": int(found.added), "seconds": seconds,
        "cpu_seconds": resource.getrusage(resource.RUSAGE_SELF).ru_utime
        + resource.getrusage(resource.RUSAGE_SELF).ru_stime,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "rss_before_run_kb": rss_before,
        "table_units": dict(counter.table), "gsi_units": dict(counter.gsi), "requests": dict(counter.requests),
    }))


# --- the bench ---------------------------------------------------------------------------------

def measured_worker(emulator: str, sender, rows: int) -> dict:
    from tests.e2e.importing import csv_of, upload_file

    created = upload_file(sender, csv_of(rows, uuid.uuid4().hex[:6]))
    out = subprocess.run([sys.executable, __file__, "--worker", emulator, sender.account_id, sender.list_id,
                          created["id"]], capture_output=True, text=True, timeout=3600, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"the worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def new_list(sender) -> None:
    with sender.client() as http:
        created = http.post("/v1/lists", json={
            "name": f"Imported {uuid.uuid4().hex[:4]}", "from_name": "Send SIA", "from_email": f"news@{sender.domain}",
            "company_address": "Brivibas iela 1, Riga, LV-1010, Latvia", "double_opt_in": False,
            "fields": [{"key": "first_name", "label": "First name", "type": "text"},
                       {"key": "company", "label": "Company", "type": "text"}]})
    assert created.status_code == 201, created.text
    sender.list_id = created.json()["list"]["id"]


def report_worker(rows: int, figures: dict) -> None:
    added = figures["added"] or 1
    table, gsi = sum(figures["table_units"].values()), sum(figures["gsi_units"].values())
    print(f"worker, {rows:,} rows: {figures['status']}, {figures['added']:,} added in {figures['seconds']:.1f} s "
          f"({figures['cpu_seconds']:.1f} s of the worker's own CPU); "
          f"peak RSS {figures['peak_rss_kb'] / 1024:.0f} MB (after imports, before the run: "
          f"{figures['rss_before_run_kb'] / 1024:.0f} MB)")
    print(f"  DynamoDB write units per imported row: {table / added:.3f} on the tables "
          f"(target <= {TARGET_UNITS}), plus {gsi / added:.3f} on global secondary indexes")
    print(f"  by table: { {k.rsplit('-', 1)[-1]: v for k, v in figures['table_units'].items()} }; "
          f"GSI: { {k.rsplit('-', 1)[-1]: v for k, v in figures['gsi_units'].items() if v} }; "
          f"requests: {figures['requests']}")


def main() -> None:
    from local.launcher import running_runtime
    from tests.e2e.importing import csv_of, start_and_wait, upload_file
    from tests.e2e.sending import customer

    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows = int(args[0]) if args else 100_000
    with running_runtime() as state:
        sender = customer(state, credits=10)
        new_list(sender)
        created = upload_file(sender, csv_of(rows, uuid.uuid4().hex[:6]))
        seconds, found = start_and_wait(sender, created["id"], timeout=3600)
        print(f"{rows:,} rows, 3 fields, through the presigned upload: {found['status']}, {found['added']:,} added; "
              f"start -> done {seconds:.1f} s (target <= {TARGET_SECONDS} s)", flush=True)
        for size in sorted({10_000, rows}):
            new_list(sender)
            report_worker(size, measured_worker(state["emulator"], sender, size))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(*sys.argv[2:6])
    else:
        main()
