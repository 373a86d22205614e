"""Staff review of held campaigns: trial campaigns (R8) and content the screen matched (R21)."""
from __future__ import annotations

from chalicelib.models.audit import AuditRecord
from chalicelib.models.usage import Usage
from tests.integration.campaigning import audience, draft, fanout_messages, send
from tests.integration.conftest import api_call

CASINO = "<p>Win big at our online casino tonight!</p>"


def staff_audit(person, operation: str) -> list[AuditRecord]:
    return [r for r in AuditRecord.query(person.account_id) if r.operation == operation]


def test_given_a_trial_campaign_when_sent_then_held_for_staff_and_approval_sends_it(client, tenant, staff):
    person = tenant()
    campaign = draft(client, person, audience(client, person)["id"])

    held = send(client, person, campaign["id"])

    assert held.status_code == 202 and held.json_body["campaign"]["status"] == "in_review"
    assert held.json_body["campaign"]["review"]["reasons"] == ["trial"]
    assert fanout_messages() == []
    queue = api_call(client, "GET", "/v1/admin/reviews", headers=staff.headers).json_body["items"]
    assert [(c["id"], c["account_id"], c["reasons"]) for c in queue] == [(campaign["id"], person.account_id, ["trial"])]

    approved = api_call(client, "POST", f"/v1/admin/campaigns/{campaign['id']}/approve", headers=staff.headers)

    assert approved.status_code == 200 and approved.json_body["campaign"]["status"] == "sending"
    assert [m["campaign_id"] for m in fanout_messages()] == [campaign["id"]]
    assert Usage.get(person.account_id, "trial").emails == 2
    assert api_call(client, "GET", "/v1/admin/reviews", headers=staff.headers).json_body["items"] == []
    [record] = staff_audit(person, "approve_campaign")
    assert record.actor_id == staff.user_id and record.result == "ok"
    assert staff_audit(person, "list_reviews")


def test_given_prohibited_content_when_sent_then_held_with_the_matches_and_rejection_returns_a_draft(
        client, tenant, staff):
    person = tenant(plan="free")
    campaign = draft(client, person, audience(client, person)["id"], html=CASINO)

    held = send(client, person, campaign["id"]).json_body["campaign"]

    assert held["status"] == "in_review" and held["review"]["reasons"] == ["content"]
    assert any(m["category"] == "gambling" for m in held["review"]["matches"])
    [queued] = api_call(client, "GET", "/v1/admin/reviews", headers=staff.headers).json_body["items"]
    assert any(m["category"] == "gambling" for m in queued["matches"])

    rejected = api_call(client, "POST", f"/v1/admin/campaigns/{campaign['id']}/reject",
                        {"reason": "Gambling is not allowed (terms, prohibited content)."}, headers=staff.headers)

    assert rejected.status_code == 200
    after = rejected.json_body["campaign"]
    assert after["status"] == "draft" and after["status_reason"].startswith("Gambling")
    assert fanout_messages() == []
    assert staff_audit(person, "reject_campaign")[0].details.as_dict()["campaign_id"] == campaign["id"]


def test_given_a_held_trial_campaign_when_the_trial_allowance_is_gone_at_approval_then_422_and_draft(
        client, tenant, staff):
    person = tenant()
    campaign = draft(client, person, audience(client, person, members=2)["id"])
    send(client, person, campaign["id"])
    Usage(person.account_id, "trial", emails=99).save()

    answer = api_call(client, "POST", f"/v1/admin/campaigns/{campaign['id']}/approve", headers=staff.headers)

    assert answer.status_code == 422 and answer.json_body["error"]["code"] == "trial_limit"
    after = api_call(client, "GET", f"/v1/campaigns/{campaign['id']}", headers=person.headers).json_body["campaign"]
    assert after["status"] == "draft" and "100 emails" in after["status_reason"]
    assert staff_audit(person, "approve_campaign")[0].result == "refused"


def test_given_a_held_trial_campaign_with_a_schedule_when_approved_then_scheduled(client, tenant, staff):
    from datetime import timedelta

    from chalicelib import clock

    person = tenant()
    campaign = draft(client, person, audience(client, person)["id"])
    send(client, person, campaign["id"], {"scheduled_at": clock.iso(clock.now() + timedelta(days=1))})

    approved = api_call(client, "POST", f"/v1/admin/campaigns/{campaign['id']}/approve", headers=staff.headers)

    assert approved.json_body["campaign"]["status"] == "scheduled"


def test_given_a_customer_then_the_review_routes_are_403_and_unknown_campaigns_404(client, tenant, staff):
    person = tenant()
    campaign = draft(client, person, audience(client, person)["id"])

    assert api_call(client, "GET", "/v1/admin/reviews", headers=person.headers).status_code == 403
    assert api_call(client, "POST", f"/v1/admin/campaigns/{campaign['id']}/approve",
                    headers=person.headers).status_code == 403
    assert api_call(client, "POST", f"/v1/admin/campaigns/{campaign['id']}/approve",
                    headers=staff.headers).status_code == 404   # a draft is not waiting for review
