"""Every operation of GET /v1/openapi.json fuzzed with schemathesis against the local API server (the one `make run`
serves, here on a free loopback port over the in-process emulator), signed in as an approved account on a paid
plan whose real list, members, campaign, segment, import, exports, key, domain and suppression fill the paths,
so that the fuzzer gets past 404 to the code behind. Every answer must be no 5xx, of a status the document names
for the operation, of a media type it names, and match its schema.

Bounded: MAILROOM_FUZZ_EXAMPLES examples per operation (default 5; derandomized, so a run is repeatable)."""
from __future__ import annotations

import itertools
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies
from schemathesis import checks

from tests.integration.campaigning import add_domain, draft
from tests.integration.conftest import api_call, sign_in
from tests.integration.listing import make_list, path_of, subscribe
from tests.integration.local_api import local_api_server

EXAMPLES = int(os.environ.get("MAILROOM_FUZZ_EXAMPLES", "5"))
# Besides DELETEs, operations that would leave the world's resource unfit for the rest: each example gets its own.
ONE_WAY = {("POST", "/v1/campaigns/{campaign_id}/send"), ("POST", "/v1/campaigns/{campaign_id}/cancel"),
           ("PATCH", "/v1/lists/{list_id}")}
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]


@pytest.fixture
def local_api(client):
    """The local runtime's API server on a free loopback port, over the test's emulated AWS."""
    with local_api_server() as url:
        yield url


