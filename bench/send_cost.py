"""What an email costs in AWS besides SES, send and feedback together, and how hot its hottest DynamoDB item runs.

Run: .venv/bin/python bench/send_cost.py [recipients=1000]

Under moto, in one process: a pay-as-you-go customer with a verified domain (through the API), a list of
`recipients` subscribed members (written straight to the table), one campaign of the 30 KB / 20-link newsletter of
bench/render.py sent through the API, the fan-out and send consumers run by the local pump until the queues are
empty; then SES reports every email delivered (one real-shaped Delivery event each, in its SNS envelope, on the
feedback queue) and the feedback consumer applies them in batches of its event source's size.

Counted with botocore hooks on every client the service uses (PynamoDB's session, SQS, SES):
- DynamoDB units as DynamoDB bills them, from the sizes of the items in moto's tables: a write 1 unit per KB of
  the larger of the item before and after (a delete: before), a transaction's item twice, a failed conditional
  write too; a read 1 unit per 4 KB (an eventually consistent one half), a Query or Scan over the sum of the
  items it read, a BatchGet per item, a transactional read twice.
- SQS requests: the service's own, plus what AWS does that the local pump only imitates: SNS delivering each SES
  event into the feedback queue (one SendMessage each), and Lambda's event source receiving and deleting each
  batch (one ReceiveMessage and one DeleteMessageBatch per invocation; its idle polling is not per email).
- Lambda: one request per invocation, and GB-seconds at 512 MB from a latency model (LATENCY_S: what each
  request waits on in AWS; the sender's calls for each recipient overlap over its workers, all others count
  one after the other) plus the CPU time of rendering measured here; moto's in-process latency says nothing
  about AWS's, so it is not used.
Priced at eu-west-1 on-demand prices (PRICES) and put against SES's $0.10 per 1,000 emails; target <= 5%.

Every DynamoDB write is logged with its item and the invocation that made it. The benchmark prints the hottest
item's share of all writes, and replays the invocations on the time line of a campaign sending and being reported
on at RATE emails a second (a send chunk every CHUNK / RATE s, a feedback batch every BATCH / RATE s, both at once):
the peak writes per second on any one item, over the densest window of one second (or of the whole run, if
shorter). Target <= 100.
"""
from __future__ import annotations

import io
import json
import math
import os
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update({
    "MAILROOM_STAGE": "bench", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
    "MAILROOM_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
    "MAILROOM_PUBLIC_URL": "https://mailroom.bench.invalid", "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
})
os.environ.pop("MAILROOM_AWS_ENDPOINT", None)

# eu-west-1 (Ireland) on-demand list prices, USD, as of 2025 (DynamoDB's halved on 1 November 2024 from
# 1.4135 / 0.283 per million).
PRICES = {
    "dynamodb_write_unit": 0.7068 / 1e6,    # per write request unit
    "dynamodb_read_unit": 0.1414 / 1e6,     # per read request unit
    "sqs_request": 0.40 / 1e6,              # standard queue, per request (each 64 KB of payload)
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,       # x86
    "sns_publish": 0.50 / 1e6,              # SES -> SNS; SNS -> SQS deliveries are free
}
SES_PER_1000 = 0.10
TARGET_SHARE = 0.05
LAMBDA_GB = 0.5
# What one request waits on from inside Lambda in the same region (typical, not measured here), seconds.
LATENCY_S = {"dynamodb": 0.006, "sqs": 0.012, "sesv2": 0.060}
SEND_WORKERS = 8   # the sender's threads: its SES waits overlap eightfold (services/campaigns/sender.py)
RATE = 2000        # emails a second, sent and reported on, for the hot-item simulation
CHUNK = 50         # recipients per send invocation (services/campaigns/progress.CHUNK_SIZE)
HOT_LIMIT = 100    # writes per second on one item

# The sender's calls for each recipient (claim, SES, its answer), made by its SEND_WORKERS threads at once.
PER_RECIPIENT = frozenset({("dynamodb", "PutItem"), ("dynamodb", "UpdateItem"), ("sesv2", "SendEmail")})
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


