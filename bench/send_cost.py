"""Cost of the send path and of its SES feedback: AWS requests per 1,000 recipients, by service and operation.

Run: .venv/bin/python bench/send_cost.py [recipients=1000]

Under moto, in one process: a pay-as-you-go customer with a verified domain (through the API), a list of
`recipients` subscribed members (written straight to the table), one campaign sent through the API, then
the fan-out and send consumers run by the local pump until the queues are empty. Every AWS request the
service makes is counted with a botocore `before-call` hook: on the boto3 clients (SQS, SES) and on the
botocore session PynamoDB uses (DynamoDB). DynamoDB writes count items written (PutItem, UpdateItem,
DeleteItem: 1; BatchWriteItem, TransactWriteItems: one per item). The pump's own receive/delete calls
(what Lambda's event source mapping does in AWS) are counted apart. Targets: <= 1,000 SES calls and
<= 2,100 DynamoDB writes per 1,000 recipients.

Then SES reports every email delivered: one real-shaped Delivery event each (tests/events, in the SNS
envelope), put on the feedback queue and applied by the feedback consumer; its requests per 1,000 events
are counted the same way, and how many events a second one process applies (moto in-process, with the
local runtime's item-level transactions: a figure to compare runs by, not AWS's speed).
"""
from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update({
    "MAILROOM_STAGE": "bench", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
    "MAILROOM_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
    "MAILROOM_PUBLIC_URL": "https://mailroom.bench.invalid", "POWERTOOLS_LOG_LEVEL": "WARNING",
})
os.environ.pop("MAILROOM_AWS_ENDPOINT", None)

WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem"}


class Counts:
    def __init__(self) -> None:
        self.calls: Counter = Counter()        # (who, service, operation) -> requests
        self.dynamodb_writes: Counter = Counter()
        self.active = False

    def register(self, events, who: str) -> None:
        """Count requests (before-call) and, for DynamoDB, the items each writes (from the API parameters)."""
        events.register("before-call", self.request_hook(who))
        events.register("before-parameter-build.dynamodb", self.write_hook)

    def request_hook(self, who: str):
        def before_call(model, **_):
            if self.active:
                self.calls[(who, model.service_model.service_name, model.name)] += 1
        return before_call

    def write_hook(self, model, params, **_):
        if not self.active:
            return
        if model.name in WRITE_OPERATIONS:
            self.dynamodb_writes[model.name] += 1
        elif model.name == "BatchWriteItem":
            self.dynamodb_writes[model.name] += sum(len(v) for v in params.get("RequestItems", {}).values())
        elif model.name == "TransactWriteItems":
            self.dynamodb_writes[model.name] += len(params.get("TransactItems", []))


