"""The scheduled purges (R4, R30, R33), driven through time with an injected clock: closed accounts past their
grace period and accounts nobody used for two years lose every item of every table, their SES identities and
their export files, even when a run is cut short; and every retention schedule runs its rule."""
from __future__ import annotations

import io
from datetime import timedelta

from chalicelib import aws, clock
from chalicelib.config import get_settings
from chalicelib.models import accounts as account_store
from chalicelib.models import reputation
from chalicelib.models import retention as retention_store
from chalicelib.models.accounts import Account
from chalicelib.models.base import all_models
from chalicelib.models.deliveries import Delivery, DeliveryState
from chalicelib.models.deliveries import campaign_key as ledger_key
from chalicelib.models.events import Event, EventKind
from chalicelib.models.events import campaign_key as events_key
from chalicelib.models.reputation import ReputationDay
from chalicelib.models.usage import Usage
from chalicelib.services.accounts.plans import AccountStatus
from chalicelib.services.retention import account_purge, catch_up, expiries, inactivity
from infra.definition import TABLES
from tests.integration.campaigning import add_domain, draft
from tests.integration.colleagues import colleague, invite
from tests.integration.conftest import api_call, sign_in, signup_body
from tests.integration.listing import make_list, subscribe
from tests.integration.mailbox import messages_to
from tests.integration.privacy_world import item_text
from tests.integration.retention_budget import DAY, PLENTY, cut_after

FIRST_NAME = [{"key": "first_name", "label": "First name"}]


def items_of(*needles: str) -> dict[str, list[str]]:
    """Every stored item, table by table, that names one of `needles` (an account id, an email address)."""
    dynamodb = aws.client("dynamodb")
    found: dict[str, list[str]] = {}
    for logical in TABLES:
        table = get_settings().table_name(logical)
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                text = item_text(item)
                if any(needle in text for needle in needles):
                    found.setdefault(logical, []).append(text)
    return {logical: sorted(texts) for logical, texts in found.items()}


