"""The emulator's SES gives each domain its three Easy DKIM tokens, as SES does, and keeps them."""
from __future__ import annotations

import re

import boto3
import pytest

from local.emulator import Emulator
from local.launcher import free_ports

TOKEN = re.compile(r"^[a-z2-7]{32}$")


@pytest.fixture(scope="module")
def sesv2():
    (port,) = free_ports(1)
    emulator = Emulator("127.0.0.1", port)
    emulator.start()
    yield boto3.client("sesv2", endpoint_url=emulator.url, region_name="eu-west-1", aws_access_key_id="local",
                       aws_secret_access_key="local")
    emulator.stop()


def test_a_domain_gets_three_tokens_of_ses_form_and_keeps_them(sesv2):
    # When two domains are created as the service creates them (Easy DKIM, 2048-bit)
    created = [sesv2.create_email_identity(EmailIdentity=name,
                                           DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"})
               for name in ("news.dkim-one.eu", "news.dkim-two.eu")]

    # Then each answer carries three distinct tokens of SES's form, and SES answers the same ones later
    tokens = [answer["DkimAttributes"]["Tokens"] for answer in created]
    assert all(len(set(t)) == 3 and all(TOKEN.match(token) for token in t) for t in tokens)
    assert not set(tokens[0]) & set(tokens[1])
    assert sesv2.get_email_identity(EmailIdentity="news.dkim-one.eu")["DkimAttributes"]["Tokens"] == tokens[0]


def test_an_address_and_a_domain_with_its_own_key_get_none(sesv2):
    address = sesv2.create_email_identity(EmailIdentity="ada@dkim-three.eu")
    own_key = sesv2.create_email_identity(EmailIdentity="own-key.eu", DkimSigningAttributes={
        "DomainSigningSelector": "sel", "DomainSigningPrivateKey": "a2V5"})

    assert "Tokens" not in address["DkimAttributes"]
    assert "Tokens" not in own_key["DkimAttributes"]