@dataclass
class Phase:
    """What one phase (sending, or feedback) asked of AWS."""

    requests: Counter = field(default_factory=Counter)      # (service, operation) -> requests
    write_units: Counter = field(default_factory=Counter)   # operation -> units
    read_units: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))   # op -> units
    items_written: Counter = field(default_factory=Counter)  # item key -> writes
    invocations: list = field(default_factory=list)         # [(function, [item keys written])]
    cpu_s: float = 0.0
    overlapped: frozenset = frozenset()   # (service, operation) made by SEND_WORKERS threads at once

    def invoke(self, function: str) -> None:
        self.invocations.append((function, []))


class Meter:
    """botocore hooks: requests, DynamoDB units from the items' sizes in moto, and which item each write hit."""

    def __init__(self) -> None:
        self.phase: Phase | None = None

    def register(self, events: Any) -> None:
        events.register("before-call", self.before_call)
        events.register("before-parameter-build.dynamodb", self.before_dynamodb)
        events.register("after-call.dynamodb", self.after_dynamodb)

    def before_call(self, model: Any, **_: Any) -> None:
        if self.phase is not None:
            self.phase.requests[(model.service_model.service_name, model.name)] += 1

    def before_dynamodb(self, params: dict, model: Any, context: dict, **_: Any) -> None:
        if self.phase is None:
            return
        name = model.name
        if name in WRITES:
            self._write(name, params["TableName"], params.get("Key") or params.get("Item"), params.get("Item"), 1)
        elif name == "BatchWriteItem":
            for table, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    put = request.get("PutRequest", {}).get("Item")
                    self._write(name, table, put or request["DeleteRequest"]["Key"], put, 1)
        elif name == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                (_, op), = entry.items()
                self._write(name, op["TableName"], op.get("Key") or op.get("Item"), op.get("Item"), 2)
        context.update(bench_consistent=bool(params.get("ConsistentRead")), bench_table=params.get("TableName"),
                       bench_key=params.get("Key"))

    def after_dynamodb(self, parsed: dict, model: Any, context: dict, **_: Any) -> None:
        if self.phase is None or model.name not in READS:
            return
        factor = 1.0 if context.get("bench_consistent") else 0.5
        units: float
        if model.name == "GetItem":
            units = _read_units(_stored(context["bench_table"], context["bench_key"])[1], factor)
        elif model.name in ("Query", "Scan"):
            table = context["bench_table"]
            units = _read_units(sum(_size_in(table, item) for item in parsed.get("Items", [])), factor)
        elif model.name == "BatchGetItem":
            units = sum(_read_units(_size_in(table, item), factor)
                        for table, items in parsed.get("Responses", {}).items() for item in items)
        else:
            units = sum(2 * _read_units(_json_size(r.get("Item")), 1.0) for r in parsed.get("Responses", []))
        self.phase.read_units[model.name] += units

    def _write(self, operation: str, table: str, key_or_item: Any, new_item: dict | None, factor: int) -> None:
        assert self.phase is not None
        key, before = _stored(table, key_or_item)
        after = _json_size(new_item) if new_item is not None else before
        self.phase.write_units[operation] += factor * max(1, math.ceil(max(before, after) / 1024))
        self.phase.items_written[key] += 1
        if self.phase.invocations:
            self.phase.invocations[-1][1].append(key)


def _stored(table: str, key_or_item: dict) -> tuple[str, int]:
    """The item's key as text, and its size in moto's table now (0 if there is none)."""
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends["123456789012"]["eu-west-1"]
    found = backend.get_table(table)
    key = {found.hash_key_attr: key_or_item[found.hash_key_attr]}
    if found.range_key_attr:
        key[found.range_key_attr] = key_or_item[found.range_key_attr]
    item = backend.get_item(table, key)
    text = "|".join([table.rsplit("-", 1)[-1], *(next(iter(v.values())) for v in key.values())])
    return text, item.size() if item is not None else 0


