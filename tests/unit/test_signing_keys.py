"""The service's keys in use: links are signed with the newest signing key and verified with every one, so the key
rotates without breaking links in mail already sent; links made before the key list still work; forgeries do not;
and the keyed hashes that find an address (erasures, suppressions, subscriber ids) never change."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import pytest

from chalicelib import security
from chalicelib.config import get_settings
from chalicelib.rendering import tracking
from chalicelib.services.audience import links

# A stage's secret before the key list: one string that signed every link and keyed every hash.
LEGACY = "legacy-secret-of-a-stage-deployed-before-the-key-list-0123"
NEW = "a-new-signing-key-the-operator-added-when-rotating-0123456789"
ACCOUNT, CAMPAIGN, LIST, SUBSCRIBER = ("acc_01jd0c5v6k9x8h2m3n4p5q6r7s", "cmp_01jd0c5v6k9x8h2m3n4p5q6r7t",
                                       "lst_01jd0c5v6k9x8h2m3n4p5q6r7u", "sub_3f2a9c4e1b7d8a6f5e4c3b2a19")

# Made by the code of commit 31ccbfd with LEGACY as MAILROOM_SECRET_KEY: links in mail already sent.
SENT_CLICK = ("/c/.eJyLVkpMTo43MMxKMUg2LTPLtqywyDDKNc4zKTAtNCsyL1bSUUrOLcCtoASooLg0Kd44zSjRMtkk1TDJPMUi0SzNNNUk2TjJKNHQ"
              "UknHPBYAZacfDA.axGqgQ.0xeWReu88jXzseyVeypLMKi4f0o")
SENT_OPEN = ("/o/.eJyLVkpMTo43MMxKMUg2LTPLtqywyDDKNc4zKTAtNCsyL1bSUUrOLcCtoASooLg0Kd44zSjRMtkk1TDJPMUi0SzNNNUk2TjJKNHQ"
             "UikW"
             "ACgdHqk.axGqgQ.YNB8DYACx852McJY8PipBFO4Z5A.gif")
SENT_UNSUBSCRIBE = ("/unsubscribe/.eJx1zEsKgCAUAMC7uG7h_3OWiNCnEpVhqdHx8wLuh5mRBVgx2T0G8crDfHqjiV08i1s-qqAJnaWOQeugNLey"
                    "SK0BHohTXlsZReDAHLXEdAApj4eKlh_PtSkI.axGqgQ.5fhp2-2xw8Vcw7gpV0OZw1wjVwY")
SENT_PREFERENCES = ("/preferences/.eJx1zEsKgCAUAMC7uG7h_3OWiNCnEpVhqdHx8wLuh5mRBVgx2T0G8crDfHqjiV08i1s-qqAJnaWOQeugNLey"
                    "SK0BHohTXlsZReDAHLXEdAApj4eKlh_PtSkI.axGqgQ.IVvHqg-vsnDaxIF21xUn0jm6Vcs")
SENT_LIST_UNSUBSCRIBE = ("/unsubscribe/.eJyLVkpMTo43MMxKMUg2LTPLtqywyDDKNc4zKTAtNCsyL1bSUcopLsGtoBSooLg0Kd44zSjRMtkk1T"
                         "DJPMUi0SzNNNUk2TjJKNHQUikWAC0GHr0.axGqgQ.WrLAs_JS0ylQ7E1mduY1qcmWGAk")
PUBLISHED_FORM = "/f/.eJyLVkpMTo43MMxKMUg2LTPLtqywyDDKNc4zKTAtNCsyL1bSUcopLsGtoFQpFgDM2BUd.xvYYEzin_SWjwn3LtJUUAvmeupE"
# And the keyed hashes it stored.
STORED_EMAIL_KEY = "db86c9d08857be3914abf1bcffdbe818feaaf25219b7c462f1ed6403ef4319f9"
STORED_SUBSCRIBER_HASH = "00c2e9d1fdd9131615caca8cfb92f1d7af9b97b90dcd3c545c391cc060e3e8e7"
EMBED_STAMP = "embed-fdf5de2c6e5eba58cb7c0806b04a47cd2d4d7b53a73664c59d6ca81b3e77a309"


@pytest.fixture
def secret(monkeypatch) -> Iterator[Callable[[str], None]]:
    """Set the secret's value (as MAILROOM_SECRET_KEY holds it in tests: the same format as the secret's)."""
    def use(value: str) -> None:
        monkeypatch.setenv("MAILROOM_SECRET_KEY", value)
        get_settings.cache_clear()

    yield use
    monkeypatch.undo()
    get_settings.cache_clear()


def rotated(*signing: str, hash_key: str = LEGACY) -> str:
    return json.dumps({"signing_keys": list(signing), "hash_key": hash_key})


def token_of(url: str) -> str:
    return urlparse(url).path.rsplit("/", 1)[1]


def read_all(paths: dict[str, str]) -> dict[str, object]:
    readers = {"/c/": tracking.verify_click, "/o/": tracking.verify_open, "/unsubscribe/": links.read_unsubscribe,
               "/preferences/": links.read_preferences, "/f/": links.read_form, "/confirm/": links.read_confirm}
    return {kind: next(read(token_of(path)) for start, read in readers.items() if path.startswith(start))
            for kind, path in paths.items()}


def links_of_one_email() -> dict[str, str]:
    return {
        "click": urlparse(tracking.click_url(ACCOUNT, CAMPAIGN, SUBSCRIBER, 7)).path,
        "open": urlparse(tracking.open_url(ACCOUNT, CAMPAIGN, SUBSCRIBER)).path,
        "unsubscribe": urlparse(tracking.unsubscribe_url(ACCOUNT, LIST, SUBSCRIBER, CAMPAIGN)).path,
        "preferences": urlparse(tracking.preferences_url(ACCOUNT, LIST, SUBSCRIBER, CAMPAIGN)).path,
        "list unsubscribe": urlparse(links.unsubscribe_url(ACCOUNT, LIST, SUBSCRIBER)).path,
        "confirm": urlparse(links.confirm_url(ACCOUNT, LIST, SUBSCRIBER)).path,
        "form": urlparse(links.form_url(ACCOUNT, LIST)).path,
    }


WHAT_THEY_NAME = {
    "click": (ACCOUNT, CAMPAIGN, SUBSCRIBER, 7),
    "open": (ACCOUNT, CAMPAIGN, SUBSCRIBER),
    "unsubscribe": links.SubscriberRef(ACCOUNT, LIST, SUBSCRIBER, CAMPAIGN),
    "preferences": links.SubscriberRef(ACCOUNT, LIST, SUBSCRIBER, CAMPAIGN),
    "list unsubscribe": links.SubscriberRef(ACCOUNT, LIST, SUBSCRIBER),
    "confirm": links.SubscriberRef(ACCOUNT, LIST, SUBSCRIBER),
    "form": links.ListRef(ACCOUNT, LIST),
}
SENT_BEFORE_THE_KEY_LIST = {"click": SENT_CLICK, "open": SENT_OPEN, "unsubscribe": SENT_UNSUBSCRIBE,
                            "preferences": SENT_PREFERENCES, "list unsubscribe": SENT_LIST_UNSUBSCRIBE,
                            "form": PUBLISHED_FORM}


@pytest.mark.parametrize("value", [LEGACY, rotated(NEW, LEGACY)], ids=["same secret", "after rotation"])
def test_links_in_mail_sent_before_the_key_list_still_work(secret, value):
    # Given links made by the earlier signer (itsdangerous) with a stage's one secret, in mail already sent
    # When they are followed with the same secret, or after the signing key was rotated with the old key kept
    secret(value)

    # Then each names what it named when it was sent
    assert read_all(SENT_BEFORE_THE_KEY_LIST) == {k: WHAT_THEY_NAME[k] for k in SENT_BEFORE_THE_KEY_LIST}


def test_a_link_signed_with_the_old_key_works_after_rotation_and_new_links_use_the_new_key(secret):
    # Given an email's links, signed while the secret held one key
    secret(LEGACY)
    before = links_of_one_email()
    assert read_all(before) == WHAT_THEY_NAME

    # When the operator puts a new signing key first and keeps the old one
    secret(rotated(NEW, LEGACY))
    after = links_of_one_email()

    # Then the links already sent still work, and new links are signed with the new key
    assert read_all(before) == WHAT_THEY_NAME
    assert read_all(after) == WHAT_THEY_NAME
    assert all(before[kind] != after[kind] for kind in before)

    # And once the old key is dropped, only its links stop working
    secret(rotated(NEW))
    assert read_all(after) == WHAT_THEY_NAME
    assert all(value is None for value in read_all(before).values())


def test_a_key_added_second_verifies_before_it_signs(secret):
    # Given the first step of a rotation: the new key listed after the one that signs
    secret(rotated(LEGACY, NEW))
    made_during_the_first_step = links_of_one_email()

    # Then links are still signed with the old key (functions that have not read the new list yet verify them)
    secret(LEGACY)
    assert read_all(made_during_the_first_step) == WHAT_THEY_NAME

    # And links signed with the new key (by a function that already promoted it) verify during the first step
    secret(rotated(NEW, LEGACY))
    promoted = links_of_one_email()
    secret(rotated(LEGACY, NEW))
    assert read_all(promoted) == WHAT_THEY_NAME


def altered(token: str) -> list[str]:
    version, *ids, mac = token.split(".")
    other_mac = ("A" if mac[0] != "A" else "B") + mac[1:]
    return [
        ".".join([version, *ids, other_mac]),                        # another signature
        ".".join([version, *ids[:-1], ids[-1] + "1", mac]),          # another id, the same signature
        ".".join([version, *ids[:2], "sub_someone_else", *ids[3:], mac]),
        ".".join([version, *ids[:-1], mac]),                         # an id dropped
        ".".join([version, *ids]),                                   # no signature
        ".".join(["3", *ids, mac]),                                  # another version
        token + "x", token[:-1],
    ]


def test_a_forged_or_altered_link_reads_as_nothing(secret):
    secret(LEGACY)
    click = token_of(tracking.click_url(ACCOUNT, CAMPAIGN, SUBSCRIBER, 7))
    unsubscribe = token_of(links.unsubscribe_url(ACCOUNT, LIST, SUBSCRIBER))
    for token in altered(click):
        assert tracking.verify_click(token) is None, token
    for token in altered(unsubscribe):
        assert links.read_unsubscribe(token) is None, token

    # A token for one purpose does not serve another, even with the same ids
    open_token = token_of(tracking.open_url(ACCOUNT, CAMPAIGN, SUBSCRIBER)).removesuffix(".gif")
    assert tracking.verify_click(open_token + ".7") is None
    assert links.read_preferences(unsubscribe) is None
    assert tracking.verify_open(click) is None

    # A token signed with a key the secret does not hold is refused, new format or earlier
    secret(NEW)
    assert tracking.verify_click(click) is None and links.read_unsubscribe(unsubscribe) is None
    assert all(value is None for value in read_all(SENT_BEFORE_THE_KEY_LIST).values())


@pytest.mark.parametrize("token", ["2", "2.", "2..", "2.acc_1", "2.acc 1.cmp_1.sub_1.7.AAAAAAAAAAAAAAAAAAAAAA",
                                   "2.acc_1.cmp_1.sub_1.-7.AAAAAAAAAAAAAAAAAAAAAA", "2.%00.x", "2.é.x", ".", "..."])
def test_a_malformed_link_reads_as_nothing(secret, token):
    secret(LEGACY)
    assert tracking.verify_click(token) is None
    assert tracking.verify_open(token) is None
    assert links.read_unsubscribe(token) is None


def test_links_carry_ids_only_and_are_shorter_than_before(secret):
    secret(LEGACY)
    click = token_of(tracking.click_url(ACCOUNT, CAMPAIGN, SUBSCRIBER, 7))
    assert click.split(".")[1:5] == [ACCOUNT, CAMPAIGN, SUBSCRIBER, "7"]
    assert "@" not in click and "http" not in click
    assert len(click) < len(token_of(SENT_CLICK))


def test_a_link_cannot_be_made_for_an_id_that_would_read_back_as_another(secret):
    secret(LEGACY)
    signer = security.link_signer("click")
    for ids in (["acc.1", "cmp_1"], ["acc_1", ""], ["acc_1", "a/b"], ["acc_1", "a b"]):
        with pytest.raises(ValueError):
            signer.sign(ids)


@pytest.mark.parametrize("value", [LEGACY, rotated(NEW, LEGACY), rotated(NEW)], ids=["one string", "rotated",
                                                                                     "old key dropped"])
def test_keyed_hashes_never_change_when_the_signing_key_rotates(secret, value):
    # Given hashes stored while the secret was one string (an erased address's suppression, a subscriber's id)
    # When the signing key rotates, even once the old signing key is gone, the hash key staying as it was
    secret(value)

    # Then the same address gives the same hashes, so erasures and suppressions still match
    assert security.keyed_hash("email", "reader@example.com") == STORED_EMAIL_KEY
    assert security.keyed_hash("subscriber", "acc_1", "lst_1", "reader@example.com") == STORED_SUBSCRIBER_HASH
    assert links.embed_stamp(ACCOUNT, LIST) == EMBED_STAMP   # the embedded form pasted into customers' sites


def test_the_hash_key_is_not_a_signing_key(secret):
    # Given a stage whose hash key is its own (not its first signing key)
    secret(rotated(NEW, hash_key="h" * 40))
    # Then hashes come from the hash key alone, and links from the signing keys alone
    assert security.keyed_hash("email", "reader@example.com") != STORED_EMAIL_KEY
    hashed = security.keyed_hash("email", "reader@example.com")
    secret(rotated(LEGACY, hash_key="h" * 40))
    assert security.keyed_hash("email", "reader@example.com") == hashed
