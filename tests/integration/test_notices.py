"""Subscribe and unsubscribe notifications (R29): a list setting, events noted as they happen, and a schedule
that mails the owner one digest per list with who subscribed and who left since the last one."""
from __future__ import annotations

import pytest
from chalice.local import LambdaContext

from chalicelib import errors, ses
from chalicelib.models import notices as notice_store
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.subscribers import SubscriberStatus
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.services.audience import notices, subscribers, suppressions
from tests.integration.conftest import api_call
from tests.integration.listing import make_list, path_of, subscribe
from tests.integration.mailbox import last_link_to, messages_to, text_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BOTH = {"subscribes": True, "unsubscribes": True}


def run_digests(client) -> dict:
    """The schedule's handler, invoked as Lambda does: a scheduled event and a context with the function's
    30 seconds (the test client's own context allows 3)."""
    from app import app

    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])
    context = LambdaContext("send_notice_digests", memory_size=512, max_runtime_ms=30_000)
    return app.handler_map["send_notice_digests"](event, context)


def digests_to(address: str, list_name: str) -> list[str]:
    """The text of every digest about `list_name` mailed to `address`, oldest first."""
    return [text_of(m) for m in messages_to(address) if str(m["Subject"]).startswith(f"{list_name}:")]


def block(text: str, title: str) -> list[str]:
    """The addresses listed under `title` in a digest."""
    lines = text.splitlines()
    if not any(line.startswith(title) for line in lines):
        return []
    start = next(i for i, line in enumerate(lines) if line.startswith(title)) + 1
    found = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        found.append(line.split()[0])
    return found


@pytest.fixture
def owner(tenant):
    return tenant()


def test_lists_notify_nobody_unless_asked_and_the_setting_can_be_changed(client, owner):
    quiet = make_list(client, owner)
    assert quiet["notify"] == {"subscribes": False, "unsubscribes": False}

    changed = api_call(client, "PATCH", f"/v1/lists/{quiet['id']}", {"notify": {"unsubscribes": True}},
                       headers=owner.headers)
    assert changed.status_code == 200, changed.json_body
    assert changed.json_body["list"]["notify"] == {"subscribes": False, "unsubscribes": True}
    loud = make_list(client, owner, name="Loud", notify=BOTH)
    assert loud["notify"] == BOTH

    wrong = api_call(client, "PATCH", f"/v1/lists/{quiet['id']}", {"notify": {"subscribes": "yes"}},
                     headers=owner.headers)
    unknown = api_call(client, "PATCH", f"/v1/lists/{quiet['id']}", {"notify": {"bounces": True}},
                       headers=owner.headers)
    assert wrong.status_code == 400 and unknown.status_code == 422
    got = api_call(client, "GET", f"/v1/lists/{quiet['id']}", headers=owner.headers).json_body["list"]
    assert got["notify"] == {"subscribes": False, "unsubscribes": True}


def test_the_owner_gets_one_digest_per_list_with_who_subscribed_and_who_left(client, owner):
    # Given a single and a double opt-in list that ask to be told, and one that does not
    news = make_list(client, owner, name="Acme News", notify=BOTH)
    insiders = make_list(client, owner, name="Acme Insiders", double_opt_in=True, notify=BOTH)
    quiet = make_list(client, owner, name="Acme Quiet")

    # When people join, confirm and leave in every way there is
    ada = subscribe(client, owner, news["id"], "ada@readers.example")
    bob = subscribe(client, owner, news["id"], "bob@readers.example")
    subscribe(client, owner, news["id"], "cy@readers.example")
    subscribe(client, owner, quiet["id"], "quiet@readers.example")
    subscribe(client, owner, insiders["id"], "dee@readers.example")            # pending: not yet a subscriber
    subscribe(client, owner, insiders["id"], "eve@readers.example")
    assert client.http.get(path_of(last_link_to("dee@readers.example", "/confirm/"))).status_code == 200
    assert client.http.post(path_of(ada["unsubscribe_url"]), headers=FORM,
                            body="List-Unsubscribe=One-Click").status_code == 200
    left = api_call(client, "POST", f"/v1/lists/{news['id']}/subscribers/{bob['id']}/unsubscribe",
                    headers=owner.headers)
    assert left.status_code == 200
    assert client.http.post(path_of(ada["unsubscribe_url"]), headers=FORM,   # again: nothing new
                            body="List-Unsubscribe=One-Click").status_code == 200
    assert digests_to(owner.email, "Acme News") == []   # nothing is mailed until the schedule runs

    counts = run_digests(client)

    # Then each list that asked gets one digest, with counts and addresses; the quiet list none
    assert counts == {"lists": 2, "digests": 2, "notices": 6, "failed": 0}
    [news_digest] = digests_to(owner.email, "Acme News")
    assert "3 subscribed, 2 unsubscribed" in news_digest
    assert block(news_digest, "New subscribers (3)") == ["ada@readers.example", "bob@readers.example",
                                                          "cy@readers.example"]
    assert block(news_digest, "Unsubscribed (2)") == ["ada@readers.example", "bob@readers.example"]
    [insiders_digest] = digests_to(owner.email, "Acme Insiders")
    assert block(insiders_digest, "New subscribers (1)") == ["dee@readers.example"]
    assert "eve@" not in insiders_digest
    assert digests_to(owner.email, "Acme Quiet") == []

    # and the next run has nothing to tell
    assert run_digests(client) == {"lists": 0, "digests": 0, "notices": 0, "failed": 0}
    assert len(digests_to(owner.email, "Acme News")) == 1

    # until someone else joins: only they are in the next digest
    subscribe(client, owner, news["id"], "fay@readers.example")
    assert run_digests(client)["digests"] == 1
    latest = digests_to(owner.email, "Acme News")[-1]
    assert block(latest, "New subscribers (1)") == ["fay@readers.example"] and "Unsubscribed" not in latest


