"""The service's settings: read from the environment and validated here, and nowhere else; and its keys, read from its
secret at run time (`keys()`)."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# EU and EEA regions only (R31). London and Zurich are outside the EU/EEA and are not listed.
EU_REGIONS = frozenset({
    "eu-west-1",     # Ireland
    "eu-west-3",     # Paris
    "eu-central-1",  # Frankfurt
    "eu-north-1",    # Stockholm
    "eu-south-1",    # Milan
    "eu-south-2",    # Spain
})
PRODUCTION_STAGES = frozenset({"prod", "production"})
MIN_SECRET_BYTES = 32
# A function reads the keys' secret again after this many seconds (Powertools Parameters' cache), so a signing key
# added to the secret is known everywhere this long after it was added (docs/operations.md, "Rotate the signing key").
SECRET_MAX_AGE_SECONDS = 300
# R30: a closed account's data is deleted at most 3 months after closing. The grace is when the daily purge may
# start; capping it at 60 days leaves a month for a purge that fails and runs again.
CLOSED_ACCOUNT_GRACE_DAYS = 30
MAX_CLOSED_ACCOUNT_GRACE_DAYS = 60


class SettingsError(RuntimeError):
    """The environment does not describe a service that may start."""


@dataclass(frozen=True)
class Keys:
    """The service's keys, read from its secret. The secret's value is either one random string (how a stage starts:
    the first signing key and the hash key at once) or the JSON `{"signing_keys": [newest, ..., oldest], "hash_key":
    ...}`. Every key is at least MIN_SECRET_BYTES bytes."""

    signing: tuple[bytes, ...]   # newest first: the first signs, every one verifies, so a key can rotate
    hashing: bytes               # keys the hashes that find an address again (erasures, suppressions): never rotated


def parse_keys(raw: str, source: str) -> Keys:
    """The keys of a secret's value; SettingsError (naming `source`, never a key) if it holds no valid keys."""
    if not raw.lstrip().startswith("{"):
        return Keys(signing=(_key(raw, source),), hashing=_key(raw, source))
    try:
        value: Any = json.loads(raw)
    except ValueError:
        raise SettingsError(f"{source} starts like JSON but is not JSON.") from None
    signing = value.get("signing_keys")
    if not isinstance(signing, list) or not signing:
        raise SettingsError(f"{source} must list its signing keys, newest first, in \"signing_keys\".")
    if set(value) != {"signing_keys", "hash_key"}:
        raise SettingsError(f"{source} holds \"signing_keys\" and \"hash_key\" and nothing else.")
    return Keys(signing=tuple(_key(key, source) for key in signing), hashing=_key(value["hash_key"], source))


def _key(value: object, source: str) -> bytes:
    if not isinstance(value, str) or len(value.encode()) < MIN_SECRET_BYTES:
        raise SettingsError(f"Every key in {source} must be a string of at least {MIN_SECRET_BYTES} bytes of random "
                            "data.")
    return value.encode()


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    secret_name: str | None   # the Secrets Manager secret holding the keys (name or ARN); None with local_keys
    public_url: str
    sender: str
    configuration_set: str
    aws_endpoint: str | None = None
    closed_account_grace_days: int = CLOSED_ACCOUNT_GRACE_DAYS
    local_keys: Keys | None = None   # MAILROOM_SECRET_KEY: local runs and tests only, never a production stage
    # What the link distribution (infra/distribution.py) sends with each request it forwards: given here
    # (MAILROOM_DISTRIBUTION_TOKEN, tests), or read at run time from the secret MAILROOM_DISTRIBUTION_TOKEN_NAME
    # names (a stage in AWS); neither: no distribution (the local runtime), so its viewer headers are read as
    # they come (handlers/viewer.py).
    distribution_token: str | None = None
    distribution_token_name: str | None = None

    @property
    def resource_prefix(self) -> str:
        return f"mailroom-{self.stage}-"

    def table_name(self, logical: str) -> str:
        return f"{self.resource_prefix}{logical}"

    def queue_name(self, logical: str) -> str:
        return f"{self.resource_prefix}{logical}"

    def bucket_name(self, logical: str) -> str:
        return f"{self.resource_prefix}{logical}"

    def link(self, path: str) -> str:
        return f"{self.public_url}{path}"

    @property
    def sender_domain(self) -> str:
        return self.sender.rsplit("@", 1)[-1].rstrip(">").strip()


def stage_from(environ: Mapping[str, str]) -> str:
    return environ.get("MAILROOM_STAGE", "dev")


def queue_name(logical: str) -> str:
    """A work queue's name, known at import time (Chalice's SQS event sources are declared then)."""
    return f"mailroom-{stage_from(os.environ)}-{logical}"


