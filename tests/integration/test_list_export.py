"""POST /v1/lists/{id}/exports (R17): a list's members as CSV or JSON, written by a job on the exports queue
part by part into S3 and downloaded through a one-hour presigned link."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import datetime, timedelta

import pytest
import requests

from chalicelib import aws, clock, queues
from chalicelib.config import get_settings
from chalicelib.models import exports as export_store
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.subscribers import Subscriber
from chalicelib.services.audience import subscribers as subscriber_service
from chalicelib.storage import ExportFiles
from local.pump import sqs_record
from tests.integration.campaign_sending import make_pump, source
from tests.integration.conftest import api_call
from tests.integration.listing import load_members, make_list, subscribe

FIELDS = [{"key": "first_name", "label": "First name", "type": "text"},
          {"key": "city", "label": "City", "type": "text"},
          {"key": "orders", "label": "Orders", "type": "number"}]
CONSENT = {"source": "trade-fair-2024", "ip": "203.0.113.7", "at": "2024-03-01T10:00:00Z"}
BIG = "x" * 4000   # a long field: a few thousand members fill S3 parts of 5 MiB


def ask(client, person, list_id: str, **body):
    return api_call(client, "POST", f"/v1/lists/{list_id}/exports", {"format": "csv", **body},
                    headers=person.headers)


def status_of(client, person, list_id: str, export_id: str):
    return api_call(client, "GET", f"/v1/lists/{list_id}/exports/{export_id}", headers=person.headers)


def deliver(pump=None, message=None) -> tuple[dict, dict]:
    """Hand the exports queue's next message (or `message` again) to the consumer as Lambda would; the
    consumer's answer and the message."""
    pump = pump or make_pump(timeout_seconds=900)
    if message is None:
        [message] = aws.client("sqs").receive_message(QueueUrl=queues.url("exports"),
                                                      MessageSystemAttributeNames=["All"])["Messages"]
    event = {"Records": [sqs_record(message, "arn:aws:sqs:eu-west-1:123456789012:exports", "eu-west-1")]}
    return source(pump, "export_account").handler(event, pump._context("export_account")), message


def exported(client, person, list_id: str, **body) -> tuple[dict, bytes]:
    """Ask for an export, run its job, and download the file: the export as the API shows it, and the file."""
    answer = ask(client, person, list_id, **body)
    assert answer.status_code == 202, answer.json_body
    result, _ = deliver()
    assert result == {"batchItemFailures": []}
    ready = status_of(client, person, list_id, answer.json_body["export"]["id"]).json_body["export"]
    assert ready["status"] == "ready", ready
    download = requests.get(ready["download_url"], timeout=30)
    assert download.status_code == 200
    return ready, download.content


def csv_rows(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


@pytest.fixture
def shop(client, tenant):
    """A list with three fields and members: one with consent details and activity, one unsubscribed."""
    person = tenant()
    listed = make_list(client, person, fields=FIELDS)
    ada = subscribe(client, person, listed["id"], "ada@readers.example", consent=CONSENT,
                    fields={"first_name": "Ada", "city": "Dublin", "orders": 3})
    Subscriber(subscriber_store.list_key(person.account_id, listed["id"]), ada["id"]).update(
        actions=[Subscriber.received.set(4), Subscriber.opened.set(2)])
    bob = subscribe(client, person, listed["id"], "bob@readers.example", fields={"first_name": "Bob"})
    api_call(client, "POST", f"/v1/lists/{listed['id']}/subscribers/{bob['id']}/unsubscribe", headers=person.headers)
    return person, listed


def test_the_csv_has_a_bom_a_header_in_the_lists_field_order_and_one_row_per_member(client, shop):
    person, listed = shop

    # When the customer exports the list as CSV
    ready, content = exported(client, person, listed["id"])

    # Then the file starts with a BOM and a header naming the fixed columns and every field in the list's order
    assert content.startswith("\ufeffemail,status,first_name,city,orders,".encode())
    rows = {row["email"]: row for row in csv_rows(content)}
    assert list(next(iter(rows.values()))) == ["email", "status", "first_name", "city", "orders", "consent_source",
                                              "consent_ip", "consent_at", "subscribed_at", "activity_score"]
    # and each member once, with its fields, consent, subscription time and activity score
    assert sorted(rows) == ["ada@readers.example", "bob@readers.example"]
    ada = rows["ada@readers.example"]
    assert (ada["status"], ada["first_name"], ada["city"], ada["orders"]) == ("subscribed", "Ada", "Dublin", "3")
    assert (ada["consent_source"], ada["consent_ip"], ada["consent_at"]) == (
        "trade-fair-2024", "203.0.113.7", "2024-03-01T10:00:00Z")
    assert datetime.fromisoformat(ada["subscribed_at"]) <= clock.now()
    assert ada["activity_score"] == "20"   # opened 2 of 4: 0.4 * 2 / 4
    bob = rows["bob@readers.example"]
    assert (bob["status"], bob["city"], bob["orders"], bob["activity_score"]) == ("unsubscribed", "", "", "")
    assert ready["rows"] == 2 and ready["size_bytes"] == len(content) and ready["format"] == "csv"


def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(client, tenant):
    person = tenant()
    listed = make_list(client, person, fields=FIELDS)
    dangerous = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
                 "\tTab", "\rReturn"]
    for n, value in enumerate(dangerous):
        subscribe(client, person, listed["id"], f"r{n}@readers.example", fields={"first_name": value, "orders": -5},
                  consent={"source": "=cmd|' /C notepad'!A1"})

    _, content = exported(client, person, listed["id"])

    rows = csv_rows(content)
    assert sorted(row["first_name"] for row in rows) == sorted("'" + value for value in dangerous)
    assert {row["consent_source"] for row in rows} == {"'=cmd|' /C notepad'!A1"}
    assert {row["orders"] for row in rows} == {"-5"}   # a number field's value is a number, not a formula


