"""POST /v1/lists/{id}/imports (R14): CSV files checked row by row as POST …/subscribers checks them, imported a
page at a time by the imports queue's job, which resumes after a crash without losing or doubling a row."""
from __future__ import annotations

import base64
import csv
import io
import json
import threading

import pytest
import requests

from chalicelib import errors, queues
from chalicelib.models import imports as import_store
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.services.audience import imports, suppressions
from chalicelib.storage import UploadFiles
from tests.integration.conftest import api_call
from tests.integration.importing import create_import, members, read_import, run_jobs, upload
from tests.integration.listing import make_list, subscribe, subscriber_count
from tests.integration.test_subscriber_limits import atomic_moto  # noqa: F401 - a fixture used below

FIELDS = [{"key": "first_name", "label": "First name", "type": "text"},
          {"key": "vip", "label": "VIP", "type": "boolean"}]


def imported(client, person, list_id: str, text: str, **extra) -> dict:
    """Import `text` inline, run the job to its end, and answer the import as the API shows it."""
    answer = create_import(client, person, list_id, csv=text, **extra)
    assert answer.status_code == 201, answer.json_body
    run_jobs()
    return read_import(client, person, list_id, answer.json_body["import"]["id"])


def rejected_rows(found: dict) -> list[list[str]]:
    download = requests.get(found["errors_url"], timeout=10)
    assert download.status_code == 200
    assert download.content.startswith(b"\xef\xbb\xbf")   # UTF-8 with BOM: spreadsheets open it right
    return list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(imports, "PAGE_ROWS", 3)


def test_every_row_is_checked_as_an_api_add_and_every_rejected_row_is_in_the_errors_file(client, tenant):
    # Given a list with a member already, and an account that suppressed two addresses (one complained)
    person = tenant()
    list_id = make_list(client, person, fields=FIELDS)["id"]
    subscribe(client, person, list_id, "old@readers.example")
    api_call(client, "POST", "/v1/suppressions", {"email": "gone@readers.example"}, headers=person.headers)
    suppressions.suppress(person.account_id, "angry@readers.example", SuppressionReason.COMPLAINED)
    text = ("E-mail Address;First Name;VIP;Notes\r\n"
            "ann@readers.example;Ann;yes;x\r\n"
            " BOB@Readers.Example ;\"Bob; the \"\"builder\"\"\";no;y\r\n"
            "postmaster@readers.example;Post;;\r\n"
            "not-an-address;=HYPERLINK(\"http://evil.example\");;\r\n"
            "bob@readers.example;Again;;\r\n"
            "old@readers.example;Old;;\r\n"
            "gone@readers.example;Gone;;\r\n"
            "angry@readers.example;Angry;;\r\n"
            "cat@readers.example;Cat;maybe;\r\n")

    # When it is imported
    found = imported(client, person, list_id, text)

    # Then the good rows are subscribed members with their fields and the import's consent
    assert found["status"] == "done" and found["reason"] is None
    assert (found["rows"], found["processed"], found["added"], found["updated"]) == (9, 9, 2, 0)
    assert found["skipped"] == {"invalid": 2, "role": 1, "duplicate": 2, "suppressed": 2, "limit": 0}
    people = members(client, person, list_id)
    assert set(people) == {"ann@readers.example", "bob@readers.example", "old@readers.example"}
    bob = people["bob@readers.example"]
    assert bob["status"] == "subscribed" and bob["fields"] == {"first_name": 'Bob; the "builder"', "vip": False}
    assert bob["consent"]["source"] == "crm-export-2024" and bob["consent"]["import_id"] == found["id"]
    assert people["ann@readers.example"]["fields"] == {"first_name": "Ann", "vip": True}
    assert subscriber_count(person) == 3
    # and every rejected row is in the errors file with its line and reason, formulas neutralised
    rows = rejected_rows(found)
    assert rows[0] == ["line", "reason", "detail", "E-mail Address", "First Name", "VIP", "Notes"]
    by_line = {row[0]: row for row in rows[1:]}
    assert {line: row[1] for line, row in by_line.items()} == {
        "4": "role", "5": "invalid", "6": "duplicate", "7": "duplicate", "8": "suppressed", "9": "suppressed",
        "10": "invalid"}
    assert by_line["5"][4] == "'=HYPERLINK(\"http://evil.example\")"
    assert "line 3" in by_line["6"][2] and "in the list already" in by_line["7"][2]
    assert "vip" in by_line["10"][2]


