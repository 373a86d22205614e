"""The keys as the functions get them in AWS: from the stage's Secrets Manager secret (made by provisioning from the
one infra definition), read at run time through Powertools Parameters, cached, and rotated by the operator without
breaking the links already sent."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import aws, config
from chalicelib.config import SettingsError, get_settings
from chalicelib.services.audience import links, subscribers
from infra import definition, keys
from tests.integration.conftest import api_call
from tests.integration.listing import make_list, path_of, subscribe

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NEW_KEY = "a-signing-key-the-operator-added-0123456789-abcdefghijklmnopqrstuvwxyz"


@dataclass
class Secret:
    name: str
    first_value: str
    reads: list[str]   # one entry per GetSecretValue call the service made

    def put(self, value: str) -> None:
        config.secret_store().client.put_secret_value(SecretId=self.name, SecretString=value)


def fresh_settings() -> None:
    """Read the settings again from the environment now, outside any call of Chalice's test client: during one
    its os.environ is a copy with the chalice stage's variables (MAILROOM_STAGE "dev"), and settings first read
    there would name another stage's tables for the rest of the worker's tests."""
    get_settings.cache_clear()
    get_settings()


@pytest.fixture
def secret(moto_env) -> Iterator[Secret]:
    """The service configured as in AWS: only the secret's name in its environment, the keys read at run time."""
    name = definition.SECRET_NAME.format(stage=get_settings().stage)
    first_value = aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    # Its own MonkeyPatch: undoing it undoes only this environment, not what other fixtures patched for the test.
    environment = pytest.MonkeyPatch()
    environment.delenv("MAILROOM_SECRET_KEY")
    environment.setenv("MAILROOM_SECRET_NAME", name)
    try:
        fresh_settings()
        config.secret_store.cache_clear()
        client = config.secret_store().client
        reads: list[str] = []
        client.meta.events.register("before-parameter-build.secrets-manager.GetSecretValue",
                                    lambda **kwargs: reads.append(kwargs["params"]["SecretId"]))
        yield Secret(name, first_value, reads)
    finally:   # the settings of every later test on this worker are the environment's again
        environment.undo()
        fresh_settings()
        aws.client("secretsmanager").put_secret_value(SecretId=name, SecretString=first_value)
        config.secret_store.cache_clear()


def test_the_keys_are_read_once_and_not_on_every_request(client, tenant, secret):
    # Given an account with a list, whose links the service signs and verifies with the secret's keys
    owner = tenant()
    contact_list = make_list(client, owner)
    form = path_of(links.form_url(owner.account_id, contact_list["id"]))

    # When 30 requests sign and verify (the hosted form: its token verified, a stamp signed; a subscriber added;
    # an unsubscribe page)
    for n in range(10):
        assert client.http.get(form).status_code == 200
        member = subscribe(client, owner, contact_list["id"], f"reader{n}@example.org")
        assert client.http.get(path_of(member["unsubscribe_url"])).status_code == 200

    # Then Secrets Manager was asked once, by the first request that needed a key
    assert secret.reads == [secret.name]


def test_a_rotated_key_is_picked_up_after_the_cache_ages_and_links_sent_before_keep_working(
        client, tenant, secret, monkeypatch):
    monkeypatch.setattr(config, "SECRET_MAX_AGE_SECONDS", 1)
    # Given a subscriber whose unsubscribe link went out while the secret held its first key
    owner = tenant()
    contact_list = make_list(client, owner, double_opt_in=False)
    member = subscribe(client, owner, contact_list["id"], "ada@example.org")
    sent_before = path_of(member["unsubscribe_url"])

    # When the operator adds a new signing key first and keeps the old one (the hash key stays the first value)
    secret.put(json.dumps({"signing_keys": [NEW_KEY, secret.first_value], "hash_key": secret.first_value}))

    # Then, once the cached keys are older than their max age, new links are signed with the new key
    deadline = time.monotonic() + 30
    while links.unsubscribe_url(owner.account_id, contact_list["id"], member["id"]) == member["unsubscribe_url"]:
        assert time.monotonic() < deadline, "the new signing key was never used"
        time.sleep(0.1)
    assert len(secret.reads) >= 2
    # And the link sent before the rotation still unsubscribes
    answer = client.http.post(sent_before, headers=FORM, body="List-Unsubscribe=One-Click")
    assert answer.status_code == 200
    shown = api_call(client, "GET", f"/v1/lists/{contact_list['id']}/subscribers/{member['id']}",
                     headers=owner.headers).json_body["subscriber"]
    assert shown["status"] == "unsubscribed"
    # And the same address still has the same id in the list: the hash key did not change
    assert subscribers.subscriber_id_for(owner.account_id, contact_list["id"], "ada@example.org") == member["id"]