def load(environ: Mapping[str, str]) -> Settings:
    """Build and validate settings from an environment mapping."""
    stage = stage_from(environ)
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "eu-west-1"
    if region not in EU_REGIONS:
        override = environ.get("MAILROOM_ALLOW_NON_EU_REGION") == "1"
        if not override or stage in PRODUCTION_STAGES:
            raise SettingsError(
                f"Region {region} is outside the EU/EEA; mailroom stores and processes data only in "
                f"{', '.join(sorted(EU_REGIONS))} (R31). A non-production stage may set "
                "MAILROOM_ALLOW_NON_EU_REGION=1 to override."
            )
    secret_name = environ.get("MAILROOM_SECRET_NAME") or None
    local_secret = environ.get("MAILROOM_SECRET_KEY")
    if local_secret is not None and stage in PRODUCTION_STAGES:
        raise SettingsError("MAILROOM_SECRET_KEY is for local runs and tests; a production stage reads its keys from "
                            "the secret MAILROOM_SECRET_NAME names.")
    local_keys = parse_keys(local_secret, "MAILROOM_SECRET_KEY") if local_secret is not None else None
    if secret_name is None and local_keys is None:
        raise SettingsError("MAILROOM_SECRET_NAME must name the Secrets Manager secret that holds the keys "
                            "(MAILROOM_SECRET_KEY may hold them instead, for local runs and tests).")
    public_url = environ.get("MAILROOM_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    if not public_url.startswith(("https://", "http://")):
        raise SettingsError("MAILROOM_PUBLIC_URL must be an http(s) URL.")
    sender = environ.get("MAILROOM_SENDER", "mailroom <no-reply@mailroom.localhost>")
    if "@" not in sender:
        raise SettingsError("MAILROOM_SENDER must be an email address.")
    return Settings(
        stage=stage,
        region=region,
        secret_name=secret_name,
        public_url=public_url,
        sender=sender,
        configuration_set=environ.get("MAILROOM_SES_CONFIGURATION_SET", f"mailroom-{stage}-events"),
        aws_endpoint=environ.get("MAILROOM_AWS_ENDPOINT") or None,
        closed_account_grace_days=_grace_days(environ.get("MAILROOM_CLOSED_ACCOUNT_GRACE_DAYS")),
        local_keys=local_keys,
        distribution_token=environ.get("MAILROOM_DISTRIBUTION_TOKEN") or None,
        distribution_token_name=environ.get("MAILROOM_DISTRIBUTION_TOKEN_NAME") or None,
    )


def _grace_days(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return CLOSED_ACCOUNT_GRACE_DAYS
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_CLOSED_ACCOUNT_GRACE_DAYS:
        raise SettingsError(f"MAILROOM_CLOSED_ACCOUNT_GRACE_DAYS must be a whole number of days from 1 to "
                            f"{MAX_CLOSED_ACCOUNT_GRACE_DAYS} (R30: data goes at most 3 months after closing).")
    return int(raw)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, validated once on first use."""
    return load(os.environ)


def keys() -> Keys:
    """The keys: MAILROOM_SECRET_KEY's where it is set, else the secret's, read at run time through Powertools
    Parameters and kept SECRET_MAX_AGE_SECONDS: one Secrets Manager call per function instance and 5 minutes, not
    one per request."""
    settings = get_settings()
    if settings.local_keys is not None:
        return settings.local_keys
    if settings.secret_name is None:
        raise SettingsError("Neither MAILROOM_SECRET_NAME nor MAILROOM_SECRET_KEY is set.")
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        raw = secret_store().get(settings.secret_name, max_age=SECRET_MAX_AGE_SECONDS)
    except GetParameterError as exc:
        raise SettingsError(f"The secret {settings.secret_name} cannot be read: {exc}") from None
    return _parsed(str(raw), settings.secret_name)


def distribution_token() -> str | None:
    """The link distribution's token, read as the keys are (cached SECRET_MAX_AGE_SECONDS); None: no distribution."""
    settings = get_settings()
    if settings.distribution_token is not None or settings.distribution_token_name is None:
        return settings.distribution_token
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        return str(secret_store().get(settings.distribution_token_name, max_age=SECRET_MAX_AGE_SECONDS))
    except GetParameterError as exc:
        raise SettingsError(f"The secret {settings.distribution_token_name} cannot be read: {exc}") from None


@lru_cache(maxsize=4)
def _parsed(raw: str, name: str) -> Keys:
    return parse_keys(raw, f"The secret {name}")


@lru_cache(maxsize=1)
def secret_store() -> Any:
    """Powertools' Secrets Manager provider (and its cache) for this process, on the configured region and endpoint."""
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config

    settings = get_settings()
    client = boto3.session.Session().client("secretsmanager", region_name=settings.region,
                                            endpoint_url=settings.aws_endpoint,
                                            config=Config(retries={"mode": "standard", "total_max_attempts": 6}))
    return SecretsProvider(boto3_client=client)


def check_at_start() -> None:
    """In Lambda, validate the settings and read the keys during the cold start: a function deployed outside the
    EU/EEA, or without a valid secret, refuses to start instead of answering its first request with an error (R31)."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        keys()