def test_a_double_opt_in_list_gets_subscribed_members_and_no_confirmation_emails(client, tenant):
    # Given a double opt-in list
    person = tenant()
    list_id = make_list(client, person, double_opt_in=True)["id"]
    from tests.integration.campaign_sending import sent_messages

    # When a file is imported into it with the customer's permission statement
    found = imported(client, person, list_id, "email\nann@readers.example\nbob@readers.example\n")

    # Then its rows are subscribed, and nobody was emailed
    assert found["added"] == 2
    assert {m["status"] for m in members(client, person, list_id).values()} == {"subscribed"}
    assert [m for m in sent_messages("") if "readers.example" in str(m["To"])] == []


def test_update_existing_changes_fields_never_status_or_consent(client, tenant):
    # Given members already in the list, one of them unsubscribed
    person = tenant()
    list_id = make_list(client, person, fields=FIELDS)["id"]
    kept = subscribe(client, person, list_id, "kept@readers.example", fields={"first_name": "K"})
    left = subscribe(client, person, list_id, "left@readers.example", fields={"first_name": "L", "vip": True})
    api_call(client, "POST", f"/v1/lists/{list_id}/subscribers/{left['id']}/unsubscribe", headers=person.headers)

    # When a file naming them is imported with update_existing
    found = imported(client, person, list_id, "email,first_name\nkept@readers.example,Kay\n"
                                              "left@readers.example,Lee\nnew@readers.example,New\n",
                     update_existing=True)

    # Then their fields changed, their status and consent did not, and the new address was added
    assert (found["added"], found["updated"], found["skipped"]["duplicate"]) == (1, 2, 0)
    people = members(client, person, list_id)
    assert people["kept@readers.example"]["fields"] == {"first_name": "Kay"}
    assert people["kept@readers.example"]["consent"] == kept["consent"]
    assert people["left@readers.example"]["status"] == "unsubscribed"
    assert people["left@readers.example"]["fields"] == {"first_name": "Lee", "vip": True}
    assert subscriber_count(person) == 3


def test_an_explicit_mapping_reads_only_its_columns_and_an_unknown_target_is_422(client, tenant):
    person = tenant()
    list_id = make_list(client, person, fields=FIELDS)["id"]

    # Given a mapping to a field the list does not have, then one without an email column
    unknown = create_import(client, person, list_id, csv="a\nx@readers.example\n", mapping={"a": "surname"})
    no_email = create_import(client, person, list_id, csv="a\nx@readers.example\n", mapping={"a": "first_name"})
    no_permission = api_call(client, "POST", f"/v1/lists/{list_id}/imports",
                             {"consent": {"source": "crm", "permission": False}, "csv": "email\n"},
                             headers=person.headers)

    # Then each is refused with a reason, and nothing was imported
    assert unknown.status_code == 422 and unknown.json_body["error"]["code"] == "unknown_field"
    assert "surname" in unknown.json_body["error"]["message"]
    assert no_email.status_code == 422 and no_permission.status_code == 422
    assert no_permission.json_body["error"]["code"] == "permission_required"

    # When a mapping names the columns (whatever their names)
    found = imported(client, person, list_id, "Contact,Given,email\nann@readers.example,Ann,ignored@x.example\n",
                     mapping={"Contact": "email", "Given": "first_name"})

    # Then it is followed
    assert found["added"] == 1
    assert members(client, person, list_id)["ann@readers.example"]["fields"] == {"first_name": "Ann"}

    # and a mapped column missing from the file fails the import with the file's columns named
    missing = imported(client, person, list_id, "email\nbob@readers.example\n", mapping={"Mail": "email"})
    assert missing["status"] == "failed" and '"Mail"' in missing["reason"] and '"email"' in missing["reason"]


