"""AWS clients, made lazily and once per process, honouring a local endpoint."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib.config import get_settings


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    """A boto3 client for `service` in the configured region (and local endpoint, if any)."""
    import boto3
    from botocore.config import Config

    settings = get_settings()
    return boto3.session.Session().client(
        service,
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 5}),
    )


def reset() -> None:
    """Forget every client (tests that swap the emulator or the settings call this)."""
    client.cache_clear()
