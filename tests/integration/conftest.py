"""Integration fixtures: moto in-process, the infra definition provisioned into it, the Chalice
test client, and tenants made through the real API."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from moto import mock_aws

from chalicelib import aws, clock
from chalicelib.config import get_settings
from chalicelib.models.base import reset_connections
from infra.definition import TABLES
from infra.provision import provision
from local import transactions


@pytest.fixture(scope="session")
def emulated_aws():
    """One emulated AWS account per test process, provisioned once (creating it per test was most of the
    suite's time). The mock is active only inside tests that ask for it, so tests that start their own
    emulator are not intercepted."""
    transactions.install()   # the emulator's item-level transactions, as the local runtime runs them
    mock = mock_aws()
    mock.start()
    aws.reset()
    reset_connections()
    provision(get_settings())
    mock.stop(remove_data=False)
    yield mock
    aws.reset()
    reset_connections()


@pytest.fixture
def moto_env(emulated_aws):
    """The emulated account with every resource of infra/definition.py, and empty of data."""
    emulated_aws.start(reset=False)
    settings = get_settings()
    if settings.table_name(next(iter(TABLES))) not in aws.client("dynamodb").list_tables()["TableNames"]:
        provision(settings)  # another test's own mock_aws() reset moto's backends (and may have made tables of its own)
    try:
        yield
    finally:
        try:
            empty_everything()
        finally:   # never leave the mock running: a later test's own mock_aws() would not reset moto's backends
            emulated_aws.stop(remove_data=False)


def empty_everything() -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    settings = get_settings()
    dynamodb = aws.client("dynamodb")
    existing = set(dynamodb.list_tables()["TableNames"])
    for logical, spec in TABLES.items():
        table = settings.table_name(logical)
        if table not in existing:   # a test's own mock_aws() reset moto: the next test provisions again
            continue
        keys = [spec["hash"]] + ([spec["range"]] if spec.get("range") else [])
        for page in dynamodb.get_paginator("scan").paginate(
                TableName=table, ProjectionExpression=", ".join(f"#k{i}" for i in range(len(keys))),
                ExpressionAttributeNames={f"#k{i}": k for i, k in enumerate(keys)}):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=table, Key=item)
    sqs = aws.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        sqs.purge_queue(QueueUrl=url)
    ses = ses_backends[DEFAULT_ACCOUNT_ID][settings.region]
    ses.sent_messages.clear()
    ses.sent_message_count = 0


@pytest.fixture
def client(moto_env):
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client


# --- people: staff and tenants made through the real API (accounts) --------------------------

@pytest.fixture(autouse=True, scope="session")
def one_botocore_session():
    """PynamoDB makes a botocore session per model and connection; sharing one loads each service model
    once per test process instead of once per model and test (moto's hooks live in every session)."""
    import botocore.session
    from pynamodb.connection import base

    shared = botocore.session.get_session()
    original = base.get_session
    base.get_session = lambda: shared
    yield
    base.get_session = original


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """argon2id with minimal cost parameters: the same code paths, ~1 ms per hash instead of ~100 ms."""
    from argon2 import PasswordHasher

    from chalicelib import security

    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    dummy = hasher.hash("not a password anyone has")
    monkeypatch.setattr(security, "_hasher", lambda: hasher)
    monkeypatch.setattr(security, "_dummy_hash", lambda: dummy)


STAFF_PASSWORD = "staff-password-0123"
TENANT_PASSWORD = "tenant-password-0123"


@dataclass
class Person:
    """Someone who can call the API: `.headers` carries their bearer token."""

    user_id: str
    email: str
    password: str
    token: str
    account_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def api_call(client, method: str, path: str, body=None, headers: dict | None = None):
    """Call the app with a JSON body; the answer has `.status_code`, `.headers` and `.json_body`."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    payload = json.dumps(body) if body is not None else None
    return getattr(client.http, method.lower())(path, headers=all_headers, body=payload)


def stop_account(client, staff, person, how: str) -> None:
    """Have staff suspend the account (`how` "suspended") or its owner close it ("closed"), through the API."""
    if how == "suspended":
        done = api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/suspend", {"reason": "abuse"},
                        headers=staff.headers)
    else:
        done = api_call(client, "POST", "/v1/account/close", headers=person.headers)
    assert done.status_code in (200, 202), done.json_body


def sign_in(client, email: str, password: str) -> str:
    answer = api_call(client, "POST", "/v1/sessions", {"email": email, "password": password})
    assert answer.status_code == 201, answer.json_body
    return answer.json_body["token"]


def signup_body(email: str, password: str = TENANT_PASSWORD, **overrides) -> dict:
    """A complete, valid POST /v1/signup body (R1)."""
    return {
        "email": email,
        "password": password,
        "company": "Acme Ltd",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "IE",
        "accept_terms": True,
        **overrides,
    }


@pytest.fixture
def staff(client) -> Person:
    """A staff user (account "staff"), signed in."""
    from chalicelib.services.accounts.staff import create_staff_user

    email = f"staff-{uuid.uuid4().hex[:10]}@mailroom.example"
    user = create_staff_user(email, STAFF_PASSWORD)
    return Person(user.user_id, email, STAFF_PASSWORD, sign_in(client, email, STAFF_PASSWORD), user.account_id)


@pytest.fixture
def tenant(client, staff):
    """A factory: `tenant(approve=True, plan=None, **plan_fields)` signs up a new customer through the API,
    has staff approve it (and set a plan, e.g. plan="monthly", subscriber_level=1000), and signs in."""

    def make(approve: bool = True, plan: str | None = None, **plan_fields) -> Person:
        email = f"user-{uuid.uuid4().hex[:12]}@customer.example"
        answer = api_call(client, "POST", "/v1/signup", signup_body(email))
        assert answer.status_code == 201, answer.json_body
        account_id = answer.json_body["account"]["id"]
        if approve:
            done = api_call(client, "POST", f"/v1/admin/accounts/{account_id}/approve", headers=staff.headers)
            assert done.status_code == 200, done.json_body
        if plan or plan_fields:
            body = {"plan": plan or "trial", **plan_fields}
            done = api_call(client, "PATCH", f"/v1/admin/accounts/{account_id}/plan", body, headers=staff.headers)
            assert done.status_code == 200, done.json_body
        token = sign_in(client, email, TENANT_PASSWORD)
        return Person(answer.json_body["user"]["id"], email, TENANT_PASSWORD, token, account_id)

    return make


@pytest.fixture
def world(client, tenant, monkeypatch):
    """Ada on the lists of two customers, with a campaign she opened and clicked and another one queued for her
    (tests/integration/privacy_world.py)."""
    from tests.integration.privacy_world import make_world

    return make_world(client, tenant, monkeypatch)


@pytest.fixture
def quick_answers(monkeypatch):
    """No constant-time floor on POST /privacy/requests: it has a test of its own, and elsewhere only costs time."""
    from chalicelib.services.privacy import rights

    monkeypatch.setattr(rights, "ANSWER_FLOOR_SECONDS", 0)


@pytest.fixture
def travel(monkeypatch, client, staff):
    """travel(delta): from now on the service's clock reads the real time plus `delta` (staff sign in again
    there, so that `tenant()` still works)."""
    real_now = clock.now

    def to(delta: timedelta) -> None:
        monkeypatch.setattr(clock, "now", lambda: real_now() + delta)
        staff.token = sign_in(client, staff.email, staff.password)

    return to


@pytest.fixture(scope="session")
def packaged(tmp_path_factory):
    """`python -m infra.package build` for the dev stage, as `make package` runs it: once per session."""
    import subprocess
    import sys

    from infra.package import PROJECT_DIR

    out = tmp_path_factory.mktemp("package")
    result = subprocess.run([sys.executable, "-m", "infra.package", "build", "--stage", "dev", "--out", str(out)],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def template(packaged) -> dict:
    """The packaged CloudFormation template."""
    return json.loads((packaged / "template.json").read_text())