@pytest.mark.parametrize(("data", "words"), [
    (b"", "empty"),
    (b"\n\n\r\n", "empty"),
    (b"email,first_name\r\n", "header row but no rows"),
    (b"name,city\nAnn,Cork\n", "no email column"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a CSV text file"),
    (b"email\nann@readers.example\nb\xe9a@readers.example\n", "Line 3 is not UTF-8"),
    (b"email\n" + b"x" * (2 * 1024 * 1024), "longer than 1 MB"),
])
def test_a_file_that_is_not_a_readable_csv_fails_with_a_reason_and_imports_nothing(client, tenant, data, words):
    # Given an upload that is not a CSV a list can be imported from
    person = tenant()
    list_id = make_list(client, person)["id"]
    created = create_import(client, person, list_id).json_body["import"]
    assert upload(created["upload"], data or b" ").status_code in (200, 201, 204)
    if not data:   # S3 refuses an empty upload (content-length-range starts at 1): store it as the service would
        UploadFiles().put(f"{person.account_id}/{created['id']}/upload.csv", io.BytesIO(b""))

    # When it is started and its job runs
    started = api_call(client, "POST", f"/v1/lists/{list_id}/imports/{created['id']}/start", {},
                       headers=person.headers)
    assert started.status_code == 200 and started.json_body["import"]["status"] == "queued"
    run_jobs()

    # Then it failed with a reason a person understands, and the list is as it was
    found = read_import(client, person, list_id, created["id"])
    assert found["status"] == "failed" and words in found["reason"]
    assert found["finished_at"] and found["added"] == 0
    assert members(client, person, list_id) == {}


def test_huge_cells_and_a_million_blank_lines_reject_rows_and_keep_counts_exact(client, tenant):
    # Given a file with a 10,000-character address, a 10,000-character text field, and a million blank lines
    person = tenant()
    list_id = make_list(client, person, fields=FIELDS)["id"]
    text = ("email,first_name\n" + "a" * 10_000 + "@readers.example,A\n" + "\n" * 1_000_000 +
            "bob@readers.example," + "b" * 10_000 + "\n" + "cat@readers.example,Cat\n")

    # When it is imported
    found = imported(client, person, list_id, text)

    # Then the long cells' rows are rejected as invalid, with their real line numbers, and the rest is in
    assert found["status"] == "done"
    assert (found["rows"], found["processed"], found["added"]) == (3, 3, 1)
    assert found["skipped"]["invalid"] == 2
    assert [row[0] for row in rejected_rows(found)[1:]] == ["2", str(1_000_003)]


def test_a_file_over_the_limits_is_refused(client, tenant):
    person = tenant()
    list_id = make_list(client, person)["id"]

    # Inline csv over 5 MB is 413, and nothing is created
    inline = create_import(client, person, list_id, csv="email\n" + "x" * (5 * 1024 * 1024))
    assert inline.status_code == 413 and inline.json_body["error"]["code"] == "too_large"
    assert api_call(client, "GET", f"/v1/lists/{list_id}/imports", headers=person.headers).json_body["items"] == []

    # and the upload form lets S3 take at most 1 GB
    form = create_import(client, person, list_id).json_body["import"]["upload"]
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    assert ["content-length-range", 1, 1024 ** 3] in policy["conditions"]


def test_a_crash_between_pages_resumes_without_losing_or_doubling_a_row(client, tenant, small_pages, monkeypatch):
    # Given a file of several pages with a repeated address, and a job that dies once after writing the members
    # of its second page but before saving that page's counts
    person = tenant()
    list_id = make_list(client, person)["id"]
    addresses = [f"reader{n}@readers.example" for n in range(10)]
    text = "email\n" + "\n".join(addresses[:5] + ["reader1@readers.example"] + addresses[5:]) + "\n"
    real_commit, commits = import_store.commit_page, []

    def crash_once(*args, **kwargs):
        commits.append(1)
        if len(commits) == 2:
            raise errors.UpstreamError("the worker died")
        return real_commit(*args, **kwargs)

    monkeypatch.setattr(import_store, "commit_page", crash_once)

    # When it is imported (the failed delivery comes back, as SQS delivers it again)
    found = imported(client, person, list_id, text)

    # Then every row was imported exactly once, and the repeated address counted as one duplicate
    assert len(commits) >= 5
    assert found["status"] == "done"
    assert (found["rows"], found["processed"], found["added"]) == (11, 11, 10)
    assert found["skipped"] == {"invalid": 0, "role": 0, "duplicate": 1, "suppressed": 0, "limit": 0}
    assert set(members(client, person, list_id)) == set(addresses)
    assert subscriber_count(person) == 10
    assert [row[0] for row in rejected_rows(found)[1:]] == ["7"]

    # and the same message delivered again imports nothing twice
    queues.enqueue("imports", {"account_id": person.account_id, "list_id": list_id, "import_id": found["id"]})
    run_jobs()
    again = read_import(client, person, list_id, found["id"])
    assert {k: v for k, v in again.items() if k != "errors_url"} \
        == {k: v for k, v in found.items() if k != "errors_url"}
    assert subscriber_count(person) == 10


def test_the_plan_limit_is_never_overshot_and_the_rest_is_skipped_as_limit(client, tenant):
    # Given a monthly plan of 5 subscribers with 2 stored
    person = tenant(plan="monthly", subscriber_level=5)
    list_id = make_list(client, person)["id"]
    subscribe(client, person, list_id, "one@readers.example")
    subscribe(client, person, list_id, "two@readers.example")

    # When a file of 6 new addresses is imported
    found = imported(client, person, list_id, "email\n" + "".join(f"n{i}@readers.example\n" for i in range(6)))

    # Then 3 got in, 3 were skipped for the limit, and the account holds exactly its limit
    assert (found["added"], found["skipped"]["limit"]) == (3, 3)
    assert subscriber_count(person) == 5
    assert {row[1] for row in rejected_rows(found)[1:]} == {"limit"}


def test_two_imports_at_once_into_a_nearly_full_plan_never_overshoot(client, tenant, small_pages, atomic_moto):
    # Given a plan with room for 7 more subscribers and two imports of 10 new addresses each, both started
    person = tenant(plan="monthly", subscriber_level=10)
    list_id = make_list(client, person)["id"]
    for n in range(3):
        subscribe(client, person, list_id, f"old{n}@readers.example")
    jobs = []
    for name in ("a", "b"):
        text = "email\n" + "".join(f"{name}{i}@readers.example\n" for i in range(10))
        created = create_import(client, person, list_id, csv=text).json_body["import"]
        jobs.append(imports.Job(person.account_id, list_id, created["id"]))
    start = threading.Barrier(len(jobs))
    failures = []

    def work(job: imports.Job) -> None:
        start.wait(timeout=30)
        try:
            imports.run(job, UploadFiles(), queues.enqueue, lambda: 600_000)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    # When both jobs run at the same time, on real threads
    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then exactly the room was taken between them, and every other row was skipped for the limit
    assert not failures and not any(thread.is_alive() for thread in threads)
    found = [read_import(client, person, list_id, job.import_id) for job in jobs]
    assert sum(f["added"] for f in found) == 7
    assert sum(f["skipped"]["limit"] for f in found) == 13
    assert subscriber_count(person) == 10
    assert len(members(client, person, list_id)) == 10


def test_cancel_stops_within_one_page_and_keeps_what_was_imported(client, tenant, small_pages):
    # Given an import whose job ran one page and then handed on (its invocation's time ran short)
    person = tenant()
    list_id = make_list(client, person)["id"]
    created = create_import(client, person, list_id, csv="email\n" + "".join(
        f"r{i}@readers.example\n" for i in range(12))).json_body["import"]
    budget = iter([600_000])   # time for one page, then none
    message = aws_message()
    imports.run(imports.Job.from_body(json.loads(message["Body"])), UploadFiles(), queues.enqueue,
                lambda: next(budget, 0))
    running = read_import(client, person, list_id, created["id"])
    assert running["status"] == "running" and (running["rows"], running["processed"]) == (12, 3)

    # When the customer cancels it and the next message runs
    cancelled = api_call(client, "POST", f"/v1/lists/{list_id}/imports/{created['id']}/cancel", {},
                         headers=person.headers)
    run_jobs()

    # Then it stopped: cancelled, its first page's members stay, nothing more was imported
    assert cancelled.status_code == 200 and cancelled.json_body["import"]["status"] == "cancelled"
    found = read_import(client, person, list_id, created["id"])
    assert found["status"] == "cancelled" and found["processed"] == 3 and found["added"] == 3
    assert len(members(client, person, list_id)) == 3
    # and a finished import cannot be cancelled
    done = imported(client, person, list_id, "email\nz@readers.example\n")
    again = api_call(client, "POST", f"/v1/lists/{list_id}/imports/{done['id']}/cancel", {}, headers=person.headers)
    assert again.status_code == 409 and again.json_body["error"]["code"] == "import_finished"


def aws_message() -> dict:
    from chalicelib import aws

    [message] = aws.client("sqs").receive_message(QueueUrl=queues.url("imports"))["Messages"]
    aws.client("sqs").delete_message(QueueUrl=queues.url("imports"), ReceiptHandle=message["ReceiptHandle"])
    return message


def test_a_suspended_accounts_import_does_not_run(client, tenant, staff):
    # Given an import queued for an account that staff then suspend
    person = tenant()
    list_id = make_list(client, person)["id"]
    created = create_import(client, person, list_id, csv="email\nann@readers.example\n").json_body["import"]
    api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/suspend", {"reason": "abuse review"},
             headers=staff.headers)

    # When its job runs
    run_jobs()

    # Then it failed, saying why, and imported nothing
    found = read_import(client, person, list_id, created["id"])
    assert found["status"] == "failed" and "suspended" in found["reason"] and found["added"] == 0
    assert subscriber_count(person) == 0