def _json_size(item: dict | None) -> int:
    """An item's size as DynamoDB counts it, near enough: names and values in bytes."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    return sum(bytesize(name) + DynamoType(value).size() for name, value in (item or {}).items())


def _size_in(table: str, item: dict) -> int:
    """The stored size of an item a read returned (a projection returns less than DynamoDB bills for)."""
    try:
        return _stored(table, item)[1]
    except KeyError:   # the projection left out its key
        return _json_size(item)


def _read_units(size: int, factor: float) -> float:
    return factor * max(1, math.ceil(size / 4096))


def main() -> None:
    recipients = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    import boto3
    import botocore.session
    from chalice.test import Client
    from moto import mock_aws
    from pynamodb.connection import base as pynamodb_base

    meter = Meter()
    shared = botocore.session.get_session()
    meter.register(shared)
    pynamodb_base.get_session = lambda: shared

    from local import transactions

    transactions.install()
    shown, sys.stdout = sys.stdout, io.StringIO()   # the consumers' metrics (EMF lines) are not ours to print
    with mock_aws():
        from app import app
        from chalicelib import aws, clock, ses
        from chalicelib.config import get_settings
        from chalicelib.models.base import reset_connections
        from chalicelib.models.subscribers import Subscriber, SubscriberStatus, list_key
        from chalicelib.rendering import compose as composing
        from chalicelib.services.accounts.staff import create_staff_user
        from chalicelib.services.audience.suppressions import email_key
        from infra.provision import provision
        from local.pump import FunctionSettings, Pump

        sys.path.insert(0, str(ROOT / "bench"))
        from render import fixture  # type: ignore[import-not-found]  # bench/render.py, on the path just above

        aws.reset()
        reset_connections()
        settings = get_settings()
        provision(settings)
        for client in (aws.client("sqs"), aws.client("sesv2"), aws.client("sesv2", ses.SEND_CALLS)):
            meter.register(client.meta.events)

        render_cpu = [0.0]
        real_compose = composing.compose

        def timed_compose(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return real_compose(*args, **kwargs)
            finally:
                render_cpu[0] += time.thread_time() - started

        from chalicelib.services.campaigns import sender
        sender.compose = timed_compose

        class CountingPump(Pump):
            def _deliver(self, source: Any, messages: list) -> Any:
                if meter.phase is not None:
                    meter.phase.invoke(source.name)
                return super()._deliver(source, messages)

        def call(client: Any, method: str, path: str, body: Any = None, headers: dict | None = None) -> Any:
            answer = getattr(client.http, method.lower())(
                path, headers={"Content-Type": "application/json", **(headers or {})},
                body=json.dumps(body) if body is not None else None)
            assert answer.status_code < 300, (path, answer.json_body)
            return answer.json_body

        with Client(app) as client:
            staff_email = f"staff-{uuid.uuid4().hex[:6]}@mailroom.example"
            create_staff_user(staff_email, "staff-password-0123")
            staff = {"Authorization": "Bearer " + call(client, "POST", "/v1/sessions", {
                "email": staff_email, "password": "staff-password-0123"})["token"]}
            owner = f"owner-{uuid.uuid4().hex[:6]}@bench-company.eu"
            account_id = call(client, "POST", "/v1/signup", {
                "email": owner, "password": "a long enough password", "company": "Bench SIA", "first_name": "A",
                "last_name": "B", "country": "LV", "accept_terms": True})["account"]["id"]
            call(client, "POST", f"/v1/admin/accounts/{account_id}/approve", headers=staff)
            call(client, "PATCH", f"/v1/admin/accounts/{account_id}/plan", {"plan": "payg", "credits": recipients * 2},
                 headers=staff)
            headers = {"Authorization": "Bearer " + call(client, "POST", "/v1/sessions", {
                "email": owner, "password": "a long enough password"})["token"]}
            call(client, "POST", "/v1/domains", {"domain": "bench-news.eu"}, headers=headers)
            list_id = call(client, "POST", "/v1/lists", {
                "name": "Bench News", "from_name": "Bench", "from_email": "news@bench-news.eu",
                "company_address": "Brivibas iela 1, Riga, Latvia", "double_opt_in": False,
                "fields": [{"key": "first_name", "label": "First name", "type": "text"},
                           {"key": "city", "label": "City", "type": "text"}]}, headers=headers)["list"]["id"]
            key, now = list_key(account_id, list_id), clock.now()
            with Subscriber.batch_write() as batch:
                for n in range(recipients):
                    address = f"reader-{n}@bench-readers.eu"
                    batch.save(Subscriber(key, f"sub_bench{n:08d}", account_id=account_id, list_id=list_id,
                                          email=address, email_key=email_key(address),
                                          status=SubscriberStatus.SUBSCRIBED.value,
                                          list_status=f"{key}#{SubscriberStatus.SUBSCRIBED.value}",
                                          fields={"first_name": f"Reader{n}", "city": "Riga"},
                                          consent={"source": "bench"}, created_at=clock.iso(now), updated_at=now))
            html = fixture()
            campaign_id = call(client, "POST", "/v1/campaigns", {
                "list_id": list_id, "name": "Bench", "subject": "Bench news for {{ first_name }}", "html": html},
                headers=headers)["campaign"]["id"]

            sending = meter.phase = Phase(overlapped=PER_RECIPIENT)
            call(client, "POST", f"/v1/campaigns/{campaign_id}/send", {}, headers=headers)
            pump = CountingPump(app, boto3.client("sqs", region_name=settings.region), region=settings.region,
                                first_fire_after=10 ** 9,
                                function_settings=lambda name: FunctionSettings(name, timeout_seconds=60))
            drain(pump)
            meter.phase = None
            sending.cpu_s = render_cpu[0]
            campaign = call(client, "GET", f"/v1/campaigns/{campaign_id}", headers=headers)["campaign"]

            events = delivery_events(account_id, campaign_id, settings.configuration_set)
            queue = aws.client("sqs").get_queue_url(QueueName=settings.queue_name("feedback"))["QueueUrl"]
            for start in range(0, len(events), 10):
                aws.client("sqs").send_message_batch(QueueUrl=queue, Entries=[
                    {"Id": str(n), "MessageBody": body} for n, body in enumerate(events[start:start + 10])])
            feedback = meter.phase = Phase()
            started = time.perf_counter()
            drain(pump)
            feedback_seconds = time.perf_counter() - started
            meter.phase = None
            report = call(client, "GET", f"/v1/campaigns/{campaign_id}/report", headers=headers)["report"]
    sys.stdout = shown

    print(f"recipients: {recipients}; campaign status: {campaign['status']}; html {len(html) / 1024:.0f} KB; "
          f"report: delivered {report['delivered']['count']} of {report['sent']} sent")
    per = 1000 / recipients
    send_cost = show("send (fan-out + sender)", sending, per, sns_events=0)
    feedback_cost = show(f"feedback ({len(events)} Delivery events)", feedback, per, sns_events=len(events))
    total = {k: send_cost.get(k, 0.0) + feedback_cost.get(k, 0.0) for k in set(send_cost) | set(feedback_cost)}
    in_target = sum(v for k, v in total.items() if k != "sns")
    dynamodb = total["dynamodb_write"] + total["dynamodb_read"]
    print(f"together, per 1,000 emails: ${in_target:.6f} (DynamoDB ${dynamodb:.6f}, "
          f"SQS ${total['sqs']:.6f}, Lambda ${total['lambda']:.6f}); SNS publishes ${total['sns']:.6f} more")
    share = in_target / SES_PER_1000
    print(f"ratio to SES's ${SES_PER_1000:.2f}: {share:.2%} (target <= {TARGET_SHARE:.0%}: {share <= TARGET_SHARE}); "
          f"with SNS {(in_target + total['sns']) / SES_PER_1000:.2%}")
    print(f"  feedback applied {len(events) / feedback_seconds:.0f} events/s in one process under moto "
          f"(a figure to compare runs by, not AWS's speed)")
    hot_items(sending, feedback)


def show(title: str, phase: Phase, per: float, sns_events: int) -> dict[str, float]:
    """Print one phase per 1,000 emails; its cost by kind, per 1,000 emails."""
    print(f"{title}, per 1,000 emails:")
    for (service, operation), n in sorted(phase.requests.items()):
        print(f"  {service:9s} {operation:22s} {n * per:9.1f} requests")
    write_units, read_units = sum(phase.write_units.values()), sum(phase.read_units.values())
    print(f"  DynamoDB write units {write_units * per:9.1f}  "
          f"({', '.join(f'{k} {v * per:.0f}' for k, v in sorted(phase.write_units.items()))})")
    print(f"  DynamoDB read units  {read_units * per:9.1f}  "
          f"({', '.join(f'{k} {v * per:.0f}' for k, v in sorted(phase.read_units.items()))})")
    invocations = len(phase.invocations)
    own_sqs = sum(n for (service, _), n in phase.requests.items() if service == "sqs")
    sqs = own_sqs + sns_events + 2 * invocations
    print(f"  SQS requests {sqs * per:9.1f}  (the service's {own_sqs * per:.0f}, SNS into the queue "
          f"{sns_events * per:.0f}, the event source's receive + delete {2 * invocations * per:.0f})")
    waits = sum(n * LATENCY_S.get(service, 0.0) / (SEND_WORKERS if (service, operation) in phase.overlapped else 1)
                for (service, operation), n in phase.requests.items())
    seconds = waits + phase.cpu_s
    print(f"  Lambda {invocations * per:.1f} invocations, {seconds * per:.2f} s modelled "
          f"({waits * per:.2f} s waiting on AWS, {phase.cpu_s * per:.2f} s rendering) = "
          f"{seconds * LAMBDA_GB * per:.3f} GB-s at 512 MB")
    cost = {
        "dynamodb_write": write_units * PRICES["dynamodb_write_unit"] * per,
        "dynamodb_read": read_units * PRICES["dynamodb_read_unit"] * per,
        "sqs": sqs * PRICES["sqs_request"] * per,
        "lambda": (invocations * PRICES["lambda_request"] + seconds * LAMBDA_GB * PRICES["lambda_gb_second"]) * per,
        "sns": sns_events * PRICES["sns_publish"] * per,
    }
    print("  cost: " + ", ".join(f"{k} ${v:.6f}" for k, v in cost.items()))
    return cost


def hot_items(sending: Phase, feedback: Phase) -> None:
    """The hottest item's share of all writes, and the peak writes a second on one item at RATE emails a second."""
    written = sending.items_written + feedback.items_written
    key, most = written.most_common(1)[0]
    print(f"items written: {len(written)}; writes {sum(written.values())}; hottest {key} with {most} "
          f"({most / sum(written.values()):.2%} of all writes)")
    at: dict[str, list[float]] = defaultdict(list)
    for phase, step in ((sending, CHUNK / RATE), (feedback, None)):
        batch_at = _batch_times(phase, step)
        for (_function, keys), moment in zip(phase.invocations, batch_at, strict=True):
            for key in keys:
                at[key].append(moment)
    span = max((m for times in at.values() for m in times), default=0.0)
    window = min(1.0, span) or 1.0
    peak_key, peak = max(((key, _densest(sorted(times), window)) for key, times in at.items()), key=lambda kv: kv[1])
    rate = peak / window
    print(f"at {RATE:,} emails/s sent and reported on: peak {rate:.0f} writes/s on one item ({peak_key}, "
          f"{peak} writes in the densest {window:.2f} s) (target <= {HOT_LIMIT}: {rate <= HOT_LIMIT})")


