"""AWS clients, made lazily and once per process, honouring a local endpoint."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from chalicelib.config import get_settings


@dataclass(frozen=True)
class Calls:
    """How a client calls its service: attempts in all (the first included) and timeouts in seconds."""

    attempts: int = 6
    connect_timeout: float = 60.0
    read_timeout: float = 60.0


RETRIED = Calls()   # botocore's standard mode retries throttling, 5xx answers and broken connections


@cache
def client(service: str, calls: Calls = RETRIED) -> Any:
    """A boto3 client for `service` in the configured region (and local endpoint, if any), calling as `calls` says
    (the endpoint may also come from botocore's own settings, e.g. AWS_ENDPOINT_URL_SESV2)."""
    import boto3
    from botocore.config import Config

    settings = get_settings()
    endpoint, extra = settings.aws_endpoint, {}
    if service == "s3":
        # Presigned links: Signature V4 (objects encrypted with KMS need it), on the region's own endpoint
        # (the global one redirects new buckets); the local emulator serves buckets by path.
        endpoint = endpoint or f"https://s3.{settings.region}.amazonaws.com"
        extra = {"signature_version": "s3v4",
                 "s3": {"addressing_style": "path" if settings.aws_endpoint else "virtual"}}
    return boto3.session.Session().client(
        service,
        region_name=settings.region,
        endpoint_url=endpoint,
        config=Config(retries={"mode": "standard", "total_max_attempts": calls.attempts},
                      connect_timeout=calls.connect_timeout, read_timeout=calls.read_timeout, **extra),
    )


def reset() -> None:
    """Forget every client (tests that swap the emulator or the settings call this)."""
    client.cache_clear()