def export_files(prefix: str) -> list[str]:
    from chalicelib import storage

    listed = aws.client("s3").list_objects_v2(Bucket=storage.ExportFiles().bucket, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def seed(client, person, domain: str) -> dict:
    """Data of the account in every kind of table, made the way the service makes it."""
    from chalicelib import storage

    contact_list = make_list(client, person, from_email=f"news@{domain}", fields=FIRST_NAME)
    member = subscribe(client, person, contact_list["id"], f"reader@{domain}")
    subscribe(client, person, contact_list["id"], f"other@{domain}")
    confirming = make_list(client, person, from_email=f"news@{domain}", double_opt_in=True)
    subscribe(client, person, confirming["id"], f"pending@{domain}")
    add_domain(client, person, domain)
    campaign = draft(client, person, contact_list["id"], from_email=f"news@{domain}")
    assert api_call(client, "POST", "/v1/suppressions", {"email": f"gone@{domain}"},
                    headers=person.headers).status_code == 201
    assert api_call(client, "POST", "/v1/api-keys", {"name": "ci"}, headers=person.headers).status_code == 201
    # A colleague, who asked to change their login email, and a pending invitation.
    mate = colleague(client, person, f"mate@{domain}")
    assert api_call(client, "POST", "/v1/account/email", {"email": f"mate-new@{domain}", "password": mate.password},
                    headers=mate.headers).status_code == 202
    assert invite(client, person, f"invitee@{domain}").status_code == 201
    now = clock.now()
    # What the sender and the tracker leave behind for a sent campaign, and the quota it used.
    Delivery(ledger_key(person.account_id, campaign["id"]), member["id"], state=DeliveryState.SENT.value,
             claimed_at=now, sent_at=now, expires_at=now + 400 * DAY).save()
    Event(events_key(person.account_id, campaign["id"]), f"{clock.iso(now)}#1", kind=EventKind.OPEN.value,
          subscriber_id=member["id"], at=now, expires_at=now + 396 * DAY).save()
    Usage(person.account_id, "trial", emails=2, updated_at=now).save()
    # What the reputation guard keeps: the day's SES report counts, and a hold.
    today = now.date().isoformat()
    ReputationDay(today, person.account_id, delivered=1, updated_at=now, expires_at=reputation.expiry_of(today)).save()
    ReputationDay(reputation.HOLD, person.account_id, updated_at=now).save()
    storage.ExportFiles().upload(f"{person.account_id}/export-1.json", io.BytesIO(b'{"account": "..."}'))
    return {"list_id": contact_list["id"], "campaign_id": campaign["id"], "domain": domain}


def close(person, closed_ago: timedelta = timedelta(0), grace: timedelta = 30 * DAY) -> None:
    """Close the account as POST /v1/account/close leaves it: closed, with the time its data goes."""
    closed_at = clock.now() - closed_ago
    account = account_store.get(person.account_id)
    account_store.change(account, [Account.status.set(AccountStatus.CLOSED.value), Account.closed_at.set(closed_at),
                                   Account.purge_after.set(closed_at + grace)])


def ses_has(domain: str) -> bool:
    from chalicelib import identities

    return identities.domain_state(domain) is not None


# --- every table is covered -------------------------------------------------------------------

def test_the_purge_reaches_every_table_a_model_defines():
    unreached = [model.Meta.logical_name for model in all_models() if account_purge.reach(model) is None]

    assert unreached == [], (
        f"{unreached}: the purge cannot find an account's items there. Key the table by account_id, "
        "list_key or campaign_key, or give it a step in services/retention/account_purge.py (REACHED_THROUGH), "
        "or say why it holds no account's data (NOT_ACCOUNT_DATA).")


def test_every_table_with_a_ttl_has_a_backstop_and_the_audit_trail_has_none():
    with_ttl = {m.Meta.logical_name for m in all_models() if retention_store.ttl_attribute(m) is not None}
    backstopped = {m.Meta.logical_name for m in expiries.ttl_tables()}

    assert with_ttl <= backstopped
    assert "ttl" not in TABLES["audit"]   # R4: audit records live exactly as long as the account's data


# --- closed accounts --------------------------------------------------------------------------

def test_a_closed_account_within_its_grace_period_is_untouched(client, tenant, travel):
    person = tenant()
    seed(client, person, "closing.example")
    close(person)
    before = items_of(person.account_id, person.email)
    travel(29 * DAY)

    outcome = account_purge.purge_closed_accounts(PLENTY)

    assert outcome.done and outcome.counts["closed_in_grace"] == 1 and not outcome.counts["accounts_purged"]
    assert items_of(person.account_id, person.email) == before
    assert export_files(f"{person.account_id}/") and ses_has("closing.example")


def test_a_closed_account_past_its_grace_is_purged_even_when_cut_short_and_nothing_else_is_touched(
        client, tenant, travel):
    gone, kept = tenant(), tenant()
    seed(client, gone, "gone.example")
    seed(client, kept, "kept.example")
    close(gone)
    untouched = items_of(kept.account_id, kept.email)
    travel(31 * DAY)

    first = account_purge.purge_closed_accounts(cut_after(4))

    # Cut short: marked purging, nobody gets in any more, and the audit trail outlives the rest (R4).
    assert not first.done and first.counts["accounts_unfinished"] == 1
    assert account_store.get(gone.account_id).status == AccountStatus.PURGING.value
    left = items_of(gone.account_id, gone.email)
    assert "audit" in left and "accounts" in left and "credentials" not in left
    assert api_call(client, "GET", "/v1/account", headers=gone.headers).status_code == 401

    second = account_purge.purge_closed_accounts(PLENTY)

    assert second.done and second.counts["accounts_purged"] == 1
    assert items_of(gone.account_id, gone.email) == {}
    assert export_files(f"{gone.account_id}/") == [] and not ses_has("gone.example")
    assert items_of(kept.account_id, kept.email) == untouched
    assert export_files(f"{kept.account_id}/") and ses_has("kept.example")
    assert sign_in(client, kept.email, kept.password)
    # The address is free again: its owner may sign up anew.
    assert api_call(client, "POST", "/v1/signup", signup_body(gone.email)).status_code == 201

    again = account_purge.purge_closed_accounts(PLENTY)

    assert again.done and not again.counts["accounts_purged"] and not again.counts["accounts_unfinished"]


def test_a_purge_cut_short_is_finished_by_the_hourly_catch_up(client, tenant, travel):
    person = tenant()
    seed(client, person, "later.example")
    close(person)
    travel(31 * DAY)
    assert not account_purge.purge_closed_accounts(cut_after(6)).done

    outcome = catch_up.resume_unfinished(PLENTY, mailer=None)

    assert outcome.done and outcome.counts["accounts_purged"] == 1
    assert items_of(person.account_id, person.email) == {}


# --- accounts nobody signed in to for 2 years --------------------------------------------------

def warnings_to(address: str) -> list:
    return [m for m in messages_to(address) if "will be deleted" in str(m["Subject"])]


def test_an_unused_account_is_warned_once_30_days_ahead_then_purged(client, tenant, travel):
    from chalicelib import ses

    idle, busy = tenant(), tenant()
    seed(client, idle, "idle.example")
    travel(701 * DAY)
    sign_in(client, busy.email, busy.password)

    first = inactivity.purge_inactive_accounts(PLENTY, ses.mailer())
    second = inactivity.purge_inactive_accounts(PLENTY, ses.mailer())

    assert first.counts["warnings_sent"] == 1 and not second.counts["warnings_sent"]
    assert len(warnings_to(idle.email)) == 1 and warnings_to(busy.email) == []
    assert "sign in" in warnings_to(idle.email)[0].get_body(preferencelist=("plain",)).get_content()
    travel(720 * DAY)
    assert inactivity.purge_inactive_accounts(PLENTY, ses.mailer()).counts["warned_waiting"] == 1
    assert account_store.get(idle.account_id).status == AccountStatus.ACTIVE.value

    travel(731 * DAY)
    outcome = inactivity.purge_inactive_accounts(PLENTY, ses.mailer())

    assert outcome.done and outcome.counts["accounts_purged"] == 1
    assert items_of(idle.account_id, idle.email) == {} and not ses_has("idle.example")
    assert account_store.get(busy.account_id).status == AccountStatus.ACTIVE.value
    assert len(warnings_to(idle.email)) == 1


def test_a_sign_in_after_the_warning_calls_the_purge_off(client, tenant, travel):
    from chalicelib import ses

    person = tenant()
    travel(701 * DAY)
    inactivity.purge_inactive_accounts(PLENTY, ses.mailer())
    assert account_store.get(person.account_id).inactivity_warned_at is not None
    travel(710 * DAY)
    sign_in(client, person.email, person.password)

    travel(740 * DAY)
    outcome = inactivity.purge_inactive_accounts(PLENTY, ses.mailer())

    assert outcome.counts["warnings_withdrawn"] == 1 and not outcome.counts["accounts_purged"]
    account = account_store.get(person.account_id)
    assert account.status == AccountStatus.ACTIVE.value and account.inactivity_warned_at is None
    assert len(warnings_to(person.email)) == 1


def test_an_account_used_through_its_api_key_is_not_inactive(client, tenant, travel):
    from chalicelib import ses

    person = tenant()
    key = api_call(client, "POST", "/v1/api-keys", {"name": "crm"}, headers=person.headers).json_body["key"]
    travel(701 * DAY)
    inactivity.purge_inactive_accounts(PLENTY, ses.mailer())
    travel(720 * DAY)
    assert api_call(client, "GET", "/v1/lists", headers={"Authorization": f"Bearer {key}"}).status_code == 200

    travel(740 * DAY)
    outcome = inactivity.purge_inactive_accounts(PLENTY, ses.mailer())

    assert not outcome.counts["accounts_purged"]
    assert account_store.get(person.account_id).status == AccountStatus.ACTIVE.value


# --- the schedules ------------------------------------------------------------------------------

SCHEDULES = ("purge_closed_accounts", "purge_inactive_accounts", "expire_credits", "expire_trials",
             "purge_unconfirmed_subscribers", "purge_expired_items", "resume_retention")


def test_every_retention_schedule_runs_its_rule_and_reports_counts(client, tenant, monkeypatch):
    from chalice.local import LambdaContext

    monkeypatch.setattr(LambdaContext, "get_remaining_time_in_millis", lambda self: 60_000)
    person = tenant()
    close(person, closed_ago=40 * DAY)
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])

    answers = {name: client.lambda_.invoke(name, event).payload for name in SCHEDULES}

    assert all(answer["done"] is True for answer in answers.values()), answers
    assert answers["purge_closed_accounts"]["accounts_purged"] == 1
    assert account_store.get(person.account_id) is None