def test_only_the_kinds_the_list_asks_for_are_told_and_a_notify_email_gets_them(client, owner):
    leavers = make_list(client, owner, name="Leavers only", notify={"unsubscribes": True},
                        notify_email="team@acme.example")
    member = subscribe(client, owner, leavers["id"], "ada@readers.example")
    api_call(client, "POST", f"/v1/lists/{leavers['id']}/subscribers/{member['id']}/unsubscribe",
             headers=owner.headers)

    run_digests(client)

    [digest] = digests_to("team@acme.example", "Leavers only")
    assert block(digest, "Unsubscribed (1)") == ["ada@readers.example"] and "New subscribers" not in digest
    assert digests_to(owner.email, "Leavers only") == []


def test_a_setting_turned_off_before_the_digest_drops_what_was_noted(client, owner):
    news = make_list(client, owner, name="Acme News", notify=BOTH)
    subscribe(client, owner, news["id"], "ada@readers.example")
    api_call(client, "PATCH", f"/v1/lists/{news['id']}", {"notify": {"subscribes": False}}, headers=owner.headers)

    assert run_digests(client) == {"lists": 1, "digests": 0, "notices": 0, "failed": 0}
    assert digests_to(owner.email, "Acme News") == []
    assert run_digests(client)["lists"] == 0


def test_a_complaint_is_told_like_any_unsubscribe_and_a_bounce_is_not_told(client, owner):
    # Given members who joined; then one complains (feedback's doing), one unsubscribes, and one's address bounces
    news = make_list(client, owner, name="Acme News", notify=BOTH)
    angry = subscribe(client, owner, news["id"], "angry@readers.example")
    left = subscribe(client, owner, news["id"], "left@readers.example")
    gone = subscribe(client, owner, news["id"], "gone@readers.example")
    run_digests(client)
    subscribers.unsubscribe_by_complaint(subscriber_store.get(owner.account_id, news["id"], angry["id"]))
    api_call(client, "POST", f"/v1/lists/{news['id']}/subscribers/{left['id']}/unsubscribe", headers=owner.headers)
    suppressions.suppress(owner.account_id, "gone@readers.example", SuppressionReason.BOUNCED)
    stored = subscriber_store.get(owner.account_id, news["id"], gone["id"])
    stored.set_status(SubscriberStatus.BOUNCED)
    stored.save()

    run_digests(client)

    # Then the complainer is told as one more person who left (nothing tells a complaint apart: R23),
    # and the bounced address is not told as someone who left
    digest = digests_to(owner.email, "Acme News")[-1]
    assert block(digest, "Unsubscribed (2)") == ["angry@readers.example", "left@readers.example"]
    assert "gone@" not in digest and "complain" not in digest.lower()


def test_a_digest_ses_refused_is_sent_by_the_next_run(client, owner, monkeypatch):
    news = make_list(client, owner, name="Acme News", notify=BOTH)
    subscribe(client, owner, news["id"], "ada@readers.example")
    real_send = ses.SesMailer.send

    def refused(self, email):
        raise errors.UpstreamError("SES said no")

    monkeypatch.setattr(ses.SesMailer, "send", refused)
    assert run_digests(client) == {"lists": 1, "digests": 0, "notices": 0, "failed": 1}
    assert digests_to(owner.email, "Acme News") == []

    monkeypatch.setattr(ses.SesMailer, "send", real_send)
    assert run_digests(client)["digests"] == 1
    [digest] = digests_to(owner.email, "Acme News")
    assert block(digest, "New subscribers (1)") == ["ada@readers.example"]


def test_a_run_that_stops_after_ses_took_the_digest_is_finished_without_mailing_it_twice(client, owner,
                                                                                        monkeypatch):
    news = make_list(client, owner, name="Acme News", notify=BOTH)
    subscribe(client, owner, news["id"], "ada@readers.example")
    real_finish = notice_store.finish_digest
    calls = []

    def dies_once(key, notice_keys):
        calls.append(key)
        if len(calls) == 1:
            raise RuntimeError("the Lambda ran out of time")
        real_finish(key, notice_keys)

    monkeypatch.setattr(notice_store, "finish_digest", dies_once)
    assert run_digests(client)["failed"] == 1
    assert len(digests_to(owner.email, "Acme News")) == 1

    assert run_digests(client) == {"lists": 1, "digests": 0, "notices": 0, "failed": 0}
    assert run_digests(client)["lists"] == 0
    assert len(digests_to(owner.email, "Acme News")) == 1


def test_erasing_an_address_deletes_its_waiting_notices(client, owner):
    news = make_list(client, owner, name="Acme News", notify=BOTH)
    subscribe(client, owner, news["id"], "ada@readers.example")
    subscribe(client, owner, news["id"], "bob@readers.example")

    assert notices.delete_for_address(suppressions.email_key("ada@readers.example")) == 1
    assert notices.delete_for_address(suppressions.email_key("ada@readers.example")) == 0

    run_digests(client)
    [digest] = digests_to(owner.email, "Acme News")
    assert "ada@" not in digest and block(digest, "New subscribers (1)") == ["bob@readers.example"]


def test_a_deleted_list_has_its_notices_dropped(client, owner):
    news = make_list(client, owner, name="Acme News", notify=BOTH)
    subscribe(client, owner, news["id"], "ada@readers.example")
    assert api_call(client, "DELETE", f"/v1/lists/{news['id']}", headers=owner.headers).status_code == 204

    assert run_digests(client) == {"lists": 1, "digests": 0, "notices": 0, "failed": 0}
    assert list(notice_store.Notice.query(notice_store.list_key(owner.account_id, news["id"]))) == []
