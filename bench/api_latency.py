"""API latency: POST /v1/lists/{id}/subscribers under concurrent clients against the local runtime.

Run: .venv/bin/python bench/api_latency.py [--clients 8] [--seconds 30]
Starts its own local runtime (free ports, temporary state dir) unless --api/--staff-file point at one
that `make run` started. Prints the median and p99 latency, the throughput and the failed requests.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from local.launcher import running_runtime  # noqa: E402


def prepare(api: str, staff: dict) -> tuple[dict, str]:
    """A fresh approved pay-as-you-go tenant with a single opt-in list; returns (headers, list_id)."""
    with httpx.Client(base_url=api, timeout=30) as http:
        email = f"bench-{uuid.uuid4().hex[:10]}@bench-company.eu"
        password = uuid.uuid4().hex
        signup = http.post("/v1/signup", json={
            "email": email, "password": password, "company": "Bench Ltd", "first_name": "Ben",
            "last_name": "Chmark", "country": "LV", "accept_terms": True,
        })
        signup.raise_for_status()
        account_id = signup.json()["account"]["id"]
        staff_token = http.post("/v1/sessions", json=staff).json()["token"]
        staff_headers = {"Authorization": f"Bearer {staff_token}"}
        http.post(f"/v1/admin/accounts/{account_id}/approve", headers=staff_headers).raise_for_status()
        http.patch(f"/v1/admin/accounts/{account_id}/plan", headers=staff_headers,
                   json={"plan": "payg", "credits": 1000}).raise_for_status()
        token = http.post("/v1/sessions", json={"email": email, "password": password}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = http.post("/v1/lists", headers=headers, json={
            "name": "Bench list", "from_name": "Bench", "from_email": "news@bench-company.eu",
            "company_address": "Brivibas iela 1, Riga, LV-1010, Latvia", "double_opt_in": False,
        })
        created.raise_for_status()
        return headers, created.json()["list"]["id"]


def load(api: str, headers: dict, list_id: str, clients: int, seconds: float) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        with httpx.Client(base_url=api, headers=headers, timeout=30) as http:
            sequence = 0
            while time.monotonic() < deadline:
                sequence += 1
                body = {"email": f"reader-{number}-{sequence}-{uuid.uuid4().hex[:6]}@bench-readers.eu",
                        "fields": {}, "consent": {"source": "bench"}}
                started = time.perf_counter()
                try:
                    response = http.post(f"/v1/lists/{list_id}/subscribers", json=body)
                    ok = response.status_code == 201
                    reason = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, reason = False, type(exc).__name__
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        failures.append(reason)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """--api and --staff-file: a running runtime to use instead of starting one (see `target`)."""
    parser.add_argument("--api", help="use a running runtime at this URL")
    parser.add_argument("--staff-file", default=".mailroom/local.json")


@contextmanager
def target(args):
    if args.api:
        yield args.api, json.loads(Path(args.staff_file).read_text())["staff"]
        return
    with running_runtime() as state:
        yield state["api"], state["staff"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    add_target_arguments(parser)
    args = parser.parse_args()
    with target(args) as (api, staff):
        headers, list_id = prepare(api, staff)
        latencies, failures = load(api, headers, list_id, args.clients, args.seconds)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"POST /v1/lists/{{id}}/subscribers, {args.clients} concurrent clients, {args.seconds:.0f} s")
    print(f"requests: {len(latencies)} ({len(latencies) / args.seconds:.1f}/s)")
    print(f"median: {statistics.median(ordered) * 1000:.1f} ms   p99: {p99 * 1000:.1f} ms")
    print(f"failed: {len(failures)}" + (f" ({', '.join(sorted(set(failures)))})" if failures else ""))


if __name__ == "__main__":
    main()
