"""The service's settings: read from the environment and validated here, and nowhere else."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

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
# R30: a closed account's data is deleted at most 3 months after closing. The grace is when the daily purge may
# start; capping it at 60 days leaves a month for a purge that fails and runs again.
CLOSED_ACCOUNT_GRACE_DAYS = 30
MAX_CLOSED_ACCOUNT_GRACE_DAYS = 60


class SettingsError(RuntimeError):
    """The environment does not describe a service that may start."""


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    secret_key: str
    public_url: str
    sender: str
    configuration_set: str
    aws_endpoint: str | None = None
    closed_account_grace_days: int = CLOSED_ACCOUNT_GRACE_DAYS
    # What the link distribution (infra/distribution.py) sends with each request it forwards; None: no
    # distribution (the local runtime), so its viewer headers are read as they come (handlers/viewer.py).
    distribution_token: str | None = None

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
    secret = environ.get("MAILROOM_SECRET_KEY", "")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise SettingsError(f"MAILROOM_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes of random data.")
    public_url = environ.get("MAILROOM_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    if not public_url.startswith(("https://", "http://")):
        raise SettingsError("MAILROOM_PUBLIC_URL must be an http(s) URL.")
    sender = environ.get("MAILROOM_SENDER", "mailroom <no-reply@mailroom.localhost>")
    if "@" not in sender:
        raise SettingsError("MAILROOM_SENDER must be an email address.")
    return Settings(
        stage=stage,
        region=region,
        secret_key=secret,
        public_url=public_url,
        sender=sender,
        configuration_set=environ.get("MAILROOM_SES_CONFIGURATION_SET", f"mailroom-{stage}-events"),
        aws_endpoint=environ.get("MAILROOM_AWS_ENDPOINT") or None,
        closed_account_grace_days=_grace_days(environ.get("MAILROOM_CLOSED_ACCOUNT_GRACE_DAYS")),
        distribution_token=environ.get("MAILROOM_DISTRIBUTION_TOKEN") or None,
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


def check_at_start() -> None:
    """In Lambda, validate the settings during the cold start: a function deployed outside the EU/EEA, or
    without its secret, refuses to start instead of answering its first request with an error (R31)."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        get_settings()