def test_an_upload_through_the_form_then_start_imports_it_and_another_tenant_sees_404(client, tenant):
    # Given an import waiting for its file
    person, stranger = tenant(), tenant()
    list_id = make_list(client, person)["id"]
    created = create_import(client, person, list_id).json_body["import"]
    assert created["status"] == "awaiting_upload" and created["started_at"] is None
    base = f"/v1/lists/{list_id}/imports/{created['id']}"

    # When it is started before its file is there, it says so
    early = api_call(client, "POST", f"{base}/start", {}, headers=person.headers)
    assert early.status_code == 409 and early.json_body["error"]["code"] == "upload_missing"

    # When the file is POSTed to the form and the import started
    assert upload(created["upload"], "\ufeffEmail\r\nann@readers.example\r\n".encode()).status_code == 204
    started = api_call(client, "POST", f"{base}/start", {}, headers=person.headers).json_body["import"]
    run_jobs()

    # Then it ran, and is listed with the list's imports
    assert started["status"] == "queued" and started["started_at"]
    found = read_import(client, person, list_id, created["id"])
    assert found["status"] == "done" and found["added"] == 1 and found["errors_url"] is None
    listed = api_call(client, "GET", f"/v1/lists/{list_id}/imports", headers=person.headers).json_body
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    # and another tenant's calls on it answer exactly as for a missing import
    for method, path in (("GET", base), ("POST", f"{base}/start"), ("POST", f"{base}/cancel")):
        theirs = api_call(client, method, path, {} if method == "POST" else None, headers=stranger.headers)
        assert theirs.status_code == 404, (method, path)