def main() -> None:
    recipients = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    import boto3
    import botocore.session
    from chalice.test import Client
    from moto import mock_aws
    from pynamodb.connection import base as pynamodb_base

    counts = Counts()
    shared = botocore.session.get_session()
    counts.register(shared, "service")
    pynamodb_base.get_session = lambda: shared

    from local import transactions

    transactions.install()
    with mock_aws():
        from app import app
        from chalicelib import aws, clock
        from chalicelib.config import get_settings
        from chalicelib.models.base import reset_connections
        from chalicelib.models.subscribers import Subscriber, SubscriberStatus, list_key
        from chalicelib.services.accounts.staff import create_staff_user
        from chalicelib.services.audience.suppressions import email_key
        from infra.provision import provision
        from local.pump import FunctionSettings, Pump

        aws.reset()
        reset_connections()
        settings = get_settings()
        provision(settings)
        for service in ("sqs", "sesv2", "ses"):
            counts.register(aws.client(service).meta.events, "service")

        def call(client, method, path, body=None, headers=None):
            answer = getattr(client.http, method.lower())(
                path, headers={"Content-Type": "application/json", **(headers or {})},
                body=json.dumps(body) if body is not None else None)
            assert answer.status_code < 300, (path, answer.json_body)
            return answer.json_body

        with Client(app) as client:
            staff_email = f"staff-{uuid.uuid4().hex[:6]}@mailroom.example"
            create_staff_user(staff_email, "staff-password-0123")
            staff_session = call(client, "POST", "/v1/sessions",
                                 {"email": staff_email, "password": "staff-password-0123"})
            staff = {"Authorization": "Bearer " + staff_session["token"]}
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
                "fields": [{"key": "first_name", "label": "First name", "type": "text"}]},
                headers=headers)["list"]["id"]
            key, now = list_key(account_id, list_id), clock.now()
            with Subscriber.batch_write() as batch:
                for n in range(recipients):
                    address = f"reader-{n}@bench-readers.eu"
                    batch.save(Subscriber(key, f"sub_bench{n:08d}", account_id=account_id, list_id=list_id,
                                          email=address, email_key=email_key(address),
                                          status=SubscriberStatus.SUBSCRIBED.value,
                                          list_status=f"{key}#{SubscriberStatus.SUBSCRIBED.value}",
                                          fields={"first_name": f"Reader{n}"}, consent={"source": "bench"},
                                          created_at=clock.iso(now), updated_at=now))
            campaign_id = call(client, "POST", "/v1/campaigns", {
                "list_id": list_id, "name": "Bench", "subject": "Bench news for {{ first_name }}",
                "html": '<p>Hi {{ first_name }}, see <a href="https://bench-news.eu/a">this</a>.</p>'},
                headers=headers)["campaign"]["id"]

            counts.active = True
            call(client, "POST", f"/v1/campaigns/{campaign_id}/send", {}, headers=headers)
            send_request = Counter({k[1:]: v for k, v in counts.calls.items()})
            counts.calls.clear()
            counts.dynamodb_writes.clear()

            pump_sqs = boto3.client("sqs", region_name=settings.region)
            counts.register(pump_sqs.meta.events, "event source")
            pump = Pump(app, pump_sqs, region=settings.region, first_fire_after=10 ** 9,
                        function_settings=lambda name: FunctionSettings(name, timeout_seconds=60))
            drain(pump)
            counts.active = False
            campaign = call(client, "GET", f"/v1/campaigns/{campaign_id}", headers=headers)["campaign"]
            sending = (Counter(counts.calls), Counter(counts.dynamodb_writes))

            events = delivery_events(account_id, campaign_id, settings.configuration_set)
            queue = aws.client("sqs").get_queue_url(QueueName=settings.queue_name("feedback"))["QueueUrl"]
            for start in range(0, len(events), 10):
                aws.client("sqs").send_message_batch(QueueUrl=queue, Entries=[
                    {"Id": str(n), "MessageBody": body} for n, body in enumerate(events[start:start + 10])])
            counts.calls.clear()
            counts.dynamodb_writes.clear()
            counts.active = True
            started = time.perf_counter()
            drain(pump)
            feedback_seconds = time.perf_counter() - started
            counts.active = False
            report = call(client, "GET", f"/v1/campaigns/{campaign_id}/report", headers=headers)

    per = 1000 / recipients
    print(f"recipients: {recipients}; campaign status: {campaign['status']}")
    print(f"POST /send itself: {sum(send_request.values())} requests "
          f"({', '.join(f'{s}:{op} {n}' for (s, op), n in sorted(send_request.items()))})")
    by_service, writes = show("consumers (fan-out + sender), per 1,000 recipients:", *sending, per)
    ses_calls = by_service.get("sesv2", 0) + by_service.get("ses", 0)
    print(f"targets: SES calls {ses_calls * per:.0f} <= 1000: {ses_calls * per <= 1000}; "
          f"DynamoDB writes {writes * per:.0f} <= 2100: {writes * per <= 2100}")
    per_event = 1000 / len(events)
    show(f"feedback: {len(events)} Delivery events, per 1,000 events:", counts.calls, counts.dynamodb_writes, per_event)
    print(f"  applied {len(events) / feedback_seconds:.0f} events/s in one process; report: delivered "
          f"{report['report']['delivered']['count']} of {report['report']['sent']} sent")


def show(title: str, calls: Counter, writes: Counter, per: float) -> tuple[Counter, int]:
    """Print requests by who, service and operation, scaled by `per`; the service totals and the items written."""
    print(title)
    by_service: Counter = Counter()
    for (who, service, operation), n in sorted(calls.items()):
        print(f"  {who:12s} {service:9s} {operation:22s} {n * per:8.1f}")
        if who == "service":
            by_service[service] += n
    for service, n in sorted(by_service.items()):
        print(f"  total {service}: {n * per:.1f} requests")
    written = sum(writes.values())
    print(f"  DynamoDB writes (items): {written * per:.1f}  ({dict(writes)})")
    return by_service, written


def drain(pump) -> None:
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
    for item in Delivery.query(campaign_key(account_id, campaign_id)):
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