def test_the_status_filter_exports_only_those_members(client, shop):
    person, listed = shop

    _, content = exported(client, person, listed["id"], status=["unsubscribed"])

    assert [row["email"] for row in csv_rows(content)] == ["bob@readers.example"]


@pytest.mark.parametrize("status", [["complained"], ["subscribed", "gone"], [], "subscribed"])
def test_an_unknown_status_is_refused_and_nothing_is_queued(client, shop, status):
    person, listed = shop

    answer = ask(client, person, listed["id"], status=status)

    assert answer.status_code in (400, 422), answer.json_body
    assert set(answer.json_body["error"]) >= {"code", "message"}
    assert api_call(client, "GET", f"/v1/lists/{listed['id']}/exports", headers=person.headers).json_body["items"] == []


@pytest.mark.parametrize("body", [{"format": "xlsx"}, {"format": "csv", "colour": "red"}, {}])
def test_a_bad_request_is_a_4xx_in_the_error_shape(client, shop, body):
    person, listed = shop

    answer = api_call(client, "POST", f"/v1/lists/{listed['id']}/exports", body, headers=person.headers)

    assert answer.status_code == 422, answer.json_body
    assert set(answer.json_body["error"]) >= {"code", "message"}


def test_a_segment_that_does_not_exist_is_not_found(client, shop):
    person, listed = shop

    answer = ask(client, person, listed["id"], segment_id="seg_missing")

    assert answer.status_code == 404 and answer.json_body["error"]["code"] == "not_found"


def test_an_export_of_a_segment_holds_only_its_members(client, shop):
    # Given a segment of the list: the members in Dublin
    person, listed = shop
    made = api_call(client, "POST", f"/v1/lists/{listed['id']}/segments", {
        "name": "Dublin", "conditions": [{"field": "city", "op": "eq", "value": "dublin"}]}, headers=person.headers)
    assert made.status_code == 201, made.json_body

    # When the segment is exported
    _, content = exported(client, person, listed["id"], segment_id=made.json_body["segment"]["id"])

    # Then the file holds the segment's members and no one else
    assert [row["email"] for row in csv_rows(content)] == ["ada@readers.example"]


def test_another_lists_segment_is_not_found(client, shop, tenant):
    person, listed = shop
    other = make_list(client, person)
    made = api_call(client, "POST", f"/v1/lists/{other['id']}/segments", {
        "name": "All", "conditions": [{"field": "email", "op": "contains", "value": "@"}]}, headers=person.headers)

    answer = ask(client, person, listed["id"], segment_id=made.json_body["segment"]["id"])

    assert answer.status_code == 404


def test_a_complainer_reads_exactly_as_an_unsubscribe(client, shop):
    # Given a member who complained, beside one who unsubscribed
    person, listed = shop
    carl = subscribe(client, person, listed["id"], "carl@readers.example", fields={"first_name": "Carl"})
    subscriber_service.unsubscribe_by_complaint(subscriber_store.get(person.account_id, listed["id"], carl["id"]))

    # When the list is exported in both formats
    _, content = exported(client, person, listed["id"])
    _, document = exported(client, person, listed["id"], format="json")

    # Then the complainer's row has the unsubscriber's status and the same columns filled, and nothing says
    # "complaint"
    rows = {row["email"]: row for row in csv_rows(content)}
    carl_row, bob_row = rows["carl@readers.example"], rows["bob@readers.example"]
    assert carl_row["status"] == bob_row["status"] == "unsubscribed"
    assert {k for k, v in carl_row.items() if v} == {k for k, v in bob_row.items() if v}
    assert b"complain" not in content.lower() and b"complain" not in document.lower()