@pytest.mark.parametrize("value, reason", [
    ("short", "at least 32 bytes"),
    (json.dumps({"signing_keys": [NEW_KEY]}), "hash_key"),
    (json.dumps({"signing_keys": [], "hash_key": NEW_KEY}), "signing keys"),
])
def test_a_function_refuses_to_start_with_an_invalid_secret(secret, monkeypatch, value, reason):
    # Given a function in Lambda whose secret holds no valid keys
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "mailroom-test-APIHandler")
    secret.put(value)

    # When it starts, Then it refuses, naming the secret and what is wrong with it, never a key
    with pytest.raises(SettingsError, match=reason) as refused:
        config.check_at_start()
    assert secret.name in str(refused.value) and NEW_KEY not in str(refused.value)


def test_a_function_refuses_to_start_when_its_secret_is_missing(secret, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "mailroom-test-APIHandler")
    monkeypatch.setenv("MAILROOM_SECRET_NAME", "mailroom/test/no-such-secret")
    get_settings.cache_clear()

    with pytest.raises(SettingsError, match="mailroom/test/no-such-secret cannot be read"):
        config.check_at_start()


def test_a_function_starts_with_the_secret_provisioning_made(secret, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "mailroom-test-APIHandler")
    config.check_at_start()
    assert secret.reads == [secret.name]


def test_the_operators_rotation_steps_keep_every_link_and_hash(client, tenant, secret, monkeypatch, capsys):
    monkeypatch.setattr(config, "SECRET_MAX_AGE_SECONDS", 0)   # each request reads the secret: no waiting here
    sm = config.secret_store().client
    # Given a subscriber, their unsubscribe link, and the secret as the stack made it (one string)
    owner = tenant()
    contact_list = make_list(client, owner, double_opt_in=False)
    member = subscribe(client, owner, contact_list["id"], "ada@example.org")
    first_link = member["unsubscribe_url"]

    # When the operator adds a key: links are still signed with the current one (not every function has the new)
    assert keys.main(["add", "--stage", "test", "--region", "eu-west-1"], client=sm) == 0
    assert links.unsubscribe_url(owner.account_id, contact_list["id"], member["id"]) == first_link
    # And promoting it at once is refused, since functions may still hold the keys they read before
    assert keys.main(["promote", "--stage", "test", "--region", "eu-west-1"], client=sm) == 1
    assert "Promote in" in capsys.readouterr().err
    # But 10 minutes later it is promoted, and new links are signed with it
    later = datetime.now(UTC) + keys.PROMOTE_AFTER + timedelta(seconds=1)
    keys.rotate(sm, secret.name, "promote", later)
    promoted_link = links.unsubscribe_url(owner.account_id, contact_list["id"], member["id"])
    assert promoted_link != first_link

    # Then both links work, and the address keeps its id in the list
    for link in (first_link, promoted_link):
        assert client.http.get(path_of(link)).status_code == 200
    assert subscribers.subscriber_id_for(owner.account_id, contact_list["id"], "ada@example.org") == member["id"]

    # And retiring the oldest key breaks only the links it signed
    assert keys.main(["retire", "--stage", "test", "--region", "eu-west-1"], client=sm) == 0
    assert client.http.get(path_of(first_link)).status_code == 404
    assert client.http.get(path_of(promoted_link)).status_code == 200
    assert subscribers.subscriber_id_for(owner.account_id, contact_list["id"], "ada@example.org") == member["id"]
    # And nothing the tool printed holds a key
    shown = capsys.readouterr().out
    assert secret.first_value not in shown and "signing key" in shown