class World:
    """A paid, approved account with one of everything, a staff user, and another account for staff to act on;
    resources a DELETE (or closing, or signing out) would take away are made fresh for each example."""

    def __init__(self, client, tenant, staff, monkeypatch):
        self.client, self.count = client, itertools.count()
        self.owner = tenant(plan="monthly", subscriber_level=1000)
        self.staff = staff
        self.target = tenant(approve=False)
        add_domain(self.client, self.owner)
        self.list = make_list(client, self.owner, fields=[{"key": "first_name", "label": "First name"}])
        member = subscribe(client, self.owner, self.list["id"], "reader@readers.example", fields={"first_name": "Ilze"})
        list_id = self.list["id"]
        self.ids = {
            "list_id": list_id, "subscriber_id": member["id"], "campaign_id": self.fresh_campaign(),
            "segment_id": self.fresh_segment(), "key_id": self.fresh_key(), "name": "acme.example",
            "email": self.fresh_suppression(), "account_id": self.target.account_id,
            "import_id": self.post(f"/v1/lists/{list_id}/imports",
                                   {"consent": {"source": "crm", "permission": True}}, 201)["import"]["id"],
            "list_export_id": self.post(f"/v1/lists/{list_id}/exports", {"format": "csv"}, 202)["export"]["id"],
        }
        from chalicelib.services.privacy import account_export

        with monkeypatch.context() as patched:   # an export prepared as a job, as a large account's is
            patched.setattr(account_export, "SYNC_LIMITS", account_export.SyncLimits(subscribers=0, bytes=0))
            job = api_call(client, "GET", "/v1/account/export", headers=self.owner.headers)
        assert job.status_code == 202, job.json_body
        self.ids["account_export_id"] = job.json_body["export"]["id"]
        leaving = subscribe(client, self.owner, list_id, "leaving@readers.example")   # the unsubscribe link's
        self.tokens = {"/unsubscribe/": path_of(leaving["unsubscribe_url"]).rsplit("/", 1)[1],
                       "/f/": path_of(self.list["form_url"]).rsplit("/", 1)[1]}
        # Made before the fuzzer's failed sign-ins and signups use up the client's allowance (429s): accounts to
        # close and sessions to end, one per example while they last, then the last one again.
        spares = min(EXAMPLES + 1, 8)
        self.closable = [tenant().token for _ in range(spares)]
        self.sessions = [sign_in(client, self.owner.email, self.owner.password) for _ in range(spares)]

    def post(self, path: str, body: dict, status: int) -> dict:
        answer = api_call(self.client, "POST", path, body, headers=self.owner.headers)
        assert answer.status_code == status, (path, answer.json_body)
        return answer.json_body

    def fresh_campaign(self) -> str:
        return draft(self.client, self.owner, self.list["id"])["id"]

    def fresh_segment(self) -> str:
        condition = {"field": "email", "op": "ends_with", "value": "@readers.example"}
        return self.post(f"/v1/lists/{self.list['id']}/segments", {"name": "Readers", "conditions": [condition]},
                         201)["segment"]["id"]

    def fresh_key(self) -> str:
        return self.post("/v1/api-keys", {"name": "ci"}, 201)["id"]

    def fresh_suppression(self) -> str:
        return self.post("/v1/suppressions", {"email": f"gone{next(self.count)}@readers.example"},
                         201)["suppression"]["email"]

    def fresh(self, name: str) -> str:
        """A resource of its own for an example that deletes it."""
        n = next(self.count)
        made = {
            "list_id": lambda: make_list(self.client, self.owner)["id"],
            "subscriber_id": lambda: subscribe(self.client, self.owner, self.list["id"],
                                               f"leaving{n}@readers.example")["id"],
            "campaign_id": self.fresh_campaign, "segment_id": self.fresh_segment, "key_id": self.fresh_key,
            "email": self.fresh_suppression,
            "name": lambda: self.post("/v1/domains", {"domain": f"d{n}.example"}, 201)["domain"]["name"],
        }
        return made[name]()

    @staticmethod
    def spare(tokens: list[str]) -> str:
        return tokens.pop() if len(tokens) > 1 else tokens[0]

    def prepare(self, case) -> dict[str, str]:
        """Fill the case's path with this world's ids, and answer the headers to call it with."""
        path, method = case.operation.path, case.method.upper()
        params = case.path_parameters or {}
        names = list(params)
        for name in names:
            if name == "token":
                prefix = next((p for p in self.tokens if path.startswith(p)), None)
                if prefix:
                    params[name] = self.tokens[prefix]
            elif name == "export_id":
                params[name] = self.ids["list_export_id" if path.startswith("/v1/lists/") else "account_export_id"]
            elif name in self.ids and not path.startswith("/o/"):
                params[name] = self.fresh(name) if name == names[-1] and (
                    method == "DELETE" or (method, path) in ONE_WAY) else self.ids[name]
        if isinstance(case.body, dict):   # a body's own ids: the world's
            for name in ("list_id", "segment_id"):
                if isinstance(case.body.get(name), str):
                    case.body[name] = self.ids[name]
        if path.startswith("/v1/admin/"):
            return {"Authorization": f"Bearer {self.staff.token}"}
        if path == "/v1/account/close":
            return {"Authorization": f"Bearer {self.spare(self.closable)}"}
        if path == "/v1/sessions/current":
            return {"Authorization": f"Bearer {self.spare(self.sessions)}"}
        return {"Authorization": f"Bearer {self.owner.token}"}


def test_every_operation_answers_as_the_document_says_when_fuzzed(client, tenant, staff, monkeypatch, local_api,
                                                                  quick_answers):
    # Given the served document, and an account with one of everything behind the local API
    document = api_call(client, "GET", "/v1/openapi.json").json_body
    world = World(client, tenant, staff, monkeypatch)
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    answered: dict[str, list[int]] = {}
    operations = 0

    # When every operation is called with generated parameters and bodies
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        # the document's examples first (one_of tries its first branches first), then generated cases
        @given(case=strategies.one_of(*operation.get_strategies_from_examples(), operation.as_strategy()))
        def fuzz(case):
            headers = world.prepare(case)
            answer = case.call(base_url=local_api, headers=headers, timeout=30)
            answered.setdefault(operation.label, []).append(answer.status_code)  # noqa: B023 - run in this iteration
            case.validate_response(answer, checks=CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation's findings, not only the first
            failures.append(f"{operation.label}: {exc}"[:3000])

    # Then no answer is a 5xx, and every one is of a status, media type and schema the document names
    assert operations == sum(len(methods) for methods in document["paths"].values())
    assert failures == [], "\n\n".join(failures)
    if os.environ.get("MAILROOM_FUZZ_SHOW"):
        for label, statuses in sorted(answered.items()):
            print(label, sorted(statuses))
