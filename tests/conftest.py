"""Shared test set-up: a valid EU environment, and (for integration tests) moto with every resource
of the one infra definition created in it."""
from __future__ import annotations

import os

# Set before any chalicelib import reads settings. Fake credentials: moto never reaches AWS.
os.environ.update({
    "MAILROOM_STAGE": "test",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "MAILROOM_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "MAILROOM_PUBLIC_URL": "https://mailroom.test.invalid",
    "MAILROOM_SENDER": "mailroom <no-reply@mailroom.localhost>",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
})
os.environ.pop("MAILROOM_AWS_ENDPOINT", None)
