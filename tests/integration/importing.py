"""Helpers for tests of CSV imports: made through the real API, the job run as the imports queue's consumer."""
from __future__ import annotations

import requests

from chalicelib import aws, queues
from local.pump import sqs_record
from tests.integration.campaign_sending import make_pump, source
from tests.integration.conftest import api_call

CONSENT = {"source": "crm-export-2024", "permission": True}


def create_import(client, person, list_id: str, csv: str | None = None, **extra):
    body = {"consent": CONSENT, **extra}
    if csv is not None:
        body["csv"] = csv
    return api_call(client, "POST", f"/v1/lists/{list_id}/imports", body, headers=person.headers)


def read_import(client, person, list_id: str, import_id: str) -> dict:
    answer = api_call(client, "GET", f"/v1/lists/{list_id}/imports/{import_id}", headers=person.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["import"]


def upload(form: dict, data: bytes) -> requests.Response:
    """POST a file to a presigned upload form, as a browser or curl would."""
    return requests.post(form["url"], data=form["fields"], files={"file": ("contacts.csv", data)}, timeout=30)


def run_jobs(pump=None, rounds: int = 50) -> None:
    """Hand every message on the imports queue to its consumer, as Lambda would, until none is left."""
    pump = pump or make_pump(timeout_seconds=600)
    handler = source(pump, "import_list").handler
    for _ in range(rounds):
        messages = aws.client("sqs").receive_message(QueueUrl=queues.url("imports"), MaxNumberOfMessages=1,
                                                     MessageSystemAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return
        event = {"Records": [sqs_record(messages[0], "arn:aws:sqs:eu-west-1:123456789012:imports", "eu-west-1")]}
        answer = handler(event, pump._context("import_list"))
        if not answer["batchItemFailures"]:
            aws.client("sqs").delete_message(QueueUrl=queues.url("imports"),
                                             ReceiptHandle=messages[0]["ReceiptHandle"])
        else:
            aws.client("sqs").change_message_visibility(QueueUrl=queues.url("imports"),
                                                        ReceiptHandle=messages[0]["ReceiptHandle"],
                                                        VisibilityTimeout=0)
    raise AssertionError("the imports queue did not drain")


def members(client, person, list_id: str) -> dict[str, dict]:
    """Every member of the list by address."""
    found, cursor = {}, None
    while True:
        path = f"/v1/lists/{list_id}/subscribers?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        answer = api_call(client, "GET", path, headers=person.headers).json_body
        found.update({item["email"]: item for item in answer["items"]})
        cursor = answer["next_cursor"]
        if not cursor:
            return found