def test_the_json_export_holds_the_same_members_and_data(client, shop):
    person, listed = shop

    ready, content = exported(client, person, listed["id"], format="json")

    members = {m["email"]: m for m in json.loads(content)}
    assert sorted(members) == ["ada@readers.example", "bob@readers.example"]
    assert members["ada@readers.example"] == {
        "email": "ada@readers.example", "status": "subscribed",
        "fields": {"first_name": "Ada", "city": "Dublin", "orders": 3},
        "consent": {"source": "trade-fair-2024", "ip": "203.0.113.7", "at": "2024-03-01T10:00:00Z"},
        "subscribed_at": members["ada@readers.example"]["subscribed_at"], "activity_score": 20,
    }
    assert members["bob@readers.example"]["fields"] == {"first_name": "Bob", "city": None, "orders": None}
    assert ready["format"] == "json" and "/lists/" in ready["download_url"] and ".json" in ready["download_url"]


def test_an_empty_list_exports_its_header_alone(client, tenant):
    person = tenant()
    listed = make_list(client, person, fields=FIELDS)

    ready, content = exported(client, person, listed["id"])

    assert csv_rows(content) == [] and content.decode("utf-8-sig").startswith("email,status,first_name")
    assert ready["rows"] == 0


def test_the_link_is_valid_for_an_hour_and_the_export_is_gone_after_seven_days(client, shop, monkeypatch):
    person, listed = shop
    ready, _ = exported(client, person, listed["id"])

    # The link: presigned for an hour, served as a download
    expires = datetime.fromisoformat(ready["download_expires_at"])
    assert timedelta(minutes=59) < expires - clock.now() <= timedelta(hours=1)
    assert "X-Amz-Expires=3600" in ready["download_url"]
    assert "response-content-disposition=attachment" in ready["download_url"]
    # The export: listed for seven days, then not found even before DynamoDB's TTL deletes it
    listed_exports = api_call(client, "GET", f"/v1/lists/{listed['id']}/exports", headers=person.headers).json_body
    assert [e["id"] for e in listed_exports["items"]] == [ready["id"]] and listed_exports["next_cursor"] is None
    key = api_call(client, "POST", "/v1/api-keys", {"name": "ci"}, headers=person.headers).json_body["key"]
    by_key = {"Authorization": f"Bearer {key}"}   # a session would have ended by then
    later = clock.now() + timedelta(days=7, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    path = f"/v1/lists/{listed['id']}/exports"
    assert api_call(client, "GET", f"{path}/{ready['id']}", headers=by_key).status_code == 404
    assert api_call(client, "GET", path, headers=by_key).json_body["items"] == []


def test_the_exports_of_a_list_are_listed_newest_first_and_paged(client, shop):
    person, listed = shop
    made = [ask(client, person, listed["id"]).json_body["export"]["id"] for _ in range(3)]

    first = api_call(client, "GET", f"/v1/lists/{listed['id']}/exports?limit=2", headers=person.headers).json_body
    rest = api_call(client, "GET", f"/v1/lists/{listed['id']}/exports?limit=2&cursor={first['next_cursor']}",
                    headers=person.headers).json_body

    assert [e["id"] for e in first["items"] + rest["items"]] == list(reversed(made))
    assert {e["status"] for e in first["items"]} == {"preparing"}


def test_another_tenants_list_and_exports_are_not_found_like_missing_ones(client, shop, tenant):
    owner, listed = shop
    stranger = tenant()
    ready, _ = exported(client, owner, listed["id"])
    their_list = make_list(client, stranger)

    answers = [
        ask(client, stranger, listed["id"]),
        api_call(client, "GET", f"/v1/lists/{listed['id']}/exports", headers=stranger.headers),
        status_of(client, stranger, listed["id"], ready["id"]),
        status_of(client, stranger, their_list["id"], ready["id"]),      # their own list, the owner's export id
        api_call(client, "GET", f"/v1/account/exports/{ready['id']}", headers=owner.headers),   # not an account export
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert answers[0].json_body == ask(client, stranger, "lst_missing").json_body
    assert answers[3].json_body == status_of(client, stranger, their_list["id"], "exp_missing").json_body


def test_a_deleted_lists_exports_and_files_go_with_it(client, shop):
    # Given a list with a ready export and one still queued
    person, listed = shop
    ready, _ = exported(client, person, listed["id"])
    queued = ask(client, person, listed["id"]).json_body["export"]

    # When the list is deleted, and the queued export's job runs afterwards
    assert api_call(client, "DELETE", f"/v1/lists/{listed['id']}", headers=person.headers).status_code == 204
    result, _ = deliver()

    # Then neither export is found, the job wrote nothing and the bucket holds no file of the list
    assert result == {"batchItemFailures": []}
    assert status_of(client, person, listed["id"], ready["id"]).status_code == 404
    assert status_of(client, person, listed["id"], queued["id"]).status_code == 404
    prefix = export_store.list_prefix(person.account_id, listed["id"])
    bucket = get_settings().bucket_name("exports")
    assert aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount") == 0
    assert requests.get(ready["download_url"], timeout=10).status_code in (403, 404)   # the link leads nowhere


# --- large lists: parts, crashes, time ------------------------------------------------------------

@pytest.fixture
def big(client, tenant):
    """A list of 2,600 members with a 4 KB field each: 10.6 MB of CSV, in three S3 parts (two of 5 MiB and the
    rest)."""
    person = tenant()
    listed = make_list(client, person, fields=[{"key": "notes", "label": "Notes", "type": "text"}])
    addresses = load_members(person, listed["id"], 2_600, fields=lambda n: {"notes": BIG})
    return person, listed, addresses


def download_rows(client, person, list_id: str, export_id: str) -> Counter:
    ready = status_of(client, person, list_id, export_id).json_body["export"]
    assert ready["status"] == "ready", ready
    return Counter(row["email"] for row in csv_rows(requests.get(ready["download_url"], timeout=60).content))


class Crash(Exception):
    """A worker stopping where a test says (a timeout, an out-of-memory kill)."""


def crash_on_call(monkeypatch, owner, name: str, call: int) -> None:
    """Make the `call`-th call of owner.name raise Crash, once."""
    real, calls = getattr(owner, name), {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise Crash()
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapped)


@pytest.mark.parametrize("where", ["between parts", "after a part, before its cursor"])
def test_a_worker_that_crashes_resumes_from_its_cursor_with_every_member_exactly_once(client, big, monkeypatch,
                                                                                       where):
    # Given a list export whose worker dies partway: before writing its second part, or after writing it but
    # before saving the cursor
    person, listed, addresses = big
    export_id = ask(client, person, listed["id"]).json_body["export"]["id"]
    if where == "between parts":
        crash_on_call(monkeypatch, ExportFiles, "upload_part", 2)
    else:
        crash_on_call(monkeypatch, export_store, "save_progress", 2)
    failed, message = deliver()
    assert failed["batchItemFailures"], "the crash is reported, so SQS delivers the message again"
    stopped = export_store.get_live(person.account_id, export_id)
    assert stopped.status == "preparing" and len(stopped.parts) == 1 and stopped.next_key

    # When SQS delivers the message again
    result, _ = deliver(message=message)

    # Then the file holds every member exactly once, in three parts
    assert result == {"batchItemFailures": []}
    assert download_rows(client, person, listed["id"], export_id) == Counter(addresses)
    assert len(export_store.get_live(person.account_id, export_id).parts) == 3


def test_a_worker_running_out_of_time_queues_its_continuation(client, big):
    # Given a worker with less time left than a part takes
    person, listed, addresses = big
    export_id = ask(client, person, listed["id"]).json_body["export"]["id"]
    short = make_pump(timeout_seconds=30)

    # When it runs, it writes a part and hands the rest to a new message; the next worker finishes
    runs = 0
    while export_store.get_live(person.account_id, export_id).status == "preparing":
        result, _ = deliver(short)
        assert result == {"batchItemFailures": []}
        runs += 1
        assert runs <= 3

    # Then every member is in the file once, written by three runs (one part each)
    assert runs == 3
    assert download_rows(client, person, listed["id"], export_id) == Counter(addresses)


def test_a_job_delivered_again_after_it_finished_changes_nothing(client, shop):
    person, listed = shop
    export_id = ask(client, person, listed["id"]).json_body["export"]["id"]
    first, message = deliver()
    ready = status_of(client, person, listed["id"], export_id).json_body["export"]

    again, _ = deliver(message=message)

    assert first == again == {"batchItemFailures": []}
    assert status_of(client, person, listed["id"], export_id).json_body["export"]["ready_at"] == ready["ready_at"]

