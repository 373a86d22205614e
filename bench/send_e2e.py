"""End to end: seconds from POST /v1/campaigns/{id}/send to the last SES call, on the local runtime.

Run: .venv/bin/python bench/send_e2e.py [subscribers=10000] [--via-api]

Starts the whole local runtime (emulator, API, pump) on free ports, makes a pay-as-you-go customer with a
verified domain and a single opt-in list over HTTP, loads the members (straight into the emulator's table
with the service's own model, or with --via-api through POST /v1/lists/{id}/subscribers, 8 clients at
once; loading is not part of the figure), sends one campaign and polls it until it is sent. The last SES
call is the newest `sent_at` in the outbox. The local pump runs one consumer per queue (AWS runs many
Lambdas at once), so this is the single-consumer floor, not AWS's throughput. It also prints the CPU seconds
the runtime's process (emulator, pump, sender) spent from the send to the end, read from /proc: on a busy
machine the seconds on the clock grow with the other work, the CPU seconds much less.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from local.launcher import LaunchedRuntime, launch  # noqa: E402
from tests.e2e.sending import Sender, add_members, create_campaign, customer, send_and_wait  # noqa: E402


def load_directly(emulator_url: str, account_id: str, list_id: str, count: int) -> None:
    """Write `count` subscribed members into the runtime's table with the service's Subscriber model."""
    os.environ.update({
        "MAILROOM_STAGE": "local", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "MAILROOM_AWS_ENDPOINT": emulator_url,
        "MAILROOM_SECRET_KEY": "bench-loader-secret-that-is-long-enough-0123456789",
        "MAILROOM_PUBLIC_URL": "http://127.0.0.1",
    })
    from chalicelib import clock
    from chalicelib.models.subscribers import Subscriber, SubscriberStatus, list_key
    from chalicelib.services.audience.suppressions import email_key

    key = list_key(account_id, list_id)
    now = clock.now()
    with Subscriber.batch_write() as batch:
        for n in range(count):
            address = f"reader-{n}@bench-readers.eu"
            member = Subscriber(key, f"sub_bench{n:08d}", account_id=account_id, list_id=list_id, email=address,
                                email_key=email_key(address), status=SubscriberStatus.SUBSCRIBED.value,
                                list_status=f"{key}#{SubscriberStatus.SUBSCRIBED.value}",
                                fields={"first_name": f"Reader{n}"}, consent={"source": "bench"},
                                created_at=clock.iso(now), updated_at=now)
            batch.save(member)


@dataclass
class Loaded:
    """A running local runtime, its local.json, and a customer whose list holds the members."""

    runtime: LaunchedRuntime
    state: dict[str, Any]
    sender: Sender
    loaded_s: float


@contextmanager
def runtime_with_members(count: int, credits: int, via_api: bool = False) -> Iterator[Loaded]:
    """The local runtime on free ports with a pay-as-you-go customer whose list holds `count` subscribed members
    (loaded straight into the table, or through the API with `via_api`); stopped on the way out."""
    with tempfile.TemporaryDirectory(prefix="mailroom-bench-") as directory:
        with open(Path(directory) / "runtime.log", "w+") as output:
            runtime = launch(Path(directory) / "state", output)
            try:
                state = runtime.wait_until_ready()
                sender = customer(state, credits=credits)
                loading = time.monotonic()
                if via_api:
                    add_members(sender, "subscribed", count)
                else:
                    load_directly(f"http://127.0.0.1:{runtime.ports['emulator']}", sender.account_id,
                                  sender.list_id, count)
                yield Loaded(runtime, state, sender, time.monotonic() - loading)
            finally:
                runtime.stop()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process so far (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 10_000
    via_api = "--via-api" in sys.argv
    with runtime_with_members(count, credits=count + 1000, via_api=via_api) as loaded:
        sender, runtime = loaded.sender, loaded.runtime
        campaign_id = create_campaign(sender, "Bench news")
        sent_at = datetime.now(UTC)
        cpu_before = cpu_seconds(runtime.process.pid)
        started, campaign = send_and_wait(sender, campaign_id, timeout=3600)
        status_s = time.monotonic() - started
        cpu_s = cpu_seconds(runtime.process.pid) - cpu_before
        outbox = httpx.get(f"{loaded.state['outbox']}/messages.json", timeout=120).json()
        mine = [m for m in outbox if m["subject"].startswith("Bench news for")]
        times = sorted(parse_time(m["sent_at"]) for m in mine)
    loaded_s = loaded.loaded_s
    last_s = (times[-1] - sent_at).total_seconds() if times else float("nan")
    first_s = (times[0] - sent_at).total_seconds() if times else float("nan")
    print(f"subscribers: {count} (loaded {'via the API' if via_api else 'directly'} in {loaded_s:.1f} s)")
    print(f"campaign status: {campaign['status']}, emails in the outbox: {len(mine)}")
    print(f"send -> first SES call: {first_s:.1f} s")
    print(f"send -> last SES call: {last_s:.1f} s  ({len(mine) / last_s:.0f} emails/s)")
    print(f"send -> campaign seen as sent: {status_s:.1f} s")
    print(f"runtime process CPU from send to sent: {cpu_s:.1f} s ({cpu_s / count * 1000:.1f} ms per email)")


if __name__ == "__main__":
    main()
