"""Settings: the service runs only in the EU/EEA (R31) and only with a real secret."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.config import EU_REGIONS, SettingsError, load, parse_keys

SECRET = "s" * 32
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("region", sorted(EU_REGIONS))
def test_every_eu_region_is_accepted(region):
    assert load({"AWS_REGION": region, "MAILROOM_SECRET_KEY": SECRET}).region == region


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-2", "eu-central-2", "ap-southeast-1"])
def test_a_region_outside_the_eu_or_eea_is_refused_with_the_reason(region):
    # eu-west-2 (London) and eu-central-2 (Zurich) are outside the EU/EEA
    with pytest.raises(SettingsError, match=f"Region {region} is outside the EU/EEA"):
        load({"AWS_REGION": region, "MAILROOM_SECRET_KEY": SECRET})


def test_a_non_production_stage_may_override_the_region_and_production_may_not():
    override = {"AWS_REGION": "us-east-1", "MAILROOM_SECRET_KEY": SECRET, "MAILROOM_ALLOW_NON_EU_REGION": "1"}
    assert load({**override, "MAILROOM_STAGE": "dev"}).region == "us-east-1"
    with pytest.raises(SettingsError):
        load({**override, "MAILROOM_STAGE": "prod"})


def test_the_link_distributions_token_is_read_when_the_stage_has_one():
    # Given the environment a deployed API function gets, and the local runtime's (no distribution)
    deployed = {"AWS_REGION": "eu-west-1", "MAILROOM_SECRET_KEY": SECRET, "MAILROOM_DISTRIBUTION_TOKEN": "t" * 48}
    local = {"AWS_REGION": "eu-west-1", "MAILROOM_SECRET_KEY": SECRET}

    # Then the deployed settings hold the token, and the local ones none (viewer headers are read as they come)
    assert load(deployed).distribution_token == "t" * 48
    assert load(local).distribution_token is None
    assert load({**local, "MAILROOM_DISTRIBUTION_TOKEN": ""}).distribution_token is None


def test_a_short_secret_is_refused():
    with pytest.raises(SettingsError, match="MAILROOM_SECRET_KEY"):
        load({"AWS_REGION": "eu-west-1", "MAILROOM_SECRET_KEY": "short"})


def test_without_a_secret_the_service_does_not_start_and_says_what_to_set():
    with pytest.raises(SettingsError, match="MAILROOM_SECRET_NAME"):
        load({"AWS_REGION": "eu-west-1"})
    # the secret's name is enough: the keys are read from Secrets Manager at run time, not from the environment
    assert load({"AWS_REGION": "eu-west-1", "MAILROOM_SECRET_NAME": "mailroom/dev/secret-key"}).local_keys is None


def test_a_production_stage_never_takes_its_keys_from_the_environment():
    with pytest.raises(SettingsError, match="production stage reads its keys from the secret"):
        load({"AWS_REGION": "eu-west-1", "MAILROOM_STAGE": "prod", "MAILROOM_SECRET_KEY": SECRET,
              "MAILROOM_SECRET_NAME": "mailroom/prod/secret-key"})


def test_a_secret_of_one_string_is_the_first_signing_key_and_the_hash_key():
    keys = parse_keys(SECRET, "the secret")
    assert keys.signing == (SECRET.encode(),) and keys.hashing == SECRET.encode()


def test_a_rotated_secret_lists_its_signing_keys_newest_first_beside_its_hash_key():
    raw = json.dumps({"signing_keys": ["n" * 32, "o" * 32], "hash_key": "h" * 32})
    keys = parse_keys(raw, "the secret")
    assert keys.signing == (b"n" * 32, b"o" * 32) and keys.hashing == b"h" * 32


@pytest.mark.parametrize("raw", [
    "short",
    "{not json",
    json.dumps({"signing_keys": [], "hash_key": "h" * 32}),            # nothing to sign with
    json.dumps({"signing_keys": ["n" * 32, "short"], "hash_key": "h" * 32}),
    json.dumps({"signing_keys": "n" * 32, "hash_key": "h" * 32}),       # not a list
    json.dumps({"signing_keys": ["n" * 32]}),                           # no hash key: hashes would change
    json.dumps({"signing_keys": ["n" * 32], "hash_key": "h" * 31}),
    json.dumps({"signing_keys": ["n" * 32], "hash_key": "h" * 32, "signing_key": "x" * 32}),   # a typo
])
def test_a_secret_without_valid_keys_is_refused_without_showing_them(raw):
    with pytest.raises(SettingsError) as refused:
        parse_keys(raw, "The secret mailroom/dev/secret-key")
    assert "mailroom/dev/secret-key" in str(refused.value)
    assert "n" * 32 not in str(refused.value) and "h" * 31 not in str(refused.value)


def _import_app_in_lambda(region: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAILROOM_"))}
    environment.update({"AWS_LAMBDA_FUNCTION_NAME": "mailroom-dev-api", "AWS_REGION": region,
                        "MAILROOM_SECRET_KEY": SECRET})
    return subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=120)


def test_the_lambda_refuses_to_start_outside_the_eu_and_starts_inside():
    refused = _import_app_in_lambda("us-east-1")
    assert refused.returncode != 0
    assert "Region us-east-1 is outside the EU/EEA" in refused.stderr
    assert _import_app_in_lambda("eu-central-1").returncode == 0


def test_a_closed_accounts_grace_is_30_days_and_at_most_60_so_data_goes_within_3_months():
    base = {"AWS_REGION": "eu-west-1", "MAILROOM_SECRET_KEY": SECRET}
    assert load(base).closed_account_grace_days == 30
    assert load({**base, "MAILROOM_CLOSED_ACCOUNT_GRACE_DAYS": "14"}).closed_account_grace_days == 14
    for bad in ("0", "61", "thirty", "-5"):
        with pytest.raises(SettingsError, match="MAILROOM_CLOSED_ACCOUNT_GRACE_DAYS"):
            load({**base, "MAILROOM_CLOSED_ACCOUNT_GRACE_DAYS": bad})
