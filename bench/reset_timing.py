"""Password reset timing: POST /v1/password-resets for addresses with an account and without, against the local
runtime. The two must cost the same, or the answer's timing tells whether an address has an account.

Run: .venv/bin/python bench/reset_timing.py [--users 4] [--rounds 5]
Starts its own local runtime (free ports, temporary state dir) unless --api points at one that `make run`
started. Signs up --users accounts, then asks for resets alternately for one of them and for a fresh unknown
address, --rounds times per user (within the per-address limit of 5 an hour), and prints the median and
90th percentile of each kind and their difference.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.api_latency import add_target_arguments, target  # noqa: E402


def sign_up(http: httpx.Client) -> str:
    email = f"bench-{uuid.uuid4().hex[:10]}@bench-company.eu"
    answer = http.post("/v1/signup", json={
        "email": email, "password": uuid.uuid4().hex, "company": "Bench Ltd", "first_name": "Ben",
        "last_name": "Chmark", "country": "LV", "accept_terms": True})
    answer.raise_for_status()
    return email


def timed(http: httpx.Client, email: str) -> float:
    started = time.perf_counter()
    answer = http.post("/v1/password-resets", json={"email": email})
    elapsed = time.perf_counter() - started
    if answer.status_code != 202:
        raise SystemExit(f"POST /v1/password-resets answered {answer.status_code}: {answer.text}")
    return elapsed


def figures(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"{name}: n={len(ordered)}  median {statistics.median(ordered) * 1000:.1f} ms  p90 {p90 * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    add_target_arguments(parser)
    args = parser.parse_args()
    known: list[float] = []
    unknown: list[float] = []
    with target(args) as (api, _staff), httpx.Client(base_url=api, timeout=30) as http:
        users = [sign_up(http) for _ in range(args.users)]
        timed(http, f"warm-up-{uuid.uuid4().hex[:8]}@nobody-here.eu")
        for _ in range(args.rounds):
            for user in users:
                known.append(timed(http, user))
                unknown.append(timed(http, f"nobody-{uuid.uuid4().hex[:10]}@nobody-here.eu"))
    print("POST /v1/password-resets, alternating a known and an unknown address")
    print(figures("known address  ", known))
    print(figures("unknown address", unknown))
    print(f"median difference (known - unknown): "
          f"{(statistics.median(known) - statistics.median(unknown)) * 1000:+.1f} ms")


if __name__ == "__main__":
    main()