def _batch_times(phase: Phase, chunk_step: float | None) -> list[float]:
    """When each invocation runs on the simulated time line: sends every CHUNK / RATE s, the fan-out at 0,
    feedback batches every (their events) / RATE s."""
    moments, send_n, events_seen = [], 0, 0
    for function, _keys in phase.invocations:
        if chunk_step is not None:
            moments.append(send_n * chunk_step if function == "send_chunk" else 0.0)
            send_n += function == "send_chunk"
        else:
            moments.append(events_seen / RATE)
            events_seen += 10
    return moments


def _densest(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def drain(pump: Any) -> None:
    for _ in range(10_000):
        results = pump.run_once()
        if not any(r.succeeded or r.failed for r in results.values()):
            return


def delivery_events(account_id: str, campaign_id: str, configuration_set: str) -> list[str]:
    """One SNS-enveloped SES Delivery event for each email the campaign sent, as SES would report it."""
    from chalicelib.models.deliveries import Delivery, DeliveryState, campaign_key
    from chalicelib.rendering.mime import tag_value
    from tests.events import addressed, in_envelope

    events = []
    for item in Delivery.query(campaign_key(account_id, campaign_id), Delivery.delivery_key.startswith("sub_")):
        if item.state != DeliveryState.SENT.value:
            continue
        address = f"reader-{int(item.delivery_key.removeprefix('sub_bench'))}@bench-readers.eu"
        tags = {"account": tag_value(account_id), "campaign": tag_value(campaign_id),
                "subscriber": tag_value(item.delivery_key)}
        events.append(in_envelope(addressed("delivery", to=[address], message_id=item.message_id, tags=tags,
                                            configuration_set=configuration_set)))
    return events


if __name__ == "__main__":
    main()
